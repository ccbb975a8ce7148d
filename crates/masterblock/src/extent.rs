//! The 64-byte common prefix of every extent file's header (`docs/formats/extent-header.md`).
//!
//! Invariant: an [`ExtentHeader`] obtained from bytes has a valid magic, version, checksum,
//! kind, block size and area/extent numbers, and a size consistent with `fixed`, so
//! `size_kib * 1024` cannot overflow.

use std::mem::{offset_of, size_of};

use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::error::Error;
use crate::ids::{AreaNo, DbId};
use crate::valid_block_size;

/// Magic at the start of every extent header.
pub const EXTENT_MAGIC: [u8; 8] = *b"AIMGEXTN";
/// The extent header format version this crate reads and writes.
pub const EXTENT_FORMAT_VERSION: u16 = 1;
/// Area number of the before-image area.
pub const BI_AREA: AreaNo = AreaNo(3);
/// Lowest area number of a data area (the schema area).
pub const FIRST_DATA_AREA: AreaNo = AreaNo(6);
/// Area number of AI extent 1; AI extent N is area `FIRST_AI_AREA + N - 1`, and data areas stay
/// below it (see docs/formats/catalogue.md).
pub const FIRST_AI_AREA: AreaNo = AreaNo(1000);

const CHECKSUM_OFFSET: usize = 60;
const WHAT: &str = "extent header";

/// The prefix exactly as on disk.
#[derive(Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct RawExtentHeader {
    magic: [u8; 8],
    format_version: U16,
    extent_kind: u8,
    fixed: u8,
    block_size: U32,
    db_id: [u8; 16],
    area_number: U32,
    extent_number: U32,
    size_kib: U64,
    created_time: I64,
    reserved: U32,
    checksum: U32,
}

const _: () = assert!(size_of::<RawExtentHeader>() == ExtentHeader::ENCODED_LEN);
const _: () = assert!(offset_of!(RawExtentHeader, extent_kind) == 10);
const _: () = assert!(offset_of!(RawExtentHeader, block_size) == 12);
const _: () = assert!(offset_of!(RawExtentHeader, db_id) == 16);
const _: () = assert!(offset_of!(RawExtentHeader, area_number) == 32);
const _: () = assert!(offset_of!(RawExtentHeader, size_kib) == 40);
const _: () = assert!(offset_of!(RawExtentHeader, created_time) == 48);
const _: () = assert!(offset_of!(RawExtentHeader, checksum) == CHECKSUM_OFFSET);

/// What an extent file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtentKind {
    /// Before-image extent (`db.bN`), on-disk code 3.
    Bi,
    /// Data extent (`db.dN`, `db_A.dN`), on-disk code 6.
    Data,
    /// After-image extent (`db.aN`), on-disk code 7.
    Ai,
}

impl ExtentKind {
    /// The on-disk code.
    pub fn code(self) -> u8 {
        match self {
            ExtentKind::Bi => 3,
            ExtentKind::Data => 6,
            ExtentKind::Ai => 7,
        }
    }

    /// The kind with on-disk `code`, if any.
    pub fn from_code(code: u8) -> Option<ExtentKind> {
        match code {
            3 => Some(ExtentKind::Bi),
            6 => Some(ExtentKind::Data),
            7 => Some(ExtentKind::Ai),
            _ => None,
        }
    }
}

/// The trusted common prefix of an extent header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtentHeader {
    /// What the extent holds.
    pub kind: ExtentKind,
    /// Fixed (preallocated) rather than variable.
    pub fixed: bool,
    /// Database block size in bytes.
    pub block_size: u32,
    /// Identity of the database the extent belongs to.
    pub db_id: DbId,
    /// Area the extent belongs to.
    pub area: AreaNo,
    /// Extent number within its area, from 1.
    pub extent_number: u32,
    /// Fixed size in KiB; 0 for a variable extent.
    pub size_kib: u64,
    /// Time the extent was created, µs since the Unix epoch.
    pub created_time: i64,
}

/// An extent header as read, not yet checked: only [`ParsedExtentHeader::validate`] turns it
/// into an [`ExtentHeader`].
#[derive(Clone)]
pub struct ParsedExtentHeader {
    raw: RawExtentHeader,
    offset: u64,
}

