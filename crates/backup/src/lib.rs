//! `probkup` and `prorest` for afterimage: offline and online full and incremental backups
//! into a self-describing file (docs/formats/backup.md), restore into a database made by
//! `prostrct create`, and verification of a backup alone (`-vp`) or against the database
//! (`-vf`).
//!
//! Invariants: a backup file under its final name is complete (written as `FILE.tmp`, synced,
//! renamed); a backup file is read only through checks of every byte (CRC per record, header
//! and whole-file CRCs), so a damaged or truncated file is refused before anything is
//! restored; a restore marks the target `Restoring` before it writes and writes the restored
//! master block last, so a crash leaves the untouched target or one the same restore completes.
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use backup::{BackupOptions, backup, restore};
//! use engine::DbPath;
//!
//! let storage: storage::StorageRef = Arc::new(storage::RealStorage::new());
//! let src = DbPath::parse("/db/sports")?;
//! let file = Path::new("/archive/sports.bk1");
//! let summary = backup(&storage, &src, file, BackupOptions::default(), &mut |_| {})?;
//! println!("{} blocks backed up", summary.blocks);
//! // Later, into a database made by `prostrct create` from a matching structure file:
//! let dst = DbPath::parse("/restore/sports")?;
//! restore(&storage, &dst, file, &mut |line| println!("{line}"))?;
//! # Ok::<(), backup::Error>(())
//! ```

mod blocks;
mod control;
mod dblock;
mod emit;
mod error;
mod fileio;
mod format;
mod online;
mod reader;
mod restore;
mod target;
mod verify;
mod write;

pub use error::{Error, MESSAGES, Result};
pub use format::{
    AreaMark, BACKUP_FORMAT_VERSION, BACKUP_MAGIC, BackupHeader, BackupKind, FIXED_HEADER_BYTES,
    TRAILER_BYTES, TRAILER_MAGIC,
};
pub use online::{ONLINE_POINT_WAIT, backup_online, backup_online_with};
pub use reader::{BackupReader, Records};
pub use restore::{RestoreSummary, restore};
pub use verify::{
    FullVerify, PartialVerify, describe_backup, list_text, verify_full, verify_partial,
};
pub use write::{BackupOptions, BackupSummary, backup, temp_path};
