//! Domain newtypes shared by every crate, and the sources of time and randomness.
//!
//! Each newtype is a plain wrapper with a public inner field; none carries an invariant beyond
//! its type, so arithmetic on them is the caller's, through `.0` or the `next` methods.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Identity of a database: recorded in the master block and in every extent header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DbId(pub [u8; 16]);

impl DbId {
    /// A new random identity (from the standard library's randomly keyed hasher, the time,
    /// the process id and a per-process counter).
    pub fn generate() -> DbId {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
        DbId(bytes)
    }

    /// Parses the 32-hex-digit form that `Display` prints (either case).
    pub fn from_hex(text: &str) -> Option<DbId> {
        let text = text.as_bytes();
        if text.len() != 32 || !text.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(DbId(bytes))
    }
}

impl fmt::Display for DbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Defines a newtype over an integer with `Display` as the bare number.
macro_rules! newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

/// Defines `next` (the value plus one, panicking on overflow) for a sequence newtype.
macro_rules! sequence {
    ($($name:ident),*) => {$(
        impl $name {
            /// The following value. Panics on overflow, which no database can reach.
            pub fn next(self) -> Self {
                $name(self.0.checked_add(1).expect(concat!(stringify!($name), " overflow")))
            }
        }
    )*};
}

newtype!(
    /// Number of a storage area: 1 control, 3 before-image, 6 schema, 7 and up data and AI.
    AreaNo(u32)
);
newtype!(
    /// Number of a block within its area, from 0 (the area header).
    BlockNo(u32)
);
newtype!(
    /// A block's update counter: +1 per applied note, never goes back.
    UpdateCounter(u64)
);
newtype!(
    /// Position of a note in the database's note stream, +1 per note.
    NoteSeq(u64)
);
newtype!(
    /// Transaction id; 0 marks system changes that are never undone.
    TxnId(u64)
);
newtype!(
    /// Sequence number of an after-image extent's use: +1 per switch.
    AiSeq(u64)
);
newtype!(
    /// Stamp taken at every open for update other than by roll forward.
    OpenStamp(u64)
);

sequence!(BlockNo, UpdateCounter, NoteSeq, TxnId, AiSeq);

/// Microseconds since the Unix epoch, now (negative before 1970); with `SOURCE_DATE_EPOCH` set,
/// a deterministic clock from that second on (see `reproducible_epoch`).
pub fn now_micros() -> i64 {
    if let Some(epoch_secs) = reproducible_epoch() {
        // Reproducible builds of fixtures: a clock that starts at SOURCE_DATE_EPOCH and advances
        // one millisecond per reading, so times stay distinct and increasing.
        static TICKS: AtomicU64 = AtomicU64::new(0);
        let ticks = TICKS.fetch_add(1, Ordering::Relaxed);
        return epoch_secs
            .saturating_mul(1_000_000)
            .saturating_add(i64::try_from(ticks.saturating_mul(1000)).unwrap_or(i64::MAX));
    }
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// `SOURCE_DATE_EPOCH` (seconds), when set: the clock and the random numbers become
/// deterministic so fixture files come out byte for byte the same on every run.
fn reproducible_epoch() -> Option<i64> {
    static EPOCH: OnceLock<Option<i64>> = OnceLock::new();
    *EPOCH.get_or_init(|| {
        std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
    })
}

/// A random `u64` (not cryptographic): the standard library's randomly keyed hasher over the
/// time, the process id and a per-process counter, so successive calls differ.
pub fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    if reproducible_epoch().is_some() {
        // SplitMix64 over the call count: the same sequence on every run.
        let mut z = CALLS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        return z ^ (z >> 31);
    }
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}
