//! [`Database`]: opening (identity checks, crash recovery), beginning transactions (with the
//! automatic checkpoint hold), checkpoints and closing.
//!
//! Invariants: a database is open at most once at a time (the `.lk` lock); opening for update
//! writes the master block once (state Open, new open stamp) and closing checkpoints, resets
//! the BI and writes state Clean; a read-only open writes nothing to the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use masterblock::{AreaNo, DbState, MasterBlock, MasterBlockFile, TxnId};
use parking_lot::{Condvar, Mutex, RwLock};
use storage::StorageRef;
use structure::Catalogue;

use crate::ai::AiSwitched;
use crate::bi::BiFile;
use crate::error::{Error, Result};
use crate::extent::DataFiles;
use crate::lockfile::LockFile;
use crate::locks::LockManager;
use crate::log::{BiSink, LogManager};
use crate::path::DbPath;
use crate::pool::Pool;
use crate::tables::TableInfo;
use crate::txn::Txn;

/// How to open a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// Reads and changes.
    ReadWrite,
    /// Reads only; nothing is written to the database.
    ReadOnly,
}

/// Options of [`Database::open`].
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Read-write or read-only.
    pub access: AccessMode,
    /// Buffer pool size in blocks (`-B`); at least 16 are used.
    pub buffers: usize,
    /// Bytes of notes in the BI after which a checkpoint (with BI reset) is attempted.
    pub bi_checkpoint_bytes: u64,
    /// Size limit of a variable AI extent, header region included (`None`: 2 GiB). Rounded
    /// down to whole KiB and kept within 8 KiB and 2 GiB; a smaller value makes variable
    /// extents fill and switch sooner (for tests).
    pub ai_variable_limit_bytes: Option<u64>,
    /// While after-imaging is on, write and sync the AI on a thread of its own, in parallel
    /// with the BI (default). `false` writes the AI after the BI on the committing thread, so
    /// that every write happens in the same order on every run.
    pub ai_parallel_sync: bool,
    /// `-aistall`: when a switch finds the next AI extent not Empty, writers wait (3775 and
    /// 3776 in the event log) until an extent is emptied ([`Database::ai_extent_empty`]) instead
    /// of the database stopping with 3774.
    pub ai_stall: bool,
    /// `Some(socket)` when a server opens the database: the lock file then says `mode server`
    /// and names the socket its clients connect to. `None` (default): `mode single-user`.
    pub server_socket: Option<std::path::PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            access: AccessMode::ReadWrite,
            buffers: 4096,
            bi_checkpoint_bytes: 64 << 20,
            ai_variable_limit_bytes: None,
            ai_parallel_sync: true,
            ai_stall: false,
            server_socket: None,
        }
    }
}

/// Engine counters since open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Transactions committed.
    pub commits: u64,
    /// Transactions rolled back.
    pub rollbacks: u64,
    /// Notes appended to the log.
    pub notes: u64,
    /// Bytes of notes appended.
    pub log_bytes: u64,
    /// Log write-and-sync rounds (group commits).
    pub log_syncs: u64,
    /// Data blocks written to extents.
    pub blocks_written: u64,
    /// Checkpoints taken.
    pub checkpoints: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub commits: AtomicU64,
    pub rollbacks: AtomicU64,
    pub checkpoints: AtomicU64,
}

/// Transactions in progress and the hold used by the automatic checkpoint.
pub(crate) struct Gate {
    pub active: usize,
    pub holding: bool,
    pub next_txn: u64,
}

/// Everything an open database shares between threads.
pub(crate) struct Shared {
    pub storage: StorageRef,
    pub path: DbPath,
    pub block_size: u32,
    pub read_only: bool,
    pub catalogue: Catalogue,
    pub master: Arc<Mutex<MasterBlockFile>>,
    pub files: DataFiles,
    pub bi: Mutex<Option<BiFile>>,
    pub bi_sink: Option<std::sync::Arc<BiSink>>,
    pub log: LogManager,
    pub pool: Pool,
    pub locks: LockManager,
    /// Held shared by every block change, exclusively by a checkpoint.
    pub change_gate: RwLock<()>,
    pub gate: Mutex<Gate>,
    pub gate_cv: Condvar,
    alloc_locks: Vec<(AreaNo, Mutex<()>)>,
    pub stats: Counters,
    pub bi_checkpoint_bytes: u64,
    pub retry_checkpoint_at: Mutex<Option<Instant>>,
    pub closed: AtomicBool,
    pub lock_file: Mutex<Option<LockFile>>,
    /// What crash recovery did at open, if it ran.
    pub recovery: Mutex<Option<crate::recovery::RecoveryReport>>,
}

