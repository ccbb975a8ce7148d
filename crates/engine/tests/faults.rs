//! ENOSPC and EIO at every storage operation of a transaction and its commit: the commit
//! reports an error, and the database, reopened, holds either all of it or none of it.

mod common;

use std::sync::Arc;

use common::*;
use engine::Database;
use storage::{CrashMode, Fault, FaultKind, StorageRef};

fn work(d: &Database, model: &mut Dump) -> engine::Result<()> {
    let mut t = d.begin()?;
    for i in 0..300 {
        let k = format!("n{i:03}");
        t.insert("a", &k, &[b'n'; 60])?;
        model.insert(("a".into(), k), vec![b'n'; 60]);
    }
    for i in (0..40).step_by(5) {
        let k = format!("k{i:03}");
        t.update("b", &k, b"updated")?;
        model.insert(("b".into(), k), b"updated".to_vec());
    }
    t.commit()
}

#[test]
fn enospc_and_eio_at_every_op_of_a_commit() {
    let (sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..40 {
        t.insert("b", &format!("k{i:03}"), &[b'b'; 50]).unwrap();
    }
    t.commit().unwrap();
    let before = dump(&d);
    d.close().unwrap();

    // Count the operations of the transaction and its commit.
    let probe = sim.crash_image(CrashMode::LoseUnsynced);
    let probe_ref: StorageRef = Arc::new(probe.clone());
    let d = Database::open(probe_ref, &db, opts()).unwrap();
    let start = probe.op_count();
    let mut after = before.clone();
    work(&d, &mut after).unwrap();
    let txn_ops = probe.op_count() - start;
    d.close().unwrap();
    assert!(
        txn_ops > 10,
        "the transaction writes blocks and the log ({txn_ops} ops)"
    );

    for kind in [FaultKind::Enospc, FaultKind::Eio] {
        for i in 0..txn_ops {
            let sim = sim.crash_image(CrashMode::LoseUnsynced);
            let r: StorageRef = Arc::new(sim.clone());
            let d = Database::open(r, &db, opts()).unwrap();
            sim.set_fault(Some(Fault {
                at_op: sim.op_count() + i,
                kind,
            }));
            let mut model = before.clone();
            let outcome = work(&d, &mut model);
            assert!(
                outcome.is_err(),
                "{kind:?} at op {i}: the commit reports it"
            );
            let _ = d.close();
            sim.set_fault(None);
            let again: StorageRef = Arc::new(sim.clone());
            let found = reopen_and_dump(&again, &db);
            assert!(
                found == before || found == after,
                "{kind:?} at op {i}: half a transaction"
            );
            // The database keeps working.
            let d = Database::open(again, &db, opts()).unwrap();
            let mut t = d.begin().unwrap();
            t.insert("a", "later", b"x").unwrap();
            t.commit().unwrap();
            d.close().unwrap();
        }
    }
}
