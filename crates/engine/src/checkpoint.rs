//! Checkpoint: make the log durable, write every dirty block, sync the data extents, record the
//! next note sequence and transaction id in the master block, and reset the BI when no
//! transaction is active.
//!
//! Invariants: no block changes while a checkpoint runs (it holds the change gate
//! exclusively); the BI is reset only after every block it covers is synced and the master
//! block records the sequence the new generation starts with; any failure part way poisons the
//! log, because the data extents' durable state is then unknown (reopening recovers).

use std::sync::atomic::Ordering;

use masterblock::{DbState, NoteSeq, OpenStamp, TxnId};

use crate::db::Shared;
use crate::error::{Error, Result};

/// Takes a checkpoint; with `mark_clean` (closing) the master block also gets state Clean.
/// Returns whether the BI was reset.
pub(crate) fn checkpoint(db: &Shared, mark_clean: bool) -> Result<bool> {
    let _changes = db.change_gate.write();
    let outcome = run(db, mark_clean);
    if let Err(e) = &outcome
        && !matches!(e, Error::LogFailed { .. })
    {
        db.log.fail(format!("checkpoint failed: {e}"));
    }
    if outcome.is_ok() {
        db.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
    }
    outcome
}

fn run(db: &Shared, mark_clean: bool) -> Result<bool> {
    db.log.flush_all()?;
    db.pool.flush_dirty(&db.files, &db.log)?;
    db.files.sync()?;
    let gate = db.gate.lock();
    let idle = gate.active == 0;
    let next_txn = gate.next_txn;
    // Commit and rollback notes may have been appended meanwhile.
    db.log.flush_all()?;
    let next = db.log.next_seq();
    {
        let mut master = db.master.lock();
        master.update(|mb| {
            mb.next_note_seq = NoteSeq(mb.next_note_seq.0.max(next.0));
            mb.next_txn_id = TxnId(mb.next_txn_id.0.max(next_txn));
            if mark_clean && idle {
                mb.state = DbState::Clean;
            }
        })?;
    }
    if idle {
        reset_bi(db, next, true)?;
    }
    drop(gate);
    db.pool.advance_epoch();
    Ok(idle)
}

/// Resets the BI to a new generation starting at `next` (caller: nothing active, all synced);
/// with `shrink`, the file is cut back to its header (see [`crate::bi::BiFile::reset`]).
pub(crate) fn reset_bi(db: &Shared, next: NoteSeq, shrink: bool) -> Result<()> {
    let mut bi = db.bi.lock();
    let bi = bi.as_mut().expect("a database open for update has its BI");
    if let Err(e) = bi.reset(next, shrink) {
        db.log.fail(format!("BI reset failed: {e}"));
        return Err(e);
    }
    db.bi_sink
        .as_ref()
        .expect("a database open for update has a BI sink")
        .rewind();
    db.log.start_generation(bi.header.generation);
    Ok(())
}

/// Writes state Open with a new open stamp (once per open for update).
pub(crate) fn mark_open(db: &Shared) -> Result<OpenStamp> {
    let stamp = OpenStamp(masterblock::random_u64().max(1));
    let now = masterblock::now_micros();
    db.master.lock().update(|mb| {
        mb.state = DbState::Open;
        mb.open_stamp = stamp;
        mb.open_time = now;
        mb.last_open_time = now;
    })?;
    Ok(stamp)
}
