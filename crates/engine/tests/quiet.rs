//! Quiet points: `quiet_enable` holds every writer at a note boundary and makes the files
//! durable, so a copy taken meanwhile opens (crash recovery) to a consistent state holding
//! every commit acknowledged before the quiet point; writers go on after `quiet_disable`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::ai::*;
use common::*;
use engine::{Database, OpenOptions};
use parking_lot::Mutex;
use storage::{CrashMode, StorageRef};

/// Parts of a transaction in table `b` (long transactions: a quiet point lands inside them).
const PARTS: usize = 30;

/// Key `n` of one writer: in table `a` once, in table `b` with [`PARTS`] suffixes, in one
/// transaction.
fn key(writer: usize, n: usize) -> String {
    format!("w{writer}-{n:05}")
}

/// One writer's transaction `n`.
fn one_txn(d: &Database, w: usize, n: usize) -> Result<(), engine::Error> {
    let mut t = d.begin()?;
    t.insert("a", &key(w, n), b"whole")?;
    for p in 0..PARTS {
        t.insert("b", &format!("{}-{p:02}", key(w, n)), b"part")?;
    }
    t.commit()
}

/// Waits until `done`, failing if a writer failed (`stop` 2) or a minute passes.
fn wait_until(stop: &AtomicUsize, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert_ne!(stop.load(Ordering::SeqCst), 2, "a writer failed");
        assert!(
            std::time::Instant::now() < deadline,
            "the writers made no progress"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_copy_taken_at_a_quiet_point_is_a_consistent_baseline() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, None);
    let roomy = OpenOptions {
        ai_variable_limit_bytes: Some(64 << 20),
        ..ai_opts(true)
    };
    let d = Database::open(storage.clone(), &db, roomy).unwrap();
    let acked: Vec<AtomicUsize> = (0..2).map(|_| AtomicUsize::new(0)).collect();
    let stop = AtomicUsize::new(0);
    let (copy, lower, upper) = std::thread::scope(|s| {
        for (w, count) in acked.iter().enumerate() {
            let (d, stop) = (&d, &stop);
            s.spawn(move || {
                let mut n = 0;
                while stop.load(Ordering::SeqCst) == 0 {
                    match one_txn(d, w, n) {
                        Ok(()) => {
                            n += 1;
                            count.store(n, Ordering::SeqCst);
                        }
                        // Chosen as a deadlock victim: rolled back, tried again.
                        Err(engine::Error::Deadlock { .. }) => {}
                        Err(e) => {
                            stop.store(2, Ordering::SeqCst);
                            panic!("writer {w}: {e}");
                        }
                    }
                }
            });
        }
        wait_until(&stop, || {
            acked.iter().all(|c| c.load(Ordering::SeqCst) >= 20)
        });
        // Quiet points without a switch, landing inside transactions: nothing is appended.
        for round in 0..4 {
            d.quiet_enable(false).unwrap();
            let notes_before = d.stats().notes;
            std::thread::sleep(Duration::from_millis(20));
            let appended = d.stats().notes - notes_before;
            d.quiet_disable(false).unwrap();
            if appended > 0 {
                stop.store(1, Ordering::SeqCst);
                panic!("round {round}: {appended} notes were appended while quiet");
            }
            let next: Vec<usize> = acked.iter().map(|c| c.load(Ordering::SeqCst) + 2).collect();
            wait_until(&stop, || {
                acked
                    .iter()
                    .zip(&next)
                    .all(|(c, r)| c.load(Ordering::SeqCst) >= *r)
            });
        }
        let point = d.quiet_enable(true).unwrap();
        assert!(point.ai_switched.is_some(), "after-imaging on: a switch");
        assert!(d.is_quiet());
        let lower: Vec<usize> = acked.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        let notes_before = d.stats().notes;
        std::thread::sleep(Duration::from_millis(50));
        let notes_after = d.stats().notes;
        let copy = sim.crash_image(CrashMode::LoseUnsynced);
        let upper: Vec<usize> = acked.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        d.quiet_disable(false).unwrap();
        assert!(!d.is_quiet());
        if notes_after != notes_before {
            stop.store(1, Ordering::SeqCst);
            panic!(
                "{} notes were appended while quiet",
                notes_after - notes_before
            );
        }
        // Writers go on by themselves.
        let resumed: Vec<usize> = upper.iter().map(|n| n + 5).collect();
        wait_until(&stop, || {
            acked
                .iter()
                .zip(&resumed)
                .all(|(c, r)| c.load(Ordering::SeqCst) >= *r)
        });
        stop.store(1, Ordering::SeqCst);
        (copy, lower, upper)
    });
    d.close().unwrap();
    let copy: StorageRef = Arc::new(copy);
    let c = Database::open(copy.clone(), &db, ai_opts(false)).unwrap();
    c.check().unwrap();
    let found = dump(&c);
    c.close().unwrap();
    for (w, (lo, hi)) in lower.iter().zip(&upper).enumerate() {
        let n = (0..)
            .take_while(|&n| found.contains_key(&("a".into(), key(w, n))))
            .count();
        // A commit is durable before its call returns: a writer whose last commit was made
        // durable by another's group commit just before the quiet point may not have run since
        // to count it (on a loaded machine, for longer than the quiet point lasted). Writers
        // are held while quiet, so that is one commit at most.
        assert!(
            *lo <= n && n <= *hi + 1,
            "writer {w}: {n} commits in the copy, acknowledged {lo} before the quiet point and {hi} before its end"
        );
        for n in 0..n {
            for p in 0..PARTS {
                let k = format!("{}-{p:02}", key(w, n));
                assert!(found.contains_key(&("b".into(), k)), "half a transaction");
            }
        }
    }
    let rows = |t: &str| found.keys().filter(|(tt, _)| tt == t).count();
    assert_eq!(
        rows("a") * PARTS,
        rows("b"),
        "half a transaction in the copy"
    );
}

