//! Shared support code of the extent-set tests: a simulated database directory with a master block
//! and AI extents, a note stream with a record of what was synced, reading every note back and
//! the consistency check between the extents and the master block.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aiextent::{AiExtentSpec, AiState, Error, ExtentSet, NoteHeader, NoteKind};
use masterblock::{
    AreaNo, BlockNo, DbId, FIRST_AI_AREA, MasterBlock, MasterBlockFile, NoteSeq, OpenStamp, TxnId,
    UpdateCounter,
};
use storage::{OpenMode, SimStorage, Storage, StorageRef};

pub const DB_ID: DbId = DbId([5; 16]);
pub const DIR: &str = "/db";
pub const MB_PATH: &str = "/db/t.db";

/// `n` extents, all fixed of `fixed_kib`, or variable with limit `var_kib` (0: default).
pub fn specs(n: u32, fixed_kib: Option<u64>, var_kib: u64) -> Vec<AiExtentSpec> {
    (1..=n)
        .map(|i| AiExtentSpec {
            ai_number: i,
            area: AreaNo(FIRST_AI_AREA.0 + i - 1),
            path: PathBuf::from(format!("{DIR}/t.a{i}")),
            fixed: fixed_kib.is_some(),
            size_kib: fixed_kib.unwrap_or(var_kib),
        })
        .collect()
}

/// A new simulated database: the master block (backed up, open stamp 7) and the AI extents.
pub fn create_db(specs: &[AiExtentSpec]) -> SimStorage {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    let file = sim.open(Path::new(MB_PATH), OpenMode::CreateNew).unwrap();
    let mut mb = MasterBlockFile::create(file, MasterBlock::new(DB_ID, 4096, 1)).unwrap();
    mb.update(|m| {
        m.note_seq_at_backup = m.next_note_seq;
        m.open_stamp = OpenStamp(7);
    })
    .unwrap();
    ExtentSet::create_files(&sim, DB_ID, 4096, specs, 2).unwrap();
    sim.sync_dir(Path::new(DIR)).unwrap();
    sim
}

/// Opens the master block and the set (not reconciled).
pub fn open_db(sim: &SimStorage, specs: &[AiExtentSpec]) -> (MasterBlockFile, ExtentSet) {
    let file = sim.open(Path::new(MB_PATH), OpenMode::ReadWrite).unwrap();
    let mb = MasterBlockFile::open(file).unwrap();
    let storage: StorageRef = Arc::new(sim.clone());
    let set = ExtentSet::open(&storage, DB_ID, specs).unwrap();
    (mb, set)
}

/// Opens and reconciles.
pub fn open_reconciled(sim: &SimStorage, specs: &[AiExtentSpec]) -> (MasterBlockFile, ExtentSet) {
    let (mut mb, mut set) = open_db(sim, specs);
    set.reconcile(&mut mb).unwrap();
    (mb, set)
}

/// The block change with sequence `seq`: its bytes depend on `seq`.
pub fn note_for(seq: u64) -> (NoteHeader, [u8; 6], [u8; 6]) {
    let header = NoteHeader::block_change(
        NoteSeq(seq),
        TxnId(1),
        AreaNo(7),
        BlockNo(seq as u32 % 5),
        UpdateCounter(seq),
    );
    (header, [seq as u8; 6], [!(seq as u8); 6])
}

/// A note as the tests compare them: sequence and kind (bytes are checked on reading).
pub type Seen = (u64, NoteKind);

/// The note stream a test writes: every note appended, and how many are durable.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    pub next: u64,
    pub appended: Vec<Seen>,
    pub synced: usize,
}

impl Stream {
    pub fn new() -> Self {
        Stream {
            next: 1,
            appended: Vec::new(),
            synced: 0,
        }
    }
}

/// The database under test.
pub struct Ctx {
    pub sim: SimStorage,
    pub specs: Vec<AiExtentSpec>,
    pub mb: MasterBlockFile,
    pub set: ExtentSet,
    pub stream: Stream,
    pub now: i64,
}

impl Ctx {
    /// A new database with after-imaging off, reconciled.
    pub fn new(specs: Vec<AiExtentSpec>) -> Ctx {
        let sim = create_db(&specs);
        let (mb, set) = open_reconciled(&sim, &specs);
        Ctx {
            sim,
            specs,
            mb,
            set,
            stream: Stream::new(),
            now: 10,
        }
    }

    pub fn begin(&mut self) -> Result<(), Error> {
        let seq = self.stream.next;
        self.stream.next += 1;
        self.stream.appended.push((seq, NoteKind::AiSwitch));
        self.now += 1;
        self.set.begin(&mut self.mb, NoteSeq(seq), self.now)?;
        self.stream.synced = self.stream.appended.len();
        Ok(())
    }

