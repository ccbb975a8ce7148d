//! `rfutil aiverify partial|full`: checks an AI file before it is applied, never panicking on
//! any input.
//!
//! Invariant: every problem found in the file's content is recorded in the report (reading
//! stops at the first one the stream cannot go past); only I/O failures are errors. Partial
//! checks the header and every frame (checksum, sequence, structure, the switch note); full
//! also walks every note's ranges and pairs transaction begins with their ends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use masterblock::{NoteSeq, TxnId};
use storage::FileRef;

use super::read_header;
use crate::Error;
use crate::extent::{AI_HEADER_REGION_BYTES, AiHeader, AiState, ExtentReader};
use crate::note::{EndReason, NoteKind, NoteRef};

/// One problem found by [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyProblem {
    /// File offset of the frame (or 0 for the header).
    pub offset: u64,
    /// What is wrong.
    pub detail: String,
}

/// What [`verify`] found in one AI file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The file.
    pub path: PathBuf,
    /// True for `aiverify full`.
    pub full: bool,
    /// The extent's state.
    pub state: AiState,
    /// Its AI sequence.
    pub ai_seq: u64,
    /// Notes read, the switch note included.
    pub notes: u64,
    /// Sequence of the first note.
    pub first_seq: Option<NoteSeq>,
    /// Sequence of the last note.
    pub last_seq: Option<NoteSeq>,
    /// File offset just after the last note read.
    pub end_offset: u64,
    /// Why the stream ended before the end of the file or region, if it did.
    pub end_reason: Option<EndReason>,
    /// `BlockChange` notes.
    pub block_changes: u64,
    /// Bytes of redo data in the ranges (full only).
    pub redo_bytes: u64,
    /// `TxBegin` notes.
    pub txns_begun: u64,
    /// `TxCommit` notes.
    pub txns_committed: u64,
    /// `TxRollback` notes.
    pub txns_rolled_back: u64,
    /// Transactions with notes here whose begin is in an earlier file (full only).
    pub txns_carried_in: u64,
    /// Transactions still open at the end of the file (full only).
    pub txns_in_flight: u64,
    /// Every problem, in file order.
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    fn new(path: &Path, header: &AiHeader, full: bool) -> Self {
        VerifyReport {
            path: path.to_path_buf(),
            full,
            state: header.state,
            ai_seq: header.ai_seq.0,
            notes: 0,
            first_seq: None,
            last_seq: None,
            end_offset: AI_HEADER_REGION_BYTES,
            end_reason: None,
            block_changes: 0,
            redo_bytes: 0,
            txns_begun: 0,
            txns_committed: 0,
            txns_rolled_back: 0,
            txns_carried_in: 0,
            txns_in_flight: 0,
            problems: Vec::new(),
        }
    }

    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report if no problem was found, else [`Error::VerifyFailed`] naming the first.
    pub fn check(self) -> Result<VerifyReport, Error> {
        match self.problems.first() {
            None => Ok(self),
            Some(first) => Err(Error::VerifyFailed {
                path: self.path.clone(),
                problems: self.problems.len(),
                offset: first.offset,
                first: first.detail.clone(),
            }),
        }
    }

    fn problem(&mut self, offset: u64, detail: impl Into<String>) {
        self.problems.push(VerifyProblem {
            offset,
            detail: detail.into(),
        });
    }
}

/// Transaction pairing state for `aiverify full`.
#[derive(Default)]
struct Pairing {
    /// Begun in this file and not ended.
    open: HashSet<TxnId>,
    /// Seen here without a begin here, not ended.
    carried: HashSet<TxnId>,
    /// Ended in this file.
    ended: HashSet<TxnId>,
    carried_total: u64,
}

