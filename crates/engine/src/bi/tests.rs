//! The BI's notes are read a chunk at a time up to the end of the stream, across chunk
//! boundaries and past bytes of older generations, and a reset that keeps the file leaves
//! those bytes unread.

use std::path::Path;

use aiextent::{NoteHeader, encode_note};
use masterblock::{AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq, TxnId, UpdateCounter};
use storage::{OpenMode, SimStorage, Storage};

use super::{BI_HEADER_BYTES, BiFile, STREAM_CHUNK_BYTES, initial_header_region};

const BLOCK_SIZE: u32 = 8192;

fn prefix(db_id: DbId) -> ExtentHeader {
    ExtentHeader {
        kind: ExtentKind::Bi,
        fixed: false,
        block_size: BLOCK_SIZE,
        db_id,
        area: AreaNo(3),
        extent_number: 1,
        size_kib: 0,
        created_time: 1,
    }
}

/// `count` block changes of 3,000-byte ranges from note `first`, framed with `seed`.
fn frames(first: u64, count: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in first..first + count {
        let header = NoteHeader::block_change(
            NoteSeq(seq),
            TxnId(1),
            AreaNo(7),
            BlockNo(seq as u32),
            UpdateCounter(0),
        );
        let redo = vec![seq as u8; 3000];
        let undo = vec![0u8; 3000];
        encode_note(&mut out, seed, &header, &[(0, &redo, &undo)]);
    }
    out
}

fn open(sim: &SimStorage, db_id: DbId) -> BiFile {
    BiFile::open(sim, Path::new("/db.b1"), true, db_id, AreaNo(3), BLOCK_SIZE).unwrap()
}

#[test]
fn the_stream_is_read_across_chunks_and_stops_at_an_older_generation() {
    let sim = SimStorage::new();
    let db_id = DbId([7; 16]);
    let file = sim.open(Path::new("/db.b1"), OpenMode::CreateNew).unwrap();
    file.write_at(&initial_header_region(prefix(db_id), NoteSeq(1), 1), 0)
        .unwrap();
    let mut bi = open(&sim, db_id);
    let generation = bi.header.generation;
    // More than two chunks of notes, so frames straddle chunk boundaries.
    let notes = 2 * STREAM_CHUNK_BYTES as u64 / 3000 + 50;
    let first = frames(1, notes, generation);
    file.write_at(&first, BI_HEADER_BYTES).unwrap();
    let stream = bi.read_stream().unwrap();
    assert_eq!(stream.notes.len() as u64, notes);
    assert_eq!(stream.end, first.len());
    assert_eq!(stream.bytes, first);

    // A reset that keeps the file: the old notes no longer verify, and a few new ones written
    // over their start end where they end.
    bi.reset(NoteSeq(notes + 1), false).unwrap();
    assert_eq!(
        file.len().unwrap(),
        BI_HEADER_BYTES + first.len() as u64,
        "kept"
    );
    let stream = bi.read_stream().unwrap();
    assert!(stream.notes.is_empty() && stream.end == 0 && stream.bytes.is_empty());
    let new = frames(notes + 1, 5, bi.header.generation);
    file.write_at(&new, BI_HEADER_BYTES).unwrap();
    let reopened = open(&sim, db_id);
    let stream = reopened.read_stream().unwrap();
    assert_eq!(stream.notes.len(), 5);
    assert_eq!(stream.notes[0].1.note_seq, NoteSeq(notes + 1));
    assert_eq!(stream.bytes, new);

    // A reset that shrinks cuts the file back to its header.
    bi.reset(NoteSeq(notes + 6), true).unwrap();
    assert_eq!(file.len().unwrap(), BI_HEADER_BYTES);
}
