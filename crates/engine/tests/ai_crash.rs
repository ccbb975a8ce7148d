//! Crash at every storage operation (crash and torn write; unsynced writes lost or a random
//! subset kept) of commits with after-imaging on, an automatic switch, `aimage new`, and the
//! offline `aimage begin`, `end`, `extent empty` and `mark backedup`. After each crash the
//! database reopens with every acknowledged commit and nothing of an unacknowledged one, and
//! the AI holds exactly the notes of the BI over the same range, with consistent extents.

mod common;

use std::sync::Arc;

use aiextent::AiState;
use common::ai::*;
use common::*;
use engine::{Database, DbPath};
use masterblock::AiSeq;
use parking_lot::Mutex;
use storage::{SimStorage, StorageRef};

/// A database with AI on (`n` extents, fixed of `fixed_kib` or variable) and 40 records in
/// each table; its notes so far and its contents.
fn base(n: usize, fixed_kib: Option<u64>) -> (SimStorage, DbPath, Notes, Dump) {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    create_ai_db(&storage, &db, n, fixed_kib);
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..40 {
        t.insert("a", &format!("a{i:03}"), &[b'x'; 30]).unwrap();
        t.insert("b", &format!("b{i:03}"), &[b'y'; 30]).unwrap();
    }
    t.commit().unwrap();
    let initial = dump(&d);
    d.close().unwrap();
    let notes = notes.lock().clone();
    (sim, db, notes, initial)
}

/// Runs `steps` transactions on `table` (updates, inserts, one rolled back), recording each
/// acknowledged state.
fn run_steps(d: &Database, table: &str, out: &mut Outcome, steps: usize, tag: &str) {
    for s in 0..steps {
        let mut model = out.states[out.acked].clone();
        let Ok(mut t) = d.begin() else { return };
        let mut ok = true;
        for i in 0..6 {
            let k = format!("{}{tag}{s}-{i}", &table[..1]);
            let v = vec![b'0' + (s % 10) as u8; 50];
            if t.insert(table, &k, &v).is_err() {
                ok = false;
                break;
            }
            model.insert((table.into(), k), v);
        }
        if !ok {
            return;
        }
        if s % 3 == 2 {
            if t.rollback().is_err() {
                return;
            }
            continue;
        }
        out.states.push(model);
        if t.commit().is_err() {
            return;
        }
        out.acked += 1;
    }
}

/// How often opening after a crash added BI notes to the AI, and copied AI notes (acknowledged
/// on the AI's sync) back to the BI.
type Aligned = Mutex<(u32, u32)>;

fn check_reopen(image: &StorageRef, db: &DbPath, notes: &SharedNotes, aligned: &Aligned) -> Dump {
    let out = reopen_check(image, db, notes);
    let log =
        String::from_utf8(storage::read_all(image.as_ref(), &db.log_path()).unwrap()).unwrap();
    let mut aligned = aligned.lock();
    aligned.0 += log.contains("were added to the after-image extents") as u32;
    aligned.1 += log.contains("were copied to the before-image log") as u32;
    out
}

#[test]
fn crash_during_commits_with_ai_single_thread() {
    let aligned = Aligned::default();
    let (sim, db, notes, initial) = base(3, Some(48));
    crash_every_op_ai(
        &sim,
        &notes,
        |storage| {
            let mut out = Outcome::new(initial.clone());
            if let Ok(d) = Database::open(storage.clone(), &db, ai_opts(false)) {
                run_steps(&d, "a", &mut out, 4, "s");
                let _ = d.close();
            }
            out
        },
        |image, notes, out, op| {
            let found = check_reopen(image, &db, notes, &aligned);
            out.check(&found, &format!("crash at op {op}"));
        },
    );
    let aligned = *aligned.lock();
    assert!(aligned.0 > 0, "no crash left the BI ahead of the AI");
    assert!(aligned.1 > 0, "no crash left the AI ahead of the BI");
}

#[test]
fn crash_during_commits_with_ai_two_threads() {
    let aligned = Aligned::default();
    let (sim, db, notes, initial) = base(3, Some(48));
    let (ia, ib) = (only(&initial, "a"), only(&initial, "b"));
    crash_every_op_ai(
        &sim,
        &notes,
        |storage| {
            let (mut oa, mut ob) = (Outcome::new(ia.clone()), Outcome::new(ib.clone()));
            if let Ok(d) = Database::open(storage.clone(), &db, ai_opts(true)) {
                std::thread::scope(|s| {
                    s.spawn(|| run_steps(&d, "a", &mut oa, 2, "t"));
                    s.spawn(|| run_steps(&d, "b", &mut ob, 2, "t"));
                });
                let _ = d.close();
            }
            (oa, ob)
        },
        |image, notes, (oa, ob), op| {
            let found = check_reopen(image, &db, notes, &aligned);
            oa.check(&only(&found, "a"), &format!("crash at op {op}, table a"));
            ob.check(&only(&found, "b"), &format!("crash at op {op}, table b"));
        },
    );
    let aligned = *aligned.lock();
    assert!(
        aligned.0 + aligned.1 > 0,
        "no crash left the AI and the BI apart"
    );
}

