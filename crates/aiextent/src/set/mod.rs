//! The extent set: every AI extent of one database, used in circular order of AI extent number,
//! kept consistent with the master block's AI counters (docs/formats/ai-extent.md, "Switch
//! protocol").
//!
//! Invariants, once [`ExtentSet::reconcile`] has run: after-imaging is on in the master block
//! iff exactly one extent is Busy; that extent is `ai_busy_extent` and its sequence is
//! `ai_seq_current`; Full and Locked extents have distinct sequences below it. Every operation
//! changes the disk in the documented order, so a crash at any write or sync leaves a state that
//! `reconcile` takes to the state before or after the operation; an I/O error in the middle of
//! one leaves the set refusing everything until it is reopened and reconciled.

mod ops;
mod reconcile;
mod verify;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use masterblock::{AiSeq, AreaNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp};
use storage::{FileRef, OpenMode, Storage, StorageRef};

use crate::Error;
use crate::extent::{
    AI_HEADER_REGION_BYTES, AI_SLOT_LEN, AI_SLOT_OFFSETS, AiExtentFile, AiHeader, AiState,
    AiWriter, DEFAULT_VARIABLE_LIMIT_BYTES, ExtentReader, MIN_FIXED_SIZE_KIB,
};

pub use reconcile::Repair;
pub use verify::{VerifyProblem, VerifyReport, verify, verify_file};

/// The `extent_number` in an AI extent's header: each AI extent is the only extent of its own
/// area, so it is extent 1 of that area (the AI extent number N of `db.aN` is in the spec).
pub const AI_EXTENT_NUMBER_IN_AREA: u32 = 1;

/// One AI extent as the structure catalogue describes it (the engine passes these in).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AiExtentSpec {
    /// The N of `db.aN`: position in the circular order, from 1.
    pub ai_number: u32,
    /// The extent's own area.
    pub area: AreaNo,
    /// The file.
    pub path: PathBuf,
    /// Fixed (preallocated) or variable.
    pub fixed: bool,
    /// Fixed: the file's size. Variable: its size limit, 0 for the default (2 GiB).
    pub size_kib: u64,
}

impl AiExtentSpec {
    /// Largest file offset notes may reach: the fixed size, or for a variable extent its limit
    /// (the default 2 GiB when `size_kib` is 0; a limit is at least 8 KiB and at most the
    /// default).
    pub fn capacity_bytes(&self) -> u64 {
        if self.fixed {
            self.size_kib.saturating_mul(1024)
        } else if self.size_kib == 0 {
            DEFAULT_VARIABLE_LIMIT_BYTES
        } else {
            self.size_kib
                .saturating_mul(1024)
                .clamp(MIN_FIXED_SIZE_KIB * 1024, DEFAULT_VARIABLE_LIMIT_BYTES)
        }
    }
}

/// What `rfutil aimage extent list` shows of one extent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtentInfo {
    /// The N of `db.aN`.
    pub ai_number: u32,
    /// The extent's area.
    pub area: AreaNo,
    /// The file.
    pub path: PathBuf,
    /// State.
    pub state: AiState,
    /// Sequence of this use (0 while Empty).
    pub ai_seq: AiSeq,
    /// Fixed or variable.
    pub fixed: bool,
    /// Fixed size, or the variable extent's limit as given (0: default), KiB.
    pub size_kib: u64,
    /// Bytes of notes after the header region: exact for Full and Locked, found by reading
    /// (or from the writer) for Busy, 0 for Empty.
    pub used_bytes: u64,
    /// The database's open stamp when the extent became busy.
    pub open_stamp: OpenStamp,
    /// Time of the `aimage begin` this use belongs to, µs.
    pub ai_begin_time: i64,
    /// When it became busy, µs (0 while Empty).
    pub busy_time: i64,
    /// When it became full or locked, µs (0 before).
    pub full_time: i64,
}

