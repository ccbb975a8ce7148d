//! The roll forward target (docs/formats/rollforward.md): a database opened for roll forward,
//! which redoes its own BI without undo, applies notes of after-image files with the apply rule
//! and writes each of them to its own BI, so a crash part way is recovered like any other.
//!
//! Invariants: opening writes nothing (the checks of a roll forward come first), nor does a
//! held start until it is confirmed (its BI notes carry a generation the header does not
//! name, its dirty blocks stay in the pool); the master
//! block says `RollForwardInProgress` from the first write until the final checkpoint; notes
//! keep their sequence (the target and the source share one note stream), so the target's BI
//! continues exactly at the target's next note; the BI is reset only when no transaction is in
//! flight, so every in-flight transaction's notes stay in the BI for the undo of the next open
//! for use; no open stamp is taken: the target follows the stream's stamps.

mod apply;
mod logwriter;
mod readahead;

use std::sync::Arc;

use aiextent::{FrameOutcome, NoteKind, Reseal, decode_frame};
use masterblock::{DbState, MasterBlock, NoteSeq, OpenStamp, TxnId};
use storage::StorageRef;

use crate::bi::{BI_HEADER_BYTES, BiFile, BiStream};
use crate::checkpoint;
use crate::db::{AccessMode, OpenOptions, Parts, Shared};
use crate::error::{Error, Result};
use crate::extent::DataFiles;
use crate::fasthash::IntSet;
use crate::lockfile::LockFile;
use crate::log::{BiSink, LogManager};
use crate::open::{check_identity, read_control};
use crate::path::DbPath;
use crate::recovery;
use logwriter::LogWriter;
use readahead::{ReadAhead, ReadAheadConfig, Warm};

pub use readahead::BlockHints;

pub use apply::NoteOutcome;

/// Buffers of the roll forward buffer pool unless `-B` says otherwise (clients: 4096).
pub const ROLL_FORWARD_BUFFERS: usize = 16384;

/// Reader threads of the read-ahead unless told otherwise.
const READ_AHEAD_THREADS: usize = 8;

/// How far above the BI's generation a held start seals its notes: beyond any number of
/// resets, so notes left by a held start that never completed do not verify under a
/// generation the BI later reaches by resets.
const HELD_GENERATION_STEP: u64 = 1 << 32;

/// A start held until the first file is checked (see [`RollForwardTarget::start_held`]).
#[derive(Clone, Copy, Debug)]
struct Held {
    /// The generation the BI's notes are sealed with, adopted by the BI at the confirmation.
    generation: u64,
    /// The first note written to the BI.
    start: NoteSeq,
}

/// How a roll forward target runs.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Buffer pool size in blocks (`-B`); at least 16 are used.
    pub buffers: usize,
    /// Bytes of notes in the BI after which a checkpoint is taken (with a BI reset at the first
    /// moment no transaction is in flight; without one after four times as many).
    pub checkpoint_bytes: u64,
    /// Threads reading ahead the blocks that coming notes change, for data extents that take
    /// no read-ahead hints (with hints, as on the real file system, none are started); 0 turns
    /// read-ahead off.
    pub read_ahead_threads: usize,
    /// Bytes of notes appended after which the log writer thread is asked to write them (at
    /// most, and by default, the log's 4 MiB buffer; small values exercise it).
    pub log_flush_bytes: u64,
    /// Bytes the log writer writes between two syncs of its own (blocks and checkpoints
    /// sync whatever they need besides; small values exercise it).
    pub log_sync_bytes: u64,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            buffers: ROLL_FORWARD_BUFFERS,
            // Each checkpoint epoch logs a full image of every block it changes (16 KiB for 8 KiB
            // blocks) and ends writing every dirty block: an epoch much longer than the pool's
            // blocks keeps that cost a small part of the BI (64 MiB made it 90% for TPC-B).
            checkpoint_bytes: 512 << 20,
            read_ahead_threads: READ_AHEAD_THREADS,
            log_flush_bytes: crate::log::MAX_BUFFERED_BYTES as u64,
            log_sync_bytes: logwriter::SYNC_EVERY_BYTES,
        }
    }
}

/// What the redo of the target's own BI did when roll forward started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedoReport {
    /// Notes in the BI.
    pub notes_read: u64,
    /// Block changes applied.
    pub notes_redone: u64,
    /// Transactions in flight in the BI (left to the next open for use).
    pub txns_in_flight: u64,
}

