//! The roll forward of a list of after-image files onto one target: checks first, then the
//! first write (after-imaging off, state `RollForwardInProgress`), then each file applied and
//! checkpointed with the master block's AI fields, then the final checkpoint.
//!
//! Invariants: nothing of a file reaches the database before every check of it passed (it is
//! applied after them, or, for the first closed file of a clean target, beside them to a held
//! target that writes nothing until they pass), so a refused file changes nothing of the
//! database, and files applied before it stay applied, the database closed properly; a
//! failure while applying a started target leaves it `RollForwardInProgress` for retry; once
//! the end point is reached no later note is applied.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aiextent::NoteHeader;
use engine::fasthash::IntMap;
use engine::{DbPath, NoteOutcome, RedoReport, RollForwardTarget};
use masterblock::{AiSeq, DbState, MasterBlock, NoteSeq, OpenStamp, TxnId};
use storage::StorageRef;

use crate::error::{Error, Result};
use crate::file::{AiFile, Survey, survey};
use crate::options::{RollForwardOptions, StopAt, format_local_time};
use crate::report::{Event, FileSummary, Progress, Summary, TxnEnd, TxnEvent};
use crate::stream::{StreamReader, VerifiedStream};

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
        // The blocks are read in the background while the file is checked (reading only),
        // after the file's first notes, which are needed first.
        self.target.warm_blocks(file.head_prefetcher());
        if !retry && self.opts.stop.is_none() && file.is_closed() && self.target.can_start_held() {
            return self.file_held(&file, next, &mb).map(|()| true);
        }
        let survey = survey(&file, next, self.opts.stop).map_err(refused)?;
        if !retry {
            let db_stamp = self.target.open_stamp();
            self.check_stamp(&file, &survey, &mb, db_stamp)
                .map_err(refused)?;
        }
        if !self.target.started() {
            let oplock = self.opts.oplock;
            let redo = self.target.start(|mb| start_update(mb, oplock));
            self.started(redo, mb.ai_enabled)
                .map_err(FileError::Failed)?;
        }
        let pass = ApplyPass {
            reader: file.apply_reader(&survey),
            stop_seq: survey.stop_seq,
            notes_total: survey.notes,
            bytes: survey.bytes(),
        };
        let applied = self.apply_notes(&file, pass, &mut Checked)?;
        self.file_applied(applied, &survey)
            .map_err(FileError::Failed)?;
        Ok(true)
    }

    /// The first file of a clean target with an empty BI, closed and without an end point:
    /// checked by the reader that applies it, to a held target (nothing written to the
    /// database until the check passes, see `RollForwardTarget::start_held`), so the check
    /// takes no time of its own. A refusal leaves the database as it was.
    fn file_held(
        &mut self,
        file: &AiFile,
        next: NoteSeq,
        mb: &MasterBlock,
    ) -> Result<(), FileError> {
        let reader = file.checking_reader(next).map_err(FileError::Refused)?;
        let db_stamp = self.target.open_stamp();
        self.target.start_held();
        let mut gate = HeldCheck {
            verdict: None,
            survey: None,
            file,
            next,
            mb,
            db_stamp,
        };
        let pass = ApplyPass {
            reader,
            stop_seq: None,
            notes_total: 0,
            bytes: file.header().used_bytes,
        };
        let mut applied = self.apply_notes(file, pass, &mut gate)?;
        if let Some(checked) = applied.survey.take() {
            gate.verdict.get_or_insert(Ok(checked));
        }
        if self.target.is_held() {
            let checked = gate.wait().map_err(FileError::Refused)?;
            if applied.end_offset != checked.end_offset {
                let changed = file_changed(&file.path, applied.end_offset, checked.end_offset);
                return Err(FileError::Refused(changed));
            }
        }
        gate.open(self)?;
        let survey = gate.survey.take().expect("the check passed");
        self.file_applied(applied, &survey)
            .map_err(FileError::Failed)
    }

    /// Refuses a file whose open stamp before the target's next note is not `db_stamp`, the
    /// target's before the file (831, 832, then 833).
    fn check_stamp(
        &mut self,
        file: &AiFile,
        survey: &Survey,
        mb: &MasterBlock,
        db_stamp: OpenStamp,
    ) -> Result<()> {
        if survey.stamp_at_start == db_stamp {
            return Ok(());
        }
        let db_stamp = db_stamp.0;
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
                file.path.display(),
                survey.stamp_at_start.0
            ),
            832,
        );
        Err(Error::StampMismatch {
            path: file.path.clone(),
            db_stamp,
            file_stamp: survey.stamp_at_start.0,
        })
    }

    /// After the first write: the redo report kept, and the after-imaging messages when it
    /// was on (663, 648, 659, 13292, 846).
    fn started(&mut self, redo: engine::Result<RedoReport>, ai_was_on: bool) -> Result<()> {
        self.summary.redo = Some(redo?);
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

    /// Applies the notes `pass.reader` verifies, up to `pass.stop_seq`; `gate` decides what
    /// a held target waits for and how a failure is reported.
    fn apply_notes(
        &mut self,
        file: &AiFile,
        pass: ApplyPass,
        gate: &mut dyn Gate,
    ) -> Result<Applied, FileError> {
        let began = Instant::now();
        let mut fs = FileSummary {
            path: file.path.clone(),
            ai_seq: file.header().ai_seq,
            closed: file.is_closed(),
            bytes: pass.bytes,
            ..FileSummary::default()
        };
        let hints = self.target.block_hints();
        let hint_from = self.target.next_note_seq().0;
        let mut reader = VerifiedStream::start(
            pass.reader,
            aiextent::AI_HEADER_REGION_BYTES,
            hints,
            hint_from,
        );
        let mut at_stop = false;
        loop {
            let note = match reader.next() {
                Ok(Some(note)) => note,
                Ok(None) => break,
                Err(e) => return Err(gate.check_failed(self, e)),
            };
            let h = note.header;
            if pass.stop_seq.is_some_and(|s| h.note_seq >= s) {
                at_stop = true;
                break;
            }
            let mut outcome = self.target.apply(&note);
            if matches!(outcome, Err(engine::Error::PoolHeld)) {
                gate.open(self)?;
                outcome = self.target.apply(&note);
            }
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(e) => return Err(gate.failure(self, e.into())),
            };
            fs.notes_read += 1;
            self.note_applied(&mut fs, h, outcome);
            if fs.notes_read.is_multiple_of(PROGRESS_EVERY) {
                let counts = (fs.notes_read, pass.notes_total);
                self.progress(&file.path, counts, reader.offset(), pass.bytes);
            }
        }
        fs.applying = began.elapsed();
        let end_offset = reader.offset();
        let survey = reader.survey();
        drop(reader);
        self.target.stop_read_ahead();
        Ok(Applied {
            fs,
            end_offset,
            at_stop,
            began,
            survey,
        })
    }

    /// Counts an applied note and reports a transaction it ends.
    fn note_applied(&mut self, fs: &mut FileSummary, h: NoteHeader, outcome: NoteOutcome) {
        match outcome {
            NoteOutcome::AlreadyPresent => {
                fs.notes_skipped += 1;
                return;
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
    }

    /// After the notes of a file: the reader must have ended where the check did; then the
    /// checkpoint with the file's outcome in the master block, and the file's summary line.
    fn file_applied(&mut self, applied: Applied, survey: &Survey) -> Result<()> {
        let Applied {
            mut fs,
            end_offset,
            at_stop,
            began,
            ..
        } = applied;
        if !at_stop && end_offset != survey.end_offset {
            return Err(file_changed(&fs.path, end_offset, survey.end_offset));
        }
        let path = fs.path.clone();
        let counts = (fs.notes_read, survey.notes);
        self.progress(&path, counts, survey.end_offset, survey.bytes());
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
        fs.elapsed = began.elapsed();
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

    /// Reports progress: `(notes done, notes in the file)` and the offset reached.
    fn progress(&mut self, path: &Path, notes: (u64, u64), offset: u64, bytes_total: u64) {
        (self.events)(Event::Progress(Progress {
            path,
            notes_done: notes.0,
            notes_total: notes.1,
            bytes_done: offset.saturating_sub(aiextent::AI_HEADER_REGION_BYTES),
            bytes_total,
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

/// The master block fields of roll forward's first write: after-imaging off, the operation
/// lock if asked.
fn start_update(mb: &mut MasterBlock, oplock: bool) {
    mb.ai_enabled = false;
    mb.ai_busy_extent = 0;
    mb.flags.archiver_enabled = false;
    if oplock {
        mb.flags.rf_oplock = true;
    }
}

fn file_changed(path: &Path, end_offset: u64, checked: u64) -> Error {
    Error::FileChanged {
        path: path.to_path_buf(),
        detail: format!(
            "its notes end at byte {end_offset} but ended at byte {checked} when it was checked"
        ),
    }
}

/// What one pass of the apply loop reads.
struct ApplyPass {
    reader: StreamReader,
    /// The first note not to apply, if the end point is in the file.
    stop_seq: Option<NoteSeq>,
    /// Notes in the file, for progress (0: not known yet).
    notes_total: u64,
    /// Bytes of notes in the file.
    bytes: u64,
}

/// What the apply loop did with a file.
struct Applied {
    fs: FileSummary,
    /// Offset after the last note read.
    end_offset: u64,
    /// The end point stopped it.
    at_stop: bool,
    began: Instant,
    /// What a checking reader found (a held start), if it read to the end without error.
    survey: Option<Survey>,
}

/// What the apply loop waits for before a held target may write, and how it reports a
/// failure.
trait Gate {
    /// Called when a held target must write (its pool is full of changes) or its notes are
    /// done: the target is started from then on.
    fn open(&mut self, run: &mut Run<'_>) -> Result<(), FileError>;
    /// How a failure while applying is reported.
    fn failure(&mut self, run: &mut Run<'_>, e: Error) -> FileError;
    /// How an error of the file's reader is reported.
    fn check_failed(&mut self, run: &mut Run<'_>, e: Error) -> FileError;
}

/// The file was checked before applying began: the target is started.
struct Checked;

impl Gate for Checked {
    fn open(&mut self, _run: &mut Run<'_>) -> Result<(), FileError> {
        unreachable!("a started target's pool is never held")
    }

    fn failure(&mut self, _run: &mut Run<'_>, e: Error) -> FileError {
        FileError::Failed(e)
    }

    fn check_failed(&mut self, _run: &mut Run<'_>, e: Error) -> FileError {
        // The file changed since it was checked: the target is left for retry.
        FileError::Failed(e)
    }
}

/// The check of a file being applied to a held target: done by the reader that applies it,
/// or, when the target must write before that reader reaches the end, by a survey then.
struct HeldCheck<'f> {
    /// The check's outcome, once known (an error is taken by its first use).
    verdict: Option<Result<Survey>>,
    /// The check's findings, once it passed and the start was confirmed.
    survey: Option<Survey>,
    file: &'f AiFile,
    /// The target's next note before the file.
    next: NoteSeq,
    mb: &'f MasterBlock,
    /// The target's open stamp before the file (applying follows the file's stamps).
    db_stamp: OpenStamp,
}

impl HeldCheck<'_> {
    /// The check's outcome, surveying the file now if the reader has not found it.
    fn wait(&mut self) -> Result<Survey> {
        let verdict = match self.verdict.take() {
            Some(verdict) => verdict,
            None => survey(self.file, self.next, None),
        };
        if let Ok(survey) = &verdict {
            self.verdict = Some(Ok(survey.clone()));
        }
        verdict
    }
}

impl Gate for HeldCheck<'_> {
    fn open(&mut self, run: &mut Run<'_>) -> Result<(), FileError> {
        if !run.target.is_held() {
            return Ok(());
        }
        let survey = self.wait().map_err(FileError::Refused)?;
        run.check_stamp(self.file, &survey, self.mb, self.db_stamp)
            .map_err(FileError::Refused)?;
        let oplock = run.opts.oplock;
        let redo = run.target.confirm_start(|mb| start_update(mb, oplock));
        run.started(redo, self.mb.ai_enabled)
            .map_err(FileError::Failed)?;
        self.survey = Some(survey);
        Ok(())
    }

    fn failure(&mut self, run: &mut Run<'_>, e: Error) -> FileError {
        if !run.target.is_held() {
            return FileError::Failed(e);
        }
        // Nothing was written: a damaged file is reported as its check found it.
        match self.wait() {
            Err(refusal) => FileError::Refused(refusal),
            Ok(_) => FileError::Refused(e),
        }
    }

    fn check_failed(&mut self, run: &mut Run<'_>, e: Error) -> FileError {
        if run.target.is_held() {
            // The reader's error is the check's refusal; nothing was written.
            FileError::Refused(e)
        } else {
            // Surveyed whole before the target wrote: the file changed since.
            FileError::Failed(e)
        }
    }
}