/// One extent of the set.
#[derive(Debug)]
struct Member {
    spec: AiExtentSpec,
    /// The extent's header as last written and acknowledged.
    header: AiHeader,
    /// The open extent; `None` while the writer holds it, or after a failed step.
    file: Option<AiExtentFile>,
    /// For an extent Busy at open: the end offset and last sequence of its notes.
    scanned: Option<(u64, Option<NoteSeq>)>,
}

/// The AI extents of one database, opened, in order of AI extent number.
///
/// Open with [`ExtentSet::open`], then [`ExtentSet::reconcile`] once against the master block
/// before any change (only [`ExtentSet::end`] may run without it). While after-imaging is on the
/// set holds the busy extent's [`AiWriter`] ([`ExtentSet::writer_mut`]).
pub struct ExtentSet {
    storage: StorageRef,
    db_id: DbId,
    members: Vec<Member>,
    /// Index in `members` and writer of the busy extent.
    writer: Option<(usize, AiWriter)>,
    reconciled: bool,
    /// The operation an I/O error interrupted; the set refuses every change until reopened.
    poisoned: Option<&'static str>,
    recovered_last: Option<NoteSeq>,
}

impl std::fmt::Debug for ExtentSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtentSet")
            .field("db_id", &self.db_id)
            .field("members", &self.members)
            .field("busy", &self.writer.as_ref().map(|(i, _)| *i))
            .field("reconciled", &self.reconciled)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

fn io_error(path: &Path, op: &'static str, offset: u64) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path,
        op,
        offset,
        source,
    }
}

/// The directory holding `path`, for `sync_dir`.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads the winning header of the AI extent in `file` the way [`AiExtentFile::open`] does,
/// with the file's length; nothing about the notes is checked.
pub(crate) fn read_header(file: &FileRef, path: &Path) -> Result<(AiHeader, u64), Error> {
    let len = file.len().map_err(io_error(path, "get the length of", 0))?;
    let mut region = vec![0u8; AI_HEADER_REGION_BYTES.min(len) as usize];
    file.read_at(&mut region, 0)
        .map_err(io_error(path, "read the header of", 0))?;
    region.resize(AI_HEADER_REGION_BYTES as usize, 0);
    let mut best: Option<AiHeader> = None;
    for (slot, &offset) in AI_SLOT_OFFSETS.iter().enumerate() {
        let at = offset as usize;
        let bytes: &[u8; AI_SLOT_LEN] = region[at..at + AI_SLOT_LEN]
            .try_into()
            .expect("slot length");
        let parsed = AiHeader::decode(bytes);
        if !parsed.checksum_ok() {
            continue;
        }
        let header = parsed.validate(path, slot as u8)?;
        if best.is_none_or(|b| header.generation > b.generation) {
            best = Some(header);
        }
    }
    let header = best.ok_or_else(|| Error::NoValidHeader {
        path: path.to_path_buf(),
    })?;
    Ok((header, len))
}

/// Refuses a header whose notes would pass the end of the file, before anything adds to its
/// `used_bytes`.
fn check_used_within(header: &AiHeader, len: u64, path: &Path) -> Result<(), Error> {
    if header.state != AiState::Empty
        && header.used_bytes > len.saturating_sub(AI_HEADER_REGION_BYTES)
    {
        return Err(Error::UsedBeyondFile {
            path: path.to_path_buf(),
            used_bytes: header.used_bytes,
            file_len_bytes: len,
        });
    }
    Ok(())
}

