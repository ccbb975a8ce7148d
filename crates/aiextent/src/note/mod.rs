//! Notes and their frames (docs/formats/note.md): the types, the codec and a streaming reader.
//!
//! Invariants: an encoded frame is `body_len`, a CRC-32C seeded with the extent's seed, then a
//! body of exactly `body_len` bytes; a [`NoteRef`] exists only for a frame that verified and
//! whose body passed every structural check, so its ranges never need checking again.

mod batch;
mod codec;
mod reader;
mod reseal;
#[cfg(test)]
mod tests;

pub use batch::NoteBatch;
pub use codec::{
    MAX_BODY_LEN, MAX_FRAME_LEN, append_frame, decode_frame, encode_note, encoded_len, frame_crc,
    reseal_frames,
};
pub use reader::{DEFAULT_READ_BUFFER_BYTES, NoteReader};
pub use reseal::Reseal;

use std::fmt;

use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};

/// Bytes of a frame header: `body_len` (u32) then `crc` (u32).
pub const FRAME_HEADER_LEN: usize = 8;
/// Bytes of the fixed part of every note body.
pub const NOTE_HEADER_LEN: usize = 48;

/// What a note records. The discriminants are the on-disk kind byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NoteKind {
    /// A transaction began; `aux` is the wall-clock time in µs.
    TxBegin = 1,
    /// A transaction committed; `aux` is the wall-clock time in µs.
    TxCommit = 2,
    /// A transaction finished rolling back; `aux` is the wall-clock time in µs.
    TxRollback = 3,
    /// Byte ranges of one block's body changed; `aux` is the undone note's sequence for a
    /// compensation note, 0 otherwise.
    BlockChange = 4,
    /// The database took a new open stamp; `aux` is the stamp.
    OpenStamp = 5,
    /// First note of an AI extent; `aux` is the AI sequence the extent starts.
    AiSwitch = 6,
}

impl NoteKind {
    /// Every kind, in on-disk order.
    pub const ALL: [NoteKind; 6] = [
        NoteKind::TxBegin,
        NoteKind::TxCommit,
        NoteKind::TxRollback,
        NoteKind::BlockChange,
        NoteKind::OpenStamp,
        NoteKind::AiSwitch,
    ];

    /// The on-disk kind byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The kind for an on-disk byte, `None` if unknown (including the reserved 7..=31).
    pub const fn from_u8(byte: u8) -> Option<NoteKind> {
        match byte {
            1 => Some(NoteKind::TxBegin),
            2 => Some(NoteKind::TxCommit),
            3 => Some(NoteKind::TxRollback),
            4 => Some(NoteKind::BlockChange),
            5 => Some(NoteKind::OpenStamp),
            6 => Some(NoteKind::AiSwitch),
            _ => None,
        }
    }

    /// Display name as in note.md.
    pub const fn name(self) -> &'static str {
        match self {
            NoteKind::TxBegin => "TxBegin",
            NoteKind::TxCommit => "TxCommit",
            NoteKind::TxRollback => "TxRollback",
            NoteKind::BlockChange => "BlockChange",
            NoteKind::OpenStamp => "OpenStamp",
            NoteKind::AiSwitch => "AiSwitch",
        }
    }
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fixed 48-byte part of a note body.
///
/// For every kind but [`NoteKind::BlockChange`], `compensation` is false and `area`, `block`
/// and `prior_counter` are zero: the encoder asserts it and the decoder refuses anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoteHeader {
    /// Position in the database's note stream.
    pub note_seq: NoteSeq,
    /// What the note records.
    pub kind: NoteKind,
    /// A block change made by rollback or undo, never undone itself.
    pub compensation: bool,
    /// Area of the changed block (0 for non-block notes).
    pub area: AreaNo,
    /// Changed block (0 for non-block notes).
    pub block: BlockNo,
    /// The block's update counter before the change (0 for non-block notes).
    pub prior_counter: UpdateCounter,
    /// Transaction id; 0 for system changes that are never undone.
    pub txn: TxnId,
    /// Kind-specific value, see [`NoteKind`].
    pub aux: u64,
}

