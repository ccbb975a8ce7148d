//! The crate's one error type, [`Error`]: its own numbers 90900-90999, the OpenEdge numbers
//! 9454 and 3757 of `prorest -vf`, and the numbers of the lower crates it wraps.
//!
//! Invariant: every variant has a number returned by [`Error::msg_number`] and listed in
//! [`MESSAGES`] (wrapped errors keep their own); Display says what is wrong and what to do,
//! without the number.

use std::io;
use std::path::PathBuf;

use masterblock::{AreaNo, BlockNo, DbId, DbState};

/// Everything that can go wrong backing up, restoring or verifying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The backup file exists already; backups are never overwritten.
    #[error("the backup file {path} exists already; choose another name or move it away")]
    BackupFileExists {
        /// The file.
        path: PathBuf,
    },
    /// The database is not in a state that can be backed up or verified.
    #[error("the database {db} is {}; {}", state_text(*.state), state_advice(*.state, db))]
    NotClean {
        /// The database argument.
        db: String,
        /// Its state.
        state: DbState,
    },
    /// `probkup online` of a database no server is running for.
    #[error(
        "an online backup needs the database server, and none is running for this database; start it with proserve, or run probkup without `online` on the closed database"
    )]
    OnlineNotSupported,
    /// An incremental backup of a database that has never been backed up.
    #[error(
        "the database {db} has never been backed up, so there is no base for an incremental backup; take a full backup first"
    )]
    NoBaseBackup {
        /// The database argument.
        db: String,
    },
    /// A block of the database being backed up is damaged.
    #[error(
        "block {block} of area {area} in {path} is damaged ({reason}); nothing was backed up: repair the database or restore it from an earlier backup"
    )]
    DamagedBlock {
        /// The extent file.
        path: PathBuf,
        /// The area.
        area: AreaNo,
        /// The block.
        block: BlockNo,
        /// What is wrong.
        reason: String,
    },
    /// An extent file of the database does not have the header the catalogue implies.
    #[error(
        "extent file {path} does not belong to this database ({reason}); put the right file back or run prostrct repair"
    )]
    ForeignExtent {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The backup file ends before its structure does.
    #[error(
        "the backup file {path} is truncated: {what} needs bytes up to offset {needed} but the file ends at {file_len}; it is not a complete backup"
    )]
    Truncated {
        /// The backup file.
        path: PathBuf,
        /// What was being read.
        what: &'static str,
        /// Offset the structure needs to reach.
        needed: u64,
        /// Length of the file.
        file_len: u64,
    },
    /// The file does not start (or end) with the backup magic.
    #[error(
        "{path} is not an afterimage backup file (no {what} magic at offset {offset}); check the file name"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Which magic.
        what: &'static str,
        /// Where it was expected.
        offset: u64,
    },
    /// The backup file has a format version this program does not read.
    #[error(
        "the backup file {path} has format version {version} (at offset {offset}); this program reads version 1: use a matching version of prorest"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Offset of the version field.
        offset: u64,
        /// The version found.
        version: u16,
    },
    /// A checksum in the backup file does not match: the file is damaged.
    #[error(
        "the backup file {path} is damaged: {what} at offset {offset} has checksum {actual:#010x}, {expected:#010x} stored; nothing was restored: use another copy of the backup"
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// What the checksum covers.
        what: &'static str,
        /// Offset of the checksummed structure (for a compressed stream, the offset in the
        /// file the reader had reached).
        offset: u64,
        /// Checksum stored.
        expected: u32,
        /// Checksum computed.
        actual: u32,
    },
    /// A field or record of the backup file breaks the format.
    #[error(
        "the backup file {path} is damaged at offset {offset}: {detail}; nothing was restored: use another copy of the backup"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset of the structure at fault (for a compressed stream, the offset in the file
        /// the reader had reached).
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The target database has another block size.
    #[error(
        "the backup has block size {backup} but the target database has {target}; create the target with prostrct create -blocksize {backup}"
    )]
    BlockSizeMismatch {
        /// The backup's block size.
        backup: u32,
        /// The target's block size.
        target: u32,
    },
    /// An area of the backup is missing in the target.
    #[error(
        "the target database has no area {area} \"{name}\", which the backup holds; write a structure file with prorest -list and create the target from it"
    )]
    AreaMissing {
        /// The area number.
        area: AreaNo,
        /// The area's name in the backup.
        name: String,
    },
    /// A target area cannot hold the backup's blocks.
    #[error(
        "area {area} of the target holds at most {capacity_blocks} blocks but the backup needs {needed_blocks}; make its extents larger (or its last extent variable) and create the target again"
    )]
    ExtentTooSmall {
        /// The area.
        area: AreaNo,
        /// Blocks the backup needs (its high water).
        needed_blocks: u64,
        /// Blocks the target's extents can hold.
        capacity_blocks: u64,
    },
    /// An incremental backup onto a database with another identity.
    #[error(
        "the incremental backup is of database {backup} but the target is database {target}; restore the full backup of {backup} first"
    )]
    IdentityMismatch {
        /// The backup's database identity.
        backup: DbId,
        /// The target's identity.
        target: DbId,
    },
    /// An incremental backup out of order.
    #[error(
        "the incremental backup applies onto backup {base} but the target is at backup {target}; restore the full backup and the incrementals in the order they were taken"
    )]
    CounterMismatch {
        /// The counter of the backup the incremental applies onto.
        base: u64,
        /// The target's backup counter.
        target: u64,
    },
    /// The target cannot be restored into in its state.
    #[error("the target database {db} is {}; {}", state_text(*.state), target_advice(*.state, db))]
    TargetNotClean {
        /// The database argument.
        db: String,
        /// Its state.
        state: DbState,
    },
    /// A restore of another incremental backup was cut short on the target.
    #[error(
        "a restore of backup {in_progress} into {db} was cut short; run prorest again with that backup (or restore a full backup) before this one (backup {given})"
    )]
    RestoreInProgress {
        /// The database argument.
        db: String,
        /// The counter of the backup whose restore was cut short.
        in_progress: u64,
        /// The counter of the backup given.
        given: u64,
    },
    /// `prorest -vf`: one block of the database differs from the backup.
    #[error("block {block} of area {area} in the database does not match the backup")]
    BlockMismatch {
        /// The area.
        area: AreaNo,
        /// The block.
        block: BlockNo,
    },
    /// `prorest -vf` found differences.
    #[error("full verify failed: {mismatches} of {compared} blocks differ from the backup")]
    VerifyFailed {
        /// Blocks that differ.
        mismatches: u64,
        /// Blocks compared.
        compared: u64,
    },
    /// An engine error.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// A master block or extent header error.
    #[error(transparent)]
    MasterBlock(#[from] masterblock::Error),
    /// A catalogue error.
    #[error(transparent)]
    Structure(#[from] structure::Error),
    /// An AI extent error.
    #[error(transparent)]
    Ai(#[from] aiextent::Error),
}

fn state_text(state: DbState) -> &'static str {
    match state {
        DbState::Clean => "clean",
        DbState::Open => "open, or was not shut down cleanly",
        DbState::RollForwardInProgress => "in the middle of a roll forward",
        DbState::RolledForwardInFlight => "rolled forward with transactions in flight",
        DbState::Restoring => "being restored (a restore was cut short)",
    }
}

fn state_advice(state: DbState, db: &str) -> String {
    match state {
        DbState::Open => format!(
            "shut it down, or if it crashed run `proutil {db} -C truncate bi` to recover it, then back it up"
        ),
        DbState::RollForwardInProgress => {
            "finish the roll forward (roll forward retry) before backing it up".into()
        }
        DbState::RolledForwardInFlight => {
            "roll forward the next file, or open it once to roll the transactions back, then back it up"
                .into()
        }
        DbState::Restoring => format!("run prorest {db} again with the same backup first"),
        DbState::Clean => "nothing to do".into(),
    }
}

fn target_advice(state: DbState, db: &str) -> String {
    match state {
        DbState::Open => format!(
            "run `proutil {db} -C truncate bi` (or create the target again with prostrct create) before restoring into it"
        ),
        _ => "create the target again with prostrct create before restoring into it".into(),
    }
}

/// Every message number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (
        3757,
        "prorest -vf: full verify failed, blocks differ from the backup",
    ),
    (
        9454,
        "prorest -vf: a database block does not match the backup",
    ),
    (90900, "I/O error on a backup file or database file"),
    (90901, "backup file exists already"),
    (90902, "database not clean: cannot back it up"),
    (90903, "online backup without a running server"),
    (90904, "incremental backup without a full backup"),
    (90905, "damaged block in the database being backed up"),
    (90906, "extent file does not belong to the database"),
    (90910, "backup file truncated"),
    (90911, "not a backup file (bad magic)"),
    (90912, "unsupported backup file format version"),
    (90913, "backup file checksum mismatch"),
    (90914, "backup file damaged (invalid field or record)"),
    (90920, "restore: block size differs from the target's"),
    (
        90921,
        "restore: an area of the backup is missing in the target",
    ),
    (90922, "restore: a target area is too small for the backup"),
    (90923, "restore: incremental backup of another database"),
    (90924, "restore: incremental backup out of order"),
    (90925, "restore: target database not clean"),
    (
        90926,
        "restore: another restore was cut short on the target",
    ),
];