    /// Appends up to `n` block changes (stops when the busy extent is full).
    pub fn append(&mut self, n: u32) -> Result<(), Error> {
        for _ in 0..n {
            let seq = self.stream.next;
            let (h, r, u) = note_for(seq);
            let w = self.set.writer_mut().expect("after-imaging is on");
            if !w.would_fit(aiextent::encoded_len(&[(0, &r, &u)])) {
                return Ok(());
            }
            w.append_note(&h, &[(0, &r, &u)])?;
            self.stream.next += 1;
            self.stream.appended.push((seq, NoteKind::BlockChange));
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        self.set.writer_mut().expect("after-imaging is on").flush()
    }

    pub fn sync(&mut self) -> Result<(), Error> {
        self.set
            .writer_mut()
            .expect("after-imaging is on")
            .flush_and_sync()?;
        self.stream.synced = self.stream.appended.len();
        Ok(())
    }

    /// A switch; the switch note is recorded as appended before the attempt (a crash may or
    /// may not keep it) and the stream is durable once the switch returns.
    pub fn switch(&mut self) -> Result<(), Error> {
        let seq = self.stream.next;
        self.now += 1;
        self.set.switch(&mut self.mb, NoteSeq(seq), self.now)?;
        self.stream.next += 1;
        self.stream.appended.push((seq, NoteKind::AiSwitch));
        self.stream.synced = self.stream.appended.len();
        Ok(())
    }

    /// A switch attempt whose switch note counts as appended even if the switch fails.
    pub fn switch_attempt(&mut self) -> Result<(), Error> {
        let seq = self.stream.next;
        self.stream.next += 1;
        self.stream.appended.push((seq, NoteKind::AiSwitch));
        self.now += 1;
        self.set.switch(&mut self.mb, NoteSeq(seq), self.now)?;
        self.stream.synced = self.stream.appended.len();
        Ok(())
    }
}

/// The notes of every non-Empty extent, extent by extent in order of AI sequence, each as
/// (ai_seq, notes). Checks each block change's bytes.
pub fn read_back(set: &ExtentSet) -> Vec<(u64, AiState, Vec<Seen>)> {
    let mut out = Vec::new();
    for info in set.extents() {
        if info.state == AiState::Empty {
            continue;
        }
        let mut reader = set.read_notes(info.ai_number).unwrap().unwrap();
        let mut notes = Vec::new();
        while let Some(note) = reader.next().unwrap() {
            let h = note.header;
            if h.kind == NoteKind::BlockChange {
                let r = note.ranges().next().unwrap();
                assert_eq!(r.redo, &[h.note_seq.0 as u8; 6], "a note's bytes changed");
            }
            notes.push((h.note_seq.0, h.kind));
        }
        out.push((info.ai_seq.0, info.state, notes));
    }
    out.sort_by_key(|(seq, _, _)| *seq);
    out
}

/// Every note of every non-Empty extent, in order of AI sequence.
pub fn all_notes(set: &ExtentSet) -> Vec<Seen> {
    read_back(set)
        .into_iter()
        .flat_map(|(_, _, notes)| notes)
        .collect()
}

/// The consistency the set promises once reconciled.
pub fn check_consistent(mb: &MasterBlockFile, set: &ExtentSet) {
    let m = mb.get();
    let infos = set.extents();
    let busy: Vec<_> = infos.iter().filter(|i| i.state == AiState::Busy).collect();
    if m.ai_enabled {
        assert_eq!(busy.len(), 1, "exactly one busy extent: {infos:?}");
        assert_eq!(busy[0].ai_number, m.ai_busy_extent);
        assert_eq!(busy[0].ai_seq, m.ai_seq_current);
        assert!(set.writer().is_some());
        let mut closed: Vec<u64> = infos
            .iter()
            .filter(|i| matches!(i.state, AiState::Full | AiState::Locked))
            .map(|i| i.ai_seq.0)
            .collect();
        closed.sort_unstable();
        assert!(closed.windows(2).all(|w| w[0] < w[1]), "repeated sequence");
        assert!(closed.iter().all(|&s| s < m.ai_seq_current.0));
    } else {
        assert!(busy.is_empty(), "a busy extent with AI off: {infos:?}");
        assert!(set.writer().is_none());
    }
}

/// Checks that `notes` run without gaps in sequence and that each extent starts with its
/// switch note.
pub fn check_contiguous(back: &[(u64, AiState, Vec<Seen>)]) {
    let notes: Vec<Seen> = back.iter().flat_map(|(_, _, n)| n.clone()).collect();
    assert!(
        notes.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "notes are not contiguous: {notes:?}"
    );
    for (_, _, n) in back {
        assert_eq!(n.first().map(|x| x.1), Some(NoteKind::AiSwitch));
    }
}
