//! Crash at every storage operation around checkpoints: with a transaction active (no BI
//! reset), idle (BI reset), and during `truncate_bi` of a crashed database with a loser.

mod common;

use std::sync::Arc;

use common::*;
use engine::Database;
use storage::{CrashMode, SimStorage, StorageRef};

fn base() -> (SimStorage, engine::DbPath, Dump) {
    let (sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..60 {
        t.insert("a", &format!("a{i:03}"), &[b'x'; 40]).unwrap();
    }
    t.commit().unwrap();
    let initial = dump(&d);
    d.close().unwrap();
    (sim, db, initial)
}

fn insert_batch(d: &Database, model: &mut Dump, tag: &str, n: usize) -> engine::Result<()> {
    let mut t = d.begin()?;
    for i in 0..n {
        let k = format!("{tag}{i:03}");
        t.insert("a", &k, tag.as_bytes())?;
        model.insert(("a".into(), k), tag.as_bytes().to_vec());
    }
    t.commit()
}

/// Commits a batch, recording the state before the commit and counting it once acknowledged.
fn commit_batch(d: &Database, out: &mut Outcome, tag: &str, n: usize) -> engine::Result<()> {
    let mut model = out.states[out.acked].clone();
    let mut t = d.begin()?;
    for i in 0..n {
        let k = format!("{tag}{i:03}");
        t.insert("a", &k, tag.as_bytes())?;
        model.insert(("a".into(), k), tag.as_bytes().to_vec());
    }
    out.states.push(model);
    t.commit()?;
    out.acked += 1;
    Ok(())
}

fn checkpoint_work(d: &Database, out: &mut Outcome) -> engine::Result<()> {
    // A checkpoint while a transaction is active: no BI reset.
    let mut active = d.begin()?;
    for i in 0..30 {
        active.insert("b", &format!("active{i:03}"), &[b'w'; 50])?;
    }
    commit_batch(d, out, "p", 20)?;
    d.checkpoint()?;
    active.rollback()?;
    // An idle checkpoint: BI reset.
    d.checkpoint()?;
    commit_batch(d, out, "q", 20)?;
    d.checkpoint()
}

#[test]
fn crash_during_checkpoints() {
    let (sim, db, initial) = base();
    crash_every_op(
        &sim,
        |storage: &StorageRef| {
            let mut out = Outcome::new(initial.clone());
            if let Ok(d) = Database::open(storage.clone(), &db, opts()) {
                let _ = checkpoint_work(&d, &mut out);
                let _ = d.close();
            }
            out
        },
        |image, reached, op| {
            let found = reopen_and_dump(image, &db);
            reached.check(&found, &format!("crash at op {op}"));
        },
    );
}

#[test]
fn crash_during_truncate_bi_of_crashed_database() {
    let (sim, db, initial) = base();
    // Leave a database crashed with a committed transaction and a loser whose notes reached
    // the BI (evictions flush the log).
    let storage: StorageRef = Arc::new(sim.clone());
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut expected = initial.clone();
    insert_batch(&d, &mut expected, "c", 30).unwrap();
    let mut loser = d.begin().unwrap();
    for i in 0..120 {
        loser.insert("b", &format!("l{i:03}"), &[b'z'; 60]).unwrap();
        loser
            .update("a", &format!("a{:03}", i % 60), b"loser")
            .unwrap();
    }
    let crashed = sim.crash_image(CrashMode::LoseUnsynced);
    drop(loser);
    drop(d);
    let before = engine::describe(&(Arc::new(crashed.clone()) as StorageRef), &db).unwrap();
    assert!(
        before.bi_size_bytes > 4096,
        "the loser's notes reached the BI"
    );
    crash_every_op(
        &crashed,
        |storage: &StorageRef| engine::truncate_bi(storage, &db).is_ok(),
        |image, finished, op| {
            if *finished {
                let mb = engine::describe(image, &db).unwrap();
                assert_eq!(mb.bi_size_bytes, 4096, "op {op}");
            }
            let found = reopen_and_dump(image, &db);
            assert_eq!(found, expected, "crash at op {op} of truncate_bi");
        },
    );
}
