//! The crate's one error type, [`Error`], and its message numbers (90300-90399, and the
//! OpenEdge number 3774 for a switch to a full extent).
//!
//! Invariant: every variant has its own number, listed in [`MESSAGES`]; Display text says what
//! is wrong and what to do, without the number.

use std::io;
use std::path::PathBuf;

use masterblock::DbId;

use crate::extent::AiState;
use crate::note::EndReason;

/// Everything that can go wrong reading or writing notes and AI extents.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O call failed.
    #[error(
        "cannot {op} {} at byte {offset}: {source}; check the disk and the file's permissions",
        path.display()
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("read", "write", "sync", ...).
        op: &'static str,
        /// Where in the file.
        offset: u64,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A frame verified but its body breaks the note format.
    #[error(
        "{} holds a malformed note at byte {offset}: {detail}; it was written by a newer version or is damaged, do not roll it forward",
        path.display()
    )]
    MalformedNote {
        /// The file.
        path: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// Neither header slot of an AI extent verifies.
    #[error(
        "{} has no valid AI extent header (both header slots fail their checksum); it is not an AI extent or it is damaged: restore it from the archive or recreate it",
        path.display()
    )]
    NoValidHeader {
        /// The file.
        path: PathBuf,
    },
    /// A header slot verifies but its content is not a valid AI extent header.
    #[error(
        "{} header slot {slot} is not a valid AI extent header: {detail}; it was written by a newer version or is damaged",
        path.display()
    )]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// 0 or 1.
        slot: u8,
        /// What is wrong.
        detail: String,
    },
    /// The common extent-header prefix of a slot was refused.
    #[error("{} has an extent header that cannot be used: {source}", path.display())]
    ExtentHeader {
        /// The file.
        path: PathBuf,
        /// Why the prefix was refused.
        #[source]
        source: masterblock::Error,
    },
    /// A note stream that must be whole ends early or breaks (a full extent, or the notes of a
    /// busy extent recorded at its last close).
    #[error(
        "AI extent {} is damaged at byte {offset}: {reason}, before the end of its notes at byte {end_offset}; use the archived copy of this extent",
        path.display()
    )]
    DamagedExtent {
        /// The file.
        path: PathBuf,
        /// Offset of the bad frame.
        offset: u64,
        /// What was found there.
        reason: EndReason,
        /// Where the notes should end.
        end_offset: u64,
    },
    /// The first note of an AI extent is not its AI switch note.
    #[error(
        "AI extent {} does not start with the switch note of sequence {ai_seq}: {detail}; the extent is damaged or was not written by this database",
        path.display()
    )]
    MissingSwitchNote {
        /// The file.
        path: PathBuf,
        /// The extent's sequence from its header.
        ai_seq: u64,
        /// What was found instead.
        detail: String,
    },
    /// The header records more notes than the file holds.
    #[error(
        "AI extent {} records {used_bytes} bytes of notes but the file is only {file_len_bytes} bytes long; the file was truncated: use the archived copy",
        path.display()
    )]
    UsedBeyondFile {
        /// The file.
        path: PathBuf,
        /// Notes recorded in the header.
        used_bytes: u64,
        /// Length of the file.
        file_len_bytes: u64,
    },
    /// A fixed extent's file is not its declared size.
    #[error(
        "fixed AI extent {} should be {expected_bytes} bytes long but is {actual_bytes}; the file was truncated or replaced: restore it or recreate the extent",
        path.display()
    )]
    FixedSizeMismatch {
        /// The file.
        path: PathBuf,
        /// `size_kib * 1024`.
        expected_bytes: u64,
        /// Length of the file.
        actual_bytes: u64,
    },
    /// An AI extent file belongs to another database.
    #[error(
        "{} belongs to database {found}, not to this database ({expected}); put this database's own AI extent back at that path",
        path.display()
    )]
    ForeignExtent {
        /// The file.
        path: PathBuf,
        /// This database's id.
        expected: DbId,
        /// The id in the file's header.
        found: DbId,
    },
    /// An AI extent file is not the extent the structure names at its path.
    #[error(
        "{} is not AI extent {ai_number} of this database: {detail}; put the right file back at that path (prostrct list shows the structure)",
        path.display()
    )]
    WrongExtent {
        /// The file.
        path: PathBuf,
        /// The AI extent number the structure gives this path.
        ai_number: u32,
        /// What differs.
        detail: String,
    },
    /// A fixed AI extent is too small to hold its header region and a note.
    #[error(
        "fixed AI extent {} would be {size_kib} KiB, below the minimum of {min_kib} KiB; give it a larger size in the structure file",
        path.display()
    )]
    FixedTooSmall {
        /// The file.
        path: PathBuf,
        /// Size asked for.
        size_kib: u64,
        /// The smallest allowed.
        min_kib: u64,
    },
    /// `aimage begin` (or a switch) on a database without AI extents.
    #[error(
        "the database has no after-image extents; add them with prostrct add, back up the database, then run rfutil aimage begin"
    )]
    NoAiExtents,
    /// `aimage begin` on a database changed since its last backup.
    #[error(
        "the database has changed since its last backup (next note {next_note_seq}, backup taken at note {note_seq_at_backup}); back it up with probkup, or copy it and run rfutil mark backedup, then run rfutil aimage begin again"
    )]
    NotBackedUp {
        /// The master block's next note sequence.
        next_note_seq: u64,
        /// The next note sequence when the last backup was taken.
        note_seq_at_backup: u64,
    },
    /// `aimage begin` while after-imaging is on.
    #[error(
        "after-imaging is already enabled (busy AI extent {busy_extent}); run rfutil aimage end first to start again from a new backup"
    )]
    AiAlreadyEnabled {
        /// The busy extent's number.
        busy_extent: u32,
    },
    /// `aimage begin` with an extent that is not empty.
    #[error(
        "AI extent {ai_number} ({}) is {state}; after-imaging can begin only when every AI extent is empty: archive it, then run rfutil aimage extent empty {ai_number} (or rfutil aimage end)",
        path.display()
    )]
    ExtentNotEmpty {
        /// The file.
        path: PathBuf,
        /// Its AI extent number.
        ai_number: u32,
        /// Its state.
        state: AiState,
    },
    /// A switch (`aimage new`, backup, quiet point) while after-imaging is off.
    #[error("after-imaging is not enabled; run rfutil aimage begin after a backup to enable it")]
    AiNotEnabled,
    /// The next extent in circular order is not empty: the switch cannot happen.
    #[error(
        "Can't switch to after-image extent {} it is full. Backup ai extent and mark it as empty",
        path.display()
    )]
    NextExtentFull {
        /// The next extent's file.
        path: PathBuf,
    },
    /// A switch with a single AI extent: there is no other extent to switch to.
    #[error(
        "cannot switch from after-image extent {}: it is the only AI extent; add AI extents with prostrct add",
        path.display()
    )]
    OnlyOneExtent {
        /// The busy extent's file.
        path: PathBuf,
    },
    /// `aimage extent empty` without a number when no extent is full.
    #[error(
        "no AI extent is full, so there is none to empty; rfutil aimage extent list shows every extent's state"
    )]
    NoFullExtent,
    /// An AI extent number the database does not have.
    #[error(
        "the database has no AI extent {ai_number}; rfutil aimage extent list shows the extents"
    )]
    NoSuchExtent {
        /// The number asked for.
        ai_number: u32,
    },
    /// `aimage extent empty` of the busy extent.
    #[error(
        "AI extent {ai_number} ({}) is busy and cannot be emptied; switch to the next extent with rfutil aimage new first, archive it, then empty it",
        path.display()
    )]
    CannotEmptyBusy {
        /// The file.
        path: PathBuf,
        /// Its AI extent number.
        ai_number: u32,
    },
    /// `aimage extent empty` of an extent that is already empty.
    #[error("AI extent {ai_number} ({}) is already empty; nothing was changed", path.display())]
    AlreadyEmpty {
        /// The file.
        path: PathBuf,
        /// Its AI extent number.
        ai_number: u32,
    },
    /// `aimage extent empty` of a locked extent.
    #[error(
        "AI extent {ai_number} ({}) is locked: replication has not sent it yet; it becomes full once sent, and can be emptied then",
        path.display()
    )]
    CannotEmptyLocked {
        /// The file.
        path: PathBuf,
        /// Its AI extent number.
        ai_number: u32,
    },
    /// The AI extents and the master block disagree in a way no interrupted operation leaves.
    #[error(
        "the AI extents do not agree with the master block: {detail}; the files were changed or damaged: run rfutil aimage end (archive the full and busy extents first), back up the database, then rfutil aimage begin"
    )]
    Inconsistent {
        /// What disagrees.
        detail: String,
    },
    /// An earlier error left an operation on the extents half done in this process.
    #[error(
        "an earlier error interrupted {operation} on the AI extents; close and reopen the database, which finishes or undoes the interrupted step"
    )]
    NeedsReopen {
        /// The interrupted operation.
        operation: &'static str,
    },
    /// The master block could not be updated.
    #[error("cannot update the master block for the AI extents: {source}")]
    MasterBlock {
        /// Why.
        #[source]
        source: masterblock::Error,
    },
    /// `rfutil aiverify` found problems.
    #[error(
        "AI file {} failed verification with {problems} problem(s), the first at byte {offset}: {first}; do not roll it forward, use an archived copy",
        path.display()
    )]
    VerifyFailed {
        /// The file.
        path: PathBuf,
        /// How many problems.
        problems: usize,
        /// Offset of the first problem.
        offset: u64,
        /// The first problem.
        first: String,
    },
}

