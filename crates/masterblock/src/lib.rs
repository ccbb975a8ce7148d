//! The master block of an afterimage database and the header common to every extent file,
//! plus the domain newtypes every other crate uses.
//!
//! Invariants: bytes from disk are first *parsed* ([`MasterBlock::decode`],
//! [`ExtentHeader::decode`]) and become trusted values only through `validate`, which checks
//! magic, version, CRC-32C and every field's range; the master block is updated only through
//! [`MasterBlockFile::update`], which never overwrites the slot holding the current value.

mod error;
mod extent;
mod ids;
mod record;
mod slots;

pub use error::{Error, MESSAGES};
pub use extent::{
    BI_AREA, EXTENT_FORMAT_VERSION, EXTENT_MAGIC, ExtentHeader, ExtentKind, FIRST_AI_AREA,
    FIRST_DATA_AREA, ParsedExtentHeader,
};
pub use ids::{
    AiSeq, AreaNo, BlockNo, DbId, NoteSeq, OpenStamp, TxnId, UpdateCounter, now_micros, random_u64,
};
pub use record::{
    DbState, MB_FORMAT_VERSION, MB_MAGIC, MB_RECORD_LEN, MasterBlock, MbFlags, ParsedMasterBlock,
};
pub use slots::{MB_REGION_BYTES, MB_SLOT_OFFSETS, MasterBlockFile};

/// The database block sizes this format allows, in bytes.
pub const BLOCK_SIZES: [u32; 4] = [1024, 2048, 4096, 8192];

/// True if `n` is an allowed database block size: 1024, 2048, 4096 or 8192 bytes.
pub fn valid_block_size(n: u32) -> bool {
    BLOCK_SIZES.contains(&n)
}
