//! The head of a file is hinted from its first note on, in steps the system reads whole, up to
//! the bound, and not at all by a file that takes no hints.

use std::io;
use std::sync::Mutex;

use aiextent::AI_HEADER_REGION_BYTES;
use storage::StorageFile;

use super::{HEAD_PREFETCH_BYTES, prefetch_head};

/// A file of `len` bytes that records the hints it is given.
struct Recording {
    len: u64,
    takes_hints: bool,
    hints: Mutex<Vec<(u64, u64)>>,
}

impl Recording {
    fn new(len: u64, takes_hints: bool) -> Recording {
        Recording {
            len,
            takes_hints,
            hints: Mutex::new(Vec::new()),
        }
    }
}

impl StorageFile for Recording {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> io::Result<()> {
        unreachable!("a hint reads nothing")
    }
    fn write_at(&self, _buf: &[u8], _offset: u64) -> io::Result<()> {
        unreachable!("a hint writes nothing")
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.len)
    }
    fn set_len(&self, _len_bytes: u64) -> io::Result<()> {
        unreachable!("a hint changes nothing")
    }
    fn sync(&self) -> io::Result<()> {
        unreachable!("a hint syncs nothing")
    }
    fn prefetch(&self, offset: u64, len: u64) -> bool {
        self.hints.lock().unwrap().push((offset, len));
        self.takes_hints
    }
}

/// The hints as one range, checking they follow each other in steps of at most 128 KiB.
fn covered(file: &Recording) -> Option<(u64, u64)> {
    let hints = file.hints.lock().unwrap();
    let (&(first, _), &(last, last_len)) = (hints.first()?, hints.last()?);
    for pair in hints.windows(2) {
        assert_eq!(pair[0].0 + pair[0].1, pair[1].0, "hints follow each other");
    }
    assert!(hints.iter().all(|&(_, len)| len > 0 && len <= 128 << 10));
    Some((first, last + last_len))
}

#[test]
fn a_large_file_is_hinted_up_to_the_bound() {
    let file = Recording::new(100 << 20, true);
    prefetch_head(&file);
    let start = AI_HEADER_REGION_BYTES;
    assert_eq!(covered(&file), Some((start, start + HEAD_PREFETCH_BYTES)));
}

#[test]
fn a_small_file_is_hinted_to_its_end_and_an_empty_one_not_at_all() {
    let file = Recording::new(AI_HEADER_REGION_BYTES + 300_000, true);
    prefetch_head(&file);
    assert_eq!(
        covered(&file),
        Some((AI_HEADER_REGION_BYTES, AI_HEADER_REGION_BYTES + 300_000))
    );
    let empty = Recording::new(AI_HEADER_REGION_BYTES, true);
    prefetch_head(&empty);
    assert_eq!(covered(&empty), None);
}

#[test]
fn a_file_that_takes_no_hints_is_asked_once() {
    let file = Recording::new(100 << 20, false);
    prefetch_head(&file);
    assert_eq!(file.hints.lock().unwrap().len(), 1);
}
