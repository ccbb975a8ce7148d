//! Byte layout of one node (docs/formats/btree.md) and its validation. A [`Node`] exists only
//! after [`RawHeader::validate`] has checked the header, every slot and every cell against the
//! body, so its accessors never index out of bounds.

use std::cmp::Ordering;

use crate::PageId;

pub(crate) mod edit;

/// Bytes of the node header at the start of the body.
pub(crate) const HEADER_LEN: usize = 16;
/// Bytes of one slot-directory entry.
pub(crate) const SLOT_LEN: usize = 2;
/// Bytes before the key in a leaf cell: `u16 key_len, u16 value_len`.
pub(crate) const LEAF_CELL_HEADER: usize = 4;
/// Bytes before the key in an internal cell: `u32 child, u16 key_len`.
pub(crate) const INTERNAL_CELL_HEADER: usize = 6;
/// Node format version in header byte 1.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// Kind byte of an unformatted (all-zero) page.
pub(crate) const KIND_UNFORMATTED: u8 = 0;
/// Kind byte the engine writes on a free page.
pub(crate) const KIND_FREE: u8 = 0xFF;

pub(crate) const OFF_KIND: usize = 0;
pub(crate) const OFF_VERSION: usize = 1;
pub(crate) const OFF_LEVEL: usize = 2;
pub(crate) const OFF_RESERVED_A: usize = 3;
pub(crate) const OFF_COUNT: usize = 4;
pub(crate) const OFF_CELL_START: usize = 6;
pub(crate) const OFF_LINK: usize = 8;
pub(crate) const OFF_RESERVED_B: usize = 12;

/// Smallest page body the tree supports.
pub const MIN_BODY_LEN: usize = 256;
/// Largest page body the tree supports (offsets are `u16`).
pub const MAX_BODY_LEN: usize = u16::MAX as usize;

/// "No page": the end of the leaf chain. Page 0 never holds a tree node.
pub const NO_PAGE: PageId = 0;

/// The two kinds of node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Kind byte 2: key/value records and a right-sibling link.
    Leaf = 2,
    /// Kind byte 3: separators and child pointers.
    Internal = 3,
}

impl Kind {
    /// Bytes of the fixed part of a cell of this kind.
    pub(crate) fn cell_header(self) -> usize {
        match self {
            Kind::Leaf => LEAF_CELL_HEADER,
            Kind::Internal => INTERNAL_CELL_HEADER,
        }
    }
}

/// Largest key plus value of a record for a body of `body_len` bytes (0 if unsupported).
pub(crate) fn max_record_len(body_len: usize) -> usize {
    (body_len.saturating_sub(HEADER_LEN) / 2).saturating_sub(SLOT_LEN + LEAF_CELL_HEADER)
}

/// Largest key for a body of `body_len` bytes (0 if unsupported).
pub(crate) fn max_key_len(body_len: usize) -> usize {
    (body_len.saturating_sub(HEADER_LEN) / 4)
        .saturating_sub(SLOT_LEN + INTERNAL_CELL_HEADER)
        .min(max_record_len(body_len))
}

pub(crate) fn get_u16(buf: &[u8], off: usize) -> usize {
    usize::from(u16::from_le_bytes([buf[off], buf[off + 1]]))
}

pub(crate) fn get_u32(buf: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
}

