//! After-imaging without crashes: notes reach the AI, extents switch when full and on demand,
//! the database stops with 3774 when every extent is full and goes on once one is emptied,
//! and the offline administration and its refusals.

mod common;

use std::sync::Arc;

use aiextent::AiState;
use common::ai::*;
use common::*;
use engine::{AiExtentSelector, Database, Error};
use masterblock::{AiSeq, DbState};
use parking_lot::Mutex;
use storage::StorageRef;

fn log_text(storage: &StorageRef, db: &engine::DbPath) -> String {
    String::from_utf8(storage::read_all(storage.as_ref(), &db.log_path()).unwrap()).unwrap()
}

/// Commits `n` transactions of `per` inserts each into table `a` (keys from `from`).
fn commit_many(d: &Database, from: usize, n: usize, per: usize) -> Result<(), Error> {
    for t in 0..n {
        let mut txn = d.begin()?;
        for i in 0..per {
            txn.insert("a", &format!("k{:05}", from + t * per + i), &[b'v'; 60])?;
        }
        txn.commit()?;
    }
    Ok(())
}

#[test]
fn notes_go_to_the_ai_and_full_extents_switch_in_order() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 4, Some(48));
    for parallel in [false, true] {
        let d = Database::open(storage.clone(), &db, ai_opts(parallel)).unwrap();
        commit_many(&d, if parallel { 10_000 } else { 0 }, 40, 6).unwrap();
        let infos = d.ai_extents().unwrap();
        assert!(
            infos.iter().filter(|i| i.state == AiState::Full).count() >= 1,
            "{infos:?}"
        );
        d.close().unwrap();
        let ai = check_ai(&storage, &db, &notes.lock(), &[]);
        check_txns_ended(&ai);
        // Every extent was used once more; empty the full ones for the next round.
        while engine::aimage_extent_empty(&storage, &db, None).is_ok() {}
    }
    let text = log_text(&storage, &db);
    assert!(
        text.contains("This is after-image file number 2 since the last AIMAGE BEGIN (3778)"),
        "{text}"
    );
    let m = engine::describe(&storage, &db).unwrap().master;
    assert!(m.ai_seq_current.0 >= 3);
}

