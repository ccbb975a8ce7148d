//! `aimage aioff` while the database is open: commits go on without a pause and stay durable
//! (in the BI alone afterwards), every extent is Empty and the master block says off, writers
//! stalled on a full ring (`-aistall`) go on, and a crash at any step leaves after-imaging on
//! with the extents as before, or off, with nothing committed lost.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aiextent::AiState;
use common::ai::*;
use common::*;
use engine::{Database, OpenOptions};
use storage::StorageRef;

fn all_empty(storage: &StorageRef, db: &engine::DbPath) -> bool {
    engine::ai_extents(storage, db)
        .unwrap()
        .iter()
        .all(|e| e.state == AiState::Empty)
}

#[test]
fn aioff_under_concurrent_commits_loses_nothing() {
    let (_sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 3, None);
    let d = Database::open(storage.clone(), &db, ai_opts(true)).unwrap();
    let threads = 3u32;
    let per_thread = 60u32;
    let models: Vec<Dump> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let d = &d;
                s.spawn(move || {
                    let mut model = Dump::new();
                    for i in 0..per_thread {
                        let mut txn = d.begin().unwrap();
                        let key = format!("t{t}-{i:03}");
                        let value = format!("v{i}-{}", "y".repeat((i % 30) as usize));
                        txn.insert("a", &key, value.as_bytes()).unwrap();
                        txn.commit().unwrap();
                        model.insert(("a".into(), key), value.into_bytes());
                    }
                    model
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5));
        d.ai_off().unwrap();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let expected: Dump = models.into_iter().flatten().collect();
    assert_eq!(dump(&d), expected);
    assert!(!d.master().ai_enabled);
    assert_eq!(d.ai_off().unwrap_err().msg_number(), 90675);
    d.close().unwrap();
    assert!(all_empty(&storage, &db));
    let mb = engine::describe(&storage, &db).unwrap().master;
    assert!(!mb.ai_enabled && !mb.flags.archiver_enabled);
    assert_eq!(reopen_and_dump(&storage, &db), expected);
    let log =
        String::from_utf8(storage::read_all(storage.as_ref(), &db.log_path()).unwrap()).unwrap();
    assert!(log.contains("aimage aioff"));
}

#[test]
fn aioff_releases_writers_stalled_on_a_full_ring() {
    let (_sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 2, Some(48));
    let opts = OpenOptions {
        ai_stall: true,
        ..ai_opts(false)
    };
    let d = Database::open(storage.clone(), &db, opts).unwrap();
    let mut expected = Dump::new();
    for t in 0..300u32 {
        for i in 0..4 {
            expected.insert(("a".into(), format!("k{t:04}-{i}")), vec![b'x'; 80]);
        }
    }
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for t in 0..300u32 {
                let mut txn = d.begin().unwrap();
                for i in 0..4 {
                    txn.insert("a", &format!("k{t:04}-{i}"), &[b'x'; 80])
                        .unwrap();
                }
                txn.commit().unwrap();
            }
        });
        while d.ai_stalled_writers() == 0 {
            assert!(!writer.is_finished(), "the ring never filled");
            std::thread::sleep(Duration::from_millis(2));
        }
        d.ai_off().unwrap();
        writer.join().unwrap();
    });
    assert_eq!(d.ai_stalled_writers(), 0);
    assert_eq!(dump(&d), expected);
    d.close().unwrap();
    assert!(all_empty(&storage, &db));
    assert_eq!(reopen_and_dump(&storage, &db), expected);
}

#[test]
fn aioff_is_refused_during_a_quiet_point_and_read_only() {
    let (_sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 2, None);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    d.quiet_enable(false).unwrap();
    assert_eq!(d.ai_off().unwrap_err().msg_number(), 90676);
    d.quiet_disable(false).unwrap();
    assert!(d.master().ai_enabled);
    d.close().unwrap();
    let ro = OpenOptions {
        access: engine::AccessMode::ReadOnly,
        ..ai_opts(false)
    };
    let d = Database::open(storage.clone(), &db, ro).unwrap();
    assert!(d.ai_off().is_err());
    d.close().unwrap();
    assert!(!all_empty(&storage, &db));
}

#[test]
fn crash_at_every_step_of_aioff_leaves_ai_on_as_before_or_off() {
    let (sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 3, None);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    let mut txn = d.begin().unwrap();
    for i in 0..40 {
        txn.insert("a", &format!("k{i:03}"), &[b'z'; 60]).unwrap();
    }
    txn.commit().unwrap();
    d.close().unwrap();
    let before: BTreeMap<u32, AiState> = engine::ai_extents(&storage, &db)
        .unwrap()
        .into_iter()
        .map(|e| (e.ai_number, e.state))
        .collect();
    let expected = reopen_and_dump(&storage, &db);
    let mut expected_after = expected.clone();
    expected_after.insert(("b".into(), "after".into()), b"off".to_vec());
    crash_every_op(
        &sim,
        |s: &StorageRef| {
            let d = Database::open(s.clone(), &db, ai_opts(false)).ok()?;
            d.ai_off().ok()?;
            let mut txn = d.begin().ok()?;
            txn.insert("b", "after", b"off").ok()?;
            txn.commit().ok()?;
            Some(())
        },
        |image, done, op| {
            let mb = engine::describe(image, &db).unwrap().master;
            let d = Database::open(image.clone(), &db, ai_opts(false))
                .unwrap_or_else(|e| panic!("op {op}: reopen fails: {e}"));
            d.check().unwrap();
            let got = dump(&d);
            let on = d.master().ai_enabled;
            d.close().unwrap();
            let states: BTreeMap<u32, AiState> = engine::ai_extents(image, &db)
                .unwrap()
                .into_iter()
                .map(|e| (e.ai_number, e.state))
                .collect();
            if on {
                assert!(mb.ai_enabled, "op {op}: after-imaging came back on");
                assert_eq!(states, before, "op {op}: extents changed with AI on");
            } else {
                assert!(
                    states.values().all(|s| *s == AiState::Empty),
                    "op {op}: AI off with extents not Empty"
                );
            }
            if done.is_some() {
                assert_eq!(got, expected_after, "op {op}: a commit was lost");
            } else {
                assert!(
                    got == expected || got == expected_after,
                    "op {op}: contents neither before nor after"
                );
            }
        },
    );
}