/// A database opened for roll forward. See the module documentation; the steps are
/// [`RollForwardTarget::open`] (checks only), [`RollForwardTarget::start`] (the first write),
/// [`RollForwardTarget::apply`] per note, [`RollForwardTarget::checkpoint`] between files and
/// [`RollForwardTarget::finish`]. Dropped without `finish`, it writes nothing more and the
/// database stays `RollForwardInProgress` once started (retry finishes it).
pub struct RollForwardTarget {
    shared: Arc<Shared>,
    /// The BI as read at open, redone by `start`.
    stream: Option<BiStream>,
    /// The first note sequence the target does not have.
    next: u64,
    /// The open stamp in effect at `next`.
    stamp: OpenStamp,
    /// Transactions begun and not ended.
    open_txns: IntSet<u64>,
    /// Highest transaction id seen.
    max_txn: u64,
    started: bool,
    /// Applying before the first write: nothing reaches the database's blocks or master block,
    /// and the BI's notes do not verify, until [`RollForwardTarget::confirm_start`].
    held: Option<Held>,
    /// The database was closed properly (state `Clean` or `RolledForwardInFlight`) at open.
    closed_properly: bool,
    /// An operation failed: nothing more may be written.
    failed: bool,
    /// Body before a change (for full-image notes).
    before: Vec<u8>,
    /// Re-frames applied notes for the BI from the checksums they verified with.
    reseal: Reseal,
    checkpoint_bytes: u64,
    /// `bytes_in_generation` at the last checkpoint.
    bytes_at_checkpoint: u64,
    /// `bytes_in_generation` after the last note appended (kept here, so the apply loop does
    /// not take the log's lock again per note to read it).
    in_generation: u64,
    /// Reader threads of a read-ahead (0: none).
    read_ahead_threads: usize,
    /// The read-ahead running, if any.
    read_ahead: Option<ReadAhead>,
    /// The data extents being hinted whole, if they are.
    warm: Option<Warm>,
    /// The log writer (from `start`).
    log_writer: Option<LogWriter>,
    /// `bytes_in_generation` when the log writer was last asked to flush.
    bytes_at_request: u64,
    /// Bytes appended after which the log writer is asked to flush.
    log_flush_bytes: u64,
    /// Bytes the log writer writes between two syncs of its own.
    log_sync_bytes: u64,
}

