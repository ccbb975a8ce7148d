//! Data extents: where block `b` of an area lives (docs/formats/data-block.md) and the checked
//! opening of every data extent file.
//!
//! Invariants: every open extent's header names this database, its area, its extent number and
//! the block size; block `b` of an area maps to exactly one extent at file offset
//! `(1 + b - first) * block_size`; only the last extent of an area is variable and it grows in
//! steps of [`GROW_STEP_BYTES`]; bytes past a file's end read as zeros (never written).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use masterblock::{AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind};
use parking_lot::Mutex;
use storage::{FileRef, OpenMode, Storage};
use structure::{Area, Catalogue};

use crate::error::{Error, Result};

/// A variable extent grows by at least this many bytes at a time.
pub(crate) const GROW_STEP_BYTES: u64 = 1 << 20;

struct DataExtent {
    path: PathBuf,
    file: FileRef,
    /// First block of the area held by this extent.
    first: u64,
    /// Blocks this extent can hold; `None` for a variable extent without a maximum.
    capacity: Option<u64>,
    fixed: bool,
    /// Current file length and whether it was written since the last sync.
    state: Mutex<(u64, bool)>,
}

struct AreaFiles {
    area: AreaNo,
    extents: Vec<DataExtent>,
}

/// Where the blocks of every data area live, detached from [`DataFiles`] so other threads can
/// read blocks (read-ahead) without its locks: reading only, errors ignored.
#[derive(Clone)]
pub(crate) struct BlockMap {
    block_size: u32,
    /// Per area, its extents in order.
    areas: Arc<[(AreaNo, Box<[ExtentSpan]>)]>,
}

/// One extent of a [`BlockMap`].
struct ExtentSpan {
    file: FileRef,
    /// First block of the area held by this extent.
    first: u64,
    /// Blocks this extent can hold; `None` for a variable extent without a maximum.
    capacity: Option<u64>,
}

impl BlockMap {
    /// Reads `block` of `area` into `buf` (one block) and returns whether it was read: false
    /// for a block outside every extent, a block past its file's end, or any I/O error. Only
    /// for warming caches: what it reads is never used.
    pub(crate) fn read(&self, area: AreaNo, block: BlockNo, buf: &mut [u8]) -> bool {
        self.locate(area, block)
            .is_some_and(|(file, offset)| file.read_at(buf, offset).is_ok())
    }

    /// True if every extent's file takes [`StorageFile::prefetch`] hints.
    ///
    /// [`StorageFile::prefetch`]: storage::StorageFile::prefetch
    pub(crate) fn takes_hints(&self) -> bool {
        self.areas
            .iter()
            .flat_map(|(_, extents)| extents.iter())
            .all(|e| e.file.prefetch(0, 0))
    }

    /// Hints that `block` of `area` will be read soon (see
    /// [`StorageFile::prefetch`](storage::StorageFile::prefetch)); false for a block outside
    /// every extent or a hint not taken.
    pub(crate) fn prefetch(&self, area: AreaNo, block: BlockNo) -> bool {
        self.locate(area, block)
            .is_some_and(|(file, offset)| file.prefetch(offset, u64::from(self.block_size)))
    }

    /// Every extent's file.
    pub(crate) fn files(&self) -> impl Iterator<Item = &FileRef> {
        self.areas
            .iter()
            .flat_map(|(_, extents)| extents.iter())
            .map(|e| &e.file)
    }

    /// The file and offset of `block` of `area`, if an extent holds it.
    fn locate(&self, area: AreaNo, block: BlockNo) -> Option<(&FileRef, u64)> {
        let (_, extents) = self.areas.iter().find(|(a, _)| *a == area)?;
        let b = u64::from(block.0);
        let e = extents
            .iter()
            .find(|e| b >= e.first && e.capacity.is_none_or(|c| b < e.first + c))?;
        Some((&e.file, (1 + b - e.first) * u64::from(self.block_size)))
    }
}

/// The data extents of every data area, opened and checked.
pub(crate) struct DataFiles {
    block_size: u32,
    areas: Vec<AreaFiles>,
}

/// Blocks a file of `size_kib` holds after its header block.
pub(crate) fn blocks_in(size_kib: u64, block_size: u32) -> u64 {
    (size_kib * 1024 / u64::from(block_size)).saturating_sub(1)
}

