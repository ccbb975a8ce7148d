//! Crash recovery: redo every block change in the BI with the apply rule, then undo the
//! uncompensated changes of transactions that never ended (losers) in reverse order with
//! compensation notes, and end each with a rollback note. The caller then checkpoints and
//! resets the BI.
//!
//! Invariants: redo changes nothing that is not in the BI and stops at the first block that is
//! behind a note (`CounterMismatch`, nothing more applied); a block that a crash tore is
//! rebuilt from the first full-body note of it in the BI, which always precedes its other notes
//! there; undo writes notes like any change, so a crash during recovery leaves a BI from which
//! the next open finishes the work.

use std::collections::{HashMap, HashSet};

use aiextent::{FrameOutcome, NoteKind, decode_frame};
use masterblock::{AreaNo, BlockNo};

use crate::bi::BiStream;
use crate::block::{self, HEADER_BYTES};
use crate::change::{ChangeCtx, Scratch, change};
use crate::db::Shared;
use crate::error::{Error, Result};
use crate::pool::Fetch;

/// What recovery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Notes read from the BI.
    pub notes_read: u64,
    /// Block changes applied by redo.
    pub notes_redone: u64,
    /// Transactions rolled back.
    pub txns_rolled_back: u64,
}

fn note_at<'a>(
    db: &Shared,
    stream: &'a BiStream,
    seed: u64,
    off: usize,
) -> Result<aiextent::NoteRef<'a>> {
    match decode_frame(&stream.bytes[off..], seed) {
        FrameOutcome::Note { note, .. } => Ok(note),
        FrameOutcome::End(reason) => Err(Error::BiCorrupt {
            path: db.catalogue.bi_area().extents[0].path.clone(),
            reason: format!("a note read before no longer decodes: {reason}"),
        }),
    }
}

/// Redoes and undoes per the BI `stream` framed with `seed`.
pub(crate) fn recover(db: &Shared, stream: &BiStream, seed: u64) -> Result<RecoveryReport> {
    let mut report = RecoveryReport {
        notes_read: stream.notes.len() as u64,
        ..RecoveryReport::default()
    };
    // Per unfinished transaction: its uncompensated-candidate changes (seq, offset).
    let mut open: HashMap<u64, Vec<(u64, usize)>> = HashMap::new();
    let mut compensated: HashSet<u64> = HashSet::new();
    let body_len = db.body_len();
    for &(off, header) in &stream.notes {
        match header.kind {
            NoteKind::TxBegin => {
                open.entry(header.txn.0).or_default();
            }
            NoteKind::TxCommit | NoteKind::TxRollback => {
                open.remove(&header.txn.0);
            }
            NoteKind::BlockChange => {
                let note = note_at(db, stream, seed, off)?;
                if redo(db, &note, body_len)? {
                    report.notes_redone += 1;
                }
                if header.txn.0 != 0 {
                    if header.compensation {
                        compensated.insert(header.aux);
                    } else {
                        open.entry(header.txn.0)
                            .or_default()
                            .push((header.note_seq.0, off));
                    }
                }
            }
            NoteKind::OpenStamp | NoteKind::AiSwitch => {}
        }
    }
    // Undo every loser's changes, newest first across all losers.
    let mut undo: Vec<(u64, u64, usize)> = open
        .iter()
        .flat_map(|(txn, changes)| changes.iter().map(move |&(seq, off)| (seq, *txn, off)))
        .filter(|(seq, _, _)| !compensated.contains(seq))
        .collect();
    undo.sort_unstable_by_key(|u| std::cmp::Reverse(u.0));
    let mut scratch = Scratch::default();
    for (seq, txn, off) in undo {
        let note = note_at(db, stream, seed, off)?;
        let ctx = ChangeCtx {
            txn: masterblock::TxnId(txn),
            compensation: true,
            aux: seq,
        };
        let (area, blk) = (note.header.area, note.header.block);
        change(db, &mut scratch, ctx, None, area, blk, |body| {
            for r in note.ranges() {
                let s = r.offset as usize;
                body[s..s + r.undo.len()].copy_from_slice(r.undo);
            }
        })?;
    }
    let mut losers: Vec<u64> = open.into_keys().collect();
    losers.sort_unstable();
    for txn in &losers {
        db.log.append_marker(
            NoteKind::TxRollback,
            masterblock::TxnId(*txn),
            masterblock::now_micros() as u64,
        )?;
    }
    report.txns_rolled_back = losers.len() as u64;
    Ok(report)
}

/// Applies one block change by the apply rule; true if it was applied.
pub(crate) fn redo(db: &Shared, note: &aiextent::NoteRef<'_>, body_len: usize) -> Result<bool> {
    let h = note.header;
    let (area, blk): (AreaNo, BlockNo) = (h.area, h.block);
    if !db.files.has_area(area) {
        return Err(Error::BiCorrupt {
            path: db.catalogue.bi_area().extents[0].path.clone(),
            reason: format!(
                "note {} changes area {area}, which is not a data area",
                h.note_seq
            ),
        });
    }
    let pinned = db
        .pool
        .pin(area, blk, &db.files, &db.log, Fetch::AllowDamaged)?;
    let mut data = pinned.write();
    let prior = h.prior_counter.0;
    if data.damaged {
        let full = note.range_count() == 1
            && note
                .ranges()
                .next()
                .is_some_and(|r| r.offset == 0 && r.redo.len() == body_len);
        if !full {
            return Err(Error::BlockCorrupt {
                path: db.files.path_of(area, blk),
                area,
                block: blk,
                reason: format!("it is damaged and note {} cannot rebuild it", h.note_seq),
            });
        }
        data.damaged = false;
        block::set_counter(&mut data.buf, prior);
    }
    let counter = block::counter(&data.buf);
    if counter > prior {
        return Ok(false);
    }
    if counter < prior {
        return Err(Error::CounterMismatch {
            area,
            block: blk,
            block_counter: counter,
            note_counter: prior,
        });
    }
    for r in note.ranges() {
        let s = HEADER_BYTES + r.offset as usize;
        data.buf[s..s + r.redo.len()].copy_from_slice(r.redo);
    }
    block::set_counter(&mut data.buf, prior + 1);
    block::set_last_note(&mut data.buf, h.note_seq.0);
    data.dirty = true;
    data.last_seq = data.last_seq.max(h.note_seq.0);
    Ok(true)
}
