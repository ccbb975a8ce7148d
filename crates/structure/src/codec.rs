//! The catalogue's bytes (docs/formats/catalogue.md, version 1): a 40-byte header, the
//! payload, a CRC-32C of both. [`Catalogue::decode`] checks framing and checksum and returns
//! a [`ParsedCatalogue`] whose fields are not trusted; [`ParsedCatalogue::validate`] checks
//! every rule a built catalogue keeps before returning a [`Catalogue`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use masterblock::{AreaNo, DbId};

use crate::catalogue::build::{valid_blocks_per_cluster, valid_records_per_block};
use crate::catalogue::{
    AI_AREA_PREFIX, Area, AreaKind, BI_AREA_NAME, CONTROL_AREA_NAME, Catalogue, Extent,
    SCHEMA_AREA_NAME, num,
};
use crate::{CATALOGUE_SLOT_BYTES, Error};

/// Magic at byte 0 of a catalogue slot.
pub const CATALOGUE_MAGIC: [u8; 8] = *b"AIMGCATL";
/// Format version written and read.
pub const CATALOGUE_VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER_BYTES: usize = 40;
/// Checksum length in bytes.
const CHECKSUM_BYTES: usize = 4;

/// A decoded, checksummed catalogue whose contents are not yet trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCatalogue {
    /// Header `reserved` (must be 0).
    pub reserved: u16,
    /// Header `generation`.
    pub generation: u64,
    /// Header `db_id`.
    pub db_id: DbId,
    /// Payload `control_path`.
    pub control_path: String,
    /// Payload areas in stored order.
    pub areas: Vec<ParsedArea>,
}

/// One area as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedArea {
    /// `area_number`.
    pub number: u32,
    /// `area_kind` code.
    pub kind: u8,
    /// `area_name`.
    pub name: String,
    /// `records_per_block`.
    pub records_per_block: u32,
    /// `blocks_per_cluster`.
    pub blocks_per_cluster: u32,
    /// The extents in stored order.
    pub extents: Vec<ParsedExtent>,
}

/// One extent as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedExtent {
    /// `extent_number`.
    pub number: u32,
    /// `fixed` byte.
    pub fixed: u8,
    /// `size_kib`.
    pub size_kib: u64,
    /// `path`.
    pub path: String,
}

