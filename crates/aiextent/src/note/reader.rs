//! [`NoteReader`]: a streaming reader of the notes in a region of a file, in bounded memory.
//!
//! Invariants: the reader holds at most `max(buffer size, largest frame read)` bytes; it hands
//! out only verified notes in unbroken sequence; once it has ended (cleanly, at a frame that
//! does not verify, at a sequence break, or on an error) every later call returns the same end.

use std::path::{Path, PathBuf};

use masterblock::NoteSeq;
use storage::FileRef;

use super::codec::{MAX_BODY_LEN, decode_frame, decode_frame_seeded, seed_crc};
use super::{EndReason, FRAME_HEADER_LEN, FrameOutcome, NoteRef};
use crate::Error;

/// Default size of the reader's buffer: 1 MiB, more than the largest valid frame.
pub const DEFAULT_READ_BUFFER_BYTES: usize = 1 << 20;

/// Where the current note lies in the buffer, with its decoded fixed part.
#[derive(Clone, Copy)]
struct Current {
    frame_start: usize,
    frame_len: usize,
    header: super::NoteHeader,
    range_count: u16,
    ranges_end: u32,
    crc: u32,
}

/// Reads the notes of `[start_offset, end_offset)` of a file, one frame at a time.
///
/// The stream ends at `end_offset` (clamped to the file's length), at a frame of length zero,
/// a frame running past the end, a frame whose checksum does not verify, or a note whose
/// sequence is not the previous one plus one (the first must equal `first_seq` when given):
/// [`NoteReader::end_reason`] then says which. A frame that verifies but is malformed is not a
/// quiet end but an [`Error::MalformedNote`], as is an I/O failure an [`Error::Io`].
///
/// `next` lends the note from the reader's buffer: use it (or [`NoteRef::to_owned`]) before
/// the next call.
pub struct NoteReader {
    file: FileRef,
    path: PathBuf,
    seed: u64,
    /// `crc32c(seed LE)`, computed once.
    seed_crc: u32,
    /// Sequence the next note must carry, if known.
    expect_seq: Option<NoteSeq>,
    /// Sequence of the last note returned.
    last_seq: Option<NoteSeq>,
    /// End of the region, clamped to the file length once known.
    end_offset: u64,
    end_clamped: bool,
    /// File offset of `buf[pos]`: just after the last note returned.
    offset: u64,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    pos: usize,
    /// End of valid bytes in `buf`.
    filled: usize,
    /// Buffer size to allocate on the first read.
    buffer_cap: usize,
    /// The note `advance` moved to, in `buf`.
    current: Option<Current>,
    /// `Some` once the stream has ended.
    ended: Option<Option<EndReason>>,
}

impl NoteReader {
    /// A reader of `[start_offset, end_offset)` of `file`, frames verified with `seed`.
    pub fn new(
        file: FileRef,
        start_offset: u64,
        end_offset: u64,
        seed: u64,
        first_seq: Option<NoteSeq>,
    ) -> Self {
        NoteReader {
            file,
            path: PathBuf::new(),
            seed,
            seed_crc: seed_crc(seed),
            expect_seq: first_seq,
            last_seq: None,
            end_offset: end_offset.max(start_offset),
            end_clamped: false,
            offset: start_offset,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            buffer_cap: DEFAULT_READ_BUFFER_BYTES,
            current: None,
            ended: None,
        }
    }

    /// Names the file in errors.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }

