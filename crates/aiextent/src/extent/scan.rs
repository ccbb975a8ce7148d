//! Reading an AI extent's notes under the rules of its state, and summing them up.
//!
//! Invariants: an [`ExtentReader`] returns only the notes the extent's state vouches for: none
//! for Empty, exactly `[4096, 4096 + used_bytes)` for Full and Locked, up to the last whole
//! note for Busy; it fails (never ends quietly) when a stream that must be whole is not, or
//! when the first note is not the extent's `AiSwitch` note.

use std::path::{Path, PathBuf};

use masterblock::NoteSeq;
use storage::FileRef;

use super::header::{AI_HEADER_REGION_BYTES, AiHeader, AiState};
use crate::Error;
use crate::note::{EndReason, NoteKind, NoteReader, NoteRef};

/// Reads the notes of one AI extent; see the module invariants.
pub struct ExtentReader {
    inner: NoteReader,
    path: PathBuf,
    state: AiState,
    ai_seq: u64,
    /// The stream must reach at least this offset.
    required_end: u64,
    /// No note returned yet.
    first: bool,
    /// An error was returned; the reader is finished.
    failed: bool,
}

impl ExtentReader {
    /// A reader of the extent in `file` whose current header is `header`.
    pub fn new(file: FileRef, path: &Path, header: &AiHeader) -> Result<ExtentReader, Error> {
        let start = AI_HEADER_REGION_BYTES;
        let required_end = start.saturating_add(header.used_bytes);
        let end = match header.state {
            AiState::Empty => start,
            AiState::Busy => u64::MAX,
            AiState::Full | AiState::Locked => required_end,
        };
        if header.state != AiState::Empty {
            let len = file.len().map_err(|source| Error::Io {
                path: path.to_path_buf(),
                op: "get the length of",
                offset: 0,
                source,
            })?;
            if required_end > len {
                return Err(Error::UsedBeyondFile {
                    path: path.to_path_buf(),
                    used_bytes: header.used_bytes,
                    file_len_bytes: len,
                });
            }
        }
        let inner = NoteReader::new(file, start, end, header.ai_seq.0, None).with_path(path);
        Ok(ExtentReader {
            inner,
            path: path.to_path_buf(),
            state: header.state,
            ai_seq: header.ai_seq.0,
            required_end: if header.state == AiState::Empty {
                start
            } else {
                required_end
            },
            first: true,
            failed: false,
        })
    }

    /// The next note, `Ok(None)` at the end of the extent's notes.
    // Not `Iterator`: the note borrows the reader's buffer until the next call.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<NoteRef<'_>>, Error> {
        if self.advance()? {
            Ok(self.inner.current())
        } else {
            Ok(None)
        }
    }

    /// Moves to the next note (then [`ExtentReader::current`]): `Ok(false)` at the end of
    /// the extent's notes.
    pub fn advance(&mut self) -> Result<bool, Error> {
        if self.failed {
            return Ok(false);
        }
        let more = self.inner.advance().inspect_err(|_| self.failed = true)?;
        if !more {
            let offset = self.inner.offset();
            if offset < self.required_end {
                self.failed = true;
                return Err(Error::DamagedExtent {
                    path: self.path.clone(),
                    offset,
                    reason: self
                        .inner
                        .end_reason()
                        .cloned()
                        .unwrap_or(EndReason::Truncated),
                    end_offset: self.required_end,
                });
            }
            if self.first && self.state != AiState::Empty {
                self.failed = true;
                return Err(Error::MissingSwitchNote {
                    path: self.path.clone(),
                    ai_seq: self.ai_seq,
                    detail: match self.inner.end_reason() {
                        Some(reason) => format!("it holds no note, the first frame has {reason}"),
                        None => "it holds no note".to_string(),
                    },
                });
            }
            return Ok(false);
        }
        let header = self
            .inner
            .current()
            .expect("advance moved to a note")
            .header;
        if self.first {
            self.first = false;
            if header.kind != NoteKind::AiSwitch || header.aux != self.ai_seq {
                self.failed = true;
                return Err(Error::MissingSwitchNote {
                    path: self.path.clone(),
                    ai_seq: self.ai_seq,
                    detail: format!(
                        "the first note is a {} note with aux {}",
                        header.kind, header.aux
                    ),
                });
            }
        }
        Ok(true)
    }

    /// The note [`ExtentReader::advance`] moved to; `None` before the first and after the end.
    pub fn current(&self) -> Option<NoteRef<'_>> {
        if self.failed {
            return None;
        }
        self.inner.current()
    }

    /// File offset just after the last note returned.
    pub fn offset(&self) -> u64 {
        self.inner.offset()
    }

    /// Why the stream ended, once it has (see [`NoteReader::end_reason`]).
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.inner.end_reason()
    }
}

/// What an AI extent holds, as `rfutil aimage extent list` and `scan` report it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Notes, the `AiSwitch` note included.
    pub notes: u64,
    /// `TxBegin` notes.
    pub txns_begun: u64,
    /// `TxCommit` notes.
    pub txns_committed: u64,
    /// `TxRollback` notes.
    pub txns_rolled_back: u64,
    /// `BlockChange` notes.
    pub block_changes: u64,
    /// Sequence of the first note.
    pub first_seq: Option<NoteSeq>,
    /// Sequence of the last note.
    pub last_seq: Option<NoteSeq>,
    /// Time of the first transaction note (begin, commit or rollback), µs.
    pub first_time: Option<i64>,
    /// Time of the last transaction note, µs.
    pub last_time: Option<i64>,
    /// File offset just after the last note (4096 when there is none).
    pub end_offset: u64,
    /// Why the stream ended before the end of the file or region, if it did.
    pub end_reason: Option<EndReason>,
}

impl ScanSummary {
    /// Bytes of notes after the header region.
    pub fn used_bytes(&self) -> u64 {
        self.end_offset - AI_HEADER_REGION_BYTES
    }
}

/// Reads every note of the extent in `file` (current header `header`) and sums them up.
///
/// Empty: no notes. Busy: stops cleanly at the last whole note (notes before a nonzero
/// `used_bytes` must be whole). Full and Locked: a bad frame before `4096 + used_bytes` is
/// [`Error::DamagedExtent`] naming the offset. In every state a malformed note or a first note
/// that is not the extent's `AiSwitch` note is an error.
pub fn scan_extent(file: &FileRef, path: &Path, header: &AiHeader) -> Result<ScanSummary, Error> {
    let mut reader = ExtentReader::new(file.clone(), path, header)?;
    let mut sum = ScanSummary::default();
    while let Some(note) = reader.next()? {
        let h = note.header;
        sum.notes += 1;
        sum.first_seq.get_or_insert(h.note_seq);
        sum.last_seq = Some(h.note_seq);
        let counter = match h.kind {
            NoteKind::TxBegin => Some(&mut sum.txns_begun),
            NoteKind::TxCommit => Some(&mut sum.txns_committed),
            NoteKind::TxRollback => Some(&mut sum.txns_rolled_back),
            NoteKind::BlockChange => {
                sum.block_changes += 1;
                None
            }
            NoteKind::OpenStamp | NoteKind::AiSwitch => None,
        };
        if let Some(counter) = counter {
            *counter += 1;
            let time = h.aux as i64;
            sum.first_time.get_or_insert(time);
            sum.last_time = Some(time);
        }
    }
    sum.end_offset = reader.offset();
    sum.end_reason = reader.end_reason().cloned();
    Ok(sum)
}
