//! The verified stream hands out exactly what a [`NoteReader`] of the same region gives, across
//! batch boundaries, up to the same end, and stops cleanly when dropped part way; a checking
//! stream gives every note of the extent and the survey, or fails as the survey does; read by
//! the caller's thread (no thread could start), it gives the same.

use std::path::Path;

use aiextent::{
    AiExtentFile, AiState, AiWriter, BusyStart, Note, NoteHeader, NoteKind, NoteReader, OwnedRange,
    encode_note,
};
use masterblock::{
    AiSeq, AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp, TxnId,
    UpdateCounter,
};
use storage::{FileRef, OpenMode, SimStorage, Storage};

use super::{StreamReader, VerifiedStream};
use crate::Error;
use crate::file::{AiFile, survey};

const SEED: u64 = 77;

/// A file of `notes` block changes of about 300 bytes each (so more than three batches).
fn file_of(notes: u64) -> (FileRef, Vec<u8>) {
    let mut bytes = Vec::new();
    for seq in 1..=notes {
        let header = NoteHeader::block_change(
            NoteSeq(seq),
            TxnId(seq / 4 + 1),
            AreaNo(7),
            BlockNo((seq % 97) as u32),
            UpdateCounter(seq),
        );
        let redo = vec![seq as u8; 100 + (seq % 50) as usize];
        let undo = vec![!(seq as u8); redo.len()];
        encode_note(
            &mut bytes,
            SEED,
            &header,
            &[((seq % 300) as u16, &redo, &undo)],
        );
    }
    let sim = SimStorage::new();
    let file = sim.open(Path::new("/ai"), OpenMode::CreateNew).unwrap();
    file.write_at(&bytes, 0).unwrap();
    (file, bytes)
}

fn reader(file: &FileRef, end: u64) -> NoteReader {
    NoteReader::new(file.clone(), 0, end, SEED, Some(NoteSeq(1)))
}

fn region(file: &FileRef, end: u64) -> StreamReader {
    StreamReader::Region(reader(file, end))
}

/// Every note of `reader`, owned, and the offset after the last.
fn read_all(mut reader: NoteReader) -> (Vec<Note>, u64) {
    let mut notes = Vec::new();
    while let Some(note) = reader.next().unwrap() {
        notes.push(note.to_owned());
    }
    (notes, reader.offset())
}

/// How many notes `stream` gives before its error, and the error (it must end in one).
fn notes_before_error(stream: &mut VerifiedStream) -> (usize, Error) {
    let mut seen = 0;
    loop {
        match stream.next() {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("the stream ended without the error"),
            Err(e) => return (seen, e),
        }
    }
}

fn stream_all(mut stream: VerifiedStream) -> (Vec<Note>, u64) {
    let mut notes = Vec::new();
    while let Some(note) = stream.next().unwrap() {
        notes.push(note.to_owned());
    }
    (notes, stream.offset())
}

#[test]
fn the_stream_gives_what_a_reader_gives() {
    let (file, bytes) = file_of(6000);
    assert!(bytes.len() > 3 * super::BATCH_BYTES);
    let expected = read_all(reader(&file, bytes.len() as u64));
    assert_eq!(expected.0.len(), 6000);
    let got = stream_all(VerifiedStream::start(
        region(&file, bytes.len() as u64),
        0,
        None,
        0,
    ));
    assert_eq!(got, expected);
    assert_eq!(got.1, bytes.len() as u64);
}

#[test]
fn a_damaged_frame_ends_the_stream_where_it_ends_a_reader() {
    let (file, mut bytes) = file_of(6000);
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    file.write_at(&bytes, 0).unwrap();
    let expected = read_all(reader(&file, bytes.len() as u64));
    assert!(expected.0.len() < 6000 && expected.0.len() > 1000);
    let got = stream_all(VerifiedStream::start(
        region(&file, bytes.len() as u64),
        0,
        None,
        0,
    ));
    assert_eq!(got, expected);
}

