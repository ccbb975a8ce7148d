//! The `rfutil -C aiarchiver` and `aiarchive extent` operations, offline (by database path,
//! under the database's lock) and online (on an open [`engine::Database`], as the server runs
//! them), and archiving one Full extent as the daemon and `aiarchive extent` share it.
//!
//! Invariants: every check that can refuse an operation runs before its first write; the
//! settings file is written before the master block flag is set, so the flag on implies
//! settings; an extent is emptied only after its copy is durable and logged.

use std::path::{Path, PathBuf};

use aiextent::{AiState, ExtentInfo};
use engine::{AiExtentSelector, Database, DbPath, OfflineLock};
use masterblock::AiSeq;
use storage::{Storage, StorageRef};

use crate::archive::{Copied, Source, copy_to, copy_to_dirs};
use crate::archlog::{ArchivalLog, ArchiveKind, ArchiveRecord};
use crate::daemon::ArchiverHandle;
use crate::error::{Error, MSG_ARCHIVED, MSG_SETTINGS};
use crate::name::archive_name;
use crate::settings::{
    Settings, parse_dir_list, prepare_dirs, read_settings, validate_interval_secs, write_settings,
};

const SOURCE: &str = "AIARCHIVER";

/// One extent archived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    /// The N of `db.aN`.
    pub ai_number: u32,
    /// Its AI sequence.
    pub ai_seq: AiSeq,
    /// The extent file.
    pub extent: PathBuf,
    /// The archived file.
    pub target: PathBuf,
    /// Written now, or found complete from an archive cut short.
    pub copied: Copied,
}

