//! What an online backup needs from an open database: a backup point (no transaction spans
//! it; the AI switched; everything durable), blocks read through the buffer pool while updates
//! go on, write-ahead for the copied blocks, and the live master block's record of the backup.
//!
//! Invariants: new transactions are held only while the point is taken and are released on
//! every outcome; a block read for a backup is never torn (it is copied under the frame's
//! latch, which every change and write takes) and is at or past its state at the point; the
//! master block is changed only through its two-slot update, under the database's mutex.

use std::time::{Duration, Instant};

use masterblock::{AreaNo, BlockNo, MasterBlock, NoteSeq};
use structure::Catalogue;

use crate::ai::AiSwitched;
use crate::block;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::pool::Fetch;

/// The database as of an online backup's point.
#[derive(Clone, Debug)]
pub struct BackupPoint {
    /// The master block after the point's checkpoint: `next_note_seq` is the point, and with
    /// after-imaging on `ai_seq_current` is the sequence that became busy at the switch.
    pub master: MasterBlock,
    /// The catalogue of areas and extents.
    pub catalogue: Catalogue,
    /// The AI switch made at the point (after-imaging on).
    pub ai_switched: Option<AiSwitched>,
}

/// Which backup [`Database::record_backup`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupRecord {
    /// The backup counter after the backup.
    pub backup_counter: u64,
    /// An incremental backup (its time goes to `incr_backup_time`, else `full_backup_time`).
    pub incremental: bool,
    /// When the backup started, µs since the epoch.
    pub time_micros: i64,
    /// The backup's point: the next incremental takes the blocks changed from here on.
    pub note_seq_at_backup: NoteSeq,
}

/// New transactions held (see [`Database::hold_transactions`]) until this is dropped.
pub struct TxnHold<'a> {
    db: &'a Database,
}

impl Drop for TxnHold<'_> {
    fn drop(&mut self) {
        let db = &self.db.shared;
        db.gate.lock().holding = false;
        db.gate_cv.notify_all();
    }
}

impl std::fmt::Debug for TxnHold<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnHold").finish_non_exhaustive()
    }
}

impl Database {
    /// Takes an online backup's point: holds new transactions, waits up to `max_wait` until
    /// none is active, switches to the next AI extent when `switch_ai` and after-imaging is on
    /// (refused with 3774 when it is not Empty), checkpoints (BI, AI and blocks durable), and
    /// captures the master block and catalogue. Transactions begin again when the returned
    /// hold is dropped (at once on a refusal). Refused, writing nothing: a quiet point holds
    /// (90676), transactions still active after `max_wait` (90677), a read-only open.
    pub fn backup_point(
        &self,
        switch_ai: bool,
        max_wait: Duration,
    ) -> Result<(BackupPoint, TxnHold<'_>)> {
        let db = &self.shared;
        db.writable()?;
        db.log.check_running()?;
        let quiet = || Error::QuietPointHeld {
            operation: "an online backup",
            path_stem: db.path.to_string(),
        };
        if db.log.is_quiet() {
            return Err(quiet());
        }
        let hold = self.hold_transactions(max_wait)?;
        let point = self.point_while_held(switch_ai, &quiet)?;
        Ok((point, hold))
    }

