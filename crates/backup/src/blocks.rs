//! Data blocks as stored in a database's data extents (docs/formats/data-block.md): where block
//! `b` of an area lives, reading and writing it, and the checks a block passes before it is
//! copied into or out of a backup.
//!
//! Invariants: block `b` of an area is in extent `i` with `first_i <= b < first_i + capacity_i`
//! at offset `(1 + b - first_i) * block_size` (the first block of a file is its header); bytes
//! past a file's end read as zeros; a block accepted by [`verify`] is not all zeros, carries its
//! own checksum and names its own area and number.

use std::path::{Path, PathBuf};

use masterblock::{AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind};
use storage::{FileRef, OpenMode, Storage};
use structure::Area;

use crate::error::{Error, Result};
use crate::format::{u16_at, u32_at, u64_at};

/// Bytes of a data block's header before its body.
pub const BLOCK_HEADER_BYTES: usize = 32;
/// The data block format version.
const BLOCK_FORMAT_VERSION: u16 = 1;
/// Kind byte of an area header body (block 0).
const AREA_HEADER_KIND: u8 = 1;

/// True if the block was never written.
pub fn is_zero(block: &[u8]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// The note that last changed the block (header bytes 24..32).
pub fn last_note_seq(block: &[u8]) -> u64 {
    u64_at(block, 24)
}

/// The high water of an area header block (block 0), or `None` if it is not one.
pub fn area_high_water(block: &[u8]) -> Option<u32> {
    let body = &block[BLOCK_HEADER_BYTES..];
    (body[0] == AREA_HEADER_KIND).then(|| u32_at(body, 4))
}

/// Checks a stored block: not all zeros, checksum, version, and that it names `area` and `no`.
pub fn verify(block: &[u8], area: AreaNo, no: BlockNo) -> Result<(), String> {
    if is_zero(block) {
        return Err("it is all zeros".into());
    }
    let stored = u32_at(block, 0);
    let actual = crc32c::crc32c(&block[4..]);
    if stored != actual {
        return Err(format!(
            "checksum {stored:#010x} stored, {actual:#010x} computed"
        ));
    }
    let version = u16_at(block, 4);
    if version != BLOCK_FORMAT_VERSION {
        return Err(format!("unknown block format version {version}"));
    }
    let (named_area, named_block) = (u32_at(block, 16), u32_at(block, 20));
    if named_area != area.0 || named_block != no.0 {
        return Err(format!(
            "it names itself block {named_block} of area {named_area}"
        ));
    }
    Ok(())
}

/// One extent of a data area and the blocks it holds.
#[derive(Clone, Debug)]
pub struct ExtentSpan {
    /// The extent file.
    pub path: PathBuf,
    /// Extent number within the area, from 1.
    pub number: u32,
    /// Fixed (preallocated) extent.
    pub fixed: bool,
    /// Fixed size, or maximum of a variable extent, in KiB (0: none).
    pub size_kib: u64,
    /// First block of the area held here.
    pub first: u64,
    /// Blocks the extent can hold; `None` for a variable extent without a maximum.
    pub capacity: Option<u64>,
}

/// Where the blocks of one data area live.
#[derive(Clone, Debug)]
pub struct AreaLayout {
    /// The area.
    pub area: AreaNo,
    /// Its name.
    pub name: String,
    /// Its extents in order.
    pub extents: Vec<ExtentSpan>,
    /// Database block size.
    pub block_size: u32,
}

impl AreaLayout {
    /// The layout of a data area of a catalogue.
    pub fn new(area: &Area, block_size: u32) -> AreaLayout {
        let mut first = 0u64;
        let mut extents = Vec::new();
        for ext in &area.extents {
            let capacity = (ext.fixed || ext.size_kib > 0)
                .then(|| (ext.size_kib * 1024 / u64::from(block_size)).saturating_sub(1));
            extents.push(ExtentSpan {
                path: ext.path.clone(),
                number: ext.number,
                fixed: ext.fixed,
                size_kib: ext.size_kib,
                first,
                capacity,
            });
            first += capacity.unwrap_or(0);
        }
        AreaLayout {
            area: area.number,
            name: area.name.clone(),
            extents,
            block_size,
        }
    }

    /// Blocks the area can hold; `None` if its last extent grows without a limit.
    pub fn capacity(&self) -> Option<u64> {
        self.extents.iter().map(|e| e.capacity).sum()
    }

    /// The extent index and file offset of `block`, or `None` past the area's capacity.
    pub fn locate(&self, block: u64) -> Option<(usize, u64)> {
        let i = self
            .extents
            .iter()
            .position(|e| block >= e.first && e.capacity.is_none_or(|c| block < e.first + c))?;
        let e = &self.extents[i];
        Some((i, (1 + block - e.first) * u64::from(self.block_size)))
    }

    /// The header prefix an extent of this area has in database `db_id`; `created_time`
    /// comes from `old` when given.
    pub fn header_for(&self, i: usize, db_id: DbId, old: Option<&ExtentHeader>) -> ExtentHeader {
        let e = &self.extents[i];
        ExtentHeader {
            kind: ExtentKind::Data,
            fixed: e.fixed,
            block_size: self.block_size,
            db_id,
            area: self.area,
            extent_number: e.number,
            size_kib: if e.fixed { e.size_kib } else { 0 },
            created_time: old.map_or_else(masterblock::now_micros, |h| h.created_time),
        }
    }
}

/// Reads the header prefix at the start of an extent file, if it validates.
pub fn read_prefix(file: &FileRef) -> Option<ExtentHeader> {
    let mut raw = [0u8; ExtentHeader::ENCODED_LEN];
    file.read_at(&mut raw, 0).ok()?;
    ExtentHeader::decode(&raw).ok()?.validate().ok()
}

/// Checks that an extent's header names database `db_id`, `kind`, `area`, extent `number`
/// and `block_size`.
pub fn check_prefix(
    file: &FileRef,
    path: &Path,
    expect: (ExtentKind, DbId, AreaNo, u32, u32),
) -> Result<ExtentHeader> {
    let (kind, db_id, area, number, block_size) = expect;
    let foreign = |reason: String| Error::ForeignExtent {
        path: path.to_path_buf(),
        reason,
    };
    let mut raw = [0u8; ExtentHeader::ENCODED_LEN];
    file.read_at(&mut raw, 0)
        .map_err(|e| foreign(format!("its header cannot be read: {e}")))?;
    let header = ExtentHeader::decode(&raw)
        .and_then(|p| p.validate())
        .map_err(|e| foreign(e.to_string()))?;
    header
        .check_identity(db_id, area, number)
        .map_err(|e| foreign(e.to_string()))?;
    if header.kind != kind || header.block_size != block_size {
        return Err(foreign(format!(
            "it is a {:?} extent with block size {}, not a {kind:?} extent with block size {block_size}",
            header.kind, header.block_size
        )));
    }
    Ok(header)
}

/// The open extent files of one data area.
pub struct AreaFiles {
    /// Where the blocks live.
    pub layout: AreaLayout,
    files: Vec<FileRef>,
    lens: Vec<u64>,
    written: Vec<bool>,
}

impl AreaFiles {
    /// Opens every extent of `layout` (read-only unless `writable`).
    pub fn open(storage: &dyn Storage, layout: AreaLayout, writable: bool) -> Result<AreaFiles> {
        let mode = if writable {
            OpenMode::ReadWrite
        } else {
            OpenMode::Read
        };
        let mut files = Vec::new();
        let mut lens = Vec::new();
        for e in &layout.extents {
            let file = storage
                .open(&e.path, mode)
                .map_err(Error::io("open", &e.path))?;
            lens.push(file.len().map_err(Error::io("inspect", &e.path))?);
            files.push(file);
        }
        let written = vec![false; files.len()];
        Ok(AreaFiles {
            layout,
            files,
            lens,
            written,
        })
    }

    /// Checks every extent's header against database `db_id`.
    pub fn check_headers(&self, db_id: DbId) -> Result<()> {
        let l = &self.layout;
        for (e, file) in l.extents.iter().zip(&self.files) {
            check_prefix(
                file,
                &e.path,
                (ExtentKind::Data, db_id, l.area, e.number, l.block_size),
            )?;
        }
        Ok(())
    }

    /// The open file of extent `i`.
    pub fn file(&self, i: usize) -> &FileRef {
        &self.files[i]
    }

    /// The length of extent `i`'s file as last seen or written.
    pub fn len_of(&self, i: usize) -> u64 {
        self.lens[i]
    }

    /// Reads block `no` into `buf`; bytes past the file's end (or past the area) read as zeros.
    pub fn read_block(&self, no: u64, buf: &mut [u8]) -> Result<()> {
        buf.fill(0);
        let Some((i, offset)) = self.layout.locate(no) else {
            return Ok(());
        };
        let len = self.lens[i];
        if offset >= len {
            return Ok(());
        }
        let have = usize::try_from(len - offset)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let path = &self.layout.extents[i].path;
        self.files[i]
            .read_at(&mut buf[..have], offset)
            .map_err(Error::io("read", path))
    }

    /// Writes `bytes` (whole blocks) starting at block `no`, all in one extent.
    pub fn write_blocks(&mut self, no: u64, bytes: &[u8]) -> Result<()> {
        let (i, offset) = self
            .layout
            .locate(no)
            .expect("the caller checked the area's capacity");
        let path = &self.layout.extents[i].path;
        self.files[i]
            .write_at(bytes, offset)
            .map_err(Error::io("write", path))?;
        self.lens[i] = self.lens[i].max(offset + bytes.len() as u64);
        self.written[i] = true;
        Ok(())
    }

    /// Writes the 64-byte header prefix of extent `i`.
    pub fn write_prefix(&mut self, i: usize, prefix: &ExtentHeader) -> Result<()> {
        let path = &self.layout.extents[i].path;
        self.files[i]
            .write_at(&prefix.encode(), 0)
            .map_err(Error::io("write the header of", path))?;
        self.lens[i] = self.lens[i].max(ExtentHeader::ENCODED_LEN as u64);
        self.written[i] = true;
        Ok(())
    }

    /// Syncs every extent written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        for (i, written) in self.written.iter_mut().enumerate() {
            if *written {
                let path = &self.layout.extents[i].path;
                self.files[i].sync().map_err(Error::io("sync", path))?;
                *written = false;
            }
        }
        Ok(())
    }
}