/// Refuses an extent header that does not match its spec and database.
fn check_identity(header: &AiHeader, spec: &AiExtentSpec, db_id: DbId) -> Result<(), Error> {
    let ext = &header.ext;
    if ext.db_id != db_id {
        return Err(Error::ForeignExtent {
            path: spec.path.clone(),
            expected: db_id,
            found: ext.db_id,
        });
    }
    let wrong = |detail: String| Error::WrongExtent {
        path: spec.path.clone(),
        ai_number: spec.ai_number,
        detail,
    };
    if ext.area != spec.area || ext.extent_number != AI_EXTENT_NUMBER_IN_AREA {
        return Err(wrong(format!(
            "its header names area {} extent {}, the structure area {} extent {}",
            ext.area, ext.extent_number, spec.area, AI_EXTENT_NUMBER_IN_AREA
        )));
    }
    if ext.fixed != spec.fixed {
        let kind = |fixed: bool| if fixed { "fixed" } else { "variable" };
        return Err(wrong(format!(
            "the file is a {} extent, the structure says {}",
            kind(ext.fixed),
            kind(spec.fixed)
        )));
    }
    if spec.fixed && ext.size_kib != spec.size_kib {
        return Err(wrong(format!(
            "the file is {} KiB, the structure says {} KiB",
            ext.size_kib, spec.size_kib
        )));
    }
    Ok(())
}

impl ExtentSet {
    /// Creates a new Empty extent file for each spec (fixed ones preallocated), each synced,
    /// then syncs every directory holding one (used by `prostrct create` and `prostrct add`).
    /// A fixed size below 8 KiB is refused before any file is made. Panics (a caller bug) on an
    /// invalid block size or an area number below the first AI area.
    pub fn create_files(
        storage: &dyn Storage,
        db_id: DbId,
        block_size: u32,
        specs: &[AiExtentSpec],
        now: i64,
    ) -> Result<(), Error> {
        assert!(
            masterblock::valid_block_size(block_size),
            "invalid block size {block_size}"
        );
        for spec in specs {
            assert!(
                spec.area >= masterblock::FIRST_AI_AREA,
                "AI extent {} has area {}, below the AI areas",
                spec.ai_number,
                spec.area
            );
            if spec.fixed && spec.size_kib < MIN_FIXED_SIZE_KIB {
                return Err(Error::FixedTooSmall {
                    path: spec.path.clone(),
                    size_kib: spec.size_kib,
                    min_kib: MIN_FIXED_SIZE_KIB,
                });
            }
        }
        let mut dirs = BTreeSet::new();
        for spec in specs {
            let file = storage
                .open(&spec.path, OpenMode::CreateNew)
                .map_err(io_error(&spec.path, "create", 0))?;
            let ext = ExtentHeader {
                kind: ExtentKind::Ai,
                fixed: spec.fixed,
                block_size,
                db_id,
                area: spec.area,
                extent_number: AI_EXTENT_NUMBER_IN_AREA,
                size_kib: if spec.fixed { spec.size_kib } else { 0 },
                created_time: now,
            };
            AiExtentFile::create(file, &spec.path, ext)?;
            dirs.insert(parent_dir(&spec.path));
        }
        for dir in dirs {
            storage
                .sync_dir(&dir)
                .map_err(io_error(&dir, "sync the directory", 0))?;
        }
        Ok(())
    }

    /// Opens every extent of `specs` (in any order; kept in order of AI extent number) and
    /// checks that each file's header names this database, the spec's area and extent 1 of it,
    /// and the spec's kind and fixed size. Reads the notes of every Busy extent to find their
    /// end. Changes nothing on disk. Panics if two specs have the same AI extent number.
    pub fn open(
        storage: &StorageRef,
        db_id: DbId,
        specs: &[AiExtentSpec],
    ) -> Result<ExtentSet, Error> {
        let mut specs = specs.to_vec();
        specs.sort_by_key(|s| s.ai_number);
        assert!(
            specs.windows(2).all(|w| w[0].ai_number != w[1].ai_number),
            "two AI extents with the same number"
        );
        let mut members = Vec::with_capacity(specs.len());
        for spec in specs {
            let file = storage
                .open(&spec.path, OpenMode::ReadWrite)
                .map_err(io_error(&spec.path, "open", 0))?;
            let (header, len) = read_header(&file, &spec.path)?;
            check_identity(&header, &spec, db_id)?;
            check_used_within(&header, len, &spec.path)?;
            let extent = AiExtentFile::open(file, &spec.path)?;
            let header = *extent.header();
            let scanned = if header.state == AiState::Busy {
                let sum = extent.scan()?;
                Some((sum.end_offset, sum.last_seq))
            } else {
                None
            };
            members.push(Member {
                spec,
                header,
                file: Some(extent),
                scanned,
            });
        }
        Ok(ExtentSet {
            storage: storage.clone(),
            db_id,
            members,
            writer: None,
            reconciled: false,
            poisoned: None,
            recovered_last: None,
        })
    }

