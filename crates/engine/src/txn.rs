//! Transactions: the public [`Txn`] handle and its state (locks held, undo log, blocks
//! allocated and freed).
//!
//! Invariants: a transaction's begin note is logged before its first change (lazily, so a
//! transaction that changes nothing writes nothing); every operation is atomic: if it fails
//! part way its changes are undone with compensation notes before the error is returned; a
//! deadlock victim is rolled back at once and its locks released; commit appends the commit
//! note, frees the blocks the transaction gave back, releases its locks, then waits until the
//! log is durable up to the commit note; an unfinished transaction is rolled back on drop.

use aiextent::NoteKind;
use btree::{BTree, PutMode, PutOutcome};
use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId};

use crate::alloc;
use crate::change::{ChangeCtx, Scratch, UndoLog, apply_undo, change};
use crate::db::Shared;
use crate::error::{Error, Result};
use crate::locks::{Mode, Resource};
use crate::store::{TxnStore, tree_error};
use crate::tables::{self, TableInfo};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Active,
    /// Rolled back (deadlock victim); only commit/rollback/drop remain.
    Aborted,
    Finished,
}

/// The state of one transaction.
pub(crate) struct TxnState {
    pub id: TxnId,
    begin_time: i64,
    logged_begin: bool,
    status: Status,
    held: Vec<(Resource, Mode)>,
    pub tables: Vec<TableInfo>,
    pub undo: UndoLog,
    pub allocated: Vec<(AreaNo, BlockNo)>,
    pub pending_free: Vec<(AreaNo, BlockNo)>,
    pub scratch: Scratch,
}

impl TxnState {
    pub(crate) fn new(id: TxnId) -> TxnState {
        TxnState {
            id,
            begin_time: masterblock::now_micros(),
            logged_begin: false,
            status: Status::Active,
            held: Vec::new(),
            tables: Vec::new(),
            undo: UndoLog::default(),
            allocated: Vec::new(),
            pending_free: Vec::new(),
            scratch: Scratch::default(),
        }
    }

    /// Logs the begin note before the first change.
    pub(crate) fn log_begin(&mut self, db: &Shared) -> Result<()> {
        db.writable()?;
        if !self.logged_begin {
            db.log
                .append_marker(NoteKind::TxBegin, self.id, self.begin_time as u64)?;
            self.logged_begin = true;
        }
        Ok(())
    }

    /// Takes `res` in `mode` (or stronger) until the transaction ends.
    pub(crate) fn lock(&mut self, db: &Shared, res: Resource, mode: Mode) -> Result<()> {
        if self.held.iter().any(|(r, m)| *r == res && *m >= mode) {
            return Ok(());
        }
        db.locks
            .lock(self.id, &res, mode)
            .map_err(|_| Error::Deadlock { txn: self.id })?;
        match self.held.iter_mut().find(|(r, _)| *r == res) {
            Some((_, m)) => *m = mode,
            None => self.held.push((res, mode)),
        }
        Ok(())
    }

    /// Undoes changes back to `mark` with compensation notes.
    fn undo_to(&mut self, db: &Shared, mark: usize) -> Result<()> {
        while self.undo.changes.len() > mark {
            let rec = *self.undo.changes.last().expect("len > mark");
            let ctx = ChangeCtx {
                txn: self.id,
                compensation: true,
                aux: rec.seq.0,
            };
            let arena = &self.undo.arena[rec.start..rec.end];
            change(
                db,
                &mut self.scratch,
                ctx,
                None,
                rec.area,
                rec.block,
                |body| apply_undo(arena, body),
            )?;
            self.undo.truncate(self.undo.changes.len() - 1);
        }
        Ok(())
    }

    /// Frees the blocks allocated from index `mark` on (their bodies are back to zeros).
    fn free_allocated_from(&mut self, db: &Shared, mark: usize) {
        let blocks: Vec<_> = self.allocated.drain(mark..).collect();
        for (area, block) in blocks {
            // A block that cannot be freed stays allocated but unused.
            let _ = alloc::free(db, &mut self.scratch, area, block);
        }
    }

