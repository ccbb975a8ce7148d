//! The log manager: assigns note sequences, frames notes into an in-memory buffer, and makes
//! them durable with group commit (one thread writes and syncs everything buffered while the
//! others wait; every waiter whose note is covered returns).
//!
//! While after-imaging is on, every batch also goes to the busy AI extent ([`AiPipe`], in
//! parallel with the BI), and the switch to the next AI extent is decided when a note is
//! appended ([`AiPlan`]): a note that would not fit is preceded by an `AiSwitch` note. A
//! full-image note goes to the AI with only the ranges that changed ([`AiFrames`]): roll
//! forward never meets a torn block, so the whole body would only make the AI bigger.
//!
//! A commit needs less than a block write. With after-imaging on, the AI is its durability
//! point: the batch is written to the BI and written and synced to the AI, and the commit is
//! acknowledged then; the BI is synced only when a block is about to be written, at a switch
//! and at a checkpoint. A crash that loses BI notes the AI holds is repaired at open by copying
//! them back into the BI (see `ai::align`). With it off, the BI is synced at every commit.
//!
//! Invariants: notes are framed in sequence order, contiguously; `durable` only grows and every
//! note with a sequence up to it is synced in the BI and (after-imaging on) the AI; `committed`
//! (at least `durable`) only grows and every note up to it is written to the BI and, with
//! after-imaging on, synced in the AI (off, it runs ahead of `durable` only through `write_out`,
//! which writes without syncing); a block reaches disk only once `durable` covers its last
//! note; after a write or sync failure the log is failed for good (what reached the disk is
//! unknown) and every later flush reports it, so nothing is acknowledged that crash recovery
//! might not find; once a needed switch finds the next AI extent not empty the log is stopped:
//! that append and every later one fail with 3774, while the notes appended before it (which
//! fit) are still written, unless writers stall (`-aistall`): then the append waits, logging
//! 3775 and 3776 at most once a minute, until an extent is emptied, and goes on by itself.

mod buffers;
mod detach;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aiextent::{NoteHeader, NoteKind, NoteRef, Reseal, encode_note, encoded_len};
use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::ai::{AiFrames, AiPipe, AiPlan, AiShared, AiSwitched, Next, SWITCH_FRAME_LEN};
use crate::bi::BI_HEADER_BYTES;
use crate::error::{Error, Result};

/// Buffered notes beyond which a changer writes them out itself (bounds memory).
pub(crate) const MAX_BUFFERED_BYTES: usize = 4 << 20;

/// Where encoded notes go: the BI. (While after-imaging is on, the busy AI extent gets the same
/// frames through [`AiPipe`], which re-seals them for its own seed.)
pub(crate) trait NoteSink: Send + Sync {
    /// Appends whole frames (sealed with the BI generation as seed) after the previous ones.
    fn append(&self, frames: &[u8]) -> Result<()>;
    /// Makes everything appended durable.
    fn sync(&self) -> Result<()>;
}

/// Zeros written ahead of the BI's notes at least (and at most [`BI_AHEAD_MAX_BYTES`]; as
/// many as the notes already there in between): a sync of notes written over them changes
/// neither the file's length nor its allocation, so it costs one data write, not a journal
/// commit. A reader stops at the zeros (a frame of length zero).
const BI_AHEAD_MIN_BYTES: u64 = 64 << 10;

/// See [`BI_AHEAD_MIN_BYTES`].
const BI_AHEAD_MAX_BYTES: u64 = 8 << 20;

/// Zeros written ahead by one write at most.
const ZERO_CHUNK_BYTES: usize = 1 << 20;

/// The zeros written ahead.
static ZEROS: [u8; ZERO_CHUNK_BYTES] = [0; ZERO_CHUNK_BYTES];

