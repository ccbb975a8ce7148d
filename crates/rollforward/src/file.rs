//! One after-image file given to roll forward: opened and checked (an AI extent, of this
//! database, not Empty, of the expected sequence), then read once whole before anything
//! reaches the database (the survey: before applying, or by the reader of a held apply), so
//! a damaged or truncated file is refused with the database unchanged, and the open stamp,
//! the note range and the end point are known.
//!
//! Invariants: the survey reads in bounded memory (one streaming reader); the apply pass reads
//! exactly the bytes the survey verified (`[4096, end_offset)`), so a busy extent that grows
//! meanwhile is applied as surveyed.

use std::path::{Path, PathBuf};

use aiextent::{
    AI_HEADER_REGION_BYTES, AiExtentFile, AiHeader, AiState, NoteHeader, NoteKind, NoteReader,
};
use masterblock::{MasterBlock, NoteSeq, OpenStamp};
use storage::{OpenMode, Storage, StorageFile};

use crate::error::{Error, Result};
use crate::options::{StopAt, format_local_time};
use crate::stream::StreamReader;

/// Bytes at the start of a file's notes hinted before the data extents are (see
/// [`AiFile::head_prefetcher`]): the apply loop's first few dozen milliseconds of notes.
const HEAD_PREFETCH_BYTES: u64 = 8 << 20;

/// An open after-image file.
pub(crate) struct AiFile {
    pub path: PathBuf,
    pub extent: AiExtentFile,
}

impl AiFile {
    /// Opens `path` as an AI extent: [`Error::NotAiFile`] if it is none, [`Error::Ai`] if it is
    /// one whose header or size is damaged.
    pub fn open(storage: &dyn Storage, path: &Path) -> Result<AiFile> {
        let not_ai = |reason: String| Error::NotAiFile {
            path: path.to_path_buf(),
            reason,
        };
        if !storage.exists(path) {
            return Err(not_ai("there is no such file".into()));
        }
        let file = storage
            .open(path, OpenMode::Read)
            .map_err(|e| not_ai(format!("it cannot be opened: {e}")))?;
        let extent = AiExtentFile::open(file, path).map_err(|e| match e {
            aiextent::Error::NoValidHeader { .. } | aiextent::Error::ExtentHeader { .. } => {
                not_ai(e.to_string())
            }
            other => Error::ai(path)(other),
        })?;
        Ok(AiFile {
            path: path.to_path_buf(),
            extent,
        })
    }

