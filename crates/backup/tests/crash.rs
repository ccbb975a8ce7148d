//! Crashes at every write and sync of `probkup` and `prorest` (full and incremental), with torn
//! writes and with unsynced data lost or partly kept: a backup file under its final name is
//! always complete, and running the command again ends with the source's content.

mod common;

use std::path::Path;

use backup::{BackupOptions, backup, restore, temp_path, verify_partial};
use common::*;
use masterblock::DbState;
use storage::{CrashMode, Fault, FaultKind, SimStorage, Storage};

const KINDS: [FaultKind; 2] = [FaultKind::Crash, FaultKind::TornWriteCrash];

/// A fresh copy of `template` with a fault at the `k`-th mutating operation from now.
fn armed(template: &SimStorage, k: u64, kind: FaultKind) -> SimStorage {
    let copy = template.crash_image(CrashMode::LoseUnsynced);
    copy.set_fault(Some(Fault {
        at_op: copy.op_count() + k,
        kind,
    }));
    copy
}

/// Mutating operations `f` performs on a copy of `template`.
fn ops_of(template: &SimStorage, f: impl FnOnce(&SimStorage)) -> u64 {
    let copy = template.crash_image(CrashMode::LoseUnsynced);
    let before = copy.op_count();
    f(&copy);
    copy.op_count() - before
}

/// Every file of the directory except the lock file.
fn files(s: &dyn Storage, dir: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut all = snapshot(s, dir);
    all.retain(|name, _| !name.ends_with(".lk"));
    all
}

fn crash_backup(opts: BackupOptions, prepare: impl Fn(&SimStorage)) {
    let (sim, st) = machine();
    source(&st, 40);
    prepare(&sim);
    let expected = dump(&st, &src());
    let template = sim.crash_image(CrashMode::LoseUnsynced);
    let file = bk("c.bk");
    let n = ops_of(&template, |c| {
        backup(&handle(c), &src(), &file, opts, &mut |_| {}).unwrap();
    });
    for kind in KINDS {
        for k in 0..n {
            let run = armed(&template, k, kind);
            // The last operation (removing the lock file) may be hit after the backup is done.
            let _ = backup(&handle(&run), &src(), &file, opts, &mut |_| {});
            assert!(run.crashed(), "k={k}: the fault did not fire");
            for image in images(&run, k) {
                let st = handle(&image);
                let existed = st.exists(&file);
                if existed {
                    verify_partial(st.as_ref(), &file).unwrap();
                }
                let tmp = temp_path(&file);
                if st.exists(&tmp) && verify_partial(st.as_ref(), &tmp).is_ok() {
                    // A complete temporary file is a valid backup; it is not used below.
                    assert!(!existed || st.exists(&file));
                }
                let again = backup(&st, &src(), &file, opts, &mut |_| {});
                if existed {
                    assert_eq!(again.unwrap_err().msg_number(), 90901, "k={k}");
                } else {
                    again.unwrap();
                }
                assert_eq!(dump(&st, &src()), expected, "source after k={k}");
                if opts.incremental {
                    continue;
                }
                create(&st, &dst(), ST);
                restore(&st, &dst(), &file, &mut |_| {}).unwrap();
                assert_eq!(dump(&st, &dst()), expected, "restored after k={k}");
            }
        }
    }
}

#[test]
fn probkup_full_survives_a_crash_anywhere() {
    crash_backup(BackupOptions::default(), |_| {});
}