/// The BI extent as a sink: frames go at `offset`, which advances, over zeros written ahead.
pub(crate) struct BiSink {
    file: storage::FileRef,
    path: std::path::PathBuf,
    /// `(offset of the next frame, end of the zeros written ahead)`.
    state: Mutex<(u64, u64)>,
    /// A bulk sink (roll forward: large writes, synced rarely) writes no zeros ahead, which
    /// would only double its writes, starts the writeback of each write at once (a sync then
    /// finds little left to write) and lets the file system drop from its cache what is
    /// written (nothing reads it back unless a crash follows; the cache is better left to the
    /// data blocks and the AI file). A sink synced often (commits) writes zeros ahead of its
    /// notes.
    bulk: bool,
    /// Where the last hint to drop synced bytes from the cache ended (bulk sink).
    uncached_to: Mutex<u64>,
}

impl BiSink {
    /// A sink appending at `offset` bytes of notes, the file ending there.
    pub(crate) fn new(file: storage::FileRef, path: std::path::PathBuf, offset: u64) -> BiSink {
        let at = BI_HEADER_BYTES + offset;
        BiSink {
            file,
            path,
            state: Mutex::new((at, at)),
            bulk: false,
            uncached_to: Mutex::new(at),
        }
    }

    /// A sink like [`BiSink::new`] for roll forward: no zeros ahead, synced bytes dropped from
    /// the cache.
    pub(crate) fn bulk(file: storage::FileRef, path: std::path::PathBuf, offset: u64) -> BiSink {
        BiSink {
            bulk: true,
            ..BiSink::new(file, path, offset)
        }
    }

    /// Restarts at the beginning of the notes (after a reset: new notes go over whatever the
    /// file still holds there).
    pub(crate) fn rewind(&self) {
        *self.state.lock() = (BI_HEADER_BYTES, BI_HEADER_BYTES);
        *self.uncached_to.lock() = BI_HEADER_BYTES;
    }
}

impl NoteSink for BiSink {
    fn append(&self, frames: &[u8]) -> Result<()> {
        let mut state = self.state.lock();
        let (offset, zeroed) = *state;
        let end = offset + frames.len() as u64;
        if !self.bulk && end > zeroed {
            let ahead = (zeroed - BI_HEADER_BYTES).clamp(BI_AHEAD_MIN_BYTES, BI_AHEAD_MAX_BYTES);
            let target = (end + ahead).next_multiple_of(4096);
            let mut at = zeroed;
            while at < target {
                let n = (target - at).min(ZERO_CHUNK_BYTES as u64);
                self.file
                    .write_at(&ZEROS[..n as usize], at)
                    .map_err(Error::io("write", &self.path))?;
                at += n;
            }
            state.1 = target;
        }
        self.file
            .write_at(frames, offset)
            .map_err(Error::io("write", &self.path))?;
        state.0 = end;
        if self.bulk {
            self.file.start_writeback(offset, frames.len() as u64);
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        // Every write that ended before the sync started is durable after it.
        let written = self.state.lock().0;
        self.file.sync().map_err(Error::io("sync", &self.path))?;
        if self.bulk {
            let mut from = self.uncached_to.lock();
            if written > *from {
                self.file.drop_cached(*from, written - *from);
                *from = written;
            }
        }
        Ok(())
    }
}

struct LogState {
    /// Sequence the next note gets.
    next_seq: u64,
    /// Frames not yet handed to the sinks.
    buf: Vec<u8>,
    /// A spare buffer swapped in while a flush writes the other.
    spare: Vec<u8>,
    /// Where the AI's frames of `buf` differ from the BI's (after-imaging on).
    alt: AiFrames,
    /// A spare swapped in while a flush writes the other.
    alt_spare: AiFrames,
    /// Every note up to this sequence is durable in the BI and (after-imaging on) the AI.
    durable: u64,
    /// Every note up to this sequence is written to the BI and, after-imaging on, durable in
    /// the AI: a commit this far may be acknowledged.
    committed: u64,
    /// A thread is writing and syncing.
    flushing: bool,
    /// The first write or sync failure (nothing more is written).
    failed: Option<String>,
    /// The AI stop: the next AI extent (this file) was not empty (nothing more is appended).
    ai_full: Option<PathBuf>,
    /// Where appended notes land in the AI extents (after-imaging on).
    ai: Option<AiPlan>,
    /// `-aistall`: an append that needs a switch to a non-Empty extent waits instead of
    /// stopping the database.
    stall: bool,
    /// When 3775 and 3776 were last logged for a stall.
    stall_logged: Option<Instant>,
    /// Appends waiting for an extent to be emptied.
    stalled: u32,
    /// A quiet point holds writers: markers wait (block changes and `aimage new` wait before
    /// they start, see [`LogManager::wait_not_quiet`]).
    quiet: bool,
    /// Frame seed (BI generation).
    seed: u64,
    /// Bytes of notes in the BI generation so far (durable or buffered).
    bytes_in_generation: u64,
    /// Counters for statistics.
    notes: u64,
    bytes: u64,
    syncs: u64,
}

/// How far a flush makes notes durable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Synced in the BI and (after-imaging on) the AI.
    Durable,
    /// Enough to acknowledge a commit: see [`LogManager::commit_to`].
    Committed,
    /// Written to the BI, not synced (after-imaging off; on, it is `Committed`): see
    /// [`LogManager::write_out`].
    Written,
}