impl std::fmt::Debug for ParsedExtentHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedExtentHeader")
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl ExtentHeader {
    /// Length of the encoded prefix in bytes.
    pub const ENCODED_LEN: usize = 64;

    /// The 64-byte prefix, checksum included, reserved bytes zero.
    pub fn encode(&self) -> [u8; 64] {
        let mut raw = RawExtentHeader::new_zeroed();
        raw.magic = EXTENT_MAGIC;
        raw.format_version.set(EXTENT_FORMAT_VERSION);
        raw.extent_kind = self.kind.code();
        raw.fixed = u8::from(self.fixed);
        raw.block_size.set(self.block_size);
        raw.db_id = self.db_id.0;
        raw.area_number.set(self.area.0);
        raw.extent_number.set(self.extent_number);
        raw.size_kib.set(self.size_kib);
        raw.created_time.set(self.created_time);
        let mut bytes = [0u8; Self::ENCODED_LEN];
        raw.write_to(&mut bytes[..])
            .expect("prefix is exactly 64 bytes");
        let checksum = crc32c::crc32c(&bytes[..CHECKSUM_OFFSET]);
        bytes[CHECKSUM_OFFSET..].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    /// Parses the first 64 bytes of `bytes` (a header at file offset 0); see
    /// [`ExtentHeader::decode_at`].
    pub fn decode(bytes: &[u8]) -> Result<ParsedExtentHeader, Error> {
        ExtentHeader::decode_at(bytes, 0)
    }

    /// Parses the first 64 bytes of `bytes`, read from file offset `offset` (named in errors).
    /// Fails only if fewer than 64 bytes are given; nothing is checked yet.
    pub fn decode_at(bytes: &[u8], offset: u64) -> Result<ParsedExtentHeader, Error> {
        let Ok((raw, _)) = RawExtentHeader::read_from_prefix(bytes) else {
            return Err(Error::Truncated {
                what: WHAT,
                needed: Self::ENCODED_LEN,
                found: bytes.len(),
            });
        };
        Ok(ParsedExtentHeader { raw, offset })
    }

    /// Size of a fixed extent's file in bytes (0 for a variable extent).
    pub fn size_bytes(&self) -> u64 {
        self.size_kib * 1024
    }

    /// Refuses a header that names another database, area or extent than expected.
    pub fn check_identity(
        &self,
        db_id: DbId,
        area: AreaNo,
        extent_number: u32,
    ) -> Result<(), Error> {
        if self.db_id != db_id {
            return Err(Error::ForeignExtent {
                expected: db_id,
                found: self.db_id,
            });
        }
        if self.area != area || self.extent_number != extent_number {
            return Err(Error::ExtentMismatch {
                expected_area: area,
                expected_extent: extent_number,
                found_area: self.area,
                found_extent: self.extent_number,
            });
        }
        Ok(())
    }
}

impl ParsedExtentHeader {
    /// Checks, in this order: never written, magic, version, checksum, kind, fixed, block size,
    /// area and extent numbers, size.
    pub fn validate(self) -> Result<ExtentHeader, Error> {
        let raw = &self.raw;
        let offset = self.offset;
        let bytes = raw.as_bytes();
        if bytes.iter().all(|&b| b == 0) {
            return Err(Error::NeverWritten { what: WHAT, offset });
        }
        if raw.magic != EXTENT_MAGIC {
            return Err(Error::BadMagic {
                found: raw.magic,
                expected: EXTENT_MAGIC,
                what: WHAT,
                offset,
            });
        }
        if raw.format_version.get() != EXTENT_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: raw.format_version.get(),
                supported: EXTENT_FORMAT_VERSION,
                what: WHAT,
                offset,
            });
        }
        let actual = crc32c::crc32c(&bytes[..CHECKSUM_OFFSET]);
        if actual != raw.checksum.get() {
            return Err(Error::ChecksumMismatch {
                expected: raw.checksum.get(),
                actual,
                what: WHAT,
                offset,
            });
        }
        let invalid = |field: &'static str, value: u64| Error::InvalidField { field, value };
        let kind = ExtentKind::from_code(raw.extent_kind)
            .ok_or_else(|| invalid("extent_kind", raw.extent_kind.into()))?;
        let fixed = match raw.fixed {
            0 => false,
            1 => true,
            other => return Err(invalid("fixed", other.into())),
        };
        let block_size = raw.block_size.get();
        if !valid_block_size(block_size) {
            return Err(invalid("block_size", block_size.into()));
        }
        let area = AreaNo(raw.area_number.get());
        let area_ok = match kind {
            ExtentKind::Bi => area == BI_AREA,
            ExtentKind::Data => area >= FIRST_DATA_AREA && area < FIRST_AI_AREA,
            ExtentKind::Ai => area >= FIRST_AI_AREA,
        };
        if !area_ok {
            return Err(invalid("area_number", area.0.into()));
        }
        let extent_number = raw.extent_number.get();
        if extent_number == 0 {
            return Err(invalid("extent_number", 0));
        }
        let size_kib = raw.size_kib.get();
        let size_ok = if fixed {
            size_kib > 0 && size_kib <= u64::MAX / 1024
        } else {
            size_kib == 0
        };
        if !size_ok {
            return Err(invalid("size_kib", size_kib));
        }
        Ok(ExtentHeader {
            kind,
            fixed,
            block_size,
            db_id: DbId(raw.db_id),
            area,
            extent_number,
            size_kib,
            created_time: raw.created_time.get(),
        })
    }
}
