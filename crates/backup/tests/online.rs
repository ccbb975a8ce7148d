//! `probkup online`: backups of an open database while transactions run, restored and rolled
//! forward from the AI extent that became busy at the backup's switch, give the source; the
//! refusals (next AI extent not Empty, transactions held open past the bound) write nothing
//! and leave writers free; a crash at any write or sync leaves the source intact and the
//! backup file absent or complete.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aiextent::AiState;
use backup::{
    BackupOptions, backup_online, backup_online_with, restore, temp_path, verify_partial,
};
use common::*;
use engine::{Database, DbPath, OpenOptions};
use masterblock::AiSeq;
use storage::{CrashMode, Fault, FaultKind, SimStorage, StorageRef};

/// The source with `ai` variable AI extents, tables `a` and `b`, after-imaging begun.
fn ai_source(storage: &StorageRef, ai: usize) {
    let mut st = String::from(ST);
    for _ in 0..ai {
        st.push_str("a .\n");
    }
    create(storage, &src(), &st);
    let d = Database::open(storage.clone(), &src(), opts()).unwrap();
    d.create_table("a", None).unwrap();
    d.create_table("b", Some(masterblock::AreaNo(7))).unwrap();
    d.close().unwrap();
    engine::mark_backedup(storage, &src()).unwrap();
    engine::aimage_begin(storage, &src()).unwrap();
}

fn ai_opts() -> OpenOptions {
    OpenOptions {
        buffers: 16,
        ai_parallel_sync: false,
        ..OpenOptions::default()
    }
}

