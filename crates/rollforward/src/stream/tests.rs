//! The verified stream hands out exactly what a [`NoteReader`] of the same region gives, across
//! batch boundaries, up to the same end, and stops cleanly when dropped part way.

use std::path::Path;

use aiextent::{Note, NoteHeader, NoteReader, OwnedRange, encode_note};
use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};
use storage::{FileRef, OpenMode, SimStorage, Storage};

use super::VerifiedStream;

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

/// Every note of `reader`, owned, and the offset after the last.
fn read_all(mut reader: NoteReader) -> (Vec<Note>, u64) {
    let mut notes = Vec::new();
    while let Some(note) = reader.next().unwrap() {
        notes.push(note.to_owned());
    }
    (notes, reader.offset())
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
        reader(&file, bytes.len() as u64),
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
        reader(&file, bytes.len() as u64),
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
    let mut stream = VerifiedStream::start(reader(&file, bytes.len() as u64), 0, None, 0);
    let mut seen = 0;
    let err = loop {
        match stream.next() {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("the malformed note is an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 10);
    assert!(
        matches!(err, aiextent::Error::MalformedNote { .. }),
        "{err}"
    );
    assert!(stream.next().unwrap().is_none());
}

#[test]
fn dropping_the_stream_part_way_stops_its_thread() {
    // More than the batches the thread may have ready: it blocks sending until dropped.
    let (file, bytes) = file_of(30000);
    assert!(bytes.len() > (super::AHEAD_BATCHES + 2) * super::BATCH_BYTES);
    let mut stream = VerifiedStream::start(reader(&file, bytes.len() as u64), 0, None, 0);
    for _ in 0..10 {
        assert!(stream.next().unwrap().is_some());
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    // The thread is blocked on a full channel: drop must not hang.
    drop(stream);
}