    /// Uses a buffer of `bytes` (at least 64) instead of [`DEFAULT_READ_BUFFER_BYTES`]; a
    /// frame larger than it grows the buffer to that frame's size.
    pub fn with_buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_cap = bytes.max(64);
        self
    }

    /// The file named in errors.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File offset just after the last note returned (the start offset before any).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Sequence of the last note returned.
    pub fn last_seq(&self) -> Option<NoteSeq> {
        self.last_seq
    }

    /// Bytes the reader's buffer holds now (for checking its memory bound).
    pub fn buffer_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Why the stream ended: `None` while it runs, or if it ended exactly at the end of the
    /// region (or on an error).
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.ended.as_ref().and_then(|r| r.as_ref())
    }

    /// True once `next` has returned `Ok(None)` or an error.
    pub fn is_ended(&self) -> bool {
        self.ended.is_some()
    }

    /// The next note; `Ok(None)` at the end of the stream (then see [`NoteReader::end_reason`]).
    // Not `Iterator`: the note borrows the reader's buffer until the next call.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<NoteRef<'_>>, Error> {
        if self.advance()? {
            Ok(self.current())
        } else {
            Ok(None)
        }
    }

    /// Moves to the next note: `Ok(true)` if there is one (see [`NoteReader::current`]),
    /// `Ok(false)` at the end of the stream. The form of [`NoteReader::next`] for callers
    /// that must look at the reader again before using the note.
    pub fn advance(&mut self) -> Result<bool, Error> {
        self.current = None;
        if self.ended.is_some() {
            return Ok(false);
        }
        let need = match self.prepare() {
            Ok(Ok(need)) => need,
            Ok(Err(reason)) => {
                self.ended = Some(reason);
                return Ok(false);
            }
            Err(e) => {
                self.ended = Some(None);
                return Err(e);
            }
        };
        let frame = &self.buf[self.pos..self.pos + need];
        let outcome = match decode_frame_seeded(frame, self.seed, self.seed_crc) {
            FrameOutcome::Note { note, frame_len } => {
                debug_assert_eq!(frame_len, need);
                Ok((note.header, note.range_count, note.ranges_end, note.crc))
            }
            FrameOutcome::End(reason) => Err(reason),
        };
        match outcome {
            Ok((header, range_count, ranges_end, crc)) => {
                let seq = header.note_seq;
                if let Some(expected) = self.expect_seq
                    && seq != expected
                {
                    self.ended = Some(Some(EndReason::SequenceBreak {
                        expected,
                        found: seq,
                    }));
                    return Ok(false);
                }
                self.expect_seq = Some(NoteSeq(seq.0.wrapping_add(1)));
                self.last_seq = Some(seq);
                self.current = Some(Current {
                    frame_start: self.pos,
                    frame_len: need,
                    header,
                    range_count,
                    ranges_end,
                    crc,
                });
                self.pos += need;
                self.offset += need as u64;
                Ok(true)
            }
            Err(EndReason::Malformed(detail)) => {
                self.ended = Some(Some(EndReason::Malformed(detail.clone())));
                Err(Error::MalformedNote {
                    path: self.path.clone(),
                    offset: self.offset,
                    detail,
                })
            }
            Err(reason) => {
                self.ended = Some(Some(reason));
                Ok(false)
            }
        }
    }

    /// The note the last successful [`NoteReader::advance`] moved to.
    pub fn current(&self) -> Option<NoteRef<'_>> {
        self.current.map(|c| NoteRef {
            header: c.header,
            body: &self.buf[c.frame_start + FRAME_HEADER_LEN..c.frame_start + c.frame_len],
            range_count: c.range_count,
            ranges_end: c.ranges_end,
            seed: self.seed,
            crc: c.crc,
        })
    }

    /// Buffers the next whole frame and returns its length, or why the stream ends there.
    fn prepare(&mut self) -> Result<Result<usize, Option<EndReason>>, Error> {
        if !self.end_clamped {
            let len = self.file.len().map_err(|source| Error::Io {
                path: self.path.clone(),
                op: "get the length of",
                offset: 0,
                source,
            })?;
            self.end_offset = self.end_offset.min(len).max(self.offset);
            self.end_clamped = true;
        }
        let remaining = self.end_offset - self.offset;
        if remaining == 0 {
            return Ok(Err(None));
        }
        let head = usize::try_from(remaining.min(FRAME_HEADER_LEN as u64)).expect("at most 8");
        self.fill(head)?;
        let avail = &self.buf[self.pos..self.filled];
        if avail.len() < FRAME_HEADER_LEN {
            return Ok(Err(Some(match decode_frame(avail, self.seed) {
                FrameOutcome::End(reason) => reason,
                FrameOutcome::Note { .. } => EndReason::Truncated,
            })));
        }
        let body_len = u32::from_le_bytes(avail[0..4].try_into().expect("4 bytes"));
        if body_len == 0 {
            return Ok(Err(Some(EndReason::ZeroLength)));
        }
        if body_len as usize > MAX_BODY_LEN {
            return Ok(Err(Some(EndReason::BadLength(body_len))));
        }
        let need = FRAME_HEADER_LEN + body_len as usize;
        if need as u64 > remaining {
            return Ok(Err(Some(EndReason::Truncated)));
        }
        self.fill(need)?;
        Ok(Ok(need))
    }

    /// Makes `buf[pos..]` hold at least `n` bytes; the caller checked they are in the region.
    fn fill(&mut self, n: usize) -> Result<(), Error> {
        if self.filled - self.pos >= n {
            return Ok(());
        }
        let region_left = self.end_offset - self.offset;
        if self.buf.is_empty() {
            let want = usize::try_from(region_left).unwrap_or(usize::MAX);
            self.buf = vec![0u8; want.clamp(n, self.buffer_cap.max(n))];
        } else if self.buf.len() - self.pos < n {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
            if self.buf.len() < n {
                self.buf.resize(n, 0);
            }
        }
        let buffered = (self.filled - self.pos) as u64;
        let file_at = self.offset + buffered;
        let room = self.buf.len() - self.filled;
        let want = usize::try_from((region_left - buffered).min(room as u64)).expect("<= room");
        debug_assert!(self.filled - self.pos + want >= n);
        self.file
            .read_at(&mut self.buf[self.filled..self.filled + want], file_at)
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                op: "read",
                offset: file_at,
                source,
            })?;
        self.filled += want;
        Ok(())
    }
}
