//! The BI extent (docs/formats/bi.md): a two-slot header in bytes 0..4096, then the notes of
//! the current generation framed with the generation as seed.
//!
//! Invariants: the valid slot with the higher generation is the header; a reset writes the
//! other slot with `generation + 1` and syncs before it truncates (if it does), so a crash
//! leaves either the old stream or an empty new one (old frames no longer verify). Bytes past
//! the stream's end are never read as notes: frames of older generations fail their checksum,
//! and frames of the current one past a torn frame are cut off by the open after a crash. Only
//! the first extent of the Primary Recovery Area holds notes; further BI extents are checked
//! but unused. A fixed BI extent is preallocated at create, but its size is a starting
//! allocation, not a limit: the file grows past it; an open for update cuts it to the valid
//! notes and its resets shorten it to the header, while roll forward keeps it at its size.

use std::path::{Path, PathBuf};

use aiextent::{EndReason, FrameOutcome, MAX_FRAME_LEN, NoteHeader, decode_frame};
use masterblock::{AreaNo, DbId, ExtentHeader, ExtentKind, NoteSeq};
use storage::{FileRef, Storage};

use crate::error::{Error, Result};
use crate::extent::{check_header, open_extent};

/// Bytes before the first note.
pub(crate) const BI_HEADER_BYTES: u64 = 4096;
const SLOT_OFFSETS: [u64; 2] = [0, 512];
/// Bytes of the BI read at a time when its notes are read.
const STREAM_CHUNK_BYTES: usize = 1 << 20;
const SLOT_LEN: usize = 128;
const CHECKSUM_AT: usize = 124;

/// The trusted header of the BI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BiHeader {
    /// Common extent-header prefix.
    pub prefix: ExtentHeader,
    /// +1 per reset; the frames' seed.
    pub generation: u64,
    /// Sequence of the first note of this generation.
    pub start_note_seq: NoteSeq,
    /// Time of the reset, µs.
    pub reset_time: i64,
}

