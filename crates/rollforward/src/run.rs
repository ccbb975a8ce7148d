//! The roll forward of a list of after-image files onto one target: checks first, then the
//! first write (after-imaging off, state `RollForwardInProgress`), then each file applied and
//! checkpointed with the master block's AI fields, then the final checkpoint.
//!
//! Invariants: a file is applied only after every check of it passed (a refused file changes
//! nothing of the database, and files applied before it stay applied, the database closed
//! properly); a failure while applying leaves the database `RollForwardInProgress` for retry;
//! once the end point is reached no later note is applied.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine::fasthash::IntMap;
use engine::{DbPath, NoteOutcome, RollForwardTarget};
use masterblock::{AiSeq, DbState, TxnId};
use storage::StorageRef;

use crate::error::{Error, Result};
use crate::file::{AiFile, Survey, survey};
use crate::options::{RollForwardOptions, StopAt, format_local_time};
use crate::report::{Event, FileSummary, Progress, Summary, TxnEnd, TxnEvent};
use crate::stream::VerifiedStream;

/// Notes between two progress events.
const PROGRESS_EVERY: u64 = 16384;

/// The event-log source of roll forward's lines.
const SOURCE: &str = "RFUTIL";

/// How applying one file went wrong.
enum FileError {
    /// Refused by a check: nothing of the file was applied.
    Refused(Error),
    /// Failed while applying: the database is left for retry.
    Failed(Error),
}

/// Applies `files` in order to the database `db`: see the crate documentation. `events`
/// receives the messages (also written to the event log), progress, and the end of every
/// transaction. Returns what was done; an error leaves the database unchanged if it came from
/// a check, or `RollForwardInProgress` (retry) if it came while applying.
pub fn roll_forward(
    storage: &StorageRef,
    db: &DbPath,
    files: &[PathBuf],
    opts: &RollForwardOptions,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    let began = Instant::now();
    let target = RollForwardTarget::open(storage.clone(), db, &opts.replay)?;
    let mb = target.master();
    let path_stem = db.to_string();
    if opts.retry && mb.state != DbState::RollForwardInProgress {
        return Err(Error::RetryNotNeeded {
            path_stem,
            state: state_text(mb.state).to_string(),
        });
    }
    if !opts.retry && mb.state == DbState::RollForwardInProgress {
        return Err(Error::RetryRequired { path_stem });
    }
    if mb.flags.rf_stop_reached {
        return Err(Error::StopReached {
            path_stem,
            point: recorded_stop(mb.rf_stop_time, mb.rf_stop_txn),
        });
    }
    let mut run = Run {
        storage,
        target,
        opts,
        events,
        began,
        begin_times: IntMap::default(),
        summary: Summary::default(),
        stopped: false,
    };
    // Retry: the first file applied skips the stamp check; files before it that the
    // interrupted roll forward finished are skipped.
    let mut retry_pending = opts.retry;
    for path in files {
        if run.stopped {
            run.say(
                &format!(
                    "{} was not applied: roll forward reached its end point before it",
                    path.display()
                ),
                91041,
            );
            continue;
        }
        match run.file(path, retry_pending) {
            Ok(true) => retry_pending = false,
            Ok(false) => run.say(
                &format!(
                    "{} was applied before the roll forward was interrupted; it is skipped",
                    path.display()
                ),
                91042,
            ),
            Err(FileError::Refused(Error::NotAiFile { path, reason }))
                if opts.skip_non_ai_files =>
            {
                run.say(
                    &format!(
                        "Warning: {} is not an after-image file ({reason}); it is skipped",
                        path.display()
                    ),
                    91040,
                );
            }
            Err(FileError::Refused(e)) => {
                if run.target.started() {
                    run.finish()?;
                }
                return Err(e);
            }
            Err(FileError::Failed(e)) => return Err(e),
        }
    }
    run.finish()
}

/// The state's name for messages.
fn state_text(state: DbState) -> &'static str {
    match state {
        DbState::Clean => "clean",
        DbState::Open => "open or crashed",
        DbState::RollForwardInProgress => "in the middle of a roll forward",
        DbState::RolledForwardInFlight => "rolled forward with transactions in flight",
        DbState::Restoring => "being restored",
    }
}

/// The end point recorded in the master block, for messages.
fn recorded_stop(time: i64, txn: u64) -> String {
    if txn != 0 {
        StopAt::EndTrans { txn: TxnId(txn) }.to_string()
    } else if time != 0 {
        StopAt::EndTime { time_micros: time }.to_string()
    } else {
        "an end point".to_string()
    }
}

