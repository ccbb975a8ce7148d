//! Property: whatever mix of transactions (committed and rolled back), `aimage new` calls,
//! small fixed extents that fill and switch, extents emptied when 3774 stops the database,
//! crashes and reopens, the notes read back from every AI extent in sequence order (those
//! emptied along the way archived first) are, one for one, the notes the engine wrote to the
//! BI (recorded by note sequence through a storage wrapper, the last write of a sequence
//! winning, since a write a crash lost is made again under the same sequence), from the
//! `aimage begin` switch note to the last note; and every acknowledged commit survives.

mod common;

use common::ai::*;
use common::*;
use engine::{Database, DbPath, Error};
use parking_lot::Mutex;
use proptest::prelude::*;
use std::sync::Arc;
use storage::{CrashMode, Fault, FaultKind, SimStorage, StorageRef};

#[derive(Clone, Debug)]
enum Op {
    /// A transaction of `n` inserts into table `a` or `b`, committed or rolled back.
    Txn { b: bool, n: u8, commit: bool },
    /// `aimage new` on the open database.
    AiNew,
    /// Crash at the `after`-th storage operation from now while transactions run.
    Crash { after: u16, keep_random: bool },
    /// Close and open again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 1u8..6, prop::bool::weighted(0.8))
            .prop_map(|(b, n, commit)| Op::Txn { b, n, commit }),
        1 => Just(Op::AiNew),
        2 => (0u16..120, any::<bool>()).prop_map(|(after, keep_random)| Op::Crash { after, keep_random }),
        1 => Just(Op::Reopen),
    ]
}

struct Run {
    sim: SimStorage,
    storage: StorageRef,
    notes: SharedNotes,
    db: DbPath,
    d: Option<Database>,
    parallel: bool,
    /// Committed contents, and the contents if the commit in flight at a crash was made.
    committed: Dump,
    maybe: Option<Dump>,
    archived: Vec<AiNote>,
    counter: usize,
}

impl Run {
    fn open(&mut self) {
        while self.d.is_none() {
            match Database::open(self.storage.clone(), &self.db, ai_opts(self.parallel)) {
                Ok(d) => {
                    let found = dump(&d);
                    assert!(
                        found == self.committed || self.maybe.as_ref() == Some(&found),
                        "contents after reopen are neither the committed nor the in-flight state"
                    );
                    self.committed = found;
                    self.maybe = None;
                    self.d = Some(d);
                }
                Err(e) if e.msg_number() == 3774 => self.empty_oldest(),
                Err(e) => panic!("open: {e}"),
            }
        }
    }

    /// Archives and empties the oldest full extent (the database closed).
    fn empty_oldest(&mut self) {
        assert!(self.d.is_none());
        let before = ai_notes(&self.storage, &self.db);
        engine::aimage_extent_empty(&self.storage, &self.db, None).unwrap();
        let after = ai_notes(&self.storage, &self.db);
        self.archived
            .extend_from_slice(&before[..before.len() - after.len()]);
    }

    /// Closes after a stop (3774): the close fails, nothing more is written.
    fn stopped(&mut self) {
        let d = self.d.take().unwrap();
        assert_eq!(d.close().unwrap_err().msg_number(), 3774);
        self.empty_oldest();
    }

    /// One transaction; `Err` as the engine returned it.
    fn txn(&mut self, b: bool, n: u8, commit: bool) -> Result<(), Error> {
        let table = if b { "b" } else { "a" };
        let d = self.d.as_ref().unwrap();
        let mut t = d.begin()?;
        let mut model = self.committed.clone();
        for _ in 0..n {
            self.counter += 1;
            let k = format!("k{:05}", self.counter);
            let v = vec![b'a' + (self.counter % 26) as u8; 120];
            t.insert(table, &k, &v)?;
            model.insert((table.to_string(), k), v);
        }
        if !commit {
            return t.rollback();
        }
        self.maybe = Some(model.clone());
        t.commit()?;
        self.committed = model;
        self.maybe = None;
        Ok(())
    }