pub(crate) fn put_u16(buf: &mut [u8], off: usize, value: usize) {
    let v = u16::try_from(value).expect("node offsets and lengths fit in u16");
    buf[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(buf: &mut [u8], off: usize, value: u32) {
    buf[off..off + 4].copy_from_slice(&value.to_le_bytes());
}

/// The header fields as decoded, not yet trusted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHeader {
    kind: u8,
    version: u8,
    level: u8,
    reserved_a: u8,
    count: usize,
    cell_start: usize,
    link: u32,
    reserved_b: u32,
}

impl RawHeader {
    /// Decodes the header; `None` if the body is shorter than a header.
    pub(crate) fn decode(buf: &[u8]) -> Option<RawHeader> {
        if buf.len() < HEADER_LEN {
            return None;
        }
        Some(RawHeader {
            kind: buf[OFF_KIND],
            version: buf[OFF_VERSION],
            level: buf[OFF_LEVEL],
            reserved_a: buf[OFF_RESERVED_A],
            count: get_u16(buf, OFF_COUNT),
            cell_start: get_u16(buf, OFF_CELL_START),
            link: get_u32(buf, OFF_LINK),
            reserved_b: get_u32(buf, OFF_RESERVED_B),
        })
    }

    /// Checks the header, every slot and every cell against `buf`, giving a trusted node.
    pub(crate) fn validate(self, buf: &[u8]) -> Result<Node<'_>, String> {
        let len = buf.len();
        if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&len) {
            return Err(format!("page body of {len} bytes"));
        }
        let kind = match self.kind {
            2 => Kind::Leaf,
            3 => Kind::Internal,
            KIND_UNFORMATTED => return Err("unformatted page (node kind 0)".into()),
            KIND_FREE => return Err("free page (node kind 0xFF) reached from the tree".into()),
            other => return Err(format!("unknown node kind {other}")),
        };
        if self.version != FORMAT_VERSION {
            return Err(format!("unknown node format version {}", self.version));
        }
        if self.reserved_a != 0 || self.reserved_b != 0 {
            return Err("reserved header bytes are not zero".into());
        }
        match kind {
            Kind::Leaf if self.level != 0 => {
                return Err(format!("leaf at level {}", self.level));
            }
            Kind::Internal if self.level == 0 => return Err("internal node at level 0".into()),
            Kind::Internal if self.link == NO_PAGE => {
                return Err("internal node without a leftmost child".into());
            }
            _ => {}
        }
        let slots_end = HEADER_LEN + SLOT_LEN * self.count;
        if slots_end > self.cell_start || self.cell_start > len {
            return Err(format!(
                "{} slots and cell area start {} do not fit a body of {len} bytes",
                self.count, self.cell_start
            ));
        }
        let node = Node {
            buf,
            kind,
            level: self.level,
            count: self.count,
            link: self.link,
        };
        let max_key = max_key_len(len);
        let max_record = max_record_len(len);
        for i in 0..self.count {
            let off = node.slot(i);
            let header = kind.cell_header();
            if off < self.cell_start || off + header > len {
                return Err(format!("slot {i} points at {off}, outside the cell area"));
            }
            let (key_len, value_len) = match kind {
                Kind::Leaf => (get_u16(buf, off), get_u16(buf, off + 2)),
                Kind::Internal => (get_u16(buf, off + 4), 0),
            };
            if off + header + key_len + value_len > len {
                return Err(format!("cell {i} at {off} runs past the end of the body"));
            }
            if key_len > max_key || key_len + value_len > max_record {
                return Err(format!("cell {i} is larger than a record may be"));
            }
            if kind == Kind::Internal && get_u32(buf, off) == NO_PAGE {
                return Err(format!("cell {i} points at page 0"));
            }
        }
        Ok(node)
    }
}

/// Decodes and validates `buf` as a node.
pub(crate) fn parse(buf: &[u8]) -> Result<Node<'_>, String> {
    RawHeader::decode(buf)
        .ok_or_else(|| format!("page body of {} bytes", buf.len()))?
        .validate(buf)
}

/// A validated node over borrowed page bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    buf: &'a [u8],
    pub(crate) kind: Kind,
    pub(crate) level: u8,
    pub(crate) count: usize,
    /// Leaf: right sibling ([`NO_PAGE`] for the last leaf). Internal: leftmost child.
    pub(crate) link: PageId,
}

impl<'a> Node<'a> {
    /// Body offset of cell `i`.
    pub(crate) fn slot(&self, i: usize) -> usize {
        get_u16(self.buf, HEADER_LEN + SLOT_LEN * i)
    }

