//! [`NoteBatch`]: verified notes copied into one owned buffer, so a reader thread can hand them
//! to another thread in bulk.
//!
//! Invariants: only a [`NoteRef`] (a frame that verified and passed every check) can be
//! pushed, and [`NoteBatch::get`] gives back exactly that note: a batch never holds bytes that
//! did not verify; its buffers are kept across [`NoteBatch::clear`], so a reused batch
//! allocates nothing once it has held its largest load.

use super::{NoteHeader, NoteRef};

/// Where one note lies in the batch's bytes.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: usize,
    len: usize,
    header: NoteHeader,
    range_count: u16,
    ranges_end: u32,
    seed: u64,
    crc: u32,
}

/// Verified notes in order, with their bodies in one buffer.
#[derive(Clone, Debug, Default)]
pub struct NoteBatch {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

impl NoteBatch {
    /// An empty batch with room for `bytes` of bodies.
    pub fn with_capacity(bytes: usize) -> Self {
        NoteBatch {
            bytes: Vec::with_capacity(bytes),
            slots: Vec::new(),
        }
    }

    /// Copies `note` in after the others.
    pub fn push(&mut self, note: &NoteRef<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(note.body);
        self.slots.push(Slot {
            start,
            len: note.body.len(),
            header: note.header,
            range_count: note.range_count,
            ranges_end: note.ranges_end,
            seed: note.seed,
            crc: note.crc,
        });
    }

    /// The `i`th note pushed, if there is one.
    pub fn get(&self, i: usize) -> Option<NoteRef<'_>> {
        self.slots.get(i).map(|s| NoteRef {
            header: s.header,
            body: &self.bytes[s.start..s.start + s.len],
            range_count: s.range_count,
            ranges_end: s.ranges_end,
            seed: s.seed,
            crc: s.crc,
        })
    }

    /// Notes in the batch.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True if the batch holds no note.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes of bodies in the batch.
    pub fn body_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
    }
}
