//! The log manager: assigns note sequences, frames notes into an in-memory buffer, and makes
//! them durable with group commit (one thread writes and syncs everything buffered while the
//! others wait; every waiter whose note is covered returns).
//!
//! Invariants: notes are framed in sequence order, contiguously; `durable` only grows and every
//! note with a sequence up to it is synced in every sink; after a write or sync failure the log
//! is failed for good (what reached the disk is unknown) and every later flush reports it, so
//! nothing is acknowledged that crash recovery might not find.

use aiextent::{NoteHeader, NoteKind, encode_note};
use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};
use parking_lot::{Condvar, Mutex};

use crate::bi::BI_HEADER_BYTES;
use crate::error::{Error, Result};

/// Buffered notes beyond which a changer writes them out itself (bounds memory).
pub(crate) const MAX_BUFFERED_BYTES: usize = 4 << 20;

/// Where encoded notes go. The BI is one sink; while after-imaging is on, the busy AI extent
/// is another (it re-seals the frames for its own seed with `aiextent::reseal_frames`), and a
/// flush returns only when every sink holds the notes durably.
pub(crate) trait NoteSink: Send + Sync {
    /// Appends whole frames (sealed with the BI generation as seed) after the previous ones.
    fn append(&self, frames: &[u8]) -> Result<()>;
    /// Makes everything appended durable.
    fn sync(&self) -> Result<()>;
}

/// The BI extent as a sink: frames go at `offset`, which advances.
pub(crate) struct BiSink {
    file: storage::FileRef,
    path: std::path::PathBuf,
    offset: Mutex<u64>,
}

impl BiSink {
    /// A sink appending at `offset` bytes of notes.
    pub(crate) fn new(file: storage::FileRef, path: std::path::PathBuf, offset: u64) -> BiSink {
        BiSink {
            file,
            path,
            offset: Mutex::new(BI_HEADER_BYTES + offset),
        }
    }

    /// Restarts at the beginning of the notes (after a reset).
    pub(crate) fn rewind(&self) {
        *self.offset.lock() = BI_HEADER_BYTES;
    }
}

impl NoteSink for BiSink {
    fn append(&self, frames: &[u8]) -> Result<()> {
        let mut offset = self.offset.lock();
        self.file
            .write_at(frames, *offset)
            .map_err(Error::io("write", &self.path))?;
        *offset += frames.len() as u64;
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.file.sync().map_err(Error::io("sync", &self.path))
    }
}

struct LogState {
    /// Sequence the next note gets.
    next_seq: u64,
    /// Frames not yet handed to the sinks.
    buf: Vec<u8>,
    /// A spare buffer swapped in while a flush writes the other.
    spare: Vec<u8>,
    /// Every note up to this sequence is durable.
    durable: u64,
    /// A thread is writing and syncing.
    flushing: bool,
    /// The first write or sync failure.
    failed: Option<String>,
    /// Frame seed (BI generation).
    seed: u64,
    /// Bytes of notes in the BI generation so far (durable or buffered).
    bytes_in_generation: u64,
    /// Counters for statistics.
    notes: u64,
    bytes: u64,
    syncs: u64,
}

/// One block change to log: body ranges and their old bytes.
pub(crate) struct Change<'a> {
    pub area: AreaNo,
    pub block: BlockNo,
    pub prior: u64,
    pub txn: TxnId,
    pub compensation: bool,
    pub aux: u64,
    pub ranges: &'a [(u16, &'a [u8], &'a [u8])],
}

/// Counters of the log.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LogCounters {
    pub notes: u64,
    pub bytes: u64,
    pub syncs: u64,
}

/// The database's note stream.
pub(crate) struct LogManager {
    state: Mutex<LogState>,
    done: Condvar,
    sinks: Vec<Box<dyn NoteSink>>,
}

impl LogManager {
    /// A log whose next note is `next_seq`, framing with `seed`, with `bytes_in_generation`
    /// bytes of notes already in the BI.
    pub(crate) fn new(
        next_seq: NoteSeq,
        seed: u64,
        bytes_in_generation: u64,
        sinks: Vec<Box<dyn NoteSink>>,
    ) -> LogManager {
        LogManager {
            state: Mutex::new(LogState {
                next_seq: next_seq.0,
                buf: Vec::with_capacity(1 << 16),
                spare: Vec::with_capacity(1 << 16),
                durable: next_seq.0 - 1,
                flushing: false,
                failed: None,
                seed,
                bytes_in_generation,
                notes: 0,
                bytes: 0,
                syncs: 0,
            }),
            done: Condvar::new(),
            sinks,
        }
    }

