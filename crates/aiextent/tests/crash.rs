//! Crash tests: a crash at every storage operation of a header update or of appending notes
//! leaves, after reopening, the old or the new header and a whole prefix of the notes that
//! includes every synced one.

use std::path::Path;

use aiextent::{
    AiExtentFile, AiHeader, AiState, AiWriter, BusyStart, Error, ExtentReader, NoteHeader, NoteKind,
};
use masterblock::{
    AiSeq, AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp, TxnId,
    UpdateCounter,
};
use proptest::prelude::*;
use storage::{CrashMode, Fault, FaultKind, OpenMode, SimStorage, Storage};

const DIR: &str = "/db";
const PATH: &str = "/db/x.a1";

fn ext(fixed_kib: Option<u64>) -> ExtentHeader {
    ExtentHeader {
        kind: ExtentKind::Ai,
        fixed: fixed_kib.is_some(),
        block_size: 4096,
        db_id: DbId([3; 16]),
        area: AreaNo(1002),
        extent_number: 2,
        size_kib: fixed_kib.unwrap_or(0),
        created_time: 1,
    }
}

fn start(seq: u64, note_seq: u64) -> BusyStart {
    BusyStart {
        ai_seq: AiSeq(seq),
        open_stamp: OpenStamp(77),
        ai_begin_time: 5,
        switch_note_seq: NoteSeq(note_seq),
        now_micros: 6,
    }
}

/// A durable new extent on a fresh simulated file system.
fn create(fixed_kib: Option<u64>) -> (SimStorage, AiExtentFile) {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    let file = sim.open(Path::new(PATH), OpenMode::CreateNew).unwrap();
    let extent = AiExtentFile::create(file, PATH, ext(fixed_kib)).unwrap();
    sim.sync_dir(Path::new(DIR)).unwrap();
    (sim, extent)
}

fn open(sim: &SimStorage) -> AiExtentFile {
    let file = sim.open(Path::new(PATH), OpenMode::ReadWrite).unwrap();
    AiExtentFile::open(file, PATH).unwrap()
}

/// Every crash image worth checking after a crash at op `k`.
fn images(sim: &SimStorage, k: u64) -> Vec<SimStorage> {
    vec![
        sim.crash_image(CrashMode::LoseUnsynced),
        sim.crash_image(CrashMode::KeepRandomSubset { seed: k }),
        sim.crash_image(CrashMode::KeepRandomSubset { seed: k ^ 0x5555 }),
    ]
}

/// The note with sequence `seq`: a block change whose bytes depend on `seq`.
fn note_for(seq: u64) -> (NoteHeader, [u8; 6], [u8; 6]) {
    let header = NoteHeader::block_change(
        NoteSeq(seq),
        TxnId(1),
        AreaNo(1002),
        BlockNo(seq as u32 % 5),
        UpdateCounter(seq),
    );
    let redo = [seq as u8; 6];
    (header, redo, [!(seq as u8); 6])
}

/// Sequences of the notes the extent's reader returns (the switch note first).
fn read_seqs(extent: &AiExtentFile) -> Vec<u64> {
    let mut reader: ExtentReader = extent.read_notes().unwrap();
    let mut seqs = Vec::new();
    while let Some(note) = reader.next().unwrap() {
        if note.header.kind == NoteKind::BlockChange {
            let r = note.ranges().next().unwrap();
            assert_eq!(
                r.redo, &[note.header.note_seq.0 as u8; 6],
                "a note's bytes changed"
            );
        }
        seqs.push(note.header.note_seq.0);
    }
    seqs
}

/// Runs `step` on an extent prepared by `prepare` with a crash at every operation index the
/// step uses (plainly and as a torn write), and checks that each crash image reopens with the
/// header from before or after the step, and that its notes read without error.
fn crash_every_op(
    prepare: impl Fn() -> (SimStorage, AiExtentFile),
    step: impl Fn(&mut AiExtentFile) -> Result<(), Error>,
) {
    let (sim, mut extent) = prepare();
    let old = *extent.header();
    let first_op = sim.op_count();
    step(&mut extent).unwrap();
    let new = *extent.header();
    let ops = sim.op_count() - first_op;
    assert!(ops >= 2, "the step writes and syncs");
    let mut saw = [false; 2];
    for k in 0..=ops {
        for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
            let (sim, mut extent) = prepare();
            sim.set_fault(Some(Fault {
                at_op: first_op + k,
                kind,
            }));
            let outcome = step(&mut extent);
            assert_eq!(
                outcome.is_ok(),
                k == ops,
                "only a step past every op succeeds"
            );
            for image in images(&sim, k) {
                let got = *open(&image).header();
                assert!(got == old || got == new, "crash at op {k}: header {got:?}");
                saw[usize::from(got == new)] = true;
                read_seqs(&open(&image));
            }
        }
    }
    assert_eq!(saw, [true, true], "both outcomes occur");
}

