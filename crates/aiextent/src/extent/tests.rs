use std::path::Path;

use masterblock::{
    AiSeq, AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp, TxnId,
    UpdateCounter,
};
use storage::{FileRef, OpenMode, SimStorage, Storage};

use super::*;
use crate::Error;
use crate::note::{EndReason, NoteHeader, NoteKind};

const PATH: &str = "/db/x.a1";

fn ext(fixed_kib: Option<u64>) -> ExtentHeader {
    ExtentHeader {
        kind: ExtentKind::Ai,
        fixed: fixed_kib.is_some(),
        block_size: 4096,
        db_id: DbId([7; 16]),
        area: AreaNo(1000),
        extent_number: 1,
        size_kib: fixed_kib.unwrap_or(0),
        created_time: 11,
    }
}

fn new_file() -> (SimStorage, FileRef) {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let file = sim.open(Path::new(PATH), OpenMode::CreateNew).unwrap();
    (sim, file)
}

fn start(seq: u64, note_seq: u64) -> BusyStart {
    BusyStart {
        ai_seq: AiSeq(seq),
        open_stamp: OpenStamp(55),
        ai_begin_time: 100,
        switch_note_seq: NoteSeq(note_seq),
        now_micros: 200,
    }
}

fn reopen(file: &FileRef) -> Result<AiExtentFile, Error> {
    AiExtentFile::open(file.clone(), PATH)
}

/// Appends a transaction of one block change: begin, change, commit (seqs `s..s+3`).
fn append_txn(w: &mut AiWriter, s: u64) {
    let txn = TxnId(s);
    w.append_note(
        &NoteHeader::simple(NoteSeq(s), NoteKind::TxBegin, txn, 1000 + s),
        &[],
    )
    .unwrap();
    let h = NoteHeader::block_change(
        NoteSeq(s + 1),
        txn,
        AreaNo(1000),
        BlockNo(3),
        UpdateCounter(s),
    );
    w.append_note(&h, &[(4, b"new", b"old")]).unwrap();
    w.append_note(
        &NoteHeader::simple(NoteSeq(s + 2), NoteKind::TxCommit, txn, 2000 + s),
        &[],
    )
    .unwrap();
}

#[test]
fn slot_layout_matches_the_format_doc() {
    let header = AiHeader {
        generation: 0x0102,
        state: AiState::Locked,
        ai_seq: AiSeq(0x0304),
        open_stamp: OpenStamp(0x0506),
        ai_begin_time: 0x0708,
        busy_time: 0x090a,
        full_time: 0x0b0c,
        used_bytes: 0x0d0e,
        ..AiHeader::empty(ext(None))
    };
    let b = header.encode();
    assert_eq!(&b[..64], &ext(None).encode());
    assert_eq!(&b[64..72], &0x0102u64.to_le_bytes());
    assert_eq!(b[72], 3);
    assert_eq!(&b[80..88], &0x0304u64.to_le_bytes());
    assert_eq!(&b[88..96], &0x0506u64.to_le_bytes());
    assert_eq!(&b[96..104], &0x0708u64.to_le_bytes());
    assert_eq!(&b[104..112], &0x090au64.to_le_bytes());
    assert_eq!(&b[112..120], &0x0b0cu64.to_le_bytes());
    assert_eq!(&b[120..128], &0x0d0eu64.to_le_bytes());
    assert!(b[73..80].iter().chain(&b[128..252]).all(|&x| x == 0));
    assert_eq!(&b[252..], &crc32c::crc32c(&b[..252]).to_le_bytes());
    let back = AiHeader::decode(&b).validate(Path::new(PATH), 0).unwrap();
    assert_eq!(back, header);
}

#[test]
fn states_and_transitions() {
    use AiState::*;
    let all = [Empty, Busy, Full, Locked];
    for (i, s) in all.iter().enumerate() {
        assert_eq!(s.code() as usize, i);
        assert_eq!(AiState::from_code(s.code()), Some(*s));
        assert!(s.can_become(Empty));
        assert!(s.can_become(*s));
    }
    assert_eq!(AiState::from_code(4), None);
    assert!(Empty.can_become(Busy) && Busy.can_become(Full) && Busy.can_become(Locked));
    assert!(Locked.can_become(Full));
    assert!(!Empty.can_become(Full) && !Full.can_become(Busy) && !Full.can_become(Locked));
    assert!(!Locked.can_become(Busy) && !Empty.can_become(Locked));
}