    fn apply(&mut self, op: &Op) {
        self.open();
        match *op {
            Op::Txn { b, n, commit } => match self.txn(b, n, commit) {
                Ok(()) => {}
                Err(e) if e.msg_number() == 3774 => {
                    self.maybe = None;
                    self.stopped();
                }
                Err(e) => panic!("transaction: {e}"),
            },
            Op::AiNew => match self.d.as_ref().unwrap().ai_new() {
                Ok(_) => {}
                Err(e) if e.msg_number() == 3774 => {
                    self.d.take().unwrap().close().unwrap();
                    self.empty_oldest();
                }
                Err(e) => panic!("aimage new: {e}"),
            },
            Op::Reopen => self.d.take().unwrap().close().unwrap(),
            Op::Crash { after, keep_random } => {
                self.sim.set_fault(Some(Fault {
                    at_op: self.sim.op_count() + after as u64,
                    kind: FaultKind::Crash,
                }));
                let mut i = 0u8;
                let stop = loop {
                    i = i.wrapping_add(1);
                    match self.txn(i.is_multiple_of(2), 3, !i.is_multiple_of(5)) {
                        Ok(()) if i < 40 => {}
                        Ok(()) => break None,
                        Err(e) => break Some(e),
                    }
                };
                self.sim.set_fault(None);
                if !self.sim.crashed() {
                    match stop {
                        Some(e) if e.msg_number() == 3774 => {
                            self.maybe = None;
                            self.stopped();
                        }
                        Some(e) => panic!("transaction: {e}"),
                        None => {}
                    }
                    return;
                }
                let d = self.d.take().unwrap();
                drop(d);
                let mode = if keep_random {
                    CrashMode::KeepRandomSubset { seed: after as u64 }
                } else {
                    CrashMode::LoseUnsynced
                };
                self.sim = self.sim.crash_image(mode);
                self.storage = recording(&self.sim, &self.notes);
            }
        }
    }

    /// Opens (emptying extents as needed) and closes cleanly. A commit's block frees may have
    /// needed a switch to a full extent: the commit stands, the database stopped (3774), and
    /// closing reports it; an extent is then emptied and the database opened again.
    fn open_and_close(&mut self) {
        loop {
            self.open();
            match self.d.take().unwrap().close() {
                Ok(()) => return,
                Err(e) if e.msg_number() == 3774 => self.empty_oldest(),
                Err(e) => panic!("close: {e}"),
            }
        }
    }

    fn finish(mut self) {
        self.open_and_close();
        let ai = check_ai(&self.storage, &self.db, &self.notes.lock(), &self.archived);
        let first = self.archived.first().or(ai.first()).unwrap();
        assert_eq!(
            first.kind,
            aiextent::NoteKind::AiSwitch,
            "the AI starts at aimage begin"
        );
        self.open();
        assert_eq!(dump(self.d.as_ref().unwrap()), self.committed);
        self.open_and_close();
    }
}

/// Runs `ops` on a new database with three fixed 48 KiB AI extents, then checks the AI and
/// the contents (see [`Run::finish`]).
fn run_ops(ops: &[Op], parallel: bool) {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, Some(48));
    let mut run = Run {
        sim,
        storage,
        notes,
        db,
        d: None,
        parallel,
        committed: Dump::new(),
        maybe: None,
        archived: Vec::new(),
        counter: 0,
    };
    for op in ops {
        run.apply(op);
    }
    run.finish();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn ai_holds_exactly_the_notes_written(ops in prop::collection::vec(op(), 1..20), parallel in any::<bool>()) {
        run_ops(&ops, parallel);
    }
}

/// A case found by the property test: the last commit's block frees need a switch to a full
/// extent, so the database stops after acknowledging it.
#[test]
fn a_stop_in_a_commits_frees_keeps_the_commit() {
    let ops = [
        Op::Txn {
            b: true,
            n: 2,
            commit: true,
        },
        Op::Crash {
            after: 33,
            keep_random: false,
        },
        Op::AiNew,
        Op::AiNew,
        Op::Crash {
            after: 6,
            keep_random: false,
        },
        Op::Crash {
            after: 73,
            keep_random: false,
        },
        Op::Txn {
            b: true,
            n: 1,
            commit: true,
        },
        Op::Txn {
            b: false,
            n: 5,
            commit: true,
        },
    ];
    run_ops(&ops, false);
}
