use std::path::Path;

use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};
use proptest::prelude::*;
use storage::{FileRef, OpenMode, SimStorage, Storage};

use super::*;
use crate::Error;

/// A file at `/f` holding `bytes`.
fn file_with(bytes: &[u8]) -> FileRef {
    let sim = SimStorage::new();
    let file = sim.open(Path::new("/f"), OpenMode::CreateNew).unwrap();
    file.write_at(bytes, 0).unwrap();
    file
}

fn block_header(seq: u64) -> NoteHeader {
    NoteHeader::block_change(
        NoteSeq(seq),
        TxnId(7),
        AreaNo(8),
        BlockNo(9),
        UpdateCounter(10),
    )
}

fn encode_owned(note: &Note, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    note.encode(&mut out, seed);
    out
}

fn decode_note(buf: &[u8], seed: u64) -> (Note, usize) {
    match decode_frame(buf, seed) {
        FrameOutcome::Note { note, frame_len } => (note.to_owned(), frame_len),
        FrameOutcome::End(r) => panic!("expected a note, got end {r:?}"),
    }
}

fn end_of(buf: &[u8], seed: u64) -> EndReason {
    match decode_frame(buf, seed) {
        FrameOutcome::Note { note, .. } => panic!("expected an end, got {note:?}"),
        FrameOutcome::End(r) => r,
    }
}

