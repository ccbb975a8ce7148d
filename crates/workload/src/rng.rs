//! A small deterministic pseudo-random generator (SplitMix64).
//!
//! Invariant: the sequence depends only on the seed, never on the machine, the time or the
//! thread, so every load and run with the same seed draws the same numbers everywhere.

#[cfg(test)]
mod tests;

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A SplitMix64 generator: 64 bits of state, one addition and a mixing function per draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// An independent generator for stream `stream` of `seed` (for example, one per client):
    /// different streams of one seed, and one stream of different seeds, draw different numbers.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut base = Rng::new(seed);
        let mixed = base.next_u64() ^ mix(stream.wrapping_add(1).wrapping_mul(GAMMA));
        Rng::new(mixed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A number uniform in `0..n`, without modulo bias. `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below needs a non-empty range");
        // Lemire's multiply-and-reject: the high half of x * n is uniform once the low half
        // falls outside the first (2^64 mod n) values.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            // Truncation keeps the low 64 bits, which is the point.
            let low = product as u64;
            if low >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A number uniform in `low..=high`. `low` must not exceed `high`.
    pub fn range_inclusive(&mut self, low: i64, high: i64) -> i64 {
        assert!(low <= high, "Rng::range_inclusive needs low <= high");
        let span = high.abs_diff(low);
        let offset = if span == u64::MAX {
            self.next_u64()
        } else {
            self.below(span + 1)
        };
        low.wrapping_add_unsigned(offset)
    }

    /// One element of a non-empty slice, chosen uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.below(items.len() as u64);
        &items[usize::try_from(index).expect("index below a slice length fits usize")]
    }
}

/// The SplitMix64 output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
