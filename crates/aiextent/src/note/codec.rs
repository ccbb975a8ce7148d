//! Encoding and decoding of one framed note, without allocation on either path.
//!
//! Invariants: `encode_*` asserts that what it is given is a valid note (a caller bug
//! otherwise) so every frame it writes decodes; `decode_frame` never panics on any input and
//! hands out a [`NoteRef`] only for a frame that verified and passed every check.

use masterblock::{AreaNo, BlockNo, NoteSeq, TxnId, UpdateCounter};

use super::{
    EndReason, FRAME_HEADER_LEN, FrameOutcome, NOTE_HEADER_LEN, NoteHeader, NoteKind, NoteRef,
};

/// Bit 0 of the flags byte: compensation.
const FLAG_COMPENSATION: u8 = 1;
/// Bytes of a range's `offset` and `len`.
const RANGE_HEADER_LEN: usize = 4;
/// Exclusive bound of a range's end: ranges address a body of at most 64 KiB.
const RANGE_END_LIMIT: usize = 1 << 16;

/// The largest body of a valid note: 65,535 ranges whose lengths add up to 65,536 bytes.
pub const MAX_BODY_LEN: usize =
    NOTE_HEADER_LEN + 2 + RANGE_HEADER_LEN * (u16::MAX as usize) + 2 * RANGE_END_LIMIT;
/// The largest frame of a valid note.
pub const MAX_FRAME_LEN: usize = FRAME_HEADER_LEN + MAX_BODY_LEN;

/// The frame checksum of `body` under `seed`: `crc32c_append(crc32c(seed LE), body)`.
pub fn frame_crc(seed: u64, body: &[u8]) -> u32 {
    crc32c::crc32c_append(seed_crc(seed), body)
}

/// `crc32c(seed LE)`, where every frame checksum under `seed` starts: a reader of many frames
/// computes it once.
pub(super) fn seed_crc(seed: u64) -> u32 {
    crc32c::crc32c(&seed.to_le_bytes())
}

/// Size [`encode_note`] would append for these ranges.
pub fn encoded_len(ranges: &[(u16, &[u8], &[u8])]) -> usize {
    encoded_len_of(ranges.iter().map(|r| r.1.len()))
}

/// Frame size for ranges of the given redo lengths.
pub(super) fn encoded_len_of(redo_lens: impl Iterator<Item = usize>) -> usize {
    let mut len = FRAME_HEADER_LEN + NOTE_HEADER_LEN;
    let mut any = false;
    for redo_len in redo_lens {
        any = true;
        len += RANGE_HEADER_LEN + 2 * redo_len;
    }
    if any { len + 2 } else { len }
}

/// Appends one framed note (frame header and body) to `out`.
///
/// `ranges` are `(offset, redo, undo)`, only for `BlockChange` (at least one) and empty for
/// every other kind. Panics (a caller bug) if the note would not decode: redo and undo of
/// different or zero length, ranges unsorted or overlapping or ending past 64 KiB, more than
/// 65,535 ranges, or header fields that must be zero for the kind are not.
pub fn encode_note(
    out: &mut Vec<u8>,
    seed: u64,
    header: &NoteHeader,
    ranges: &[(u16, &[u8], &[u8])],
) {
    out.reserve(encoded_len(ranges));
    encode_parts(out, seed, header, ranges.iter().copied());
}