/// Opens `path` for an extent, mapping "not found" to [`Error::ExtentMissing`].
pub(crate) fn open_extent(storage: &dyn Storage, path: &Path, writable: bool) -> Result<FileRef> {
    let mode = if writable {
        OpenMode::ReadWrite
    } else {
        OpenMode::Read
    };
    storage.open(path, mode).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::ExtentMissing {
                path: path.to_path_buf(),
            }
        } else {
            Error::io("open", path)(e)
        }
    })
}

/// Reads and checks the 64-byte header prefix at `offset` of an extent file.
pub(crate) fn check_header(
    file: &FileRef,
    path: &Path,
    offset: u64,
    expect: (ExtentKind, DbId, AreaNo, u32, u32),
) -> Result<ExtentHeader> {
    let (kind, db_id, area, extent_number, block_size) = expect;
    let foreign = |reason: String| Error::ForeignExtent {
        path: path.to_path_buf(),
        expected_db: db_id,
        reason,
    };
    let mut raw = [0u8; ExtentHeader::ENCODED_LEN];
    file.read_at(&mut raw, offset)
        .map_err(|e| foreign(format!("its header cannot be read: {e}")))?;
    let header = ExtentHeader::decode_at(&raw, offset)
        .and_then(|p| p.validate())
        .map_err(|e| foreign(e.to_string()))?;
    header
        .check_identity(db_id, area, extent_number)
        .map_err(|e| foreign(e.to_string()))?;
    if header.kind != kind {
        return Err(foreign(format!(
            "it is a {:?} extent, not a {kind:?} extent",
            header.kind
        )));
    }
    if header.block_size != block_size {
        return Err(foreign(format!(
            "its block size is {}, the database's is {block_size}",
            header.block_size
        )));
    }
    Ok(header)
}

impl DataFiles {
    /// Opens every extent of every data area of `cat` and checks its header.
    pub(crate) fn open(
        storage: &dyn Storage,
        cat: &Catalogue,
        db_id: DbId,
        block_size: u32,
        writable: bool,
    ) -> Result<DataFiles> {
        let mut areas = Vec::new();
        for area in cat.data_areas() {
            areas.push(open_area(storage, area, db_id, block_size, writable)?);
        }
        Ok(DataFiles { block_size, areas })
    }

    /// Where every block lives, for reading from other threads ([`BlockMap`]).
    pub(crate) fn block_map(&self) -> BlockMap {
        let areas: Vec<_> = self
            .areas
            .iter()
            .map(|a| {
                let extents: Box<[_]> = a
                    .extents
                    .iter()
                    .map(|e| ExtentSpan {
                        file: e.file.clone(),
                        first: e.first,
                        capacity: e.capacity,
                    })
                    .collect();
                (a.area, extents)
            })
            .collect();
        BlockMap {
            block_size: self.block_size,
            areas: areas.into(),
        }
    }

    fn area(&self, area: AreaNo) -> Option<&AreaFiles> {
        self.areas.iter().find(|a| a.area == area)
    }

    /// True if `area` is a data area.
    pub(crate) fn has_area(&self, area: AreaNo) -> bool {
        self.area(area).is_some()
    }

    /// Blocks the area can hold; `None` if its last extent grows without a limit.
    pub(crate) fn capacity(&self, area: AreaNo) -> Option<u64> {
        let files = self.area(area)?;
        let mut total = 0;
        for e in &files.extents {
            total += e.capacity?;
        }
        Some(total)
    }

    fn locate(&self, area: AreaNo, block: BlockNo) -> Option<(&DataExtent, u64)> {
        let files = self.area(area)?;
        let b = u64::from(block.0);
        let extent = files
            .extents
            .iter()
            .find(|e| b >= e.first && e.capacity.is_none_or(|c| b < e.first + c))?;
        Some((extent, (1 + b - extent.first) * u64::from(self.block_size)))
    }