impl Error {
    /// The message number printed after the text.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Io { .. } => 90900,
            Error::BackupFileExists { .. } => 90901,
            Error::NotClean { .. } => 90902,
            Error::OnlineNotSupported => 90903,
            Error::NoBaseBackup { .. } => 90904,
            Error::DamagedBlock { .. } => 90905,
            Error::ForeignExtent { .. } => 90906,
            Error::Truncated { .. } => 90910,
            Error::BadMagic { .. } => 90911,
            Error::UnsupportedVersion { .. } => 90912,
            Error::ChecksumMismatch { .. } => 90913,
            Error::Corrupt { .. } => 90914,
            Error::BlockSizeMismatch { .. } => 90920,
            Error::AreaMissing { .. } => 90921,
            Error::ExtentTooSmall { .. } => 90922,
            Error::IdentityMismatch { .. } => 90923,
            Error::CounterMismatch { .. } => 90924,
            Error::TargetNotClean { .. } => 90925,
            Error::RestoreInProgress { .. } => 90926,
            Error::BlockMismatch { .. } => 9454,
            Error::VerifyFailed { .. } => 3757,
            Error::Engine(e) => e.msg_number(),
            Error::MasterBlock(e) => e.msg_number(),
            Error::Structure(e) => e.msg_number(),
            Error::Ai(e) => e.msg_number(),
        }
    }

    /// An [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
