//! A crash at every write and sync of one archive (the daemon's pass, offline): after the
//! crash the extent is still Full, or archived and Empty; the archived file is absent or
//! complete; archiving again finishes the job and logs the extent once.

mod common;

use std::path::Path;
use std::sync::Arc;

use aiarchiver::{Settings, archival_log_path};
use aiextent::AiState;
use common::*;
use storage::{CrashMode, Fault, FaultKind, SimStorage, StorageRef};

/// A copy of `image` that crashes (torn or not) at its `at`-th operation from now.
fn faulted(image: &SimStorage, at: u64, torn: bool) -> SimStorage {
    let run = image.crash_image(CrashMode::LoseUnsynced);
    run.set_fault(Some(Fault {
        at_op: run.op_count() + at,
        kind: if torn {
            FaultKind::TornWriteCrash
        } else {
            FaultKind::Crash
        },
    }));
    run
}

fn check_after_crash(
    sim: &SimStorage,
    ai_number: u32,
    target: &Path,
    notes: &[u8],
    seq: u64,
) -> AiState {
    let storage: StorageRef = Arc::new(sim.clone());
    let db = engine::DbPath::parse("/db/t").unwrap();
    let s = storage.as_ref();
    let infos = engine::ai_extents(&storage, &db).unwrap();
    let state = infos
        .iter()
        .find(|i| i.ai_number == ai_number)
        .unwrap()
        .state;
    assert!(matches!(state, AiState::Full | AiState::Empty), "{state}");
    if s.exists(target) {
        let (got_seq, _, got) = read_archive(s, target);
        assert_eq!(
            (got_seq, got.as_slice()),
            (seq, notes),
            "an archived file is complete"
        );
    } else {
        assert_eq!(
            state,
            AiState::Full,
            "an extent is emptied only once archived"
        );
    }
    // Archiving again finishes it.
    aiarchiver::archive_full_extents(&storage, &db).unwrap();
    let infos = engine::ai_extents(&storage, &db).unwrap();
    assert_eq!(
        infos
            .iter()
            .find(|i| i.ai_number == ai_number)
            .unwrap()
            .state,
        AiState::Empty
    );
    let (got_seq, _, got) = read_archive(s, target);
    assert_eq!((got_seq, got.as_slice()), (seq, notes));
    assert!(!s.exists(&aiarchiver::tmp_path(target)));
    let log = text(s, &archival_log_path(&db));
    let records = log
        .lines()
        .filter(|l| l.ends_with(&format!(",{}", target.display())))
        .count();
    assert_eq!(records, 1, "{log}");
    state
}

#[test]
fn a_crash_at_every_step_of_an_archive() {
    let (sim, storage, db) = sim_db();
    db_with_full(&storage, &db, 3, 1);
    aiarchiver::enable(&storage, &db, &Settings::new("/arch1", 0, true).unwrap()).unwrap();
    let info = oldest_full(&engine::ai_extents(&storage, &db).unwrap());
    let notes = notes_of(storage.as_ref(), &info.path);
    let name = aiarchiver::archive_name(
        &db.control_path(),
        info.ai_begin_time,
        info.ai_seq,
        &info.path,
    );
    let target = Path::new("/arch1").join(&name);
    let base = sim.crash_image(CrashMode::LoseUnsynced);
    // How many mutating operations one whole archive takes.
    let total = {
        let run = base.crash_image(CrashMode::LoseUnsynced);
        let before = run.op_count();
        let st: StorageRef = Arc::new(run.clone());
        aiarchiver::archive_full_extents(&st, &db).unwrap();
        run.op_count() - before
    };
    assert!(total > 5, "{total}");
    let mut emptied = 0;
    for at in 0..total {
        for torn in [false, true] {
            let run = faulted(&base, at, torn);
            let st: StorageRef = Arc::new(run.clone());
            // Writes to the event log and the lock file's release ignore failures, so a
            // crash there may still return Ok.
            let _ = aiarchiver::archive_full_extents(&st, &db);
            assert!(run.crashed(), "op {at}");
            for mode in [
                CrashMode::LoseUnsynced,
                CrashMode::KeepRandomSubset { seed: at },
            ] {
                let after = run.crash_image(mode);
                let state =
                    check_after_crash(&after, info.ai_number, &target, &notes, info.ai_seq.0);
                if state == AiState::Empty {
                    emptied += 1;
                }
            }
        }
    }
    assert!(emptied > 0, "some crash came after the extent was emptied");
}

/// A named operation on the database's storage; true if it succeeded.
type Step<'a> = (&'a str, &'a dyn Fn(&StorageRef) -> bool);

/// A crash at every write and sync of `aiarchiver enable` (settings file, then the master
/// block flag), then of a `setdir` that replaces the settings: the settings read back are the
/// old or the new ones, never damaged, and the flag is on only once its settings are durable.
#[test]
fn a_crash_at_every_step_of_enable_and_setdir() {
    let (sim, storage, db) = sim_db();
    db_with_full(&storage, &db, 3, 1);
    let first = Settings::new("/arch1", 0, true).unwrap();
    let base = sim.crash_image(CrashMode::LoseUnsynced);
    let steps: [Step<'_>; 2] = [
        ("enable", &|st| aiarchiver::enable(st, &db, &first).is_ok()),
        ("setdir", &|st| {
            aiarchiver::set_dirs(st, &db, "/arch2,/arch1", true).is_ok()
        }),
    ];
    let mut image = base;
    for (name, step) in steps {
        let total = {
            let run = image.crash_image(CrashMode::LoseUnsynced);
            let before = run.op_count();
            let st: StorageRef = Arc::new(run.clone());
            assert!(step(&st), "{name} runs");
            run.op_count() - before
        };
        assert!(total >= 3, "{name}: {total}");
        let old = aiarchiver::read_settings(&image, &db).unwrap();
        for at in 0..total {
            for torn in [false, true] {
                let run = faulted(&image, at, torn);
                let st: StorageRef = Arc::new(run.clone());
                let _ = step(&st);
                for mode in [
                    CrashMode::LoseUnsynced,
                    CrashMode::KeepRandomSubset { seed: at },
                ] {
                    let after = run.crash_image(mode);
                    let st: StorageRef = Arc::new(after.clone());
                    let read = aiarchiver::read_settings(st.as_ref(), &db)
                        .unwrap_or_else(|e| panic!("{name} op {at}: damaged settings: {e}"));
                    let new = {
                        let done = after.crash_image(CrashMode::LoseUnsynced);
                        let st: StorageRef = Arc::new(done.clone());
                        assert!(step(&st), "{name} op {at}: runs again after the crash");
                        aiarchiver::read_settings(st.as_ref(), &db).unwrap()
                    };
                    assert!(
                        read == old || read == new,
                        "{name} op {at}: {read:?} is neither {old:?} nor {new:?}"
                    );
                    let on = engine::describe(&st, &db)
                        .unwrap()
                        .master
                        .flags
                        .archiver_enabled;
                    if on {
                        assert!(read.is_some(), "{name} op {at}: the flag without settings");
                    }
                }
            }
        }
        let run = image.crash_image(CrashMode::LoseUnsynced);
        let st: StorageRef = Arc::new(run.clone());
        assert!(step(&st));
        image = run.crash_image(CrashMode::LoseUnsynced);
    }
}
