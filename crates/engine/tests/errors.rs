//! Numbered errors: each is refused with its number and leaves the database unchanged.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use engine::{AccessMode, Database, DbPath, Error, OpenOptions};
use storage::{OpenMode, SimStorage, Storage, StorageRef};

fn seeded() -> (SimStorage, StorageRef, DbPath, Dump) {
    let (sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "k1", b"v1").unwrap();
    t.insert("b", "k2", b"v2").unwrap();
    t.commit().unwrap();
    let before = dump(&d);
    d.close().unwrap();
    (sim, storage, db, before)
}

fn assert_number(e: &Error, n: u32) {
    assert_eq!(e.msg_number(), n, "{e}");
    assert!(
        !e.to_string().contains(&format!("({n})")),
        "Display carries no number"
    );
    assert!(
        engine::MESSAGES.iter().any(|(m, _)| *m == n),
        "{n} is listed"
    );
}

#[test]
fn second_opener_is_refused() {
    let (_sim, storage, db, before) = seeded();
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let e = Database::open(storage.clone(), &db, opts()).err().unwrap();
    assert!(matches!(e, Error::InUse { pid, .. } if pid == std::process::id()));
    assert_number(&e, 90501);
    assert!(engine::busy(&storage, &db).unwrap());
    d.close().unwrap();
    assert!(!engine::busy(&storage, &db).unwrap());
    assert_eq!(reopen_and_dump(&storage, &db), before);
}

#[test]
fn copied_database_is_refused() {
    let (sim, storage, db, before) = seeded();
    sim.create_dir_all(Path::new("/copy")).unwrap();
    for name in sim.list_dir(Path::new("/db")).unwrap() {
        let bytes = storage::read_all(&sim, &Path::new("/db").join(&name)).unwrap();
        storage::create_durable(&sim, &Path::new("/copy").join(&name), &bytes).unwrap();
    }
    let copy = DbPath::parse("/copy/t").unwrap();
    let e = Database::open(storage.clone(), &copy, opts())
        .err()
        .unwrap();
    assert!(matches!(e, Error::CopiedDatabase { .. }));
    assert_number(&e, 90502);
    assert!(e.to_string().contains("prostrct repair"));
    assert_eq!(reopen_and_dump(&storage, &db), before);
}

#[test]
fn table_and_record_errors() {
    let (_sim, storage, db, before) = seeded();
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "k3", b"kept").unwrap();
    let e = t.get("nope", "k").unwrap_err();
    assert!(matches!(e, Error::NoSuchTable { .. }));
    assert_number(&e, 90503);
    let e = t.insert("a", "k1", b"again").unwrap_err();
    assert!(matches!(e, Error::DuplicateKey { .. }));
    assert_number(&e, 90507);
    let e = t.update("a", "zz", b"x").unwrap_err();
    assert_number(&e, 90508);
    let e = t.delete("a", "zz").unwrap_err();
    assert_number(&e, 90508);
    let big = vec![b'x'; 2000];
    let e = t.insert("a", "big", &big).unwrap_err();
    assert!(matches!(
        e,
        Error::RecordTooLarge {
            block_size: 1024,
            ..
        }
    ));
    assert_number(&e, 90511);
    let e = t.insert("a", "tab\tkey", b"x").unwrap_err();
    assert_number(&e, 90509);
    let e = t.create_table("a", None).unwrap_err();
    assert_number(&e, 90504);
    let e = t.create_table("9bad", None).unwrap_err();
    assert_number(&e, 90505);
    let e = t
        .create_table("c", Some(masterblock::AreaNo(3)))
        .unwrap_err();
    assert_number(&e, 90506);
    // The transaction is still usable; its earlier insert survives the failed operations.
    t.rollback().unwrap();
    d.close().unwrap();
    assert_eq!(reopen_and_dump(&storage, &db), before);
}

#[test]
fn missing_extent_is_refused() {
    let (sim, storage, db, before) = seeded();
    let path = Path::new("/db/t_7.d1");
    let bytes = storage::read_all(&sim, path).unwrap();
    sim.rename(path, Path::new("/db/elsewhere")).unwrap();
    let e = Database::open(storage.clone(), &db, opts()).err().unwrap();
    assert!(matches!(&e, Error::ExtentMissing { path: p } if p == path));
    assert_number(&e, 90515);
    sim.rename(Path::new("/db/elsewhere"), path).unwrap();
    assert_eq!(storage::read_all(&sim, path).unwrap(), bytes);
    assert_eq!(reopen_and_dump(&storage, &db), before);
}