/// Where an archive goes.
pub(crate) enum Dest<'a> {
    /// The first archive directory with room, under the generated name.
    Dirs(&'a [PathBuf]),
    /// Exactly this file (`aiarchive extent`), which must not exist.
    Target(&'a Path),
}

/// Copies the Full extent of `info` (still Full with the same sequence) to `dest`.
pub(crate) fn copy_extent(
    storage: &dyn Storage,
    db: &DbPath,
    info: &ExtentInfo,
    dest: Dest<'_>,
) -> Result<Archived, Error> {
    let source = Source::open(storage, info)?;
    let (target, copied) = match dest {
        Dest::Dirs(dirs) => {
            let name = archive_name(
                &db.control_path(),
                info.ai_begin_time,
                info.ai_seq,
                &info.path,
            );
            copy_to_dirs(storage, &source, &name, dirs)?
        }
        Dest::Target(target) => {
            if storage.exists(target) {
                return Err(Error::TargetExists {
                    path: target.to_path_buf(),
                });
            }
            let copied = copy_to(storage, &source, target)?;
            (target.to_path_buf(), copied)
        }
    };
    Ok(Archived {
        ai_number: source.ai_number,
        ai_seq: source.ai_seq(),
        extent: info.path.clone(),
        target,
        copied,
    })
}

/// Appends the archive record (once: a copy found from an earlier archive whose record is in
/// the log is not logged again).
pub(crate) fn log_archive(
    storage: &dyn Storage,
    db: &DbPath,
    log: &mut ArchivalLog,
    kind: ArchiveKind,
    info: &ExtentInfo,
    archived: &Archived,
) -> Result<(), Error> {
    if archived.copied == Copied::AlreadyThere && log.names_target(storage, &archived.target)? {
        return Ok(());
    }
    log.record(
        storage,
        &ArchiveRecord {
            kind,
            database: db.control_path(),
            time_micros: masterblock::now_micros(),
            ai_begin_time_micros: info.ai_begin_time,
            ai_seq: info.ai_seq,
            extent: info.path.clone(),
            target: archived.target.clone(),
        },
    )
}

fn archived_event(archived: &Archived) -> String {
    format!(
        "after-image extent {} ({}, sequence {}) archived to {}",
        archived.ai_number,
        archived.extent.display(),
        archived.ai_seq,
        archived.target.display()
    )
}

/// The extent of `infos` whose file is `path` (as given or resolved).
fn find_extent(
    storage: &dyn Storage,
    infos: Vec<ExtentInfo>,
    path: &Path,
) -> Result<ExtentInfo, Error> {
    let resolved = storage.canonicalize(path).ok();
    infos
        .into_iter()
        .find(|i| {
            i.path == path
                || resolved.as_ref().is_some_and(|r| {
                    *r == i.path || storage.canonicalize(&i.path).is_ok_and(|own| own == *r)
                })
        })
        .ok_or_else(|| Error::NoSuchExtent {
            path: path.to_path_buf(),
        })
}

/// The Full extents of `infos`, oldest sequence first.
pub(crate) fn full_in_order(mut infos: Vec<ExtentInfo>) -> Vec<ExtentInfo> {
    infos.retain(|i| i.state == AiState::Full);
    infos.sort_by_key(|i| i.ai_seq);
    infos
}

fn configured(storage: &dyn Storage, db: &DbPath) -> Result<Settings, Error> {
    read_settings(storage, db)?.ok_or_else(|| Error::NotConfigured { db: db.to_string() })
}

fn settings_event(settings: &Settings) -> String {
    format!(
        "AI archiver settings: directories {}, interval {} s{}",
        settings.dir_list(),
        settings.interval_secs,
        if settings.dir_create {
            ", directories created when missing"
        } else {
            ""
        }
    )
}

/// Writes the settings line to the event log of the closed database `db`.
fn log_settings(storage: &StorageRef, db: &DbPath, settings: &Settings) {
    engine::log_event_at(
        storage,
        db,
        SOURCE,
        &settings_event(settings),
        Some(MSG_SETTINGS),
    );
}

// ---- offline -------------------------------------------------------------------------------

/// `rfutil db -C aiarchiver enable -aiarcdir DIRS [-aiarcinterval N] [-aiarcdircreate]` on a
/// database that is not open: needs after-imaging on ([`Error::AiNotEnabled`]); prepares the
/// directories ([`Error::DirMissing`] without `dir_create`), writes the settings, then sets
/// the master block flag.
pub fn enable(storage: &StorageRef, db: &DbPath, settings: &Settings) -> Result<(), Error> {
    if !engine::describe(storage, db)?.master.ai_enabled {
        return Err(Error::AiNotEnabled { db: db.to_string() });
    }
    {
        let _lock = OfflineLock::acquire(storage, db)?;
        prepare_dirs(storage.as_ref(), settings)?;
        write_settings(storage.as_ref(), db, settings)?;
    }
    engine::set_archiver_enabled(storage, db, true)?;
    log_settings(storage, db, settings);
    Ok(())
}

/// `rfutil db -C aiarchiver disable` on a database that is not open: clears the master block
/// flag (the settings file stays for the record).
pub fn disable(storage: &StorageRef, db: &DbPath) -> Result<(), Error> {
    engine::set_archiver_enabled(storage, db, false)?;
    Ok(())
}

/// `rfutil db -C aiarchiver setdir DIRS [-aiarcdircreate]` on a database that is not open:
/// replaces the directory list ([`Error::NotConfigured`] before the first `enable`).
pub fn set_dirs(
    storage: &StorageRef,
    db: &DbPath,
    dir_list: &str,
    dir_create: bool,
) -> Result<Settings, Error> {
    let dirs = parse_dir_list(dir_list)?;
    let _lock = OfflineLock::acquire(storage, db)?;
    let settings = Settings {
        dirs,
        dir_create,
        ..configured(storage.as_ref(), db)?
    };
    prepare_dirs(storage.as_ref(), &settings)?;
    write_settings(storage.as_ref(), db, &settings)?;
    log_settings(storage, db, &settings);
    Ok(settings)
}

/// `rfutil db -C aiarchiver setinterval N` on a database that is not open (0: on-demand
/// mode; else 120..=86400).
pub fn set_interval(storage: &StorageRef, db: &DbPath, secs: u64) -> Result<Settings, Error> {
    let interval_secs = validate_interval_secs(secs)?;
    let _lock = OfflineLock::acquire(storage, db)?;
    let settings = Settings {
        interval_secs,
        ..configured(storage.as_ref(), db)?
    };
    write_settings(storage.as_ref(), db, &settings)?;
    log_settings(storage, db, &settings);
    Ok(settings)
}

/// Copies one Full extent offline (under the database's lock), logs it when `log` is given,
/// then empties it.
fn archive_offline(
    storage: &StorageRef,
    db: &DbPath,
    info: &ExtentInfo,
    dest: Dest<'_>,
    log: Option<(&mut ArchivalLog, ArchiveKind)>,
) -> Result<Archived, Error> {
    let archived = {
        let _lock = OfflineLock::acquire(storage, db)?;
        copy_extent(storage.as_ref(), db, info, dest)?
    };
    if let Some((log, kind)) = log {
        log_archive(storage.as_ref(), db, log, kind, info, &archived)?;
    }
    engine::aimage_extent_empty(
        storage,
        db,
        Some(AiExtentSelector::Number(archived.ai_number)),
    )?;
    engine::log_event_at(
        storage,
        db,
        SOURCE,
        &archived_event(&archived),
        Some(MSG_ARCHIVED),
    );
    Ok(archived)
}

/// `rfutil db -C aiarchive extent EXTENT TARGET` on a database that is not open: archives the
/// Full extent at `extent` to `target`, which must not exist, then marks it Empty. Logged
/// (type 0003) in the archival log only while AI File Management is enabled.
pub fn archive_extent(
    storage: &StorageRef,
    db: &DbPath,
    extent: &Path,
    target: &Path,
) -> Result<Archived, Error> {
    let d = engine::describe(storage, db)?;
    let info = find_extent(storage.as_ref(), engine::ai_extents(storage, db)?, extent)?;
    let mut log = ArchivalLog::new(db);
    let log = d
        .master
        .flags
        .archiver_enabled
        .then_some((&mut log, ArchiveKind::Manual));
    archive_offline(storage, db, &info, Dest::Target(target), log)
}

/// One pass of the daemon on a database that is not open: archives every Full extent, oldest
/// sequence first, to the configured directories (type 0001 records) and empties each.
pub fn archive_full_extents(storage: &StorageRef, db: &DbPath) -> Result<Vec<Archived>, Error> {
    let settings = configured(storage.as_ref(), db)?;
    prepare_dirs(storage.as_ref(), &settings)?;
    let mut log = ArchivalLog::new(db);
    let mut done = Vec::new();
    for info in full_in_order(engine::ai_extents(storage, db)?) {
        done.push(archive_offline(
            storage,
            db,
            &info,
            Dest::Dirs(&settings.dirs),
            Some((&mut log, ArchiveKind::Daemon)),
        )?);
    }
    Ok(done)
}

// ---- online --------------------------------------------------------------------------------

/// `aiarchiver enable` while the database is open (by the server): as [`enable`], the flag
/// set through the open database. The server then starts the daemon ([`crate::Archiver`]).
pub fn enable_online(db: &Database, settings: &Settings) -> Result<(), Error> {
    if !db.master().ai_enabled {
        return Err(Error::AiNotEnabled {
            db: db.path().to_string(),
        });
    }
    let storage = db.storage().as_ref();
    prepare_dirs(storage, settings)?;
    write_settings(storage, db.path(), settings)?;
    db.set_archiver_enabled(true)?;
    db.log_event(SOURCE, &settings_event(settings), Some(MSG_SETTINGS));
    Ok(())
}

/// `aiarchiver disable` while the database is open: clears the flag. The server stops its
/// daemon ([`ArchiverHandle::stop`]).
pub fn disable_online(db: &Database) -> Result<(), Error> {
    db.set_archiver_enabled(false)?;
    Ok(())
}

/// `aiarchiver setdir` while the database is open; a running daemon (`daemon`) uses the new
/// directories from its next pass.
pub fn set_dirs_online(
    db: &Database,
    dir_list: &str,
    dir_create: bool,
    daemon: Option<&ArchiverHandle>,
) -> Result<Settings, Error> {
    let dirs = parse_dir_list(dir_list)?;
    let storage = db.storage().as_ref();
    let settings = Settings {
        dirs,
        dir_create,
        ..configured(storage, db.path())?
    };
    prepare_dirs(storage, &settings)?;
    write_settings(storage, db.path(), &settings)?;
    db.log_event(SOURCE, &settings_event(&settings), Some(MSG_SETTINGS));
    if let Some(daemon) = daemon {
        daemon.update_settings(settings.clone());
    }
    Ok(settings)
}

/// `aiarchiver setinterval N` while the database is open; a running daemon (`daemon`) uses the
/// new interval at once.
pub fn set_interval_online(
    db: &Database,
    secs: u64,
    daemon: Option<&ArchiverHandle>,
) -> Result<Settings, Error> {
    let interval_secs = validate_interval_secs(secs)?;
    let storage = db.storage().as_ref();
    let settings = Settings {
        interval_secs,
        ..configured(storage, db.path())?
    };
    write_settings(storage, db.path(), &settings)?;
    db.log_event(SOURCE, &settings_event(&settings), Some(MSG_SETTINGS));
    if let Some(daemon) = daemon {
        daemon.update_settings(settings.clone());
    }
    Ok(settings)
}

/// Copies one Full extent of an open database, logs it to `log`, then empties it.
pub(crate) fn archive_online(
    db: &Database,
    info: &ExtentInfo,
    dest: Dest<'_>,
    log: Option<(&mut ArchivalLog, ArchiveKind)>,
) -> Result<Archived, Error> {
    let storage = db.storage().as_ref();
    let archived = copy_extent(storage, db.path(), info, dest)?;
    if let Some((log, kind)) = log {
        log_archive(storage, db.path(), log, kind, info, &archived)?;
    }
    db.ai_extent_empty(Some(AiExtentSelector::Number(archived.ai_number)))?;
    db.log_event(SOURCE, &archived_event(&archived), Some(MSG_ARCHIVED));
    Ok(archived)
}

/// `aiarchive extent EXTENT TARGET` while the database is open: refused while the archiver
/// daemon (`daemon`) runs; otherwise as [`archive_extent`].
pub fn archive_extent_online(
    db: &Database,
    extent: &Path,
    target: &Path,
    daemon: Option<&ArchiverHandle>,
) -> Result<Archived, Error> {
    if daemon.is_some_and(ArchiverHandle::is_running) {
        return Err(Error::DaemonRunning {
            db: db.path().to_string(),
        });
    }
    let info = find_extent(db.storage().as_ref(), db.ai_extents()?, extent)?;
    let mut log = ArchivalLog::new(db.path());
    let log = db
        .master()
        .flags
        .archiver_enabled
        .then_some((&mut log, ArchiveKind::Manual));
    archive_online(db, &info, Dest::Target(target), log)
}
