//! Support for the after-imaging tests: databases with AI extents, a storage wrapper that
//! records every note the engine writes to the BI (by note sequence, the last write winning:
//! a write a crash lost is written again under the same sequence), and the check that the AI
//! holds exactly those notes (a full-image note possibly in its minimal encoding).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aiextent::note::{append_frame, decode_frame};
use aiextent::{AiState, ExtentSet, FrameOutcome, NOTE_HEADER_LEN, NoteKind, NoteRef};
use engine::{Database, DbPath, OpenOptions};
use masterblock::{AreaNo, DbState};
use parking_lot::Mutex;
use storage::{
    CrashMode, Fault, FaultKind, FileRef, OpenMode, SimStorage, Storage, StorageFile, StorageRef,
};
use structure::StFile;

use super::{Dump, dump, images};

/// Note bodies by sequence, as last written to the BI.
pub type Notes = BTreeMap<u64, Vec<u8>>;

/// A shared [`Notes`].
pub type SharedNotes = Arc<Mutex<Notes>>;

/// A file system that records the notes written to BI extents (`*.b1`).
pub struct Recording {
    inner: StorageRef,
    notes: SharedNotes,
}

struct RecFile {
    inner: FileRef,
    notes: SharedNotes,
}

/// Records the whole frames in `buf`, written at `offset` of a BI extent.
fn record(notes: &SharedNotes, buf: &[u8], offset: u64) {
    if offset < 4096 {
        return;
    }
    let mut at = 0usize;
    let mut notes = notes.lock();
    while at + 8 <= buf.len() {
        let len = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        if len < 48 || at + 8 + len > buf.len() {
            break;
        }
        let body = &buf[at + 8..at + 8 + len];
        let seq = u64::from_le_bytes(body[..8].try_into().unwrap());
        notes.insert(seq, body.to_vec());
        at += 8 + len;
    }
}

impl StorageFile for RecFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        record(&self.notes, buf, offset);
        self.inner.write_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.inner.set_len(len_bytes)
    }
    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }
}

impl Storage for Recording {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let file = self.inner.open(path, mode)?;
        if path.extension().is_some_and(|e| e == "b1") {
            return Ok(Arc::new(RecFile {
                inner: file,
                notes: self.notes.clone(),
            }));
        }
        Ok(file)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dir(dir)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
}

/// `sim` seen through a recorder writing into `notes`.
pub fn recording(sim: &SimStorage, notes: &SharedNotes) -> StorageRef {
    Arc::new(Recording {
        inner: Arc::new(sim.clone()),
        notes: notes.clone(),
    })
}

/// The standard structure plus `n` AI extents, fixed of `fixed_kib` or variable.
pub fn ai_st(n: usize, fixed_kib: Option<u64>) -> StFile {
    let mut text = String::from("b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\n");
    for _ in 0..n {
        match fixed_kib {
            Some(kib) => text.push_str(&format!("a . f {kib}\n")),
            None => text.push_str("a .\n"),
        }
    }
    StFile::parse(&text).unwrap()
}

/// Options for the AI tests: few buffers, deterministic AI writes unless `parallel`.
pub fn ai_opts(parallel: bool) -> OpenOptions {
    OpenOptions {
        buffers: 16,
        ai_parallel_sync: parallel,
        ai_variable_limit_bytes: Some(64 * 1024),
        ..OpenOptions::default()
    }
}

/// Creates the database with `n` AI extents (fixed of `fixed_kib`, or variable), tables `a`
/// and `b`, marks it backed up and begins after-imaging.
pub fn create_ai_db(storage: &StorageRef, db: &DbPath, n: usize, fixed_kib: Option<u64>) {
    engine::create_database(storage, db, &ai_st(n, fixed_kib), 1024).unwrap();
    let d = Database::open(storage.clone(), db, ai_opts(false)).unwrap();
    d.create_table("a", None).unwrap();
    d.create_table("b", Some(AreaNo(7))).unwrap();
    d.close().unwrap();
    engine::mark_backedup(storage, db).unwrap();
    engine::aimage_begin(storage, db).unwrap();
}

/// One note read back from the AI: sequence, kind, transaction, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AiNote {
    pub seq: u64,
    pub kind: NoteKind,
    pub txn: u64,
    pub body: Vec<u8>,
}

/// The notes of every non-Empty AI extent, in order of AI sequence.
pub fn ai_notes(storage: &StorageRef, db: &DbPath) -> Vec<AiNote> {
    let d = engine::describe(storage, db).unwrap();
    let specs = engine::ai_extent_specs(&d.catalogue);
    let set = ExtentSet::open(storage, d.master.db_id, &specs).unwrap();
    let mut infos = set.extents();
    infos.retain(|i| i.state != AiState::Empty);
    infos.sort_by_key(|i| i.ai_seq);
    let mut out = Vec::new();
    for info in infos {
        let mut reader = set.read_notes(info.ai_number).unwrap().unwrap();
        while let Some(note) = reader.next().unwrap() {
            out.push(AiNote {
                seq: note.header.note_seq.0,
                kind: note.header.kind,
                txn: note.header.txn.0,
                body: note.body().to_vec(),
            });
        }
    }
    out
}

