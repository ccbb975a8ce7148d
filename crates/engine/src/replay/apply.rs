//! The hot path of roll forward: one note of an after-image file applied to the target with the
//! apply rule and appended to its BI.
//!
//! Invariants: a note before the target's next note is not touched (the target has it); the
//! next note is applied (or skipped by the rule) and appended under its own sequence, and a
//! note after it is refused; a block's first change in each checkpoint epoch is logged as a
//! full image of its body (so a block torn by a crash can be rebuilt from the BI, as for any
//! change); no allocation per note: frames are copied into the log's buffer, which the log
//! writer thread writes and syncs once per few MiB (this thread writes it when the writer falls
//! a buffer behind), and which is made durable before a dirty block reaches its extent.

use aiextent::{NoteKind, NoteRef};
use masterblock::{OpenStamp, UpdateCounter};

use super::RollForwardTarget;
use crate::block::{self, HEADER_BYTES};
use crate::db::Shared;
use crate::error::{Error, Result};
use crate::log::Change;
use crate::pool::Fetch;

/// Buffers' worth of notes the log writer may fall behind before the apply loop flushes the
/// log itself (the log's buffer then holds at most this many plus the one being written).
const LOG_WRITER_SLACK_BUFFERS: u64 = 2;

/// What [`RollForwardTarget::apply`] did with a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteOutcome {
    /// The target already has the note (its sequence is before the target's next note).
    AlreadyPresent,
    /// Applied (a block change) or recorded (any other kind), and appended to the BI.
    Applied,
    /// A block change whose block is already past it (appended to the BI, block unchanged).
    Skipped,
}

/// `Err(ReplayNoteInvalid)` unless every range of a block change lies in a body of
/// `body_len` bytes and its area is a data area.
pub(super) fn check_ranges(db: &Shared, note: &NoteRef<'_>, body_len: usize) -> Result<()> {
    let h = note.header;
    if !db.files.has_area(h.area) {
        return Err(Error::ReplayNoteInvalid {
            note_seq: h.note_seq,
            reason: format!("it changes area {}, which is not a data area", h.area),
        });
    }
    // The ranges are sorted and disjoint: the last one ends furthest.
    if note.ranges_end() > body_len {
        let r = note
            .ranges()
            .find(|r| usize::from(r.offset) + r.redo.len() > body_len)
            .expect("a range ends past the body");
        return Err(Error::ReplayNoteInvalid {
            note_seq: h.note_seq,
            reason: format!(
                "it changes bytes {}..{} of a block body of {body_len} bytes",
                r.offset,
                usize::from(r.offset) + r.redo.len()
            ),
        });
    }
    Ok(())
}

impl RollForwardTarget {
    /// Applies one verified note of an after-image file: see [`NoteOutcome`]. A block change
    /// applies to a block whose update counter equals the note's prior counter (the counter
    /// then advances), is skipped by a block already past it, and fails with
    /// [`Error::CounterMismatch`] (1028) on a block behind it; a note whose sequence is after
    /// the target's next note fails with [`Error::ReplayGap`]. Transaction begin and end notes
    /// keep the transaction table, `OpenStamp` notes the stream's stamp. After an error the
    /// target writes nothing more, except [`Error::PoolHeld`] (a held start whose pool is full
    /// of changes): the note was not applied, and may be given again once the start is
    /// confirmed. Panics unless started (or held) and working.
    pub fn apply(&mut self, note: &NoteRef<'_>) -> Result<NoteOutcome> {
        assert!(
            (self.started || self.held.is_some()) && !self.failed,
            "apply on a started, working target"
        );
        let h = note.header;
        if h.note_seq.0 < self.next {
            return Ok(NoteOutcome::AlreadyPresent);
        }
        let outcome = self.apply_next(note);
        match &outcome {
            Ok(_) => {
                self.next += 1;
                self.max_txn = self.max_txn.max(h.txn.0);
                if let Err(e) = self.after_note() {
                    self.fail();
                    return Err(e);
                }
            }
            Err(Error::PoolHeld) => {}
            Err(_) => self.fail(),
        }
        outcome
    }

