//! With after-imaging on, a commit is acknowledged once the AI holds it durably; the BI may
//! lose that tail in a crash. Opening copies it back from the AI (the first change of each
//! block as a full image), so nothing acknowledged is lost, and a crash at any step of that
//! open, torn writes included, still ends with every acknowledged commit there.

mod common;

use std::sync::Arc;

use common::ai::*;
use common::*;
use engine::{Database, DbPath};
use parking_lot::Mutex;
use storage::{CrashMode, SimStorage, StorageRef};

fn log_text(storage: &StorageRef, db: &DbPath) -> String {
    String::from_utf8(storage::read_all(storage.as_ref(), &db.log_path()).unwrap()).unwrap()
}

/// The BI's note bytes (after its 4 KiB header region).
fn bi_notes(storage: &StorageRef, db: &DbPath) -> Vec<u8> {
    let bi_path = engine::describe(storage, db)
        .unwrap()
        .catalogue
        .bi_area()
        .extents[0]
        .path
        .clone();
    storage::read_all(storage.as_ref(), &bi_path).unwrap()[4096..].to_vec()
}

/// A database with after-imaging on whose last commits were acknowledged but never synced to
/// the BI, crashed (unsynced writes lost); its notes and the acknowledged contents.
fn crashed_with_bi_behind() -> (SimStorage, DbPath, SharedNotes, Dump) {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, None);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    for t in 0..6 {
        let mut txn = d.begin().unwrap();
        for i in 0..8 {
            txn.insert("a", &format!("k{t}-{i:03}"), b"acknowledged on the AI")
                .unwrap();
            txn.insert("b", &format!("k{t}-{i:03}"), &[b'z'; 90])
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let acked = dump(&d);
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    drop(d);
    let marker = b"acknowledged on the AI";
    let image_ref: StorageRef = Arc::new(image.clone());
    assert!(
        !bi_notes(&image_ref, &db)
            .windows(marker.len())
            .any(|w| w == marker),
        "the BI was synced at commit: nothing to copy"
    );
    (image, db, notes, acked)
}

#[test]
fn acknowledged_commits_only_in_the_ai_are_copied_to_the_bi_at_open() {
    let (image, db, notes, acked) = crashed_with_bi_behind();
    let storage = recording(&image, &notes);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    d.check().unwrap();
    assert_eq!(dump(&d), acked);
    d.close().unwrap();
    let log = log_text(&storage, &db);
    let line = log
        .lines()
        .find(|l| l.contains("were copied to the before-image log"))
        .expect("the copy is logged");
    let images: u64 = line
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the line counts the full images");
    assert!(images > 0, "no block change became a full image: {line}");
    let ai = check_ai(&storage, &db, &notes.lock(), &[]);
    check_txns_ended(&ai);
}

#[test]
fn a_crash_at_any_step_of_the_open_that_copies_loses_nothing() {
    let (image, db, _, acked) = crashed_with_bi_behind();
    crash_every_op(
        &image,
        |storage| {
            if let Ok(d) = Database::open(storage.clone(), &db, ai_opts(false)) {
                let _ = d.close();
            }
        },
        |storage, _, op| {
            let d = Database::open(storage.clone(), &db, ai_opts(false))
                .unwrap_or_else(|e| panic!("crash at op {op}: reopen failed: {e}"));
            d.check().unwrap();
            assert_eq!(dump(&d), acked, "crash at op {op}");
            d.close().unwrap();
        },
    );
}
