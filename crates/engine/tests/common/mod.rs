//! Shared test support for the engine's integration tests: simulated storage, a standard small
//! database, full dumps and structure checks, and the crash-at-every-op driver.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use engine::{Database, DbPath, OpenOptions};
use storage::{CrashMode, Fault, FaultKind, SimStorage, Storage, StorageRef};
use structure::StFile;

/// A full dump: (table, key) to value.
pub type Dump = BTreeMap<(String, String), Vec<u8>>;

/// The database used by most tests: `/db/t.db` on a fresh simulated file system.
pub fn sim_db() -> (SimStorage, StorageRef, DbPath) {
    let sim = SimStorage::new();
    sim.create_dir_all(std::path::Path::new("/db")).unwrap();
    let storage: StorageRef = Arc::new(sim.clone());
    (sim, storage, DbPath::parse("/db/t").unwrap())
}

/// The standard structure: BI, Schema Area and data area 7, all variable.
pub fn st() -> StFile {
    StFile::parse("b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\n").unwrap()
}

/// Small options: few buffers so eviction happens.
pub fn opts() -> OpenOptions {
    OpenOptions {
        buffers: 16,
        ..OpenOptions::default()
    }
}

/// Creates the standard database with 1 KiB blocks and tables `a` (Schema Area) and `b`
/// (area 7).
pub fn create_standard(storage: &StorageRef, db: &DbPath) {
    engine::create_database(storage, db, &st(), 1024).unwrap();
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    d.create_table("a", None).unwrap();
    d.create_table("b", Some(masterblock::AreaNo(7))).unwrap();
    d.close().unwrap();
}

/// Every record of every table.
pub fn dump(db: &Database) -> Dump {
    let mut out = Dump::new();
    let tables = db.tables().unwrap();
    let mut txn = db.begin().unwrap();
    for t in tables {
        txn.scan(&t.name, &mut |k, v| {
            out.insert((t.name.clone(), k.to_string()), v.to_vec());
            true
        })
        .unwrap();
    }
    txn.commit().unwrap();
    out
}

/// Opens `storage`'s database, checks its structure and returns its dump.
pub fn reopen_and_dump(storage: &StorageRef, db: &DbPath) -> Dump {
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    d.check().unwrap();
    let out = dump(&d);
    d.close().unwrap();
    out
}

/// The crash images to check after a fault at one op.
pub fn images(sim: &SimStorage, op: u64) -> Vec<SimStorage> {
    vec![
        sim.crash_image(CrashMode::LoseUnsynced),
        sim.crash_image(CrashMode::KeepRandomSubset { seed: op }),
        sim.crash_image(CrashMode::KeepRandomSubset {
            seed: op.wrapping_mul(0x9e37_79b9) + 1,
        }),
    ]
}

/// What a run of some work reached: the successive states it tried to commit (the first is
/// the state it started from) and how many of them were acknowledged (`states[..=acked]` are
/// the start and acknowledged states; `states[acked + 1]`, if any, was in flight).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub states: Vec<Dump>,
    pub acked: usize,
}

impl Outcome {
    /// Starts from `initial`.
    pub fn new(initial: Dump) -> Outcome {
        Outcome {
            states: vec![initial],
            acked: 0,
        }
    }

    /// Checks that `found` is the last acknowledged state or the in-flight one.
    pub fn check(&self, found: &Dump, context: &str) {
        let ok = self.states[self.acked..].iter().any(|s| s == found);
        if !ok {
            let last = &self.states[self.acked];
            let missing: Vec<_> = last
                .keys()
                .filter(|k| !found.contains_key(*k))
                .take(5)
                .collect();
            let extra: Vec<_> = found
                .keys()
                .filter(|k| !last.contains_key(*k))
                .take(5)
                .collect();
            panic!(
                "{context}: state differs from every allowed one (acked {} of {}); vs last acked: missing {missing:?}, extra {extra:?}",
                self.acked,
                self.states.len() - 1
            );
        }
    }
}

/// Restricts a dump to one table.
pub fn only(d: &Dump, table: &str) -> Dump {
    d.iter()
        .filter(|((t, _), _)| t == table)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Runs `work` on a copy of `base` once per op index it performs, crashing there (and tearing
/// writes), and calls `check` on each crash image with the op index.
pub fn crash_every_op<W, C, T>(base: &SimStorage, work: W, check: C)
where
    W: Fn(&StorageRef) -> T,
    C: Fn(&StorageRef, &T, u64),
{
    let probe = base.crash_image(CrashMode::LoseUnsynced);
    let start = probe.op_count();
    let probe_ref: StorageRef = Arc::new(probe.clone());
    work(&probe_ref);
    drop(probe_ref);
    let total = probe.op_count() - start;
    assert!(total > 0, "the work performs no operation");
    for i in 0..total {
        for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
            let sim = base.crash_image(CrashMode::LoseUnsynced);
            sim.set_fault(Some(Fault {
                at_op: sim.op_count() + i,
                kind,
            }));
            let r: StorageRef = Arc::new(sim.clone());
            let reached = work(&r);
            drop(r);
            for image in images(&sim, i) {
                let img: StorageRef = Arc::new(image);
                check(&img, &reached, i);
            }
        }
    }
}

pub mod ai;
