//! The bytes of a backup file (docs/formats/backup.md, version 1): the header, the block records
//! and the trailer. Decoding yields parsed values; [`ParsedHeader::validate`] checks every rule
//! of the format before a [`BackupHeader`] exists.
//!
//! Invariant: [`BackupHeader::encode`] writes exactly the documented layout, and every header it
//! encodes validates when decoded.

use std::path::Path;

use masterblock::{AiSeq, AreaNo, BlockNo, DbId, DbState, MasterBlock, NoteSeq};
use structure::{AreaKind, Catalogue};

use crate::blocks;
use crate::error::{Error, Result};

/// Magic at the start of a backup file.
pub const BACKUP_MAGIC: [u8; 8] = *b"AIMGBKUP";
/// Magic at the start of the trailer.
pub const TRAILER_MAGIC: [u8; 8] = *b"AIMGBKEN";
/// The backup format version this crate reads and writes.
pub const BACKUP_FORMAT_VERSION: u16 = 1;
/// Bytes of the fixed part of the header.
pub const FIXED_HEADER_BYTES: usize = 128;
/// Bytes of the master block image in the header.
pub const MASTER_IMAGE_BYTES: usize = 512;
/// Bytes of the trailer.
pub const TRAILER_BYTES: usize = 64;
/// Bytes of a record besides the block: area, block number, CRC.
pub const RECORD_OVERHEAD_BYTES: usize = 12;
/// Most entries an area table can have (Schema Area and areas 7..=999).
pub const MAX_AREAS: u32 = 994;
/// Most bytes an encoded catalogue can have (one catalogue slot).
pub const MAX_CATALOGUE_BYTES: u32 = 65536;
/// Fewest bytes an encoded catalogue can have (its header and checksum).
const MIN_CATALOGUE_BYTES: u32 = 44;

/// A full or an incremental backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackupKind {
    /// Every written block of every data area (on-disk code 1).
    Full,
    /// The blocks changed since the previous backup, plus every area header (code 2).
    Incremental,
}

impl BackupKind {
    /// The on-disk code.
    pub fn code(self) -> u8 {
        match self {
            BackupKind::Full => 1,
            BackupKind::Incremental => 2,
        }
    }

    /// The kind with on-disk `code`, if any.
    pub fn from_code(code: u8) -> Option<BackupKind> {
        match code {
            1 => Some(BackupKind::Full),
            2 => Some(BackupKind::Incremental),
            _ => None,
        }
    }

    /// "full" or "incremental".
    pub fn name(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
        }
    }
}

/// One entry of the area table: a data area and its high water at the backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AreaMark {
    /// The data area.
    pub area: AreaNo,
    /// First block never allocated in the area: blocks `0..high_water` may be in the backup.
    pub high_water: u32,
}

/// A validated backup header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupHeader {
    /// Full or incremental.
    pub kind: BackupKind,
    /// The record stream is one zstd frame.
    pub compressed: bool,
    /// Database block size in bytes.
    pub block_size: u32,
    /// Identity of the backed-up database.
    pub db_id: DbId,
    /// The database's backup counter after this backup.
    pub backup_counter: u64,
    /// Incremental: the counter of the backup it applies onto; full: 0.
    pub base_backup_counter: u64,
    /// When the backup was taken, µs since the epoch.
    pub backup_time_micros: i64,
    /// Incremental: blocks whose last note is at least this were taken; full: 0.
    pub since_note_seq: NoteSeq,
    /// The database's next note sequence at the backup.
    pub next_note_seq: NoteSeq,
    /// The AI sequence that became busy at the backup's switch; 0 if after-imaging was off.
    pub ai_seq_switched: AiSeq,
    /// The master block the restored database gets.
    pub master: MasterBlock,
    /// Every data area with its high water, by increasing number.
    pub areas: Vec<AreaMark>,
    /// The backed-up database's areas and extents.
    pub catalogue: Catalogue,
}