impl Shared {
    /// Takes the change gate for a change to start (a block change, `aimage new`), first
    /// waiting out a quiet point: its enable sets the flag and then takes the gate exclusively,
    /// so a change that holds the gate goes on and one that finds the flag waits without it.
    pub(crate) fn enter_change(&self) -> parking_lot::RwLockReadGuard<'_, ()> {
        loop {
            let gate = self.change_gate.read();
            if !self.log.is_quiet() {
                return gate;
            }
            drop(gate);
            self.log.wait_not_quiet();
        }
    }

    /// `Err(ReadOnly)` on a read-only open.
    pub(crate) fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Bytes of a block body.
    pub(crate) fn body_len(&self) -> usize {
        self.block_size as usize - crate::block::HEADER_BYTES
    }

    /// The allocation mutex of a data area.
    pub(crate) fn alloc_lock(&self, area: AreaNo) -> &Mutex<()> {
        &self
            .alloc_locks
            .iter()
            .find(|(a, _)| *a == area)
            .expect("allocation only in data areas")
            .1
    }

    /// A transaction ended: leave the active set.
    pub(crate) fn end_txn(&self) {
        let mut gate = self.gate.lock();
        gate.active -= 1;
        drop(gate);
        self.gate_cv.notify_all();
    }

    pub(crate) fn log_event(&self, source: &str, text: &str, number: Option<u32>) {
        crate::eventlog::log_event_in(self.storage.as_ref(), &self.path, source, text, number);
    }
}

/// Parts assembled by `open` before the database exists.
pub(crate) struct Parts {
    pub storage: StorageRef,
    pub path: DbPath,
    pub read_only: bool,
    pub catalogue: Catalogue,
    pub master: Arc<Mutex<MasterBlockFile>>,
    pub files: DataFiles,
    pub bi: Option<BiFile>,
    pub bi_sink: Option<std::sync::Arc<BiSink>>,
    pub log: LogManager,
    pub opts: OpenOptions,
    pub next_txn: u64,
    pub lock_file: LockFile,
}

impl Shared {
    pub(crate) fn assemble(p: Parts) -> Shared {
        let block_size = p.master.lock().get().block_size;
        let alloc_locks = p
            .catalogue
            .data_areas()
            .map(|a| (a.number, Mutex::new(())))
            .collect();
        Shared {
            storage: p.storage,
            path: p.path,
            block_size,
            read_only: p.read_only,
            catalogue: p.catalogue,
            master: p.master,
            files: p.files,
            bi: Mutex::new(p.bi),
            bi_sink: p.bi_sink,
            log: p.log,
            pool: Pool::new(p.opts.buffers.max(16), block_size),
            locks: LockManager::default(),
            change_gate: RwLock::new(()),
            gate: Mutex::new(Gate {
                active: 0,
                holding: false,
                next_txn: p.next_txn,
            }),
            gate_cv: Condvar::new(),
            alloc_locks,
            stats: Counters::default(),
            bi_checkpoint_bytes: p.opts.bi_checkpoint_bytes,
            retry_checkpoint_at: Mutex::new(None),
            closed: AtomicBool::new(false),
            lock_file: Mutex::new(Some(p.lock_file)),
            recovery: Mutex::new(None),
        }
    }

    /// Starts a transaction, first taking an automatic checkpoint if the BI is large. Refused
    /// once a full AI extent stopped the database.
    pub(crate) fn begin_id(&self) -> Result<TxnId> {
        self.log.check_running()?;
        self.maybe_checkpoint();
        let mut gate = self.gate.lock();
        while gate.holding {
            self.gate_cv.wait(&mut gate);
        }
        let id = TxnId(gate.next_txn);
        gate.next_txn += 1;
        gate.active += 1;
        Ok(id)
    }

