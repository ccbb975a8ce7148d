//! The archival log `D/db.archival.log` (reference 4.6): the daemon's start line, a version
//! record (`0255`) the first time an [`ArchivalLog`] writes, and one record per archived
//! extent: `type,database,date,time,aibegin-date,aibegin-time,aiseq,extent-name,target`.
//!
//! Invariants: every append is synced before it returns; appends in this process are
//! serialised, so lines never interleave.

use std::path::{Path, PathBuf};

use engine::DbPath;
use masterblock::AiSeq;
use parking_lot::Mutex;
use storage::{OpenMode, Storage};

use crate::error::Error;
use crate::name::date_time_fields;

/// Version of the record layout, written in the `0255` record.
pub const ARCHIVAL_LOG_VERSION: u32 = 1;

/// Appends in this process, one at a time.
static APPEND: Mutex<()> = Mutex::new(());

/// Who archived an extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    /// The daemon (`0001`).
    Daemon,
    /// `aiarchive extent` (`0003`).
    Manual,
}

impl ArchiveKind {
    /// The record type.
    pub fn code(self) -> &'static str {
        match self {
            ArchiveKind::Daemon => "0001",
            ArchiveKind::Manual => "0003",
        }
    }
}

/// One archive record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveRecord {
    /// Who archived.
    pub kind: ArchiveKind,
    /// The database's control area.
    pub database: PathBuf,
    /// When the archive was made, µs.
    pub time_micros: i64,
    /// The `aimage begin` time of the extent's cycle, µs.
    pub ai_begin_time_micros: i64,
    /// The extent's AI sequence.
    pub ai_seq: AiSeq,
    /// The extent.
    pub extent: PathBuf,
    /// The archived file.
    pub target: PathBuf,
}

impl ArchiveRecord {
    /// The record's line (without the newline).
    pub fn line(&self) -> String {
        let (date, time) = date_time_fields(self.time_micros);
        let (bdate, btime) = date_time_fields(self.ai_begin_time_micros);
        format!(
            "{},{},{date},{time},{bdate},{btime},{:08},{},{}",
            self.kind.code(),
            self.database.display(),
            self.ai_seq.0,
            self.extent.display(),
            self.target.display()
        )
    }
}

/// `D/db.archival.log`.
pub fn archival_log_path(db: &DbPath) -> PathBuf {
    db.dir().join(format!("{}.archival.log", db.name()))
}

/// The archival log of one database as one process writes it.
#[derive(Debug)]
pub struct ArchivalLog {
    path: PathBuf,
    dir: PathBuf,
    version_written: bool,
}

impl ArchivalLog {
    /// The log of `db` (nothing is written yet).
    pub fn new(db: &DbPath) -> ArchivalLog {
        ArchivalLog {
            path: archival_log_path(db),
            dir: db.dir().to_path_buf(),
            version_written: false,
        }
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the daemon's start line.
    pub fn daemon_started(&mut self, storage: &dyn Storage, now_micros: i64) -> Result<(), Error> {
        let ts =
            jiff::Timestamp::from_microsecond(now_micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let line = format!(
            "# After-image Extent Manager started on : {}",
            ts.strftime("%A %B %d, %Y at %H:%M:%S")
        );
        self.append(storage, &line, now_micros)
    }

    /// Appends an archive record.
    pub fn record(&mut self, storage: &dyn Storage, record: &ArchiveRecord) -> Result<(), Error> {
        self.append(storage, &record.line(), record.time_micros)
    }

    /// True if the log holds a record naming `target` (an archive made before a crash).
    pub fn names_target(&self, storage: &dyn Storage, target: &Path) -> Result<bool, Error> {
        if !storage.exists(&self.path) {
            return Ok(false);
        }
        let bytes =
            storage::read_all(storage, &self.path).map_err(Error::io("read", &self.path))?;
        let suffix = format!(",{}", target.display());
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .any(|l| !l.starts_with('#') && l.ends_with(&suffix)))
    }

    /// Appends `line` (after the version record the first time), synced.
    fn append(&mut self, storage: &dyn Storage, line: &str, now_micros: i64) -> Result<(), Error> {
        let _one = APPEND.lock();
        let mut text = String::new();
        if !self.version_written {
            let (date, time) = date_time_fields(now_micros);
            text.push_str(&format!("0255,{date},{time},{ARCHIVAL_LOG_VERSION}\n"));
        }
        text.push_str(line);
        text.push('\n');
        let created = !storage.exists(&self.path);
        let file = if created {
            storage.open(&self.path, OpenMode::CreateNew)
        } else {
            storage.open(&self.path, OpenMode::ReadWrite)
        }
        .map_err(Error::io("open", &self.path))?;
        let end = file
            .len()
            .map_err(Error::io("read the length of", &self.path))?;
        if end > 0 {
            // A line cut short by a crash is ended before the next one.
            let mut last = [0u8; 1];
            file.read_at(&mut last, end - 1)
                .map_err(Error::io("read", &self.path))?;
            if last[0] != b'\n' {
                text.insert(0, '\n');
            }
        }
        file.write_at(text.as_bytes(), end)
            .map_err(Error::io("append to", &self.path))?;
        file.sync().map_err(Error::io("sync", &self.path))?;
        if created {
            storage
                .sync_dir(&self.dir)
                .map_err(Error::io("sync the directory", &self.dir))?;
        }
        self.version_written = true;
        Ok(())
    }
}