impl std::fmt::Debug for RollForwardTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollForwardTarget")
            .field("path", &self.shared.path)
            .field("next", &self.next)
            .field("open_txns", &self.open_txns.len())
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl RollForwardTarget {
    /// Takes the database's lock ([`Error::InUse`] if it is open), reads and checks the control
    /// area, opens the data extents and reads the BI. Writes nothing. Refuses a database being
    /// restored ([`Error::Restoring`]); every other state is accepted here (the roll
    /// forward decides about retry).
    pub fn open(storage: StorageRef, db: &DbPath, opts: &ReplayOptions) -> Result<Self> {
        let lock_file = LockFile::acquire(&storage, &db.lock_path())?;
        let (master, catf) = read_control(storage.as_ref(), db, true)?;
        let catalogue = catf.get().clone();
        check_identity(storage.as_ref(), db, &catalogue)?;
        let mb = *master.get();
        if mb.state == DbState::Restoring {
            return Err(Error::Restoring {
                path: db.control_path(),
                path_stem: db.to_string(),
            });
        }
        let bs = mb.block_size;
        let files = DataFiles::open(storage.as_ref(), &catalogue, mb.db_id, bs, true)?;
        let bi_area = catalogue.bi_area();
        let bi_path = bi_area.extents[0].path.clone();
        let bi = BiFile::open(
            storage.as_ref(),
            &bi_path,
            true,
            mb.db_id,
            bi_area.number,
            bs,
        )?;
        let stream = bi.read_stream()?;
        let mut open_txns = IntSet::default();
        let mut stamp = mb.open_stamp;
        let mut max_txn = mb.next_txn_id.0.saturating_sub(1);
        for (_, h) in &stream.notes {
            max_txn = max_txn.max(h.txn.0);
            match h.kind {
                NoteKind::TxBegin => {
                    open_txns.insert(h.txn.0);
                }
                NoteKind::TxCommit | NoteKind::TxRollback => {
                    open_txns.remove(&h.txn.0);
                }
                NoteKind::BlockChange if h.txn.0 != 0 => {
                    open_txns.insert(h.txn.0);
                }
                NoteKind::OpenStamp if h.note_seq >= mb.next_note_seq => {
                    stamp = OpenStamp(h.aux);
                }
                _ => {}
            }
        }
        let in_bi = bi.header.start_note_seq.0 + stream.notes.len() as u64;
        let next = mb.next_note_seq.0.max(in_bi);
        let generation = bi.header.generation;
        let sink = Arc::new(BiSink::bulk(bi.file.clone(), bi_path, stream.end as u64));
        let log = LogManager::new(
            NoteSeq(next),
            generation,
            stream.end as u64,
            Some(Box::new(Arc::clone(&sink))),
            None,
        );
        let shared = Arc::new(Shared::assemble(Parts {
            storage,
            path: db.clone(),
            read_only: false,
            catalogue,
            master: Arc::new(parking_lot::Mutex::new(master)),
            files,
            bi: Some(bi),
            bi_sink: Some(sink),
            log,
            opts: OpenOptions {
                access: AccessMode::ReadWrite,
                buffers: opts.buffers,
                bi_checkpoint_bytes: u64::MAX,
                ..OpenOptions::default()
            },
            next_txn: max_txn + 1,
            lock_file,
        }));
        let body_len = shared.body_len();
        Ok(RollForwardTarget {
            shared,
            stream: Some(stream),
            next,
            stamp,
            open_txns,
            max_txn,
            started: false,
            held: None,
            closed_properly: matches!(mb.state, DbState::Clean | DbState::RolledForwardInFlight),
            failed: false,
            before: Vec::with_capacity(body_len),
            reseal: Reseal::new(),
            checkpoint_bytes: opts.checkpoint_bytes.max(1),
            bytes_at_checkpoint: 0,
            in_generation: 0,
            read_ahead_threads: opts.read_ahead_threads,
            read_ahead: None,
            warm: None,
            log_writer: None,
            bytes_at_request: 0,
            log_flush_bytes: opts
                .log_flush_bytes
                .clamp(1, crate::log::MAX_BUFFERED_BYTES as u64),
            log_sync_bytes: opts.log_sync_bytes,
        })
    }

    /// The master block as last written.
    pub fn master(&self) -> MasterBlock {
        *self.shared.master.lock().get()
    }

    /// The database's location.
    pub fn path(&self) -> &DbPath {
        &self.shared.path
    }

    /// The first note sequence the target does not have: notes before it are already in it.
    pub fn next_note_seq(&self) -> NoteSeq {
        NoteSeq(self.next)
    }

    /// The open stamp in effect at [`RollForwardTarget::next_note_seq`]: the master block's,
    /// followed through the `OpenStamp` notes written since.
    pub fn open_stamp(&self) -> OpenStamp {
        self.stamp
    }

    /// Transactions begun and not ended, in id order.
    pub fn open_txns(&self) -> Vec<TxnId> {
        let mut v: Vec<TxnId> = self.open_txns.iter().map(|&t| TxnId(t)).collect();
        v.sort_unstable();
        v
    }

    /// Number of transactions begun and not ended.
    pub fn open_txn_count(&self) -> usize {
        self.open_txns.len()
    }

    /// True once [`RollForwardTarget::start`] has written.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Appends a line to the database's event log.
    pub fn log_event(&self, source: &str, text: &str, number: Option<u32>) {
        self.shared.log_event(source, text, number);
    }

    /// Starts a read-ahead of the target's blocks and returns what feeds it: whoever reads the
    /// after-image file ahead of [`RollForwardTarget::apply`] names each block a coming block
    /// change touches, so `apply` seldom waits for a read. A hint only: what it reads is not
    /// used (every block is still read and verified when applied). Replaces a read-ahead
    /// started before; stops at [`RollForwardTarget::stop_read_ahead`], at a failure and when
    /// the target is finished or dropped. `None` when read-ahead is off (no reader threads
    /// asked for, or none could start), the extents are already being read whole
    /// ([`RollForwardTarget::warm_blocks`]) or the target has failed.
    pub fn block_hints(&mut self) -> Option<BlockHints> {
        self.read_ahead = None;
        if self.read_ahead_threads == 0 || self.failed || self.warm.is_some() {
            return None;
        }
        let buffers = self.shared.pool.frames();
        let config = ReadAheadConfig {
            threads: self.read_ahead_threads,
            recent_slots: (2 * buffers).next_power_of_two().min(1 << 20),
            block_size: self.shared.block_size as usize,
        };
        let (read_ahead, hints) = ReadAhead::start(self.shared.files.block_map(), config)?;
        self.read_ahead = Some(read_ahead);
        Some(hints)
    }

    /// Has the data extents read whole into the operating system's cache in the background,
    /// when they take hints and are no larger in all than the buffer pool (a database that
    /// fits the pool: one sequential read instead of thousands of single blocks), then gives
    /// as many of the pool's frames as the extents hold blocks their memory, so the apply loop
    /// does not take its page faults. The thread runs `first` before it hints the extents (to
    /// hint what is needed sooner: the first notes of the file to apply). Writes nothing, so
    /// it may run while a file is still being checked; once per target (later calls do
    /// nothing, and do not run `first`) unless read-ahead is off.
    pub fn warm_blocks(&mut self, first: impl FnOnce() + Send + 'static) {
        if self.warm.is_some() || self.read_ahead_threads == 0 || self.failed {
            return;
        }
        let block_size = u64::from(self.shared.block_size);
        let pool_bytes = (self.shared.pool.frames() as u64).saturating_mul(block_size);
        let shared = Arc::clone(&self.shared);
        self.warm = Warm::start(
            self.shared.files.block_map(),
            pool_bytes,
            first,
            move |extent_bytes, stop| {
                let blocks = usize::try_from(extent_bytes / block_size).unwrap_or(usize::MAX);
                shared.pool.prepare_buffers(blocks, stop);
            },
        );
    }

    /// Stops the read-ahead, if one runs, and waits for its threads.
    pub fn stop_read_ahead(&mut self) {
        self.read_ahead = None;
    }

    /// True if [`RollForwardTarget::start_held`] may be used: not started, the database
    /// closed cleanly (state `Clean`), its BI holding only its header (no notes, nothing past
    /// them).
    pub fn can_start_held(&self) -> bool {
        if self.started || self.held.is_some() || self.failed {
            return false;
        }
        if self.master().state != DbState::Clean
            || !self.stream.as_ref().is_some_and(|s| s.notes.is_empty())
        {
            return false;
        }
        let bi = self.shared.bi.lock();
        let bi = bi.as_ref().expect("a target has its BI");
        bi.file.len().is_ok_and(|len| len == BI_HEADER_BYTES)
    }

    /// Starts applying without writing to the database, so a file can be applied while it is
    /// still being checked: dirty blocks stay in the buffer pool (a pin that would have to
    /// write one fails with [`Error::PoolHeld`], changing nothing) and notes go to the BI
    /// sealed with a generation its header does not name, so they never verify. Then
    /// [`RollForwardTarget::confirm_start`] makes it a started target, or dropping the target
    /// cuts the BI back to its header, leaving the database as it was. Panics unless
    /// [`RollForwardTarget::can_start_held`].
    pub fn start_held(&mut self) {
        assert!(
            self.can_start_held(),
            "a held start needs a clean, empty target"
        );
        let generation = {
            let bi = self.shared.bi.lock();
            bi.as_ref().expect("a target has its BI").header.generation + HELD_GENERATION_STEP
        };
        self.stream = None;
        self.shared.log.start_generation(generation);
        self.shared.pool.hold_dirty(true);
        self.log_writer = LogWriter::start(Arc::clone(&self.shared), self.log_sync_bytes);
        self.held = Some(Held {
            generation,
            start: NoteSeq(self.next),
        });
    }

    /// True while the start is held (between [`RollForwardTarget::start_held`] and
    /// [`RollForwardTarget::confirm_start`]).
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// Ends a held start: the master block gets `update` and state `RollForwardInProgress`,
    /// then the BI's header names the generation its notes were sealed with (a crash between
    /// leaves notes that do not verify: `retry` applies the file again). From then on the
    /// target is started and writes as usual. Panics unless held and working.
    pub fn confirm_start(&mut self, update: impl FnOnce(&mut MasterBlock)) -> Result<RedoReport> {
        let held = self.held.expect("confirm_start after start_held");
        assert!(!self.failed, "confirm_start of a working target");
        let outcome = self.confirm_inner(held, update);
        match outcome {
            Ok(()) => {
                self.held = None;
                self.started = true;
                self.shared.pool.hold_dirty(false);
                Ok(RedoReport::default())
            }
            Err(e) => {
                self.fail();
                Err(e)
            }
        }
    }

    fn confirm_inner(&mut self, held: Held, update: impl FnOnce(&mut MasterBlock)) -> Result<()> {
        self.shared.master.lock().update(|mb| {
            update(mb);
            mb.state = DbState::RollForwardInProgress;
        })?;
        let mut bi = self.shared.bi.lock();
        bi.as_mut()
            .expect("a target has its BI")
            .adopt_generation(held.generation, held.start)
    }

    /// The first write: the master block gets `update` and state `RollForwardInProgress` in one
    /// atomic update; then the BI is cut after its valid notes, its block changes are redone
    /// with the apply rule (no undo: transactions in flight stay in flight) and a checkpoint
    /// makes the result durable. Panics if called twice.
    pub fn start(&mut self, update: impl FnOnce(&mut MasterBlock)) -> Result<RedoReport> {
        assert!(
            !self.started && self.held.is_none(),
            "a roll forward target starts once"
        );
        let outcome = self.start_inner(update);
        if outcome.is_err() {
            self.fail();
        }
        outcome
    }

    fn start_inner(&mut self, update: impl FnOnce(&mut MasterBlock)) -> Result<RedoReport> {
        self.started = true;
        self.log_writer = LogWriter::start(Arc::clone(&self.shared), self.log_sync_bytes);
        self.shared.master.lock().update(|mb| {
            update(mb);
            mb.state = DbState::RollForwardInProgress;
        })?;
        let stream = self.stream.take().expect("the BI read at open");
        let seed = {
            let bi = self.shared.bi.lock();
            let bi = bi.as_ref().expect("a target has its BI");
            // After a crash, frames of this generation may lie past the valid stream (a torn
            // frame before them), and could come back once new notes are written up to them:
            // cut them off. A database closed properly has no such frame, only bytes of older
            // generations (a BI kept at its size), which never verify: notes are written over
            // them.
            let len = bi.file.len().map_err(Error::io("inspect", &bi.path))?;
            if !self.closed_properly && len != BI_HEADER_BYTES + stream.end as u64 {
                bi.truncate_notes(stream.end as u64)?;
            }
            bi.header.generation
        };
        let mut report = RedoReport {
            notes_read: stream.notes.len() as u64,
            txns_in_flight: self.open_txns.len() as u64,
            ..RedoReport::default()
        };
        let body_len = self.shared.body_len();
        for &(off, h) in &stream.notes {
            if h.kind != NoteKind::BlockChange {
                continue;
            }
            let note = match decode_frame(&stream.bytes[off..], seed) {
                FrameOutcome::Note { note, .. } => note,
                FrameOutcome::End(reason) => {
                    return Err(Error::BiCorrupt {
                        path: self.shared.catalogue.bi_area().extents[0].path.clone(),
                        reason: format!("a note read before no longer decodes: {reason}"),
                    });
                }
            };
            apply::check_ranges(&self.shared, &note, body_len)?;
            if recovery::redo(&self.shared, &note, body_len)? {
                report.notes_redone += 1;
            }
        }
        self.shared.pool.forget_damaged();
        self.checkpoint_inner(|_| {}, None)?;
        Ok(report)
    }

    /// Makes everything applied durable: the BI synced, every dirty block written and synced,
    /// then one master block update (next note sequence and transaction id, the stream's open
    /// stamp, and `update`, e.g. the expected AI sequence); then, if no transaction is in
    /// flight, the BI is reset. Returns whether it was.
    pub fn checkpoint(&mut self, update: impl FnOnce(&mut MasterBlock)) -> Result<bool> {
        assert!(
            self.started && !self.failed,
            "checkpoint of a started target"
        );
        let outcome = self.checkpoint_inner(update, None);
        if outcome.is_err() {
            self.fail();
        }
        outcome
    }

    /// The last checkpoint, with state `Clean` when no transaction is in flight (the BI is then
    /// reset) or `RolledForwardInFlight` (the BI keeps their notes for the next open for use);
    /// then releases the database. Returns the state written. A target never started writes
    /// nothing and returns the state it has.
    pub fn finish(mut self, update: impl FnOnce(&mut MasterBlock)) -> Result<DbState> {
        assert!(
            self.held.is_none(),
            "a held start is confirmed before finish"
        );
        if !self.started {
            return Ok(self.master().state);
        }
        assert!(!self.failed, "finish of a failed target");
        self.read_ahead = None;
        self.warm = None;
        let state = if self.open_txns.is_empty() {
            DbState::Clean
        } else {
            DbState::RolledForwardInFlight
        };
        let outcome = self.checkpoint_inner(update, Some(state));
        if outcome.is_err() {
            self.fail();
        }
        outcome.map(|_| state)
    }

    fn checkpoint_inner(
        &mut self,
        update: impl FnOnce(&mut MasterBlock),
        final_state: Option<DbState>,
    ) -> Result<bool> {
        // The checkpoint runs alone: no flush of the log writer under way.
        if let Some(writer) = &self.log_writer {
            writer.wait_idle();
        }
        let db = &self.shared;
        db.log.flush_all()?;
        db.pool.flush_dirty(&db.files, &db.log)?;
        db.files.sync()?;
        let next = NoteSeq(self.next);
        let stamp = self.stamp;
        let next_txn = self.max_txn + 1;
        db.master.lock().update(|mb| {
            mb.next_note_seq = NoteSeq(mb.next_note_seq.0.max(next.0));
            mb.next_txn_id = TxnId(mb.next_txn_id.0.max(next_txn));
            mb.open_stamp = stamp;
            update(mb);
            mb.state = final_state.unwrap_or(DbState::RollForwardInProgress);
        })?;
        let reset = self.open_txns.is_empty();
        if reset {
            // Kept at its size: the next file's notes are written over it.
            checkpoint::reset_bi(db, next, false)?;
        }
        db.pool.advance_epoch();
        self.bytes_at_checkpoint = db.log.bytes_in_generation();
        self.bytes_at_request = self.bytes_at_checkpoint;
        self.in_generation = self.bytes_at_checkpoint;
        Ok(reset)
    }

    /// After a failure: nothing buffered may reach the disk any more.
    fn fail(&mut self) {
        self.failed = true;
        self.read_ahead = None;
        self.warm = None;
        // A flush under way ends first (it writes only notes applied before the failure).
        self.log_writer = None;
        self.shared.log.fail("roll forward stopped".to_string());
        self.shared.pool.discard_all();
    }
}