/// [`encode_note`] over any iterator of ranges.
pub(super) fn encode_parts<'r>(
    out: &mut Vec<u8>,
    seed: u64,
    header: &NoteHeader,
    ranges: impl Iterator<Item = (u16, &'r [u8], &'r [u8])>,
) {
    let is_block = header.kind == NoteKind::BlockChange;
    if !is_block {
        assert!(
            !header.compensation
                && header.area == AreaNo(0)
                && header.block == BlockNo(0)
                && header.prior_counter == UpdateCounter(0),
            "a {} note must have no compensation flag, area, block or prior counter",
            header.kind
        );
    } else if !header.compensation {
        assert_eq!(
            header.aux, 0,
            "a BlockChange that is not a compensation has aux 0"
        );
    }
    let frame_start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    let body_start = out.len();
    out.extend_from_slice(&encode_header(header));
    if is_block {
        let count_at = out.len();
        out.extend_from_slice(&[0, 0]);
        let mut count: usize = 0;
        let mut prev_end: usize = 0;
        for (offset, redo, undo) in ranges {
            assert_eq!(
                redo.len(),
                undo.len(),
                "redo and undo of a range differ in length"
            );
            assert!(!redo.is_empty(), "a range is at least one byte");
            let start = usize::from(offset);
            assert!(
                start >= prev_end,
                "ranges must be sorted and must not overlap"
            );
            let end = start + redo.len();
            assert!(end <= RANGE_END_LIMIT, "a range ends past 64 KiB");
            prev_end = end;
            count += 1;
            // end <= 65,536 and start >= 0, so the length fits in u16 unless start == 0 and
            // the range covers all 64 KiB, which the u16 length cannot express.
            let len = u16::try_from(redo.len()).expect("a range is at most 65,535 bytes");
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(redo);
            out.extend_from_slice(undo);
        }
        let count = u16::try_from(count).expect("at most 65,535 ranges");
        assert!(count >= 1, "a BlockChange has at least one range");
        out[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
    } else {
        assert!(ranges.count() == 0, "only a BlockChange carries ranges");
    }
    seal(out, seed, frame_start, body_start);
}

/// Appends a frame holding `body` (a [`NoteRef::body`] of a verified note) under `seed`.
pub fn append_frame(out: &mut Vec<u8>, seed: u64, body: &[u8]) {
    append_frame_with_crc(out, body, frame_crc(seed, body));
}

/// Appends a frame holding `body` whose checksum under the seed intended is `crc` (computed
/// directly by [`append_frame`], or by [`super::Reseal`] from the checksum the note verified
/// with).
pub(super) fn append_frame_with_crc(out: &mut Vec<u8>, body: &[u8], crc: u32) {
    assert!(
        (NOTE_HEADER_LEN..=MAX_BODY_LEN).contains(&body.len()),
        "not a note body"
    );
    let len = u32::try_from(body.len()).expect("bounded by MAX_BODY_LEN");
    out.reserve(FRAME_HEADER_LEN + body.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(body);
}

/// Rewrites the checksum of every frame in `frames` (whole frames written by this module, one
/// after another) for `seed`, so notes framed for one log can go to another without
/// re-encoding. Panics if `frames` is not a whole number of frames.
pub fn reseal_frames(frames: &mut [u8], seed: u64) {
    let mut at = 0;
    while at < frames.len() {
        assert!(
            frames.len() - at >= FRAME_HEADER_LEN,
            "a partial frame header"
        );
        let len = read_u32(frames, at) as usize;
        let body_start = at + FRAME_HEADER_LEN;
        assert!(
            len > 0 && frames.len() - body_start >= len,
            "a partial frame"
        );
        let crc = frame_crc(seed, &frames[body_start..body_start + len]);
        frames[at + 4..body_start].copy_from_slice(&crc.to_le_bytes());
        at = body_start + len;
    }
}

/// Fills in `body_len` and `crc` of the frame at `frame_start` whose body runs to the end.
fn seal(out: &mut [u8], seed: u64, frame_start: usize, body_start: usize) {
    let body = &out[body_start..];
    assert!(body.len() <= MAX_BODY_LEN, "note body too large");
    let len = u32::try_from(body.len()).expect("bounded by MAX_BODY_LEN");
    let crc = frame_crc(seed, body);
    out[frame_start..frame_start + 4].copy_from_slice(&len.to_le_bytes());
    out[frame_start + 4..body_start].copy_from_slice(&crc.to_le_bytes());
}

/// The 48 bytes of the fixed part.
fn encode_header(h: &NoteHeader) -> [u8; NOTE_HEADER_LEN] {
    let mut b = [0u8; NOTE_HEADER_LEN];
    b[0..8].copy_from_slice(&h.note_seq.0.to_le_bytes());
    b[8] = h.kind.as_u8();
    b[9] = if h.compensation { FLAG_COMPENSATION } else { 0 };
    b[12..16].copy_from_slice(&h.area.0.to_le_bytes());
    b[16..20].copy_from_slice(&h.block.0.to_le_bytes());
    b[24..32].copy_from_slice(&h.prior_counter.0.to_le_bytes());
    b[32..40].copy_from_slice(&h.txn.0.to_le_bytes());
    b[40..48].copy_from_slice(&h.aux.to_le_bytes());
    b
}

fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes the frame at the start of `buf` under `seed`.
///
/// Checks, in order: `body_len` nonzero (else [`EndReason::ZeroLength`]) and at most
/// [`MAX_BODY_LEN`] (else [`EndReason::BadLength`]); the whole frame inside `buf` (else
/// [`EndReason::Truncated`]); the checksum (else [`EndReason::ChecksumMismatch`]); then the
/// body: known kind, flags and reserved fields, kind-specific zero fields, and for
/// `BlockChange` at least one range, each of length >= 1, sorted, not overlapping, ending by
/// 64 KiB, with the payload exactly consumed (else [`EndReason::Malformed`]). Never panics.
pub fn decode_frame(buf: &[u8], seed: u64) -> FrameOutcome<'_> {
    decode_frame_seeded(buf, seed, seed_crc(seed))
}

/// [`decode_frame`] with `seed_crc` = [`seed_crc`]`(seed)` already computed.
pub(super) fn decode_frame_seeded(buf: &[u8], seed: u64, seed_crc: u32) -> FrameOutcome<'_> {
    if buf.len() < 4 {
        return FrameOutcome::End(EndReason::Truncated);
    }
    let body_len = read_u32(buf, 0);
    if body_len == 0 {
        return FrameOutcome::End(EndReason::ZeroLength);
    }
    let len = body_len as usize;
    if len > MAX_BODY_LEN {
        return FrameOutcome::End(EndReason::BadLength(body_len));
    }
    if buf.len() < FRAME_HEADER_LEN || buf.len() - FRAME_HEADER_LEN < len {
        return FrameOutcome::End(EndReason::Truncated);
    }
    let expected = read_u32(buf, 4);
    let body = &buf[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len];
    let actual = crc32c::crc32c_append(seed_crc, body);
    if actual != expected {
        return FrameOutcome::End(EndReason::ChecksumMismatch { expected, actual });
    }
    match decode_body(body) {
        Ok(note) => FrameOutcome::Note {
            note: NoteRef {
                seed,
                crc: actual,
                ..note
            },
            frame_len: FRAME_HEADER_LEN + len,
        },
        Err(detail) => FrameOutcome::End(EndReason::Malformed(detail)),
    }
}

