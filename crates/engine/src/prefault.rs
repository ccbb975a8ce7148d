//! Memory given ahead of use: buffers whose pages have all been written once, so the thread
//! that fills them later takes none of the page faults of first use (a fresh allocation may
//! be pages the system has not yet given, even a zeroed one).
//!
//! Invariant: only the allocation and its first write happen here; what the buffers hold is
//! the caller's.

use std::mem::MaybeUninit;

/// Bytes of a page, the unit in which the system gives memory.
const PAGE_BYTES: usize = 4096;

/// An empty vector with room for `capacity` bytes, each page of which has been written.
pub(crate) fn touched_vec(capacity: usize) -> Vec<u8> {
    let mut v: Vec<u8> = Vec::with_capacity(capacity);
    for page in v.spare_capacity_mut().chunks_mut(PAGE_BYTES) {
        page[0] = MaybeUninit::new(0);
    }
    v
}

/// `len` zero bytes whose pages have been written.
pub(crate) fn touched_zeros(len: usize) -> Box<[u8]> {
    let mut v = touched_vec(len);
    v.resize(len, 0);
    v.into_boxed_slice()
}

#[cfg(test)]
mod tests;