#[test]
fn life_of_a_variable_extent() {
    let (_sim, file) = new_file();
    let extent = AiExtentFile::create(file.clone(), PATH, ext(None)).unwrap();
    assert_eq!(file.len().unwrap(), AI_HEADER_REGION_BYTES);
    assert_eq!(extent.header().generation, 1);
    assert_eq!(extent.scan().unwrap().notes, 0);
    let mut w = AiWriter::begin(extent, &start(4, 10), DEFAULT_VARIABLE_LIMIT_BYTES).unwrap();
    assert_eq!(w.seed(), 4);
    assert_eq!(w.end_offset(), w.synced_offset());
    let busy = *reopen(&file).unwrap().header();
    assert_eq!(
        (busy.state, busy.ai_seq, busy.open_stamp, busy.busy_time),
        (AiState::Busy, AiSeq(4), OpenStamp(55), 200)
    );
    append_txn(&mut w, 11);
    append_txn(&mut w, 14);
    w.flush_and_sync().unwrap();
    let end = w.end_offset();
    let extent = w.finish(AiState::Full, 300).unwrap();
    let full = *reopen(&file).unwrap().header();
    assert_eq!(full.state, AiState::Full);
    assert_eq!(full.full_time, 300);
    assert_eq!(full.used_bytes, end - AI_HEADER_REGION_BYTES);
    assert_eq!(full.generation, 3);
    let sum = extent.scan().unwrap();
    assert_eq!(
        (
            sum.notes,
            sum.txns_begun,
            sum.txns_committed,
            sum.block_changes
        ),
        (7, 2, 2, 2)
    );
    assert_eq!(
        (sum.first_seq, sum.last_seq),
        (Some(NoteSeq(10)), Some(NoteSeq(16)))
    );
    assert_eq!((sum.first_time, sum.last_time), (Some(1011), Some(2014)));
    assert_eq!(sum.end_offset, end);
    assert_eq!(sum.used_bytes(), full.used_bytes);
    assert_eq!(sum.end_reason, None);

    let mut extent = reopen(&file).unwrap();
    extent.make_empty().unwrap();
    assert_eq!(file.len().unwrap(), AI_HEADER_REGION_BYTES);
    let empty = *reopen(&file).unwrap().header();
    assert_eq!(
        empty,
        AiHeader {
            generation: 4,
            ..AiHeader::empty(ext(None))
        }
    );
    // Reused with the next sequence, only the new notes are read.
    let mut w = AiWriter::begin(extent, &start(5, 17), DEFAULT_VARIABLE_LIMIT_BYTES).unwrap();
    append_txn(&mut w, 18);
    let extent = w.close().unwrap();
    assert_eq!(extent.header().state, AiState::Busy);
    let sum = reopen(&file).unwrap().scan().unwrap();
    assert_eq!((sum.notes, sum.first_seq), (4, Some(NoteSeq(17))));
    assert_eq!(sum.used_bytes(), extent.header().used_bytes);
}

#[test]
fn fixed_extent_fills_and_resumes() {
    let (_sim, file) = new_file();
    let extent = AiExtentFile::create(file.clone(), PATH, ext(Some(8))).unwrap();
    assert_eq!(file.len().unwrap(), 8192);
    let mut w = AiWriter::begin(extent, &start(1, 1), u64::MAX).unwrap();
    assert_eq!(w.capacity_bytes(), 8192);
    let mut seq = 2;
    let frame = crate::note::encoded_len(&[(4, b"new", b"old")]);
    while w.would_fit(frame) {
        let h = NoteHeader::block_change(
            NoteSeq(seq),
            TxnId(1),
            AreaNo(1000),
            BlockNo(3),
            UpdateCounter(seq),
        );
        w.append_note(&h, &[(4, b"new", b"old")]).unwrap();
        seq += 1;
        if seq % 10 == 0 {
            w.flush_and_sync().unwrap();
        }
    }
    assert!(w.end_offset() + frame as u64 > 8192);
    // Resuming after a close that recorded nothing re-finds the end by reading.
    w.flush_and_sync().unwrap();
    let end = w.end_offset();
    drop(w);
    let w = AiWriter::resume(reopen(&file).unwrap(), u64::MAX).unwrap();
    assert_eq!(w.end_offset(), end);
    let extent = w.finish(AiState::Locked, 9).unwrap();
    assert_eq!(extent.header().state, AiState::Locked);
    let mut extent = reopen(&file).unwrap();
    extent
        .close_as(AiState::Full, extent.header().used_bytes, 10)
        .unwrap();
    assert_eq!(
        extent.header().full_time,
        9,
        "Locked -> Full keeps the time it was closed"
    );
    assert_eq!(extent.scan().unwrap().notes, seq - 1);
    extent.make_empty().unwrap();
    assert_eq!(file.len().unwrap(), 8192, "a fixed extent keeps its size");
}

