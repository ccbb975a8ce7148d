//! Every refusal of roll forward has its number and leaves the database exactly as it was:
//! a skipped `sequence` (8019), a file of another database, a file that is not an AI file, an
//! Empty one, a truncated or damaged Full one, a standby opened between two roll forwards
//! (831, 832, 833), a roll forward after its end point (17923), retry misuse, an end point the
//! database is already past; a damaged first file of a restored backup, applied while it is
//! checked (a held start), refused with its BI back to its header.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use engine::DbPath;
use rollforward::{Event, RollForwardOptions, StopAt};
use storage::{Storage, StorageRef};

/// A copy whose sequence was set, and the source's files from there, in the copy's storage.
fn standby(seed: u64) -> (Source, StorageRef, DbPath, Vec<PathBuf>) {
    let mut src = Source::new();
    src.work(8, seed, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    src.work(20, seed + 1, Some(7));
    let files = put_files(&copy, &src.files_from(k.0));
    (src, copy, db, files)
}

/// Runs a roll forward that must fail with `number` and change nothing; returns the numbers
/// of the messages it printed.
fn refused(
    storage: &StorageRef,
    db: &DbPath,
    files: &[PathBuf],
    opts: &RollForwardOptions,
    number: u32,
) -> Vec<u32> {
    let before = snapshot(storage);
    let mut messages = Vec::new();
    let e = rollforward::roll_forward(storage, db, files, opts, &mut |e| {
        if let Event::Message { number, .. } = e {
            messages.push(number);
        }
    })
    .unwrap_err();
    assert_eq!(e.msg_number(), number, "{e}");
    assert!(!e.to_string().contains(&format!("({number})")));
    assert!(before == snapshot(storage), "{e}: the database changed");
    messages
}

#[test]
fn skipped_sequence_is_8019() {
    let mut src = Source::new();
    src.work(6, 20, Some(3));
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let k = src.current_seq();
    assert!(k > 1);
    src.work(6, 21, Some(3));
    let files = put_files(&copy, &src.files_from(k));
    refused(&copy, &db, &files, &rf_opts(), 8019);
    // After `sequence` the same file applies.
    engine::set_sequence(&copy, &db).unwrap();
    roll(&copy, &db, &files, &rf_opts()).unwrap();
    assert_eq!(dump_of(&copy, &db), src.dump());
}

#[test]
fn a_file_of_another_database_is_refused() {
    let (_, copy, db, files) = standby(30);
    let mut other = Source::new();
    other.work(3, 31, None);
    let (seq, bytes) = other.busy();
    let path = Path::new("/arch/other.a1");
    storage::create_durable(copy.as_ref(), path, &bytes).unwrap();
    assert_eq!(seq, 1);
    refused(&copy, &db, &[path.to_path_buf()], &rf_opts(), 91001);
    // Not an AI file at all, and an Empty one.
    let bi = Path::new("/db/src.b1");
    refused(&copy, &db, &[bi.to_path_buf()], &rf_opts(), 91000);
    refused(
        &copy,
        &db,
        &[PathBuf::from("/arch/none")],
        &rf_opts(),
        91000,
    );
    let empty = Path::new("/db/src.a8");
    refused(&copy, &db, &[empty.to_path_buf()], &rf_opts(), 91002);
    roll(&copy, &db, &files, &rf_opts()).unwrap();
}

/// Writes `bytes` to `path` with one bit flipped `from_end` bytes before their end.
fn flipped_copy(storage: &StorageRef, bytes: &[u8], from_end: usize, path: &str) -> PathBuf {
    let mut flipped = bytes.to_vec();
    let at = bytes.len() - from_end;
    flipped[at] ^= 0x40;
    storage::create_durable(storage.as_ref(), Path::new(path), &flipped).unwrap();
    PathBuf::from(path)
}

#[test]
fn a_truncated_or_damaged_full_file_is_refused() {
    let (src, copy, db, files) = standby(40);
    let bytes = storage::read_all(copy.as_ref(), &files[0]).unwrap();
    let cut = Path::new("/arch/cut");
    storage::create_durable(copy.as_ref(), cut, &bytes[..bytes.len() - 100]).unwrap();
    refused(&copy, &db, &[cut.to_path_buf()], &rf_opts(), 90307);
    let bad = flipped_copy(&copy, &bytes, 50, "/arch/flipped");
    refused(&copy, &db, &[bad], &rf_opts(), 90305);
    roll(&copy, &db, &files, &rf_opts()).unwrap();
    assert_eq!(dump_of(&copy, &db), src.dump());
}

#[test]
fn a_damaged_file_applied_while_checked_changes_nothing() {
    let mut src = Source::new();
    src.work(6, 60, None);
    let (target, first) = restored(&src, 1);
    let db = db_path();
    src.work(30, 61, Some(10));
    src.archive_full();
    let files = put_files(&target, &src.files_from(first));
    // The last note is damaged: every note before it is applied (held) before the check ends.
    let bytes = storage::read_all(target.as_ref(), &files[0]).unwrap();
    let bad = flipped_copy(&target, &bytes, 10, "/arch/flipped-first");
    refused(&target, &db, &[bad], &rf_opts(), 90305);
    assert_eq!(bi_size(&target, &db), 4096, "the BI is its header alone");
    roll(&target, &db, &files, &rf_opts()).unwrap();
    assert_eq!(dump_of(&target, &db), src.dump());
}

#[test]
fn a_standby_opened_between_two_roll_forwards_is_833() {
    let (_, copy, db, files) = standby(50);
    roll(&copy, &db, &files[..1], &rf_opts()).unwrap();
    engine::Database::open(copy.clone(), &db, source_opts())
        .unwrap()
        .close()
        .unwrap();
    let messages = refused(&copy, &db, &files[1..], &rf_opts(), 833);
    assert_eq!(messages, vec![831, 832]);
}

#[test]
fn after_the_end_point_later_files_are_17923() {
    let (src, copy, db, files) = standby(60);
    // Stop at the transaction that ends the second file's notes: the first file is whole.
    let second = storage::read_all(copy.as_ref(), &files[1]).unwrap();
    let end = first_commit_time(&second);
    let opts = RollForwardOptions {
        stop: Some(StopAt::EndTime { time_micros: end }),
        ..rf_opts()
    };
    let mut messages = Vec::new();
    let summary = rollforward::roll_forward(&copy, &db, &files, &opts, &mut |e| {
        if let Event::Message { number, .. } = e {
            messages.push(number);
        }
    })
    .unwrap();
    assert!(messages.contains(&17923), "{messages:?}");
    assert!(messages.contains(&91041), "later files are not applied");
    assert!(summary.files.len() == 2 && summary.files[1].stop_reached);
    let mb = engine::describe(&copy, &db).unwrap().master;
    assert!(mb.flags.rf_stop_reached);
    assert_eq!(mb.rf_stop_time, end);
    refused(&copy, &db, &files[2..], &rf_opts(), 17923);
    assert_ne!(dump_after_use(&copy, &db), src.dump());
}

/// The time of the first commit note of an AI file's bytes.
fn first_commit_time(file: &[u8]) -> i64 {
    let sim = storage::SimStorage::new();
    let path = Path::new("/f");
    storage::create_durable(&sim, path, file).unwrap();
    let f = sim.open(path, storage::OpenMode::Read).unwrap();
    let ext = aiextent::AiExtentFile::open(f, path).unwrap();
    let mut r = ext.read_notes().unwrap();
    while let Some(n) = r.next().unwrap() {
        if n.header.kind == aiextent::NoteKind::TxCommit {
            return n.header.aux as i64;
        }
    }
    panic!("no commit in the file");
}

#[test]
fn retry_is_only_for_an_interrupted_roll_forward() {
    let (src, copy, db, files) = standby(70);
    let retry = RollForwardOptions {
        retry: true,
        ..rf_opts()
    };
    refused(&copy, &db, &files, &retry, 91003);
    // Interrupt a roll forward half way: count its storage operations on one copy, then
    // crash another copy in the middle.
    let count = copy_sim(&copy);
    let before = count.op_count();
    roll(&storage_of(&count), &db, &files, &rf_opts()).unwrap();
    let half = (count.op_count() - before) / 2;
    let sim = copy_sim(&copy);
    sim.set_fault(Some(storage::Fault {
        at_op: sim.op_count() + half,
        kind: storage::FaultKind::Crash,
    }));
    assert!(roll(&storage_of(&sim), &db, &files, &rf_opts()).is_err());
    let target = storage_of(&sim.crash_image(storage::CrashMode::LoseUnsynced));
    assert_eq!(
        state_of(&target, &db),
        masterblock::DbState::RollForwardInProgress
    );
    let e = engine::Database::open(target.clone(), &db, source_opts())
        .err()
        .unwrap();
    assert_eq!(e.msg_number(), 90670);
    refused(&target, &db, &files, &rf_opts(), 91004);
    roll(&target, &db, &files, &retry).unwrap();
    assert_eq!(dump_of(&target, &db), src.dump());
}

#[test]
fn an_end_point_already_passed_is_refused() {
    let mut src = Source::new();
    src.work(4, 80, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    src.work(6, 81, None);
    let (seq, bytes) = src.busy();
    assert_eq!(seq, k.0);
    let files = put_files(&copy, &[(seq, bytes.clone())]);
    roll(&copy, &db, &files, &rf_opts()).unwrap();
    let first = first_commit_time(&bytes);
    let opts = RollForwardOptions {
        stop: Some(StopAt::EndTime { time_micros: first }),
        ..rf_opts()
    };
    refused(&copy, &db, &files, &opts, 91006);
}

#[test]
fn a_block_behind_its_note_is_1028_and_nothing_more_is_applied() {
    // The control area and BI of a later copy over the data of an earlier one: the target
    // claims notes its blocks do not have.
    let mut src = Source::new();
    src.work(10, 90, None);
    let early = storage_of(&src.os_copy());
    src.work(10, 91, None);
    let late = storage_of(&src.os_copy());
    for name in ["/db/src.db", "/db/src.b1"] {
        let bytes = storage::read_all(late.as_ref(), Path::new(name)).unwrap();
        let file = early
            .open(Path::new(name), storage::OpenMode::ReadWrite)
            .unwrap();
        file.set_len(0).unwrap();
        file.write_at(&bytes, 0).unwrap();
        file.sync().unwrap();
    }
    let db = db_path();
    let (_, k) = engine::set_sequence(&early, &db).unwrap();
    src.work(10, 92, None);
    let files = put_files(&early, &src.files_from(k.0));
    let e = roll(&early, &db, &files, &rf_opts()).unwrap_err();
    assert_eq!(e.msg_number(), 1028, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("update counter") && text.contains("area"),
        "{text}"
    );
    assert_eq!(
        state_of(&early, &db),
        masterblock::DbState::RollForwardInProgress
    );
}