/// Every message number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (3774, "cannot switch to the next AI extent: it is full"),
    (90300, "I/O error on a note or AI extent file"),
    (
        90301,
        "malformed note (verified frame that breaks the format)",
    ),
    (90302, "AI extent has no valid header slot"),
    (90303, "AI extent header slot is invalid"),
    (90304, "AI extent's common extent header refused"),
    (90305, "AI extent damaged before the end of its notes"),
    (90306, "AI extent does not start with its switch note"),
    (
        90307,
        "AI extent header records more notes than the file holds",
    ),
    (90308, "fixed AI extent has the wrong size"),
    (90310, "AI extent belongs to another database"),
    (90311, "AI extent is not the one the structure names"),
    (90312, "fixed AI extent below the minimum size"),
    (90313, "aimage begin: the database has no AI extents"),
    (
        90314,
        "aimage begin: the database changed since its last backup",
    ),
    (90315, "aimage begin: after-imaging is already enabled"),
    (90316, "aimage begin: an AI extent is not empty"),
    (90317, "AI switch while after-imaging is off"),
    (90318, "AI switch with only one AI extent"),
    (90319, "aimage extent empty: no extent is full"),
    (90320, "no AI extent with that number"),
    (90321, "aimage extent empty: the extent is busy"),
    (90322, "aimage extent empty: the extent is already empty"),
    (90323, "aimage extent empty: the extent is locked"),
    (90324, "AI extents and master block disagree"),
    (
        90325,
        "AI extents left mid-operation by an earlier error: reopen",
    ),
    (90326, "master block update for the AI extents failed"),
    (90327, "aiverify found problems"),
];

