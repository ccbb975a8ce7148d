//! Making extent files and control areas: `create_database`, `add_extents` and
//! `copy_database` share these steps.
//!
//! Invariants: an extent file is complete and synced, and its directory synced, before any
//! control area refers to it; a control area appears under its real name only by renaming a
//! complete, synced temporary file, so `db.db` is either absent or whole. A file found at a
//! path about to be created is removed only if it is a leftover of an interrupted create or
//! add: empty, an all-zero header, or a valid extent header for the same kind, area and extent
//! number (and, when adding to an existing database, the same database id). Anything else is
//! refused with `ExtentExists`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use masterblock::{AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq};
use storage::{FileRef, OpenMode, Storage};
use structure::{Area, AreaKind, Extent};

use crate::bi::initial_header_region;
use crate::block::{self, AreaHeader, HEADER_BYTES};
use crate::error::{Error, Result};
use crate::tables::{CATALOGUE_ROOT, SCHEMA_AREA, format_catalogue_root};

/// The extent kind stored in headers for an area kind.
pub(crate) fn extent_kind(kind: AreaKind) -> Option<ExtentKind> {
    match kind {
        AreaKind::Bi => Some(ExtentKind::Bi),
        AreaKind::Data => Some(ExtentKind::Data),
        AreaKind::Ai => Some(ExtentKind::Ai),
        AreaKind::Control => None,
    }
}

/// The header prefix of a new extent.
pub(crate) fn header_for(
    kind: ExtentKind,
    db_id: DbId,
    area: AreaNo,
    ext: &Extent,
    block_size: u32,
    now: i64,
) -> ExtentHeader {
    ExtentHeader {
        kind,
        fixed: ext.fixed,
        block_size,
        db_id,
        area,
        extent_number: ext.number,
        size_kib: if ext.fixed { ext.size_kib } else { 0 },
        created_time: now,
    }
}

/// Removes a leftover file at `path` (see the module rules) or refuses one that is not.
pub(crate) fn clear_leftover(
    storage: &dyn Storage,
    path: &Path,
    expect: (ExtentKind, AreaNo, u32),
    db_id: Option<DbId>,
) -> Result<()> {
    if !storage.exists(path) {
        return Ok(());
    }
    let file = storage
        .open(path, OpenMode::Read)
        .map_err(Error::io("open", path))?;
    let len = file.len().map_err(Error::io("inspect", path))?;
    let mut raw = [0u8; ExtentHeader::ENCODED_LEN];
    let have = len.min(raw.len() as u64) as usize;
    file.read_at(&mut raw[..have], 0)
        .map_err(Error::io("read", path))?;
    let leftover = raw.iter().all(|&b| b == 0)
        || ExtentHeader::decode(&raw)
            .and_then(|p| p.validate())
            .is_ok_and(|h| {
                (h.kind, h.area, h.extent_number) == expect && db_id.is_none_or(|id| id == h.db_id)
            });
    if !leftover {
        return Err(Error::ExtentExists {
            path: path.to_path_buf(),
        });
    }
    storage.remove(path).map_err(Error::io("remove", path))
}

/// The first bytes of a new BI or data extent file: header region, and for the first extent of a data
/// area its area header (and in the Schema Area the table catalogue root).
pub(crate) fn initial_bytes(
    header: &ExtentHeader,
    first_of_area: bool,
    block_size: u32,
    now: i64,
) -> Vec<u8> {
    let bs = block_size as usize;
    match header.kind {
        ExtentKind::Bi => initial_header_region(*header, NoteSeq(1), now),
        ExtentKind::Ai => unreachable!("AI extents are made by aiextent::AiExtentFile::create"),
        ExtentKind::Data => {
            let schema = header.area == SCHEMA_AREA;
            let blocks = if !first_of_area {
                1
            } else if schema {
                3
            } else {
                2
            };
            let mut bytes = vec![0u8; bs * blocks];
            bytes[..64].copy_from_slice(&header.encode());
            if first_of_area {
                let hdr_block = &mut bytes[bs..2 * bs];
                AreaHeader {
                    high_water: if schema { CATALOGUE_ROOT + 1 } else { 1 },
                    free_head: 0,
                }
                .write(&mut hdr_block[HEADER_BYTES..]);
                block::set_counter(hdr_block, 1);
                block::seal(hdr_block, header.area, BlockNo(0));
            }
            if first_of_area && schema {
                let root = &mut bytes[2 * bs..3 * bs];
                format_catalogue_root(&mut root[HEADER_BYTES..]);
                block::set_counter(root, 1);
                block::seal(root, header.area, BlockNo(CATALOGUE_ROOT));
            }
            bytes
        }
    }
}

