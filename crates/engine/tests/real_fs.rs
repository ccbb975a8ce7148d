//! The real file system: lock file, event log, copy, AI extents, automatic checkpoints.

mod common;

use std::sync::Arc;

use common::*;
use engine::{Database, DbPath, Error, OpenOptions};
use storage::{RealStorage, StorageRef};
use structure::StFile;

fn real() -> (tempfile::TempDir, StorageRef, DbPath) {
    let dir = tempfile::tempdir().unwrap();
    let storage: StorageRef = Arc::new(RealStorage::new());
    let db = DbPath::parse(dir.path().join("r").to_str().unwrap()).unwrap();
    (dir, storage, db)
}

#[test]
fn lock_file_and_event_log_on_a_real_file_system() {
    let (_dir, storage, db) = real();
    let st = StFile::parse("b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\na . f 64\na .\n")
        .unwrap();
    engine::create_database(&storage, &db, &st, 4096).unwrap();
    assert!(!db.lock_path().exists());
    let d = Database::open(storage.clone(), &db, OpenOptions::default()).unwrap();
    let text = std::fs::read_to_string(db.lock_path()).unwrap();
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains("single-user"));
    let e = Database::open(storage.clone(), &db, OpenOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, Error::InUse { pid, .. } if pid == std::process::id()));
    assert!(engine::busy(&storage, &db).unwrap());
    d.create_table("t", Some(masterblock::AreaNo(7))).unwrap();
    d.log_event("TEST", "hello", Some(42));
    d.close().unwrap();
    assert!(
        !db.lock_path().exists(),
        "the lock file is removed on close"
    );
    assert!(!engine::busy(&storage, &db).unwrap());
    let log = std::fs::read_to_string(db.log_path()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("TEST: hello (42)"))
        .unwrap();
    assert!(line.starts_with('['), "{line}");
    assert_eq!(&line[11..12], "@");
    assert_eq!(&line[24..30], "+0000]");
    assert!(line.contains(&format!("] P-{} TEST", std::process::id())));
    engine::log_event_at(&storage, &db, "CLI", "closed db", None);
    assert!(
        std::fs::read_to_string(db.log_path())
            .unwrap()
            .contains("CLI: closed db\n")
    );
}

#[test]
fn copy_database_gets_a_new_identity() {
    let (dir, storage, db) = real();
    let st = StFile::parse(
        "b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 . f 128\nd \"Data\":7,32;8 .\na .\n",
    )
    .unwrap();
    engine::create_database(&storage, &db, &st, 1024).unwrap();
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    d.create_table("t", Some(masterblock::AreaNo(7))).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..500 {
        t.insert("t", &format!("k{i:04}"), &[5u8; 60]).unwrap();
    }
    t.commit().unwrap();
    let before = dump(&d);
    // The source must be closed.
    let copy = DbPath::parse(dir.path().join("sub/c").to_str().unwrap()).unwrap();
    std::fs::create_dir_all(copy.dir()).unwrap();
    assert!(matches!(
        engine::copy_database(&storage, &db, &copy),
        Err(Error::InUse { .. })
    ));
    d.close().unwrap();
    engine::copy_database(&storage, &db, &copy).unwrap();
    let a = engine::describe(&storage, &db).unwrap();
    let b = engine::describe(&storage, &copy).unwrap();
    assert_ne!(a.master.db_id, b.master.db_id);
    assert!(
        b.catalogue
            .areas
            .iter()
            .flat_map(|a| &a.extents)
            .all(|e| e.path.starts_with(copy.dir()))
    );
    assert!(copy.dir().join("c_7.d2").exists());
    assert!(copy.dir().join("c.a1").exists());
    assert_eq!(reopen_and_dump(&storage, &copy), before);
    assert_eq!(reopen_and_dump(&storage, &db), before);
}

#[test]
fn automatic_checkpoint_resets_the_bi() {
    let (_sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let small = OpenOptions {
        bi_checkpoint_bytes: 64 << 10,
        ..opts()
    };
    let d = Database::open(storage.clone(), &db, small).unwrap();
    for n in 0..60 {
        let mut t = d.begin().unwrap();
        for i in 0..10 {
            t.insert("a", &format!("k{n:03}-{i}"), &[1u8; 100]).unwrap();
        }
        t.commit().unwrap();
    }
    assert!(d.stats().checkpoints >= 2, "{:?}", d.stats());
    let size = engine::describe(&storage, &db).unwrap().bi_size_bytes;
    assert!(size < 4096 + (200 << 10), "BI size {size}");
    drop(d);
    assert_eq!(reopen_and_dump(&storage, &db).len(), 600);
}
