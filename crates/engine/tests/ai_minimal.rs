//! A full-image note (a block's first change after a checkpoint) is whole in the BI, for crash
//! recovery, but minimal in the AI, and rolling that AI forward onto a copy still gives the
//! source's content.

mod common;

use std::sync::Arc;

use aiextent::NoteKind;
use common::ai::*;
use common::*;
use engine::{Database, ReplayOptions, RollForwardTarget};
use parking_lot::Mutex;
use storage::{CrashMode, StorageRef};

#[test]
fn a_full_image_is_minimal_in_the_ai_and_rolls_forward() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 4, None);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    let mut txn = d.begin().unwrap();
    for i in 0..12 {
        txn.insert("a", &format!("k{i:03}"), &[b'v'; 40]).unwrap();
    }
    txn.commit().unwrap();
    d.close().unwrap();
    let copy: StorageRef = Arc::new(sim.crash_image(CrashMode::LoseUnsynced));

    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    d.checkpoint().unwrap();
    let after_checkpoint = d.master().next_note_seq.0;
    let mut txn = d.begin().unwrap();
    txn.update("a", "k005", &[b'w'; 40]).unwrap();
    txn.commit().unwrap();
    let source = dump(&d);
    d.close().unwrap();

    let ai = check_ai(&storage, &db, &notes.lock(), &[]);
    let first = ai
        .iter()
        .find(|n| n.seq >= after_checkpoint && n.kind == NoteKind::BlockChange)
        .expect("the update changed a block");
    let bi = notes.lock()[&first.seq].clone();
    assert!(
        bi.len() > 1000,
        "a full image in the BI: {} bytes",
        bi.len()
    );
    assert!(
        first.body.len() < 200,
        "a minimal note in the AI: {} bytes",
        first.body.len()
    );
    assert!(is_minimal_of(&first.body, &bi));

    let mut target = RollForwardTarget::open(copy.clone(), &db, &ReplayOptions::default()).unwrap();
    target
        .start(|mb| {
            mb.ai_enabled = false;
            mb.ai_busy_extent = 0;
        })
        .unwrap();
    for n in &ai {
        with_note(&n.body, |note| target.apply(note)).unwrap();
    }
    assert_eq!(target.open_txn_count(), 0);
    target.finish(|_| {}).unwrap();
    assert_eq!(reopen_and_dump(&copy, &db), source);
}