impl NoteHeader {
    /// A note of a kind other than `BlockChange` (area, block and prior counter zero).
    pub const fn simple(note_seq: NoteSeq, kind: NoteKind, txn: TxnId, aux: u64) -> NoteHeader {
        NoteHeader {
            note_seq,
            kind,
            compensation: false,
            area: AreaNo(0),
            block: BlockNo(0),
            prior_counter: UpdateCounter(0),
            txn,
            aux,
        }
    }

    /// A `BlockChange` header.
    pub const fn block_change(
        note_seq: NoteSeq,
        txn: TxnId,
        area: AreaNo,
        block: BlockNo,
        prior_counter: UpdateCounter,
    ) -> NoteHeader {
        NoteHeader {
            note_seq,
            kind: NoteKind::BlockChange,
            compensation: false,
            area,
            block,
            prior_counter,
            txn,
            aux: 0,
        }
    }

    /// A compensation `BlockChange` that undoes note `undone`.
    pub const fn compensation(
        note_seq: NoteSeq,
        txn: TxnId,
        area: AreaNo,
        block: BlockNo,
        prior_counter: UpdateCounter,
        undone: NoteSeq,
    ) -> NoteHeader {
        NoteHeader {
            note_seq,
            kind: NoteKind::BlockChange,
            compensation: true,
            area,
            block,
            prior_counter,
            txn,
            aux: undone.0,
        }
    }

    /// The `AiSwitch` note that starts the AI extent of sequence `ai_seq`.
    pub const fn ai_switch(note_seq: NoteSeq, ai_seq: masterblock::AiSeq) -> NoteHeader {
        NoteHeader::simple(note_seq, NoteKind::AiSwitch, TxnId(0), ai_seq.0)
    }
}

/// One changed range of a block body, borrowed from a decoded frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeRef<'a> {
    /// Offset in the block body.
    pub offset: u16,
    /// The bytes after the change.
    pub redo: &'a [u8],
    /// The bytes before the change; same length as `redo`.
    pub undo: &'a [u8],
}

/// An owned changed range, see [`RangeRef`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnedRange {
    /// Offset in the block body.
    pub offset: u16,
    /// The bytes after the change.
    pub redo: Vec<u8>,
    /// The bytes before the change; same length as `redo`.
    pub undo: Vec<u8>,
}

/// A decoded, verified note borrowing its frame's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteRef<'a> {
    /// The fixed part.
    pub header: NoteHeader,
    /// The whole body (fixed part included), already checked.
    body: &'a [u8],
    /// Number of ranges (0 unless `BlockChange`).
    range_count: u16,
    /// Where the last range ends (ranges are sorted and disjoint): the body bytes the note
    /// needs; 0 unless `BlockChange`.
    ranges_end: u32,
    /// The seed the frame verified with.
    seed: u64,
    /// The frame's checksum under `seed`.
    crc: u32,
}

impl<'a> NoteRef<'a> {
    /// The changed ranges in offset order (none unless `BlockChange`).
    pub fn ranges(&self) -> RangeIter<'a> {
        let rest = if self.range_count == 0 {
            &[][..]
        } else {
            &self.body[NOTE_HEADER_LEN + 2..]
        };
        RangeIter {
            rest,
            remaining: self.range_count,
        }
    }

    /// Number of changed ranges.
    pub fn range_count(&self) -> usize {
        usize::from(self.range_count)
    }

    /// The offset just past the last changed range (ranges are sorted and do not overlap, so
    /// every range lies below it): the smallest block body the note fits; 0 for a note that
    /// changes no block.
    pub fn ranges_end(&self) -> usize {
        self.ranges_end as usize
    }

    /// Body length in bytes (the frame's `body_len`).
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// Frame length in bytes (header plus body).
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_LEN + self.body.len()
    }

    /// The raw body bytes, for re-framing with another seed by [`append_frame`].
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The seed the frame verified with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The frame's checksum (under [`NoteRef::seed`]), as verified.
    pub fn frame_crc(&self) -> u32 {
        self.crc
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Note {
        Note {
            header: self.header,
            ranges: self
                .ranges()
                .map(|r| OwnedRange {
                    offset: r.offset,
                    redo: r.redo.to_vec(),
                    undo: r.undo.to_vec(),
                })
                .collect(),
        }
    }
}