/// Changed ranges of a block body: `(offset, new bytes, old bytes)`.
pub(crate) type Ranges<'a> = [(u16, &'a [u8], &'a [u8])];

/// One block change to log: body ranges and their old bytes.
pub(crate) struct Change<'a> {
    pub area: AreaNo,
    pub block: BlockNo,
    pub prior: u64,
    pub txn: TxnId,
    pub compensation: bool,
    pub aux: u64,
    pub ranges: &'a Ranges<'a>,
    /// For a full-image note: the ranges that really changed, which the AI gets instead of
    /// `ranges` (the same note, the same resulting body). `None` for any other note.
    pub ai_ranges: Option<&'a Ranges<'a>>,
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
    /// Signalled when an AI extent is emptied (stalled appends re-plan), a quiet point is
    /// lifted, or the log fails.
    resume: Condvar,
    /// Mirror of `LogState::quiet` for the block-change path's cheap check.
    quiet: AtomicBool,
    /// Held by `proquiet enable` and `disable` for their whole run (one at a time).
    pub(crate) quiet_admin: Mutex<()>,
    /// The BI (`None` on a read-only open, which never writes).
    bi: Option<Box<dyn NoteSink>>,
    ai: Option<AiPipe>,
    /// After-imaging was turned off online (`aimage aioff`): `ai` is no longer written.
    ai_detached: AtomicBool,
}

impl LogManager {
    /// A log whose next note is `next_seq`, framing with `seed`, with `bytes_in_generation`
    /// bytes of notes already in the BI; with `ai`, after-imaging is on.
    pub(crate) fn new(
        next_seq: NoteSeq,
        seed: u64,
        bytes_in_generation: u64,
        bi: Option<Box<dyn NoteSink>>,
        ai: Option<(AiPipe, AiPlan)>,
    ) -> LogManager {
        let (ai, plan) = match ai {
            Some((pipe, plan)) => (Some(pipe), Some(plan)),
            None => (None, None),
        };
        LogManager {
            state: Mutex::new(LogState {
                next_seq: next_seq.0,
                buf: Vec::with_capacity(1 << 16),
                spare: Vec::with_capacity(1 << 16),
                alt: AiFrames::default(),
                alt_spare: AiFrames::default(),
                durable: next_seq.0 - 1,
                committed: next_seq.0 - 1,
                flushing: false,
                failed: None,
                ai_full: None,
                ai: plan,
                stall: false,
                stall_logged: None,
                stalled: 0,
                quiet: false,
                seed,
                bytes_in_generation,
                notes: 0,
                bytes: 0,
                syncs: 0,
            }),
            done: Condvar::new(),
            resume: Condvar::new(),
            quiet: AtomicBool::new(false),
            quiet_admin: Mutex::new(()),
            bi,
            ai,
            ai_detached: AtomicBool::new(false),
        }
    }

    /// The AI writer while after-imaging is on (not detached by `aimage aioff`).
    fn pipe(&self) -> Option<&AiPipe> {
        self.ai
            .as_ref()
            .filter(|_| !self.ai_detached.load(Ordering::SeqCst))
    }

