//! Offline administration: create, add extents, repair, copy, truncate the BI, busy, describe
//! (the administration of after-imaging is in `ai`). Each (except `describe`) holds the
//! database's lock while it works.
//!
//! Invariants: see `create` for the order that makes creating and adding crash-safe; `repair`
//! verifies every extent before it replaces the catalogue (one atomic two-slot write), so a
//! failed or interrupted repair leaves the database as it was.

use std::fmt;
use std::path::PathBuf;

use masterblock::{DbId, DbState, MasterBlock, MasterBlockFile};
use storage::{OpenMode, Storage, StorageRef};
use structure::{AreaKind, Catalogue, CatalogueFile, StFile, generated_name};

use crate::create::{create_extent, extent_kind, sync_dirs, temp_control};
use crate::db::{AccessMode, Database, OpenOptions, state_name};
use crate::error::{Error, Result};
use crate::extent::{check_header, open_extent};
use crate::lockfile::LockFile;
use crate::open::{check_ai_extent, check_identity, read_control};
use crate::path::DbPath;
use crate::recovery::RecoveryReport;

/// Where `prostrct repair` finds the extents.
#[derive(Clone, Debug)]
pub enum RepairTarget {
    /// Every extent (and the control area) is now in this directory, under its old file name.
    Dir(PathBuf),
    /// A structure file giving each extent's new path.
    St(StFile),
}

/// What `truncate_bi` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TruncateReport {
    /// Size of the BI file before, in bytes.
    pub bi_bytes_before: u64,
    /// Size of the BI file after, in bytes.
    pub bi_bytes_after: u64,
    /// Crash recovery, if the database needed it.
    pub recovery: Option<RecoveryReport>,
}

impl fmt::Display for TruncateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BI size {} bytes before, {} bytes after",
            self.bi_bytes_before, self.bi_bytes_after
        )?;
        if let Some(r) = &self.recovery {
            write!(
                f,
                "; crash recovery redid {} of {} notes and rolled back {} transactions",
                r.notes_redone, r.notes_read, r.txns_rolled_back
            )?;
        }
        Ok(())
    }
}

/// A database described without opening it.
#[derive(Clone, Debug)]
pub struct Description {
    /// The master block.
    pub master: MasterBlock,
    /// The catalogue of areas and extents.
    pub catalogue: Catalogue,
    /// Size of the BI extent file in bytes.
    pub bi_size_bytes: u64,
    /// The AI extents as their headers say, in order of AI extent number (empty when there
    /// are none).
    pub ai_extents: Vec<aiextent::ExtentInfo>,
}

/// `prostrct create`: makes a new database from a structure description.
pub fn create_database(
    storage: &StorageRef,
    db: &DbPath,
    st: &StFile,
    block_size: u32,
) -> Result<()> {
    let s = storage.as_ref();
    let _lock = LockFile::acquire(storage, &db.lock_path())?;
    let ctl = db.control_path();
    clear_control(s, db)?;
    let real_dir = s
        .canonicalize(db.dir())
        .map_err(Error::io("resolve", db.dir()))?;
    let real_ctl = real_dir.join(format!("{}.db", db.name()));
    let cat = Catalogue::from_st(&real_ctl, st, block_size)?;
    let db_id = DbId::generate();
    make_extents(s, &cat, db_id, None, block_size, None)?;
    let mb = MasterBlock::new(db_id, block_size, masterblock::now_micros());
    write_control(s, &ctl, mb, &cat)?;
    crate::eventlog::log_event_in(s, db, "PROSTRCT", "database created", None);
    Ok(())
}

/// Removes an invalid leftover control area; `DatabaseExists` for a valid one.
fn clear_control(s: &dyn Storage, db: &DbPath) -> Result<()> {
    let ctl = db.control_path();
    let tmp = temp_control(&ctl);
    if s.exists(&ctl) {
        if read_control(s, db, false).is_ok() {
            return Err(Error::DatabaseExists { path: ctl });
        }
        s.remove(&ctl).map_err(Error::io("remove", &ctl))?;
    }
    if s.exists(&tmp) {
        s.remove(&tmp).map_err(Error::io("remove", &tmp))?;
    }
    Ok(())
}