    fn apply_next(&mut self, note: &NoteRef<'_>) -> Result<NoteOutcome> {
        let h = note.header;
        if h.note_seq.0 > self.next {
            return Err(Error::ReplayGap {
                expected: masterblock::NoteSeq(self.next),
                found: h.note_seq,
            });
        }
        match h.kind {
            NoteKind::BlockChange => return self.apply_change(note),
            NoteKind::TxBegin => {
                self.open_txns.insert(h.txn.0);
            }
            NoteKind::TxCommit | NoteKind::TxRollback => {
                self.open_txns.remove(&h.txn.0);
            }
            NoteKind::OpenStamp => self.stamp = OpenStamp(h.aux),
            NoteKind::AiSwitch => {}
        }
        self.in_generation = self.shared.log.append_verified(note, &mut self.reseal)?;
        Ok(NoteOutcome::Applied)
    }

    fn apply_change(&mut self, note: &NoteRef<'_>) -> Result<NoteOutcome> {
        let h = note.header;
        let db = &self.shared;
        let body_len = db.body_len();
        check_ranges(db, note, body_len)?;
        let pinned = db
            .pool
            .pin(h.area, h.block, &db.files, &db.log, Fetch::Verified)?;
        let mut data = pinned.write();
        let counter = block::counter(&data.buf);
        let prior = h.prior_counter.0;
        if counter > prior {
            drop(data);
            self.in_generation = db.log.append_verified(note, &mut self.reseal)?;
            return Ok(NoteOutcome::Skipped);
        }
        if counter < prior {
            return Err(Error::CounterMismatch {
                area: h.area,
                block: h.block,
                block_counter: counter,
                note_counter: prior,
            });
        }
        let epoch = db.pool.epoch();
        let full_image = data.fpi_epoch != epoch;
        if full_image {
            self.before.clear();
            self.before.extend_from_slice(&data.buf[HEADER_BYTES..]);
        }
        for r in note.ranges() {
            let s = HEADER_BYTES + usize::from(r.offset);
            data.buf[s..s + r.redo.len()].copy_from_slice(r.redo);
        }
        if full_image {
            let ranges: [(u16, &[u8], &[u8]); 1] =
                [(0, &data.buf[HEADER_BYTES..], self.before.as_slice())];
            let seq = db.log.append_change(&Change {
                area: h.area,
                block: h.block,
                prior,
                txn: h.txn,
                compensation: h.compensation,
                aux: h.aux,
                ranges: &ranges,
                // A roll forward target has after-imaging off.
                ai_ranges: None,
            })?;
            assert_eq!(seq, h.note_seq, "the target's BI continues the stream");
            data.fpi_epoch = epoch;
            self.in_generation = db.log.bytes_in_generation();
        } else {
            self.in_generation = db.log.append_verified(note, &mut self.reseal)?;
        }
        debug_assert_eq!(UpdateCounter(prior), h.prior_counter);
        block::set_counter(&mut data.buf, prior + 1);
        block::set_last_note(&mut data.buf, h.note_seq.0);
        data.dirty = true;
        data.last_seq = h.note_seq.0;
        Ok(NoteOutcome::Applied)
    }

    /// Bounds the log's buffer (the log writer writes it every `log_flush_bytes`; this thread
    /// does when the writer has fallen [`LOG_WRITER_SLACK_BUFFERS`] times that behind) and
    /// takes the periodic checkpoint.
    fn after_note(&mut self) -> Result<()> {
        let log = &self.shared.log;
        let in_generation = self.in_generation;
        debug_assert_eq!(in_generation, log.bytes_in_generation());
        let pending = in_generation.saturating_sub(self.bytes_at_request);
        if pending >= self.log_flush_bytes {
            if let Some(failure) = log.failure() {
                return Err(failure);
            }
            let handed = self.log_writer.as_ref().is_some_and(|w| w.request());
            if handed {
                self.bytes_at_request = in_generation;
            } else if self.log_writer.is_none()
                || pending > LOG_WRITER_SLACK_BUFFERS * self.log_flush_bytes
            {
                // Only written: blocks and checkpoints sync what they need.
                log.write_out()?;
                self.bytes_at_request = in_generation;
            }
        }
        let since = in_generation.saturating_sub(self.bytes_at_checkpoint);
        let idle = self.open_txns.is_empty();
        let due = (idle && since >= self.checkpoint_bytes) || since >= 4 * self.checkpoint_bytes;
        // A held start takes its checkpoint once confirmed.
        if due && self.held.is_none() {
            self.checkpoint_inner(|_| {}, None)?;
        }
        Ok(())
    }
}
