//! The crate's one error enum: every variant has a number in 91200..=91299 (or the number of the
//! engine or AI extent error it carries), listed in [`MESSAGES`].

use std::path::PathBuf;

/// Everything the AI archiver can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The settings file does not start with the settings magic.
    #[error(
        "{} is not an AI archiver settings file (bad magic); remove it and run rfutil aiarchiver enable again",
        path.display()
    )]
    SettingsMagic {
        /// The settings file.
        path: PathBuf,
    },
    /// The settings file has a format version this program does not know.
    #[error(
        "{} has settings format version {version}, this program reads version {supported}; use the program that wrote it",
        path.display()
    )]
    SettingsVersion {
        /// The settings file.
        path: PathBuf,
        /// Version found.
        version: u16,
        /// Version supported.
        supported: u16,
    },
    /// The settings file's checksum does not verify.
    #[error(
        "{} is damaged (checksum {actual:#010x}, expected {expected:#010x}); run rfutil aiarchiver setdir to write it again",
        path.display()
    )]
    SettingsChecksum {
        /// The settings file.
        path: PathBuf,
        /// The stored checksum.
        expected: u32,
        /// The checksum of the bytes read.
        actual: u32,
    },
    /// The settings file is shorter than its fields say, or a field is out of range.
    #[error("{} is damaged: {detail}; run rfutil aiarchiver setdir to write it again", path.display())]
    SettingsMalformed {
        /// The settings file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The directory list is empty.
    #[error("the -aiarcdir list is empty; give at least one directory")]
    DirListEmpty,
    /// The directory list is longer than 512 characters.
    #[error("the -aiarcdir list is {len_chars} characters long; at most {max_chars} are allowed")]
    DirListTooLong {
        /// Its length.
        len_chars: usize,
        /// The limit.
        max_chars: usize,
    },
    /// A directory name holds a space (or other white space).
    #[error(
        "the -aiarcdir list `{list}` contains white space; directory names may not contain spaces or commas"
    )]
    DirListSpace {
        /// The list as given.
        list: String,
    },
    /// An entry of the directory list is empty (`a,,b` or a trailing comma).
    #[error(
        "the -aiarcdir list `{list}` has an empty entry; separate directories by single commas"
    )]
    DirListEmptyEntry {
        /// The list as given.
        list: String,
    },
    /// A directory is not an absolute path.
    #[error("archive directory `{dir}` is not an absolute path; give the full path")]
    DirNotAbsolute {
        /// The directory.
        dir: String,
    },
    /// The archive interval is out of range.
    #[error(
        "-aiarcinterval {secs} is out of range: give 120 to 86400 seconds, or 0 for on-demand mode"
    )]
    IntervalOutOfRange {
        /// The value given.
        secs: u64,
    },
    /// An archive directory does not exist and `-aiarcdircreate` was not given.
    #[error(
        "archive directory {} does not exist; create it or add -aiarcdircreate",
        dir.display()
    )]
    DirMissing {
        /// The directory.
        dir: PathBuf,
    },
    /// `aiarchiver enable` on a database without after-imaging.
    #[error(
        "after-imaging is not enabled for {db}; run rfutil aimage begin before aiarchiver enable"
    )]
    AiNotEnabled {
        /// The database.
        db: String,
    },
    /// `setdir` or `setinterval` before the archiver was ever enabled.
    #[error(
        "the AI archiver of {db} was never configured; run rfutil aiarchiver enable -aiarcdir first"
    )]
    NotConfigured {
        /// The database.
        db: String,
    },
    /// `aiarchive extent`: the target exists.
    #[error(
        "archive target {} exists already; give a file name that does not exist",
        path.display()
    )]
    TargetExists {
        /// The target.
        path: PathBuf,
    },
    /// An archived file of the same name exists with other contents.
    #[error(
        "{} exists already and is not a copy of after-image extent {} (sequence {ai_seq}); move it away and archive again",
        path.display(),
        extent.display()
    )]
    ArchivedCopyDiffers {
        /// The existing archived file.
        path: PathBuf,
        /// The extent being archived.
        extent: PathBuf,
        /// The extent's AI sequence.
        ai_seq: u64,
    },
    /// The copy read back does not match the extent.
    #[error(
        "the copy {} of after-image extent {} does not verify: {detail}; the extent stays full, check the disk and archive again",
        path.display(),
        extent.display()
    )]
    VerifyFailed {
        /// The copy.
        path: PathBuf,
        /// The extent.
        extent: PathBuf,
        /// What differs.
        detail: String,
    },
    /// Every archive directory is full.
    #[error(
        "every archive directory is full ({dirs}); free space or add a directory with rfutil aiarchiver setdir"
    )]
    AllDirsFull {
        /// The directories, comma separated.
        dirs: String,
    },
    /// The extent to archive is not Full.
    #[error(
        "after-image extent {} is {state}, not full; only a full extent can be archived",
        path.display()
    )]
    ExtentNotFull {
        /// The extent.
        path: PathBuf,
        /// Its state.
        state: String,
    },
    /// No AI extent of the database has that path.
    #[error(
        "{} is not an after-image extent of this database; rfutil aimage extent list shows them",
        path.display()
    )]
    NoSuchExtent {
        /// The path given.
        path: PathBuf,
    },
    /// `aiarchive extent` while the archiver daemon runs.
    #[error(
        "the AI archiver daemon is running for {db}; it archives full extents itself (stop it to archive by hand)"
    )]
    DaemonRunning {
        /// The database.
        db: String,
    },
    /// The archiver daemon has stopped.
    #[error("the AI archiver daemon of {db} is not running")]
    DaemonStopped {
        /// The database.
        db: String,
    },
    /// An engine operation failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// Reading an AI extent failed.
    #[error(transparent)]
    Ai(#[from] aiextent::Error),
}