/// Checks the AI extents against the master block (exactly one Busy iff on, its sequence the
/// current one, Full sequences distinct and lower) and the AI's notes against the BI's:
/// contiguous, each the note last written to the BI under its sequence, and (the database
/// clean) ending just before the next note sequence. `archived` are notes of extents emptied
/// earlier (in order); they and the AI must join up. Returns the AI's notes.
pub fn check_ai(
    storage: &StorageRef,
    db: &DbPath,
    notes: &Notes,
    archived: &[AiNote],
) -> Vec<AiNote> {
    let d = engine::describe(storage, db).unwrap();
    let m = d.master;
    let busy: Vec<_> = d
        .ai_extents
        .iter()
        .filter(|i| i.state == AiState::Busy)
        .collect();
    if m.ai_enabled {
        assert_eq!(busy.len(), 1, "exactly one busy extent: {:?}", d.ai_extents);
        assert_eq!(busy[0].ai_number, m.ai_busy_extent);
        assert_eq!(busy[0].ai_seq, m.ai_seq_current);
        let mut full: Vec<u64> = d
            .ai_extents
            .iter()
            .filter(|i| i.state == AiState::Full)
            .map(|i| i.ai_seq.0)
            .collect();
        full.sort_unstable();
        assert!(full.windows(2).all(|w| w[0] < w[1]), "repeated sequence");
        assert!(full.iter().all(|&s| s < m.ai_seq_current.0), "{full:?}");
    } else {
        assert!(busy.is_empty(), "busy with AI off: {:?}", d.ai_extents);
    }
    let ai = ai_notes(storage, db);
    let all: Vec<&AiNote> = archived.iter().chain(ai.iter()).collect();
    for w in all.windows(2) {
        assert_eq!(w[1].seq, w[0].seq + 1, "the AI notes are not contiguous");
    }
    for n in &all {
        let bi = notes.get(&n.seq).unwrap_or_else(|| {
            panic!("AI note {} ({}) was never written to the BI", n.seq, n.kind)
        });
        assert!(
            n.body == *bi || is_minimal_of(&n.body, bi),
            "AI note {} differs from the BI's",
            n.seq
        );
    }
    if m.state == DbState::Clean && m.ai_enabled {
        let last = ai.last().expect("a busy extent has its switch note").seq;
        assert_eq!(
            last + 1,
            m.next_note_seq.0,
            "the AI ends before the last note"
        );
    }
    ai
}

/// Decodes a note body (framed under seed 0 to reuse the frame decoder) and calls `f` on it.
pub fn with_note<R>(body: &[u8], f: impl FnOnce(&NoteRef<'_>) -> R) -> R {
    let mut frame = Vec::new();
    append_frame(&mut frame, 0, body);
    match decode_frame(&frame, 0) {
        FrameOutcome::Note { note, .. } => f(&note),
        FrameOutcome::End(reason) => panic!("a note body does not decode: {reason}"),
    }
}

/// True if `ai` is the minimal encoding of the full-image block change `bi`: the same fixed
/// part, and ranges that turn the BI's old body into its new one.
pub fn is_minimal_of(ai: &[u8], bi: &[u8]) -> bool {
    if ai[..NOTE_HEADER_LEN] != bi[..NOTE_HEADER_LEN] || ai.len() >= bi.len() {
        return false;
    }
    let (old, new) = with_note(bi, |n| {
        let ranges: Vec<_> = n.ranges().collect();
        assert_eq!(ranges.len(), 1, "a full image has one range");
        assert_eq!(ranges[0].offset, 0, "a full image starts at 0");
        (ranges[0].undo.to_vec(), ranges[0].redo.to_vec())
    });
    with_note(ai, |n| {
        let mut body = old.clone();
        for r in n.ranges() {
            let s = usize::from(r.offset);
            if old[s..s + r.undo.len()] != *r.undo {
                return false;
            }
            body[s..s + r.redo.len()].copy_from_slice(r.redo);
        }
        body == new
    })
}

/// Every transaction begun in `notes` ended (commit or rollback) after its begin.
pub fn check_txns_ended(notes: &[AiNote]) {
    let mut open = std::collections::BTreeSet::new();
    for n in notes {
        match n.kind {
            NoteKind::TxBegin => assert!(open.insert(n.txn), "txn {} begun twice", n.txn),
            NoteKind::TxCommit | NoteKind::TxRollback => {
                open.remove(&n.txn);
            }
            _ => {}
        }
    }
    assert!(
        open.is_empty(),
        "transactions never ended in the AI: {open:?}"
    );
}

/// Runs `work` on a copy of `base` (whose notes so far are `base_notes`) once per op index it
/// performs, crashing there (and tearing writes), and calls `check` on each crash image with
/// the run's recorded notes and the op index.
pub fn crash_every_op_ai<W, C, T>(base: &SimStorage, base_notes: &Notes, work: W, check: C)
where
    W: Fn(&StorageRef) -> T,
    C: Fn(&StorageRef, &SharedNotes, &T, u64),
{
    let probe = base.crash_image(CrashMode::LoseUnsynced);
    let start = probe.op_count();
    let notes: SharedNotes = Arc::new(Mutex::new(base_notes.clone()));
    work(&recording(&probe, &notes));
    let total = probe.op_count() - start;
    assert!(total > 0, "the work performs no operation");
    for i in 0..total {
        for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
            let sim = base.crash_image(CrashMode::LoseUnsynced);
            sim.set_fault(Some(Fault {
                at_op: sim.op_count() + i,
                kind,
            }));
            let notes: SharedNotes = Arc::new(Mutex::new(base_notes.clone()));
            let reached = work(&recording(&sim, &notes));
            for image in images(&sim, i) {
                let image_notes: SharedNotes = Arc::new(Mutex::new(notes.lock().clone()));
                check(&recording(&image, &image_notes), &image_notes, &reached, i);
            }
        }
    }
}

/// Opens, checks and dumps the database, closes it, then checks the AI against the notes.
pub fn reopen_check(storage: &StorageRef, db: &DbPath, notes: &SharedNotes) -> Dump {
    let d = Database::open(storage.clone(), db, ai_opts(false)).unwrap();
    d.check().unwrap();
    let out = dump(&d);
    d.close().unwrap();
    let ai = check_ai(storage, db, &notes.lock(), &[]);
    check_txns_ended(&ai);
    out
}