/// Iterator over the ranges of a verified `BlockChange` note.
#[derive(Clone, Debug)]
pub struct RangeIter<'a> {
    rest: &'a [u8],
    remaining: u16,
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = RangeRef<'a>;

    fn next(&mut self) -> Option<RangeRef<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // The frame was checked by `decode_frame`: these slices are in bounds.
        let offset = u16::from_le_bytes([self.rest[0], self.rest[1]]);
        let len = usize::from(u16::from_le_bytes([self.rest[2], self.rest[3]]));
        let (redo, rest) = self.rest[4..].split_at(len);
        let (undo, rest) = rest.split_at(len);
        self.rest = rest;
        Some(RangeRef { offset, redo, undo })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.remaining);
        (n, Some(n))
    }
}

impl ExactSizeIterator for RangeIter<'_> {}

/// An owned note, for tests, tools and anything that keeps notes past their buffer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Note {
    /// The fixed part.
    pub header: NoteHeader,
    /// The changed ranges (empty unless `BlockChange`).
    pub ranges: Vec<OwnedRange>,
}

impl Note {
    /// Appends this note, framed with `seed`, to `out`. Panics on the same conditions as
    /// [`encode_note`].
    pub fn encode(&self, out: &mut Vec<u8>, seed: u64) {
        codec::encode_parts(
            out,
            seed,
            &self.header,
            self.ranges
                .iter()
                .map(|r| (r.offset, r.redo.as_slice(), r.undo.as_slice())),
        );
    }

    /// Bytes [`Note::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        codec::encoded_len_of(self.ranges.iter().map(|r| r.redo.len()))
    }
}

/// Why a note stream (or one frame) ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The frame's `body_len` is zero (never-written space, such as a fixed extent's zeros).
    ZeroLength,
    /// The frame runs past the end of the written data.
    Truncated,
    /// The frame's checksum does not verify with the seed (a torn write, or a note left from an
    /// earlier use of the extent).
    ChecksumMismatch {
        /// CRC stored in the frame.
        expected: u32,
        /// CRC computed over the body with the seed.
        actual: u32,
    },
    /// `body_len` is larger than any valid note ([`MAX_BODY_LEN`]); found before the checksum.
    BadLength(u32),
    /// The frame verified but its body breaks the format (unknown kind, nonzero reserved
    /// field, bad ranges, payload not exactly consumed). Not a crash artifact: a reader treats
    /// it as an error, never as a quiet end.
    Malformed(String),
    /// The note verified but does not follow in sequence (reader only).
    SequenceBreak {
        /// The sequence that should have come next.
        expected: NoteSeq,
        /// The sequence found.
        found: NoteSeq,
    },
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::ZeroLength => f.write_str("a frame of length zero"),
            EndReason::Truncated => f.write_str("a frame running past the end of the data"),
            EndReason::ChecksumMismatch { expected, actual } => write!(
                f,
                "a frame whose checksum does not verify (stored {expected:#010x}, computed {actual:#010x})"
            ),
            EndReason::BadLength(len) => {
                write!(f, "a frame length of {len} bytes, larger than any note")
            }
            EndReason::Malformed(detail) => write!(f, "a malformed note: {detail}"),
            EndReason::SequenceBreak { expected, found } => {
                write!(f, "note sequence {found} where {expected} should follow")
            }
        }
    }
}

/// The result of decoding one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameOutcome<'a> {
    /// A verified note.
    Note {
        /// The note, borrowing the input.
        note: NoteRef<'a>,
        /// Bytes of the frame (header plus body): where the next frame starts.
        frame_len: usize,
    },
    /// No note here.
    End(EndReason),
}
