//! Full and incremental backups restored into a fresh database give the source's content, the
//! restored master block is the backup's, and the restored database works (including crash
//! recovery after new changes).

mod common;

use backup::{BackupKind, BackupOptions, backup, restore, verify_full, verify_partial};
use common::*;
use engine::Database;
use masterblock::{AiSeq, DbState};
use storage::CrashMode;

fn full() -> BackupOptions {
    BackupOptions::default()
}

fn incr() -> BackupOptions {
    BackupOptions {
        incremental: true,
        compress: false,
    }
}

#[test]
fn full_backup_restores_the_same_content() {
    for compress in [false, true] {
        let (_sim, st) = machine();
        source(&st, 300);
        delete(&st, &src(), 10, 60);
        let before = master(&st, &src());
        let opts = BackupOptions {
            incremental: false,
            compress,
        };
        let sum = backup(&st, &src(), &bk("f.bk"), opts, &mut |_| {}).unwrap();
        assert_eq!(sum.kind, BackupKind::Full);
        assert_eq!(sum.backup_counter, before.backup_counter + 1);
        assert!(sum.blocks > 3);
        assert_eq!(sum.block_bytes, sum.blocks * 1024);
        if compress {
            assert!(sum.stored_stream_bytes < sum.raw_stream_bytes);
        } else {
            assert_eq!(sum.stored_stream_bytes, sum.raw_stream_bytes);
        }
        let after = master(&st, &src());
        assert_eq!(after.backup_counter, before.backup_counter + 1);
        assert_eq!(after.note_seq_at_backup, after.next_note_seq);
        assert!(after.full_backup_time > 0);
        assert!(!st.exists(&backup::temp_path(&bk("f.bk"))));

        let vp = verify_partial(st.as_ref(), &bk("f.bk")).unwrap();
        assert_eq!(vp.blocks, sum.blocks);
        let vf = verify_full(&st, &src(), &bk("f.bk")).unwrap();
        assert!(vf.mismatches.is_empty());
        assert_eq!(vf.compared, sum.blocks);

        create(&st, &dst(), ST);
        let r = restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
        assert_eq!(r.blocks, sum.blocks);
        let restored = master(&st, &dst());
        assert_eq!(restored.db_id, before.db_id);
        assert_eq!(restored.state, DbState::Clean);
        assert_eq!(restored.backup_counter, before.backup_counter + 1);
        assert_eq!(restored.ai_seq_expected, AiSeq(1));
        assert_eq!(restored.next_note_seq, after.next_note_seq);
        assert_eq!(restored.open_stamp, before.open_stamp);
        assert_eq!(dump(&st, &dst()), dump(&st, &src()));
    }
}

#[test]
fn incrementals_apply_in_order() {
    let (_sim, st) = machine();
    source(&st, 200);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    change(&st, &src(), 150, 260);
    let i1 = backup(&st, &src(), &bk("i1.bk"), incr(), &mut |_| {}).unwrap();
    assert_eq!(i1.kind, BackupKind::Incremental);
    let full_blocks = verify_partial(st.as_ref(), &bk("f.bk")).unwrap().blocks;
    assert!(i1.blocks < full_blocks, "{} < {full_blocks}", i1.blocks);
    delete(&st, &src(), 0, 30);
    let compressed = BackupOptions {
        incremental: true,
        compress: true,
    };
    backup(&st, &src(), &bk("i2.bk"), compressed, &mut |_| {}).unwrap();
    let expected = dump(&st, &src());

    create(&st, &dst(), ST);
    restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
    restore(&st, &dst(), &bk("i1.bk"), &mut |_| {}).unwrap();
    restore(&st, &dst(), &bk("i2.bk"), &mut |_| {}).unwrap();
    assert_eq!(dump(&st, &dst()), expected);
    assert_eq!(
        master(&st, &dst()).backup_counter,
        master(&st, &src()).backup_counter
    );
}

#[test]
fn a_restored_database_takes_changes_and_recovers_after_a_crash() {
    let (sim, st) = machine();
    source(&st, 120);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    create(&st, &dst(), ST);
    restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
    let d = Database::open(st.clone(), &dst(), opts()).unwrap();
    let mut txn = d.begin().unwrap();
    txn.insert("a", "after-restore", b"committed").unwrap();
    txn.commit().unwrap();
    // Crash with the committed change only in the BI.
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    drop(d);
    let st2 = handle(&image);
    let rows = dump(&st2, &dst());
    assert_eq!(
        rows.get(&("a".to_string(), "after-restore".to_string())),
        Some(&b"committed".to_vec())
    );
}

#[test]
fn a_full_restore_replaces_a_used_target() {
    let (_sim, st) = machine();
    source(&st, 50);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    // The target holds more, and other, data than the backup.
    create(&st, &dst(), ST);
    let d = Database::open(st.clone(), &dst(), opts()).unwrap();
    d.create_table("zz", Some(masterblock::AreaNo(7))).unwrap();
    let mut txn = d.begin().unwrap();
    for i in 0..400 {
        txn.insert("zz", &format!("z{i}"), &[b'q'; 60]).unwrap();
    }
    txn.commit().unwrap();
    d.close().unwrap();
    let r = restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
    assert!(r.zeroed_blocks > 0);
    assert_eq!(dump(&st, &dst()), dump(&st, &src()));
    // And it can be restored again (same backup twice).
    restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
    assert_eq!(dump(&st, &dst()), dump(&st, &src()));
    // After more use the restored database grows into the zeroed blocks.
    change(&st, &dst(), 0, 300);
    change(&st, &src(), 0, 300);
    assert_eq!(dump(&st, &dst()), dump(&st, &src()));
}

#[test]
fn verify_full_reports_changed_blocks() {
    let (_sim, st) = machine();
    source(&st, 100);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    delete(&st, &src(), 0, 5);
    let vf = verify_full(&st, &src(), &bk("f.bk")).unwrap();
    assert!(!vf.mismatches.is_empty());
    let err = vf.result().unwrap_err();
    assert_eq!(err.msg_number(), 3757);
    assert!(vf.mismatch_errors().all(|e| e.msg_number() == 9454));
}

#[test]
fn list_prints_a_structure_file() {
    let (_sim, st) = machine();
    source(&st, 10);
    backup(&st, &src(), &bk("f.bk"), full(), &mut |_| {}).unwrap();
    let h = backup::describe_backup(st.as_ref(), &bk("f.bk")).unwrap();
    let text = backup::list_text(&h);
    let parsed = structure::StFile::parse(&text).unwrap();
    assert_eq!(parsed.to_string(), h.catalogue.to_st().to_string());
    assert!(text.contains("\"Data\":7,32;8"), "{text}");
}