struct Run<'a> {
    storage: &'a StorageRef,
    target: RollForwardTarget,
    opts: &'a RollForwardOptions,
    events: &'a mut dyn FnMut(Event<'_>),
    began: Instant,
    /// Begin times of the transactions begun in this run and not ended.
    begin_times: IntMap<u64, i64>,
    summary: Summary,
    /// The end point was reached.
    stopped: bool,
}

impl Run<'_> {
    /// Prints and logs an informational line.
    fn say(&mut self, text: &str, number: u32) {
        self.target.log_event(SOURCE, text, Some(number));
        (self.events)(Event::Message { text, number });
    }

    /// Checks and applies one file; `Ok(false)` if it is skipped because `retry` is set and
    /// the interrupted roll forward had finished it.
    fn file(&mut self, path: &Path, retry: bool) -> Result<bool, FileError> {
        let refused = FileError::Refused;
        let file = AiFile::open(self.storage.as_ref(), path).map_err(refused)?;
        let mb = self.target.master();
        file.check_identity(&mb).map_err(refused)?;
        let seq = file.header().ai_seq;
        if retry && seq < mb.ai_seq_expected {
            return Ok(false);
        }
        if seq != mb.ai_seq_expected {
            return Err(refused(Error::WrongSequence {
                path: path.to_path_buf(),
                expected: mb.ai_seq_expected,
                found: seq,
            }));
        }
        let next = self.target.next_note_seq();
        // The blocks are read in the background while the file is checked (reading only).
        self.target.warm_blocks();
        let survey = survey(&file, next, self.opts.stop).map_err(refused)?;
        if !retry && survey.stamp_at_start != self.target.open_stamp() {
            let db_stamp = self.target.open_stamp().0;
            self.say(
                &format!(
                    "The database was last opened for update at {} (open stamp {db_stamp:016x})",
                    format_local_time(mb.open_time)
                ),
                831,
            );
            self.say(
                &format!(
                    "After-image file {} expects the database of open stamp {:016x}",
                    path.display(),
                    survey.stamp_at_start.0
                ),
                832,
            );
            return Err(refused(Error::StampMismatch {
                path: path.to_path_buf(),
                db_stamp,
                file_stamp: survey.stamp_at_start.0,
            }));
        }
        if !self.target.started() {
            self.start(mb.ai_enabled).map_err(FileError::Failed)?;
        }
        self.apply(&file, &survey).map_err(FileError::Failed)?;
        Ok(true)
    }

    /// The first write: after-imaging off, the operation lock if asked, state
    /// `RollForwardInProgress`, the target's own BI redone.
    fn start(&mut self, ai_was_on: bool) -> Result<()> {
        let oplock = self.opts.oplock;
        let redo = self.target.start(|mb| {
            mb.ai_enabled = false;
            mb.ai_busy_extent = 0;
            mb.flags.archiver_enabled = false;
            if oplock {
                mb.flags.rf_oplock = true;
            }
        })?;
        self.summary.redo = Some(redo);
        if ai_was_on {
            for (text, number) in [
                ("WARNING: ROLL FORWARD disables after-imaging.", 663),
                ("After this is complete, you should re-enable it.", 648),
                ("If you desire continued after-image protection", 659),
                (
                    "After-image Extent Management has been disabled for the database.",
                    13292,
                ),
                ("After-image disabled.", 846),
            ] {
                self.say(text, number);
            }
        }
        Ok(())
    }

    /// Applies the surveyed notes of `file`, then checkpoints with the file's outcome in the
    /// master block.
    fn apply(&mut self, file: &AiFile, survey: &Survey) -> Result<()> {
        let file_began = Instant::now();
        let mut fs = FileSummary {
            path: file.path.clone(),
            ai_seq: file.header().ai_seq,
            closed: file.is_closed(),
            bytes: survey.bytes(),
            ..FileSummary::default()
        };
        let hints = self.target.block_hints();
        let hint_from = self.target.next_note_seq().0;
        let mut reader = VerifiedStream::start(
            file.apply_reader(survey),
            aiextent::AI_HEADER_REGION_BYTES,
            hints,
            hint_from,
        );
        let mut at_stop = false;
        while let Some(note) = reader.next().map_err(Error::ai(&file.path))? {
            let h = note.header;
            if survey.stop_seq.is_some_and(|s| h.note_seq >= s) {
                at_stop = true;
                break;
            }
            fs.notes_read += 1;
            match self.target.apply(&note)? {
                NoteOutcome::AlreadyPresent => {
                    fs.notes_skipped += 1;
                    continue;
                }
                NoteOutcome::Skipped => fs.notes_skipped += 1,
                NoteOutcome::Applied => fs.notes_applied += 1,
            }
            let end = match h.kind {
                aiextent::NoteKind::TxBegin => {
                    self.begin_times.insert(h.txn.0, h.aux as i64);
                    None
                }
                aiextent::NoteKind::TxCommit => {
                    fs.txns_committed += 1;
                    Some(TxnEnd::Committed)
                }
                aiextent::NoteKind::TxRollback => {
                    fs.txns_rolled_back += 1;
                    Some(TxnEnd::RolledBack)
                }
                _ => None,
            };
            if let Some(end) = end {
                let begin_time = self.begin_times.remove(&h.txn.0);
                (self.events)(Event::Txn(TxnEvent {
                    txn: h.txn,
                    begin_time,
                    end_time: Some(h.aux as i64),
                    end,
                }));
            }
            if fs.notes_read.is_multiple_of(PROGRESS_EVERY) {
                self.progress(&file.path, fs.notes_read, survey.notes, reader.offset());
            }
        }
        let end_offset = reader.offset();
        drop(reader);
        self.target.stop_read_ahead();
        if !at_stop && end_offset != survey.end_offset {
            return Err(Error::FileChanged {
                path: file.path.clone(),
                detail: format!(
                    "its notes end at byte {} but ended at byte {} when it was checked",
                    end_offset, survey.end_offset
                ),
            });
        }
        self.progress(&file.path, fs.notes_read, survey.notes, survey.end_offset);
        let stop = survey.stop_seq.and(self.opts.stop);
        let seq = fs.ai_seq;
        let closed = fs.closed;
        // The last note of the file the database now has.
        let last = match survey.stop_seq {
            Some(stop) => stop.0 - 1,
            None => survey.last_seq.0,
        };
        self.target.checkpoint(|mb| {
            mb.rf_note_seq = masterblock::NoteSeq(0);
            match stop {
                Some(point) => {
                    mb.flags.rf_stop_reached = true;
                    mb.ai_seq_expected = seq;
                    mb.rf_note_seq = masterblock::NoteSeq(last);
                    match point {
                        StopAt::EndTime { time_micros } => mb.rf_stop_time = time_micros,
                        StopAt::EndTrans { txn } => mb.rf_stop_txn = txn.0,
                    }
                }
                None if closed => mb.ai_seq_expected = AiSeq(seq.0 + 1),
                None => {
                    mb.ai_seq_expected = seq;
                    mb.rf_note_seq = masterblock::NoteSeq(last);
                }
            }
        })?;
        fs.elapsed = file_began.elapsed();
        fs.stop_reached = stop.is_some();
        let line = fs.to_string();
        self.say(&line, 91061);
        if let Some(point) = stop {
            self.stopped = true;
            self.say(
                &format!(
                    "Roll forward reached its end point ({point}); further roll forward of this database is invalid"
                ),
                17923,
            );
        }
        self.summary.add(fs);
        Ok(())
    }

    fn progress(&mut self, path: &Path, notes_done: u64, notes_total: u64, offset: u64) {
        (self.events)(Event::Progress(Progress {
            path,
            notes_done,
            notes_total,
            bytes_done: offset.saturating_sub(aiextent::AI_HEADER_REGION_BYTES),
            elapsed: self.began.elapsed(),
        }));
    }

    /// The final checkpoint; reports the transactions left in flight and the summary.
    fn finish(mut self) -> Result<Summary> {
        let open = self.target.open_txns();
        let started = self.target.started();
        for txn in &open {
            let begin_time = self.begin_times.get(&txn.0).copied();
            (self.events)(Event::Txn(TxnEvent {
                txn: *txn,
                begin_time,
                end_time: None,
                end: TxnEnd::InFlight,
            }));
        }
        self.summary.txns_open = open.len() as u64;
        if started && !open.is_empty() {
            self.say(
                &format!(
                    "{} transactions are still in flight; roll forward the next after-image file, or open the database for update, which rolls them back",
                    open.len()
                ),
                91062,
            );
        }
        self.summary.elapsed = self.began.elapsed().max(Duration::from_micros(1));
        let line = self.summary.to_string();
        self.say(&line, 91060);
        let Run {
            target,
            mut summary,
            ..
        } = self;
        summary.state = target.finish(|_| {})?;
        Ok(summary)
    }
}
