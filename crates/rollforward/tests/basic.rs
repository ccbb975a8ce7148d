//! Roll forward of OS copies and restored backups onto the source's content: whole files,
//! a busy file applied and then applied again once full, AI turned off on the target, the
//! standby kept closed by the operation lock, the events reported.

mod common;

use common::*;
use masterblock::{AiSeq, DbState};
use rollforward::{Event, RollForwardOptions, TxnEnd};

#[test]
fn os_copy_rolls_forward_to_the_source() {
    let mut src = Source::new();
    src.work(30, 1, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (old, new) = engine::set_sequence(&copy, &db).unwrap();
    assert_eq!(old, AiSeq(1));
    assert_eq!(new.0, src.current_seq());
    src.work(60, 2, Some(15));
    let files = put_files(&copy, &src.files_from(new.0));
    assert!(files.len() >= 4, "{files:?}");
    let mut messages = Vec::new();
    let mut committed = 0;
    let summary = rollforward::roll_forward(&copy, &db, &files, &rf_opts(), &mut |e| match e {
        Event::Message { number, .. } => messages.push(number),
        Event::Txn(t) if t.end == TxnEnd::Committed => committed += 1,
        _ => {}
    })
    .unwrap();
    assert_eq!(&messages[..5], &[663, 648, 659, 13292, 846]);
    assert_eq!(summary.state, DbState::Clean);
    assert_eq!(summary.txns_committed(), committed);
    assert!(committed >= 45, "{summary}");
    let mb = engine::describe(&copy, &db).unwrap().master;
    assert!(!mb.ai_enabled);
    assert_eq!(mb.ai_busy_extent, 0);
    let last = src.current_seq();
    assert_eq!(mb.ai_seq_expected.0, last, "the last file was busy");
    assert_eq!(dump_of(&copy, &db), src.dump());
}

#[test]
fn a_busy_file_is_finished_when_it_is_full() {
    let mut src = Source::new();
    src.work(10, 3, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    src.work(5, 4, None);
    let (busy_seq, busy) = src.busy();
    assert_eq!(busy_seq, k.0, "still busy");
    let first = put_files(&copy, &[(busy_seq, busy)]);
    let s1 = roll(&copy, &db, &first, &rf_opts()).unwrap();
    let mb = engine::describe(&copy, &db).unwrap().master;
    assert_eq!(mb.ai_seq_expected, k, "a busy file is expected again");
    assert_ne!(mb.rf_note_seq.0, 0);
    assert_eq!(dump_of(&copy, &db), src.dump());
    // The source goes on; the same file, now full, is applied again: its notes already in the
    // copy are skipped.
    src.work(20, 5, Some(10));
    let all = src.files_from(k.0);
    copy.remove(&first[0]).unwrap();
    let files = put_files(&copy, &all);
    let s2 = roll(&copy, &db, &files, &rf_opts()).unwrap();
    assert_eq!(s2.files[0].notes_skipped, s1.files[0].notes_read);
    assert!(s2.files[0].closed);
    assert_eq!(dump_of(&copy, &db), src.dump());
}

#[test]
fn restored_backup_rolls_forward() {
    let mut src = Source::new();
    src.work(12, 6, None);
    let (target, first) = restored(&src, 1);
    let expected_first = src.current_seq();
    assert_eq!(first, expected_first);
    let db = db_path();
    src.work(40, 7, Some(13));
    src.archive_full();
    let files = put_files(&target, &src.files_from(expected_first));
    let summary = roll(&target, &db, &files, &rf_opts()).unwrap();
    assert_eq!(summary.state, DbState::Clean);
    assert_eq!(dump_of(&target, &db), src.dump());
}

#[test]
fn oplock_keeps_the_standby_closed_until_opunlock() {
    let mut src = Source::new();
    src.work(5, 8, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    src.work(5, 9, Some(5));
    let files = put_files(&copy, &src.files_from(k.0));
    let opts = RollForwardOptions {
        oplock: true,
        ..rf_opts()
    };
    roll(&copy, &db, &files[..1], &opts).unwrap();
    let e = engine::Database::open(copy.clone(), &db, source_opts())
        .err()
        .unwrap();
    assert_eq!(e.msg_number(), 90672);
    // Reading is allowed, and roll forward goes on.
    assert_eq!(dump_of(&copy, &db).len(), dump_of(&copy, &db).len());
    roll(&copy, &db, &files[1..], &rf_opts()).unwrap();
    assert!(engine::roll_opunlock(&copy, &db).unwrap());
    assert!(!engine::roll_opunlock(&copy, &db).unwrap());
    engine::Database::open(copy.clone(), &db, source_opts())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn transactions_in_flight_wait_for_the_next_file_or_the_next_open() {
    let mut src = Source::new();
    src.work(5, 10, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    // A transaction spans a switch: begun in file k, committed in file k + 1.
    src.span_switch("span");
    let files = put_files(&copy, &src.files_from(k.0));
    assert_eq!(files.len(), 2);
    let s1 = roll(&copy, &db, &files[..1], &rf_opts()).unwrap();
    assert_eq!(s1.state, DbState::RolledForwardInFlight);
    assert_eq!(s1.txns_open, 1);
    let e = engine::Database::open(
        copy.clone(),
        &db,
        engine::OpenOptions {
            access: engine::AccessMode::ReadOnly,
            ..source_opts()
        },
    )
    .err()
    .unwrap();
    assert_eq!(e.msg_number(), 90671);
    // Opening a copy of the standby for use rolls the transaction back.
    let used = storage_of(&copy_sim(&copy));
    let rolled_back = dump_after_use(&used, &db);
    assert!(!rolled_back.contains_key(&("a".to_string(), "span".to_string())));
    // Rolling the next file forward commits it.
    let s2 = roll(&copy, &db, &files[1..], &rf_opts()).unwrap();
    assert_eq!(s2.state, DbState::Clean);
    assert_eq!(dump_of(&copy, &db), src.dump());
}

#[test]
fn the_bi_keeps_its_size_between_files_and_an_open_for_update_cuts_it() {
    let (src, copy, db, files) = standby_with_files(10, 40, 40, Some(10));
    assert!(files.len() >= 3, "{files:?}");
    // One file per run: each run's checkpoints reset the BI without cutting the file, and the
    // next run, on a database closed properly, writes over what is left.
    let mut largest = 0;
    for file in &files {
        roll(&copy, &db, std::slice::from_ref(file), &rf_opts()).unwrap();
        let size = bi_size(&copy, &db);
        assert!(size >= largest, "the BI was cut: {size} < {largest}");
        largest = size;
    }
    assert!(largest > 2 * 4096, "the BI holds old notes: {largest}");
    assert_eq!(dump_of(&copy, &db), src.dump());
    // An open for update cuts the file back to its header when it resets the BI.
    let after_use = dump_after_use(&copy, &db);
    assert_eq!(after_use, src.dump());
    assert_eq!(bi_size(&copy, &db), 4096);
}

#[test]
fn only_a_target_left_by_a_crash_cuts_the_bi_at_its_notes() {
    let (src, copy, db, files) = standby_with_files(10, 30, 42, Some(10));
    assert!(files.len() >= 2, "{files:?}");
    roll(&copy, &db, &files[..1], &rf_opts()).unwrap();
    let kept = bi_size(&copy, &db);
    assert!(kept > 2 * 4096, "{kept}");
    // Closed properly: the first write leaves the older bytes where they are.
    let mut target = engine::RollForwardTarget::open(copy.clone(), &db, &rf_opts().replay).unwrap();
    target.start(|_| {}).unwrap();
    drop(target);
    assert_eq!(bi_size(&copy, &db), kept);
    assert_eq!(state_of(&copy, &db), DbState::RollForwardInProgress);
    // Left in the middle (as by a crash): the file is cut after the valid notes (none here).
    let mut target = engine::RollForwardTarget::open(copy.clone(), &db, &rf_opts().replay).unwrap();
    target.start(|_| {}).unwrap();
    drop(target);
    assert_eq!(bi_size(&copy, &db), 4096);
    let retry = RollForwardOptions {
        retry: true,
        ..rf_opts()
    };
    roll(&copy, &db, &files[1..], &retry).unwrap();
    assert_eq!(dump_of(&copy, &db), src.dump());
}
