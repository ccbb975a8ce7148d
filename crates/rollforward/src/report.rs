//! What roll forward tells its caller while it runs ([`Event`]) and when it is done
//! ([`Summary`], one [`FileSummary`] per file).
//!
//! Invariant: the rates are computed from the elapsed time of the whole run, never divided by
//! zero (a run takes at least 1 µs).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use engine::RedoReport;
use masterblock::{AiSeq, DbState, TxnId};

/// Something roll forward reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// An informational line with its number (also written to the database's event log).
    Message {
        /// The text, without the number.
        text: &'a str,
        /// The message number.
        number: u32,
    },
    /// Progress through a file (every few thousand notes and at its end).
    Progress(Progress<'a>),
    /// A transaction ended in the notes applied, or is left in flight at the end.
    Txn(TxnEvent),
}

/// Progress through one file.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// The file.
    pub path: &'a Path,
    /// Notes read so far from it.
    pub notes_done: u64,
    /// Notes in it (0 while it is still being checked: not known yet).
    pub notes_total: u64,
    /// Bytes of notes read so far.
    pub bytes_done: u64,
    /// Bytes of notes in it.
    pub bytes_total: u64,
    /// Time since the roll forward began.
    pub elapsed: Duration,
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnEnd {
    /// Its commit note was applied.
    Committed,
    /// Its rollback note was applied.
    RolledBack,
    /// Still in flight when roll forward finished (the next open for use rolls it back).
    InFlight,
}

/// One transaction, when it ended or when roll forward finished with it in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnEvent {
    /// The transaction.
    pub txn: TxnId,
    /// When it began (µs), if its begin note was applied in this run.
    pub begin_time: Option<i64>,
    /// When it ended (µs), unless in flight.
    pub end_time: Option<i64>,
    /// How it ended.
    pub end: TxnEnd,
}

/// What was done with one after-image file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// Its AI sequence.
    pub ai_seq: AiSeq,
    /// It was Full (or Locked): applied whole; otherwise it was Busy and may continue.
    pub closed: bool,
    /// Notes read (up to the end point, if reached).
    pub notes_read: u64,
    /// Notes applied to the database (and written to its BI).
    pub notes_applied: u64,
    /// Notes skipped: already in the database, or blocks already past them.
    pub notes_skipped: u64,
    /// Transactions whose commit was applied.
    pub txns_committed: u64,
    /// Transactions whose rollback was applied.
    pub txns_rolled_back: u64,
    /// Bytes of notes in the file.
    pub bytes: u64,
    /// Time from its first note read to the end of the checkpoint that makes it durable.
    pub elapsed: Duration,
    /// Of `elapsed`, the time to its last note applied: the redo alone, without the
    /// checkpoint after it.
    pub applying: Duration,
    /// The end point was reached in it.
    pub stop_reached: bool,
}

impl fmt::Display for FileSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "After-image file {} (number {}, {}): {} notes read, {} applied, {} skipped (already in the database), {} transactions committed, {} rolled back, in {:.3} s (notes applied in {:.3} s)",
            self.path.display(),
            self.ai_seq,
            if self.closed { "full" } else { "busy" },
            self.notes_read,
            self.notes_applied,
            self.notes_skipped,
            self.txns_committed,
            self.txns_rolled_back,
            self.elapsed.as_secs_f64(),
            self.applying.as_secs_f64()
        )
    }
}

/// What a roll forward did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Each file applied, in order.
    pub files: Vec<FileSummary>,
    /// The redo of the database's own BI when roll forward started (if it did).
    pub redo: Option<RedoReport>,
    /// Transactions left in flight (rolled back at the next open for use).
    pub txns_open: u64,
    /// Time of the whole run.
    pub elapsed: Duration,
    /// The state the database was left in.
    pub state: DbState,
}

impl Summary {
    pub(crate) fn add(&mut self, file: FileSummary) {
        self.files.push(file);
    }

    fn total(&self, f: impl Fn(&FileSummary) -> u64) -> u64 {
        self.files.iter().map(f).sum()
    }

    /// Notes read over all files.
    pub fn notes_read(&self) -> u64 {
        self.total(|f| f.notes_read)
    }

    /// Notes applied over all files.
    pub fn notes_applied(&self) -> u64 {
        self.total(|f| f.notes_applied)
    }

    /// Notes skipped over all files.
    pub fn notes_skipped(&self) -> u64 {
        self.total(|f| f.notes_skipped)
    }

    /// Transactions committed over all files.
    pub fn txns_committed(&self) -> u64 {
        self.total(|f| f.txns_committed)
    }

    /// Transactions rolled back (by their own rollback notes) over all files.
    pub fn txns_rolled_back(&self) -> u64 {
        self.total(|f| f.txns_rolled_back)
    }

    /// Bytes of notes over all files.
    pub fn bytes(&self) -> u64 {
        self.total(|f| f.bytes)
    }

    fn per_sec(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(1e-6)
    }

    /// Notes read per second.
    pub fn notes_per_sec(&self) -> f64 {
        self.per_sec(self.notes_read())
    }

    /// MB (10^6 bytes) of notes read per second.
    pub fn mb_per_sec(&self) -> f64 {
        self.per_sec(self.bytes()) / 1e6
    }

    /// Transactions committed per second.
    pub fn txns_per_sec(&self) -> f64 {
        self.per_sec(self.txns_committed())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Roll forward: {} files, {} notes read, {} applied, {} skipped (already in the database), {} transactions committed, {} left open, {} bytes in {:.3} s ({:.0} notes/s, {:.1} MB/s, {:.0} transactions/s)",
            self.files.len(),
            self.notes_read(),
            self.notes_applied(),
            self.notes_skipped(),
            self.txns_committed(),
            self.txns_open,
            self.bytes(),
            self.elapsed.as_secs_f64(),
            self.notes_per_sec(),
            self.mb_per_sec(),
            self.txns_per_sec()
        )
    }
}