/// Creates one extent file with `bytes` at its start, preallocated if fixed, synced.
pub(crate) fn write_extent(
    storage: &dyn Storage,
    path: &Path,
    bytes: &[u8],
    fixed_len: Option<u64>,
) -> Result<FileRef> {
    let file = storage
        .open(path, OpenMode::CreateNew)
        .map_err(Error::io("create", path))?;
    if let Some(len) = fixed_len {
        file.set_len(len).map_err(Error::io("preallocate", path))?;
    }
    file.write_at(bytes, 0).map_err(Error::io("write", path))?;
    file.sync().map_err(Error::io("sync", path))?;
    Ok(file)
}

/// Creates the extent `ext` of `area` (a new file, after clearing a leftover).
pub(crate) fn create_extent(
    storage: &dyn Storage,
    area: &Area,
    ext: &Extent,
    db_id: DbId,
    leftover_of: Option<DbId>,
    block_size: u32,
) -> Result<()> {
    let kind = extent_kind(area.kind).expect("the control area has no extent file to create");
    clear_leftover(
        storage,
        &ext.path,
        (kind, area.number, ext.number),
        leftover_of,
    )?;
    if kind == ExtentKind::Ai {
        return create_ai_extent(storage, area, ext, db_id, block_size);
    }
    let now = masterblock::now_micros();
    let header = header_for(kind, db_id, area.number, ext, block_size, now);
    let first = area.extents.first().is_some_and(|e| e.number == ext.number);
    let bytes = initial_bytes(&header, first, block_size, now);
    let fixed_len = ext.fixed.then_some(ext.size_kib * 1024);
    write_extent(storage, &ext.path, &bytes, fixed_len)?;
    Ok(())
}

/// Creates the empty AI extent `ext` of AI area `area` with the extent set's own creation
/// (two-slot header, preallocated if fixed), synced with its directory.
pub(crate) fn create_ai_extent(
    storage: &dyn Storage,
    area: &Area,
    ext: &Extent,
    db_id: DbId,
    block_size: u32,
) -> Result<()> {
    let spec = aiextent::AiExtentSpec {
        ai_number: area.number.0 - masterblock::FIRST_AI_AREA.0 + 1,
        area: area.number,
        path: ext.path.clone(),
        fixed: ext.fixed,
        size_kib: ext.size_kib,
    };
    aiextent::ExtentSet::create_files(
        storage,
        db_id,
        block_size,
        &[spec],
        masterblock::now_micros(),
    )?;
    Ok(())
}

/// Syncs every directory holding one of `paths`.
pub(crate) fn sync_dirs<'a>(
    storage: &dyn Storage,
    paths: impl Iterator<Item = &'a Path>,
) -> Result<()> {
    let dirs: BTreeSet<PathBuf> = paths
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    for dir in dirs {
        storage
            .sync_dir(&dir)
            .map_err(Error::io("sync directory", &dir))?;
    }
    Ok(())
}

/// The temporary name a new control area is written under before its rename.
pub(crate) fn temp_control(ctl: &Path) -> PathBuf {
    let mut name = ctl
        .file_name()
        .expect("control path has a name")
        .to_os_string();
    name.push(".new");
    ctl.with_file_name(name)
}
