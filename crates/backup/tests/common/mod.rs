//! Shared support for the backup tests: small databases on the simulated file system, their
//! contents, snapshots of every file, and the crash images to check.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::{Database, DbPath, OpenOptions};
use storage::{CrashMode, SimStorage, Storage, StorageRef};
use structure::StFile;

/// Every record: (table, key) to value.
pub type Dump = BTreeMap<(String, String), Vec<u8>>;

/// The structure of the test databases: BI, Schema Area and data area 7, all variable.
pub const ST: &str = "b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\n";

/// A simulated machine with `/src`, `/dst` and `/bk`.
pub fn machine() -> (SimStorage, StorageRef) {
    let sim = SimStorage::new();
    for dir in ["/src", "/dst", "/bk", "/other"] {
        sim.create_dir_all(Path::new(dir)).unwrap();
    }
    let storage: StorageRef = Arc::new(sim.clone());
    (sim, storage)
}

/// `/src/s`, the database backed up.
pub fn src() -> DbPath {
    DbPath::parse("/src/s").unwrap()
}

/// `/dst/d`, the database restored into.
pub fn dst() -> DbPath {
    DbPath::parse("/dst/d").unwrap()
}

/// A backup file path in `/bk`.
pub fn bk(name: &str) -> PathBuf {
    Path::new("/bk").join(name)
}

/// Small buffer pool so blocks are written often.
pub fn opts() -> OpenOptions {
    OpenOptions {
        buffers: 16,
        ..OpenOptions::default()
    }
}

/// Creates `db` from `st` with 1 KiB blocks.
pub fn create(storage: &StorageRef, db: &DbPath, st: &str) {
    engine::create_database(storage, db, &StFile::parse(st).unwrap(), 1024).unwrap();
}

/// Creates the source with tables `a` (Schema Area) and `b` (area 7) holding `rows` rows each.
pub fn source(storage: &StorageRef, rows: u32) {
    create(storage, &src(), ST);
    let d = Database::open(storage.clone(), &src(), opts()).unwrap();
    d.create_table("a", None).unwrap();
    d.create_table("b", Some(masterblock::AreaNo(7))).unwrap();
    d.close().unwrap();
    change(storage, &src(), 0, rows);
}

/// Inserts or updates rows `from..to` of tables `a` and `b` (value depends on `from`).
pub fn change(storage: &StorageRef, db: &DbPath, from: u32, to: u32) {
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    let mut txn = d.begin().unwrap();
    for i in from..to {
        for t in ["a", "b"] {
            let key = format!("k{i:05}");
            let value = format!("{t}-{i}-{from}-{}", "x".repeat((i % 40) as usize));
            if txn.insert(t, &key, value.as_bytes()).is_err() {
                txn.update(t, &key, value.as_bytes()).unwrap();
            }
        }
    }
    txn.commit().unwrap();
    d.close().unwrap();
}

/// Deletes rows `from..to` of table `a`.
pub fn delete(storage: &StorageRef, db: &DbPath, from: u32, to: u32) {
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    let mut txn = d.begin().unwrap();
    for i in from..to {
        txn.delete("a", &format!("k{i:05}")).unwrap();
    }
    txn.commit().unwrap();
    d.close().unwrap();
}

/// Opens `db`, checks its structure, and returns every record.
pub fn dump(storage: &StorageRef, db: &DbPath) -> Dump {
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    d.check().unwrap();
    let mut out = Dump::new();
    let tables = d.tables().unwrap();
    let mut txn = d.begin().unwrap();
    for t in tables {
        txn.scan(&t.name, &mut |k, v| {
            out.insert((t.name.clone(), k.to_string()), v.to_vec());
            true
        })
        .unwrap();
    }
    txn.commit().unwrap();
    d.close().unwrap();
    out
}

/// The master block of `db`, read without opening it.
pub fn master(storage: &StorageRef, db: &DbPath) -> masterblock::MasterBlock {
    engine::describe(storage, db).unwrap().master
}

/// Every file under `dir` with its bytes, except the event log and the lock file.
pub fn snapshot(storage: &dyn Storage, dir: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = Path::new(dir);
    storage
        .list_dir(dir)
        .unwrap()
        .into_iter()
        .filter(|name| !name.ends_with(".lg") && !name.ends_with(".lk"))
        .map(|name| {
            let bytes = storage::read_all(storage, &dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

/// The crash images checked after a fault at op `op`.
pub fn images(sim: &SimStorage, op: u64) -> Vec<SimStorage> {
    vec![
        sim.crash_image(CrashMode::LoseUnsynced),
        sim.crash_image(CrashMode::KeepRandomSubset { seed: op }),
        sim.crash_image(CrashMode::KeepRandomSubset {
            seed: op.wrapping_mul(0x9e37_79b9) + 7,
        }),
    ]
}

/// A storage handle over a simulated machine.
pub fn handle(sim: &SimStorage) -> StorageRef {
    Arc::new(sim.clone())
}