impl Pairing {
    /// Checks one note; returns a problem's text, if any.
    fn note(&mut self, note: &NoteRef<'_>) -> Option<String> {
        let h = &note.header;
        let t = h.txn;
        match h.kind {
            NoteKind::TxBegin => {
                if t.0 == 0 {
                    return Some("a transaction begins with id 0".into());
                }
                if self.open.contains(&t) {
                    return Some(format!("transaction {t} begins twice"));
                }
                if self.ended.contains(&t) {
                    return Some(format!("transaction {t} begins again after it ended"));
                }
                if self.carried.contains(&t) {
                    return Some(format!("transaction {t} has notes before its begin"));
                }
                self.open.insert(t);
            }
            NoteKind::TxCommit | NoteKind::TxRollback => {
                if t.0 == 0 {
                    return Some(format!("a {} note for transaction 0", h.kind));
                }
                if self.ended.contains(&t) {
                    return Some(format!("transaction {t} ends twice"));
                }
                if !self.open.remove(&t) && !self.carried.remove(&t) {
                    self.carried_total += 1;
                }
                self.ended.insert(t);
            }
            NoteKind::BlockChange => {
                if h.compensation && t.0 == 0 {
                    return Some("a compensation note outside any transaction".into());
                }
                if h.compensation && h.aux >= h.note_seq.0 {
                    return Some(format!(
                        "compensation note {} undoes note {}, which is not earlier",
                        h.note_seq, h.aux
                    ));
                }
                if t.0 != 0 {
                    if self.ended.contains(&t) {
                        return Some(format!("a block change of transaction {t} after its end"));
                    }
                    if !self.open.contains(&t) && self.carried.insert(t) {
                        self.carried_total += 1;
                    }
                }
            }
            NoteKind::OpenStamp | NoteKind::AiSwitch => {}
        }
        None
    }
}

/// Verifies the AI file in `file`: reads its header (a file with no valid header, or one that
/// verifies but is invalid, is an error naming it), then as [`verify`].
pub fn verify_file(file: &FileRef, path: &Path, full: bool) -> Result<VerifyReport, Error> {
    let (header, _) = read_header(file, path)?;
    verify(file, path, &header, full)
}

/// Verifies the notes of the AI file in `file` whose trusted header is `header` (`path` names
/// it). Partial (`full` false): the header against the file (fixed size, notes within the
/// file) and every frame (checksum with the extent's sequence, unbroken note sequence, the
/// structure of every note, the switch note first and only first; a Full or Locked extent's
/// notes exactly fill `used_bytes`). Full: also every note's ranges, compensation notes, and
/// transaction pairing (no begin twice, no end twice or without begin-or-notes, no change
/// after the end). Problems go into the report; only I/O failures are errors.
pub fn verify(
    file: &FileRef,
    path: &Path,
    header: &AiHeader,
    full: bool,
) -> Result<VerifyReport, Error> {
    let mut report = VerifyReport::new(path, header, full);
    let len = file.len().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        op: "get the length of",
        offset: 0,
        source,
    })?;
    if let Some(size) = header.fixed_size_bytes()
        && size != len
    {
        report.problem(
            0,
            format!("the fixed extent should be {size} bytes long but is {len}"),
        );
    }
    if header.state == AiState::Empty {
        return Ok(report);
    }
    if header.used_bytes > len.saturating_sub(AI_HEADER_REGION_BYTES) {
        report.problem(
            0,
            format!(
                "the header records {} bytes of notes but the file is only {len} bytes long",
                header.used_bytes
            ),
        );
        return Ok(report);
    }
    let mut reader = ExtentReader::new(file.clone(), path, header)?;
    let mut pairing = Pairing::default();
    loop {
        let at = reader.offset();
        let note = match reader.next() {
            Ok(Some(note)) => note,
            Ok(None) => break,
            Err(e @ Error::Io { .. }) => return Err(e),
            Err(e) => {
                report.problem(at, e.to_string());
                break;
            }
        };
        let h = note.header;
        report.notes += 1;
        report.first_seq.get_or_insert(h.note_seq);
        report.last_seq = Some(h.note_seq);
        match h.kind {
            NoteKind::TxBegin => report.txns_begun += 1,
            NoteKind::TxCommit => report.txns_committed += 1,
            NoteKind::TxRollback => report.txns_rolled_back += 1,
            NoteKind::BlockChange => report.block_changes += 1,
            NoteKind::AiSwitch if report.notes > 1 => {
                report.problem(at, "a switch note in the middle of the extent")
            }
            NoteKind::AiSwitch | NoteKind::OpenStamp => {}
        }
        if full {
            for range in note.ranges() {
                report.redo_bytes = report.redo_bytes.saturating_add(range.redo.len() as u64);
                if range.redo.len() != range.undo.len() {
                    report.problem(at, "a range whose redo and undo lengths differ");
                }
            }
            if let Some(problem) = pairing.note(&note) {
                report.problem(at, problem);
            }
        }
    }
    report.end_offset = reader.offset();
    report.end_reason = reader.end_reason().cloned();
    if full {
        report.txns_carried_in = pairing.carried_total;
        report.txns_in_flight = (pairing.open.len() + pairing.carried.len()) as u64;
    }
    Ok(report)
}
