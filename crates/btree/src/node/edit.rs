//! In-place edits of a node's bytes. Every function here is called only on a body that
//! [`super::parse`] validated and whose cells [`super::Node::check_disjoint`] found disjoint, in
//! the same closure; each writes only the bytes its change needs, so a page diff stays small.

use super::{
    FORMAT_VERSION, HEADER_LEN, Kind, LEAF_CELL_HEADER, OFF_CELL_START, OFF_COUNT, OFF_KIND,
    OFF_LEVEL, OFF_LINK, OFF_RESERVED_A, OFF_RESERVED_B, OFF_VERSION, SLOT_LEN, cell_len_at,
    get_u16, put_u16, put_u32,
};
use crate::PageId;

fn count(buf: &[u8]) -> usize {
    get_u16(buf, OFF_COUNT)
}

fn cell_start(buf: &[u8]) -> usize {
    get_u16(buf, OFF_CELL_START)
}

fn slot_at(i: usize) -> usize {
    HEADER_LEN + SLOT_LEN * i
}

/// Writes an empty node header: no cells, the cell area empty at the end of the body.
pub(crate) fn format(buf: &mut [u8], kind: Kind, level: u8, link: PageId) {
    buf[OFF_KIND] = kind as u8;
    buf[OFF_VERSION] = FORMAT_VERSION;
    buf[OFF_LEVEL] = level;
    buf[OFF_RESERVED_A] = 0;
    put_u16(buf, OFF_COUNT, 0);
    let len = buf.len();
    put_u16(buf, OFF_CELL_START, len);
    put_u32(buf, OFF_LINK, link);
    put_u32(buf, OFF_RESERVED_B, 0);
}

/// Sets the link field: a leaf's right sibling or an internal node's leftmost child.
pub(crate) fn set_link(buf: &mut [u8], link: PageId) {
    put_u32(buf, OFF_LINK, link);
}

/// Formats a node holding `cells` in order, packed against the end of the body.
pub(crate) fn write_fresh(buf: &mut [u8], kind: Kind, level: u8, link: PageId, cells: &[Vec<u8>]) {
    format(buf, kind, level, link);
    let mut start = buf.len();
    for (i, cell) in cells.iter().enumerate() {
        start -= cell.len();
        assert!(
            start >= slot_at(cells.len()),
            "cells planned to fit the node"
        );
        buf[start..start + cell.len()].copy_from_slice(cell);
        put_u16(buf, slot_at(i), start);
    }
    put_u16(buf, OFF_COUNT, cells.len());
    put_u16(buf, OFF_CELL_START, start);
}

/// Moves every cell against the end of the body, in place, so all free space is contiguous.
/// Cells already packed at the end do not move.
pub(crate) fn compact(buf: &mut [u8], kind: Kind) {
    let n = count(buf);
    let mut cells: Vec<(usize, usize, usize)> = (0..n)
        .map(|i| {
            let off = get_u16(buf, slot_at(i));
            (off, cell_len_at(buf, kind, off), i)
        })
        .collect();
    cells.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    let mut dest = buf.len();
    for (off, len, i) in cells {
        dest -= len;
        if off != dest {
            buf.copy_within(off..off + len, dest);
            put_u16(buf, slot_at(i), dest);
        }
    }
    if cell_start(buf) != dest {
        put_u16(buf, OFF_CELL_START, dest);
    }
}

/// Inserts `cell` as cell `idx`, compacting first if the contiguous gap is too small.
pub(crate) fn insert_cell(
    buf: &mut [u8],
    kind: Kind,
    idx: usize,
    cell: &[u8],
) -> Result<(), String> {
    let n = count(buf);
    assert!(idx <= n, "insert position within the node");
    let slots_end = slot_at(n);
    let need = cell.len() + SLOT_LEN;
    if cell_start(buf) - slots_end < need {
        compact(buf, kind);
        if cell_start(buf) - slots_end < need {
            return Err(format!("no room for a cell of {} bytes", cell.len()));
        }
    }
    let off = cell_start(buf) - cell.len();
    buf[off..off + cell.len()].copy_from_slice(cell);
    buf.copy_within(slot_at(idx)..slots_end, slot_at(idx + 1));
    put_u16(buf, slot_at(idx), off);
    put_u16(buf, OFF_COUNT, n + 1);
    put_u16(buf, OFF_CELL_START, off);
    Ok(())
}

/// Removes cell `idx`; its bytes become free space (reclaimed at once if it starts the area).
pub(crate) fn remove_cell(buf: &mut [u8], kind: Kind, idx: usize) {
    let n = count(buf);
    assert!(idx < n, "removed cell within the node");
    let off = get_u16(buf, slot_at(idx));
    let len = cell_len_at(buf, kind, off);
    buf.copy_within(slot_at(idx + 1)..slot_at(n), slot_at(idx));
    put_u16(buf, OFF_COUNT, n - 1);
    if off == cell_start(buf) {
        put_u16(buf, OFF_CELL_START, off + len);
    }
}

/// Keeps only the first `keep` cells; the others' bytes become free space.
pub(crate) fn truncate(buf: &mut [u8], keep: usize) {
    assert!(keep <= count(buf), "truncation keeps existing cells");
    put_u16(buf, OFF_COUNT, keep);
}

/// Replaces the value of leaf cell `idx` in place with a value no longer than the old one.
pub(crate) fn shrink_leaf_value(buf: &mut [u8], idx: usize, value: &[u8]) {
    let off = get_u16(buf, slot_at(idx));
    let key_len = get_u16(buf, off);
    assert!(
        value.len() <= get_u16(buf, off + 2),
        "value shrinks in place"
    );
    put_u16(buf, off + 2, value.len());
    let start = off + LEAF_CELL_HEADER + key_len;
    buf[start..start + value.len()].copy_from_slice(value);
}
