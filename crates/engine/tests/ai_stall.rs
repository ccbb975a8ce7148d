//! `-aistall` and emptying an extent while the database is open: with every AI extent full a
//! writer waits (3775 and 3776 in the event log, once a minute at most) instead of the database
//! stopping with 3774, and goes on by itself once an extent is emptied; nothing is lost.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aiextent::AiState;
use common::ai::*;
use common::*;
use engine::{AiExtentSelector, Database, OpenOptions};
use parking_lot::Mutex;
use storage::StorageRef;

fn log_text(storage: &StorageRef, db: &engine::DbPath) -> String {
    String::from_utf8(storage::read_all(storage.as_ref(), &db.log_path()).unwrap()).unwrap()
}

fn stall_opts() -> OpenOptions {
    OpenOptions {
        ai_stall: true,
        ..ai_opts(true)
    }
}

#[test]
fn a_full_ring_stalls_writers_until_an_extent_is_emptied() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 2, Some(48));
    let d = Database::open(storage.clone(), &db, stall_opts()).unwrap();
    let txns = 300;
    let mut expected = Dump::new();
    for t in 0..txns {
        for i in 0..4 {
            expected.insert(("a".into(), format!("k{t:04}-{i}")), vec![b'x'; 80]);
        }
    }
    let mut empties = 0;
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for t in 0..txns {
                let mut txn = d.begin().unwrap();
                for i in 0..4 {
                    txn.insert("a", &format!("k{t:04}-{i}"), &[b'x'; 80])
                        .unwrap();
                }
                txn.commit().unwrap();
            }
        });
        while !writer.is_finished() {
            if d.ai_stalled_writers() == 0 {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            // Stalled: the ring is full and stays so until an extent is emptied.
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(d.ai_stalled_writers(), 1, "the writer went on by itself");
            let full = d
                .ai_extents()
                .unwrap()
                .into_iter()
                .filter(|i| i.state == AiState::Full)
                .min_by_key(|i| i.ai_seq)
                .expect("a stall has a full extent");
            assert_eq!(d.ai_extent_empty(None).unwrap(), full.ai_number);
            empties += 1;
            // The writer goes on by itself: the emptied extent becomes the busy one.
            while d
                .ai_extents()
                .unwrap()
                .iter()
                .any(|i| i.ai_number == full.ai_number && i.state == AiState::Empty)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        writer.join().unwrap();
    });
    assert!(empties >= 3, "the writer stalled only {empties} times");
    let log = log_text(&storage, &db);
    assert_eq!(
        log.matches("(3775)").count(),
        1,
        "3775 more than once a minute"
    );
    assert_eq!(
        log.matches("(3776)").count(),
        1,
        "3776 more than once a minute"
    );
    assert!(!log.contains("(3774)"), "the database stopped");
    assert_eq!(dump(&d), expected);
    d.close().unwrap();
    let d = Database::open(storage.clone(), &db, stall_opts()).unwrap();
    assert_eq!(dump(&d), expected);
    d.close().unwrap();
}

#[test]
fn emptying_online_refuses_the_busy_extent_and_a_database_without_after_imaging() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, None);
    let d = Database::open(storage.clone(), &db, stall_opts()).unwrap();
    let busy = d
        .ai_extents()
        .unwrap()
        .into_iter()
        .find(|i| i.state == AiState::Busy)
        .unwrap();
    let e = d
        .ai_extent_empty(Some(AiExtentSelector::Number(busy.ai_number)))
        .unwrap_err();
    assert_eq!(
        e.msg_number(),
        aiextent::Error::CannotEmptyBusy {
            path: busy.path.clone(),
            ai_number: busy.ai_number,
        }
        .msg_number()
    );
    let e = d.ai_extent_empty(None).unwrap_err();
    assert_eq!(e.msg_number(), aiextent::Error::NoFullExtent.msg_number());
    d.ai_new().unwrap();
    let by_path = d
        .ai_extent_empty(Some(AiExtentSelector::Path(busy.path.clone())))
        .unwrap();
    assert_eq!(by_path, busy.ai_number);
    d.close().unwrap();

    let (_, plain, db) = sim_db();
    create_standard(&plain, &db);
    let d = Database::open(plain, &db, opts()).unwrap();
    let e = d.ai_extent_empty(None).unwrap_err();
    assert_eq!(e.msg_number(), aiextent::Error::AiNotEnabled.msg_number());
    d.close().unwrap();
}
