//! The AI File Management daemon (AIMGT) of afterimage: archives Full after-image extents to a
//! list of directories, logs each archive in `db.archival.log`, and marks the extent Empty.
//!
//! - [`settings`]: the settings file `D/db.aifm` (docs/formats/aifm.md) and its validation.
//! - [`name`]: archive file names (`usr1~dbs~sales.20261122.101732.00000003.sales.a3`).
//! - [`archlog`]: the archival log.
//! - [`ops`]: `rfutil -C aiarchiver enable | disable | setdir | setinterval` and
//!   `aiarchive extent`, offline and online.
//! - [`daemon`]: the daemon thread ([`Archiver::start`]) and its handle.
//!
//! Invariants: an extent is marked Empty only after a verified copy of it is durable under its
//! final name and logged; an archived file is never overwritten; a crash at any step leaves the
//! extent Full, to be archived again.

pub mod archive;
pub mod archlog;
pub mod daemon;
pub mod error;
pub mod name;
pub mod ops;
pub mod settings;

pub use archive::{Copied, archived_header_region, tmp_path};
pub use archlog::{ArchivalLog, ArchiveKind, ArchiveRecord, archival_log_path};
pub use daemon::{Archiver, ArchiverHandle, ArchiverStatus, DaemonOptions};
pub use error::{Error, MESSAGES};
pub use name::archive_name;
pub use ops::{
    Archived, archive_extent, archive_extent_online, archive_full_extents, disable, disable_online,
    enable, enable_online, set_dirs, set_dirs_online, set_interval, set_interval_online,
};
pub use settings::{
    ParsedSettings, Settings, parse_dir_list, read_settings, settings_path, validate_interval_secs,
    write_settings,
};