    /// The first block after the extent holding `block` (`u64::MAX` for an extent without a
    /// limit, or a block no extent holds): blocks from `block` up to it are adjacent in one
    /// file.
    pub(crate) fn extent_end(&self, area: AreaNo, block: BlockNo) -> u64 {
        let b = u64::from(block.0);
        self.area(area)
            .and_then(|files| {
                files
                    .extents
                    .iter()
                    .find(|e| b >= e.first && e.capacity.is_none_or(|c| b < e.first + c))
            })
            .and_then(|e| e.capacity.map(|c| e.first + c))
            .unwrap_or(u64::MAX)
    }

    /// The path of the extent holding `block`, for messages.
    pub(crate) fn path_of(&self, area: AreaNo, block: BlockNo) -> PathBuf {
        self.locate(area, block)
            .map(|(e, _)| e.path.clone())
            .unwrap_or_default()
    }

    /// Reads a block as stored, without checking it; missing bytes read as zeros.
    /// `Err(AreaFull)` if the area cannot hold the block.
    pub(crate) fn read_raw(&self, area: AreaNo, block: BlockNo, buf: &mut [u8]) -> Result<()> {
        let (extent, offset) = self.locate(area, block).ok_or(Error::AreaFull { area })?;
        let len = extent.state.lock().0;
        let have = usize::try_from(len.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        buf[have..].fill(0);
        if have == 0 {
            return Ok(());
        }
        extent
            .file
            .read_at(&mut buf[..have], offset)
            .map_err(Error::io("read", &extent.path))
    }

    /// Writes a sealed block, growing a variable extent if needed.
    pub(crate) fn write(&self, area: AreaNo, block: BlockNo, buf: &[u8]) -> Result<()> {
        let (extent, offset) = self.locate(area, block).ok_or(Error::AreaFull { area })?;
        let end = offset + buf.len() as u64;
        let mut state = extent.state.lock();
        if end > state.0 && !extent.fixed {
            let mut target = end.max(state.0 + GROW_STEP_BYTES);
            if let Some(c) = extent.capacity {
                target = target.min((c + 1) * u64::from(self.block_size));
            }
            extent
                .file
                .set_len(target)
                .map_err(Error::io("extend", &extent.path))?;
            state.0 = target;
        }
        state.1 = true;
        extent
            .file
            .write_at(buf, offset)
            .map_err(Error::io("write", &extent.path))?;
        state.0 = state.0.max(end);
        Ok(())
    }

    /// Has the file system start writing `len_bytes` written at `block` of `area` to the
    /// device (see [`storage::StorageFile::start_writeback`]), so the next sync finds less to
    /// do. A hint: nothing is made durable, and a block outside every extent is passed by.
    pub(crate) fn start_writeback(&self, area: AreaNo, block: BlockNo, len_bytes: u64) {
        if let Some((extent, offset)) = self.locate(area, block) {
            extent.file.start_writeback(offset, len_bytes);
        }
    }

    /// Syncs every extent written since its last sync.
    pub(crate) fn sync(&self) -> Result<()> {
        for files in &self.areas {
            for e in &files.extents {
                let mut state = e.state.lock();
                if state.1 {
                    e.file.sync().map_err(Error::io("sync", &e.path))?;
                    state.1 = false;
                }
            }
        }
        Ok(())
    }
}

fn open_area(
    storage: &dyn Storage,
    area: &Area,
    db_id: DbId,
    block_size: u32,
    writable: bool,
) -> Result<AreaFiles> {
    let mut extents = Vec::new();
    let mut first = 0u64;
    for (i, ext) in area.extents.iter().enumerate() {
        let file = open_extent(storage, &ext.path, writable)?;
        check_header(
            &file,
            &ext.path,
            0,
            (ExtentKind::Data, db_id, area.number, ext.number, block_size),
        )?;
        let len = file.len().map_err(Error::io("inspect", &ext.path))?;
        let capacity = (ext.fixed || ext.size_kib > 0).then(|| blocks_in(ext.size_kib, block_size));
        assert!(
            capacity.is_some() || i + 1 == area.extents.len(),
            "the catalogue keeps a variable extent last"
        );
        extents.push(DataExtent {
            path: ext.path.clone(),
            file,
            first,
            capacity,
            fixed: ext.fixed,
            state: Mutex::new((len, false)),
        });
        first += capacity.unwrap_or(0);
    }
    Ok(AreaFiles {
        area: area.number,
        extents,
    })
}
