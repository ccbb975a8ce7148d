//! Every refusal of `probkup` and `prorest` is a numbered error that changes nothing, and a
//! backup with after-imaging on switches the AI extent first.

mod common;

use backup::{BackupOptions, backup, restore};
use common::*;
use engine::Database;
use masterblock::{AiSeq, DbState};
use storage::{CrashMode, StorageRef};

fn full() -> BackupOptions {
    BackupOptions::default()
}

fn incr() -> BackupOptions {
    BackupOptions {
        incremental: true,
        compress: false,
    }
}

/// Runs a restore expected to fail with `number` and checks that `/dst` did not change.
fn refused(st: &StorageRef, file: &str, number: u32) {
    let before = snapshot(st.as_ref(), "/dst");
    let err = restore(st, &dst(), &bk(file), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), number, "{err}");
    assert!(
        snapshot(st.as_ref(), "/dst") == before,
        "{number}: target changed"
    );
}

#[test]
fn probkup_refusals_change_nothing() {
    let (sim, st) = machine();
    source(&st, 20);
    // Incremental without a full backup.
    let err = backup(&st, &src(), &bk("i.bk"), incr(), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 90904, "{err}");
    assert!(!st.exists(&bk("i.bk")));
    // An existing file is never overwritten.
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    let file = storage::read_all(st.as_ref(), &bk("f.bk")).unwrap();
    let mb = master(&st, &src());
    let err = backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 90901, "{err}");
    assert_eq!(storage::read_all(st.as_ref(), &bk("f.bk")).unwrap(), file);
    assert_eq!(master(&st, &src()), mb);
    // An open database is in use.
    let d = Database::open(st.clone(), &src(), opts()).unwrap();
    let err = backup(&st, &src(), &bk("g.bk"), full(), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 90501, "{err}");
    // A crashed one needs crash recovery first.
    let mut txn = d.begin().unwrap();
    txn.insert("a", "new", b"v").unwrap();
    txn.commit().unwrap();
    let crashed = handle(&sim.crash_image(CrashMode::LoseUnsynced));
    drop(d);
    assert_eq!(master(&crashed, &src()).state, DbState::Open);
    let err = backup(&crashed, &src(), &bk("g.bk"), full(), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 90902, "{err}");
    assert!(err.to_string().contains("truncate bi"), "{err}");
    assert!(!crashed.exists(&bk("g.bk")));
}

#[test]
fn prorest_refusals_change_nothing() {
    let (_sim, st) = machine();
    source(&st, 2000);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    change(&st, &src(), 0, 10);
    backup(&st, &src(), &bk("i1.bk"), incr(), &mut |_| {}).unwrap();
    change(&st, &src(), 5, 20);
    backup(&st, &src(), &bk("i2.bk"), incr(), &mut |_| {}).unwrap();

    // Another block size.
    engine::create_database(&st, &dst(), &structure::StFile::parse(ST).unwrap(), 2048).unwrap();
    assert_eq!(master(&st, &dst()).block_size, 2048);
    refused(&st, "f.bk", 90920);
    remove_db(&st);
    // An area missing, or named differently.
    create(&st, &dst(), "b .\nd \"Schema Area\":6,32 .\n");
    refused(&st, "f.bk", 90921);
    remove_db(&st);
    create(
        &st,
        &dst(),
        "b .\nd \"Schema Area\":6,32 .\nd \"Other\":7,32;8 .\n",
    );
    refused(&st, "f.bk", 90921);
    remove_db(&st);
    // A fixed extent too small for the blocks.
    create(
        &st,
        &dst(),
        "b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 . f 48\n",
    );
    refused(&st, "f.bk", 90922);
    remove_db(&st);

    // Incremental onto a database with another identity.
    create(&st, &dst(), ST);
    refused(&st, "i1.bk", 90923);
    // Out of order: the second incremental before the first, and the first twice.
    restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
    refused(&st, "i2.bk", 90924);
    restore(&st, &dst(), &bk("i1.bk"), &mut |_| {}).unwrap();
    refused(&st, "i1.bk", 90924);
    restore(&st, &dst(), &bk("i2.bk"), &mut |_| {}).unwrap();
    assert_eq!(dump(&st, &dst()), dump(&st, &src()));

    // A target that needs crash recovery.
    let d = Database::open(st.clone(), &dst(), opts()).unwrap();
    std::mem::forget(d);
    refused_in_use(&st);
}

/// A target open by someone else is refused by its lock.
fn refused_in_use(st: &StorageRef) {
    let before = snapshot(st.as_ref(), "/dst");
    let err = restore(st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 90501, "{err}");
    assert!(snapshot(st.as_ref(), "/dst") == before);
}

#[test]
fn a_target_that_crashed_is_refused() {
    let (sim, st) = machine();
    source(&st, 20);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    create(&st, &dst(), ST);
    let d = Database::open(st.clone(), &dst(), opts()).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    drop(d);
    let st = handle(&image);
    assert_eq!(master(&st, &dst()).state, DbState::Open);
    refused(&st, "f.bk", 90925);
}

/// Removes `/dst/d` and its files so another target can be created.
fn remove_db(st: &StorageRef) {
    for name in st.list_dir(std::path::Path::new("/dst")).unwrap() {
        st.remove(&std::path::Path::new("/dst").join(name)).unwrap();
    }
}

const ST_AI: &str = "b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\na .\na .\n";

#[test]
fn with_after_imaging_the_backup_switches_first() {
    let (_sim, st) = machine();
    create(&st, &src(), ST_AI);
    let d = Database::open(st.clone(), &src(), opts()).unwrap();
    d.create_table("a", None).unwrap();
    d.create_table("b", Some(masterblock::AreaNo(7))).unwrap();
    d.close().unwrap();
    change(&st, &src(), 0, 30);
    backup(&st, &src(), &bk("f0.bk"), full(), &mut |_| {}).unwrap();
    engine::aimage_begin(&st, &src()).unwrap();
    change(&st, &src(), 10, 40);
    let sum = backup(&st, &src(), &bk("f1.bk"), full(), &mut |_| {}).unwrap();
    assert_eq!(sum.ai_switched_to, Some(AiSeq(2)));
    let at_f1 = dump(&st, &src());
    let h = backup::describe_backup(st.as_ref(), &bk("f1.bk")).unwrap();
    assert_eq!(h.ai_seq_switched, AiSeq(2));
    assert_eq!(h.master.ai_seq_expected, AiSeq(2));
    assert!(!h.master.ai_enabled);

    // The next extent is Full: 3774, and nothing is backed up.
    change(&st, &src(), 40, 45);
    let mb = master(&st, &src());
    let err = backup(&st, &src(), &bk("f2.bk"), full(), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 3774, "{err}");
    assert!(!st.exists(&bk("f2.bk")));
    assert_eq!(master(&st, &src()).backup_counter, mb.backup_counter);

    // The restored database has the backup's identity everywhere, AI off, extents Empty.
    create(&st, &dst(), ST_AI);
    restore(&st, &dst(), &bk("f1.bk"), &mut |_| {}).unwrap();
    let restored = master(&st, &dst());
    assert_eq!(restored.db_id, h.db_id);
    assert!(!restored.ai_enabled);
    assert_eq!(restored.ai_seq_expected, AiSeq(2));
    let extents = engine::ai_extents(&st, &dst()).unwrap();
    assert_eq!(extents.len(), 2);
    assert!(
        extents.iter().all(|e| e.state == aiextent::AiState::Empty),
        "{extents:?}"
    );
    assert_eq!(dump(&st, &dst()), at_f1);
}
