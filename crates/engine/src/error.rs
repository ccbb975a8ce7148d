//! The one error type of the engine. Every variant has a message number in 90500-90699 (or the
//! OpenEdge-style number 1028 for a counter mismatch), returned by [`Error::msg_number`] and
//! listed in [`MESSAGES`]; wrapped errors of lower crates return their own number. The Display
//! text never includes the number. [`Error::AiExtentFull`] carries 3774, which aiextent lists
//! for the same condition, so the engine's table does not repeat it; the table also lists the
//! informational numbers the engine writes to the event log (3775, 3776, 3778, 12428).

use std::io;
use std::path::PathBuf;

use masterblock::{AreaNo, BlockNo, DbId, NoteSeq, TxnId};

/// Every way an engine operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database argument cannot name a database.
    #[error("`{word}` does not name a database: {reason}")]
    InvalidDbName {
        /// The argument as given.
        word: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process (or another open in this process) holds the database's lock file.
    #[error(
        "the database is in use by process {pid} (lock file {path}); wait for it to close, or shut it down"
    )]
    InUse {
        /// The lock file.
        path: PathBuf,
        /// The process holding it, 0 if unknown.
        pid: u32,
    },
    /// The control area was written at another path: the files were copied or moved.
    #[error(
        "the database was copied or moved: its control area records {recorded} but is at {actual}; run `prostrct repair` on it before using it"
    )]
    CopiedDatabase {
        /// The path the catalogue records.
        recorded: PathBuf,
        /// The path the control area actually has.
        actual: PathBuf,
    },
    /// A note cannot be applied: the block is behind it (missing changes).
    #[error(
        "block {block} of area {area} has update counter {block_counter} but the next note expects {note_counter}; the block is missing changes and nothing more was applied"
    )]
    CounterMismatch {
        /// The area.
        area: AreaNo,
        /// The block.
        block: BlockNo,
        /// The block's update counter.
        block_counter: u64,
        /// The note's prior counter.
        note_counter: u64,
    },
    /// No table of this name.
    #[error("there is no table `{name}`")]
    NoSuchTable {
        /// The table name.
        name: String,
    },
    /// A table of this name exists already.
    #[error("table `{name}` exists already")]
    TableExists {
        /// The table name.
        name: String,
    },
    /// A table name outside `[A-Za-z_][A-Za-z0-9_-]*`.
    #[error(
        "`{name}` is not a valid table name: start with a letter or `_`, then letters, digits, `_` or `-`"
    )]
    InvalidTableName {
        /// The name as given.
        name: String,
    },
    /// An area number that is not a data area of this database.
    #[error("area {area} is not a data area of this database; `prostrct list` shows its areas")]
    NoSuchArea {
        /// The area number given.
        area: AreaNo,
    },
    /// Insert of a key that exists.
    #[error("table `{table}` already has a record with key `{key}`")]
    DuplicateKey {
        /// The table.
        table: String,
        /// The key.
        key: String,
    },
    /// Update or delete of a key that does not exist.
    #[error("table `{table}` has no record with key `{key}`")]
    RecordNotFound {
        /// The table.
        table: String,
        /// The key.
        key: String,
    },
    /// A key that is empty or holds a TAB or newline.
    #[error("key {key:?} is not valid: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key longer than a block of this size can hold.
    #[error("a key of {len} bytes is too long; the longest key is {max} bytes")]
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
        /// The longest allowed key, in bytes.
        max: usize,
    },
    /// A record (key and value) too large for the block size.
    #[error(
        "a record of {len} bytes is too large for block size {block_size}; the largest is {max} bytes"
    )]
    RecordTooLarge {
        /// Key plus value length in bytes.
        len: usize,
        /// The largest record, in bytes.
        max: usize,
        /// The database block size in bytes.
        block_size: u32,
    },
    /// The transaction was chosen to break a deadlock and has been rolled back.
    #[error("transaction {txn} would wait for itself (deadlock) and was rolled back; retry it")]
    Deadlock {
        /// The transaction that was rolled back.
        txn: TxnId,
    },
    /// The transaction was rolled back earlier (deadlock or failure) and can only end.
    #[error("transaction {txn} was already rolled back; end it and start a new one")]
    TxnAborted {
        /// The transaction.
        txn: TxnId,
    },
    /// A change was attempted on a database opened read-only.
    #[error("the database is open read-only; open it for update to change it")]
    ReadOnly,
    /// An extent file named by the catalogue does not exist.
    #[error(
        "extent file {path} is missing; restore it, or run `prostrct repair` if the files moved"
    )]
    ExtentMissing {
        /// The missing file.
        path: PathBuf,
    },
    /// An extent file whose header names another database, area, extent or block size.
    #[error(
        "extent file {path} does not belong here ({reason}); put the right file back or run `prostrct repair`"
    )]
    ForeignExtent {
        /// The file.
        path: PathBuf,
        /// The database id expected.
        expected_db: DbId,
        /// What differs.
        reason: String,
    },
    /// A file is in the way of an extent that is being created.
    #[error("{path} exists and is not a leftover extent of this database; move it away and retry")]
    ExtentExists {
        /// The file in the way.
        path: PathBuf,
    },
    /// A restore into the database is in progress or was cut short.
    #[error(
        "a restore into {path} is in progress or was cut short; run `prorest {path_stem} FILE` again with the same backup"
    )]
    Restoring {
        /// The control area.
        path: PathBuf,
        /// The database argument to give prorest.
        path_stem: String,
    },
    /// The database was not closed cleanly and cannot be opened read-only.
    #[error(
        "the database {path} was not closed cleanly (state {state}); run `proutil {path_stem} -C truncate bi` to recover it first"
    )]
    NotClean {
        /// The control area.
        path: PathBuf,
        /// The database argument to give proutil.
        path_stem: String,
        /// The recorded state.
        state: String,
    },
    /// The database exists already.
    #[error("database {path} exists already; remove it or choose another name")]
    DatabaseExists {
        /// The control area.
        path: PathBuf,
    },
    /// The control area does not exist.
    #[error("database {path} does not exist")]
    NoDatabase {
        /// The control area looked for.
        path: PathBuf,
    },
    /// A data block fails its checksum or does not name itself.
    #[error(
        "block {block} of area {area} in {path} is damaged ({reason}); restore the database from a backup"
    )]
    BlockCorrupt {
        /// The extent file.
        path: PathBuf,
        /// The area.
        area: AreaNo,
        /// The block.
        block: BlockNo,
        /// What is wrong.
        reason: String,
    },
    /// An area with only fixed extents has no free block left.
    #[error("area {area} is full; add an extent with `prostrct add`")]
    AreaFull {
        /// The area.
        area: AreaNo,
    },
    /// The BI header or its notes cannot be read.
    #[error("the before-image file {path} is damaged: {reason}")]
    BiCorrupt {
        /// The BI extent.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A write or sync of the log failed earlier; nothing more can be made durable.
    #[error(
        "writing the before-image log failed ({reason}); close the database and open it again, which recovers it"
    )]
    LogFailed {
        /// The first failure.
        reason: String,
    },
    /// A table's B+tree is damaged.
    #[error("table `{table}` is damaged at page {page}: {reason}")]
    TreeCorrupt {
        /// The table (or `_catalogue`).
        table: String,
        /// The page.
        page: u32,
        /// What is wrong.
        reason: String,
    },
    /// A file operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The next AI extent is not empty, so the busy one cannot be switched away from. Raised by
    /// the append that needed the switch (the database then stops: every later write and commit
    /// fails the same way until it is reopened after an extent was emptied) and by `aimage new`
    /// (which changes nothing). The number is the one aiextent lists for the same condition.
    #[error(
        "Can't switch to after-image extent {} it is full. Backup ai extent and mark it as empty",
        path.display()
    )]
    AiExtentFull {
        /// The next extent's file.
        path: PathBuf,
    },
    /// `rfutil -C sequence` on a database whose after-imaging is off.
    #[error(
        "after-imaging is off for this database, so its AI sequence cannot be set; run rfutil sequence on the copy before the first roll forward, which turns after-imaging off"
    )]
    SequenceWithAiOff,
    /// The AI extents and the BI disagree in a way no crash leaves.
    #[error(
        "the after-image extents do not match the before-image log: {detail}; archive the AI extents, run rfutil aimage end, back the database up and run aimage begin again"
    )]
    AiBiMismatch {
        /// What disagrees.
        detail: String,
    },
    /// `proquiet enable` while a quiet point is already enabled.
    #[error(
        "a quiet point is already enabled on {path_stem}; run proquiet {path_stem} disable first"
    )]
    AlreadyQuiet {
        /// The database.
        path_stem: String,
    },
    /// `proquiet disable` with no quiet point enabled.
    #[error("no quiet point is enabled on {path_stem}; nothing to disable")]
    NotQuiet {
        /// The database.
        path_stem: String,
    },
    /// `aimage extent empty` named a path that is no AI extent of the database.
    #[error("{} is not an after-image extent of this database; rfutil aimage extent list shows them", path.display())]
    NoSuchAiExtentPath {
        /// The path given.
        path: PathBuf,
    },
    /// A roll forward of the database was interrupted: only `roll forward retry` may go on.
    #[error(
        "a roll forward of this database was interrupted; finish it with `rfutil {path_stem} -C roll forward retry -a FILE`, naming the after-image file it was applying"
    )]
    RollForwardInterrupted {
        /// The database argument.
        path_stem: String,
    },
    /// Roll forward left transactions in flight: the database cannot be read yet.
    #[error(
        "roll forward left transactions in flight in {path_stem}, so it cannot be read yet; roll forward the next after-image file, or open the database for update (for example `proutil {path_stem} -C truncate bi`), which rolls them back"
    )]
    RolledForwardInFlight {
        /// The database argument.
        path_stem: String,
    },
    /// `roll forward oplock` holds the database for roll forward only.
    #[error(
        "the database {path_stem} is held for roll forward (roll forward oplock), so only roll forward may change it; run `rfutil {path_stem} -C roll opunlock` to open it for update"
    )]
    RollForwardLocked {
        /// The database argument.
        path_stem: String,
    },
    /// A note to roll forward does not follow the target's notes: notes are missing between.
    #[error(
        "roll forward needs note {expected} next but was given note {found}: the notes between are missing (an after-image file was skipped, or the database is not the copy these files continue)"
    )]
    ReplayGap {
        /// The note the target needs next.
        expected: NoteSeq,
        /// The note given.
        found: NoteSeq,
    },
    /// Every buffer of a roll forward target holds a change that may not be written yet (the
    /// file being applied is still being checked); the caller waits for the check and retries.
    #[error(
        "every buffer holds a change of an after-image file that is still being checked; roll forward must wait for the check before it can write one"
    )]
    PoolHeld,
    /// A note to roll forward cannot apply to this database's blocks.
    #[error(
        "note {note_seq} cannot be applied to this database: {reason}; the after-image file does not belong to it"
    )]
    ReplayNoteInvalid {
        /// The note.
        note_seq: NoteSeq,
        /// What is wrong.
        reason: String,
    },
    /// A master block error.
    #[error(transparent)]
    MasterBlock(#[from] masterblock::Error),
    /// A structure or catalogue error.
    #[error(transparent)]
    Structure(#[from] structure::Error),
    /// A note decoding error.
    #[error(transparent)]
    Note(#[from] aiextent::Error),
    /// `aimage aioff` on a database whose after-imaging is off.
    #[error("after-imaging is already off for {path_stem}; nothing was changed")]
    AiAlreadyOff {
        /// The database argument.
        path_stem: String,
    },
    /// An online utility cannot run while a quiet point holds the database.
    #[error(
        "{operation} cannot run while a quiet point holds {path_stem}; run `proquiet {path_stem} disable` first"
    )]
    QuietPointHeld {
        /// What was refused.
        operation: &'static str,
        /// The database argument.
        path_stem: String,
    },
    /// An online backup could not find a moment without active transactions.
    #[error(
        "the online backup waited {waited_millis} ms for {active} active transaction(s) to end and gave up; nothing was written and updates go on: end long transactions and run the backup again"
    )]
    BackupPointTimeout {
        /// How long it waited, ms.
        waited_millis: u64,
        /// Transactions still active when it gave up.
        active: usize,
    },
}