impl Error {
    /// The message number (see [`MESSAGES`]).
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Io { .. } => 90300,
            Error::MalformedNote { .. } => 90301,
            Error::NoValidHeader { .. } => 90302,
            Error::BadHeader { .. } => 90303,
            Error::ExtentHeader { .. } => 90304,
            Error::DamagedExtent { .. } => 90305,
            Error::MissingSwitchNote { .. } => 90306,
            Error::UsedBeyondFile { .. } => 90307,
            Error::FixedSizeMismatch { .. } => 90308,
            Error::ForeignExtent { .. } => 90310,
            Error::WrongExtent { .. } => 90311,
            Error::FixedTooSmall { .. } => 90312,
            Error::NoAiExtents => 90313,
            Error::NotBackedUp { .. } => 90314,
            Error::AiAlreadyEnabled { .. } => 90315,
            Error::ExtentNotEmpty { .. } => 90316,
            Error::AiNotEnabled => 90317,
            Error::NextExtentFull { .. } => 3774,
            Error::OnlyOneExtent { .. } => 90318,
            Error::NoFullExtent => 90319,
            Error::NoSuchExtent { .. } => 90320,
            Error::CannotEmptyBusy { .. } => 90321,
            Error::AlreadyEmpty { .. } => 90322,
            Error::CannotEmptyLocked { .. } => 90323,
            Error::Inconsistent { .. } => 90324,
            Error::NeedsReopen { .. } => 90325,
            Error::MasterBlock { .. } => 90326,
            Error::VerifyFailed { .. } => 90327,
        }
    }
}