impl BiHeader {
    fn encode(&self) -> [u8; SLOT_LEN] {
        let mut b = [0u8; SLOT_LEN];
        b[..64].copy_from_slice(&self.prefix.encode());
        b[64..72].copy_from_slice(&self.generation.to_le_bytes());
        b[72..80].copy_from_slice(&self.start_note_seq.0.to_le_bytes());
        b[80..88].copy_from_slice(&self.reset_time.to_le_bytes());
        let crc = crc32c::crc32c(&b[..CHECKSUM_AT]);
        b[CHECKSUM_AT..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// A slot's header if it verifies (prefix and checksum), else `None`.
    fn decode(b: &[u8]) -> Option<BiHeader> {
        let crc = u32::from_le_bytes(b[CHECKSUM_AT..SLOT_LEN].try_into().ok()?);
        if crc != crc32c::crc32c(&b[..CHECKSUM_AT]) {
            return None;
        }
        let prefix = ExtentHeader::decode(&b[..64]).ok()?.validate().ok()?;
        let generation = u64::from_le_bytes(b[64..72].try_into().ok()?);
        if generation == 0 {
            return None;
        }
        Some(BiHeader {
            prefix,
            generation,
            start_note_seq: NoteSeq(u64::from_le_bytes(b[72..80].try_into().ok()?)),
            reset_time: i64::from_le_bytes(b[80..88].try_into().ok()?),
        })
    }
}

/// The bytes of a new BI extent's header region: slot 0 with generation 1.
pub(crate) fn initial_header_region(prefix: ExtentHeader, start: NoteSeq, now: i64) -> Vec<u8> {
    let mut region = vec![0u8; BI_HEADER_BYTES as usize];
    let header = BiHeader {
        prefix,
        generation: 1,
        start_note_seq: start,
        reset_time: now,
    };
    region[..SLOT_LEN].copy_from_slice(&header.encode());
    region
}

/// The open BI extent.
pub(crate) struct BiFile {
    pub path: PathBuf,
    pub file: FileRef,
    pub header: BiHeader,
    slot: usize,
}

/// The notes found in the BI: its bytes after the header and where the valid stream ends.
pub(crate) struct BiStream {
    /// File bytes from [`BI_HEADER_BYTES`] on.
    pub bytes: Vec<u8>,
    /// `(offset in bytes, header)` of each note in order.
    pub notes: Vec<(usize, NoteHeader)>,
    /// Offset in `bytes` where the valid stream ends.
    pub end: usize,
}

impl BiFile {
    /// Opens the BI extent at `path` and reads its header.
    pub(crate) fn open(
        storage: &dyn Storage,
        path: &Path,
        writable: bool,
        db_id: DbId,
        area: AreaNo,
        block_size: u32,
    ) -> Result<BiFile> {
        let file = open_extent(storage, path, writable)?;
        let mut region = vec![0u8; BI_HEADER_BYTES as usize];
        let len = file.len().map_err(Error::io("inspect", path))?;
        let have = len.min(BI_HEADER_BYTES) as usize;
        file.read_at(&mut region[..have], 0)
            .map_err(Error::io("read", path))?;
        let mut best: Option<(usize, BiHeader)> = None;
        for (slot, &off) in SLOT_OFFSETS.iter().enumerate() {
            let off = off as usize;
            if let Some(h) = BiHeader::decode(&region[off..off + SLOT_LEN])
                && best.is_none_or(|(_, b)| h.generation > b.generation)
            {
                best = Some((slot, h));
            }
        }
        let Some((slot, header)) = best else {
            // Report why: the identity check explains a foreign or damaged header best.
            check_header(&file, path, 0, (ExtentKind::Bi, db_id, area, 1, block_size))?;
            return Err(Error::BiCorrupt {
                path: path.to_path_buf(),
                reason: "neither header slot verifies".into(),
            });
        };
        check_header(
            &file,
            path,
            SLOT_OFFSETS[slot],
            (ExtentKind::Bi, db_id, area, 1, block_size),
        )?;
        Ok(BiFile {
            path: path.to_path_buf(),
            file,
            header,
            slot,
        })
    }

    /// Reads every note of the current generation, stopping at the first frame that does not
    /// verify or does not follow in sequence. A malformed note that verifies is an error.
    /// Reads a chunk at a time and stops reading where the stream ends, so bytes of older
    /// generations past the end (a BI that roll forward kept at its size) cost nothing.
    pub(crate) fn read_stream(&self) -> Result<BiStream> {
        let len = self.file.len().map_err(Error::io("inspect", &self.path))?;
        let region = len.saturating_sub(BI_HEADER_BYTES);
        let mut bytes: Vec<u8> = Vec::new();
        let mut notes = Vec::new();
        let mut at = 0usize;
        let mut expect = self.header.start_note_seq;
        loop {
            match decode_frame(&bytes[at..], self.header.generation) {
                FrameOutcome::Note { note, frame_len } => {
                    if note.header.note_seq != expect {
                        break;
                    }
                    notes.push((at, note.header));
                    expect = expect.next();
                    at += frame_len;
                }
                FrameOutcome::End(EndReason::Truncated) if (bytes.len() as u64) < region => {
                    // The frame may run into bytes not read yet: read on, enough for any
                    // frame whose length field asks for more.
                    let want = (STREAM_CHUNK_BYTES as u64)
                        .max(MAX_FRAME_LEN as u64)
                        .min(region - bytes.len() as u64);
                    let want = usize::try_from(want).map_err(|_| Error::BiCorrupt {
                        path: self.path.clone(),
                        reason: "too large to read".into(),
                    })?;
                    let from = bytes.len();
                    bytes.resize(from + want, 0);
                    self.file
                        .read_at(&mut bytes[from..], BI_HEADER_BYTES + from as u64)
                        .map_err(Error::io("read", &self.path))?;
                }
                FrameOutcome::End(EndReason::Malformed(detail)) => {
                    return Err(Error::BiCorrupt {
                        path: self.path.clone(),
                        reason: format!(
                            "the note at offset {} is malformed: {detail}",
                            at as u64 + BI_HEADER_BYTES
                        ),
                    });
                }
                FrameOutcome::End(_) => break,
            }
        }
        bytes.truncate(at);
        Ok(BiStream {
            bytes,
            notes,
            end: at,
        })
    }

    /// Cuts the file at `end` bytes of notes (removing anything past the valid stream), synced.
    pub(crate) fn truncate_notes(&self, end: u64) -> Result<()> {
        self.file
            .set_len(BI_HEADER_BYTES + end)
            .map_err(Error::io("truncate", &self.path))?;
        self.file.sync().map_err(Error::io("sync", &self.path))
    }

    /// Starts a new generation whose first note is `start`: other slot, sync, then (with
    /// `shrink`) truncate, sync. Without `shrink` the file keeps its size and its bytes, which
    /// no longer verify (their frames are sealed with an older generation) and are written over
    /// by the new generation's notes: no blocks are freed (on a file system that discards freed
    /// blocks that is a long wait) and none allocated again.
    pub(crate) fn reset(&mut self, start: NoteSeq, shrink: bool) -> Result<()> {
        self.write_header(self.header.generation + 1, start)?;
        if shrink {
            self.truncate_notes(0)?;
        }
        Ok(())
    }

    /// Makes `generation` (above the current one) current, with `start` as its first note:
    /// other slot, sync. Notes sealed with it that were written before (roll forward's held
    /// start) become the stream; the file keeps its size.
    pub(crate) fn adopt_generation(&mut self, generation: u64, start: NoteSeq) -> Result<()> {
        assert!(
            generation > self.header.generation,
            "an adopted generation is a new one"
        );
        self.write_header(generation, start)
    }

    /// Writes the other slot with `generation` and `start`, synced, and makes it current.
    fn write_header(&mut self, generation: u64, start: NoteSeq) -> Result<()> {
        let header = BiHeader {
            prefix: self.header.prefix,
            generation,
            start_note_seq: start,
            reset_time: masterblock::now_micros(),
        };
        let slot = 1 - self.slot;
        self.file
            .write_at(&header.encode(), SLOT_OFFSETS[slot])
            .map_err(Error::io("write", &self.path))?;
        self.file.sync().map_err(Error::io("sync", &self.path))?;
        self.header = header;
        self.slot = slot;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
