//! A crash at every storage operation of a roll forward (a crash, or a torn write; unsynced
//! writes lost or a random subset kept) and of `rfutil sequence`: afterwards `retry` (for a
//! roll forward that had started), or the same command again (before that, and for
//! `sequence`), always ends in a database whose content is the source's.

mod common;

use common::*;
use engine::DbPath;
use masterblock::{AiSeq, DbState};
use rollforward::RollForwardOptions;
use storage::{CrashMode, Fault, FaultKind, SimStorage, StorageRef};

/// A standby copy (sequence set) with the source's files from there in its storage.
fn standby() -> (Source, StorageRef, DbPath, Vec<std::path::PathBuf>) {
    let mut src = Source::new();
    src.work(6, 100, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    src.work(6, 101, Some(4));
    // A transaction in flight across a switch, so a file ends with one open.
    src.span_switch("span");
    src.work(4, 102, None);
    let files = put_files(&copy, &src.files_from(k.0));
    assert!(files.len() >= 3);
    (src, copy, db, files)
}

/// After a crash: retry, the plain command again, or nothing (it had finished).
fn finish_after_crash(image: &StorageRef, db: &DbPath, files: &[std::path::PathBuf], first: AiSeq) {
    let mb = engine::describe(image, db).unwrap().master;
    if mb.state == DbState::RollForwardInProgress {
        let retry = RollForwardOptions {
            retry: true,
            ..rf_opts()
        };
        roll(image, db, files, &retry).unwrap();
    } else if mb.ai_seq_expected == first {
        roll(image, db, files, &rf_opts()).unwrap();
    }
}

fn crash_every_op(kind: FaultKind) {
    crash_every_op_after(kind, 0);
}

/// Rolls the first `applied` files forward in a run of their own (whose resets leave the BI at
/// its size), then crashes at every operation of rolling the rest.
fn crash_every_op_after(kind: FaultKind, applied: usize) {
    let (src, copy, db, all_files) = standby();
    let expected = src.dump();
    if applied > 0 {
        roll(&copy, &db, &all_files[..applied], &rf_opts()).unwrap();
        assert_eq!(state_of(&copy, &db), DbState::Clean);
        let bi = bi_size(&copy, &db);
        assert!(bi > 2 * 4096, "the first run left its BI at its size: {bi}");
    }
    let files = all_files[applied..].to_vec();
    let first = engine::describe(&copy, &db).unwrap().master.ai_seq_expected;
    let mut crashes = 0;
    for op in 0.. {
        let sim = copy_sim(&copy);
        sim.set_fault(Some(Fault {
            at_op: sim.op_count() + op,
            kind,
        }));
        let outcome = roll(&storage_of(&sim), &db, &files, &rf_opts());
        if !sim.crashed() {
            outcome.unwrap();
            break;
        }
        crashes += 1;
        for mode in [
            CrashMode::LoseUnsynced,
            CrashMode::KeepRandomSubset { seed: op },
        ] {
            let image = storage_of(&sim.crash_image(mode));
            finish_after_crash(&image, &db, &files, first);
            assert_eq!(state_of(&image, &db), DbState::Clean, "crash at op {op}");
            assert!(
                dump_of(&image, &db) == expected,
                "crash at op {op} ({mode:?}): content differs"
            );
        }
    }
    assert!(crashes > 20, "only {crashes} operations");
}

#[test]
fn crash_at_every_op_of_roll_forward() {
    crash_every_op(FaultKind::Crash);
}

#[test]
fn torn_write_at_every_op_of_roll_forward() {
    crash_every_op(FaultKind::TornWriteCrash);
}

#[test]
fn crash_at_every_op_of_a_roll_forward_over_a_kept_bi() {
    crash_every_op_after(FaultKind::Crash, 1);
}

#[test]
fn torn_write_at_every_op_of_a_roll_forward_over_a_kept_bi() {
    crash_every_op_after(FaultKind::TornWriteCrash, 1);
}

#[test]
fn crash_at_every_op_of_sequence() {
    let mut src = Source::new();
    src.work(6, 110, Some(2));
    let copy = src.os_copy();
    let db = db_path();
    let k = src.current_seq();
    src.work(6, 111, Some(3));
    let files = src.files_from(k);
    let expected = src.dump();
    for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
        for op in 0.. {
            let sim: SimStorage = copy.crash_image(CrashMode::LoseUnsynced);
            sim.set_fault(Some(Fault {
                at_op: sim.op_count() + op,
                kind,
            }));
            let outcome = engine::set_sequence(&storage_of(&sim), &db);
            if !sim.crashed() {
                outcome.unwrap();
                break;
            }
            for mode in [
                CrashMode::LoseUnsynced,
                CrashMode::KeepRandomSubset { seed: op },
            ] {
                let image = storage_of(&sim.crash_image(mode));
                // `sequence` again, then the roll forward.
                let (_, new) = engine::set_sequence(&image, &db).unwrap();
                assert_eq!(new.0, k);
                let paths = put_files(&image, &files);
                roll(&image, &db, &paths, &rf_opts()).unwrap();
                assert!(dump_of(&image, &db) == expected, "crash at op {op}");
            }
        }
    }
}
