//! After-imaging in the engine: the busy AI extent as a second home of every note, the switch
//! to the next extent decided when a note is appended, the alignment of the AI with the BI at
//! open, and the offline `rfutil` administration.
//!
//! Invariants: while after-imaging is on, the AI holds exactly the notes of the database's note
//! stream from the busy extent's start on, in order (a full image in its minimal encoding, see
//! [`AiFrames`]); a note is durable in the BI and in the AI before a block it changed is
//! written, and durable in the AI (written to the BI) before its commit is acknowledged; an
//! `AiSwitch` note in the stream is where the AI moves to the next extent, and that extent's
//! first note is the same note; the switch is made only once the BI holds the switch note
//! durably, so the AI never holds notes past the BI's end except in the busy extent's tail,
//! which open copies back into the BI.

mod admin;
mod aioff;
mod align;
mod frames;
mod pipe;
mod plan;

use std::path::PathBuf;
use std::sync::Arc;

use aiextent::{
    AiExtentSpec, ExtentInfo, ExtentSet, FRAME_HEADER_LEN, NoteKind, note::reseal_frames,
};
use masterblock::{AiSeq, DbId, MasterBlockFile, NoteSeq};
use parking_lot::Mutex;
use storage::StorageRef;
use structure::Catalogue;

use crate::error::{Error, Result};
use crate::path::DbPath;

pub(crate) use admin::number_of_path;
pub use admin::{
    AiExtentSelector, OfflineLock, ai_extents, aimage_begin, aimage_end, aimage_extent_empty,
    aimage_new, mark_backedup, set_sequence,
};
pub(crate) use align::{align, open_set};
pub(crate) use frames::AiFrames;
pub(crate) use pipe::AiPipe;
pub(crate) use plan::{AiPlan, Next, SWITCH_FRAME_LEN};

/// What a switch to the next AI extent did (`rfutil aimage new`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AiSwitched {
    /// The extent that was busy and is now full.
    pub from_extent: u32,
    /// The extent that is busy now.
    pub to_extent: u32,
    /// The AI sequence of the new busy extent.
    pub new_seq: AiSeq,
}

/// The AI extents of a database as the extent set wants them, in catalogue order. Each AI
/// extent is the only extent of its own area.
pub fn ai_extent_specs(catalogue: &Catalogue) -> Vec<AiExtentSpec> {
    catalogue
        .ai_extents()
        .into_iter()
        .map(|a| AiExtentSpec {
            ai_number: a.ai_number,
            area: a.area,
            path: a.extent.path,
            fixed: a.extent.fixed,
            size_kib: a.extent.size_kib,
        })
        .collect()
}

/// [`ai_extent_specs`] with variable extents limited to `limit_bytes` when given (rounded
/// down to whole KiB; the extent set keeps a limit within 8 KiB and 2 GiB).
pub(crate) fn specs_with_limit(
    catalogue: &Catalogue,
    limit_bytes: Option<u64>,
) -> Vec<AiExtentSpec> {
    let mut specs = ai_extent_specs(catalogue);
    if let Some(limit) = limit_bytes {
        for spec in specs.iter_mut().filter(|s| !s.fixed) {
            spec.size_kib = (limit / 1024).max(1);
        }
    }
    specs
}

/// Reads the AI extents' states without changing anything (no reconcile).
pub(crate) fn read_extents(
    storage: &StorageRef,
    catalogue: &Catalogue,
    db_id: DbId,
) -> Result<Vec<ExtentInfo>> {
    let specs = ai_extent_specs(catalogue);
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ExtentSet::open(storage, db_id, &specs)?.extents())
}

/// The AI side of an open database: the extent set (which owns the busy extent's writer) and
/// what a switch needs besides it.
pub(crate) struct AiShared {
    /// The extents; `None` once closed.
    pub set: Mutex<Option<ExtentSet>>,
    /// The database's master block (a switch records the new busy extent in it).
    pub master: Arc<Mutex<MasterBlockFile>>,
    /// For the event log.
    pub storage: StorageRef,
    /// For the event log.
    pub path: DbPath,
}

impl AiShared {
    /// Writes an event-log line.
    pub(crate) fn log_event(&self, text: &str, number: Option<u32>) {
        crate::eventlog::log_event_in(self.storage.as_ref(), &self.path, "AIMAGE", text, number);
    }
}

/// The 3778 line of a switch to the extent of sequence `seq`.
pub(crate) fn file_number_text(seq: AiSeq) -> String {
    format!("This is after-image file number {seq} since the last AIMAGE BEGIN")
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Appends `frames` (whole notes as framed for the BI) to the busy AI extent, resealed with
/// its sequence. At each `AiSwitch` note it first calls `before_switch` (which returns once the
/// BI holds the note durably), then switches to the next extent with that note's sequence; the
/// switch writes the note as the new extent's first. Nothing is synced at the end: the caller
/// syncs the writer.
pub(crate) fn append_frames(
    ai: &AiShared,
    set: &mut ExtentSet,
    frames: &[u8],
    scratch: &mut Vec<u8>,
    before_switch: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let mut segment = 0usize;
    let mut at = 0usize;
    while at < frames.len() {
        let body_len = u32::from_le_bytes(frames[at..at + 4].try_into().expect("4 bytes")) as usize;
        let body = &frames[at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + body_len];
        let next = at + FRAME_HEADER_LEN + body_len;
        if body[8] == NoteKind::AiSwitch.as_u8() {
            write_segment(set, &frames[segment..at], scratch)?;
            before_switch()?;
            let note_seq = NoteSeq(u64_at(body, 0));
            let new_seq = AiSeq(u64_at(body, 40));
            let current = ai.master.lock().get().ai_seq_current;
            if new_seq != current.next() {
                return Err(Error::AiBiMismatch {
                    detail: format!(
                        "switch note {note_seq} starts AI sequence {new_seq}, but the busy extent has sequence {current}"
                    ),
                });
            }
            let now = masterblock::now_micros();
            set.switch(&mut ai.master.lock(), note_seq, now)?;
            ai.log_event(&file_number_text(new_seq), Some(3778));
            segment = next;
        }
        at = next;
    }
    write_segment(set, &frames[segment..], scratch)
}

/// Appends whole frames to the busy extent's writer, resealed with its seed.
fn write_segment(set: &mut ExtentSet, frames: &[u8], scratch: &mut Vec<u8>) -> Result<()> {
    if frames.is_empty() {
        return Ok(());
    }
    let writer = set
        .writer_mut()
        .ok_or(Error::Note(aiextent::Error::AiNotEnabled))?;
    if !writer.would_fit(frames.len()) {
        return Err(Error::AiBiMismatch {
            detail: format!(
                "{} bytes of notes do not fit in the busy AI extent {} (it ends at byte {}, its limit is {} bytes)",
                frames.len(),
                writer.extent().path().display(),
                writer.end_offset(),
                writer.capacity_bytes()
            ),
        });
    }
    scratch.clear();
    scratch.extend_from_slice(frames);
    reseal_frames(scratch, writer.seed());
    writer.append(scratch)?;
    Ok(())
}

/// The path of AI extent `ai_number` in `catalogue`, for messages.
pub(crate) fn extent_path(catalogue: &Catalogue, ai_number: u32) -> Option<PathBuf> {
    catalogue
        .ai_extents()
        .into_iter()
        .find(|a| a.ai_number == ai_number)
        .map(|a| a.extent.path)
}