    fn push(&self, header: NoteHeader, ranges: &[(u16, &[u8], &[u8])], st: &mut LogState) {
        let before = st.buf.len();
        encode_note(&mut st.buf, st.seed, &header, ranges);
        let len = (st.buf.len() - before) as u64;
        st.bytes_in_generation += len;
        st.bytes += len;
        st.notes += 1;
    }

    /// Appends a note without ranges (begin, commit, rollback, open stamp); returns its sequence.
    pub(crate) fn append_marker(&self, kind: NoteKind, txn: TxnId, aux: u64) -> NoteSeq {
        let mut st = self.state.lock();
        let seq = NoteSeq(st.next_seq);
        st.next_seq += 1;
        let header = NoteHeader {
            note_seq: seq,
            kind,
            compensation: false,
            area: AreaNo(0),
            block: BlockNo(0),
            prior_counter: UpdateCounter(0),
            txn,
            aux,
        };
        self.push(header, &[], &mut st);
        seq
    }

    /// Appends a block change; returns its sequence.
    pub(crate) fn append_change(&self, c: &Change<'_>) -> NoteSeq {
        let mut st = self.state.lock();
        let seq = NoteSeq(st.next_seq);
        st.next_seq += 1;
        let header = NoteHeader {
            note_seq: seq,
            kind: NoteKind::BlockChange,
            compensation: c.compensation,
            area: c.area,
            block: c.block,
            prior_counter: UpdateCounter(c.prior),
            txn: c.txn,
            aux: c.aux,
        };
        self.push(header, c.ranges, &mut st);
        seq
    }

    /// The sequence the next note will get.
    pub(crate) fn next_seq(&self) -> NoteSeq {
        NoteSeq(self.state.lock().next_seq)
    }

    /// True if more than [`MAX_BUFFERED_BYTES`] of notes wait to be written.
    pub(crate) fn buffer_full(&self) -> bool {
        self.state.lock().buf.len() > MAX_BUFFERED_BYTES
    }

    /// Bytes of notes in the current BI generation.
    pub(crate) fn bytes_in_generation(&self) -> u64 {
        self.state.lock().bytes_in_generation
    }

    /// Statistics.
    pub(crate) fn counters(&self) -> LogCounters {
        let st = self.state.lock();
        LogCounters {
            notes: st.notes,
            bytes: st.bytes,
            syncs: st.syncs,
        }
    }

    /// The failure that stopped the log, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        self.state.lock().failed.clone()
    }

    /// Returns once every note up to `seq` is durable in every sink (group commit).
    pub(crate) fn flush_to(&self, seq: NoteSeq) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            if let Some(reason) = &st.failed {
                return Err(Error::LogFailed {
                    reason: reason.clone(),
                });
            }
            if st.durable >= seq.0 {
                return Ok(());
            }
            if st.flushing {
                self.done.wait(&mut st);
                continue;
            }
            // Become the writer for everything buffered now.
            let upto = st.next_seq - 1;
            let mut frames = std::mem::take(&mut st.spare);
            std::mem::swap(&mut frames, &mut st.buf);
            st.flushing = true;
            drop(st);
            let outcome = self.write_all(&frames);
            frames.clear();
            st = self.state.lock();
            st.spare = frames;
            st.flushing = false;
            match outcome {
                Ok(()) => {
                    st.durable = upto;
                    st.syncs += 1;
                }
                Err(e) => st.failed = Some(e.to_string()),
            }
            self.done.notify_all();
        }
    }

    /// Makes every note appended so far durable.
    pub(crate) fn flush_all(&self) -> Result<()> {
        let last = NoteSeq(self.state.lock().next_seq - 1);
        self.flush_to(last)
    }

    fn write_all(&self, frames: &[u8]) -> Result<()> {
        if !frames.is_empty() {
            for sink in &self.sinks {
                sink.append(frames)?;
            }
        }
        for sink in &self.sinks {
            sink.sync()?;
        }
        Ok(())
    }

    /// Starts a new BI generation after the BI was reset: new seed, nothing buffered.
    /// The caller has flushed everything and holds every appender out.
    pub(crate) fn start_generation(&self, seed: u64) {
        let mut st = self.state.lock();
        assert!(
            st.buf.is_empty() && !st.flushing,
            "reset with notes unflushed"
        );
        st.seed = seed;
        st.bytes_in_generation = 0;
    }

    /// Marks the log failed (a reset went wrong half way).
    pub(crate) fn fail(&self, reason: String) {
        self.state.lock().failed = Some(reason);
    }
}