fn put_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl BackupHeader {
    /// The header's bytes, header CRC included.
    pub fn encode(&self) -> Vec<u8> {
        let cat = self
            .catalogue
            .encode(self.db_id, 1)
            .expect("a catalogue read from a control area fits its slot");
        let mut out = vec![0u8; FIXED_HEADER_BYTES];
        out[0..8].copy_from_slice(&BACKUP_MAGIC);
        put_u16(&mut out, 8, BACKUP_FORMAT_VERSION);
        out[10] = self.kind.code();
        out[11] = u8::from(self.compressed);
        put_u32(&mut out, 12, self.block_size);
        out[16..32].copy_from_slice(&self.db_id.0);
        put_u64(&mut out, 32, self.backup_counter);
        put_u64(&mut out, 40, self.base_backup_counter);
        put_u64(&mut out, 48, self.backup_time_micros as u64);
        put_u64(&mut out, 56, self.since_note_seq.0);
        put_u64(&mut out, 64, self.next_note_seq.0);
        put_u32(&mut out, 72, self.areas.len() as u32);
        put_u32(&mut out, 76, cat.len() as u32);
        put_u64(&mut out, 80, self.ai_seq_switched.0);
        out.extend_from_slice(&self.master.encode());
        for mark in &self.areas {
            out.extend_from_slice(&mark.area.0.to_le_bytes());
            out.extend_from_slice(&mark.high_water.to_le_bytes());
        }
        out.extend_from_slice(&cat);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Bytes of a record of this backup.
    pub fn record_bytes(&self) -> usize {
        RECORD_OVERHEAD_BYTES + self.block_size as usize
    }

    /// The high water of `area` in the area table.
    pub fn high_water(&self, area: AreaNo) -> Option<u32> {
        self.areas
            .iter()
            .find(|m| m.area == area)
            .map(|m| m.high_water)
    }
}

/// The lengths the fixed part of a header announces, to read the rest of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderLengths {
    /// Entries in the area table.
    pub area_count: u32,
    /// Bytes of the encoded catalogue.
    pub catalogue_len: u32,
}

impl HeaderLengths {
    /// Checks the fixed part's magic, version and counts; `file` names errors.
    pub fn decode(fixed: &[u8; FIXED_HEADER_BYTES], file: &Path) -> Result<HeaderLengths> {
        if fixed[0..8] != BACKUP_MAGIC {
            return Err(Error::BadMagic {
                path: file.to_path_buf(),
                what: "backup header",
                offset: 0,
            });
        }
        let version = u16_at(fixed, 8);
        if version != BACKUP_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                path: file.to_path_buf(),
                offset: 8,
                version,
            });
        }
        let area_count = u32_at(fixed, 72);
        let catalogue_len = u32_at(fixed, 76);
        let corrupt = |offset: u64, detail: String| Error::Corrupt {
            path: file.to_path_buf(),
            offset,
            detail,
        };
        if area_count == 0 || area_count > MAX_AREAS {
            return Err(corrupt(72, format!("area count {area_count} out of range")));
        }
        if !(MIN_CATALOGUE_BYTES..=MAX_CATALOGUE_BYTES).contains(&catalogue_len) {
            return Err(corrupt(
                76,
                format!("catalogue length {catalogue_len} out of range"),
            ));
        }
        Ok(HeaderLengths {
            area_count,
            catalogue_len,
        })
    }

    /// Bytes of the whole header, CRC included.
    pub fn header_len(&self) -> u64 {
        (FIXED_HEADER_BYTES + MASTER_IMAGE_BYTES) as u64
            + 8 * u64::from(self.area_count)
            + u64::from(self.catalogue_len)
            + 4
    }
}

/// A header as read, CRC checked, fields not yet trusted.
#[derive(Clone, Debug)]
pub struct ParsedHeader {
    bytes: Vec<u8>,
    lengths: HeaderLengths,
}

impl ParsedHeader {
    /// Checks the header CRC of `bytes` (the whole header, `lengths.header_len()` bytes).
    pub fn decode(bytes: Vec<u8>, lengths: HeaderLengths, file: &Path) -> Result<ParsedHeader> {
        assert_eq!(bytes.len() as u64, lengths.header_len());
        let end = bytes.len() - 4;
        let expected = u32_at(&bytes, end);
        let actual = crc32c::crc32c(&bytes[..end]);
        if expected != actual {
            return Err(Error::ChecksumMismatch {
                path: file.to_path_buf(),
                what: "the header",
                offset: end as u64,
                expected,
                actual,
            });
        }
        Ok(ParsedHeader { bytes, lengths })
    }