#[test]
fn a_malformed_note_is_the_same_error() {
    // A frame that verifies but whose body is not a note: a range count of zero.
    let (file, mut bytes) = file_of(10);
    let header = NoteHeader::block_change(
        NoteSeq(11),
        TxnId(1),
        AreaNo(7),
        BlockNo(1),
        UpdateCounter(1),
    );
    let note = Note {
        header,
        ranges: vec![OwnedRange {
            offset: 0,
            redo: vec![1],
            undo: vec![2],
        }],
    };
    let start = bytes.len();
    note.encode(&mut bytes, SEED);
    // Range count (after the 8-byte frame header and 48-byte fixed part) set to 0, resealed.
    bytes[start + 8 + 48] = 0;
    aiextent::note::reseal_frames(&mut bytes[start..], SEED);
    file.write_at(&bytes, 0).unwrap();
    let mut stream = VerifiedStream::start(region(&file, bytes.len() as u64), 0, None, 0);
    let (seen, err) = notes_before_error(&mut stream);
    assert_eq!(seen, 10);
    assert!(
        matches!(&err, Error::Ai { source, .. } if matches!(**source, aiextent::Error::MalformedNote { .. })),
        "{err}"
    );
    assert!(stream.next().unwrap().is_none());
}

#[test]
fn dropping_the_stream_part_way_stops_its_thread() {
    // More than the batches the thread may have ready: it blocks sending until dropped.
    let (file, bytes) = file_of(30000);
    assert!(bytes.len() > (super::AHEAD_BATCHES + 2) * super::BATCH_BYTES);
    let mut stream = VerifiedStream::start(region(&file, bytes.len() as u64), 0, None, 0);
    for _ in 0..10 {
        assert!(stream.next().unwrap().is_some());
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    // The thread is blocked on a full channel: drop must not hang.
    drop(stream);
}

/// A Full AI extent whose notes are its switch note (sequence `first`), then `txns`
/// transactions of a begin, a block change and a commit; and where each transaction starts.
fn full_extent(first: u64, txns: u64) -> (AiFile, Vec<u64>) {
    let sim = SimStorage::new();
    let path = Path::new("/x.a1");
    let file = sim.open(path, OpenMode::CreateNew).unwrap();
    let ext = ExtentHeader {
        kind: ExtentKind::Ai,
        fixed: false,
        block_size: 4096,
        db_id: DbId([7; 16]),
        area: AreaNo(1000),
        extent_number: 1,
        size_kib: 0,
        created_time: 11,
    };
    let extent = AiExtentFile::create(file, path, ext).unwrap();
    let start = BusyStart {
        ai_seq: AiSeq(1),
        open_stamp: OpenStamp(55),
        ai_begin_time: 100,
        switch_note_seq: NoteSeq(first),
        now_micros: 200,
    };
    let mut w = AiWriter::begin(extent, &start, u64::MAX).unwrap();
    let mut starts = Vec::new();
    let mut seq = first + 1;
    for t in 0..txns {
        starts.push(w.end_offset());
        let txn = TxnId(t + 1);
        let begin = NoteHeader::simple(NoteSeq(seq), NoteKind::TxBegin, txn, 1000 + t);
        w.append_note(&begin, &[]).unwrap();
        let change = NoteHeader::block_change(
            NoteSeq(seq + 1),
            txn,
            AreaNo(7),
            BlockNo((t % 97) as u32),
            UpdateCounter(t),
        );
        let (redo, undo) = (vec![t as u8; 200], vec![!(t as u8); 200]);
        w.append_note(&change, &[(8, &redo, &undo)]).unwrap();
        let commit = NoteHeader::simple(NoteSeq(seq + 2), NoteKind::TxCommit, txn, 2000 + t);
        w.append_note(&commit, &[]).unwrap();
        seq += 3;
    }
    let extent = w.finish(AiState::Full, 300).unwrap();
    let file = AiFile {
        path: path.to_path_buf(),
        extent,
    };
    (file, starts)
}

fn checked(file: &AiFile, next: NoteSeq) -> VerifiedStream {
    let reader = file.checking_reader(next).unwrap();
    VerifiedStream::start(reader, aiextent::AI_HEADER_REGION_BYTES, None, 0)
}

#[test]
fn a_checking_stream_gives_every_note_and_the_survey() {
    let (file, _) = full_extent(5, 4000);
    assert!(file.header().used_bytes > 3 * super::BATCH_BYTES as u64);
    let mut expected_notes = Vec::new();
    let mut extent_reader = file.extent.read_notes().unwrap();
    while let Some(note) = extent_reader.next().unwrap() {
        expected_notes.push(note.to_owned());
    }
    // A target before the file, and one part way through it.
    for next in [NoteSeq(5), NoteSeq(3000)] {
        let expected = survey(&file, next, None).unwrap();
        let mut stream = checked(&file, next);
        let mut notes = Vec::new();
        while let Some(note) = stream.next().unwrap() {
            notes.push(note.to_owned());
        }
        assert_eq!(notes, expected_notes);
        assert_eq!(stream.offset(), expected.end_offset);
        assert_eq!(stream.survey(), Some(expected));
    }
}

#[test]
fn a_damaged_file_fails_a_checking_stream_as_it_fails_the_survey() {
    let (file, starts) = full_extent(5, 2500);
    let at = starts[1700] + 12;
    let mut b = [0u8; 1];
    file.extent.file().read_at(&mut b, at).unwrap();
    file.extent.file().write_at(&[b[0] ^ 0x40], at).unwrap();
    let refused = survey(&file, NoteSeq(5), None).unwrap_err();
    assert_eq!(refused.msg_number(), 90305);
    let mut stream = checked(&file, NoteSeq(5));
    let (seen, err) = notes_before_error(&mut stream);
    assert_eq!(seen, 1 + 1700 * 3);
    assert_eq!(err.to_string(), refused.to_string());
    assert!(stream.next().unwrap().is_none());
    assert_eq!(stream.survey(), None);
}

#[test]
fn a_file_after_the_target_is_refused_before_its_first_note() {
    let (file, _) = full_extent(5, 10);
    let refused = survey(&file, NoteSeq(3), None).unwrap_err();
    assert!(matches!(refused, Error::NoteGap { .. }), "{refused}");
    let err = checked(&file, NoteSeq(3))
        .next()
        .map(|n| n.is_some())
        .unwrap_err();
    assert_eq!(err.to_string(), refused.to_string());
}

#[test]
fn read_by_the_callers_thread_a_stream_gives_the_same() {
    let (file, bytes) = file_of(3000);
    let end = bytes.len() as u64;
    let expected = read_all(reader(&file, end));
    assert_eq!(
        stream_all(VerifiedStream::inline(region(&file, end), 0)),
        expected
    );

    let (ai, starts) = full_extent(5, 600);
    let surveyed = survey(&ai, NoteSeq(5), None).unwrap();
    let reader = ai.checking_reader(NoteSeq(5)).unwrap();
    let mut stream = VerifiedStream::inline(reader, aiextent::AI_HEADER_REGION_BYTES);
    let mut count = 0;
    while stream.next().unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 1 + 600 * 3);
    assert_eq!(stream.offset(), surveyed.end_offset);
    assert_eq!(stream.survey(), Some(surveyed));

    // A damaged file: the survey's own error after the same notes, then nothing.
    let at = starts[400] + 12;
    let mut b = [0u8; 1];
    ai.extent.file().read_at(&mut b, at).unwrap();
    ai.extent.file().write_at(&[b[0] ^ 0x40], at).unwrap();
    let refused = survey(&ai, NoteSeq(5), None).unwrap_err();
    let reader = ai.checking_reader(NoteSeq(5)).unwrap();
    let mut stream = VerifiedStream::inline(reader, aiextent::AI_HEADER_REGION_BYTES);
    let (seen, err) = notes_before_error(&mut stream);
    assert_eq!(seen, 1 + 400 * 3);
    assert_eq!(err.to_string(), refused.to_string());
    assert!(stream.next().unwrap().is_none());
    assert_eq!(stream.survey(), None);
}
