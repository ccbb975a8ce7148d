//! The crate's one error type, [`Error`], and its message numbers (90300-90399).
//!
//! Invariant: every variant has its own number, listed in [`MESSAGES`]; Display text says what
//! is wrong and what to do, without the number.

use std::io;
use std::path::PathBuf;

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
}

/// Every message number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
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
        }
    }
}