#[test]
fn header_updates_are_atomic() {
    let busy = || {
        let (sim, extent) = create(None);
        let mut w = AiWriter::begin(extent, &start(1, 1), u64::MAX).unwrap();
        let (h, r, u) = note_for(2);
        w.append_note(&h, &[(0, &r, &u)]).unwrap();
        w.flush_and_sync().unwrap();
        let extent = w.close().unwrap();
        (sim, extent)
    };
    let full = || {
        let (sim, mut extent) = busy();
        let used = extent.header().used_bytes;
        extent.close_as(AiState::Full, used, 9).unwrap();
        (sim, extent)
    };
    // Empty -> Busy (switch note, then header).
    crash_every_op(
        || create(Some(16)),
        |e| e.begin_busy(&start(4, 10)).map(|_| ()),
    );
    // Busy -> Full.
    crash_every_op(busy, |e| {
        let used = e.header().used_bytes;
        e.close_as(AiState::Full, used, 9)
    });
    // Full -> Empty, with the truncation of a variable extent.
    crash_every_op(full, |e| e.make_empty());
    // A plain field update.
    crash_every_op(busy, |e| {
        let h = AiHeader {
            used_bytes: 0,
            ..*e.header()
        };
        e.set_header(h)
    });
}

/// One step of an append workload.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Append this many notes.
    Append(u8),
    /// Write buffered notes without syncing.
    Flush,
    /// Write and sync.
    Sync,
}

/// Runs `ops` on a new busy extent with a crash at op index `crash_at` (relative to the first
/// op after the extent became busy; `None`: no crash). Returns the storage, the sequences of
/// every note appended (switch note 1 first) and how many of them were synced.
fn run_appends(
    ops: &[Op],
    fixed_kib: Option<u64>,
    crash_at: Option<u64>,
) -> (SimStorage, Vec<u64>, usize) {
    let (sim, extent) = create(fixed_kib);
    let mut w = AiWriter::begin(extent, &start(2, 1), u64::MAX).unwrap();
    if let Some(k) = crash_at {
        sim.set_fault(Some(Fault {
            at_op: sim.op_count() + k,
            kind: FaultKind::TornWriteCrash,
        }));
    }
    let mut appended = vec![1u64];
    let mut synced = 1;
    for op in ops {
        let ok = match *op {
            Op::Append(n) => (0..n).all(|_| {
                let seq = appended.len() as u64 + 1;
                let (h, r, u) = note_for(seq);
                if !w.would_fit(aiextent::encoded_len(&[(0, &r, &u)])) {
                    return true;
                }
                let ok = w.append_note(&h, &[(0, &r, &u)]).is_ok();
                appended.push(seq);
                ok
            }),
            Op::Flush => w.flush().is_ok(),
            Op::Sync => {
                let ok = w.flush_and_sync().is_ok();
                if ok {
                    synced = appended.len();
                }
                ok
            }
        };
        if !ok {
            break;
        }
    }
    (sim, appended, synced)
}

fn check_prefix(sim: &SimStorage, appended: &[u64], synced: usize, k: u64) {
    for image in images(sim, k) {
        let got = read_seqs(&open(&image));
        assert!(
            got.len() >= synced,
            "crash at {k}: lost synced notes ({} < {synced})",
            got.len()
        );
        assert!(got.len() <= appended.len());
        assert_eq!(
            &got[..],
            &appended[..got.len()],
            "crash at {k}: not a prefix"
        );
    }
}

#[test]
fn appends_survive_a_crash_at_every_op() {
    let ops = [
        Op::Append(3),
        Op::Sync,
        Op::Append(2),
        Op::Flush,
        Op::Append(4),
        Op::Sync,
        Op::Append(1),
        Op::Flush,
        Op::Sync,
    ];
    for fixed in [None, Some(16)] {
        let (sim, appended, synced) = run_appends(&ops, fixed, None);
        assert_eq!(synced, appended.len());
        let total = sim.op_count();
        for k in 0..total {
            let (sim, appended, synced) = run_appends(&ops, fixed, Some(k));
            check_prefix(&sim, &appended, synced, k);
        }
    }
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..20).prop_map(Op::Append),
        Just(Op::Flush),
        Just(Op::Sync),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_appends_and_crashes_keep_a_synced_prefix(
        ops in prop::collection::vec(arb_op(), 1..25),
        crash in 0u64..40,
        fixed in any::<bool>(),
    ) {
        // 8 KiB fixed extents fill up quickly, so the fill limit is crossed too.
        let fixed = fixed.then_some(8);
        let (sim, appended, synced) = run_appends(&ops, fixed, Some(crash));
        check_prefix(&sim, &appended, synced, crash);
    }
}
