//! A hasher for hot in-memory maps whose keys are small integers chosen by the database itself
//! (block numbers, transaction ids), never by an outside party: one multiply and rotate per
//! word instead of SipHash, which guards against keys an attacker picks.
//!
//! Invariant: only maps keyed by integers the database assigns use it (the engine's, and roll
//! forward's map of transactions in flight).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Multiplier of the mixing step (the golden ratio in 64 bits, as FxHash uses).
const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// The hasher: folds each word in with a rotate, xor and multiply.
#[derive(Clone, Copy, Default)]
pub struct IntHasher {
    hash: u64,
}

impl IntHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        // The table takes its bucket from the high bits and its tag from the top seven: fold
        // the well-mixed high half into the low one as well.
        self.hash ^ (self.hash >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// Builds [`IntHasher`]s.
pub type IntBuildHasher = BuildHasherDefault<IntHasher>;

/// A map keyed by engine-assigned integers.
pub type IntMap<K, V> = HashMap<K, V, IntBuildHasher>;

/// A set of engine-assigned integers.
pub type IntSet<K> = HashSet<K, IntBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keyed_by_block_keep_every_entry() {
        let mut map: IntMap<(u32, u32), usize> = IntMap::default();
        for area in 6..9u32 {
            for block in 0..5000u32 {
                map.insert((area, block), (area * 10_000 + block) as usize);
            }
        }
        assert_eq!(map.len(), 15_000);
        assert_eq!(map.get(&(7, 4321)), Some(&74_321));
        assert_eq!(map.get(&(9, 1)), None);
    }

    #[test]
    fn neighbouring_keys_hash_apart() {
        let hash = |k: (u32, u32)| {
            use std::hash::BuildHasher;
            IntBuildHasher::default().hash_one(k)
        };
        assert_ne!(hash((6, 1)), hash((6, 2)));
        assert_ne!(hash((6, 1)), hash((7, 1)));
        assert_ne!(hash((6, 1)), hash((1, 6)));
    }
}
