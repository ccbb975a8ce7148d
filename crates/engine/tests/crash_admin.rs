//! Crash at every storage operation of `create_database`, `add_extents` and `repair`: the
//! database is afterwards either as before (and a rerun succeeds) or as after.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use engine::{Database, DbPath, Error, RepairTarget};
use masterblock::AreaNo;
use storage::{SimStorage, Storage, StorageRef};
use structure::StFile;

fn fixed_st() -> StFile {
    StFile::parse(
        "b .\nd \"Schema Area\":6,32 . f 64\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 . f 64\nd \"Data\":7,32;8 .\n",
    )
    .unwrap()
}

/// Opens, checks, and uses the database a little.
fn usable(storage: &StorageRef, db: &DbPath) {
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    d.check().unwrap();
    d.create_table("fresh", Some(AreaNo(7))).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..50 {
        t.insert("fresh", &format!("k{i}"), &[7u8; 40]).unwrap();
    }
    t.commit().unwrap();
    d.close().unwrap();
}

#[test]
fn crash_during_create_database() {
    let (sim, _storage, db) = sim_db();
    crash_every_op(
        &sim,
        |storage: &StorageRef| engine::create_database(storage, &db, &fixed_st(), 1024).is_ok(),
        |image, finished, op| match Database::open(image.clone(), &db, opts()) {
            Ok(d) => {
                d.check().unwrap();
                assert!(d.tables().unwrap().is_empty());
                d.close().unwrap();
                assert!(matches!(
                    engine::create_database(image, &db, &fixed_st(), 1024),
                    Err(Error::DatabaseExists { .. })
                ));
                usable(image, &db);
            }
            Err(e) => {
                assert!(
                    !finished,
                    "op {op}: create acknowledged but open fails: {e}"
                );
                engine::create_database(image, &db, &fixed_st(), 1024)
                    .unwrap_or_else(|e| panic!("op {op}: rerun of create fails: {e}"));
                usable(image, &db);
            }
        },
    );
}

fn add_st() -> StFile {
    StFile::parse("d \"Data\":7,32;8 /db f 64\nd \"More\":8,32;8 /db\na /db\n").unwrap()
}

#[test]
fn crash_during_add_extents() {
    let (sim, storage, db) = sim_db();
    engine::create_database(&storage, &db, &fixed_st_one(), 1024).unwrap();
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    d.create_table("a", Some(AreaNo(7))).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..100 {
        t.insert("a", &format!("k{i:03}"), &[1u8; 50]).unwrap();
    }
    t.commit().unwrap();
    let before = dump(&d);
    d.close().unwrap();
    crash_every_op(
        &sim,
        |storage: &StorageRef| engine::add_extents(storage, &db, &add_st()).is_ok(),
        |image, finished, op| {
            let areas = engine::describe(image, &db).unwrap().catalogue.areas.len();
            let added = areas > 4;
            assert!(
                !finished || added,
                "op {op}: add acknowledged but not recorded"
            );
            if !added {
                let got = engine::add_extents(image, &db, &add_st())
                    .unwrap_or_else(|e| panic!("op {op}: rerun of add fails: {e}"));
                assert_eq!(got.len(), 3);
            }
            let d = Database::open(image.clone(), &db, opts()).unwrap();
            assert_eq!(dump(&d), before, "op {op}");
            d.create_table("more", Some(AreaNo(8))).unwrap();
            let mut t = d.begin().unwrap();
            for i in 0..300 {
                t.insert("a", &format!("n{i:03}"), &[2u8; 50]).unwrap();
                t.insert("more", &format!("m{i:03}"), &[3u8; 50]).unwrap();
            }
            t.commit().unwrap();
            d.check().unwrap();
            d.close().unwrap();
        },
    );
}

fn fixed_st_one() -> StFile {
    StFile::parse("b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 . f 64\n").unwrap()
}

/// Moves every file of the database from `/db` to `/moved`, durably.
fn move_database(sim: &SimStorage) {
    sim.create_dir_all(Path::new("/moved")).unwrap();
    for name in sim.list_dir(Path::new("/db")).unwrap() {
        sim.rename(
            &Path::new("/db").join(&name),
            &Path::new("/moved").join(&name),
        )
        .unwrap();
    }
    sim.sync_dir(Path::new("/db")).unwrap();
    sim.sync_dir(Path::new("/moved")).unwrap();
}

#[test]
fn crash_during_repair() {
    let (sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "k", b"v").unwrap();
    t.commit().unwrap();
    let before = dump(&d);
    d.close().unwrap();
    move_database(&sim);
    let moved = DbPath::parse("/moved/t").unwrap();
    let moved_ref: StorageRef = Arc::new(sim.clone());
    assert!(matches!(
        Database::open(moved_ref, &moved, opts()),
        Err(Error::CopiedDatabase { .. })
    ));
    let target = || RepairTarget::Dir("/moved".into());
    crash_every_op(
        &sim,
        |storage: &StorageRef| engine::repair(storage, &moved, target()).is_ok(),
        |image, finished, op| match Database::open(image.clone(), &moved, opts()) {
            Ok(d) => {
                assert_eq!(dump(&d), before, "op {op}");
                d.close().unwrap();
            }
            Err(Error::CopiedDatabase { .. }) => {
                assert!(!finished, "op {op}: repair acknowledged but not recorded");
                engine::repair(image, &moved, target())
                    .unwrap_or_else(|e| panic!("op {op}: rerun of repair fails: {e}"));
                assert_eq!(reopen_and_dump(image, &moved), before, "op {op}");
            }
            Err(e) => panic!("op {op}: {e}"),
        },
    );
}