/// Runs `per_thread` transactions on each of `threads` threads (inserts, updates, deletes
/// and rollbacks of the thread's own keys in both tables) into `model`.
fn work(d: &Database, threads: u32, per_thread: u32, round: u32, model: &mut Dump) {
    let parts: Vec<Dump> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let mut mine: Dump = model
                    .iter()
                    .filter(|((_, k), _)| k.starts_with(&format!("t{t}-")))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                s.spawn(move || {
                    for i in 0..per_thread {
                        let table = if i % 2 == 0 { "a" } else { "b" };
                        let key = format!("t{t}-{:03}", (i * 7 + round) % 50);
                        let value = format!("r{round}-{i}-{}", "v".repeat((i % 60) as usize));
                        let entry = (table.to_string(), key.clone());
                        let mut txn = d.begin().unwrap();
                        let exists = txn.get_for_update(table, &key).unwrap().is_some();
                        if exists && i % 5 == 0 {
                            txn.delete(table, &key).unwrap();
                        } else if exists {
                            txn.update(table, &key, value.as_bytes()).unwrap();
                        } else {
                            txn.insert(table, &key, value.as_bytes()).unwrap();
                        }
                        if i % 7 == 3 {
                            txn.rollback().unwrap();
                            continue;
                        }
                        txn.commit().unwrap();
                        if exists && i % 5 == 0 {
                            mine.remove(&entry);
                        } else {
                            mine.insert(entry, value.into_bytes());
                        }
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // The workers' keys are replaced by what they left; other threads' keys stay.
    model.retain(|(_, k), _| !(0..threads).any(|t| k.starts_with(&format!("t{t}-"))));
    for part in parts {
        model.extend(part);
    }
}

/// Runs `work` on `threads` threads while an online backup into `file` runs.
fn backup_during_work(d: &Database, file: &Path, opts: BackupOptions, model: &mut Dump) -> AiSeq {
    let round = u32::try_from(model.len()).unwrap();
    let summary = std::thread::scope(|s| {
        let backup = s.spawn(|| {
            std::thread::sleep(Duration::from_millis(3));
            backup_online(d, file, opts, &mut |_| {}).unwrap()
        });
        work(d, 3, 40, round, model);
        backup.join().unwrap()
    });
    summary.ai_switched_to.expect("after-imaging is on")
}

/// The source's AI extents from sequence `from` on, in sequence order.
fn ai_files_from(storage: &StorageRef, from: AiSeq) -> Vec<PathBuf> {
    let mut extents: Vec<_> = engine::ai_extents(storage, &src())
        .unwrap()
        .into_iter()
        .filter(|e| e.state != AiState::Empty && e.ai_seq >= from)
        .collect();
    extents.sort_by_key(|e| e.ai_seq);
    extents.into_iter().map(|e| e.path).collect()
}

fn roll_forward(storage: &StorageRef, db: &DbPath, from: AiSeq) {
    let files = ai_files_from(storage, from);
    assert!(!files.is_empty());
    rollforward::roll_forward(
        storage,
        db,
        &files,
        &rollforward::RollForwardOptions::default(),
        &mut |_| {},
    )
    .unwrap();
}

#[test]
fn online_full_and_incremental_restore_and_roll_forward_to_the_source() {
    let (_sim, st) = machine();
    ai_source(&st, 6);
    let d = Database::open(st.clone(), &src(), ai_opts()).unwrap();
    let mut model = Dump::new();
    work(&d, 2, 30, 0, &mut model);
    let full = bk("full.bk");
    let seq_full = backup_during_work(&d, &full, BackupOptions::default(), &mut model);
    assert!(!st.exists(&temp_path(&full)));
    verify_partial(st.as_ref(), &full).unwrap();
    assert_eq!(d.master().backup_counter, 2);
    // Keys of three more threads: blocks are allocated after the full backup's point.
    work(&d, 6, 40, 1000, &mut model);
    let incr = bk("incr.bk");
    let incremental = BackupOptions {
        incremental: true,
        compress: true,
    };
    let seq_incr = backup_during_work(&d, &incr, incremental, &mut model);
    assert!(seq_incr > seq_full);
    d.close().unwrap();
    assert_eq!(dump(&st, &src()), model);
    let log =
        String::from_utf8(storage::read_all(st.as_ref(), &src().log_path()).unwrap()).unwrap();
    assert!(log.contains("online backup") && log.contains("ended"));

    // The full backup alone, rolled forward from its switch.
    create(&st, &dst(), ST);
    restore(&st, &dst(), &full, &mut |_| {}).unwrap();
    roll_forward(&st, &dst(), seq_full);
    assert_eq!(dump(&st, &dst()), model);

    // The full and the incremental, rolled forward from the incremental's switch.
    let other = DbPath::parse("/other/o").unwrap();
    create(&st, &other, ST);
    restore(&st, &other, &full, &mut |_| {}).unwrap();
    restore(&st, &other, &incr, &mut |_| {}).unwrap();
    roll_forward(&st, &other, seq_incr);
    assert_eq!(dump(&st, &other), model);

    // Blocks were allocated after the points (the high water moved during the copies).
    let after = bk("after.bk");
    backup::backup(&st, &src(), &after, BackupOptions::default(), &mut |_| {}).unwrap();
    let marks = |f: &Path| backup::describe_backup(st.as_ref(), f).unwrap().areas;
    assert!(
        marks(&full)
            .iter()
            .zip(marks(&after))
            .any(|(at_backup, now)| now.high_water > at_backup.high_water),
        "no block was allocated after the full backup's point"
    );
}

#[test]
fn next_extent_not_empty_refuses_and_writes_nothing() {
    let (_sim, st) = machine();
    ai_source(&st, 2);
    let d = Database::open(st.clone(), &src(), ai_opts()).unwrap();
    let mut model = Dump::new();
    work(&d, 1, 10, 0, &mut model);
    backup_online(&d, &bk("one.bk"), BackupOptions::default(), &mut |_| {}).unwrap();
    let file = bk("two.bk");
    let err = backup_online(&d, &file, BackupOptions::default(), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 3774);
    assert!(!st.exists(&file) && !st.exists(&temp_path(&file)));
    assert_eq!(d.master().backup_counter, 2);
    work(&d, 2, 10, 1, &mut model);
    d.close().unwrap();
    assert_eq!(dump(&st, &src()), model);
}

#[test]
fn a_transaction_open_past_the_bound_times_out_and_writers_resume() {
    let (_sim, st) = machine();
    ai_source(&st, 3);
    let d = Database::open(st.clone(), &src(), ai_opts()).unwrap();
    let mut long = d.begin().unwrap();
    long.insert("a", "long", b"held").unwrap();
    let file = bk("t.bk");
    let err = backup_online_with(
        &d,
        &file,
        BackupOptions::default(),
        Duration::from_millis(150),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.msg_number(), 90677);
    assert!(!st.exists(&file) && !st.exists(&temp_path(&file)));
    // Writers are free: another transaction begins and commits at once.
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut t = d.begin().unwrap();
            t.insert("b", "other", b"free").unwrap();
            t.commit().unwrap();
        })
        .join()
        .unwrap();
    });
    long.commit().unwrap();
    assert_eq!(d.master().backup_counter, 1);
    let incremental = BackupOptions {
        incremental: true,
        compress: false,
    };
    assert_eq!(
        backup_online(&d, &bk("i.bk"), incremental, &mut |_| {})
            .map(|s| s.backup_counter)
            .unwrap(),
        2
    );
    d.close().unwrap();
}