#[test]
fn quiet_point_refusals_and_markbackedup() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 2, None);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    assert_eq!(d.quiet_disable(false).unwrap_err().msg_number(), 90531);
    let before = d.master().backup_counter;
    d.quiet_enable(true).unwrap();
    assert_eq!(d.quiet_enable(true).unwrap_err().msg_number(), 90530);
    let marked = d.quiet_disable(true).unwrap().expect("marked backed up");
    assert_eq!(marked.backup_counter, before + 1);
    assert_eq!(marked.note_seq_at_backup, marked.next_note_seq);
    // Two extents: the first switch filled the other one; the next switch finds it Full.
    let e = d.quiet_enable(true).unwrap_err();
    assert_eq!(e.msg_number(), 3774);
    assert!(!d.is_quiet(), "a refused enable holds nothing");
    d.quiet_enable(false).unwrap();
    d.quiet_disable(false).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "after", b"quiet").unwrap();
    t.commit().unwrap();
    d.close().unwrap();
}

#[test]
fn quiet_points_and_aimage_new_racing_never_deadlock() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, 3, None);
    let d = Arc::new(Database::open(storage.clone(), &db, ai_opts(true)).unwrap());
    let done = Arc::new(AtomicUsize::new(0));
    let switcher = {
        let (d, done) = (Arc::clone(&d), Arc::clone(&done));
        std::thread::spawn(move || {
            while done.load(Ordering::SeqCst) == 0 {
                // Switches, or 3774 once every extent is full: either way through the gate.
                let _ = d.ai_new();
                let _ = d.ai_extent_empty(None);
            }
        })
    };
    let (finished, rounds) = std::sync::mpsc::channel();
    let quieter = {
        let d = Arc::clone(&d);
        std::thread::spawn(move || {
            for _ in 0..3000 {
                d.quiet_enable(false).unwrap();
                d.quiet_disable(false).unwrap();
            }
            let _ = finished.send(());
        })
    };
    // A deadlock leaves the threads blocked: fail instead of hanging.
    rounds
        .recv_timeout(Duration::from_secs(60))
        .expect("quiet points and aimage new deadlocked");
    // Joined, so that its reference to the database is gone before the close below.
    quieter.join().unwrap();
    done.store(1, Ordering::SeqCst);
    switcher.join().unwrap();
    Arc::into_inner(d).unwrap().close().unwrap();
}
