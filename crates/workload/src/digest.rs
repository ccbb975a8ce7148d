//! A digest of a database's whole content, to compare two databases (or two loads) cheaply.
//!
//! Invariant: the digest covers every table's name, keys and values, in name and key order,
//! each length-prefixed, so two databases with the same records have the same digest and any
//! difference in a name, key or value changes it (up to 64-bit FNV-1a collisions).

use crate::Error;
use crate::load::table_names;
use crate::run::{in_txn, scan_rows};
use crate::session::Session;

/// FNV-1a offset basis.
const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
/// FNV-1a prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

/// A 64-bit FNV-1a hash fed length-prefixed fields.
struct Fnv(u64);

impl Fnv {
    fn field(&mut self, bytes: &[u8]) {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
    }
}

/// The content of a database, summed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentDigest {
    /// Tables read.
    pub tables: u64,
    /// Records read over all tables.
    pub records: u64,
    /// FNV-1a 64 of every table name, key and value.
    pub hash: u64,
}

/// Reads every record of every table in one transaction and returns its digest.
pub fn content_digest<S: Session + ?Sized>(db: &S) -> Result<ContentDigest, Error> {
    let mut names = table_names(db)?;
    names.sort();
    let mut retries = 0;
    in_txn(db, &mut retries, |txn| {
        let mut fnv = Fnv(FNV_OFFSET);
        let mut records = 0u64;
        for name in &names {
            fnv.field(name.as_bytes());
            scan_rows(txn, name, |key, value| {
                fnv.field(key.as_bytes());
                fnv.field(value);
                records += 1;
                Ok(())
            })?;
        }
        Ok(ContentDigest {
            tables: names.len() as u64,
            records,
            hash: fnv.0,
        })
    })
}