#[test]
fn an_online_backup_with_after_imaging_off_holds_transactions_for_the_copy() {
    let (_sim, st) = machine();
    source(&st, 30);
    let d = Database::open(st.clone(), &src(), opts()).unwrap();
    let file = bk("off.bk");
    let mut model = Dump::new();
    let (summary, at_backup) = std::thread::scope(|s| {
        let b = s.spawn(|| {
            let summary = backup_online(&d, &file, BackupOptions::default(), &mut |_| {});
            (summary, d.master().backup_counter)
        });
        work(&d, 2, 20, 5, &mut model);
        b.join().unwrap()
    });
    assert!(summary.unwrap().ai_switched_to.is_none());
    assert_eq!(at_backup, 1);
    d.close().unwrap();
    create(&st, &dst(), ST);
    restore(&st, &dst(), &file, &mut |_| {}).unwrap();
    // Transactions were held for the copy: the restored database is consistent by itself
    // (dump checks every tree) and holds the 60 rows the source had before the work.
    let restored = dump(&st, &dst());
    assert!(restored.len() >= 60, "{} rows restored", restored.len());
}

#[test]
fn crash_at_every_write_of_an_online_backup() {
    let (sim, st) = machine();
    ai_source(&st, 4);
    let d = Database::open(st.clone(), &src(), ai_opts()).unwrap();
    let mut model = Dump::new();
    work(&d, 1, 30, 0, &mut model);
    d.close().unwrap();
    let template = sim.crash_image(CrashMode::LoseUnsynced);
    let file = bk("c.bk");
    let start = |copy: &SimStorage| {
        let d = Database::open(handle(copy), &src(), ai_opts()).unwrap();
        let mut txn = d.begin().unwrap();
        txn.insert("a", "late", b"before the backup").unwrap();
        txn.commit().unwrap();
        d
    };
    let probe = template.crash_image(CrashMode::LoseUnsynced);
    let d = start(&probe);
    let before = probe.op_count();
    backup_online(&d, &file, BackupOptions::default(), &mut |_| {}).unwrap();
    let n = probe.op_count() - before;
    drop(d);
    assert!(n > 8, "an online backup performs {n} operations");
    let mut expected = model.clone();
    expected.insert(("a".into(), "late".into()), b"before the backup".to_vec());
    for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
        for k in 0..n {
            let copy = template.crash_image(CrashMode::LoseUnsynced);
            let d = start(&copy);
            copy.set_fault(Some(Fault {
                at_op: copy.op_count() + k,
                kind,
            }));
            let _ = backup_online(&d, &file, BackupOptions::default(), &mut |_| {});
            assert!(copy.crashed(), "k={k}: the fault did not fire");
            drop(d);
            for (j, image) in images(&copy, k).into_iter().enumerate() {
                let st = handle(&image);
                assert_eq!(dump(&st, &src()), expected, "source after k={k}");
                if !st.exists(&file) {
                    continue;
                }
                verify_partial(st.as_ref(), &file).unwrap();
                if j != 0 {
                    continue;
                }
                let seq = backup::describe_backup(st.as_ref(), &file)
                    .unwrap()
                    .ai_seq_switched;
                create(&st, &dst(), ST);
                restore(&st, &dst(), &file, &mut |_| {}).unwrap();
                roll_forward(&st, &dst(), seq);
                assert_eq!(dump(&st, &dst()), expected, "restored after k={k}");
            }
        }
    }
}