    /// Every extent, in order of AI extent number.
    pub fn extents(&self) -> Vec<ExtentInfo> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let h = &m.header;
                let used_bytes = match (&self.writer, h.state) {
                    (Some((w, writer)), _) if *w == i => {
                        writer.end_offset() - AI_HEADER_REGION_BYTES
                    }
                    (_, AiState::Busy) => m
                        .scanned
                        .map_or(h.used_bytes, |(end, _)| end - AI_HEADER_REGION_BYTES),
                    _ => h.used_bytes,
                };
                ExtentInfo {
                    ai_number: m.spec.ai_number,
                    area: m.spec.area,
                    path: m.spec.path.clone(),
                    state: h.state,
                    ai_seq: h.ai_seq,
                    fixed: m.spec.fixed,
                    size_kib: m.spec.size_kib,
                    used_bytes,
                    open_stamp: h.open_stamp,
                    ai_begin_time: h.ai_begin_time,
                    busy_time: h.busy_time,
                    full_time: h.full_time,
                }
            })
            .collect()
    }

    /// The busy extent's number: the one being written once reconciled; before that, the
    /// lowest-numbered Busy extent.
    pub fn busy(&self) -> Option<u32> {
        match &self.writer {
            Some((i, _)) => Some(self.members[*i].spec.ai_number),
            None => self
                .members
                .iter()
                .find(|m| m.header.state == AiState::Busy)
                .map(|m| m.spec.ai_number),
        }
    }

    /// The Full extent with the lowest sequence: the next to archive (`rfutil aimage full`).
    /// A Locked extent is not Full.
    pub fn oldest_full(&self) -> Option<u32> {
        self.oldest_full_index()
            .map(|i| self.members[i].spec.ai_number)
    }

    fn oldest_full_index(&self) -> Option<usize> {
        (0..self.members.len())
            .filter(|&i| self.members[i].header.state == AiState::Full)
            .min_by_key(|&i| self.members[i].header.ai_seq)
    }

    /// The spec of extent `ai_number`, if the set has it.
    pub fn spec(&self, ai_number: u32) -> Option<&AiExtentSpec> {
        self.members
            .iter()
            .find(|m| m.spec.ai_number == ai_number)
            .map(|m| &m.spec)
    }

    /// The header of extent `ai_number` as last written, if the set has it.
    pub fn header(&self, ai_number: u32) -> Option<&AiHeader> {
        self.members
            .iter()
            .find(|m| m.spec.ai_number == ai_number)
            .map(|m| &m.header)
    }

    /// A reader of extent `ai_number`'s notes under the rules of its state (for the busy
    /// extent: the notes the writer has written out, see [`AiWriter::flush`]). `None` if the
    /// set has no such extent or it is unavailable after an error.
    pub fn read_notes(&self, ai_number: u32) -> Option<Result<ExtentReader, Error>> {
        let i = self.index_of(ai_number)?;
        let m = &self.members[i];
        let file = match (&m.file, &self.writer) {
            (Some(f), _) => f.file().clone(),
            (None, Some((w, writer))) if *w == i => writer.extent().file().clone(),
            _ => return None,
        };
        Some(ExtentReader::new(file, &m.spec.path, &m.header))
    }

    /// The busy extent's writer (after-imaging on, reconciled, no error since).
    pub fn writer(&self) -> Option<&AiWriter> {
        self.writer.as_ref().map(|(_, w)| w)
    }

    /// The busy extent's writer, to append notes and sync them. When a note does not fit
    /// ([`AiWriter::would_fit`]), [`ExtentSet::switch`] first.
    pub fn writer_mut(&mut self) -> Option<&mut AiWriter> {
        self.writer.as_mut().map(|(_, w)| w)
    }

    /// Sequence of the last note of the busy extent as [`ExtentSet::reconcile`] found it (the
    /// note stream continues with the next one); `None` before reconcile or with AI off.
    pub fn recovered_last_note_seq(&self) -> Option<NoteSeq> {
        self.recovered_last
    }

    /// True once [`ExtentSet::reconcile`] has run.
    pub fn is_reconciled(&self) -> bool {
        self.reconciled
    }

    /// Syncs the busy extent's notes and records their length in its header (database close).
    pub fn close(mut self) -> Result<(), Error> {
        if let Some((_, writer)) = self.writer.take() {
            writer.close()?;
        }
        Ok(())
    }

    fn index_of(&self, ai_number: u32) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.spec.ai_number == ai_number)
    }

    /// The next extent after `i` in circular order.
    fn next_index(&self, i: usize) -> usize {
        (i + 1) % self.members.len()
    }

    /// Refuses a change after an interrupted operation; panics (a caller bug) before reconcile.
    fn check_usable(&self, needs_reconcile: bool) -> Result<(), Error> {
        if let Some(operation) = self.poisoned {
            return Err(Error::NeedsReopen { operation });
        }
        assert!(
            !needs_reconcile || self.reconciled,
            "the AI extent set must be reconciled with the master block before it changes"
        );
        Ok(())
    }

    /// Runs the durable steps of `operation`; an error in them poisons the set.
    fn guarded<T>(
        &mut self,
        operation: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let out = f(self);
        if out.is_err() {
            self.poisoned = Some(operation);
            self.writer = None;
        }
        out
    }

    /// Takes member `i`'s open extent out (to begin writing it).
    fn take_file(&mut self, i: usize) -> AiExtentFile {
        self.members[i]
            .file
            .take()
            .expect("an idle extent of a usable set is open")
    }

    /// Member `i`'s open extent, for a header change.
    fn file_mut(&mut self, i: usize) -> &mut AiExtentFile {
        self.members[i]
            .file
            .as_mut()
            .expect("an idle extent of a usable set is open")
    }

    /// Makes member `i` Empty (header, then truncation of a variable extent).
    fn make_empty(&mut self, i: usize) -> Result<(), Error> {
        let file = self.file_mut(i);
        file.make_empty()?;
        let header = *file.header();
        let m = &mut self.members[i];
        m.header = header;
        m.scanned = None;
        Ok(())
    }

    /// Finishes the truncation of every Empty variable extent whose file is longer than the
    /// header region (an `aimage extent empty` cut short). Returns the extents truncated.
    fn truncate_leftovers(&mut self) -> Result<Vec<u32>, Error> {
        let mut done = Vec::new();
        for i in 0..self.members.len() {
            let m = &self.members[i];
            if m.header.state != AiState::Empty || m.header.ext.fixed {
                continue;
            }
            let Some(file) = &m.file else { continue };
            let path = m.spec.path.clone();
            let f = file.file().clone();
            let len = f.len().map_err(io_error(&path, "get the length of", 0))?;
            if len > AI_HEADER_REGION_BYTES {
                f.set_len(AI_HEADER_REGION_BYTES).map_err(io_error(
                    &path,
                    "truncate",
                    AI_HEADER_REGION_BYTES,
                ))?;
                f.sync()
                    .map_err(io_error(&path, "sync", AI_HEADER_REGION_BYTES))?;
                done.push(m.spec.ai_number);
            }
        }
        Ok(done)
    }

    /// The storage the set was opened on.
    pub fn storage(&self) -> &StorageRef {
        &self.storage
    }
}
