//! Opening the AI extents for update: reconcile them with the master block, then align the AI
//! with the BI before anything new is written, so that the AI holds exactly the notes the BI
//! holds from the AI's start on.
//!
//! Invariants: the BI is reset only once the AI is durable up to the reset point and an AI
//! switch is made only once the BI holds its switch note, so the BI always covers the AI's
//! missing tail, and notes the AI holds past the BI's end lie in the busy extent after its
//! switch note (synced to the AI, never to the BI, never acknowledged): they are cut off. The
//! one note the AI may hold at the BI's end is the switch note `aimage begin` wrote into the
//! first extent; it is appended to the BI. Notes copied from the BI get the AI's encoding (a
//! full image minimal, see [`minimal_frames`]), byte for byte what the log would have written,
//! so they take the room the log planned for them.

use aiextent::note::{append_frame, decode_frame, encode_note};
use aiextent::{ExtentSet, FrameOutcome, NoteKind};
use masterblock::{MasterBlockFile, NoteSeq};
use storage::StorageRef;
use structure::Catalogue;

use super::{AiShared, append_frames, specs_with_limit};
use crate::bi::{BI_HEADER_BYTES, BiFile, BiStream};
use crate::block;
use crate::error::{Error, Result};
use crate::eventlog::log_event_in;
use crate::path::DbPath;

/// Opens the AI extents and reconciles them with the master block, logging each repair.
pub(crate) fn open_set(
    storage: &StorageRef,
    db: &DbPath,
    catalogue: &Catalogue,
    master: &mut MasterBlockFile,
    limit_bytes: Option<u64>,
) -> Result<ExtentSet> {
    let specs = specs_with_limit(catalogue, limit_bytes);
    let mut set = ExtentSet::open(storage, master.get().db_id, &specs)?;
    for repair in set.reconcile(master)? {
        log_event_in(
            storage.as_ref(),
            db,
            "AIMAGE",
            &format!("crash recovery of the AI extents: {repair}"),
            None,
        );
    }
    Ok(set)
}

/// Aligns the AI (after-imaging on, reconciled) with the BI's valid `stream`. Returns true if
/// the BI was written (the caller reads its stream again).
pub(crate) fn align(ai: &AiShared, bi: &BiFile, stream: &BiStream) -> Result<bool> {
    let mut guard = ai.set.lock();
    let set = guard.as_mut().expect("the AI extents are open");
    let busy = set.busy().expect("after-imaging is on");
    let (first, first_body) = {
        let mut reader = set.read_notes(busy).expect("the busy extent is open")?;
        let note = reader.next()?.expect("a busy extent has its switch note");
        (note.header.note_seq, note.body().to_vec())
    };
    let last = set
        .recovered_last_note_seq()
        .expect("reconcile found the busy extent's notes");
    let start = bi.header.start_note_seq;
    let mut end = NoteSeq(start.0 + stream.notes.len() as u64);
    let mut bi_written = false;
    if first == end {
        // `aimage begin` made the first extent busy after the BI's last note.
        let mut frame = Vec::new();
        append_frame(&mut frame, bi.header.generation, &first_body);
        let at = BI_HEADER_BYTES + stream.end as u64;
        bi.file
            .write_at(&frame, at)
            .map_err(Error::io("write", &bi.path))?;
        bi.file.sync().map_err(Error::io("sync", &bi.path))?;
        end = end.next();
        bi_written = true;
    } else if first > end {
        return Err(Error::AiBiMismatch {
            detail: format!(
                "the busy AI extent {busy} starts at note {first}, but the before-image log ends before note {end}"
            ),
        });
    }
    if last >= end {
        let keep = NoteSeq(end.0 - 1);
        if let Some(at) = set.truncate_busy_after(keep)? {
            ai.log_event(
                &format!(
                    "after-image extent {busy}: notes {} to {last} never reached the before-image log and were removed (from byte {at})",
                    end
                ),
                None,
            );
        }
    } else if last.0 + 1 < end.0 {
        let from = NoteSeq(last.0 + 1);
        if from < start {
            return Err(Error::AiBiMismatch {
                detail: format!(
                    "the AI extents end at note {last}, but the before-image log starts at note {start}"
                ),
            });
        }
        let index = (from.0 - start.0) as usize;
        let frames = &stream.bytes[stream.notes[index].0..stream.end];
        let frames = minimal_frames(frames, bi.header.generation);
        let mut scratch = Vec::new();
        append_frames(ai, set, &frames, &mut scratch, &mut || Ok(()))?;
        set.writer_mut()
            .ok_or(Error::Note(aiextent::Error::AiNotEnabled))?
            .flush_and_sync()?;
        ai.log_event(
            &format!(
                "notes {from} to {} of the before-image log were added to the after-image extents",
                end.0 - 1
            ),
            None,
        );
    }
    Ok(bi_written)
}

/// The AI's encoding of whole, verified BI `frames` sealed with `seed`: a block change with one
/// range at offset 0 (a full image) is encoded with the ranges where its undo and redo bytes
/// differ, exactly the ranges the change had before it became a full image; every other note
/// is copied. (A change whose real diff is that one range encodes the same either way.)
pub(crate) fn minimal_frames(frames: &[u8], seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(frames.len());
    let mut diff = Vec::new();
    let mut at = 0;
    while at < frames.len() {
        let FrameOutcome::Note { note, frame_len } = decode_frame(&frames[at..], seed) else {
            panic!("the BI's valid stream holds whole notes");
        };
        let frame = &frames[at..at + frame_len];
        at += frame_len;
        let full = note.header.kind == NoteKind::BlockChange
            && note.range_count() == 1
            && note.ranges().next().is_some_and(|r| r.offset == 0);
        if !full {
            out.extend_from_slice(frame);
            continue;
        }
        let whole = note.ranges().next().expect("one range");
        block::diff(whole.undo, whole.redo, &mut diff);
        if diff.is_empty() {
            out.extend_from_slice(frame);
            continue;
        }
        let ranges: Vec<(u16, &[u8], &[u8])> = diff
            .iter()
            .map(|&(off, len)| {
                let (s, e) = (usize::from(off), usize::from(off) + usize::from(len));
                (off, &whole.redo[s..e], &whole.undo[s..e])
            })
            .collect();
        encode_note(&mut out, seed, &note.header, &ranges);
    }
    out
}