/// Creates every extent of `cat` (only `only` if given), then syncs their directories.
fn make_extents(
    s: &dyn Storage,
    cat: &Catalogue,
    db_id: DbId,
    leftover_of: Option<DbId>,
    block_size: u32,
    only: Option<&[(masterblock::AreaNo, u32)]>,
) -> Result<()> {
    let mut paths = Vec::new();
    for area in &cat.areas {
        if area.kind == AreaKind::Control {
            continue;
        }
        for ext in &area.extents {
            if only.is_some_and(|o| !o.contains(&(area.number, ext.number))) {
                continue;
            }
            create_extent(s, area, ext, db_id, leftover_of, block_size)?;
            paths.push(ext.path.clone());
        }
    }
    sync_dirs(s, paths.iter().map(PathBuf::as_path))
}

/// Writes a complete control area under a temporary name, syncs it, renames it into place
/// and syncs the directory.
fn write_control(
    s: &dyn Storage,
    ctl: &std::path::Path,
    mb: MasterBlock,
    cat: &Catalogue,
) -> Result<()> {
    let tmp = temp_control(ctl);
    let file = s
        .open(&tmp, OpenMode::CreateNew)
        .map_err(Error::io("create", &tmp))?;
    MasterBlockFile::create(file.clone(), mb)?;
    CatalogueFile::create(file, mb.db_id, cat)?;
    s.rename(&tmp, ctl).map_err(Error::io("rename", &tmp))?;
    let dir = ctl.parent().expect("control path has a directory");
    s.sync_dir(dir).map_err(Error::io("sync directory", dir))
}

/// `prostrct add`: creates the extents the structure file lists and records them.
pub fn add_extents(
    storage: &StorageRef,
    db: &DbPath,
    st: &StFile,
) -> Result<Vec<(masterblock::AreaNo, u32)>> {
    let s = storage.as_ref();
    let _lock = LockFile::acquire(storage, &db.lock_path())?;
    let (master, mut catf) = read_control(s, db, true)?;
    check_identity(s, db, catf.get())?;
    let mb = *master.get();
    let mut cat = catf.get().clone();
    let added = cat.add_from_st(st, mb.block_size)?;
    make_extents(
        s,
        &cat,
        mb.db_id,
        Some(mb.db_id),
        mb.block_size,
        Some(&added),
    )?;
    catf.replace(cat)?;
    crate::eventlog::log_event_in(
        s,
        db,
        "PROSTRCT",
        &format!("{} extents added", added.len()),
        None,
    );
    Ok(added)
}

/// Checks that every extent of `cat` exists and names database `db_id`.
fn verify_extents(s: &dyn Storage, cat: &Catalogue, db_id: DbId, block_size: u32) -> Result<()> {
    for area in &cat.areas {
        let Some(kind) = extent_kind(area.kind) else {
            continue;
        };
        for ext in &area.extents {
            if kind == masterblock::ExtentKind::Ai {
                check_ai_extent(s, &ext.path, db_id, area.number, ext.number, block_size)?;
                continue;
            }
            let file = open_extent(s, &ext.path, false)?;
            check_header(
                &file,
                &ext.path,
                0,
                (kind, db_id, area.number, ext.number, block_size),
            )?;
        }
    }
    Ok(())
}

/// `prostrct repair`: records the extents' new paths and the control area's real path.
pub fn repair(storage: &StorageRef, db: &DbPath, target: RepairTarget) -> Result<()> {
    let s = storage.as_ref();
    let _lock = LockFile::acquire(storage, &db.lock_path())?;
    let (master, mut catf) = read_control(s, db, true)?;
    let mb = *master.get();
    let mut cat = catf.get().clone();
    // The control area is where it is now: relative paths of a structure file resolve against
    // its directory, and its own catalogue entry must name it.
    let ctl = db.control_path();
    let actual_control = s.canonicalize(&ctl).map_err(Error::io("resolve", &ctl))?;
    point_control_at(&mut cat, &actual_control);
    match target {
        RepairTarget::Dir(dir) => {
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir()
                    .map_err(Error::io("find the current directory of", &dir))?
                    .join(dir)
            };
            cat.repair_to_dir(&dir);
        }
        RepairTarget::St(st) => cat.repair_from_st(&st)?,
    }
    point_control_at(&mut cat, &actual_control);
    verify_extents(s, &cat, mb.db_id, mb.block_size)?;
    catf.replace(cat)?;
    crate::eventlog::log_event_in(s, db, "PROSTRCT", "structure repaired", None);
    Ok(())
}

