//! The target of a restore: the checks that refuse it before anything is written, and the
//! rewrite of its BI and AI extents for the restored identity (docs/formats/backup.md,
//! "Restoring").
//!
//! Invariants: [`check_target`] reads only; each rewrite here is complete on its own (it does
//! not depend on what the file held before), so repeating it after a crash gives the same
//! result.

use std::path::Path;

use aiextent::{AI_HEADER_REGION_BYTES, AiHeader};
use engine::DbPath;
use masterblock::{AreaNo, DbId, DbState, ExtentHeader, ExtentKind, MasterBlock};
use storage::{FileRef, OpenMode, Storage};
use structure::{AreaKind, Catalogue, Extent};

use crate::blocks::{AreaLayout, read_prefix};
use crate::error::{Error, Result};
use crate::format::{BackupHeader, BackupKind, u32_at, u64_at};

/// Bytes of the BI header region.
const BI_HEADER_BYTES: u64 = 4096;
/// Bytes of one BI header slot.
const BI_SLOT_BYTES: usize = 128;
/// Offsets of the two BI header slots.
const BI_SLOT_OFFSETS: [usize; 2] = [0, 512];
/// Offset of the BI slot checksum.
const BI_CHECKSUM_AT: usize = 124;

/// Refuses a restore of `h` into the target whose master block is `mb` and catalogue `cat`.
pub fn check_target(
    h: &BackupHeader,
    mb: &MasterBlock,
    cat: &Catalogue,
    db: &DbPath,
) -> Result<()> {
    if mb.block_size != h.block_size {
        return Err(Error::BlockSizeMismatch {
            backup: h.block_size,
            target: mb.block_size,
        });
    }
    for mark in &h.areas {
        let name = h
            .catalogue
            .area(mark.area)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let Some(area) = cat
            .area(mark.area)
            .filter(|a| a.kind == AreaKind::Data && a.name == name)
        else {
            return Err(Error::AreaMissing {
                area: mark.area,
                name,
            });
        };
        let layout = AreaLayout::new(area, mb.block_size);
        if let Some(capacity) = layout.capacity()
            && capacity < u64::from(mark.high_water)
        {
            return Err(Error::ExtentTooSmall {
                area: mark.area,
                needed_blocks: u64::from(mark.high_water),
                capacity_blocks: capacity,
            });
        }
    }
    match mb.state {
        DbState::Clean | DbState::Restoring => {}
        state => {
            return Err(Error::TargetNotClean {
                db: db.to_string(),
                state,
            });
        }
    }
    if h.kind == BackupKind::Incremental {
        if mb.db_id != h.db_id {
            return Err(Error::IdentityMismatch {
                backup: h.db_id,
                target: mb.db_id,
            });
        }
        if mb.state == DbState::Restoring {
            if mb.backup_counter != h.backup_counter {
                return Err(Error::RestoreInProgress {
                    db: db.to_string(),
                    in_progress: mb.backup_counter,
                    given: h.backup_counter,
                });
            }
        } else if mb.backup_counter != h.base_backup_counter {
            return Err(Error::CounterMismatch {
                base: h.base_backup_counter,
                target: mb.backup_counter,
            });
        }
    }
    Ok(())
}

fn open_rw(storage: &dyn Storage, path: &Path) -> Result<FileRef> {
    storage.open(path, OpenMode::ReadWrite).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Engine(engine::Error::ExtentMissing {
                path: path.to_path_buf(),
            })
        } else {
            Error::io("open", path)(e)
        }
    })
}

/// The common prefix of extent `ext` of `area` for database `db_id`.
fn prefix(
    kind: ExtentKind,
    area: AreaNo,
    ext: &Extent,
    block_size: u32,
    db_id: DbId,
    created_time: i64,
) -> ExtentHeader {
    ExtentHeader {
        kind,
        fixed: ext.fixed,
        block_size,
        db_id,
        area,
        extent_number: ext.number,
        size_kib: if ext.fixed { ext.size_kib } else { 0 },
        created_time,
    }
}