#[test]
fn probkup_incremental_compressed_survives_a_crash_anywhere() {
    let opts = BackupOptions {
        incremental: true,
        compress: true,
    };
    crash_backup(opts, |sim| {
        let st = handle(sim);
        backup(
            &st,
            &src(),
            &bk("base.bk"),
            BackupOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        change(&st, &src(), 30, 50);
    });
}

/// Crashes `prorest file` into `/dst/d` as it is in `template`; a rerun completes it.
fn crash_restore(file: &Path, template: &SimStorage, expected: &Dump) {
    let counter = backup::describe_backup(template, file)
        .unwrap()
        .backup_counter;
    let n = ops_of(template, |c| {
        restore(&handle(c), &dst(), file, &mut |_| {}).unwrap();
    });
    let mut original = files(template, "/dst");
    original.remove("d.db");
    let original_master = master(&handle(template), &dst());
    for kind in KINDS {
        for k in 0..n {
            let run = armed(template, k, kind);
            let _ = restore(&handle(&run), &dst(), file, &mut |_| {});
            assert!(run.crashed(), "k={k}: the fault did not fire");
            for image in images(&run, k) {
                let st = handle(&image);
                let mb = master(&st, &dst());
                // Untouched: the same master block, and every other file byte for byte (a torn
                // write into the unused master block slot changes no value).
                let mut now = files(&image, "/dst");
                now.remove("d.db");
                let untouched = now == original && mb == original_master;
                let done = mb.state == DbState::Clean && !untouched;
                match mb.state {
                    DbState::Restoring => {}
                    DbState::Clean if untouched => {}
                    DbState::Clean => {
                        // Past the commit point: the restore is complete.
                        assert_eq!(mb.backup_counter, counter, "k={k}");
                        assert!(&dump(&st, &dst()) == expected, "k={k}: completed restore");
                    }
                    other => panic!("k={k}: state {other:?}"),
                }
                let again = restore(&st, &dst(), file, &mut |_| {});
                match again {
                    Err(e) if done => assert_eq!(e.msg_number(), 90924, "k={k}: {e}"),
                    other => {
                        other.unwrap();
                    }
                }
                assert!(&dump(&st, &dst()) == expected, "k={k} {kind:?}");
            }
        }
    }
}

#[test]
fn prorest_full_survives_a_crash_anywhere() {
    let (sim, st) = machine();
    source(&st, 40);
    delete(&st, &src(), 0, 10);
    backup(
        &st,
        &src(),
        &bk("f.bk"),
        BackupOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let expected = dump(&st, &src());
    create(&st, &dst(), ST);
    crash_restore(
        &bk("f.bk"),
        &sim.crash_image(CrashMode::LoseUnsynced),
        &expected,
    );
}

#[test]
fn prorest_incremental_survives_a_crash_anywhere() {
    let (sim, st) = machine();
    source(&st, 40);
    backup(
        &st,
        &src(),
        &bk("f.bk"),
        BackupOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    change(&st, &src(), 20, 70);
    let opts = BackupOptions {
        incremental: true,
        compress: false,
    };
    backup(&st, &src(), &bk("i.bk"), opts, &mut |_| {}).unwrap();
    let expected = dump(&st, &src());
    create(&st, &dst(), ST);
    restore(&st, &dst(), &bk("f.bk"), &mut |_| {}).unwrap();
    crash_restore(
        &bk("i.bk"),
        &sim.crash_image(CrashMode::LoseUnsynced),
        &expected,
    );
}

#[test]
fn an_interrupted_restore_takes_only_itself_or_a_full_backup() {
    let (sim, st) = machine();
    source(&st, 40);
    backup(
        &st,
        &src(),
        &bk("f.bk"),
        BackupOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    change(&st, &src(), 20, 70);
    let opts = BackupOptions {
        incremental: true,
        compress: false,
    };
    backup(&st, &src(), &bk("i.bk"), opts, &mut |_| {}).unwrap();
    let expected = dump(&st, &src());
    // Restore into the source itself, cut short after the target is marked.
    let template = sim.crash_image(CrashMode::LoseUnsynced);
    let run = armed(&template, 8, FaultKind::Crash);
    assert!(restore(&handle(&run), &src(), &bk("f.bk"), &mut |_| {}).is_err());
    let image = run.crash_image(CrashMode::LoseUnsynced);
    let st = handle(&image);
    assert_eq!(master(&st, &src()).state, DbState::Restoring);
    let err = restore(&st, &src(), &bk("i.bk"), &mut |_| {}).unwrap_err();
    assert_eq!(err.msg_number(), 90926, "{err}");
    restore(&st, &src(), &bk("f.bk"), &mut |_| {}).unwrap();
    restore(&st, &src(), &bk("i.bk"), &mut |_| {}).unwrap();
    assert_eq!(dump(&st, &src()), expected);
}
