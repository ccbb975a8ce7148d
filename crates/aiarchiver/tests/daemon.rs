//! The daemon over an open database: a writer filling small extents under `-aistall` is never
//! stuck for long, every extent is archived once and in order, timed mode switches the busy
//! extent, new settings reach the running daemon, and `stop` returns promptly.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiarchiver::{Archiver, DaemonOptions, Settings, archival_log_path};
use common::*;
use engine::{Database, OpenOptions};

fn stall_opts() -> OpenOptions {
    OpenOptions {
        ai_stall: true,
        ..opts()
    }
}

fn fast() -> DaemonOptions {
    DaemonOptions {
        poll: Duration::from_millis(20),
        interval_override: None,
    }
}

/// The sequences of the archived files in `dir`, in name order.
fn archived_seqs(storage: &dyn storage::Storage, dir: &Path) -> Vec<u64> {
    let mut names = storage.list_dir(dir).unwrap();
    names.sort();
    names
        .iter()
        .map(|n| {
            assert!(!n.ends_with(".tmp"), "{n}");
            let (seq, notes, _) = read_archive(storage, &dir.join(n));
            assert!(notes > 1);
            let field: u64 = n.split('.').nth(3).unwrap().parse().unwrap();
            assert_eq!(field, seq, "{n}");
            seq
        })
        .collect()
}

#[test]
fn writers_under_aistall_never_stay_stuck() {
    let (_sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 3, 48);
    let settings = Settings::new("/arch1", 0, true).unwrap();
    aiarchiver::enable(&storage, &db, &settings).unwrap();
    let d = Arc::new(Database::open(storage.clone(), &db, stall_opts()).unwrap());
    let daemon = Archiver::start_with(d.clone(), settings, fast()).unwrap();
    let writer = {
        let d = d.clone();
        std::thread::spawn(move || {
            let mut from = 0;
            let mut longest = Duration::ZERO;
            for _ in 0..400 {
                let t = Instant::now();
                let mut txn = d.begin().unwrap();
                for _ in 0..4 {
                    txn.insert("a", &format!("k{from:06}"), &[b'v'; 80])
                        .unwrap();
                    from += 1;
                }
                txn.commit().unwrap();
                longest = longest.max(t.elapsed());
            }
            longest
        })
    };
    let longest = writer.join().unwrap();
    assert!(
        longest < Duration::from_secs(5),
        "a commit waited {longest:?}"
    );
    // Let the daemon catch up with what filled last.
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    daemon.stop();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(!daemon.is_running());
    let status = daemon.status();
    assert_eq!(status.errors, 0, "{status:?}");
    let s = storage.as_ref();
    let seqs = archived_seqs(s, Path::new("/arch1"));
    assert!(seqs.len() >= 4, "{seqs:?}");
    assert_eq!(status.archived, seqs.len() as u64);
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "consecutive sequences");
    assert_eq!(seqs[0], 1);
    // The archival log: start line, version record, one 0001 record per archived file.
    let log = text(s, &archival_log_path(&db));
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[1].starts_with("# After-image Extent Manager started on : "),
        "{log}"
    );
    assert!(lines[0].starts_with("0255,"), "{log}");
    let records: Vec<&str> = lines[2..].to_vec();
    assert_eq!(records.len(), seqs.len(), "{log}");
    for (line, seq) in records.iter().zip(&seqs) {
        assert!(line.starts_with("0001,/db/t.db,"), "{line}");
        assert_eq!(line.split(',').nth(6).unwrap(), format!("{seq:08}"));
    }
    drop(daemon);
    Arc::into_inner(d).unwrap().close().unwrap();
}