#[test]
fn all_extents_full_stops_the_database_and_an_emptied_extent_lets_it_go_on() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 2, Some(48));
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    let mut committed = Dump::new();
    let mut stopped = None;
    for t in 0..2000 {
        let mut txn = d.begin().unwrap();
        let mut keys = Vec::new();
        let mut outcome = Ok(());
        for i in 0..4 {
            let k = format!("k{t:04}-{i}");
            outcome = txn.insert("a", &k, &[b'x'; 80]);
            if outcome.is_err() {
                break;
            }
            keys.push(k);
        }
        let outcome = outcome.and_then(|()| txn.commit());
        match outcome {
            Ok(()) => {
                for k in keys {
                    committed.insert(("a".into(), k), vec![b'x'; 80]);
                }
            }
            Err(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    let e = stopped.expect("two 48 KiB extents fill up");
    assert_eq!(e.msg_number(), 3774);
    assert!(matches!(e, Error::AiExtentFull { .. }), "{e}");
    let full_path = d.catalogue().ai_extents()[0].extent.path.clone();
    let text = format!(
        "Can't switch to after-image extent {} it is full. Backup ai extent and mark it as empty",
        full_path.display()
    );
    assert_eq!(e.to_string(), text);
    assert!(log_text(&storage, &db).contains(&format!("{text} (3774)")));
    // Every later write and commit fails the same way.
    let e = d.begin().err().expect("the database stopped");
    assert_eq!(e.msg_number(), 3774);
    assert_eq!(d.checkpoint().unwrap_err().msg_number(), 3774);
    assert_eq!(d.close().unwrap_err().msg_number(), 3774);
    assert_eq!(
        engine::describe(&storage, &db).unwrap().master.state,
        DbState::Open
    );
    // Opening before an extent is emptied fails the same way (recovery needs the AI).
    let e = Database::open(storage.clone(), &db, ai_opts(false))
        .err()
        .unwrap();
    assert_eq!(e.msg_number(), 3774, "{e}");
    let archived = {
        let notes_now = notes.lock().clone();
        let all = check_ai(&storage, &db, &notes_now, &[]);
        let first_full = engine::ai_extents(&storage, &db)
            .unwrap()
            .into_iter()
            .filter(|i| i.state == AiState::Full)
            .min_by_key(|i| i.ai_seq)
            .unwrap();
        let n = engine::aimage_extent_empty(&storage, &db, None).unwrap();
        assert_eq!(n, first_full.ai_number);
        let left = ai_notes(&storage, &db);
        all[..all.len() - left.len()].to_vec()
    };
    // The next open rolls the transaction in flight back and writes go on.
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    assert_eq!(d.master().state, DbState::Open);
    assert_eq!(dump(&d), committed);
    let mut txn = d.begin().unwrap();
    txn.insert("b", "after", b"restart").unwrap();
    txn.commit().unwrap();
    d.close().unwrap();
    let ai = check_ai(&storage, &db, &notes.lock(), &archived);
    assert!(ai.iter().any(|n| n.kind == aiextent::NoteKind::TxRollback));
}

#[test]
fn aimage_new_switches_on_demand_and_refuses_a_full_next_extent_without_stopping() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, None);
    let s = engine::aimage_new(&storage, &db).unwrap();
    assert_eq!((s.from_extent, s.to_extent, s.new_seq), (1, 2, AiSeq(2)));
    let d = Database::open(storage.clone(), &db, ai_opts(true)).unwrap();
    commit_many(&d, 0, 2, 3).unwrap();
    let s = d.ai_new().unwrap();
    assert_eq!((s.from_extent, s.to_extent, s.new_seq), (2, 3, AiSeq(3)));
    commit_many(&d, 100, 2, 3).unwrap();
    let e = d.ai_new().unwrap_err();
    assert_eq!(e.msg_number(), 3774);
    // The database goes on.
    commit_many(&d, 200, 2, 3).unwrap();
    let infos = d.ai_extents().unwrap();
    let states: Vec<_> = infos.iter().map(|i| i.state).collect();
    assert_eq!(states, [AiState::Full, AiState::Full, AiState::Busy]);
    d.close().unwrap();
    let ai = check_ai(&storage, &db, &notes.lock(), &[]);
    check_txns_ended(&ai);
    assert_eq!(
        engine::aimage_extent_empty(&storage, &db, Some(AiExtentSelector::Number(1))).unwrap(),
        1
    );
    let path = engine::describe(&storage, &db)
        .unwrap()
        .catalogue
        .ai_extents()[1]
        .extent
        .path
        .clone();
    assert_eq!(
        engine::aimage_extent_empty(&storage, &db, Some(AiExtentSelector::Path(path))).unwrap(),
        2
    );
    let e = engine::aimage_extent_empty(
        &storage,
        &db,
        Some(AiExtentSelector::Path("/db/nope.a9".into())),
    )
    .unwrap_err();
    assert_eq!(e.msg_number(), 90529);
    let s = engine::aimage_new(&storage, &db).unwrap();
    assert_eq!((s.from_extent, s.to_extent, s.new_seq), (3, 1, AiSeq(4)));
    check_ai(&storage, &db, &notes.lock(), &[]);
}

#[test]
fn variable_extents_switch_at_their_limit() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, None);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    commit_many(&d, 0, 80, 4).unwrap();
    let infos = d.ai_extents().unwrap();
    assert!(infos.iter().any(|i| i.state == AiState::Full), "{infos:?}");
    for i in &infos {
        assert!(i.used_bytes + 4096 <= 64 * 1024, "{i:?}");
    }
    d.close().unwrap();
    check_ai(&storage, &db, &notes.lock(), &[]);
}

