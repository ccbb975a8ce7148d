//! The archiver's settings file `D/db.aifm` (docs/formats/aifm.md): the archive directories,
//! the interval and the directory-create flag. Decoding yields a [`ParsedSettings`];
//! [`ParsedSettings::validate`] turns it into trusted [`Settings`].
//!
//! Invariants: a [`Settings`] value always holds a valid directory list (1 or more absolute
//! paths without white space or commas, at most 512 characters joined) and an interval of 0
//! or 120..=86400 s; the file is replaced atomically (tmp, sync, rename, directory sync).

use std::path::{Path, PathBuf};

use engine::DbPath;
use storage::{OpenMode, Storage};

use crate::error::Error;

/// Magic at byte 0 of the settings file.
pub const AIFM_MAGIC: [u8; 8] = *b"AIMGAIFM";
/// Format version written and read.
pub const AIFM_VERSION: u16 = 1;
/// Bytes before the directory list.
pub const AIFM_FIXED_BYTES: usize = 20;
/// Longest directory list (characters, commas included).
pub const MAX_DIR_LIST_CHARS: usize = 512;
/// Shortest timed-mode interval, seconds.
pub const MIN_INTERVAL_SECS: u32 = 120;
/// Longest timed-mode interval, seconds.
pub const MAX_INTERVAL_SECS: u32 = 86_400;

const FLAG_DIR_CREATE: u16 = 1;

/// Trusted archiver settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Archive directories, in order of use (the next one when a disk is full).
    pub dirs: Vec<PathBuf>,
    /// Timed mode: a switch every this many seconds; 0 is on-demand mode.
    pub interval_secs: u32,
    /// `-aiarcdircreate`: create missing directories.
    pub dir_create: bool,
}

/// Settings decoded from bytes, not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSettings {
    /// Flags field.
    pub flags: u16,
    /// Interval field.
    pub interval_secs: u32,
    /// The directory list as stored (comma separated).
    pub dir_list: String,
}

/// Splits and checks a comma list of directories (`-aiarcdir`).
pub fn parse_dir_list(list: &str) -> Result<Vec<PathBuf>, Error> {
    if list.is_empty() {
        return Err(Error::DirListEmpty);
    }
    let len_chars = list.chars().count();
    if len_chars > MAX_DIR_LIST_CHARS {
        return Err(Error::DirListTooLong {
            len_chars,
            max_chars: MAX_DIR_LIST_CHARS,
        });
    }
    if list.chars().any(char::is_whitespace) {
        return Err(Error::DirListSpace {
            list: list.to_string(),
        });
    }
    let mut dirs = Vec::new();
    for dir in list.split(',') {
        if dir.is_empty() {
            return Err(Error::DirListEmptyEntry {
                list: list.to_string(),
            });
        }
        if !dir.starts_with('/') {
            return Err(Error::DirNotAbsolute {
                dir: dir.to_string(),
            });
        }
        dirs.push(PathBuf::from(dir));
    }
    Ok(dirs)
}

/// Checks an interval (`-aiarcinterval`, `setinterval`): 0 (on-demand) or 120..=86400 s.
pub fn validate_interval_secs(secs: u64) -> Result<u32, Error> {
    match u32::try_from(secs) {
        Ok(s) if s == 0 || (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&s) => Ok(s),
        _ => Err(Error::IntervalOutOfRange { secs }),
    }
}