    /// Holds new transactions and waits up to `max_wait` until none is active; they begin
    /// again when the returned hold is dropped. Refused (nothing held) when transactions are
    /// still active after `max_wait` (90677).
    pub fn hold_transactions(&self, max_wait: Duration) -> Result<TxnHold<'_>> {
        let db = &self.shared;
        let started = Instant::now();
        let deadline = started + max_wait;
        let mut gate = db.gate.lock();
        while gate.holding {
            if db.gate_cv.wait_until(&mut gate, deadline).timed_out() && gate.holding {
                return Err(Error::BackupPointTimeout {
                    waited_millis: millis(started.elapsed()),
                    active: gate.active,
                });
            }
        }
        gate.holding = true;
        drop(gate);
        let hold = TxnHold { db: self };
        let mut gate = db.gate.lock();
        while gate.active > 0 {
            if db.gate_cv.wait_until(&mut gate, deadline).timed_out() && gate.active > 0 {
                let active = gate.active;
                drop(gate);
                drop(hold);
                return Err(Error::BackupPointTimeout {
                    waited_millis: millis(started.elapsed()),
                    active,
                });
            }
        }
        Ok(hold)
    }

    /// The part of [`Database::backup_point`] made while no transaction is active.
    fn point_while_held(&self, switch_ai: bool, quiet: &dyn Fn() -> Error) -> Result<BackupPoint> {
        let db = &self.shared;
        if db.log.is_quiet() {
            return Err(quiet());
        }
        let ai_switched = if switch_ai && db.log.ai().is_some() {
            Some(self.ai_new()?)
        } else {
            None
        };
        crate::checkpoint::checkpoint(db, false)?;
        Ok(BackupPoint {
            master: *db.master.lock().get(),
            catalogue: db.catalogue.clone(),
            ai_switched,
        })
    }

    /// Reads block `block` of data area `area` into `buf` (one block) through the buffer pool,
    /// as the latest change left it, with its header and checksum sealed; a block never
    /// written reads as zeros. A damaged block on disk is an error.
    pub fn read_block_for_backup(
        &self,
        area: AreaNo,
        block: BlockNo,
        buf: &mut [u8],
    ) -> Result<()> {
        let db = &self.shared;
        assert_eq!(buf.len(), db.block_size as usize, "one whole block");
        let pinned = db
            .pool
            .pin(area, block, &db.files, &db.log, Fetch::Verified)?;
        let data = pinned.read();
        buf.copy_from_slice(&data.buf);
        drop(data);
        drop(pinned);
        if buf.iter().any(|&b| b != 0) {
            block::seal(buf, area, block);
        }
        Ok(())
    }

    /// Returns once every note up to `seq` is durable in the BI and (after-imaging on) the
    /// AI: the write-ahead rule for blocks copied into a backup.
    pub fn make_durable_to(&self, seq: NoteSeq) -> Result<()> {
        let db = &self.shared;
        let last = NoteSeq(db.log.next_seq().0.saturating_sub(1));
        db.log.flush_to(NoteSeq(seq.0.min(last.0)))
    }

    /// `rfutil -C mark backedup` while the database is open (by the server): the backup
    /// counter +1, the full backup time now and `note_seq_at_backup` the next note, in one
    /// master block update; returns the new master block.
    pub fn mark_backedup(&self) -> Result<MasterBlock> {
        self.shared.writable()?;
        self.mark_backedup_as("RFUTIL")
    }

    /// [`Database::mark_backedup`], logged under `source`.
    pub(crate) fn mark_backedup_as(&self, source: &str) -> Result<MasterBlock> {
        let db = &self.shared;
        let now = masterblock::now_micros();
        let next = db.log.next_seq();
        let mb = {
            let mut master = db.master.lock();
            master.update(|mb| {
                mb.backup_counter += 1;
                mb.full_backup_time = now;
                mb.next_note_seq = NoteSeq(mb.next_note_seq.0.max(next.0));
                mb.note_seq_at_backup = mb.next_note_seq;
            })?;
            *master.get()
        };
        db.log_event(
            source,
            &format!(
                "database marked as backed up (backup {})",
                mb.backup_counter
            ),
            None,
        );
        Ok(mb)
    }

    /// Records a backup in the live master block (backup counter, full or incremental time,
    /// `note_seq_at_backup`), durably; returns the new master block.
    pub fn record_backup(&self, record: BackupRecord) -> Result<MasterBlock> {
        let db = &self.shared;
        db.writable()?;
        let mut master = db.master.lock();
        master.update(|mb| {
            mb.backup_counter = record.backup_counter;
            if record.incremental {
                mb.incr_backup_time = record.time_micros;
            } else {
                mb.full_backup_time = record.time_micros;
            }
            mb.note_seq_at_backup = record.note_seq_at_backup;
        })?;
        Ok(*master.get())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
