//! `aiverify partial|full`: a good extent passes both; damage and broken transaction pairing
//! are reported with their offsets; no file content, however mangled, makes it panic.

use std::path::Path;

use aiextent::{
    AiExtentFile, AiState, AiWriter, BusyStart, NoteHeader, NoteKind, verify, verify_file,
};
use masterblock::{
    AiSeq, AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp, TxnId,
    UpdateCounter,
};
use proptest::prelude::*;
use storage::{FileRef, OpenMode, SimStorage, Storage};

const PATH: &str = "/x.a1";

/// A note of the test stream: (kind, txn).
type Step = (NoteKind, u64);

/// A Full (or Busy, `finish` false) extent holding the switch note then `steps`.
fn extent_with(steps: &[Step], finish: bool) -> (SimStorage, FileRef) {
    let sim = SimStorage::new();
    let file = sim.open(Path::new(PATH), OpenMode::CreateNew).unwrap();
    let ext = ExtentHeader {
        kind: ExtentKind::Ai,
        fixed: false,
        block_size: 4096,
        db_id: DbId([1; 16]),
        area: AreaNo(1000),
        extent_number: 1,
        size_kib: 0,
        created_time: 0,
    };
    let extent = AiExtentFile::create(file.clone(), PATH, ext).unwrap();
    let start = BusyStart {
        ai_seq: AiSeq(3),
        open_stamp: OpenStamp(1),
        ai_begin_time: 0,
        switch_note_seq: NoteSeq(10),
        now_micros: 0,
    };
    let mut w = AiWriter::begin(extent, &start, 1 << 20).unwrap();
    for (i, &(kind, txn)) in steps.iter().enumerate() {
        let seq = NoteSeq(11 + i as u64);
        if kind == NoteKind::BlockChange {
            let h = NoteHeader::block_change(
                seq,
                TxnId(txn),
                AreaNo(7),
                BlockNo(1),
                UpdateCounter(i as u64),
            );
            w.append_note(&h, &[(8, b"ab", b"cd")]).unwrap();
        } else {
            w.append_note(&NoteHeader::simple(seq, kind, TxnId(txn), 5), &[])
                .unwrap();
        }
    }
    if finish {
        w.finish(AiState::Full, 1).unwrap();
    } else {
        w.close().unwrap();
    }
    (sim, file)
}

fn good_steps() -> Vec<Step> {
    use NoteKind::*;
    vec![
        (BlockChange, 4), // transaction 4 began in an earlier file
        (TxBegin, 5),
        (BlockChange, 5),
        (TxCommit, 4),
        (BlockChange, 5),
        (TxRollback, 5),
        (TxBegin, 6),
        (BlockChange, 6),
    ]
}

#[test]
fn a_good_extent_passes_partial_and_full() {
    for finish in [true, false] {
        let (_, file) = extent_with(&good_steps(), finish);
        let partial = verify_file(&file, Path::new(PATH), false).unwrap();
        assert!(partial.is_ok(), "{:?}", partial.problems);
        assert_eq!(partial.notes, 9);
        assert_eq!(partial.first_seq, Some(NoteSeq(10)));
        assert_eq!(partial.last_seq, Some(NoteSeq(18)));
        let full = verify_file(&file, Path::new(PATH), true)
            .unwrap()
            .check()
            .unwrap();
        assert_eq!(full.txns_carried_in, 1);
        assert_eq!(full.txns_in_flight, 1);
        assert_eq!(full.block_changes, 4);
        assert_eq!(full.redo_bytes, 8);
        assert_eq!(
            (full.txns_begun, full.txns_committed, full.txns_rolled_back),
            (2, 1, 1)
        );
    }
}

#[test]
fn full_reports_broken_transaction_pairing() {
    use NoteKind::*;
    let cases: [(&[Step], &str); 4] = [
        (&[(TxBegin, 5), (TxBegin, 5)], "begins twice"),
        (&[(TxBegin, 5), (TxCommit, 5), (TxCommit, 5)], "ends twice"),
        (
            &[(TxBegin, 5), (TxCommit, 5), (BlockChange, 5)],
            "after its end",
        ),
        (&[(BlockChange, 5), (TxBegin, 5)], "before its begin"),
    ];
    for (steps, text) in cases {
        let (_, file) = extent_with(steps, true);
        assert!(verify_file(&file, Path::new(PATH), false).unwrap().is_ok());
        let report = verify_file(&file, Path::new(PATH), true).unwrap();
        assert_eq!(report.problems.len(), 1, "{steps:?}: {:?}", report.problems);
        assert!(
            report.problems[0].detail.contains(text),
            "{:?}",
            report.problems
        );
        let e = report.check().unwrap_err();
        assert_eq!(e.msg_number(), 90327);
    }
}

#[test]
fn damage_in_a_full_extent_is_reported_with_its_offset() {
    let (_, file) = extent_with(&good_steps(), true);
    // Flip a byte in the third note's body (the switch note is 56 bytes, a block change 66).
    let third = 4096 + 56 + 66;
    let at = third + 20;
    let mut b = [0u8; 1];
    file.read_at(&mut b, at).unwrap();
    file.write_at(&[b[0] ^ 0xff], at).unwrap();
    let report = verify_file(&file, Path::new(PATH), false).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].offset, third);
    assert_eq!(report.notes, 2);
}

#[test]
fn a_header_past_the_file_is_reported_not_followed() {
    let (_, file) = extent_with(&good_steps(), true);
    let (header, _) = {
        let ext = AiExtentFile::open(file.clone(), PATH).unwrap();
        (*ext.header(), ())
    };
    let mut lying = header;
    lying.used_bytes = u64::MAX - 10;
    let report = verify(&file, Path::new(PATH), &lying, true).unwrap();
    assert_eq!(report.problems.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_content_makes_verify_panic(
        edits in prop::collection::vec((0usize..6000, any::<u8>()), 0..40),
        cut in prop::option::of(0u64..6000),
        finish in any::<bool>(),
        full in any::<bool>(),
    ) {
        let (_, file) = extent_with(&good_steps(), finish);
        let len = file.len().unwrap() as usize;
        for (at, byte) in edits {
            if at < len {
                file.write_at(&[byte], at as u64).unwrap();
            }
        }
        if let Some(cut) = cut {
            file.set_len(cut).unwrap();
        }
        // Either an error naming the file, or a report; never a panic.
        match verify_file(&file, Path::new(PATH), full) {
            Ok(report) => { let _ = report.check(); }
            Err(e) => prop_assert!(e.msg_number() >= 90300),
        }
    }
}