    /// Makes room in the AI for a frame of `frame_len` bytes: while it does not fit in the
    /// busy extent, appends an `AiSwitch` note (the switch itself is made when the batch is
    /// written). When the next extent is not Empty the log stops with 3774.
    fn reserve(&self, st: &mut MutexGuard<'_, LogState>, frame_len: usize) -> Result<()> {
        if let Some(path) = &st.ai_full {
            return Err(Error::AiExtentFull { path: path.clone() });
        }
        loop {
            let Some(plan) = st.ai.as_mut() else {
                return Ok(());
            };
            if plan.fits(frame_len) {
                plan.add(frame_len);
                return Ok(());
            }
            match plan.next() {
                Next::To(to) => {
                    self.push_switch(st, to);
                }
                Next::NotEmpty(path) if st.stall => {
                    self.stall(st, &path)?;
                }
                Next::NotEmpty(path) | Next::OnlyOne(path) => {
                    let err = Error::AiExtentFull { path: path.clone() };
                    st.ai_full = Some(path);
                    if let Some(ai) = self.pipe() {
                        ai.shared()
                            .log_event(&err.to_string(), Some(err.msg_number()));
                        ai.shared().log_event(
                            "the database stopped: every write fails until an AI extent is emptied (rfutil aimage extent empty) and the database is opened again",
                            None,
                        );
                    }
                    return Err(err);
                }
            }
        }
    }