/// Parses and checks a verified body (the caller fills in the seed and checksum).
fn decode_body(body: &[u8]) -> Result<NoteRef<'_>, String> {
    if body.len() < NOTE_HEADER_LEN {
        return Err(format!(
            "body of {} bytes is shorter than the {NOTE_HEADER_LEN}-byte fixed part",
            body.len()
        ));
    }
    let kind_byte = body[8];
    let kind =
        NoteKind::from_u8(kind_byte).ok_or_else(|| format!("unknown note kind {kind_byte}"))?;
    let flags = body[9];
    if flags & !FLAG_COMPENSATION != 0 {
        return Err(format!("unknown flag bits {flags:#04x}"));
    }
    if read_u16(body, 10) != 0 || read_u32(body, 20) != 0 {
        return Err("reserved field is not zero".to_string());
    }
    let header = NoteHeader {
        note_seq: NoteSeq(read_u64(body, 0)),
        kind,
        compensation: flags & FLAG_COMPENSATION != 0,
        area: AreaNo(read_u32(body, 12)),
        block: BlockNo(read_u32(body, 16)),
        prior_counter: UpdateCounter(read_u64(body, 24)),
        txn: TxnId(read_u64(body, 32)),
        aux: read_u64(body, 40),
    };
    let payload = &body[NOTE_HEADER_LEN..];
    if kind != NoteKind::BlockChange {
        if header.compensation {
            return Err(format!("a {kind} note has the compensation flag"));
        }
        if header.area.0 != 0 || header.block.0 != 0 || header.prior_counter.0 != 0 {
            return Err(format!("a {kind} note names a block"));
        }
        if !payload.is_empty() {
            return Err(format!("a {kind} note has {} payload bytes", payload.len()));
        }
        return Ok(NoteRef {
            header,
            body,
            range_count: 0,
            ranges_end: 0,
            seed: 0,
            crc: 0,
        });
    }
    if !header.compensation && header.aux != 0 {
        return Err("a block change that is not a compensation has a nonzero aux".to_string());
    }
    if payload.len() < 2 {
        return Err("block change without a range count".to_string());
    }
    let range_count = read_u16(payload, 0);
    if range_count == 0 {
        return Err("block change with no range".to_string());
    }
    let mut at = 2;
    let mut prev_end = 0usize;
    for i in 0..range_count {
        if payload.len() - at < RANGE_HEADER_LEN {
            return Err(format!("range {i} runs past the body"));
        }
        let start = usize::from(read_u16(payload, at));
        let len = usize::from(read_u16(payload, at + 2));
        if len == 0 {
            return Err(format!("range {i} is empty"));
        }
        if start < prev_end {
            return Err(format!(
                "range {i} at offset {start} is out of order or overlaps"
            ));
        }
        prev_end = start + len;
        if prev_end > RANGE_END_LIMIT {
            return Err(format!("range {i} ends past 64 KiB"));
        }
        at += RANGE_HEADER_LEN;
        if payload.len() - at < 2 * len {
            return Err(format!("range {i} runs past the body"));
        }
        at += 2 * len;
    }
    if at != payload.len() {
        return Err(format!("{} bytes after the last range", payload.len() - at));
    }
    Ok(NoteRef {
        header,
        body,
        range_count,
        ranges_end: u32::try_from(prev_end).expect("a range ends by 64 KiB"),
        seed: 0,
        crc: 0,
    })
}
