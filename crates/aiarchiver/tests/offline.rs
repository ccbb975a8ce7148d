//! Offline operations: enable, disable, setdir, setinterval and their refusals; archiving a
//! Full extent (the copy equals the extent's notes, the extent becomes Empty, the archival
//! log records it); never overwriting; a full disk moving on to the next directory.

mod common;

use std::path::{Path, PathBuf};

use aiarchiver::{Copied, Settings, archival_log_path, read_settings};
use aiextent::AiState;
use common::*;

#[test]
fn enable_disable_setdir_setinterval() {
    let (_sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 3, 48);
    let s = storage.as_ref();
    // Missing directory without create: refused, nothing written.
    let settings = Settings::new("/arch1,/arch2", 0, false).unwrap();
    let e = aiarchiver::enable(&storage, &db, &settings).unwrap_err();
    assert_eq!(e.msg_number(), 91211, "{e}");
    assert!(read_settings(s, &db).unwrap().is_none());
    assert!(
        !engine::describe(&storage, &db)
            .unwrap()
            .master
            .flags
            .archiver_enabled
    );
    // setdir / setinterval before any enable.
    assert_eq!(
        aiarchiver::set_interval(&storage, &db, 600)
            .unwrap_err()
            .msg_number(),
        91213
    );
    assert_eq!(
        aiarchiver::set_dirs(&storage, &db, "/x", true)
            .unwrap_err()
            .msg_number(),
        91213
    );
    // With create.
    let settings = Settings::new("/arch1,/arch2", 3600, true).unwrap();
    aiarchiver::enable(&storage, &db, &settings).unwrap();
    assert!(s.exists(Path::new("/arch1")) && s.exists(Path::new("/arch2")));
    assert_eq!(read_settings(s, &db).unwrap().unwrap(), settings);
    assert!(s.exists(Path::new("/db/t.aifm")));
    assert!(
        engine::describe(&storage, &db)
            .unwrap()
            .master
            .flags
            .archiver_enabled
    );
    // setinterval keeps the directories.
    let got = aiarchiver::set_interval(&storage, &db, 120).unwrap();
    assert_eq!(got.dirs, settings.dirs);
    assert_eq!(got.interval_secs, 120);
    assert_eq!(
        aiarchiver::set_interval(&storage, &db, 60)
            .unwrap_err()
            .msg_number(),
        91210
    );
    // setdir keeps the interval; a missing directory without create is refused.
    assert_eq!(
        aiarchiver::set_dirs(&storage, &db, "/arch3", false)
            .unwrap_err()
            .msg_number(),
        91211
    );
    let got = aiarchiver::set_dirs(&storage, &db, "/arch3", true).unwrap();
    assert_eq!(got.dirs, [PathBuf::from("/arch3")]);
    assert_eq!(got.interval_secs, 120);
    assert_eq!(read_settings(s, &db).unwrap().unwrap(), got);
    assert_eq!(
        aiarchiver::set_dirs(&storage, &db, "/a b", true)
            .unwrap_err()
            .msg_number(),
        91207
    );
    // Disable clears the flag, keeps the settings.
    aiarchiver::disable(&storage, &db).unwrap();
    assert!(
        !engine::describe(&storage, &db)
            .unwrap()
            .master
            .flags
            .archiver_enabled
    );
    assert_eq!(read_settings(s, &db).unwrap().unwrap(), got);
    // Refused while the database is open.
    let d = engine::Database::open(storage.clone(), &db, opts()).unwrap();
    assert_eq!(
        aiarchiver::enable(&storage, &db, &settings)
            .unwrap_err()
            .msg_number(),
        90501
    );
    d.close().unwrap();
    // Enable needs after-imaging.
    engine::aimage_end(&storage, &db).unwrap();
    assert_eq!(
        aiarchiver::enable(&storage, &db, &settings)
            .unwrap_err()
            .msg_number(),
        91212
    );
    assert_eq!(
        engine::set_archiver_enabled(&storage, &db, true)
            .unwrap_err()
            .msg_number(),
        90317
    );
}

#[test]
fn archiving_a_full_extent_copies_its_notes_and_empties_it() {
    let (_sim, storage, db) = sim_db();
    db_with_full(&storage, &db, 3, 2);
    let s = storage.as_ref();
    let infos = engine::ai_extents(&storage, &db).unwrap();
    let first = oldest_full(&infos);
    let notes = notes_of(s, &first.path);
    s.create_dir_all(Path::new("/manual")).unwrap();
    // Not full: refused.
    let busy = infos.iter().find(|i| i.state == AiState::Busy).unwrap();
    let e =
        aiarchiver::archive_extent(&storage, &db, &busy.path, Path::new("/manual/x")).unwrap_err();
    assert_eq!(e.msg_number(), 91218, "{e}");
    assert_eq!(
        aiarchiver::archive_extent(
            &storage,
            &db,
            Path::new("/db/nope.a9"),
            Path::new("/manual/x")
        )
        .unwrap_err()
        .msg_number(),
        91219
    );
    // By hand, without AIFM: no archival log.
    let target = Path::new("/manual/first");
    let archived = aiarchiver::archive_extent(&storage, &db, &first.path, target).unwrap();
    assert_eq!(archived.copied, Copied::New);
    assert_eq!(archived.ai_seq, first.ai_seq);
    let (seq, n, copy) = read_archive(s, target);
    assert_eq!(seq, first.ai_seq.0);
    assert!(n > 1);
    assert_eq!(copy, notes);
    assert!(!s.exists(&aiarchiver::tmp_path(target)));
    let after = engine::ai_extents(&storage, &db).unwrap();
    let state = after
        .iter()
        .find(|i| i.ai_number == first.ai_number)
        .unwrap()
        .state;
    assert_eq!(state, AiState::Empty);
    assert!(!s.exists(&archival_log_path(&db)));
    // The target must not exist.
    let second = oldest_full(&after);
    let e = aiarchiver::archive_extent(&storage, &db, &second.path, target).unwrap_err();
    assert_eq!(e.msg_number(), 91214);
    assert_eq!(
        read_archive(s, target).2,
        notes,
        "the earlier archive is untouched"
    );
    // With AIFM on: the daemon's offline pass names the file and logs type 0001; a manual
    // archive logs 0003.
    aiarchiver::enable(&storage, &db, &Settings::new("/arch1", 0, true).unwrap()).unwrap();
    let second_notes = notes_of(s, &second.path);
    let done = aiarchiver::archive_full_extents(&storage, &db).unwrap();
    assert_eq!(done.len(), 1);
    let name = aiarchiver::archive_name(
        &db.control_path(),
        second.ai_begin_time,
        second.ai_seq,
        &second.path,
    );
    assert_eq!(done[0].target, Path::new("/arch1").join(&name));
    assert_eq!(read_archive(s, &done[0].target).2, second_notes);
    let log = text(s, &archival_log_path(&db));
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("0255,"), "{log}");
    assert!(lines[1].starts_with("0001,/db/t.db,"), "{log}");
    assert!(
        lines[1].ends_with(&format!(
            ",{:08},{},/arch1/{name}",
            second.ai_seq.0,
            second.path.display()
        )),
        "{log}"
    );
    assert_eq!(lines.len(), 2);
}