impl Drop for RollForwardTarget {
    fn drop(&mut self) {
        // Unfinished (an error, or the caller gave up): write nothing more. The lock file is
        // released with `shared`, after the read-ahead's and the log writer's threads have
        // ended.
        self.read_ahead = None;
        self.warm = None;
        self.log_writer = None;
        self.shared.pool.discard_all();
        if self.held.is_some() {
            // Never confirmed: the BI goes back to its header alone, as it was. If this fails
            // the notes left never verify (their generation is not the header's).
            self.shared.log.fail("roll forward stopped".to_string());
            if let Some(bi) = self.shared.bi.lock().as_ref() {
                let _ = bi.truncate_notes(0);
            }
        }
    }
}

/// `rfutil -C roll opunlock`: clears the roll forward operation lock (`roll forward oplock`)
/// so the database may be opened for update again. Returns whether it was set.
pub fn roll_opunlock(storage: &StorageRef, db: &DbPath) -> Result<bool> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(Error::NoDatabase { path: ctl });
    }
    let _lock = LockFile::acquire(storage, &db.lock_path())?;
    let (mut master, catf) = read_control(storage.as_ref(), db, true)?;
    check_identity(storage.as_ref(), db, catf.get())?;
    if !master.get().flags.rf_oplock {
        return Ok(false);
    }
    master.update(|mb| mb.flags.rf_oplock = false)?;
    crate::eventlog::log_event_in(
        storage.as_ref(),
        db,
        "RFUTIL",
        "roll forward operation lock released (roll opunlock)",
        None,
    );
    Ok(true)
}