/// Appends a `u16`-length-prefixed UTF-8 string.
fn put_str(out: &mut Vec<u8>, text: &str) -> Result<(), Error> {
    let len = u16::try_from(text.len()).map_err(|_| Error::TooLarge {
        bytes: text.len() as u64,
        limit: CATALOGUE_SLOT_BYTES,
    })?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// A path as UTF-8, or [`Error::NonUtf8Path`].
fn path_str(path: &Path) -> Result<&str, Error> {
    path.to_str().ok_or_else(|| Error::NonUtf8Path {
        path: path.to_path_buf(),
    })
}

impl Catalogue {
    /// One slot's bytes (header, payload, checksum; not padded), or [`Error::TooLarge`] if
    /// they exceed 65,536 bytes.
    pub fn encode(&self, db_id: DbId, generation: u64) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(&CATALOGUE_MAGIC);
        out.extend_from_slice(&CATALOGUE_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&generation.to_le_bytes());
        out.extend_from_slice(&db_id.0);
        debug_assert_eq!(out.len(), HEADER_BYTES);
        put_str(&mut out, path_str(&self.control_path)?)?;
        out.extend_from_slice(&(self.areas.len() as u32).to_le_bytes());
        for area in &self.areas {
            out.extend_from_slice(&area.number.0.to_le_bytes());
            out.push(area.kind.code());
            put_str(&mut out, &area.name)?;
            out.extend_from_slice(&area.records_per_block.to_le_bytes());
            out.extend_from_slice(&area.blocks_per_cluster.to_le_bytes());
            out.extend_from_slice(&(area.extents.len() as u32).to_le_bytes());
            for extent in &area.extents {
                out.extend_from_slice(&extent.number.to_le_bytes());
                out.push(u8::from(extent.fixed));
                out.extend_from_slice(&extent.size_kib.to_le_bytes());
                put_str(&mut out, path_str(&extent.path)?)?;
            }
        }
        let total = (out.len() + CHECKSUM_BYTES) as u64;
        if total > CATALOGUE_SLOT_BYTES {
            return Err(Error::TooLarge {
                bytes: total,
                limit: CATALOGUE_SLOT_BYTES,
            });
        }
        let payload_len = (out.len() - HEADER_BYTES) as u32;
        out[12..16].copy_from_slice(&payload_len.to_le_bytes());
        let checksum = crc32c::crc32c(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        Ok(out)
    }

    /// Decodes one slot (`bytes` may be longer than the record, e.g. the whole zero-padded
    /// slot): magic, version, length and checksum are checked; nothing else is trusted yet.
    pub fn decode(bytes: &[u8]) -> Result<ParsedCatalogue, Error> {
        let available = bytes.len() as u64;
        let minimum = (HEADER_BYTES + CHECKSUM_BYTES) as u64;
        if available < minimum {
            return Err(Error::Truncated {
                needed: minimum,
                available,
            });
        }
        if bytes[0..8] != CATALOGUE_MAGIC {
            return Err(Error::BadMagic {
                found: String::from_utf8_lossy(&bytes[0..8]).into_owned(),
            });
        }
        let mut header = Reader::new(&bytes[8..HEADER_BYTES]);
        let version = header.u16()?;
        if version != CATALOGUE_VERSION {
            return Err(Error::UnsupportedVersion { version });
        }
        let reserved = header.u16()?;
        let payload_len = u64::from(header.u32()?);
        let generation = header.u64()?;
        let db_id = DbId(header.take(16)?.try_into().expect("16 bytes"));
        let end = HEADER_BYTES as u64 + payload_len;
        let needed = end + CHECKSUM_BYTES as u64;
        if needed > CATALOGUE_SLOT_BYTES {
            return Err(Error::TooLarge {
                bytes: needed,
                limit: CATALOGUE_SLOT_BYTES,
            });
        }
        if needed > available {
            return Err(Error::Truncated { needed, available });
        }
        let end = end as usize;
        let stored = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes"));
        let computed = crc32c::crc32c(&bytes[..end]);
        if stored != computed {
            return Err(Error::ChecksumMismatch {
                expected: stored,
                actual: computed,
                offset: end as u64,
            });
        }

        let mut r = Reader::new(&bytes[HEADER_BYTES..end]);
        let control_path = r.string()?;
        let area_count = r.u32()?;
        let mut areas = Vec::new();
        for _ in 0..area_count {
            let number = r.u32()?;
            let kind = r.u8()?;
            let name = r.string()?;
            let records_per_block = r.u32()?;
            let blocks_per_cluster = r.u32()?;
            let extent_count = r.u32()?;
            let mut extents = Vec::new();
            for _ in 0..extent_count {
                extents.push(ParsedExtent {
                    number: r.u32()?,
                    fixed: r.u8()?,
                    size_kib: r.u64()?,
                    path: r.string()?,
                });
            }
            areas.push(ParsedArea {
                number,
                kind,
                name,
                records_per_block,
                blocks_per_cluster,
                extents,
            });
        }
        if r.remaining() != 0 {
            return Err(Error::invalid(
                0,
                format!("{} bytes follow the last area", r.remaining()),
            ));
        }
        Ok(ParsedCatalogue {
            reserved,
            generation,
            db_id,
            control_path,
            areas,
        })
    }
}

impl ParsedCatalogue {
    /// Checks every rule a built catalogue keeps and returns it with its database id and
    /// generation: reserved zero, generation > 0, areas in increasing number with the kind,
    /// name and attributes their number implies, control area 1 with the control path as its
    /// one extent, a BI area and a Schema Area with extents, AI areas 1000.. contiguous with
    /// one extent each, extents numbered 1.., only the last extent of a data or BI area
    /// variable, absolute unique paths.
    pub fn validate(self) -> Result<(Catalogue, DbId, u64), Error> {
        if self.reserved != 0 {
            return Err(Error::invalid(
                0,
                format!("reserved header field is {}", self.reserved),
            ));
        }
        if self.generation == 0 {
            return Err(Error::invalid(0, "generation is 0"));
        }
        let control_path = PathBuf::from(&self.control_path);
        if !control_path.is_absolute() || crate::names::db_name(&control_path).is_none() {
            return Err(Error::invalid(
                0,
                format!(
                    "control path {} is not an absolute NAME.db path",
                    self.control_path
                ),
            ));
        }
        let mut paths = HashSet::new();
        let mut names = HashSet::new();
        let mut areas = Vec::with_capacity(self.areas.len());
        let mut previous: Option<u32> = None;
        let mut ai_count = 0u32;
        for parsed in self.areas {
            let n = parsed.number;
            if previous.is_some_and(|p| p >= n) {
                return Err(Error::invalid(
                    n,
                    "areas are not in increasing number order",
                ));
            }
            previous = Some(n);
            let Some(kind) = AreaKind::from_code(parsed.kind) else {
                return Err(Error::invalid(
                    n,
                    format!("unknown area kind {}", parsed.kind),
                ));
            };
            let expected_kind = match n {
                num::CONTROL => Some(AreaKind::Control),
                num::BI => Some(AreaKind::Bi),
                num::SCHEMA | num::FIRST_USER..=num::LAST_USER => Some(AreaKind::Data),
                num::FIRST_AI.. => Some(AreaKind::Ai),
                _ => None,
            };
            if expected_kind != Some(kind) {
                return Err(Error::invalid(
                    n,
                    format!("area kind {} does not fit the number", parsed.kind),
                ));
            }
            let name_ok = match kind {
                AreaKind::Control => parsed.name == CONTROL_AREA_NAME,
                AreaKind::Bi => parsed.name == BI_AREA_NAME,
                AreaKind::Data if n == num::SCHEMA => parsed.name == SCHEMA_AREA_NAME,
                AreaKind::Data => {
                    !parsed.name.is_empty()
                        && parsed.name != SCHEMA_AREA_NAME
                        && parsed.name != CONTROL_AREA_NAME
                        && parsed.name != BI_AREA_NAME
                        && !parsed.name.starts_with(AI_AREA_PREFIX)
                }
                AreaKind::Ai => {
                    ai_count += 1;
                    if n - num::FIRST_AI + 1 != ai_count {
                        return Err(Error::invalid(
                            n,
                            "AI areas are not numbered 1000, 1001, ... without gaps",
                        ));
                    }
                    parsed.name == format!("{AI_AREA_PREFIX}{ai_count}")
                }
            };
            if !name_ok || !names.insert(parsed.name.clone()) {
                return Err(Error::invalid(
                    n,
                    format!("area name \"{}\" is wrong or repeated", parsed.name),
                ));
            }
            let attributes_ok = match kind {
                AreaKind::Control | AreaKind::Data => {
                    valid_records_per_block(parsed.records_per_block)
                        && valid_blocks_per_cluster(parsed.blocks_per_cluster)
                }
                AreaKind::Bi | AreaKind::Ai => {
                    parsed.records_per_block == 0 && parsed.blocks_per_cluster == 0
                }
            };
            if !attributes_ok {
                return Err(Error::invalid(
                    n,
                    format!(
                        "records per block {} or blocks per cluster {} invalid for the area kind",
                        parsed.records_per_block, parsed.blocks_per_cluster
                    ),
                ));
            }
            let extents = validate_extents(n, kind, parsed.extents, &mut paths)?;
            if kind == AreaKind::Control && extents[0].path != control_path {
                return Err(Error::invalid(
                    n,
                    "the control area's extent is not the control path",
                ));
            }
            areas.push(Area {
                number: AreaNo(n),
                kind,
                name: parsed.name,
                records_per_block: parsed.records_per_block,
                blocks_per_cluster: parsed.blocks_per_cluster,
                extents,
            });
        }
        for (number, what) in [
            (num::CONTROL, "control area"),
            (num::BI, "Primary Recovery Area"),
            (num::SCHEMA, "Schema Area"),
        ] {
            if !areas.iter().any(|a| a.number.0 == number) {
                return Err(Error::invalid(number, format!("the {what} is missing")));
            }
        }
        Ok((
            Catalogue {
                control_path,
                areas,
            },
            self.db_id,
            self.generation,
        ))
    }
}

/// Validates one area's extents (see [`ParsedCatalogue::validate`]).
fn validate_extents(
    area: u32,
    kind: AreaKind,
    parsed: Vec<ParsedExtent>,
    paths: &mut HashSet<PathBuf>,
) -> Result<Vec<Extent>, Error> {
    let count_ok = match kind {
        AreaKind::Control | AreaKind::Ai => parsed.len() == 1,
        AreaKind::Bi | AreaKind::Data => !parsed.is_empty(),
    };
    if !count_ok {
        return Err(Error::invalid(
            area,
            format!("{} extents is wrong for the area kind", parsed.len()),
        ));
    }
    let last = parsed.len();
    let mut extents = Vec::with_capacity(last);
    for (i, e) in parsed.into_iter().enumerate() {
        if e.number as usize != i + 1 {
            return Err(Error::invalid(
                area,
                format!("extent {} is stored in position {}", e.number, i + 1),
            ));
        }
        let fixed = match e.fixed {
            0 => false,
            1 => true,
            other => {
                return Err(Error::invalid(
                    area,
                    format!("extent {} has fixed flag {other}", e.number),
                ));
            }
        };
        if fixed && e.size_kib == 0 {
            return Err(Error::invalid(
                area,
                format!("fixed extent {} has size 0", e.number),
            ));
        }
        if kind == AreaKind::Control && (fixed || e.size_kib != 0) {
            return Err(Error::invalid(
                area,
                "the control area's extent must be variable without a maximum",
            ));
        }
        if !fixed && i + 1 != last && matches!(kind, AreaKind::Bi | AreaKind::Data) {
            return Err(Error::invalid(
                area,
                format!("variable extent {} is not the last", e.number),
            ));
        }
        let path = PathBuf::from(&e.path);
        if !path.is_absolute()
            || crate::names::normalise(&path) != path
            || !paths.insert(path.clone())
        {
            return Err(Error::invalid(
                area,
                format!("extent path {} is not absolute or is repeated", e.path),
            ));
        }
        extents.push(Extent {
            number: e.number,
            fixed,
            size_kib: e.size_kib,
            path,
        });
    }
    Ok(extents)
}

/// A bounds-checked little-endian reader over a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.remaining() < n {
            return Err(Error::invalid(
                0,
                format!("the payload ends {} bytes too early", n - self.remaining()),
            ));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, Error> {
        let len = usize::from(self.u16()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::invalid(0, "a stored string is not valid UTF-8"))
    }
}