/// The comma list of `dirs` (each must be valid UTF-8; [`Settings`] guarantees it).
fn join_dirs(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

impl Settings {
    /// Settings from a directory list (`-aiarcdir`), an interval and the create flag, checked.
    pub fn new(dir_list: &str, interval_secs: u64, dir_create: bool) -> Result<Settings, Error> {
        Ok(Settings {
            dirs: parse_dir_list(dir_list)?,
            interval_secs: validate_interval_secs(interval_secs)?,
            dir_create,
        })
    }

    /// The directory list as a comma list.
    pub fn dir_list(&self) -> String {
        join_dirs(&self.dirs)
    }

    /// One line for the user: `Archive directories: D1,D2; mode: on demand.` (or `timed,
    /// every N s`).
    pub fn summary(&self) -> String {
        let mode = if self.interval_secs == 0 {
            "on demand".to_string()
        } else {
            format!("timed, every {} s", self.interval_secs)
        };
        format!("Archive directories: {}; mode: {mode}.", self.dir_list())
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let list = self.dir_list();
        let mut out = Vec::with_capacity(AIFM_FIXED_BYTES + list.len() + 4);
        out.extend_from_slice(&AIFM_MAGIC);
        out.extend_from_slice(&AIFM_VERSION.to_le_bytes());
        let flags = if self.dir_create { FLAG_DIR_CREATE } else { 0 };
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&self.interval_secs.to_le_bytes());
        let len = u16::try_from(list.len()).expect("a valid list is at most 512 characters");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(list.as_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and validates the file's bytes (`path` names the file in errors).
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Settings, Error> {
        ParsedSettings::decode(bytes, path)?.validate(path)
    }
}

impl ParsedSettings {
    /// Checks magic, version, length and checksum; the fields are not checked.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<ParsedSettings, Error> {
        let malformed = |detail: String| Error::SettingsMalformed {
            path: path.to_path_buf(),
            detail,
        };
        if bytes.len() < 8 || bytes[..8] != AIFM_MAGIC {
            return Err(Error::SettingsMagic {
                path: path.to_path_buf(),
            });
        }
        if bytes.len() < AIFM_FIXED_BYTES + 4 {
            return Err(malformed(format!(
                "it is {} bytes long, at least {} are needed",
                bytes.len(),
                AIFM_FIXED_BYTES + 4
            )));
        }
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let version = u16_at(8);
        if version != AIFM_VERSION {
            return Err(Error::SettingsVersion {
                path: path.to_path_buf(),
                version,
                supported: AIFM_VERSION,
            });
        }
        let list_len = usize::from(u16_at(16));
        let total = AIFM_FIXED_BYTES + list_len + 4;
        if bytes.len() != total {
            return Err(malformed(format!(
                "it is {} bytes long, its directory list needs {total}",
                bytes.len()
            )));
        }
        let stored = u32::from_le_bytes(bytes[total - 4..].try_into().expect("4 bytes"));
        let actual = crc32c::crc32c(&bytes[..total - 4]);
        if stored != actual {
            return Err(Error::SettingsChecksum {
                path: path.to_path_buf(),
                expected: stored,
                actual,
            });
        }
        let flags = u16_at(10);
        let interval_secs = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
        if u16_at(18) != 0 {
            return Err(malformed("its reserved bytes are not zero".into()));
        }
        let dir_list = std::str::from_utf8(&bytes[AIFM_FIXED_BYTES..total - 4])
            .map_err(|_| malformed("its directory list is not UTF-8".into()))?
            .to_string();
        Ok(ParsedSettings {
            flags,
            interval_secs,
            dir_list,
        })
    }

    /// Checks every field: known flags, the interval and the directory list.
    pub fn validate(self, path: &Path) -> Result<Settings, Error> {
        if self.flags & !FLAG_DIR_CREATE != 0 {
            return Err(Error::SettingsMalformed {
                path: path.to_path_buf(),
                detail: format!("unknown flags {:#06x}", self.flags),
            });
        }
        Ok(Settings {
            dirs: parse_dir_list(&self.dir_list)?,
            interval_secs: validate_interval_secs(u64::from(self.interval_secs))?,
            dir_create: self.flags & FLAG_DIR_CREATE != 0,
        })
    }
}

/// `D/db.aifm`, the settings file of `db`.
pub fn settings_path(db: &DbPath) -> PathBuf {
    db.dir().join(format!("{}.aifm", db.name()))
}

/// Reads the settings of `db`; `None` if the archiver was never configured.
pub fn read_settings(storage: &dyn Storage, db: &DbPath) -> Result<Option<Settings>, Error> {
    let path = settings_path(db);
    if !storage.exists(&path) {
        return Ok(None);
    }
    let bytes = storage::read_all(storage, &path).map_err(Error::io("read", &path))?;
    Settings::decode(&bytes, &path).map(Some)
}

/// Replaces the settings of `db` atomically: `D/db.aifm.tmp` written and synced, renamed over
/// `D/db.aifm`, the directory synced.
pub fn write_settings(
    storage: &dyn Storage,
    db: &DbPath,
    settings: &Settings,
) -> Result<(), Error> {
    let path = settings_path(db);
    let tmp = db.dir().join(format!("{}.aifm.tmp", db.name()));
    if storage.exists(&tmp) {
        storage.remove(&tmp).map_err(Error::io("remove", &tmp))?;
    }
    let file = storage
        .open(&tmp, OpenMode::CreateNew)
        .map_err(Error::io("create", &tmp))?;
    file.write_at(&settings.encode(), 0)
        .map_err(Error::io("write", &tmp))?;
    file.sync().map_err(Error::io("sync", &tmp))?;
    drop(file);
    storage
        .rename(&tmp, &path)
        .map_err(Error::io("rename into place", &path))?;
    storage
        .sync_dir(db.dir())
        .map_err(Error::io("sync the directory", db.dir()))?;
    Ok(())
}

/// Makes sure every directory of `settings` exists: created when `dir_create`, else
/// [`Error::DirMissing`] for the first missing one.
pub fn prepare_dirs(storage: &dyn Storage, settings: &Settings) -> Result<(), Error> {
    for dir in &settings.dirs {
        if storage.exists(dir) {
            continue;
        }
        if !settings.dir_create {
            return Err(Error::DirMissing { dir: dir.clone() });
        }
        storage
            .create_dir_all(dir)
            .map_err(Error::io("create the directory", dir))?;
    }
    Ok(())
}