/// Records `path` as the control area's place: `control_path` and the control area's extent.
fn point_control_at(cat: &mut Catalogue, path: &std::path::Path) {
    cat.control_path = path.to_path_buf();
    for area in cat.areas.iter_mut().filter(|a| a.kind == AreaKind::Control) {
        for extent in &mut area.extents {
            extent.path = path.to_path_buf();
        }
    }
}

/// `prodb dst src`: copies a closed, clean database under a new identity.
pub fn copy_database(storage: &StorageRef, src: &DbPath, dst: &DbPath) -> Result<()> {
    let s = storage.as_ref();
    let _src_lock = LockFile::acquire(storage, &src.lock_path())?;
    let _dst_lock = LockFile::acquire(storage, &dst.lock_path())?;
    let (smaster, scatf) = read_control(s, src, false)?;
    let scat = scatf.get().clone();
    check_identity(s, src, &scat)?;
    let smb = *smaster.get();
    if smb.state != DbState::Clean {
        return Err(Error::NotClean {
            path: src.control_path(),
            path_stem: src.to_string(),
            state: state_name(smb.state).to_string(),
        });
    }
    verify_extents(s, &scat, smb.db_id, smb.block_size)?;
    clear_control(s, dst)?;
    let real_dir = s
        .canonicalize(dst.dir())
        .map_err(Error::io("resolve", dst.dir()))?;
    let mut cat = scat.clone();
    cat.control_path = real_dir.join(format!("{}.db", dst.name()));
    let ai_numbers: Vec<_> = scat
        .ai_extents()
        .iter()
        .map(|a| (a.area, a.ai_number))
        .collect();
    for area in &mut cat.areas {
        for ext in &mut area.extents {
            let n = match area.kind {
                AreaKind::Ai => ai_numbers
                    .iter()
                    .find(|(a, _)| *a == area.number)
                    .map_or(ext.number, |(_, n)| *n),
                _ => ext.number,
            };
            ext.path = real_dir.join(generated_name(dst.name(), area.kind, area.number, n));
        }
    }
    let db_id = DbId::generate();
    let bs = smb.block_size;
    crate::copy::copy_extents(s, &scat, &cat, db_id, bs)?;
    let mb = MasterBlock::new(db_id, bs, masterblock::now_micros());
    write_control(s, &dst.control_path(), mb, &cat)?;
    crate::eventlog::log_event_in(
        s,
        dst,
        "PRODB",
        &format!("database copied from {src}"),
        None,
    );
    Ok(())
}

/// `proutil -C truncate bi`: opens for update (recovering if needed), checkpoints, resets the
/// BI and closes.
pub fn truncate_bi(storage: &StorageRef, db: &DbPath) -> Result<TruncateReport> {
    let opts = OpenOptions {
        access: AccessMode::ReadWrite,
        buffers: 1024,
        ..OpenOptions::default()
    };
    let before = bi_size(storage.as_ref(), db).unwrap_or(0);
    let database = Database::open(storage.clone(), db, opts)?;
    let recovery = *database.shared.recovery.lock();
    // Closing checkpoints and resets the BI (nothing is active).
    database.close()?;
    Ok(TruncateReport {
        bi_bytes_before: before,
        bi_bytes_after: bi_size(storage.as_ref(), db)?,
        recovery,
    })
}

fn bi_size(s: &dyn Storage, db: &DbPath) -> Result<u64> {
    let (_, catf) = read_control(s, db, false)?;
    let path = &catf.get().bi_area().extents[0].path;
    let file = open_extent(s, path, false)?;
    file.len().map_err(Error::io("inspect", path))
}

/// True if another process (or another open in this process) has the database open.
pub fn busy(storage: &StorageRef, db: &DbPath) -> Result<bool> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(Error::NoDatabase { path: ctl });
    }
    match LockFile::acquire(storage, &db.lock_path()) {
        Ok(_) => Ok(false),
        Err(Error::InUse { .. }) => Ok(true),
        Err(e) => Err(e),
    }
}

/// The master block, catalogue, BI size and AI extents, read without the lock and without
/// writing.
pub fn describe(storage: &StorageRef, db: &DbPath) -> Result<Description> {
    let s = storage.as_ref();
    let (master, catf) = read_control(s, db, false)?;
    let master = *master.get();
    let catalogue = catf.get().clone();
    let ai_extents = crate::ai::read_extents(storage, &catalogue, master.db_id)?;
    Ok(Description {
        master,
        catalogue,
        bi_size_bytes: bi_size(s, db)?,
        ai_extents,
    })
}