/// Every message number the engine uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (
        1028,
        "block update counter behind a note: the block is missing changes",
    ),
    (90500, "the database argument does not name a database"),
    (90501, "the database is in use"),
    (
        90502,
        "the database was copied or moved: run prostrct repair",
    ),
    (90503, "no such table"),
    (90504, "table exists already"),
    (90505, "invalid table name"),
    (90506, "not a data area of this database"),
    (90507, "duplicate key"),
    (90508, "record not found"),
    (90509, "invalid key"),
    (90510, "key too long"),
    (90511, "record too large for the block size"),
    (90512, "deadlock: transaction rolled back"),
    (90513, "transaction already rolled back"),
    (90514, "database open read-only"),
    (90515, "extent file missing"),
    (90516, "extent file belongs to another database or area"),
    (90517, "a file is in the way of a new extent"),
    (
        90518,
        "database not closed cleanly: run proutil truncate bi",
    ),
    (90519, "database exists already"),
    (90520, "database does not exist"),
    (90521, "damaged data block"),
    (90522, "area full"),
    (90523, "damaged before-image file"),
    (90524, "before-image log write failed: reopen to recover"),
    (90525, "damaged table"),
    (90526, "file operation failed"),
    (
        90527,
        "rfutil sequence: after-imaging is off for this database",
    ),
    (90528, "AI extents and before-image log disagree"),
    (90529, "aimage extent empty: no AI extent at that path"),
    (90530, "proquiet enable: a quiet point is already enabled"),
    (90531, "proquiet disable: no quiet point is enabled"),
    (
        90670,
        "a roll forward was interrupted: run roll forward retry",
    ),
    (
        90671,
        "roll forward left transactions in flight: roll forward more or open for update",
    ),
    (
        90672,
        "held for roll forward (oplock): run rfutil roll opunlock",
    ),
    (90673, "roll forward: notes missing before the note given"),
    (
        90678,
        "roll forward: every buffer holds a change of a file still being checked (waits)",
    ),
    (90674, "roll forward: a note does not fit this database"),
    (
        3775,
        "-aistall: cannot switch to the next AI extent, it is full (writers wait)",
    ),
    (
        3776,
        "-aistall: back up the full AI extent and mark it empty; writers then go on",
    ),
    (
        3778,
        "after-image file number N since the last AIMAGE BEGIN (each switch)",
    ),
    (12428, "rfutil sequence changed the expected AI sequence"),
    (90675, "aimage aioff: after-imaging is already off"),
    (90676, "online utility refused while a quiet point holds"),
    (
        90677,
        "online backup: transactions stayed active past the wait bound",
    ),
    (
        90599,
        "a restore into the database is in progress or was cut short",
    ),
];

