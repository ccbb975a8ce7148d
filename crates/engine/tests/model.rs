//! Property test: random transactions over three tables (commit or rollback), checkpoints, and
//! crashes at random operations followed by reopening, against a `BTreeMap` model.

mod common;

use std::sync::Arc;

use common::*;
use engine::{Database, Error, Txn};
use proptest::prelude::*;
use storage::{CrashMode, Fault, FaultKind, SimStorage, StorageRef};

const TABLES: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, u8, usize),
    Update(usize, u8, usize),
    Delete(usize, u8),
    Get(usize, u8),
}

#[derive(Clone, Debug)]
enum Step {
    Txn(Vec<Op>, bool),
    Checkpoint,
    /// Crash at this many operations from now, during the next transaction, then reopen.
    Crash(u16, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..TABLES.len();
    let k = 0u8..24;
    prop_oneof![
        (t.clone(), k.clone(), 1usize..300).prop_map(|(t, k, n)| Op::Insert(t, k, n)),
        (t.clone(), k.clone(), 1usize..300).prop_map(|(t, k, n)| Op::Update(t, k, n)),
        (t.clone(), k.clone()).prop_map(|(t, k)| Op::Delete(t, k)),
        (t, k).prop_map(|(t, k)| Op::Get(t, k)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (prop::collection::vec(op(), 1..12), prop::bool::weighted(0.75))
            .prop_map(|(ops, commit)| Step::Txn(ops, commit)),
        1 => Just(Step::Checkpoint),
        1 => (0u16..40, any::<bool>()).prop_map(|(n, keep)| Step::Crash(n, keep)),
    ]
}

fn value(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((seed + i) % 26) as u8).collect()
}

/// Applies `ops` in `t`, checking each result against `view` (the model as the transaction
/// sees it). Returns the first engine error that is not an expected outcome.
fn apply(t: &mut Txn<'_>, ops: &[Op], view: &mut Dump, serial: usize) -> Result<(), Error> {
    for (n, op) in ops.iter().enumerate() {
        match *op {
            Op::Insert(ti, k, len) | Op::Update(ti, k, len) => {
                let key = (TABLES[ti].to_string(), format!("k{k}"));
                let v = value(serial * 31 + n, len);
                let exists = view.contains_key(&key);
                let r = if matches!(op, Op::Insert(..)) {
                    t.insert(&key.0, &key.1, &v)
                } else {
                    t.update(&key.0, &key.1, &v)
                };
                match (r, matches!(op, Op::Insert(..)), exists) {
                    (Ok(()), true, false) | (Ok(()), false, true) => {
                        view.insert(key, v);
                    }
                    (Err(Error::DuplicateKey { .. }), true, true) => {}
                    (Err(Error::RecordNotFound { .. }), false, false) => {}
                    (Err(e), _, _) => return Err(e),
                    (Ok(()), _, _) => panic!("{op:?} succeeded against the model"),
                }
            }
            Op::Delete(ti, k) => {
                let key = (TABLES[ti].to_string(), format!("k{k}"));
                match t.delete(&key.0, &key.1) {
                    Ok(()) => assert!(view.remove(&key).is_some(), "{op:?}"),
                    Err(Error::RecordNotFound { .. }) => assert!(!view.contains_key(&key)),
                    Err(e) => return Err(e),
                }
            }
            Op::Get(ti, k) => {
                let key = (TABLES[ti].to_string(), format!("k{k}"));
                let got = t.get(&key.0, &key.1)?;
                assert_eq!(got.as_ref(), view.get(&key), "{op:?}");
            }
        }
    }
    Ok(())
}

fn fresh() -> (SimStorage, engine::DbPath) {
    let (sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage, &db, opts()).unwrap();
    d.create_table("c", Some(masterblock::AreaNo(7))).unwrap();
    d.close().unwrap();
    (sim, db)
}

struct World {
    sim: SimStorage,
    db: engine::DbPath,
    d: Option<Database>,
    model: Dump,
}

impl World {
    fn d(&self) -> &Database {
        self.d.as_ref().expect("open")
    }

    /// Takes a crash image now, reopens it and checks it against the model (or against
    /// `in_flight`, a commit that failed but may have become durable).
    fn crash(&mut self, keep: Option<u64>, in_flight: Option<Dump>, serial: usize) {
        let mode = match keep {
            Some(seed) => CrashMode::KeepRandomSubset { seed },
            None => CrashMode::LoseUnsynced,
        };
        let image = self.sim.crash_image(mode);
        self.d = None;
        self.sim = image;
        let storage: StorageRef = Arc::new(self.sim.clone());
        let d = Database::open(storage, &self.db, opts()).unwrap();
        d.check().unwrap();
        let found = dump(&d);
        assert!(
            found == self.model || in_flight.as_ref() == Some(&found),
            "step {serial}: after the crash the database differs from the model"
        );
        self.model = found;
        self.d = Some(d);
    }
}

fn run(steps: Vec<Step>) {
    let (sim, db) = fresh();
    let storage: StorageRef = Arc::new(sim.clone());
    let d = Database::open(storage, &db, opts()).unwrap();
    let mut w = World {
        sim,
        db,
        d: Some(d),
        model: Dump::new(),
    };
    let mut armed: Option<(u16, bool)> = None;
    for (serial, s) in steps.into_iter().enumerate() {
        let mut in_flight = None;
        match s {
            Step::Crash(n, keep) => {
                w.sim.set_fault(Some(Fault {
                    at_op: w.sim.op_count() + u64::from(n),
                    kind: FaultKind::Crash,
                }));
                armed = Some((n, keep));
                continue;
            }
            Step::Checkpoint => {
                if let Err(e) = w.d().checkpoint() {
                    assert!(w.sim.crashed(), "step {serial}: {e}");
                }
            }
            Step::Txn(ops, commit) => {
                let mut view = w.model.clone();
                let outcome = (|| {
                    let mut t = w.d().begin()?;
                    apply(&mut t, &ops, &mut view, serial)?;
                    if commit { t.commit() } else { t.rollback() }
                })();
                match outcome {
                    Ok(()) if commit => w.model = view,
                    Ok(()) => {}
                    Err(e) => {
                        assert!(w.sim.crashed(), "step {serial}: {e}");
                        if commit {
                            in_flight = Some(view);
                        }
                    }
                }
            }
        }
        if let Some((n, keep)) = armed.take() {
            w.crash(keep.then_some(u64::from(n)), in_flight, serial);
        }
    }
    if let Some((n, keep)) = armed.take() {
        w.crash(keep.then_some(u64::from(n)), None, usize::MAX);
    }
    assert_eq!(dump(w.d()), w.model);
    w.d().check().unwrap();
    let d = w.d.take().unwrap();
    d.close().unwrap();
    let storage: StorageRef = Arc::new(w.sim.clone());
    assert_eq!(reopen_and_dump(&storage, &w.db), w.model);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_transactions_match_the_model(steps in prop::collection::vec(step(), 1..14)) {
        run(steps);
    }
}
