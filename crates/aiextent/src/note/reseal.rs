//! [`Reseal`]: re-frames verified notes under another seed without reading their bodies again.
//!
//! CRC-32C is affine in its starting value: for one body of `n` bytes, the checksums under two
//! seeds differ by `crc32c(seed_a LE) ^ crc32c(seed_b LE)` advanced over `n` zero bytes, a value
//! that depends only on the seed pair and `n`. Invariant: a frame written here carries exactly
//! the checksum [`super::frame_crc`] would compute (debug builds compare the two).

use super::codec::append_frame_with_crc;
use super::{NoteRef, frame_crc};

/// Slots of the per-length cache (direct-mapped by body length: one slot per length for
/// bodies under 4 KiB, which are nearly all of them).
const CACHE_SLOTS: usize = 4096;

/// Zeros to advance a checksum over.
static ZEROS: [u8; 4096] = [0; 4096];

/// `d` advanced over `n` zero bytes: the raw CRC-32C register (no inversion before or after)
/// that starts at `d` and reads `n` zeros. `crc32c_append` inverts on the way in and out.
fn advance_over_zeros(d: u32, n: usize) -> u32 {
    let mut crc = !d;
    let mut left = n;
    while left > 0 {
        let step = left.min(ZEROS.len());
        crc = crc32c::crc32c_append(crc, &ZEROS[..step]);
        left -= step;
    }
    !crc
}

/// Appends frames of verified notes under a new seed, deriving each checksum from the one the
/// note verified with. Keeps a small cache per seed pair; a new pair empties it.
#[derive(Clone, Debug)]
pub struct Reseal {
    /// The seed pair the cache holds, if any.
    pair: Option<(u64, u64)>,
    /// `crc32c(from LE) ^ crc32c(to LE)` for `pair`.
    diff: u32,
    /// `(body_len + 1, delta)`; 0 in the first field marks an empty slot.
    cache: Box<[(u32, u32); CACHE_SLOTS]>,
}

impl Default for Reseal {
    fn default() -> Self {
        Reseal {
            pair: None,
            diff: 0,
            cache: Box::new([(0, 0); CACHE_SLOTS]),
        }
    }
}

impl Reseal {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checksum of `note`'s body framed under `to_seed`.
    pub fn crc(&mut self, note: &NoteRef<'_>, to_seed: u64) -> u32 {
        let from_seed = note.seed();
        if from_seed == to_seed {
            return note.frame_crc();
        }
        if self.pair != Some((from_seed, to_seed)) {
            self.pair = Some((from_seed, to_seed));
            self.diff =
                crc32c::crc32c(&from_seed.to_le_bytes()) ^ crc32c::crc32c(&to_seed.to_le_bytes());
            self.cache.fill((0, 0));
        }
        let len = note.body_len();
        let key = u32::try_from(len + 1).expect("a note body is at most MAX_BODY_LEN");
        let slot = &mut self.cache[len % CACHE_SLOTS];
        if slot.0 != key {
            *slot = (key, advance_over_zeros(self.diff, len));
        }
        let crc = note.frame_crc() ^ slot.1;
        debug_assert_eq!(crc, frame_crc(to_seed, note.body()), "derived checksum");
        crc
    }

    /// Appends `note` to `out` as a frame under `to_seed`: the same bytes
    /// [`super::append_frame`] would write.
    pub fn append(&mut self, out: &mut Vec<u8>, note: &NoteRef<'_>, to_seed: u64) {
        let crc = self.crc(note, to_seed);
        append_frame_with_crc(out, note.body(), crc);
    }
}