/// Rewrites every BI extent as an empty log of database `db_id` whose first note is the
/// image's `next_note_seq`: truncated to its header region, then a new header in slot 0 with
/// a generation above any the file held.
pub fn rewrite_bi(storage: &dyn Storage, cat: &Catalogue, image: &MasterBlock) -> Result<()> {
    let bi = cat.bi_area();
    for ext in &bi.extents {
        let path = &ext.path;
        let file = open_rw(storage, path)?;
        let len = file.len().map_err(Error::io("inspect", path))?;
        let mut region = vec![0u8; BI_HEADER_BYTES as usize];
        let have = len.min(BI_HEADER_BYTES) as usize;
        file.read_at(&mut region[..have], 0)
            .map_err(Error::io("read", path))?;
        let mut generation = 0u64;
        let mut created = None;
        for at in BI_SLOT_OFFSETS {
            let slot = &region[at..at + BI_SLOT_BYTES];
            if u32_at(slot, BI_CHECKSUM_AT) == crc32c::crc32c(&slot[..BI_CHECKSUM_AT]) {
                let g = u64_at(slot, 64);
                if g >= generation {
                    generation = g;
                    created = ExtentHeader::decode(&slot[..64])
                        .ok()
                        .and_then(|p| p.validate().ok())
                        .map(|h| h.created_time);
                }
            }
        }
        let header = prefix(
            ExtentKind::Bi,
            bi.number,
            ext,
            image.block_size,
            image.db_id,
            created.unwrap_or_else(masterblock::now_micros),
        );
        let mut slot = [0u8; BI_SLOT_BYTES];
        slot[..64].copy_from_slice(&header.encode());
        slot[64..72].copy_from_slice(&(generation + 1).to_le_bytes());
        slot[72..80].copy_from_slice(&image.next_note_seq.0.to_le_bytes());
        slot[80..88].copy_from_slice(&masterblock::now_micros().to_le_bytes());
        let crc = crc32c::crc32c(&slot[..BI_CHECKSUM_AT]);
        slot[BI_CHECKSUM_AT..].copy_from_slice(&crc.to_le_bytes());
        let mut new_region = vec![0u8; BI_HEADER_BYTES as usize];
        new_region[..BI_SLOT_BYTES].copy_from_slice(&slot);
        file.set_len(BI_HEADER_BYTES)
            .map_err(Error::io("truncate", path))?;
        file.sync().map_err(Error::io("sync", path))?;
        file.write_at(&new_region, 0)
            .map_err(Error::io("write the header of", path))?;
        file.sync().map_err(Error::io("sync", path))?;
    }
    Ok(())
}

/// Rewrites every AI extent as an Empty extent of database `db_id` (generation 1), a
/// variable one truncated to its header region.
pub fn rewrite_ai(
    storage: &dyn Storage,
    cat: &Catalogue,
    block_size: u32,
    db_id: DbId,
) -> Result<()> {
    for ai in cat.ai_extents() {
        let path = &ai.extent.path;
        let file = open_rw(storage, path)?;
        let created = read_prefix(&file).map(|h| h.created_time);
        let ext = prefix(
            ExtentKind::Ai,
            ai.area,
            &ai.extent,
            block_size,
            db_id,
            created.unwrap_or_else(masterblock::now_micros),
        );
        let mut header = AiHeader::empty(ext);
        header.generation = 1;
        let encoded = header.encode();
        let mut region = vec![0u8; AI_HEADER_REGION_BYTES as usize];
        region[..encoded.len()].copy_from_slice(&encoded);
        if !ai.extent.fixed {
            file.set_len(AI_HEADER_REGION_BYTES)
                .map_err(Error::io("truncate", path))?;
            file.sync().map_err(Error::io("sync", path))?;
        }
        file.write_at(&region, 0)
            .map_err(Error::io("write the header of", path))?;
        file.sync().map_err(Error::io("sync", path))?;
    }
    Ok(())
}