#[test]
fn foreign_extent_is_refused() {
    let (sim, storage, db, before) = seeded();
    // A second database in another directory; swap in its data extent.
    sim.create_dir_all(Path::new("/other")).unwrap();
    let other = DbPath::parse("/other/t").unwrap();
    create_standard(&storage, &other);
    let mine = Path::new("/db/t_7.d1");
    let saved = storage::read_all(&sim, mine).unwrap();
    let theirs = storage::read_all(&sim, Path::new("/other/t_7.d1")).unwrap();
    let f = sim.open(mine, OpenMode::ReadWrite).unwrap();
    f.set_len(0).unwrap();
    f.write_at(&theirs, 0).unwrap();
    f.sync().unwrap();
    let e = Database::open(storage.clone(), &db, opts()).err().unwrap();
    assert!(
        matches!(&e, Error::ForeignExtent { path, .. } if path == mine),
        "{e:?}"
    );
    assert_number(&e, 90516);
    f.set_len(0).unwrap();
    f.write_at(&saved, 0).unwrap();
    f.sync().unwrap();
    assert_eq!(reopen_and_dump(&storage, &db), before);
}

#[test]
fn read_only_open_writes_nothing_and_refuses_unclean() {
    let (sim, storage, db, before) = seeded();
    let master_before = engine::describe(&storage, &db).unwrap().master;
    let ro = OpenOptions {
        access: AccessMode::ReadOnly,
        ..opts()
    };
    let writes = sim.write_count();
    let d = Database::open(storage.clone(), &db, ro.clone()).unwrap();
    assert_eq!(dump(&d), before);
    let mut t = d.begin().unwrap();
    assert!(matches!(t.insert("a", "x", b"y"), Err(Error::ReadOnly)));
    t.commit().unwrap();
    d.close().unwrap();
    // Only the lock file was written.
    assert!(sim.write_count() - writes <= 1);
    assert_eq!(
        engine::describe(&storage, &db).unwrap().master,
        master_before
    );
    // An unclean database is refused read-only.
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let crashed: StorageRef = Arc::new(sim.crash_image(storage::CrashMode::LoseUnsynced));
    d.close().unwrap();
    let e = Database::open(crashed.clone(), &db, ro).err().unwrap();
    assert_number(&e, 90518);
    assert!(e.to_string().contains("truncate bi"));
    engine::truncate_bi(&crashed, &db).unwrap();
    assert_eq!(reopen_and_dump(&crashed, &db), before);
}

#[test]
fn block_behind_the_bi_is_a_counter_mismatch() {
    let (sim, storage, db, _before) = seeded();
    let extent = Path::new("/db/t.d1");
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let old = storage::read_all(&sim, extent).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "k5", b"five").unwrap();
    t.commit().unwrap();
    d.checkpoint().unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "k6", b"six").unwrap();
    t.commit().unwrap();
    let image = sim.crash_image(storage::CrashMode::LoseUnsynced);
    d.close().unwrap();
    // Put back the Schema Area extent from before the checkpoint.
    let f = image.open(extent, OpenMode::ReadWrite).unwrap();
    f.set_len(0).unwrap();
    f.write_at(&old, 0).unwrap();
    f.sync().unwrap();
    let image: StorageRef = Arc::new(image);
    let e = Database::open(image, &db, opts()).err().unwrap();
    assert!(matches!(e, Error::CounterMismatch { .. }), "{e:?}");
    assert_number(&e, 1028);
}

#[test]
fn a_full_area_fails_the_insert_alone() {
    let (_sim, storage, db) = sim_db();
    let st = structure::StFile::parse("b .\nd \"Schema Area\":6,32 .\nd \"Small\":7,32;8 . f 64\n")
        .unwrap();
    engine::create_database(&storage, &db, &st, 1024).unwrap();
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    d.create_table("s", Some(masterblock::AreaNo(7))).unwrap();
    let mut t = d.begin().unwrap();
    let mut model = Dump::new();
    let mut full = None;
    for i in 0..10_000 {
        let k = format!("key{i:05}");
        match t.insert("s", &k, &[b'v'; 100]) {
            Ok(()) => {
                model.insert(("s".into(), k), vec![b'v'; 100]);
            }
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let e = full.expect("a 64 KiB area fills up");
    assert!(matches!(e, Error::AreaFull { .. }), "{e:?}");
    assert_number(&e, 90522);
    t.commit().unwrap();
    d.check().unwrap();
    assert_eq!(dump(&d), model);
    d.close().unwrap();
    assert_eq!(reopen_and_dump(&storage, &db), model);
}

#[test]
fn a_database_cut_short_in_a_restore_refuses_every_open() {
    let (_sim, storage, db) = common::sim_db();
    common::create_standard(&storage, &db);
    let control = storage
        .open(&db.control_path(), storage::OpenMode::ReadWrite)
        .unwrap();
    let mut mb = masterblock::MasterBlockFile::open(control).unwrap();
    mb.update(|m| m.state = masterblock::DbState::Restoring)
        .unwrap();
    for access in [engine::AccessMode::ReadWrite, engine::AccessMode::ReadOnly] {
        let opts = engine::OpenOptions {
            access,
            ..common::opts()
        };
        let err = engine::Database::open(storage.clone(), &db, opts)
            .err()
            .expect("refused");
        assert_eq!(err.msg_number(), 90599, "{err}");
        assert!(err.to_string().contains("prorest"), "{err}");
    }
}