impl Error {
    /// The message number (see [`MESSAGES`]; a wrapped error keeps its own number).
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Io { .. } => 91200,
            Error::SettingsMagic { .. } => 91201,
            Error::SettingsVersion { .. } => 91202,
            Error::SettingsChecksum { .. } => 91203,
            Error::SettingsMalformed { .. } => 91204,
            Error::DirListEmpty => 91205,
            Error::DirListTooLong { .. } => 91206,
            Error::DirListSpace { .. } => 91207,
            Error::DirListEmptyEntry { .. } => 91208,
            Error::DirNotAbsolute { .. } => 91209,
            Error::IntervalOutOfRange { .. } => 91210,
            Error::DirMissing { .. } => 91211,
            Error::AiNotEnabled { .. } => 91212,
            Error::NotConfigured { .. } => 91213,
            Error::TargetExists { .. } => 91214,
            Error::ArchivedCopyDiffers { .. } => 91215,
            Error::VerifyFailed { .. } => 91216,
            Error::AllDirsFull { .. } => 91217,
            Error::ExtentNotFull { .. } => 91218,
            Error::NoSuchExtent { .. } => 91219,
            Error::DaemonRunning { .. } => 91220,
            Error::DaemonStopped { .. } => 91221,
            Error::Engine(e) => e.msg_number(),
            Error::Ai(e) => e.msg_number(),
        }
    }

    /// An [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}

/// Event log message: the daemon started.
pub const MSG_DAEMON_STARTED: u32 = 91250;
/// Event log message: the daemon stopped.
pub const MSG_DAEMON_STOPPED: u32 = 91251;
/// Event log message: an extent was archived.
pub const MSG_ARCHIVED: u32 = 91252;
/// Event log message: a timed-mode switch.
pub const MSG_TIMED_SWITCH: u32 = 91253;
/// Event log message: the settings changed.
pub const MSG_SETTINGS: u32 = 91254;

/// Every number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (
        91200,
        "I/O error on an archive file, directory or the archiver settings",
    ),
    (91201, "archiver settings file has a bad magic"),
    (91202, "unsupported archiver settings format version"),
    (91203, "archiver settings file checksum mismatch"),
    (
        91204,
        "archiver settings file truncated or a field out of range",
    ),
    (91205, "-aiarcdir list is empty"),
    (91206, "-aiarcdir list longer than 512 characters"),
    (91207, "-aiarcdir list contains white space"),
    (91208, "-aiarcdir list has an empty entry"),
    (91209, "archive directory is not an absolute path"),
    (
        91210,
        "-aiarcinterval out of range (120-86400, 0 on-demand)",
    ),
    (
        91211,
        "archive directory missing and -aiarcdircreate not given",
    ),
    (91212, "aiarchiver enable: after-imaging is not enabled"),
    (
        91213,
        "aiarchiver setdir/setinterval: the archiver was never configured",
    ),
    (91214, "aiarchive extent: the target exists already"),
    (
        91215,
        "an archived file of the same name holds other contents",
    ),
    (
        91216,
        "the archived copy does not verify against the extent",
    ),
    (91217, "every archive directory is full"),
    (91218, "the extent to archive is not full"),
    (91219, "no after-image extent at that path"),
    (91220, "aiarchive extent: the archiver daemon is running"),
    (91221, "the archiver daemon is not running"),
    (91250, "AI archiver daemon started (event log)"),
    (91251, "AI archiver daemon stopped (event log)"),
    (91252, "after-image extent archived (event log)"),
    (
        91253,
        "AI archiver timed switch to a new extent (event log)",
    ),
    (91254, "AI archiver settings changed (event log)"),
];
