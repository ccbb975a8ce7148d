//! Data block layout (docs/formats/data-block.md): a 32-byte header (checksum, version, update
//! counter, area, block, last note) and a body; the area header in block 0; the free-block format; and the
//! byte diff that turns a body change into note ranges.
//!
//! Invariants: a block is written with its checksum over bytes 4..block_size; a block read from
//! disk is accepted only if it is all zeros (never written: counter 0) or verifies and names its
//! own area and block.

use masterblock::{AreaNo, BlockNo};

/// Bytes of the block header before the body.
pub(crate) const HEADER_BYTES: usize = 32;
/// Data block format version.
pub(crate) const BLOCK_FORMAT_VERSION: u16 = 1;
/// Area header body: kind byte.
pub(crate) const AREA_HEADER_KIND: u8 = 1;
/// Free block body: kind byte.
pub(crate) const FREE_BLOCK_KIND: u8 = 0xFF;
/// Equal-byte gap below which two changed runs merge into one range.
const MERGE_GAP: usize = 8;

const _: () = assert!(HEADER_BYTES == 32);

/// The update counter stored in a block buffer.
pub(crate) fn counter(buf: &[u8]) -> u64 {
    u64::from_le_bytes(buf[8..16].try_into().expect("8 bytes"))
}

/// Sets the update counter of a block buffer.
pub(crate) fn set_counter(buf: &mut [u8], counter: u64) {
    buf[8..16].copy_from_slice(&counter.to_le_bytes());
}

/// The sequence of the last note that changed the block (0: none since it was formatted).
pub(crate) fn last_note(buf: &[u8]) -> u64 {
    u64::from_le_bytes(buf[24..32].try_into().expect("8 bytes"))
}

/// Records the note that last changed the block; incremental backups select blocks by it.
pub(crate) fn set_last_note(buf: &mut [u8], note_seq: u64) {
    buf[24..32].copy_from_slice(&note_seq.to_le_bytes());
}

/// Fills the header of `buf` (version, area, block; the counter is kept) and its checksum.
pub(crate) fn seal(buf: &mut [u8], area: AreaNo, block: BlockNo) {
    buf[4..6].copy_from_slice(&BLOCK_FORMAT_VERSION.to_le_bytes());
    buf[6..8].fill(0);
    buf[16..20].copy_from_slice(&area.0.to_le_bytes());
    buf[20..24].copy_from_slice(&block.0.to_le_bytes());
    let crc = crc32c::crc32c(&buf[4..]);
    buf[0..4].copy_from_slice(&crc.to_le_bytes());
}

/// Checks a block read from disk; `Err(reason)` if it is damaged or misdirected.
pub(crate) fn verify(buf: &[u8], area: AreaNo, block: BlockNo) -> Result<(), String> {
    let stored = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes"));
    let actual = crc32c::crc32c(&buf[4..]);
    if stored != actual {
        // Checked only on a mismatch: a block never written is all zeros, and its stored
        // checksum (0) never matches, the checksum of a zero body not being 0 for any size.
        if is_all_zero(buf) {
            return Ok(());
        }
        return Err(format!(
            "checksum {stored:#010x} stored, {actual:#010x} computed"
        ));
    }
    let version = u16::from_le_bytes(buf[4..6].try_into().expect("2 bytes"));
    if version != BLOCK_FORMAT_VERSION {
        return Err(format!("unknown block format version {version}"));
    }
    let named_area = u32::from_le_bytes(buf[16..20].try_into().expect("4 bytes"));
    let named_block = u32::from_le_bytes(buf[20..24].try_into().expect("4 bytes"));
    if named_area != area.0 || named_block != block.0 {
        return Err(format!(
            "it names itself block {named_block} of area {named_area} (misdirected write)"
        ));
    }
    Ok(())
}

/// True if every byte of `buf` is zero, compared a word at a time.
fn is_all_zero(buf: &[u8]) -> bool {
    let (words, tail) = buf.as_chunks::<8>();
    words.iter().all(|w| u64::from_ne_bytes(*w) == 0) && tail.iter().all(|&b| b == 0)
}