#[test]
fn variable_extent_respects_its_limit() {
    let (_sim, file) = new_file();
    let extent = AiExtentFile::create(file.clone(), PATH, ext(None)).unwrap();
    let w = AiWriter::begin(extent, &start(1, 1), 4096 + 100).unwrap();
    let switch_len = w.end_offset() - 4096;
    assert!(w.would_fit((100 - switch_len) as usize));
    assert!(!w.would_fit((101 - switch_len) as usize));
}

#[test]
#[should_panic(expected = "illegal AI extent transition Empty -> Full")]
fn illegal_transition_is_a_bug() {
    let (_sim, file) = new_file();
    let mut extent = AiExtentFile::create(file, PATH, ext(None)).unwrap();
    let _ = extent.close_as(AiState::Full, 0, 1);
}

#[test]
#[should_panic(expected = "past the AI extent's capacity")]
fn appending_past_capacity_is_a_bug() {
    let (_sim, file) = new_file();
    let extent = AiExtentFile::create(file, PATH, ext(None)).unwrap();
    let mut w = AiWriter::begin(extent, &start(1, 1), 4096 + 60).unwrap();
    append_txn(&mut w, 2);
}

#[test]
fn open_refuses_bad_headers() {
    let (_sim, file) = new_file();
    file.write_at(&[0u8; 4096], 0).unwrap();
    let err = reopen(&file).unwrap_err();
    assert!(matches!(err, Error::NoValidHeader { .. }), "{err:?}");
    assert_eq!(err.msg_number(), 90302);

    // A slot that verifies but has an unknown state (re-sealed by hand).
    let mut slot = AiHeader {
        generation: 1,
        ..AiHeader::empty(ext(None))
    }
    .encode();
    slot[72] = 9;
    let crc = crc32c::crc32c(&slot[..252]);
    slot[252..].copy_from_slice(&crc.to_le_bytes());
    file.write_at(&slot, 512).unwrap();
    let err = reopen(&file).unwrap_err();
    assert!(matches!(err, Error::BadHeader { slot: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("unknown state 9"));

    // A data extent's prefix is not an AI extent.
    let data = ExtentHeader {
        kind: ExtentKind::Data,
        area: AreaNo(8),
        ..ext(None)
    };
    let mut slot = AiHeader {
        generation: 1,
        ..AiHeader::empty(ext(None))
    };
    slot.ext = data;
    file.write_at(&slot.encode(), 512).unwrap();
    let err = reopen(&file).unwrap_err();
    assert!(err.to_string().contains("not AI"), "{err}");

    // A damaged common prefix under a good slot checksum.
    let mut bytes = AiHeader {
        generation: 1,
        ..AiHeader::empty(ext(None))
    }
    .encode();
    bytes[0] = b'X';
    let crc = crc32c::crc32c(&bytes[..252]);
    bytes[252..].copy_from_slice(&crc.to_le_bytes());
    file.write_at(&bytes, 512).unwrap();
    let err = reopen(&file).unwrap_err();
    assert!(matches!(err, Error::ExtentHeader { .. }), "{err:?}");
    assert_eq!(err.msg_number(), 90304);
}

#[test]
fn open_refuses_wrong_sizes() {
    let (_sim, file) = new_file();
    AiExtentFile::create(file.clone(), PATH, ext(Some(8))).unwrap();
    file.set_len(8000).unwrap();
    let err = reopen(&file).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FixedSizeMismatch {
                expected_bytes: 8192,
                actual_bytes: 8000,
                ..
            }
        ),
        "{err:?}"
    );

    let (_sim, file) = new_file();
    let extent = AiExtentFile::create(file.clone(), PATH, ext(None)).unwrap();
    let mut w = AiWriter::begin(extent, &start(1, 1), u64::MAX).unwrap();
    append_txn(&mut w, 2);
    let extent = w.finish(AiState::Full, 1).unwrap();
    file.set_len(extent.header().used_bytes + 4000).unwrap();
    let err = reopen(&file).unwrap_err();
    assert!(matches!(err, Error::UsedBeyondFile { .. }), "{err:?}");
    assert_eq!(err.msg_number(), 90307);
}