    /// Rolls the whole transaction back and ends it.
    fn rollback_all(&mut self, db: &Shared) -> Result<()> {
        let mut outcome = self.undo_to(db, 0);
        if outcome.is_ok() && self.logged_begin {
            outcome = db
                .log
                .append_marker(
                    NoteKind::TxRollback,
                    self.id,
                    masterblock::now_micros() as u64,
                )
                .map(|_| ());
        }
        if let Err(e) = &outcome {
            // Memory now holds changes that can be neither kept nor undone: stop making
            // anything durable; reopening the database rolls the transaction back.
            db.log
                .fail(format!("rollback of transaction {} failed: {e}", self.id));
        } else {
            self.free_allocated_from(db, 0);
        }
        self.pending_free.clear();
        self.end(db);
        db.stats
            .rollbacks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        outcome
    }

    /// Releases locks and leaves the active set.
    fn end(&mut self, db: &Shared) {
        let resources: Vec<Resource> = self.held.drain(..).map(|(r, _)| r).collect();
        db.locks.release_all(self.id, &resources);
        db.end_txn();
    }
}

/// A transaction on a [`crate::Database`]. Dropping an unfinished one rolls it back.
pub struct Txn<'db> {
    db: &'db Shared,
    st: TxnState,
}

impl<'db> Txn<'db> {
    pub(crate) fn new(db: &'db Shared, id: TxnId) -> Txn<'db> {
        Txn {
            db,
            st: TxnState::new(id),
        }
    }

    /// The transaction id.
    pub fn id(&self) -> TxnId {
        self.st.id
    }

    /// Runs one operation atomically: on error its own changes are undone.
    fn op<R>(&mut self, f: impl FnOnce(&Shared, &mut TxnState) -> Result<R>) -> Result<R> {
        match self.st.status {
            Status::Active => {}
            Status::Aborted | Status::Finished => {
                return Err(Error::TxnAborted { txn: self.st.id });
            }
        }
        let marks = (
            self.st.undo.changes.len(),
            self.st.allocated.len(),
            self.st.pending_free.len(),
        );
        let outcome = f(self.db, &mut self.st);
        if let Err(e) = &outcome {
            if matches!(e, Error::Deadlock { .. }) {
                let _ = self.st.rollback_all(self.db);
                self.st.status = Status::Aborted;
            } else if self.st.undo.changes.len() > marks.0 || self.st.allocated.len() > marks.1 {
                if self.st.undo_to(self.db, marks.0).is_ok() {
                    self.st.free_allocated_from(self.db, marks.1);
                    self.st.pending_free.truncate(marks.2);
                } else {
                    let _ = self.st.rollback_all(self.db);
                    self.st.status = Status::Aborted;
                }
            }
        }
        outcome
    }

    /// The value of `key` in `table` (shared lock on the table).
    pub fn get(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(table, key, Mode::Shared)
    }

    /// The value of `key`, taking the exclusive lock for a later change.
    pub fn get_for_update(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(table, key, Mode::Exclusive)
    }

    fn read(&mut self, table: &str, key: &str, mode: Mode) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        self.op(|db, st| {
            let t = tables::resolve(db, st, table, mode)?;
            let mut store = TxnStore {
                db,
                st,
                area: t.area,
            };
            BTree::get(&mut store, t.root.0, key.as_bytes())
                .map_err(|e| tree_error(table, db.block_size, e))
        })
    }