#[test]
fn refusals_are_numbered() {
    let (_sim, storage, db) = sim_db();
    // No AI extents.
    create_standard(&storage, &db);
    engine::mark_backedup(&storage, &db).unwrap();
    assert_eq!(
        engine::aimage_begin(&storage, &db)
            .unwrap_err()
            .msg_number(),
        90313
    );
    assert_eq!(
        engine::set_sequence(&storage, &db)
            .unwrap_err()
            .msg_number(),
        90527
    );
    assert_eq!(
        engine::aimage_new(&storage, &db).unwrap_err().msg_number(),
        90317
    );
    // Changed since the last backup.
    let db2 = engine::DbPath::parse("/db/u").unwrap();
    engine::create_database(&storage, &db2, &ai_st(2, None), 1024).unwrap();
    let d = Database::open(storage.clone(), &db2, ai_opts(false)).unwrap();
    d.create_table("a", None).unwrap();
    d.close().unwrap();
    let e = engine::aimage_begin(&storage, &db2).unwrap_err();
    assert_eq!(e.msg_number(), 90314, "{e}");
    engine::mark_backedup(&storage, &db2).unwrap();
    engine::aimage_begin(&storage, &db2).unwrap();
    assert_eq!(
        engine::aimage_begin(&storage, &db2)
            .unwrap_err()
            .msg_number(),
        90315
    );
    // The busy extent cannot be emptied; nothing is full yet.
    let e =
        engine::aimage_extent_empty(&storage, &db2, Some(AiExtentSelector::Number(1))).unwrap_err();
    assert_eq!(e.msg_number(), 90321);
    assert_eq!(
        engine::aimage_extent_empty(&storage, &db2, None)
            .unwrap_err()
            .msg_number(),
        90319
    );
    // mark backedup needs a clean database; so does begin.
    let d = Database::open(storage.clone(), &db2, ai_opts(false)).unwrap();
    assert_eq!(
        engine::mark_backedup(&storage, &db2)
            .unwrap_err()
            .msg_number(),
        90501
    );
    drop(d);
    // Sequence: expected becomes current.
    engine::aimage_new(&storage, &db2).unwrap();
    let (old, new) = engine::set_sequence(&storage, &db2).unwrap();
    assert_eq!((old, new), (AiSeq(1), AiSeq(2)));
    assert!(log_text(&storage, &db2).contains("Ai sequence 1 changed to 2 (12428)"));
    // aimage end turns it off; sequence then refuses.
    engine::aimage_end(&storage, &db2).unwrap();
    let desc = engine::describe(&storage, &db2).unwrap();
    assert!(!desc.master.ai_enabled);
    assert!(desc.ai_extents.iter().all(|i| i.state == AiState::Empty));
    assert_eq!(
        engine::set_sequence(&storage, &db2)
            .unwrap_err()
            .msg_number(),
        90527
    );
    // The offline lock keeps others out until dropped.
    let lock = engine::OfflineLock::acquire(&storage, &db2).unwrap();
    assert_eq!(
        engine::ai_extents(&storage, &db2).unwrap_err().msg_number(),
        90501
    );
    drop(lock);
    assert_eq!(engine::ai_extents(&storage, &db2).unwrap().len(), 2);
}

#[test]
fn ai_extents_added_while_after_imaging_is_on_join_the_ring() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 2, None);
    engine::aimage_new(&storage, &db).unwrap();
    assert_eq!(
        engine::aimage_new(&storage, &db).unwrap_err().msg_number(),
        3774
    );
    let added =
        engine::add_extents(&storage, &db, &structure::StFile::parse("a /db\n").unwrap()).unwrap();
    assert_eq!(added.len(), 1);
    let s = engine::aimage_new(&storage, &db).unwrap();
    assert_eq!((s.from_extent, s.to_extent), (2, 3));
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    commit_many(&d, 0, 3, 3).unwrap();
    d.close().unwrap();
    let ai = check_ai(&storage, &db, &notes.lock(), &[]);
    assert!(ai.len() > 10);
}