    /// Checks every field (docs/formats/backup.md, "Reading") and returns the trusted header.
    pub fn validate(self, file: &Path) -> Result<BackupHeader> {
        let b = &self.bytes;
        let corrupt = |offset: usize, detail: String| Error::Corrupt {
            path: file.to_path_buf(),
            offset: offset as u64,
            detail,
        };
        let kind = BackupKind::from_code(b[10])
            .ok_or_else(|| corrupt(10, format!("unknown backup kind {}", b[10])))?;
        let compressed = match b[11] {
            0 => false,
            1 => true,
            other => return Err(corrupt(11, format!("unknown compression {other}"))),
        };
        let block_size = u32_at(b, 12);
        if !masterblock::valid_block_size(block_size) {
            return Err(corrupt(
                12,
                format!("block size {block_size} not supported"),
            ));
        }
        let db_id = DbId(b[16..32].try_into().expect("16 bytes"));
        let backup_counter = u64_at(b, 32);
        let base_backup_counter = u64_at(b, 40);
        let since_note_seq = NoteSeq(u64_at(b, 56));
        let expected_base = match kind {
            BackupKind::Full => 0,
            BackupKind::Incremental => backup_counter.wrapping_sub(1),
        };
        if backup_counter == 0 || base_backup_counter != expected_base {
            return Err(corrupt(
                32,
                format!(
                    "backup counter {backup_counter} with base {base_backup_counter} for a {} backup",
                    kind.name()
                ),
            ));
        }
        if kind == BackupKind::Full && since_note_seq.0 != 0 {
            return Err(corrupt(
                56,
                "a full backup with a note sequence limit".into(),
            ));
        }
        if b[88..FIXED_HEADER_BYTES].iter().any(|&x| x != 0) {
            return Err(corrupt(88, "reserved bytes are not zero".into()));
        }
        let mb_at = FIXED_HEADER_BYTES;
        let master = MasterBlock::decode_at(&b[mb_at..mb_at + MASTER_IMAGE_BYTES], mb_at as u64)
            .and_then(|p| p.validate())
            .map_err(|e| corrupt(mb_at, format!("the master block image is invalid: {e}")))?;
        let next_note_seq = NoteSeq(u64_at(b, 64));
        if master.db_id != db_id
            || master.block_size != block_size
            || master.backup_counter != backup_counter
            || master.next_note_seq != next_note_seq
            || master.note_seq_at_backup != next_note_seq
            || master.state != DbState::Clean
            || master.ai_enabled
        {
            return Err(corrupt(
                mb_at,
                "the master block image does not match the header (identity, block size, counters) or is not clean with after-imaging off".into(),
            ));
        }
        let table_at = mb_at + MASTER_IMAGE_BYTES;
        let mut areas: Vec<AreaMark> = Vec::new();
        for i in 0..self.lengths.area_count as usize {
            let at = table_at + 8 * i;
            let mark = AreaMark {
                area: AreaNo(u32_at(b, at)),
                high_water: u32_at(b, at + 4),
            };
            if areas.last().is_some_and(|m| m.area >= mark.area) || mark.high_water == 0 {
                return Err(corrupt(
                    at,
                    format!(
                        "area table entry {i} (area {}, high water {}) is out of order or empty",
                        mark.area, mark.high_water
                    ),
                ));
            }
            areas.push(mark);
        }
        let cat_at = table_at + 8 * self.lengths.area_count as usize;
        let cat_end = cat_at + self.lengths.catalogue_len as usize;
        let (catalogue, cat_id, _) = Catalogue::decode(&b[cat_at..cat_end])
            .and_then(|p| p.validate())
            .map_err(|e| corrupt(cat_at, format!("the catalogue is invalid: {e}")))?;
        if cat_id != db_id {
            return Err(corrupt(
                cat_at,
                "the catalogue names another database".into(),
            ));
        }
        let data: Vec<AreaNo> = catalogue
            .areas
            .iter()
            .filter(|a| a.kind == AreaKind::Data)
            .map(|a| a.number)
            .collect();
        let table: Vec<AreaNo> = areas.iter().map(|m| m.area).collect();
        if data != table {
            return Err(corrupt(
                table_at,
                "the area table does not list exactly the catalogue's data areas".into(),
            ));
        }
        Ok(BackupHeader {
            kind,
            compressed,
            block_size,
            db_id,
            backup_counter,
            base_backup_counter,
            backup_time_micros: u64_at(b, 48) as i64,
            since_note_seq,
            next_note_seq,
            ai_seq_switched: AiSeq(u64_at(b, 80)),
            master,
            areas,
            catalogue,
        })
    }
}