/// Fills the busy extent of `base` until fewer than `room` bytes are left.
fn fill_busy(sim: &SimStorage, db: &DbPath, notes: &mut Notes, room: u64) -> Dump {
    let shared: SharedNotes = Arc::new(Mutex::new(notes.clone()));
    let storage = recording(sim, &shared);
    let d = Database::open(storage.clone(), db, ai_opts(false)).unwrap();
    let mut i = 0;
    loop {
        let info = d
            .ai_extents()
            .unwrap()
            .into_iter()
            .find(|x| x.state == AiState::Busy)
            .unwrap();
        if info.used_bytes + 4096 + room > info.size_kib * 1024 {
            break;
        }
        let mut t = d.begin().unwrap();
        t.update(
            "b",
            &format!("b{:03}", i % 40),
            format!("fill {i}").as_bytes(),
        )
        .unwrap();
        t.commit().unwrap();
        i += 1;
    }
    let out = dump(&d);
    d.close().unwrap();
    *notes = shared.lock().clone();
    out
}

#[test]
fn crash_during_an_automatic_switch() {
    let aligned = Aligned::default();
    let (sim, db, mut notes, _) = base(2, Some(48));
    let initial = fill_busy(&sim, &db, &mut notes, 1500);
    let before = engine::describe(&(Arc::new(sim.clone()) as StorageRef), &db)
        .unwrap()
        .master
        .ai_seq_current;
    crash_every_op_ai(
        &sim,
        &notes,
        |storage| {
            let mut out = Outcome::new(initial.clone());
            if let Ok(d) = Database::open(storage.clone(), &db, ai_opts(false)) {
                run_steps(&d, "a", &mut out, 3, "w");
                let _ = d.close();
            }
            out
        },
        |image, notes, out, op| {
            let found = check_reopen(image, &db, notes, &aligned);
            out.check(&found, &format!("crash at op {op}"));
        },
    );
    // The work switches when it runs to the end.
    let probe: StorageRef = Arc::new(sim.crash_image(storage::CrashMode::LoseUnsynced));
    let d = Database::open(probe.clone(), &db, ai_opts(false)).unwrap();
    let mut out = Outcome::new(initial);
    run_steps(&d, "a", &mut out, 3, "w");
    d.close().unwrap();
    assert!(engine::describe(&probe, &db).unwrap().master.ai_seq_current > before);
}

#[test]
fn crash_during_aimage_new() {
    let aligned = Aligned::default();
    let (sim, db, notes, initial) = base(3, None);
    crash_every_op_ai(
        &sim,
        &notes,
        |storage| {
            let mut out = Outcome::new(initial.clone());
            let mut switched = false;
            if let Ok(d) = Database::open(storage.clone(), &db, ai_opts(false)) {
                run_steps(&d, "a", &mut out, 1, "n");
                switched = d.ai_new().is_ok();
                if switched {
                    run_steps(&d, "b", &mut out, 1, "n");
                }
                let _ = d.close();
            }
            (out, switched)
        },
        |image, notes, (out, switched), op| {
            let found = check_reopen(image, &db, notes, &aligned);
            out.check(&found, &format!("crash at op {op}"));
            let m = engine::describe(image, &db).unwrap().master;
            assert!(
                !switched || m.ai_seq_current == AiSeq(2),
                "op {op}: switch acknowledged but not made"
            );
        },
    );
}

/// Commits one transaction and checks the AI afterwards.
fn usable(image: &StorageRef, db: &DbPath, notes: &SharedNotes) {
    let d = Database::open(image.clone(), db, ai_opts(false)).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "usable", b"yes").unwrap();
    t.commit().unwrap();
    d.close().unwrap();
    check_ai(image, db, &notes.lock(), &[]);
}