    /// Adds a record; [`Error::DuplicateKey`] if the key exists.
    pub fn insert(&mut self, table: &str, key: &str, value: &[u8]) -> Result<()> {
        match self.put(table, key, value, PutMode::Insert)? {
            PutOutcome::KeyExists => Err(Error::DuplicateKey {
                table: table.to_string(),
                key: key.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Replaces a record's value; [`Error::RecordNotFound`] if the key does not exist.
    pub fn update(&mut self, table: &str, key: &str, value: &[u8]) -> Result<()> {
        match self.put(table, key, value, PutMode::Update)? {
            PutOutcome::NotFound => Err(Error::RecordNotFound {
                table: table.to_string(),
                key: key.to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn put(&mut self, table: &str, key: &str, value: &[u8], mode: PutMode) -> Result<PutOutcome> {
        validate_key(key)?;
        let body_len = self.db.body_len();
        let max_key = BTree::max_key_len(body_len);
        if key.len() > max_key {
            return Err(Error::KeyTooLong {
                len: key.len(),
                max: max_key,
            });
        }
        let max = BTree::max_record_len(body_len);
        let len = key.len() + value.len();
        if len > max {
            return Err(Error::RecordTooLarge {
                len,
                max,
                block_size: self.db.block_size,
            });
        }
        self.op(|db, st| {
            let t = tables::resolve(db, st, table, Mode::Exclusive)?;
            let mut store = TxnStore {
                db,
                st,
                area: t.area,
            };
            BTree::put(&mut store, t.root.0, key.as_bytes(), value, mode)
                .map_err(|e| tree_error(table, db.block_size, e))
        })
    }

    /// Removes a record; [`Error::RecordNotFound`] if the key does not exist.
    pub fn delete(&mut self, table: &str, key: &str) -> Result<()> {
        validate_key(key)?;
        let found = self.op(|db, st| {
            let t = tables::resolve(db, st, table, Mode::Exclusive)?;
            let mut store = TxnStore {
                db,
                st,
                area: t.area,
            };
            BTree::delete(&mut store, t.root.0, key.as_bytes())
                .map_err(|e| tree_error(table, db.block_size, e))
        })?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::RecordNotFound {
                table: table.to_string(),
                key: key.to_string(),
            }),
        }
    }

    /// Visits every record of `table` in key order until `f` returns false (shared lock).
    pub fn scan(&mut self, table: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<()> {
        self.op(|db, st| {
            let t = tables::resolve(db, st, table, Mode::Shared)?;
            let mut bad_key = None;
            let mut store = TxnStore {
                db,
                st,
                area: t.area,
            };
            BTree::scan(
                &mut store,
                t.root.0,
                b"",
                |k, v| match std::str::from_utf8(k) {
                    Ok(k) => f(k, v),
                    Err(_) => {
                        bad_key = Some(k.to_vec());
                        false
                    }
                },
            )
            .map_err(|e| tree_error(table, db.block_size, e))?;
            match bad_key {
                None => Ok(()),
                Some(k) => Err(Error::TreeCorrupt {
                    table: table.to_string(),
                    page: 0,
                    reason: format!("key {k:?} is not UTF-8"),
                }),
            }
        })
    }

    /// Creates a table in `area` (the Schema Area if `None`).
    pub fn create_table(&mut self, name: &str, area: Option<AreaNo>) -> Result<()> {
        self.op(|db, st| tables::create(db, st, name, area))
    }

    /// The tables, sorted by name (shared lock on the table catalogue).
    pub(crate) fn list_tables(&mut self) -> Result<Vec<TableInfo>> {
        self.op(tables::list)
    }

    /// Commits: returns `Ok` only once the commit is durable.
    pub fn commit(mut self) -> Result<()> {
        let db = self.db;
        if self.st.status != Status::Active {
            self.st.status = Status::Finished;
            return Err(Error::TxnAborted { txn: self.st.id });
        }
        self.st.status = Status::Finished;
        let upto = if self.st.logged_begin {
            let seq = match db.log.append_marker(
                NoteKind::TxCommit,
                self.st.id,
                masterblock::now_micros() as u64,
            ) {
                Ok(seq) => seq,
                Err(e) => {
                    // The log stopped (a full AI extent): the commit is not made; reopening
                    // the database rolls the transaction back.
                    self.st.end(db);
                    return Err(e);
                }
            };
            let frees: Vec<_> = self.st.pending_free.drain(..).collect();
            for (area, block) in frees {
                // A block that cannot be freed stays allocated but unused.
                let _ = alloc::free(db, &mut self.st.scratch, area, block);
            }
            seq
        } else {
            // Nothing written; still wait for what this transaction may have read.
            NoteSeq(db.log.next_seq().0 - 1)
        };
        self.st.end(db);
        db.stats
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        db.log.commit_to(upto)
    }

    /// Rolls back every change of the transaction.
    pub fn rollback(mut self) -> Result<()> {
        match self.st.status {
            Status::Active => {
                self.st.status = Status::Finished;
                self.st.rollback_all(self.db)
            }
            Status::Aborted | Status::Finished => {
                self.st.status = Status::Finished;
                Ok(())
            }
        }
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if self.st.status == Status::Active {
            self.st.status = Status::Finished;
            let _ = self.st.rollback_all(self.db);
        }
    }
}

/// Checks a key: non-empty, no TAB or newline.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    let reason = if key.is_empty() {
        "a key cannot be empty"
    } else if key.contains(['\t', '\n', '\r']) {
        "a key cannot hold a TAB or a line break"
    } else {
        return Ok(());
    };
    Err(Error::InvalidKey {
        key: key.to_string(),
        reason,
    })
}