    /// `-aistall`: waits (the log's lock released) until an extent is emptied or a second
    /// passes, logging 3775 and 3776 when they were not logged in the last minute. Fails only
    /// if the log failed meanwhile.
    fn stall(&self, st: &mut MutexGuard<'_, LogState>, path: &std::path::Path) -> Result<()> {
        const RELOG: Duration = Duration::from_secs(60);
        if st.stall_logged.is_none_or(|at| at.elapsed() >= RELOG) {
            st.stall_logged = Some(Instant::now());
            if let Some(ai) = self.pipe() {
                ai.shared().log_event(
                    &format!(
                        "Cannot switch to after-image extent {}: it is full",
                        path.display()
                    ),
                    Some(3775),
                );
                ai.shared().log_event(
                    &format!(
                        "Back up after-image extent {} and mark it empty (rfutil -C aimage extent empty): activity waits until then and goes on by itself",
                        path.display()
                    ),
                    Some(3776),
                );
            }
        }
        st.stalled += 1;
        self.resume.wait_for(st, Duration::from_secs(1));
        st.stalled -= 1;
        match &st.failed {
            Some(reason) => Err(Error::LogFailed {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Turns `-aistall` on or off.
    pub(crate) fn set_ai_stall(&self, on: bool) {
        self.state.lock().stall = on;
    }

    /// Appends waiting for an AI extent to be emptied (`-aistall`).
    pub(crate) fn stalled(&self) -> u32 {
        self.state.lock().stalled
    }

    /// The extent set emptied extent `ai_number` (it was Full): a switch may go there again,
    /// and stalled appends go on.
    pub(crate) fn ai_extent_emptied(&self, ai_number: u32) {
        let mut st = self.state.lock();
        if let Some(plan) = st.ai.as_mut() {
            plan.mark_empty(ai_number);
        }
        drop(st);
        self.resume.notify_all();
    }

    /// Starts (`true`) or lifts a quiet point: while it holds, markers wait before they are
    /// appended, and block changes and `aimage new` before they start (under the change gate,
    /// which the quiet point's enable takes to let those in flight finish).
    pub(crate) fn set_quiet(&self, on: bool) {
        let mut st = self.state.lock();
        st.quiet = on;
        self.quiet.store(on, Ordering::SeqCst);
        drop(st);
        self.resume.notify_all();
    }

    /// True while a quiet point holds writers.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet.load(Ordering::SeqCst)
    }

    /// Returns once no quiet point holds writers.
    pub(crate) fn wait_not_quiet(&self) {
        let mut st = self.state.lock();
        while st.quiet {
            self.resume.wait(&mut st);
        }
    }

    /// After an append found the database stopped: writes out what was appended before the
    /// stop (best effort), so the AI extents on disk are as full as the stop says; returns `e`.
    fn stopped(&self, e: Error) -> Error {
        let _ = self.flush_all();
        e
    }

    /// Appends the `AiSwitch` note of a switch to plan slot `to`; returns its sequence.
    fn push_switch(&self, st: &mut LogState, to: usize) -> NoteSeq {
        let plan = st.ai.as_mut().expect("after-imaging is on");
        let ai_seq = plan.switched(to);
        let seq = NoteSeq(st.next_seq);
        st.next_seq += 1;
        self.push(NoteHeader::ai_switch(seq, ai_seq), &[], st);
        debug_assert_eq!(SWITCH_FRAME_LEN as usize, encoded_len(&[]));
        seq
    }

    /// `rfutil aimage new`: appends the `AiSwitch` note of a switch to the next extent. The
    /// caller flushes up to the returned sequence. Refused, changing nothing, with
    /// after-imaging off, a single extent, or the next extent not Empty (3774; the database
    /// goes on).
    pub(crate) fn ai_switch(&self) -> Result<(AiSwitched, NoteSeq)> {
        let mut st = self.state.lock();
        if let Some(path) = &st.ai_full {
            return Err(Error::AiExtentFull { path: path.clone() });
        }
        let Some(plan) = st.ai.as_ref() else {
            return Err(Error::Note(aiextent::Error::AiNotEnabled));
        };
        let from_extent = plan.busy_number();
        let to = match plan.next() {
            Next::To(to) => to,
            Next::NotEmpty(path) => return Err(Error::AiExtentFull { path }),
            Next::OnlyOne(path) => {
                return Err(Error::Note(aiextent::Error::OnlyOneExtent { path }));
            }
        };
        let to_extent = plan.number_of(to);
        let new_seq = plan.next_seq();
        let seq = self.push_switch(&mut st, to);
        Ok((
            AiSwitched {
                from_extent,
                to_extent,
                new_seq,
            },
            seq,
        ))
    }

    /// `Err(AiExtentFull)` once a switch stopped the database.
    pub(crate) fn check_running(&self) -> Result<()> {
        match &self.state.lock().ai_full {
            Some(path) => Err(Error::AiExtentFull { path: path.clone() }),
            None => Ok(()),
        }
    }

    /// The AI side, while after-imaging is on.
    pub(crate) fn ai(&self) -> Option<&Arc<AiShared>> {
        self.pipe().map(AiPipe::shared)
    }

    /// Closes the AI extents cleanly (after the closing checkpoint).
    pub(crate) fn close_ai(&self) -> Result<()> {
        match self.pipe() {
            Some(pipe) => pipe.close(),
            None => Ok(()),
        }
    }

    /// Lets the AI extents go without writing (after a failure).
    pub(crate) fn abandon_ai(&self) {
        if let Some(pipe) = self.pipe() {
            pipe.abandon();
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
    pub(crate) fn append_marker(&self, kind: NoteKind, txn: TxnId, aux: u64) -> Result<NoteSeq> {
        let mut st = self.state.lock();
        while st.quiet {
            self.resume.wait(&mut st);
        }
        if let Err(e) = self.reserve(&mut st, encoded_len(&[])) {
            drop(st);
            return Err(self.stopped(e));
        }
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
        Ok(seq)
    }

    /// Appends a block change; returns its sequence. With after-imaging on and `c.ai_ranges`,
    /// the AI gets the note with those ranges instead.
    pub(crate) fn append_change(&self, c: &Change<'_>) -> Result<NoteSeq> {
        let mut guard = self.state.lock();
        let ai_ranges = c.ai_ranges.filter(|_| guard.ai.is_some());
        if let Err(e) = self.reserve(&mut guard, encoded_len(ai_ranges.unwrap_or(c.ranges))) {
            drop(guard);
            return Err(self.stopped(e));
        }
        let st = &mut *guard;
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
        let bi_at = st.buf.len();
        self.push(header, c.ranges, st);
        if let Some(ranges) = ai_ranges {
            let (bi_len, seed) = (st.buf.len() - bi_at, st.seed);
            st.alt.replace(bi_at, bi_len, |out| {
                encode_note(out, seed, &header, ranges);
            });
        }
        Ok(seq)
    }

    /// Appends a verified note of another stream (roll forward) whose sequence is the next one
    /// (a caller bug otherwise: panics), re-framed under the BI's seed by `reseal` from the
    /// checksum it verified with. Returns the bytes of notes in the BI generation after it
    /// (what [`LogManager::bytes_in_generation`] would say next).
    pub(crate) fn append_verified(&self, note: &NoteRef<'_>, reseal: &mut Reseal) -> Result<u64> {
        let mut guard = self.state.lock();
        if let Err(e) = self.reserve(&mut guard, note.frame_len()) {
            drop(guard);
            return Err(self.stopped(e));
        }
        let st = &mut *guard;
        let seq = note.header.note_seq.0;
        assert_eq!(seq, st.next_seq, "a note appended out of sequence");
        st.next_seq += 1;
        let before = st.buf.len();
        reseal.append(&mut st.buf, note, st.seed);
        let len = (st.buf.len() - before) as u64;
        st.bytes_in_generation += len;
        st.bytes += len;
        st.notes += 1;
        Ok(st.bytes_in_generation)
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

    /// Why the log stopped, if it did: the AI stop first (the cause the DBA must act on).
    pub(crate) fn failure(&self) -> Option<Error> {
        let st = self.state.lock();
        match (&st.ai_full, &st.failed) {
            (Some(path), _) => Some(Error::AiExtentFull { path: path.clone() }),
            (None, Some(reason)) => Some(Error::LogFailed {
                reason: reason.clone(),
            }),
            (None, None) => None,
        }
    }

    /// Returns once every note up to `seq` is durable in every sink (group commit): what a
    /// block write and a checkpoint need.
    pub(crate) fn flush_to(&self, seq: NoteSeq) -> Result<()> {
        self.flush(seq, Level::Durable)
    }

    /// Returns once a commit whose last note is `seq` may be acknowledged (group commit): with
    /// after-imaging on, every note up to `seq` is written to the BI and durable in the AI;
    /// with it off, durable in the BI.
    pub(crate) fn commit_to(&self, seq: NoteSeq) -> Result<()> {
        self.flush(seq, Level::Committed)
    }

    /// Makes every note appended so far durable.
    pub(crate) fn flush_all(&self) -> Result<()> {
        let last = NoteSeq(self.state.lock().next_seq - 1);
        self.flush_to(last)
    }

    /// Writes every note appended so far to the BI without syncing it (after-imaging off; on,
    /// as [`LogManager::commit_to`]), so a later sync ([`LogManager::sync_written`], or the
    /// sync of any flush) finds little left to write: what the roll forward target's log
    /// writer does while notes are applied. Makes nothing durable by itself.
    pub(crate) fn write_out(&self) -> Result<()> {
        let last = NoteSeq(self.state.lock().next_seq - 1);
        self.flush(last, Level::Written)
    }

    /// Syncs the BI and makes durable the notes written to it before (by
    /// [`LogManager::write_out`] or any flush), without holding other flushes out while the
    /// sync runs. After-imaging off only (on, the AI's sync is the one that counts): then a
    /// plain [`LogManager::flush_all`].
    pub(crate) fn sync_written(&self) -> Result<()> {
        if self.pipe().is_some() {
            return self.flush_all();
        }
        let upto = {
            let st = self.state.lock();
            if let Some(reason) = &st.failed {
                return Err(Error::LogFailed {
                    reason: reason.clone(),
                });
            }
            st.committed
        };
        let outcome = self.sync_bi();
        let mut st = self.state.lock();
        match outcome {
            Ok(()) => {
                st.durable = st.durable.max(upto);
                st.syncs += 1;
                Ok(())
            }
            Err(e) => {
                st.failed.get_or_insert_with(|| e.to_string());
                Err(e)
            }
        }
    }

    fn flush(&self, seq: NoteSeq, level: Level) -> Result<()> {
        let level = match (self.pipe().is_some(), level) {
            (true, Level::Written) => Level::Committed,
            (true, level) => level,
            (false, Level::Written) => Level::Written,
            (false, _) => Level::Durable,
        };
        let mut st = self.state.lock();
        loop {
            // After an AI stop the notes appended before it still go out (they fit).
            if let Some(reason) = &st.failed {
                return Err(Error::LogFailed {
                    reason: reason.clone(),
                });
            }
            let reached = match level {
                Level::Durable => st.durable,
                Level::Committed | Level::Written => st.committed,
            };
            if reached >= seq.0 {
                return Ok(());
            }
            if st.flushing {
                self.done.wait(&mut st);
                continue;
            }
            st.flushing = true;
            let (upto, outcome) = if level == Level::Durable && st.committed >= seq.0 {
                // Written everywhere and durable in the AI: only the BI's sync is missing.
                let upto = st.committed;
                drop(st);
                let outcome = self.sync_bi();
                st = self.state.lock();
                (upto, outcome)
            } else {
                // Become the writer for everything buffered now.
                let upto = st.next_seq - 1;
                let mut frames = std::mem::take(&mut st.spare);
                std::mem::swap(&mut frames, &mut st.buf);
                let mut alt = std::mem::take(&mut st.alt_spare);
                std::mem::swap(&mut alt, &mut st.alt);
                drop(st);
                let outcome = match level {
                    Level::Durable => self.write_all(&frames, &alt),
                    Level::Committed => self.write_committed(&frames, &alt),
                    Level::Written => match &self.bi {
                        Some(bi) if !frames.is_empty() => bi.append(&frames),
                        _ => Ok(()),
                    },
                };
                frames.clear();
                alt.clear();
                st = self.state.lock();
                st.spare = frames;
                st.alt_spare = alt;
                (upto, outcome)
            };
            st.flushing = false;
            match outcome {
                Ok(()) => {
                    st.committed = st.committed.max(upto);
                    if level == Level::Durable {
                        st.durable = upto;
                    }
                    if level != Level::Written {
                        st.syncs += 1;
                    }
                }
                Err(e) => {
                    if st.failed.is_none() {
                        st.failed = Some(e.to_string());
                    }
                }
            }
            self.done.notify_all();
        }
    }

    fn sync_bi(&self) -> Result<()> {
        match &self.bi {
            Some(bi) => bi.sync(),
            None => Ok(()),
        }
    }

    /// Writes `frames` to the BI and writes and syncs them to the AI (after-imaging on); the
    /// BI is synced only before a switch in the batch.
    fn write_committed(&self, frames: &[u8], alt: &AiFrames) -> Result<()> {
        let Some(ai) = self.pipe() else {
            // After-imaging was turned off while this flush waited: the BI is the durability
            // point again.
            return self.write_all(frames, alt);
        };
        if frames.is_empty() {
            return Ok(());
        }
        let bi_write = || match &self.bi {
            Some(bi) => bi.append(frames),
            None => Ok(()),
        };
        ai.write_ai_durable(frames, alt, bi_write, || self.sync_bi())
    }

    fn write_all(&self, frames: &[u8], alt: &AiFrames) -> Result<()> {
        let bi_write = || match &self.bi {
            Some(bi) if !frames.is_empty() => bi.append(frames),
            _ => Ok(()),
        };
        let bi_sync = || match &self.bi {
            Some(bi) => bi.sync(),
            None => Ok(()),
        };
        match self.pipe() {
            Some(ai) if !frames.is_empty() => ai.write(frames, alt, bi_write, bi_sync),
            _ => {
                bi_write()?;
                bi_sync()
            }
        }
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

    /// Marks the log failed (a reset went wrong half way); an earlier failure stays.
    pub(crate) fn fail(&self, reason: String) {
        let mut st = self.state.lock();
        if st.failed.is_none() {
            st.failed = Some(reason);
        }
        drop(st);
        self.resume.notify_all();
    }
}