#[test]
fn crash_during_aimage_begin_and_mark_backedup() {
    let (sim, _, db) = sim_db();
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::new()));
    let storage = recording(&sim, &notes);
    engine::create_database(&storage, &db, &ai_st(2, Some(48)), 1024).unwrap();
    let d = Database::open(storage.clone(), &db, ai_opts(false)).unwrap();
    d.create_table("a", None).unwrap();
    d.close().unwrap();
    let before = engine::describe(&storage, &db).unwrap().master;
    let base_notes = notes.lock().clone();
    crash_every_op_ai(
        &sim,
        &base_notes,
        |storage| engine::mark_backedup(storage, &db).is_ok(),
        |image, notes, finished, op| {
            let m = engine::describe(image, &db).unwrap().master;
            let marked = m.backup_counter == before.backup_counter + 1;
            assert!(
                marked || m.backup_counter == before.backup_counter,
                "op {op}"
            );
            assert!(
                !finished || marked,
                "op {op}: mark backedup acknowledged but not made"
            );
            if marked {
                assert_eq!(m.note_seq_at_backup, m.next_note_seq);
            } else {
                engine::mark_backedup(image, &db).unwrap();
            }
            usable_without_ai(image, &db, notes);
        },
    );
    engine::mark_backedup(&storage, &db).unwrap();
    let base_notes = notes.lock().clone();
    crash_every_op_ai(
        &sim,
        &base_notes,
        |storage| engine::aimage_begin(storage, &db).is_ok(),
        |image, notes, finished, op| {
            let on = engine::describe(image, &db).unwrap().master.ai_enabled;
            // Reconcile at the next open finishes a begin cut short as an end.
            let d = Database::open(image.clone(), &db, ai_opts(false)).unwrap();
            let on_now = d.master().ai_enabled;
            d.close().unwrap();
            assert!(
                !finished || (on && on_now),
                "op {op}: begin acknowledged but not made"
            );
            if !on_now {
                let desc = engine::describe(image, &db).unwrap();
                assert!(
                    desc.ai_extents.iter().all(|i| i.state == AiState::Empty),
                    "op {op}"
                );
                engine::mark_backedup(image, &db).unwrap();
                engine::aimage_begin(image, &db)
                    .unwrap_or_else(|e| panic!("op {op}: rerun of begin: {e}"));
            }
            usable(image, &db, notes);
        },
    );
}

/// Commits one transaction (after-imaging off or on).
fn usable_without_ai(image: &StorageRef, db: &DbPath, notes: &SharedNotes) {
    let d = Database::open(image.clone(), db, ai_opts(false)).unwrap();
    let mut t = d.begin().unwrap();
    t.insert("a", "usable", b"yes").unwrap();
    t.commit().unwrap();
    d.close().unwrap();
    check_ai(image, db, &notes.lock(), &[]);
}

#[test]
fn crash_during_aimage_end_and_extent_empty() {
    let (sim, db, notes, _) = base(3, None);
    // Extent 1 full, extent 2 busy.
    let storage: StorageRef = Arc::new(sim.clone());
    let shared: SharedNotes = Arc::new(Mutex::new(notes));
    let rec = recording(&sim, &shared);
    let d = Database::open(rec.clone(), &db, ai_opts(false)).unwrap();
    let mut out = Outcome::new(dump(&d));
    run_steps(&d, "a", &mut out, 2, "e");
    d.ai_new().unwrap();
    run_steps(&d, "b", &mut out, 1, "e");
    d.close().unwrap();
    let notes = shared.lock().clone();
    let full_before: Vec<_> = engine::ai_extents(&storage, &db)
        .unwrap()
        .into_iter()
        .map(|i| i.state)
        .collect();
    assert_eq!(full_before, [AiState::Full, AiState::Busy, AiState::Empty]);
    crash_every_op_ai(
        &sim,
        &notes,
        |storage| engine::aimage_extent_empty(storage, &db, None).is_ok(),
        |image, notes, finished, op| {
            let states: Vec<_> = engine::ai_extents(image, &db)
                .unwrap()
                .into_iter()
                .map(|i| i.state)
                .collect();
            assert!(
                states[0] == AiState::Full || states[0] == AiState::Empty,
                "op {op}: {states:?}"
            );
            assert!(
                !finished || states[0] == AiState::Empty,
                "op {op}: empty acknowledged but not made"
            );
            if states[0] == AiState::Full {
                engine::aimage_extent_empty(image, &db, None).unwrap();
            }
            let d = Database::open(image.clone(), &db, ai_opts(false)).unwrap();
            d.close().unwrap();
            let desc = engine::describe(image, &db).unwrap();
            let len =
                storage::read_all(image.as_ref(), &desc.catalogue.ai_extents()[0].extent.path)
                    .unwrap()
                    .len();
            assert_eq!(
                len, 4096,
                "op {op}: the emptied variable extent is truncated"
            );
            // The notes left begin with extent 2's switch note and match the BI.
            let left = check_ai(image, &db, &notes.lock(), &[]);
            assert_eq!(left[0].kind, aiextent::NoteKind::AiSwitch);
            usable(image, &db, notes);
        },
    );
    crash_every_op_ai(
        &sim,
        &notes,
        |storage| engine::aimage_end(storage, &db).is_ok(),
        |image, notes, finished, op| {
            let d = Database::open(image.clone(), &db, ai_opts(false)).unwrap();
            let on = d.master().ai_enabled;
            d.close().unwrap();
            assert!(!finished || !on, "op {op}: end acknowledged but not made");
            let desc = engine::describe(image, &db).unwrap();
            if !on {
                assert!(
                    desc.ai_extents.iter().all(|i| i.state == AiState::Empty),
                    "op {op}"
                );
            }
            check_ai(image, &db, &notes.lock(), &[]);
            usable_without_ai(image, &db, notes);
        },
    );
}