impl Error {
    /// The message number printed after the text.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::CounterMismatch { .. } => 1028,
            Error::InvalidDbName { .. } => 90500,
            Error::InUse { .. } => 90501,
            Error::CopiedDatabase { .. } => 90502,
            Error::NoSuchTable { .. } => 90503,
            Error::TableExists { .. } => 90504,
            Error::InvalidTableName { .. } => 90505,
            Error::NoSuchArea { .. } => 90506,
            Error::DuplicateKey { .. } => 90507,
            Error::RecordNotFound { .. } => 90508,
            Error::InvalidKey { .. } => 90509,
            Error::KeyTooLong { .. } => 90510,
            Error::RecordTooLarge { .. } => 90511,
            Error::Deadlock { .. } => 90512,
            Error::TxnAborted { .. } => 90513,
            Error::ReadOnly => 90514,
            Error::ExtentMissing { .. } => 90515,
            Error::ForeignExtent { .. } => 90516,
            Error::ExtentExists { .. } => 90517,
            Error::NotClean { .. } => 90518,
            Error::Restoring { .. } => 90599,
            Error::DatabaseExists { .. } => 90519,
            Error::NoDatabase { .. } => 90520,
            Error::BlockCorrupt { .. } => 90521,
            Error::AreaFull { .. } => 90522,
            Error::BiCorrupt { .. } => 90523,
            Error::LogFailed { .. } => 90524,
            Error::TreeCorrupt { .. } => 90525,
            Error::Io { .. } => 90526,
            Error::AiExtentFull { .. } => 3774,
            Error::SequenceWithAiOff => 90527,
            Error::AiBiMismatch { .. } => 90528,
            Error::NoSuchAiExtentPath { .. } => 90529,
            Error::AlreadyQuiet { .. } => 90530,
            Error::NotQuiet { .. } => 90531,
            Error::RollForwardInterrupted { .. } => 90670,
            Error::RolledForwardInFlight { .. } => 90671,
            Error::RollForwardLocked { .. } => 90672,
            Error::ReplayGap { .. } => 90673,
            Error::PoolHeld => 90678,
            Error::ReplayNoteInvalid { .. } => 90674,
            Error::MasterBlock(e) => e.msg_number(),
            Error::Structure(e) => e.msg_number(),
            Error::Note(e) => e.msg_number(),
            Error::AiAlreadyOff { .. } => 90675,
            Error::QuietPointHeld { .. } => 90676,
            Error::BackupPointTimeout { .. } => 90677,
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

/// Result with the engine's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