    /// Key bytes of cell `i`.
    pub(crate) fn key(&self, i: usize) -> &'a [u8] {
        let off = self.slot(i);
        let (len_off, header) = match self.kind {
            Kind::Leaf => (off, LEAF_CELL_HEADER),
            Kind::Internal => (off + 4, INTERNAL_CELL_HEADER),
        };
        let key_len = get_u16(self.buf, len_off);
        &self.buf[off + header..off + header + key_len]
    }

    /// Value bytes of leaf cell `i` (empty for an internal node).
    pub(crate) fn value(&self, i: usize) -> &'a [u8] {
        match self.kind {
            Kind::Leaf => {
                let off = self.slot(i);
                let start = off + LEAF_CELL_HEADER + get_u16(self.buf, off);
                &self.buf[start..start + get_u16(self.buf, off + 2)]
            }
            Kind::Internal => &[],
        }
    }

    /// Total bytes of cell `i`.
    pub(crate) fn cell_len(&self, i: usize) -> usize {
        cell_len_at(self.buf, self.kind, self.slot(i))
    }

    /// The bytes of cell `i`.
    pub(crate) fn cell(&self, i: usize) -> &'a [u8] {
        let off = self.slot(i);
        &self.buf[off..off + self.cell_len(i)]
    }

    /// Child `i` of an internal node: 0 is the leftmost, `i > 0` is cell `i - 1`'s child.
    pub(crate) fn child(&self, i: usize) -> PageId {
        match i {
            0 => self.link,
            _ => get_u32(self.buf, self.slot(i - 1)),
        }
    }

    /// Leaf: `Ok(i)` if cell `i` has `key`, else `Err(i)` where `key` would go.
    pub(crate) fn search(&self, key: &[u8]) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Internal: index of the child whose range holds `key` (the number of separators <= key).
    pub(crate) fn child_index(&self, key: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid) <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Sum of the cells' bytes.
    pub(crate) fn live_bytes(&self) -> usize {
        (0..self.count).map(|i| self.cell_len(i)).sum()
    }

    /// Bytes available to new cells and slots once the node is compacted.
    pub(crate) fn free_bytes(&self) -> usize {
        (self.buf.len() - HEADER_LEN - SLOT_LEN * self.count).saturating_sub(self.live_bytes())
    }

    /// Checks that no two cells overlap, which makes compaction and free space exact.
    pub(crate) fn check_disjoint(&self) -> Result<(), String> {
        let mut spans: Vec<(usize, usize)> = (0..self.count)
            .map(|i| (self.slot(i), self.cell_len(i)))
            .collect();
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[0].0 + pair[0].1 > pair[1].0 {
                return Err(format!("cells at {} and {} overlap", pair[0].0, pair[1].0));
            }
        }
        Ok(())
    }
}

/// Length of the cell of `kind` at body offset `off` (the cell was validated).
pub(crate) fn cell_len_at(buf: &[u8], kind: Kind, off: usize) -> usize {
    match kind {
        Kind::Leaf => LEAF_CELL_HEADER + get_u16(buf, off) + get_u16(buf, off + 2),
        Kind::Internal => INTERNAL_CELL_HEADER + get_u16(buf, off + 4),
    }
}

/// Encodes a leaf cell.
pub(crate) fn leaf_cell(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut cell = vec![0; LEAF_CELL_HEADER + key.len() + value.len()];
    put_u16(&mut cell, 0, key.len());
    put_u16(&mut cell, 2, value.len());
    cell[LEAF_CELL_HEADER..LEAF_CELL_HEADER + key.len()].copy_from_slice(key);
    cell[LEAF_CELL_HEADER + key.len()..].copy_from_slice(value);
    cell
}

/// Encodes an internal cell.
pub(crate) fn internal_cell(child: PageId, key: &[u8]) -> Vec<u8> {
    let mut cell = vec![0; INTERNAL_CELL_HEADER + key.len()];
    put_u32(&mut cell, 0, child);
    put_u16(&mut cell, 4, key.len());
    cell[INTERNAL_CELL_HEADER..].copy_from_slice(key);
    cell
}

/// Key of an encoded cell of `kind` (built by this crate or copied from a validated node).
pub(crate) fn cell_key(kind: Kind, cell: &[u8]) -> &[u8] {
    match kind {
        Kind::Leaf => &cell[LEAF_CELL_HEADER..LEAF_CELL_HEADER + get_u16(cell, 0)],
        Kind::Internal => &cell[INTERNAL_CELL_HEADER..INTERNAL_CELL_HEADER + get_u16(cell, 4)],
    }
}

#[cfg(test)]
mod tests;