/// A variable extent with notes 1..=7 (switch + two transactions), left in `state`.
fn extent_with_notes(state: AiState) -> (SimStorage, FileRef, Vec<u64>) {
    let (sim, file) = new_file();
    let extent = AiExtentFile::create(file.clone(), PATH, ext(None)).unwrap();
    let mut w = AiWriter::begin(extent, &start(3, 1), u64::MAX).unwrap();
    let mut ends = vec![w.end_offset()];
    for s in [2, 5] {
        append_txn(&mut w, s);
        ends.push(w.end_offset());
    }
    match state {
        AiState::Busy => {
            w.flush_and_sync().unwrap();
        }
        AiState::Full => {
            w.finish(AiState::Full, 5).unwrap();
        }
        other => panic!("not used with {other}"),
    }
    (sim, file, ends)
}

#[test]
fn damage_in_a_full_extent_is_an_error_naming_the_offset() {
    let (_sim, file, ends) = extent_with_notes(AiState::Full);
    // Flip a byte inside the second transaction's first note.
    let at = ends[1] + 12;
    let mut b = [0u8; 1];
    file.read_at(&mut b, at).unwrap();
    file.write_at(&[b[0] ^ 0x40], at).unwrap();
    let err = reopen(&file).unwrap().scan().unwrap_err();
    match &err {
        Error::DamagedExtent {
            offset,
            reason,
            end_offset,
            ..
        } => {
            assert_eq!(*offset, ends[1]);
            assert!(matches!(reason, EndReason::ChecksumMismatch { .. }));
            assert_eq!(*end_offset, ends[2]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.msg_number(), 90305);
    assert!(err.to_string().contains(&format!("byte {}", ends[1])));
}

#[test]
fn damage_in_a_busy_extent_ends_the_stream() {
    let (_sim, file, ends) = extent_with_notes(AiState::Busy);
    file.write_at(&[0xFF], ends[1] + 20).unwrap();
    let sum = reopen(&file).unwrap().scan().unwrap();
    assert_eq!(sum.notes, 4);
    assert_eq!(sum.end_offset, ends[1]);
    assert!(matches!(
        sum.end_reason,
        Some(EndReason::ChecksumMismatch { .. })
    ));
    // Once a close recorded the length, the same damage is an error.
    let (_sim, file, ends) = extent_with_notes(AiState::Busy);
    let w = AiWriter::resume(reopen(&file).unwrap(), u64::MAX).unwrap();
    w.close().unwrap();
    file.write_at(&[0xFF], ends[1] + 20).unwrap();
    let err = reopen(&file).unwrap().scan().unwrap_err();
    assert!(matches!(err, Error::DamagedExtent { .. }), "{err:?}");
}

#[test]
fn a_busy_extent_must_start_with_its_switch_note() {
    let (_sim, file) = new_file();
    let mut extent = AiExtentFile::create(file.clone(), PATH, ext(None)).unwrap();
    // A Busy header written without the switch note.
    let busy = AiHeader {
        state: AiState::Busy,
        ai_seq: AiSeq(2),
        ..*extent.header()
    };
    extent.set_header(busy).unwrap();
    let err = reopen(&file).unwrap().scan().unwrap_err();
    assert!(
        matches!(err, Error::MissingSwitchNote { ai_seq: 2, .. }),
        "{err:?}"
    );
    // A note that is not the switch note of this sequence.
    let mut frame = Vec::new();
    crate::note::encode_note(
        &mut frame,
        2,
        &NoteHeader::ai_switch(NoteSeq(1), AiSeq(1)),
        &[],
    );
    file.write_at(&frame, 4096).unwrap();
    let err = reopen(&file).unwrap().scan().unwrap_err();
    assert!(err.to_string().contains("aux 1"), "{err}");
    assert_eq!(err.msg_number(), 90306);
}

#[test]
fn messages_cover_every_number() {
    let numbers: Vec<u32> = crate::MESSAGES.iter().map(|m| m.0).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, numbers);
    // Own numbers in the crate's range, plus OpenEdge's 3774 for a switch to a full extent.
    assert!(
        numbers
            .iter()
            .all(|n| (90300..=90399).contains(n) || *n == 3774)
    );
    assert!(numbers.contains(&3774));
}