    /// Holds new transactions, waits up to 2 s for the active ones to end, and checkpoints
    /// with a BI reset if they did; otherwise tries again a second later.
    fn maybe_checkpoint(&self) {
        if self.read_only || self.log.bytes_in_generation() < self.bi_checkpoint_bytes {
            return;
        }
        {
            let retry = self.retry_checkpoint_at.lock();
            if retry.is_some_and(|at| Instant::now() < at) {
                return;
            }
        }
        let mut gate = self.gate.lock();
        if gate.holding {
            return;
        }
        gate.holding = true;
        let deadline = Instant::now() + Duration::from_secs(2);
        while gate.active > 0 {
            if self.gate_cv.wait_until(&mut gate, deadline).timed_out() {
                break;
            }
        }
        let idle = gate.active == 0;
        drop(gate);
        if idle {
            // A failure poisons the log; the next commit reports it.
            let _ = crate::checkpoint::checkpoint(self, false);
            *self.retry_checkpoint_at.lock() = None;
        } else {
            *self.retry_checkpoint_at.lock() = Some(Instant::now() + Duration::from_secs(1));
        }
        self.gate.lock().holding = false;
        self.gate_cv.notify_all();
    }

    /// Checkpoints, marks the database clean and releases the lock (once).
    pub(crate) fn shutdown(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let outcome = if self.read_only {
            Ok(())
        } else if let Some(error) = self.log.failure() {
            // After an AI stop, the notes before it still go out; no checkpoint.
            let _ = self.log.flush_all();
            self.pool.discard_all();
            self.log.abandon_ai();
            Err(error)
        } else {
            let r = crate::checkpoint::checkpoint(self, true)
                .map(|_| ())
                .and_then(|()| self.log.close_ai());
            if r.is_err() {
                self.log.abandon_ai();
            }
            if r.is_ok() {
                self.log_event("engine", "database closed", None);
            }
            r
        };
        self.lock_file.lock().take();
        outcome
    }
}

/// An open database. `Send + Sync`: share it by reference between threads.
pub struct Database {
    pub(crate) shared: Shared,
}

impl Database {
    /// Opens the database at `db` (crash recovery first when opened for update).
    pub fn open(storage: StorageRef, db: &DbPath, opts: OpenOptions) -> Result<Database> {
        let socket = opts.server_socket.clone();
        let database = crate::open::open(storage, db, opts).map(|shared| Database { shared })?;
        if let Some(socket) = socket
            && let Some(lock) = database.shared.lock_file.lock().as_ref()
        {
            lock.mark_server(&socket)?;
        }
        Ok(database)
    }

