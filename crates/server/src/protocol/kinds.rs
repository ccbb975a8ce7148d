//! Frame kinds and the small enumerations carried in payloads.
//!
//! Invariant: requests are the kinds 0x0001 up to the last request, answers 0x8001 up to the
//! last answer, with no gaps, so a kind is known exactly when it falls in one of the ranges.

pub(super) mod kind {
    pub const HELLO: u16 = 0x0001;
    pub const BEGIN: u16 = 0x0002;
    pub const GET: u16 = 0x0003;
    pub const GET_FOR_UPDATE: u16 = 0x0004;
    pub const INSERT: u16 = 0x0005;
    pub const UPDATE: u16 = 0x0006;
    pub const DELETE: u16 = 0x0007;
    pub const SCAN: u16 = 0x0008;
    pub const COMMIT: u16 = 0x0009;
    pub const ROLLBACK: u16 = 0x000A;
    pub const CREATE_TABLE: u16 = 0x000B;
    pub const TABLES: u16 = 0x000C;
    pub const SHUTDOWN: u16 = 0x000D;
    pub const AI_EXTENTS: u16 = 0x000E;
    pub const AI_NEW: u16 = 0x000F;
    pub const DESCRIBE: u16 = 0x0010;
    pub const QUIET_ENABLE: u16 = 0x0011;
    pub const QUIET_DISABLE: u16 = 0x0012;
    pub const AI_EXTENT_EMPTY: u16 = 0x0013;
    pub const ADD_INTEGER: u16 = 0x0014;
    pub const PROBKUP_ONLINE: u16 = 0x0015;
    pub const AI_OFF: u16 = 0x0016;
    pub const ARCHIVER: u16 = 0x0017;
    pub const MARK_BACKEDUP: u16 = 0x0018;
    pub const HELLO_OK: u16 = 0x8001;
    pub const DONE: u16 = 0x8002;
    pub const VALUE: u16 = 0x8003;
    pub const ROWS: u16 = 0x8004;
    pub const ROWS_END: u16 = 0x8005;
    pub const TABLE_LIST: u16 = 0x8006;
    pub const ERROR: u16 = 0x8007;
    pub const EXTENTS: u16 = 0x8008;
    pub const SWITCHED: u16 = 0x8009;
    pub const DESCRIPTION: u16 = 0x800A;
    pub const QUIET_ENABLED: u16 = 0x800B;
    pub const QUIET_DISABLED: u16 = 0x800C;
    pub const EXTENT_EMPTIED: u16 = 0x800D;
    pub const BACKUP_DONE: u16 = 0x800E;
    pub const REPORT: u16 = 0x800F;
}

/// True for a request kind.
pub fn is_request_kind(k: u16) -> bool {
    (kind::HELLO..=kind::MARK_BACKEDUP).contains(&k)
}

/// True for an answer kind.
pub fn is_response_kind(k: u16) -> bool {
    (kind::HELLO_OK..=kind::REPORT).contains(&k)
}

/// How `proshut` stops the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `-by`: roll back, disconnect everyone, checkpoint, stop.
    Unconditional,
    /// `-bn`: stop only if no other client is connected.
    IfIdle,
    /// `-F`: stop the process now, no checkpoint.
    Emergency,
}

impl ShutdownMode {
    pub(super) fn code(self) -> u8 {
        match self {
            ShutdownMode::Unconditional => 1,
            ShutdownMode::IfIdle => 2,
            ShutdownMode::Emergency => 3,
        }
    }
    pub(super) fn from_code(c: u8) -> Option<ShutdownMode> {
        match c {
            1 => Some(ShutdownMode::Unconditional),
            2 => Some(ShutdownMode::IfIdle),
            3 => Some(ShutdownMode::Emergency),
            _ => None,
        }
    }
}

/// A name for a kind, for messages.
pub(super) fn kind_name(k: u16) -> &'static str {
    match k {
        kind::HELLO_OK => "HelloOk",
        kind::DONE => "Done",
        kind::VALUE => "Value",
        kind::ROWS => "Rows",
        kind::ROWS_END => "RowsEnd",
        kind::TABLE_LIST => "TableList",
        kind::ERROR => "Error",
        kind::EXTENTS => "Extents",
        kind::SWITCHED => "Switched",
        kind::DESCRIPTION => "Description",
        kind::QUIET_ENABLED => "QuietEnabled",
        kind::QUIET_DISABLED => "QuietDisabled",
        kind::EXTENT_EMPTIED => "ExtentEmptied",
        kind::BACKUP_DONE => "BackupDone",
        kind::REPORT => "Report",
        k if is_request_kind(k) => "a request",
        _ => "an unknown kind",
    }
}

/// Which extent an `AiExtentEmpty` request empties; `S` is [`String`] once validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmptyWhich<S = String> {
    /// The oldest Full extent.
    OldestFull,
    /// The N of `db.aN`.
    Number(u32),
    /// The extent's file.
    Path(S),
}

/// The AI switch a quiet point made, in a `QuietEnabled` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuietSwitch<S = String> {
    /// The extent now Full.
    pub from_extent: u32,
    /// The extent now Busy: a roll forward of a copy taken at the quiet point starts here.
    pub to_extent: u32,
    /// Its AI sequence.
    pub new_seq: u64,
    /// Its file.
    pub to_path: S,
}

/// An `rfutil aiarchiver ...` or `aiarchive extent` command run by the server; `S` is
/// [`String`] once validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiverCommand<S = String> {
    /// `aiarchiver enable -aiarcdir DIRS [-aiarcinterval N] [-aiarcdircreate]`.
    Enable {
        /// The directory list as given (comma-separated).
        dirs: S,
        /// Seconds between timed switches, 0 for on-demand.
        interval_secs: u64,
        /// `-aiarcdircreate`.
        dir_create: bool,
    },
    /// `aiarchiver disable`.
    Disable,
    /// `aiarchiver setdir DIRS [-aiarcdircreate]`.
    SetDir {
        /// The directory list as given.
        dirs: S,
        /// `-aiarcdircreate`.
        dir_create: bool,
    },
    /// `aiarchiver setinterval N`.
    SetInterval {
        /// Seconds, 0 for on-demand.
        secs: u64,
    },
    /// `aiarchive extent EXTENT TARGET`.
    ArchiveExtent {
        /// The extent's file.
        extent: S,
        /// The new archive file.
        target: S,
    },
}

/// What an online backup did, in a `BackupDone` answer; `S` is [`String`] once validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupReport<S = String> {
    /// Incremental (else full).
    pub incremental: bool,
    /// The backup file.
    pub file: S,
    /// Blocks in the backup.
    pub blocks: u64,
    /// Bytes of those blocks.
    pub block_bytes: u64,
    /// Bytes of the record stream as stored.
    pub stored_stream_bytes: u64,
    /// Bytes of the record stream before compression.
    pub raw_stream_bytes: u64,
    /// Bytes of the whole file.
    pub file_bytes: u64,
    /// The backup counter after the backup.
    pub backup_counter: u64,
    /// The AI sequence that became busy at the backup's switch, 0 for none.
    pub ai_switched_to: u64,
    /// Wall-clock time, µs.
    pub elapsed_micros: u64,
    /// The backup's progress lines (`-verbose`).
    pub progress: Vec<S>,
}
