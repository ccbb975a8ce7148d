//! Opening the AI extents for update: reconcile them with the master block, then align the AI
//! with the BI before anything new is written, so that the AI holds exactly the notes the BI
//! holds from the AI's start on.
//!
//! Invariants: the BI is reset only once the AI is durable up to the reset point and an AI
//! switch is made only once the BI holds its switch note durably, so the BI always covers the
//! AI's missing tail, and notes the AI holds past the BI's end lie in the busy extent after its
//! switch note. Those are notes a commit was acknowledged on (the AI is the commit's
//! durability point, see `crate::log`) and are copied back into the BI; the first copied
//! change of a block without a full image in the BI becomes one again (read from the data
//! extent, which no block write after that note can have reached), so crash recovery can still
//! rebuild any block a later crash tears. The one note the AI may hold at the BI's end is the
//! switch note `aimage begin` wrote into the first extent; it is appended to the BI. Notes
//! copied from the BI get the AI's encoding (a full image minimal, see [`minimal_frames`]),
//! byte for byte what the log would have written, so they take the room the log planned for
//! them.

use aiextent::note::{append_frame, decode_frame, encode_note};
use std::collections::HashSet;

use aiextent::{ExtentSet, FrameOutcome, NoteKind, NoteRef};
use masterblock::{MasterBlockFile, NoteSeq};
use storage::StorageRef;
use structure::Catalogue;

use super::{AiShared, append_frames, specs_with_limit};
use crate::bi::{BI_HEADER_BYTES, BiFile, BiStream};
use crate::block;
use crate::error::{Error, Result};
use crate::eventlog::log_event_in;
use crate::extent::DataFiles;
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
pub(crate) fn align(
    ai: &AiShared,
    bi: &BiFile,
    stream: &BiStream,
    files: &DataFiles,
    block_size: u32,
) -> Result<bool> {
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
    let mut bi_end = BI_HEADER_BYTES + stream.end as u64;
    if first == end {
        // `aimage begin` made the first extent busy after the BI's last note.
        let mut frame = Vec::new();
        append_frame(&mut frame, bi.header.generation, &first_body);
        bi.file
            .write_at(&frame, bi_end)
            .map_err(Error::io("write", &bi.path))?;
        bi.file.sync().map_err(Error::io("sync", &bi.path))?;
        bi_end += frame.len() as u64;
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
        let copied = copy_ai_tail(set, busy, bi, stream, (files, block_size), end, bi_end)?;
        bi.file.sync().map_err(Error::io("sync", &bi.path))?;
        bi_written = true;
        ai.log_event(
            &format!(
                "notes {end} to {last} of after-image extent {busy} were copied to the before-image log ({} as full images)",
                copied.full_images
            ),
            None,
        );
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

/// What [`copy_ai_tail`] wrote.
struct Copied {
    /// Block changes written as full images.
    full_images: u64,
}

/// Bytes of copied frames gathered before they are written to the BI.
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// Copies the notes of the busy extent `busy` from `from` on into the BI at byte `at`, sealed
/// with the BI's generation (not synced). The first of them that changes a block with no full
/// image in `stream` is written as one when the block on disk is exactly what the note
/// changes; any other note is copied as it is.
fn copy_ai_tail(
    set: &ExtentSet,
    busy: u32,
    bi: &BiFile,
    stream: &BiStream,
    (files, block_size): (&DataFiles, u32),
    from: NoteSeq,
    mut at: u64,
) -> Result<Copied> {
    let seed = bi.header.generation;
    let body_len = block_size as usize - block::HEADER_BYTES;
    let mut imaged = blocks_with_full_image(stream, seed, body_len);
    let mut buf = vec![0u8; block_size as usize];
    let mut out = Vec::with_capacity(COPY_CHUNK_BYTES + (1 << 16));
    let mut copied = Copied { full_images: 0 };
    let mut reader = set.read_notes(busy).expect("the busy extent is open")?;
    while let Some(note) = reader.next()? {
        if note.header.note_seq < from {
            continue;
        }
        let h = note.header;
        let first_of_block =
            h.kind == NoteKind::BlockChange && imaged.insert((h.area.0, h.block.0));
        if !(first_of_block && full_image(&note, files, &mut buf, seed, &mut out)) {
            append_frame(&mut out, seed, note.body());
        } else {
            copied.full_images += 1;
        }
        if out.len() >= COPY_CHUNK_BYTES {
            bi.file
                .write_at(&out, at)
                .map_err(Error::io("write", &bi.path))?;
            at += out.len() as u64;
            out.clear();
        }
    }
    if !out.is_empty() {
        bi.file
            .write_at(&out, at)
            .map_err(Error::io("write", &bi.path))?;
    }
    Ok(copied)
}

/// The blocks that have a full-image note in the BI's valid `stream`.
fn blocks_with_full_image(stream: &BiStream, seed: u64, body_len: usize) -> HashSet<(u32, u32)> {
    let mut out = HashSet::new();
    for &(off, header) in &stream.notes {
        if header.kind != NoteKind::BlockChange {
            continue;
        }
        let FrameOutcome::Note { note, .. } = decode_frame(&stream.bytes[off..], seed) else {
            panic!("the BI's valid stream holds whole notes");
        };
        if note.range_count() == 1
            && note
                .ranges()
                .next()
                .is_some_and(|r| r.offset == 0 && r.redo.len() == body_len)
        {
            out.insert((header.area.0, header.block.0));
        }
    }
    out
}

/// Appends to `out` the block change `note` as a full image of its block (old body as on disk,
/// new body with the note applied), if the block on disk verifies, its update counter is the
/// note's prior counter and the note's undo bytes are what the block holds; false otherwise
/// (nothing appended).
fn full_image(
    note: &NoteRef<'_>,
    files: &DataFiles,
    buf: &mut [u8],
    seed: u64,
    out: &mut Vec<u8>,
) -> bool {
    let h = note.header;
    if !files.has_area(h.area)
        || files.read_raw(h.area, h.block, buf).is_err()
        || block::verify(buf, h.area, h.block).is_err()
        || block::counter(buf) != h.prior_counter.0
    {
        return false;
    }
    let before = &buf[block::HEADER_BYTES..];
    let mut after = before.to_vec();
    for r in note.ranges() {
        let s = usize::from(r.offset);
        let Some(old) = before.get(s..s + r.undo.len()) else {
            return false;
        };
        if old != r.undo || r.undo.len() != r.redo.len() {
            return false;
        }
        after[s..s + r.redo.len()].copy_from_slice(r.redo);
    }
    encode_note(out, seed, &h, &[(0, &after, before)]);
    true
}