    /// Starts a transaction.
    pub fn begin(&self) -> Result<Txn<'_>> {
        let id = self.shared.begin_id()?;
        Ok(Txn::new(&self.shared, id))
    }

    /// Creates a table in its own transaction.
    pub fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<()> {
        let mut txn = self.begin()?;
        txn.create_table(name, area)?;
        txn.commit()
    }

    /// Every table, sorted by name.
    pub fn tables(&self) -> Result<Vec<TableInfo>> {
        let mut txn = self.begin()?;
        let list = txn.list_tables()?;
        txn.commit()?;
        Ok(list)
    }

    /// The master block as last written.
    pub fn master(&self) -> MasterBlock {
        *self.shared.master.lock().get()
    }

    /// The catalogue of areas and extents.
    pub fn catalogue(&self) -> Catalogue {
        self.shared.catalogue.clone()
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> u32 {
        self.shared.block_size
    }

    /// Flushes the log and every dirty block, syncs, and records the counters in the master
    /// block; resets the BI when no transaction is active.
    pub fn checkpoint(&self) -> Result<()> {
        self.shared.writable()?;
        self.shared.log.check_running()?;
        crate::checkpoint::checkpoint(&self.shared, false).map(|_| ())
    }

    /// Checkpoints, resets the BI, marks the database clean and releases it.
    pub fn close(self) -> Result<()> {
        self.shared.shutdown()
    }

    /// Counters since open.
    pub fn stats(&self) -> EngineStats {
        let s = &self.shared;
        let log = s.log.counters();
        EngineStats {
            commits: s.stats.commits.load(Ordering::Relaxed),
            rollbacks: s.stats.rollbacks.load(Ordering::Relaxed),
            notes: log.notes,
            log_bytes: log.bytes,
            log_syncs: log.syncs,
            blocks_written: s.pool.blocks_written(),
            checkpoints: s.stats.checkpoints.load(Ordering::Relaxed),
        }
    }

    /// Appends a line to the database's event log (`.lg`).
    pub fn log_event(&self, source: &str, text: &str, number: Option<u32>) {
        self.shared.log_event(source, text, number);
    }

    /// The database's location.
    pub fn path(&self) -> &DbPath {
        &self.shared.path
    }

    /// Checks the structure of every table's B+tree and of the table catalogue.
    pub fn check(&self) -> Result<()> {
        crate::open::check_trees(&self.shared)
    }

    /// `rfutil aimage new`: the busy AI extent becomes Full and the next one Busy with the
    /// next AI sequence, once every note so far is durable; returns what switched. Refused,
    /// changing nothing: after-imaging off (90317), a single AI extent (90318), or the next
    /// extent not Empty ([`Error::AiExtentFull`], 3774; unlike a switch a full extent needs,
    /// this does not stop the database).
    pub fn ai_new(&self) -> Result<AiSwitched> {
        self.shared.writable()?;
        // Held out of a checkpoint, which resets the BI only with every note flushed, and out
        // of a quiet point.
        let changes = self.shared.enter_change();
        let (switched, seq) = self.shared.log.ai_switch()?;
        drop(changes);
        self.shared.log.flush_to(seq)?;
        Ok(switched)
    }

    /// `rfutil aimage extent empty` while the database is open: marks extent `which` (default:
    /// the oldest Full) Empty, durably, and lets a switch use it again; writers stalled on a
    /// full extent (`-aistall`) go on. Refused, changing nothing, with after-imaging off or
    /// an extent that is not Full. Returns the extent's number.
    pub fn ai_extent_empty(&self, which: Option<crate::AiExtentSelector>) -> Result<u32> {
        self.shared.writable()?;
        let ai = self
            .shared
            .log
            .ai()
            .ok_or(Error::Note(aiextent::Error::AiNotEnabled))?;
        let number = match which {
            None => None,
            Some(crate::AiExtentSelector::Number(n)) => Some(n),
            Some(crate::AiExtentSelector::Path(path)) => Some(crate::ai::number_of_path(
                &self.shared.storage,
                &self.shared.catalogue,
                &path,
            )?),
        };
        let emptied = {
            let mut set = ai.set.lock();
            let set = set
                .as_mut()
                .ok_or(Error::Note(aiextent::Error::AiNotEnabled))?;
            set.empty(number)?
        };
        self.shared.log.ai_extent_emptied(emptied);
        let path = crate::ai::extent_path(&self.shared.catalogue, emptied).unwrap_or_default();
        self.log_event(
            "AIMAGE",
            &format!(
                "after-image extent {emptied} ({}) marked empty",
                path.display()
            ),
            None,
        );
        Ok(emptied)
    }

    /// Turns `-aistall` on or off while the database is open (the archiver implies it): with
    /// it, a writer that finds the next AI extent not Empty waits instead of stopping the log.
    pub fn set_ai_stall(&self, on: bool) {
        self.shared.log.set_ai_stall(on);
    }

    /// Writers waiting now for an Empty AI extent (`-aistall`).
    pub fn ai_stalled_writers(&self) -> u32 {
        self.shared.log.stalled()
    }

    /// The AI extents, as the open database has them (empty when there are none).
    pub fn ai_extents(&self) -> Result<Vec<aiextent::ExtentInfo>> {
        if let Some(ai) = self.shared.log.ai()
            && let Some(set) = ai.set.lock().as_ref()
        {
            return Ok(set.extents());
        }
        let db_id = self.shared.master.lock().get().db_id;
        crate::ai::read_extents(&self.shared.storage, &self.shared.catalogue, db_id)
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Database>();
};

impl Drop for Database {
    fn drop(&mut self) {
        let _ = self.shared.shutdown();
    }
}

/// The state name for messages.
pub(crate) fn state_name(state: DbState) -> &'static str {
    match state {
        DbState::Clean => "clean",
        DbState::Open => "open or crashed",
        DbState::RollForwardInProgress => "roll forward in progress",
        DbState::RolledForwardInFlight => "rolled forward with transactions in flight",
        DbState::Restoring => "restore in progress or cut short",
    }
}