/// A frame around an arbitrary body (which may be invalid), sealed with `seed`.
fn raw_frame(body: &[u8], seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&frame_crc(seed, body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// The body of a valid block change with the given payload appended to the fixed part.
fn block_body(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_note(&mut frame, 0, &block_header(1), &[(0, b"a", b"b")]);
    let mut body = frame[FRAME_HEADER_LEN..FRAME_HEADER_LEN + NOTE_HEADER_LEN].to_vec();
    body.extend_from_slice(payload);
    body
}

fn malformed(body: &[u8]) -> String {
    match end_of(&raw_frame(body, 5), 5) {
        EndReason::Malformed(detail) => detail,
        other => panic!("expected malformed, got {other:?}"),
    }
}

fn arb_kind() -> impl Strategy<Value = NoteKind> {
    prop::sample::select(NoteKind::ALL.to_vec())
}

fn arb_ranges() -> impl Strategy<Value = Vec<OwnedRange>> {
    prop::collection::vec((0u16..300, 1usize..80, any::<u8>()), 1..12).prop_map(|parts| {
        let mut at = 0usize;
        let mut out = Vec::new();
        for (gap, len, fill) in parts {
            let start = at + usize::from(gap);
            if start + len > 1 << 16 {
                break;
            }
            let redo: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
            let undo: Vec<u8> = redo.iter().map(|b| !b).collect();
            out.push(OwnedRange {
                offset: start as u16,
                redo,
                undo,
            });
            at = start + len;
        }
        out
    })
}

fn arb_note() -> impl Strategy<Value = Note> {
    (
        arb_kind(),
        any::<u64>(),
        any::<u64>(),
        any::<(u32, u32, u64, bool, u64)>(),
        arb_ranges(),
    )
        .prop_map(
            |(kind, seq, txn, (area, block, prior, comp, aux), ranges)| {
                if kind == NoteKind::BlockChange {
                    Note {
                        header: NoteHeader {
                            note_seq: NoteSeq(seq),
                            kind,
                            compensation: comp,
                            area: AreaNo(area),
                            block: BlockNo(block),
                            prior_counter: UpdateCounter(prior),
                            txn: TxnId(txn),
                            aux: if comp { aux } else { 0 },
                        },
                        ranges,
                    }
                } else {
                    Note {
                        header: NoteHeader::simple(NoteSeq(seq), kind, TxnId(txn), aux),
                        ranges: Vec::new(),
                    }
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(notes in prop::collection::vec(arb_note(), 1..8), seed in any::<u64>()) {
        let mut buf = Vec::new();
        for note in &notes {
            let before = buf.len();
            note.encode(&mut buf, seed);
            prop_assert_eq!(buf.len() - before, note.encoded_len());
            let borrowed: Vec<(u16, &[u8], &[u8])> = note
                .ranges
                .iter()
                .map(|r| (r.offset, r.redo.as_slice(), r.undo.as_slice()))
                .collect();
            prop_assert_eq!(encoded_len(&borrowed), note.encoded_len());
            let mut direct = Vec::new();
            encode_note(&mut direct, seed, &note.header, &borrowed);
            prop_assert_eq!(&direct[..], &buf[before..]);
        }
        let mut at = 0;
        for note in &notes {
            let FrameOutcome::Note { note: got, frame_len } = decode_frame(&buf[at..], seed) else {
                panic!("note did not decode");
            };
            prop_assert_eq!(frame_len, note.encoded_len());
            prop_assert_eq!(got.frame_len(), frame_len);
            prop_assert_eq!(got.body_len() + FRAME_HEADER_LEN, frame_len);
            prop_assert_eq!(got.range_count(), note.ranges.len());
            prop_assert_eq!(got.ranges().len(), note.ranges.len());
            prop_assert_eq!(&got.to_owned(), note);
            // Re-framing the body with another seed gives the frame encoded with that seed.
            let mut reframed = Vec::new();
            append_frame(&mut reframed, seed ^ 1, got.body());
            prop_assert_eq!(reframed, encode_owned(note, seed ^ 1));
            at += frame_len;
        }
        prop_assert_eq!(at, buf.len());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), seed in any::<u64>()) {
        let _ = decode_frame(&bytes, seed);
    }

    #[test]
    fn verified_random_bodies_never_panic(note in arb_note(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6), extra in prop::collection::vec(any::<u8>(), 0..6), cut in any::<prop::sample::Index>()) {
        // Random edits of a valid body, sealed with a good checksum, reach the body checks.
        let frame = encode_owned(&note, 3);
        let mut body = frame[FRAME_HEADER_LEN..].to_vec();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        body.extend_from_slice(&extra);
        body.truncate(cut.index(body.len()) + 1);
        let sealed = raw_frame(&body, 3);
        if let FrameOutcome::Note { note, frame_len } = decode_frame(&sealed, 3) {
            // Whatever decodes is canonical: encoding it again gives the same bytes.
            prop_assert_eq!(frame_len, sealed.len());
            prop_assert_eq!(encode_owned(&note.to_owned(), 3), sealed);
        }
    }

    #[test]
    fn damaged_frames_end(note in arb_note(), seed in any::<u64>(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let frame = encode_owned(&note, seed);
        // Every truncation ends the stream.
        let len = cut.index(frame.len());
        let reason = end_of(&frame[..len], seed);
        prop_assert!(matches!(reason, EndReason::Truncated | EndReason::ZeroLength), "{:?}", reason);
        // A flipped bit never decodes to a note; in the crc or body it is a checksum mismatch.
        let mut damaged = frame.clone();
        let at = flip.index(frame.len());
        damaged[at] ^= 1 << bit;
        match decode_frame(&damaged, seed) {
            FrameOutcome::Note { .. } => prop_assert!(false, "a damaged frame decoded"),
            FrameOutcome::End(reason) => {
                if at >= 4 {
                    let is_mismatch = matches!(reason, EndReason::ChecksumMismatch { .. });
                    prop_assert!(is_mismatch, "{:?}", reason);
                }
            }
        }
    }

    #[test]
    fn seed_mismatch_never_verifies(note in arb_note(), seed in any::<u64>(), other in any::<u64>()) {
        prop_assume!(seed != other);
        let frame = encode_owned(&note, seed);
        let is_mismatch = matches!(end_of(&frame, other), EndReason::ChecksumMismatch { .. });
        prop_assert!(is_mismatch);
    }

    #[test]
    fn reader_stops_at_last_whole_note(notes in prop::collection::vec(arb_note(), 1..10), cut in any::<prop::sample::Index>(), zero_tail in any::<bool>()) {
        let seed = 99;
        let mut buf = vec![0xAAu8; 100]; // bytes before the region are never read
        let mut ends = Vec::new();
        for (i, note) in notes.iter().enumerate() {
            let mut note = note.clone();
            note.header.note_seq = NoteSeq(1000 + i as u64);
            note.encode(&mut buf, seed);
            ends.push(buf.len() as u64);
        }
        let whole_buf = buf.clone();
        let cut_at = 100 + cut.index(buf.len() - 100 + 1);
        buf.truncate(cut_at);
        if zero_tail {
            buf.extend_from_slice(&[0u8; 20]);
        }
        let file = file_with(&buf);
        let mut reader = NoteReader::new(file, 100, u64::MAX, seed, Some(NoteSeq(1000)));
        let mut got = Vec::new();
        while let Some(note) = reader.next().unwrap() {
            got.push(note.to_owned());
        }
        // A note is whole when its bytes are all there as written. The zero tail can restore a
        // cut note whose last bytes were zero (a little-endian `aux` ends in 0x00), so compare
        // bytes rather than offsets.
        let whole = ends
            .iter()
            .take_while(|&&e| {
                let e = e as usize;
                e <= buf.len() && buf[100..e] == whole_buf[100..e]
            })
            .count();
        prop_assert_eq!(got.len(), whole);
        for (i, g) in got.iter().enumerate() {
            prop_assert_eq!(g.header.note_seq, NoteSeq(1000 + i as u64));
            prop_assert_eq!(&g.ranges, &notes[i].ranges);
        }
        let end = if whole == 0 { 100 } else { ends[whole - 1] };
        prop_assert_eq!(reader.offset(), end);
        let at_exact_end = end == buf.len() as u64;
        prop_assert_eq!(reader.end_reason().is_none(), at_exact_end);
        prop_assert!(reader.next().unwrap().is_none());
    }
}

#[test]
fn every_kind_has_its_byte() {
    for (i, kind) in NoteKind::ALL.iter().enumerate() {
        assert_eq!(kind.as_u8() as usize, i + 1);
        assert_eq!(NoteKind::from_u8(kind.as_u8()), Some(*kind));
    }
    for byte in [0u8, 7, 31, 255] {
        assert_eq!(NoteKind::from_u8(byte), None);
    }
}

#[test]
fn layout_matches_the_format_doc() {
    let header = NoteHeader {
        note_seq: NoteSeq(0x0102_0304_0506_0708),
        kind: NoteKind::BlockChange,
        compensation: true,
        area: AreaNo(0x1112_1314),
        block: BlockNo(0x2122_2324),
        prior_counter: UpdateCounter(0x3132_3334_3536_3738),
        txn: TxnId(0x4142_4344_4546_4748),
        aux: 0x5152_5354_5556_5758,
    };
    let mut out = vec![0xEE]; // appends after existing bytes
    encode_note(&mut out, 3, &header, &[(5, b"xy", b"pq"), (9, b"z", b"r")]);
    let f = &out[1..];
    assert_eq!(f.len(), encoded_len(&[(5, b"xy", b"pq"), (9, b"z", b"r")]));
    let body = &f[8..];
    assert_eq!(
        u32::from_le_bytes(f[0..4].try_into().unwrap()) as usize,
        body.len()
    );
    let crc = crc32c::crc32c_append(crc32c::crc32c(&3u64.to_le_bytes()), body);
    assert_eq!(u32::from_le_bytes(f[4..8].try_into().unwrap()), crc);
    assert_eq!(&body[0..8], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(body[8], 4);
    assert_eq!(body[9], 1);
    assert_eq!(&body[10..12], &[0, 0]);
    assert_eq!(&body[12..16], &0x1112_1314u32.to_le_bytes());
    assert_eq!(&body[16..20], &0x2122_2324u32.to_le_bytes());
    assert_eq!(&body[20..24], &[0, 0, 0, 0]);
    assert_eq!(&body[24..32], &0x3132_3334_3536_3738u64.to_le_bytes());
    assert_eq!(&body[32..40], &0x4142_4344_4546_4748u64.to_le_bytes());
    assert_eq!(&body[40..48], &0x5152_5354_5556_5758u64.to_le_bytes());
    assert_eq!(
        &body[48..],
        &[
            2, 0, 5, 0, 2, 0, b'x', b'y', b'p', b'q', 9, 0, 1, 0, b'z', b'r'
        ]
    );
}

#[test]
fn malformed_bodies_are_refused() {
    let fixed = block_body(&[]);
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut body = block_body(&[1, 0, 0, 0, 1, 0, 7, 8]);
        edit(&mut body);
        malformed(&body)
    };
    assert!(malformed(&fixed[..47]).contains("shorter"));
    assert!(with(&|b| b[8] = 7).contains("unknown note kind 7"));
    assert!(with(&|b| b[8] = 0).contains("unknown note kind 0"));
    assert!(with(&|b| b[9] = 2).contains("flag"));
    assert!(with(&|b| b[11] = 1).contains("reserved"));
    assert!(with(&|b| b[23] = 1).contains("reserved"));
    assert!(with(&|b| b[40] = 1).contains("aux"));
    assert!(malformed(&fixed).contains("range count"));
    assert!(malformed(&block_body(&[0, 0])).contains("no range"));
    assert!(malformed(&block_body(&[1, 0, 0, 0, 0, 0])).contains("empty"));
    assert!(malformed(&block_body(&[1, 0, 0, 0])).contains("past the body"));
    assert!(malformed(&block_body(&[1, 0, 0, 0, 2, 0, 1, 2, 3])).contains("past the body"));
    assert!(malformed(&block_body(&[1, 0, 0, 0, 1, 0, 7, 8, 9])).contains("after the last range"));
    // Overlapping, unsorted, and past 64 KiB.
    let two = |a: u16, b: u16| {
        let mut p = vec![2, 0];
        for off in [a, b] {
            p.extend_from_slice(&off.to_le_bytes());
            p.extend_from_slice(&[2, 0, 1, 2, 3, 4]);
        }
        malformed(&block_body(&p))
    };
    assert!(two(10, 11).contains("overlaps"));
    assert!(two(10, 4).contains("overlaps"));
    assert!(malformed(&block_body(&[1, 0, 0xFF, 0xFF, 2, 0, 1, 2, 3, 4])).contains("64 KiB"));
    // Non-block notes carry no block, flag or payload.
    let simple = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut frame = Vec::new();
        encode_note(
            &mut frame,
            0,
            &NoteHeader::simple(NoteSeq(4), NoteKind::TxCommit, TxnId(3), 77),
            &[],
        );
        let mut body = frame[FRAME_HEADER_LEN..].to_vec();
        edit(&mut body);
        malformed(&body)
    };
    assert!(simple(&|b| b[9] = 1).contains("compensation"));
    assert!(simple(&|b| b[12] = 1).contains("names a block"));
    assert!(simple(&|b| b[16] = 1).contains("names a block"));
    assert!(simple(&|b| b[24] = 1).contains("names a block"));
    assert!(simple(&|b| b.push(0)).contains("payload"));
}

#[test]
fn frame_level_ends() {
    assert_eq!(end_of(&[], 0), EndReason::Truncated);
    assert_eq!(end_of(&[0, 0, 0], 0), EndReason::Truncated);
    assert_eq!(end_of(&[0; 16], 0), EndReason::ZeroLength);
    let big = (MAX_BODY_LEN as u32 + 1).to_le_bytes();
    assert_eq!(
        end_of(&[big[0], big[1], big[2], big[3], 0, 0, 0, 0], 0),
        EndReason::BadLength(MAX_BODY_LEN as u32 + 1)
    );
    let mut frame = Vec::new();
    encode_note(
        &mut frame,
        1,
        &NoteHeader::ai_switch(NoteSeq(1), masterblock::AiSeq(1)),
        &[],
    );
    assert_eq!(end_of(&frame[..frame.len() - 1], 1), EndReason::Truncated);
    let (note, len) = decode_note(&frame, 1);
    assert_eq!(len, frame.len());
    assert_eq!(note.header.aux, 1);
    assert_eq!(note.header.kind, NoteKind::AiSwitch);
}

#[test]
fn largest_note_fits_max_body_len() {
    // 65,535 ranges of one byte, except the last which takes the remaining two bytes.
    let redo = [1u8; 2];
    let mut ranges: Vec<(u16, &[u8], &[u8])> = (0..65_534u32)
        .map(|i| (i as u16, &redo[..1], &redo[..1]))
        .collect();
    ranges.push((65_534, &redo[..], &redo[..]));
    let mut out = Vec::new();
    encode_note(&mut out, 0, &block_header(1), &ranges);
    assert_eq!(out.len(), MAX_FRAME_LEN);
    let FrameOutcome::Note { note, .. } = decode_frame(&out, 0) else {
        panic!("no note")
    };
    assert_eq!(note.ranges().count(), 65_535);
}

#[test]
fn reseal_moves_frames_to_another_seed() {
    let mut buf = Vec::new();
    encode_note(&mut buf, 1, &block_header(5), &[(3, b"abc", b"def")]);
    encode_note(
        &mut buf,
        1,
        &NoteHeader::simple(NoteSeq(6), NoteKind::TxCommit, TxnId(7), 8),
        &[],
    );
    reseal_frames(&mut buf, 2);
    let (first, len) = decode_note(&buf, 2);
    assert_eq!(first.header.note_seq, NoteSeq(5));
    let (second, _) = decode_note(&buf[len..], 2);
    assert_eq!(second.header.kind, NoteKind::TxCommit);
    assert!(matches!(
        end_of(&buf, 1),
        EndReason::ChecksumMismatch { .. }
    ));
}

#[test]
#[should_panic(expected = "differ in length")]
fn encode_refuses_uneven_range() {
    encode_note(&mut Vec::new(), 0, &block_header(1), &[(0, b"ab", b"a")]);
}

#[test]
#[should_panic(expected = "sorted")]
fn encode_refuses_overlap() {
    encode_note(
        &mut Vec::new(),
        0,
        &block_header(1),
        &[(0, b"ab", b"ab"), (1, b"a", b"a")],
    );
}

#[test]
#[should_panic(expected = "at least one range")]
fn encode_refuses_block_change_without_range() {
    encode_note(&mut Vec::new(), 0, &block_header(1), &[]);
}

#[test]
#[should_panic(expected = "only a BlockChange")]
fn encode_refuses_ranges_on_other_kinds() {
    let header = NoteHeader::simple(NoteSeq(1), NoteKind::TxBegin, TxnId(1), 0);
    encode_note(&mut Vec::new(), 0, &header, &[(0, b"a", b"a")]);
}

fn stream(seqs: &[u64], seed: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    for &s in seqs {
        encode_note(&mut buf, seed, &block_header(s), &[(0, b"a", b"b")]);
    }
    buf
}

fn read_all(reader: &mut NoteReader) -> Vec<u64> {
    let mut seqs = Vec::new();
    while let Some(n) = reader.next().unwrap() {
        seqs.push(n.header.note_seq.0);
    }
    seqs
}

#[test]
fn reader_enforces_continuity() {
    let buf = stream(&[5, 6, 8, 9], 1);
    let mut reader = NoteReader::new(file_with(&buf), 0, buf.len() as u64, 1, None);
    assert_eq!(read_all(&mut reader), vec![5, 6]);
    assert_eq!(
        reader.end_reason(),
        Some(&EndReason::SequenceBreak {
            expected: NoteSeq(7),
            found: NoteSeq(8)
        })
    );
    let mut reader = NoteReader::new(file_with(&buf), 0, buf.len() as u64, 1, Some(NoteSeq(4)));
    assert_eq!(read_all(&mut reader), Vec::<u64>::new());
    assert_eq!(reader.offset(), 0);
    assert!(matches!(
        reader.end_reason(),
        Some(EndReason::SequenceBreak { .. })
    ));
}

#[test]
fn reader_respects_region_and_seed() {
    let buf = stream(&[1, 2, 3], 1);
    let one = buf.len() as u64 / 3;
    let mut reader = NoteReader::new(file_with(&buf), one, 2 * one, 1, Some(NoteSeq(2)));
    assert_eq!(read_all(&mut reader), vec![2]);
    assert_eq!(reader.end_reason(), None);
    assert_eq!(reader.offset(), 2 * one);
    let mut reader = NoteReader::new(file_with(&buf), 0, u64::MAX, 2, None);
    assert_eq!(read_all(&mut reader), Vec::<u64>::new());
    assert!(matches!(
        reader.end_reason(),
        Some(EndReason::ChecksumMismatch { .. })
    ));
    // A region starting past the end of the file is simply empty.
    let mut reader = NoteReader::new(file_with(&buf), 10_000, u64::MAX, 1, None);
    assert!(reader.next().unwrap().is_none());
    assert_eq!(reader.end_reason(), None);
}

#[test]
fn reader_reports_malformed_note_as_error() {
    let mut buf = stream(&[1], 4);
    let mut body = block_body(&[1, 0, 0, 0, 1, 0, 7, 8]);
    body[0] = 2; // note_seq 2
    body[8] = 9; // unknown kind
    let at = buf.len() as u64;
    buf.extend_from_slice(&raw_frame(&body, 4));
    let mut reader = NoteReader::new(file_with(&buf), 0, u64::MAX, 4, None).with_path("/db/x.a1");
    assert!(reader.next().unwrap().is_some());
    let err = reader.next().expect_err("malformed note is an error");
    match &err {
        Error::MalformedNote { offset, detail, .. } => {
            assert_eq!(*offset, at);
            assert!(detail.contains("unknown note kind 9"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.msg_number(), 90301);
    assert!(err.to_string().contains("/db/x.a1"));
    assert!(reader.next().unwrap().is_none());
}

#[test]
fn reader_memory_is_bounded() {
    // About 6 MiB of notes of 4,000 bytes each, read through the default 1 MiB buffer.
    let redo = vec![3u8; 2000];
    let mut buf = Vec::new();
    let count = 1500u64;
    for s in 0..count {
        encode_note(&mut buf, 7, &block_header(s + 1), &[(0, &redo, &redo)]);
    }
    let file = file_with(&buf);
    let mut reader = NoteReader::new(file.clone(), 0, u64::MAX, 7, Some(NoteSeq(1)));
    let mut n = 0;
    while let Some(note) = reader.next().unwrap() {
        n += 1;
        assert_eq!(note.ranges().next().unwrap().redo.len(), 2000);
    }
    assert_eq!(n, count);
    assert_eq!(reader.buffer_bytes(), DEFAULT_READ_BUFFER_BYTES);
    assert_eq!(reader.offset(), buf.len() as u64);
    // A small buffer grows only to the size of the largest frame.
    let mut reader = NoteReader::new(file, 0, u64::MAX, 7, None).with_buffer_size(100);
    assert_eq!(read_all(&mut reader).len() as u64, count);
    assert_eq!(reader.buffer_bytes(), buf.len() / count as usize);
}

/// A block change of `len` redo bytes (filled with `fill`) at sequence `seq`, framed with `seed`.
fn sized_frame(seq: u64, len: usize, fill: u8, seed: u64) -> Vec<u8> {
    let redo = vec![fill; len];
    let undo = vec![fill.wrapping_add(1); len];
    let mut out = Vec::new();
    encode_note(&mut out, seed, &block_header(seq), &[(0, &redo, &undo)]);
    out
}

proptest! {
    #[test]
    fn reseal_writes_the_frame_append_frame_writes(
        from in any::<u64>(),
        to in any::<u64>(),
        lens in proptest::collection::vec(1usize..3000, 1..20),
    ) {
        let mut reseal = Reseal::new();
        for (i, len) in lens.into_iter().enumerate() {
            let frame = sized_frame(i as u64 + 1, len, i as u8, from);
            let FrameOutcome::Note { note, .. } = decode_frame(&frame, from) else {
                panic!("a frame just encoded decodes");
            };
            prop_assert_eq!(note.seed(), from);
            prop_assert_eq!(note.frame_crc(), frame_crc(from, note.body()));
            let mut derived = Vec::new();
            reseal.append(&mut derived, &note, to);
            let mut direct = Vec::new();
            append_frame(&mut direct, to, note.body());
            prop_assert_eq!(derived, direct);
        }
    }
}

#[test]
fn reseal_follows_a_new_seed_pair() {
    let mut reseal = Reseal::new();
    let frame = sized_frame(1, 100, 3, 5);
    let FrameOutcome::Note { note, .. } = decode_frame(&frame, 5) else {
        panic!("decodes");
    };
    for to in [6, 7, 6, 5] {
        assert_eq!(reseal.crc(&note, to), frame_crc(to, note.body()));
    }
}

#[test]
fn a_batch_gives_back_the_notes_pushed() {
    let seed = 42;
    let mut bytes = Vec::new();
    for (seq, len) in [(1u64, 10usize), (2, 700), (3, 1)] {
        bytes.extend(sized_frame(seq, len, seq as u8, seed));
    }
    let mut reader = NoteReader::new(file_with(&bytes), 0, bytes.len() as u64, seed, None);
    let mut batch = NoteBatch::with_capacity(16);
    let mut expected = Vec::new();
    while let Some(note) = reader.next().unwrap() {
        batch.push(&note);
        expected.push((note.to_owned(), note.frame_crc(), note.seed()));
    }
    assert_eq!(batch.len(), 3);
    assert_eq!(batch.body_bytes(), bytes.len() - 3 * FRAME_HEADER_LEN);
    for (i, (note, crc, seed)) in expected.iter().enumerate() {
        let got = batch.get(i).unwrap();
        assert_eq!(&got.to_owned(), note);
        assert_eq!((got.frame_crc(), got.seed()), (*crc, *seed));
    }
    assert!(batch.get(3).is_none());
    batch.clear();
    assert!(batch.is_empty() && batch.get(0).is_none());
}

#[test]
fn reseal_derives_long_bodies_too() {
    let mut reseal = Reseal::new();
    for len in [4095, 4096, 4097, 9000, 20000] {
        let frame = sized_frame(1, len, 9, 11);
        let FrameOutcome::Note { note, .. } = decode_frame(&frame, 11) else {
            panic!("decodes");
        };
        assert_eq!(reseal.crc(&note, 12), frame_crc(12, note.body()));
    }
}

#[test]
fn ranges_end_is_where_the_last_range_ends() {
    let mut frame = Vec::new();
    encode_note(
        &mut frame,
        3,
        &block_header(1),
        &[(4, b"ab", b"cd"), (100, b"xyz", b"uvw")],
    );
    encode_note(
        &mut frame,
        3,
        &NoteHeader::simple(NoteSeq(2), NoteKind::TxCommit, TxnId(7), 9),
        &[],
    );
    let mut reader = NoteReader::new(file_with(&frame), 0, frame.len() as u64, 3, None);
    let mut batch = NoteBatch::default();
    let change = reader.next().unwrap().unwrap();
    assert_eq!(change.ranges_end(), 103);
    batch.push(&change);
    let commit = reader.next().unwrap().unwrap();
    assert_eq!(commit.ranges_end(), 0);
    batch.push(&commit);
    assert_eq!(batch.get(0).unwrap().ranges_end(), 103);
    assert_eq!(batch.get(1).unwrap().ranges_end(), 0);
}