#[test]
fn timed_mode_switches_and_new_settings_reach_the_daemon() {
    let (_sim, storage, db) = sim_db();
    create_ai_db(&storage, &db, 4, 48);
    let settings = Settings::new("/arch1", 0, true).unwrap();
    aiarchiver::enable(&storage, &db, &settings).unwrap();
    let d = Arc::new(Database::open(storage.clone(), &db, stall_opts()).unwrap());
    let daemon = Archiver::start_with(
        d.clone(),
        settings,
        DaemonOptions {
            poll: Duration::from_millis(20),
            interval_override: Some(Duration::from_millis(100)),
        },
    )
    .unwrap();
    // One small transaction: the busy extent holds notes, the timed switch makes it Full and
    // the daemon archives it.
    let mut txn = d.begin().unwrap();
    txn.insert("a", "one", b"1").unwrap();
    txn.commit().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while daemon.status().archived < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = daemon.status();
    assert!(status.switches >= 1 && status.archived >= 1, "{status:?}");
    // An idle busy extent is not switched again and again.
    std::thread::sleep(Duration::from_millis(400));
    let idle = daemon.status();
    assert_eq!(idle.switches, status.switches, "{idle:?}");
    // Online setdir: the next archive goes to /arch2.
    let new = aiarchiver::set_dirs_online(&d, "/arch2", true, Some(&daemon)).unwrap();
    assert_eq!(daemon.settings(), new);
    let mut txn = d.begin().unwrap();
    txn.insert("a", "two", b"2").unwrap();
    txn.commit().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let s = storage.as_ref();
    while (!s.exists(Path::new("/arch2")) || s.list_dir(Path::new("/arch2")).unwrap().is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let in2 = archived_seqs(s, Path::new("/arch2"));
    assert!(!in2.is_empty());
    let in1 = archived_seqs(s, Path::new("/arch1"));
    assert!(in1.iter().max() < in2.iter().min(), "{in1:?} {in2:?}");
    // A manual archive is refused while the daemon runs.
    let e = aiarchiver::archive_extent_online(
        &d,
        &PathBuf::from("/db/t.a1"),
        Path::new("/arch2/manual"),
        Some(&daemon),
    )
    .unwrap_err();
    assert_eq!(e.msg_number(), 91220);
    // Online setinterval reaches it too.
    aiarchiver::set_interval_online(&d, 600, Some(&daemon)).unwrap();
    assert_eq!(daemon.settings().interval_secs, 600);
    daemon.stop();
    assert_eq!(daemon.status().errors, 0, "{:?}", daemon.status());
    drop(daemon);
    Arc::into_inner(d).unwrap().close().unwrap();
    let lg = text(s, &db.log_path());
    assert!(
        lg.contains("After-image Extent Manager started (91250)"),
        "{lg}"
    );
    assert!(
        lg.contains("After-image Extent Manager stopped (91251)"),
        "{lg}"
    );
}

#[test]
fn a_failing_archive_is_logged_and_retried() {
    let (_sim, inner, db) = sim_db();
    let full = Arc::new(FullDirs {
        inner,
        full: parking_lot::Mutex::new(vec![PathBuf::from("/arch1")]),
    });
    let storage: storage::StorageRef = full.clone();
    create_ai_db(&storage, &db, 3, 48);
    let settings = Settings::new("/arch1", 0, true).unwrap();
    aiarchiver::enable(&storage, &db, &settings).unwrap();
    let d = Arc::new(Database::open(storage.clone(), &db, stall_opts()).unwrap());
    let daemon = Archiver::start_with(d.clone(), settings, fast()).unwrap();
    let mut from = 0;
    fill(&d, &mut from, 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while daemon.status().errors < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = daemon.status();
    assert!(status.errors >= 3, "{status:?}");
    assert_eq!(status.last_error.as_ref().unwrap().0, 91217);
    assert!(daemon.is_running());
    // The disk gets room: the next pass archives it.
    full.full.lock().clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    while daemon.status().archived < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(daemon.status().archived, 1);
    daemon.stop();
    drop(daemon);
    Arc::into_inner(d).unwrap().close().unwrap();
    let lg = text(storage.as_ref(), &db.log_path());
    assert_eq!(
        lg.matches("(91217)").count(),
        1,
        "logged once a minute at most: {lg}"
    );
}