    /// Hints that the file's first notes (up to [`HEAD_PREFETCH_BYTES`]) will be read soon
    /// (see [`prefetch_head`]), through a handle that may be moved to another thread.
    pub fn head_prefetcher(&self) -> impl FnOnce() + Send + 'static {
        let file = self.extent.file().clone();
        move || prefetch_head(file.as_ref())
    }

    /// The file's header.
    pub fn header(&self) -> &AiHeader {
        self.extent.header()
    }

    /// Checks that the file belongs to the database of `mb` and is not Empty.
    pub fn check_identity(&self, mb: &MasterBlock) -> Result<()> {
        let h = self.header();
        let foreign = |reason: String| Error::ForeignAiFile {
            path: self.path.clone(),
            file_db: h.ext.db_id,
            reason,
        };
        if h.ext.db_id != mb.db_id {
            return Err(foreign(format!(
                "it names database {}, this database is {}",
                h.ext.db_id, mb.db_id
            )));
        }
        if h.ext.block_size != mb.block_size {
            return Err(foreign(format!(
                "its block size is {}, the database's is {}",
                h.ext.block_size, mb.block_size
            )));
        }
        if h.state == AiState::Empty {
            return Err(Error::EmptyAiFile {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// True if the file was Full (or Locked) when read: it is applied whole.
    pub fn is_closed(&self) -> bool {
        matches!(self.header().state, AiState::Full | AiState::Locked)
    }

    /// A reader of exactly the notes the survey verified.
    pub fn apply_reader(&self, survey: &Survey) -> StreamReader {
        StreamReader::Region(
            NoteReader::new(
                self.extent.file().clone(),
                AI_HEADER_REGION_BYTES,
                survey.end_offset,
                self.header().ai_seq.0,
                Some(survey.first_seq),
            )
            .with_path(&self.path),
        )
    }

    /// A reader that checks the file as [`survey`] does (for a target whose next note is
    /// `next`, without an end point) while its notes are applied: for a held start.
    pub fn checking_reader(&self, next: NoteSeq) -> Result<StreamReader> {
        assert!(self.is_closed(), "a file applied while checked is closed");
        Ok(StreamReader::Checked {
            reader: self.extent.read_notes().map_err(Error::ai(&self.path))?,
            tally: Tally::new(self, next, None),
        })
    }
}

/// What the survey found in a file, for a target whose next note is `next`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Survey {
    /// Notes in the file.
    pub notes: u64,
    /// The file's first and last note.
    pub first_seq: NoteSeq,
    pub last_seq: NoteSeq,
    /// File offset just after the last note.
    pub end_offset: u64,
    /// The open stamp in effect just before the first note the target lacks.
    pub stamp_at_start: OpenStamp,
    /// The first note not to apply (the end point), if it is in this file.
    pub stop_seq: Option<NoteSeq>,
    /// Notes the target lacks that will be applied.
    pub to_apply: u64,
}

impl Survey {
    /// Bytes of notes in the file.
    pub fn bytes(&self) -> u64 {
        self.end_offset - AI_HEADER_REGION_BYTES
    }
}

/// Hints that the first notes of `file` (up to [`HEAD_PREFETCH_BYTES`]) will be read soon, so
/// the file system reads them before what is asked of the disk next (the operating system's
/// read-ahead follows the reader from there). A hint only.
fn prefetch_head(file: &dyn StorageFile) {
    let end = file
        .len()
        .unwrap_or(0)
        .min(AI_HEADER_REGION_BYTES + HEAD_PREFETCH_BYTES);
    storage::prefetch_range(file, AI_HEADER_REGION_BYTES, end, || true);
}

/// True if `stop` falls at this note: a transaction end at or after the endtime, or the first
/// note of the endtrans transaction.
fn is_stop(stop: Option<StopAt>, kind: NoteKind, txn: u64, aux: u64) -> bool {
    match stop {
        None => false,
        Some(StopAt::EndTime { time_micros }) => {
            matches!(kind, NoteKind::TxCommit | NoteKind::TxRollback) && aux as i64 >= time_micros
        }
        Some(StopAt::EndTrans { txn: stop_txn }) => txn == stop_txn.0 && txn != 0,
    }
}

/// Reads every note of `file` (every frame verified, the sequence unbroken, a Full file whole),
/// for a target whose next note is `next`; refuses a file that starts after `next`
/// ([`Error::NoteGap`]) and an end point the target has already passed
/// ([`Error::PastStopPoint`]).
pub(crate) fn survey(file: &AiFile, next: NoteSeq, stop: Option<StopAt>) -> Result<Survey> {
    let mut reader = file.extent.read_notes().map_err(Error::ai(&file.path))?;
    let mut tally = Tally::new(file, next, stop);
    while let Some(note) = reader.next().map_err(Error::ai(&file.path))? {
        tally.note(&note.header)?;
    }
    Ok(tally.finish(reader.offset()))
}

/// The survey's findings gathered note by note, by [`survey`] or by a reader that applies as
/// it checks (see [`crate::stream::StreamReader::Checked`]).
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    s: Survey,
    next: NoteSeq,
    stop: Option<StopAt>,
    path: PathBuf,
}

impl Tally {
    /// A tally of `file`'s notes for a target whose next note is `next`.
    pub fn new(file: &AiFile, next: NoteSeq, stop: Option<StopAt>) -> Tally {
        Tally {
            s: Survey {
                notes: 0,
                first_seq: NoteSeq(0),
                last_seq: NoteSeq(0),
                end_offset: AI_HEADER_REGION_BYTES,
                stamp_at_start: file.header().open_stamp,
                stop_seq: None,
                to_apply: 0,
            },
            next,
            stop,
            path: file.path.clone(),
        }
    }

    /// Counts the next note of the file (verified, in sequence, by an [`ExtentReader`]-ruled
    /// reader); refuses as [`survey`] does.
    ///
    /// [`ExtentReader`]: aiextent::ExtentReader
    pub fn note(&mut self, h: &NoteHeader) -> Result<()> {
        let (s, next) = (&mut self.s, self.next);
        if s.notes == 0 {
            s.first_seq = h.note_seq;
            if h.note_seq > next {
                return Err(Error::NoteGap {
                    path: self.path.clone(),
                    first_seq: h.note_seq,
                    next,
                });
            }
        }
        s.notes += 1;
        s.last_seq = h.note_seq;
        let stops = is_stop(self.stop, h.kind, h.txn.0, h.aux);
        if h.note_seq < next {
            if h.kind == NoteKind::OpenStamp {
                s.stamp_at_start = OpenStamp(h.aux);
            }
            if stops {
                return Err(Error::PastStopPoint {
                    detail: match h.kind {
                        NoteKind::TxCommit | NoteKind::TxRollback => format!(
                            "transaction {} ended at {}",
                            h.txn,
                            format_local_time(h.aux as i64)
                        ),
                        _ => format!("changes of transaction {}", h.txn),
                    },
                });
            }
        } else if s.stop_seq.is_none() {
            if stops {
                s.stop_seq = Some(h.note_seq);
            } else {
                s.to_apply += 1;
            }
        }
        Ok(())
    }

    /// An error of the file's reader, as the survey reports it.
    pub fn ai_error(&self, e: aiextent::Error) -> Error {
        Error::ai(&self.path)(e)
    }

    /// The survey, once the reader ended (without error) at `end_offset`.
    pub fn finish(mut self, end_offset: u64) -> Survey {
        self.s.end_offset = end_offset;
        self.s
    }
}

#[cfg(test)]
mod tests;