#[test]
fn an_archived_file_is_never_overwritten() {
    let (_sim, storage, db) = sim_db();
    db_with_full(&storage, &db, 3, 1);
    let s = storage.as_ref();
    aiarchiver::enable(&storage, &db, &Settings::new("/arch1", 0, true).unwrap()).unwrap();
    let info = oldest_full(&engine::ai_extents(&storage, &db).unwrap());
    let name = aiarchiver::archive_name(
        &db.control_path(),
        info.ai_begin_time,
        info.ai_seq,
        &info.path,
    );
    let target = Path::new("/arch1").join(&name);
    // A different file of that name: numbered error, the file kept, the extent still Full.
    storage::create_durable(s, &target, b"someone else's file").unwrap();
    let e = aiarchiver::archive_full_extents(&storage, &db).unwrap_err();
    assert_eq!(e.msg_number(), 91215, "{e}");
    assert_eq!(
        storage::read_all(s, &target).unwrap(),
        b"someone else's file"
    );
    let still = engine::ai_extents(&storage, &db).unwrap();
    assert_eq!(
        still
            .iter()
            .find(|i| i.ai_number == info.ai_number)
            .unwrap()
            .state,
        AiState::Full
    );
    // An identical copy (an archive cut short before the extent was emptied): accepted.
    s.remove(&target).unwrap();
    let region = aiarchiver::archived_header_region(
        &aiextent::AiExtentFile::open(
            s.open(&info.path, storage::OpenMode::Read).unwrap(),
            &info.path,
        )
        .unwrap()
        .header()
        .clone(),
    );
    let mut bytes = region;
    bytes.extend_from_slice(&notes_of(s, &info.path));
    storage::create_durable(s, &target, &bytes).unwrap();
    let done = aiarchiver::archive_full_extents(&storage, &db).unwrap();
    assert_eq!(done[0].copied, Copied::AlreadyThere);
    assert_eq!(storage::read_all(s, &target).unwrap(), bytes);
    let after = engine::ai_extents(&storage, &db).unwrap();
    assert_eq!(
        after
            .iter()
            .find(|i| i.ai_number == info.ai_number)
            .unwrap()
            .state,
        AiState::Empty
    );
}

#[test]
fn a_full_disk_moves_on_to_the_next_directory() {
    let (_sim, inner, db) = sim_db();
    let full = std::sync::Arc::new(FullDirs {
        inner,
        full: parking_lot::Mutex::new(vec![PathBuf::from("/arch1")]),
    });
    let storage: storage::StorageRef = full.clone();
    db_with_full(&storage, &db, 3, 2);
    let s = storage.as_ref();
    aiarchiver::enable(
        &storage,
        &db,
        &Settings::new("/arch1,/arch2", 0, true).unwrap(),
    )
    .unwrap();
    let infos = engine::ai_extents(&storage, &db).unwrap();
    let first = oldest_full(&infos);
    let notes = notes_of(s, &first.path);
    *full.full.lock() = vec![PathBuf::from("/arch1"), PathBuf::from("/arch2")];
    // Every directory full: numbered error, every extent stays Full, no tmp left.
    let e = aiarchiver::archive_full_extents(&storage, &db).unwrap_err();
    assert_eq!(e.msg_number(), 91217, "{e}");
    assert!(s.list_dir(Path::new("/arch1")).unwrap().is_empty());
    assert!(s.list_dir(Path::new("/arch2")).unwrap().is_empty());
    let again = engine::ai_extents(&storage, &db).unwrap();
    assert_eq!(again.iter().filter(|i| i.state == AiState::Full).count(), 2);
    // /arch2 has room again, /arch1 is still full: both go to /arch2.
    *full.full.lock() = vec![PathBuf::from("/arch1")];
    let done = aiarchiver::archive_full_extents(&storage, &db).unwrap();
    assert_eq!(done.len(), 2);
    assert!(
        done.iter().all(|a| a.target.starts_with("/arch2")),
        "{done:?}"
    );
    assert_eq!(read_archive(s, &done[0].target).2, notes);
    assert!(
        s.list_dir(Path::new("/arch1")).unwrap().is_empty(),
        "the partial tmp is removed"
    );
    assert_eq!(s.list_dir(Path::new("/arch2")).unwrap().len(), 2);
}
