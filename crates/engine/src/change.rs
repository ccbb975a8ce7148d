//! The one path by which a block body changes: take the body before, run the change, diff it
//! into ranges, log one BlockChange note, advance the block's update counter, and remember the
//! undo bytes for rollback.
//!
//! Invariants: the note is appended while the frame is latched exclusively, so a block's notes
//! are in the log in counter order; a body that did not change writes no note; the first note of
//! a block in each checkpoint epoch covers the whole body (a full image), so crash recovery can
//! rebuild a block that a crash tore while it was being written; with after-imaging on, the AI
//! gets that note with only the ranges that changed (roll forward never meets a torn block).

use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId};

use crate::block::{self, HEADER_BYTES};
use crate::db::Shared;
use crate::error::Result;
use crate::log::{Change, Ranges};
use crate::pool::Fetch;

/// Reusable buffers for changes (no allocation per change beyond the range list).
#[derive(Default)]
pub(crate) struct Scratch {
    before: Vec<u8>,
    ranges: Vec<(u16, u16)>,
    /// The real diff of a full-image note, for the AI (after-imaging on).
    diff: Vec<(u16, u16)>,
}

/// One logged change of a transaction, for rollback.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChangeRec {
    pub seq: NoteSeq,
    pub area: AreaNo,
    pub block: BlockNo,
    /// Span of this change's undo ranges in the undo arena.
    pub start: usize,
    pub end: usize,
}

/// The undo information of a transaction: its changes in order, with their old bytes stored
/// as `(u16 offset, u16 len, bytes)` in one arena.
#[derive(Default)]
pub(crate) struct UndoLog {
    pub changes: Vec<ChangeRec>,
    pub arena: Vec<u8>,
}

impl UndoLog {
    /// Forgets changes from index `mark` on.
    pub(crate) fn truncate(&mut self, mark: usize) {
        if let Some(rec) = self.changes.get(mark) {
            self.arena.truncate(rec.start);
        }
        self.changes.truncate(mark);
    }
}

/// Applies undo ranges stored in `arena[start..end]` to `body`.
pub(crate) fn apply_undo(arena: &[u8], body: &mut [u8]) {
    let mut at = 0;
    while at < arena.len() {
        let off = u16::from_le_bytes([arena[at], arena[at + 1]]) as usize;
        let len = u16::from_le_bytes([arena[at + 2], arena[at + 3]]) as usize;
        at += 4;
        body[off..off + len].copy_from_slice(&arena[at..at + len]);
        at += len;
    }
}

/// Who a change is for.
#[derive(Clone, Copy)]
pub(crate) struct ChangeCtx {
    pub txn: TxnId,
    pub compensation: bool,
    pub aux: u64,
}

impl ChangeCtx {
    /// A system change (never undone).
    pub(crate) fn system() -> ChangeCtx {
        ChangeCtx {
            txn: TxnId(0),
            compensation: false,
            aux: 0,
        }
    }
}

/// Changes the body of `(area, block)` with `f`, logging the difference. With `undo`, the old
/// bytes are recorded for rollback.
pub(crate) fn change<R>(
    db: &Shared,
    scratch: &mut Scratch,
    ctx: ChangeCtx,
    undo: Option<&mut UndoLog>,
    area: AreaNo,
    block: BlockNo,
    f: impl FnOnce(&mut [u8]) -> R,
) -> Result<R> {
    db.writable()?;
    let _gate = db.enter_change();
    let pinned = db
        .pool
        .pin(area, block, &db.files, &db.log, Fetch::Verified)?;
    let mut data = pinned.write();
    let body_len = data.buf.len() - HEADER_BYTES;
    scratch.before.clear();
    scratch.before.extend_from_slice(&data.buf[HEADER_BYTES..]);
    let result = f(&mut data.buf[HEADER_BYTES..]);
    block::diff(
        &scratch.before,
        &data.buf[HEADER_BYTES..],
        &mut scratch.ranges,
    );
    if scratch.ranges.is_empty() {
        return Ok(result);
    }
    let epoch = db.pool.epoch();
    let full_image = data.fpi_epoch != epoch;
    let ai_minimal = full_image && db.log.ai().is_some();
    if ai_minimal {
        std::mem::swap(&mut scratch.ranges, &mut scratch.diff);
    }
    if full_image {
        scratch.ranges.clear();
        scratch
            .ranges
            .push((0, u16::try_from(body_len).expect("body < 64 KiB")));
    }
    let body = &data.buf[HEADER_BYTES..];
    let prior = block::counter(&data.buf);
    let appended = with_bytes(&scratch.ranges, body, &scratch.before, |ranges| {
        let append = |ai_ranges: Option<&Ranges<'_>>| {
            db.log.append_change(&Change {
                area,
                block,
                prior,
                txn: ctx.txn,
                compensation: ctx.compensation,
                aux: ctx.aux,
                ranges,
                ai_ranges,
            })
        };
        if ai_minimal {
            with_bytes(&scratch.diff, body, &scratch.before, |ai| append(Some(ai)))
        } else {
            append(None)
        }
    });
    let seq = match appended {
        Ok(seq) => seq,
        Err(e) => {
            // Not logged (the log stopped): the block must not keep the change.
            data.buf[HEADER_BYTES..].copy_from_slice(&scratch.before);
            return Err(e);
        }
    };
    if full_image {
        data.fpi_epoch = epoch;
    }
    if let Some(undo) = undo {
        let start = undo.arena.len();
        for &(off, len) in &scratch.ranges {
            undo.arena.extend_from_slice(&off.to_le_bytes());
            undo.arena.extend_from_slice(&len.to_le_bytes());
            undo.arena
                .extend_from_slice(&scratch.before[off as usize..off as usize + len as usize]);
        }
        undo.changes.push(ChangeRec {
            seq,
            area,
            block,
            start,
            end: undo.arena.len(),
        });
    }
    block::set_counter(&mut data.buf, prior + 1);
    block::set_last_note(&mut data.buf, seq.0);
    data.dirty = true;
    data.last_seq = seq.0;
    drop(data);
    drop(pinned);
    if db.log.buffer_full() {
        db.log.commit_to(seq)?;
    }
    Ok(result)
}

/// Ranges a typical change has at most; more take one allocation.
const INLINE_RANGES: usize = 4;

/// Calls `f` with `(offset, redo, undo)` for each `(offset, len)` of `list`, redo from `body`
/// and undo from `before`, without allocating for the usual few ranges (the note append path).
fn with_bytes<'a, R>(
    list: &[(u16, u16)],
    body: &'a [u8],
    before: &'a [u8],
    f: impl FnOnce(&Ranges<'a>) -> R,
) -> R {
    let entry = |&(off, len): &(u16, u16)| {
        let (s, e) = (off as usize, off as usize + len as usize);
        (off, &body[s..e], &before[s..e])
    };
    if list.len() <= INLINE_RANGES {
        let empty: &[u8] = &[];
        let mut inline = [(0u16, empty, empty); INLINE_RANGES];
        for (slot, range) in inline.iter_mut().zip(list) {
            *slot = entry(range);
        }
        f(&inline[..list.len()])
    } else {
        let ranges: Vec<_> = list.iter().map(entry).collect();
        f(&ranges)
    }
}