/// The trailer's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Records in the stream.
    pub record_count: u64,
    /// Bytes of the stream as stored.
    pub stream_bytes: u64,
    /// Bytes of the records before compression.
    pub raw_stream_bytes: u64,
    /// CRC-32C of the stored stream.
    pub stream_crc: u32,
    /// CRC-32C of every byte of the file before this field.
    pub file_crc: u32,
}

impl Trailer {
    /// The trailer's bytes; `crc_before` is the running CRC-32C of the file up to the trailer.
    pub fn encode(
        record_count: u64,
        stream_bytes: u64,
        raw_stream_bytes: u64,
        stream_crc: u32,
        crc_before: u32,
    ) -> [u8; TRAILER_BYTES] {
        let mut out = [0u8; TRAILER_BYTES];
        out[0..8].copy_from_slice(&TRAILER_MAGIC);
        put_u64(&mut out, 8, record_count);
        put_u64(&mut out, 16, stream_bytes);
        put_u64(&mut out, 24, raw_stream_bytes);
        put_u32(&mut out, 32, stream_crc);
        let crc = crc32c::crc32c_append(crc_before, &out[..60]);
        put_u32(&mut out, 60, crc);
        out
    }

    /// Parses trailer bytes read at `offset`: only the magic and reserved bytes are checked
    /// here; the counts and CRCs are compared with what the reader finds.
    pub fn decode(b: &[u8; TRAILER_BYTES], offset: u64, file: &Path) -> Result<Trailer> {
        if b[0..8] != TRAILER_MAGIC {
            return Err(Error::BadMagic {
                path: file.to_path_buf(),
                what: "backup trailer",
                offset,
            });
        }
        if b[36..60].iter().any(|&x| x != 0) {
            return Err(Error::Corrupt {
                path: file.to_path_buf(),
                offset: offset + 36,
                detail: "trailer reserved bytes are not zero".into(),
            });
        }
        Ok(Trailer {
            record_count: u64_at(b, 8),
            stream_bytes: u64_at(b, 16),
            raw_stream_bytes: u64_at(b, 24),
            stream_crc: u32_at(b, 32),
            file_crc: u32_at(b, 60),
        })
    }
}

/// Appends the record of `block` (area `area`, number `no`) to `out`.
pub fn encode_record(out: &mut Vec<u8>, area: AreaNo, no: BlockNo, block: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&area.0.to_le_bytes());
    out.extend_from_slice(&no.0.to_le_bytes());
    out.extend_from_slice(block);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Checks a record's CRC and block (not its place in the stream); returns area and block.
/// `offset` names errors: the record's offset in the file, or the file offset a compressed
/// reader had reached.
pub fn check_record(record: &[u8], offset: u64, file: &Path) -> Result<(AreaNo, BlockNo)> {
    let end = record.len() - 4;
    let expected = u32_at(record, end);
    let actual = crc32c::crc32c(&record[..end]);
    if expected != actual {
        return Err(Error::ChecksumMismatch {
            path: file.to_path_buf(),
            what: "a block record",
            offset,
            expected,
            actual,
        });
    }
    let area = AreaNo(u32_at(record, 0));
    let no = BlockNo(u32_at(record, 4));
    blocks::verify(&record[8..end], area, no).map_err(|reason| Error::Corrupt {
        path: file.to_path_buf(),
        offset,
        detail: format!("the record of block {no} of area {area} holds a bad block: {reason}"),
    })?;
    Ok((area, no))
}