/// The fields of an area header body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AreaHeader {
    /// First block never allocated.
    pub high_water: u32,
    /// First block of the free chain, 0 if empty.
    pub free_head: u32,
}

impl AreaHeader {
    /// Reads an area header body; `None` if it is not one.
    pub(crate) fn read(body: &[u8]) -> Option<AreaHeader> {
        if body[0] != AREA_HEADER_KIND {
            return None;
        }
        Some(AreaHeader {
            high_water: u32::from_le_bytes(body[4..8].try_into().expect("4 bytes")),
            free_head: u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")),
        })
    }

    /// Writes the header into an area header body.
    pub(crate) fn write(&self, body: &mut [u8]) {
        body[0] = AREA_HEADER_KIND;
        body[1..4].fill(0);
        body[4..8].copy_from_slice(&self.high_water.to_le_bytes());
        body[8..12].copy_from_slice(&self.free_head.to_le_bytes());
    }
}

/// The next free block recorded in a free block's body; `None` if the body is not a free block.
pub(crate) fn free_next(body: &[u8]) -> Option<u32> {
    (body[0] == FREE_BLOCK_KIND).then(|| u32::from_le_bytes(body[1..5].try_into().expect("4")))
}

/// Marks a body as a free block linking to `next`.
pub(crate) fn make_free(body: &mut [u8], next: u32) {
    body[0] = FREE_BLOCK_KIND;
    body[1..5].copy_from_slice(&next.to_le_bytes());
}

/// Appends to `out` the `(offset, len)` ranges where `before` and `after` differ, merging runs
/// separated by fewer than 8 equal bytes. Empty if they are equal.
pub(crate) fn diff(before: &[u8], after: &[u8], out: &mut Vec<(u16, u16)>) {
    assert_eq!(before.len(), after.len());
    out.clear();
    let n = before.len();
    let mut i = 0;
    let mut open: Option<(usize, usize)> = None;
    while i < n {
        if before[i] == after[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && before[i] != after[i] {
            i += 1;
        }
        open = match open {
            Some((s, e)) if start - e < MERGE_GAP => Some((s, i)),
            Some((s, e)) => {
                out.push((to_u16(s), to_u16(e - s)));
                Some((start, i))
            }
            None => Some((start, i)),
        };
    }
    if let Some((s, e)) = open {
        out.push((to_u16(s), to_u16(e - s)));
    }
}

fn to_u16(v: usize) -> u16 {
    u16::try_from(v).expect("block bodies are smaller than 64 KiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_merges_close_runs() {
        let before = [0u8; 40];
        let mut after = before;
        after[2] = 1;
        after[5] = 1; // gap 2: merged
        after[20] = 1; // gap 14: separate
        after[39] = 9;
        let mut out = Vec::new();
        diff(&before, &after, &mut out);
        assert_eq!(out, vec![(2, 4), (20, 1), (39, 1)]);
        diff(&before, &before, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn zero_blocks_verify_and_a_zero_body_never_checksums_to_zero() {
        for shift in 9..=16 {
            let size = 1usize << shift;
            if !masterblock::valid_block_size(size as u32) {
                continue;
            }
            let buf = vec![0u8; size];
            assert_ne!(crc32c::crc32c(&buf[4..]), 0, "block size {size}");
            assert!(verify(&buf, AreaNo(6), BlockNo(9)).is_ok());
            let mut torn = buf.clone();
            torn[size - 1] = 1;
            assert!(verify(&torn, AreaNo(6), BlockNo(9)).is_err());
        }
    }

    #[test]
    fn seal_and_verify() {
        let mut buf = vec![0u8; 1024];
        assert!(verify(&buf, AreaNo(6), BlockNo(3)).is_ok());
        set_counter(&mut buf, 7);
        buf[100] = 5;
        seal(&mut buf, AreaNo(6), BlockNo(3));
        assert!(verify(&buf, AreaNo(6), BlockNo(3)).is_ok());
        assert!(verify(&buf, AreaNo(6), BlockNo(4)).is_err());
        buf[200] = 1;
        assert!(verify(&buf, AreaNo(6), BlockNo(3)).is_err());
        assert_eq!(counter(&buf), 7);
    }
}
