//! The crate's one error type. Every variant has a fixed message number in 90100-90199
//! (see `docs/messages.md`); [`MESSAGES`] lists each number once with a short description.

use crate::ids::{AreaNo, DbId};

/// Everything that can go wrong reading or writing a master block or an extent header.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read, write or sync of the control area or an extent failed.
    #[error("cannot {op}: {source}; check the disk and the file's permissions")]
    Io {
        /// What was being done, e.g. "write master block".
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The record does not start with the expected magic: not a file of this kind.
    #[error(
        "bytes at offset {offset} start with \"{}\" instead of \"{}\": not an afterimage {what}; check the file name",
        .found.escape_ascii(),
        .expected.escape_ascii()
    )]
    BadMagic {
        /// The magic that was read.
        found: [u8; 8],
        /// The magic that was expected.
        expected: [u8; 8],
        /// What kind of record was expected ("master block" or "extent header").
        what: &'static str,
        /// Byte offset of the record in its file.
        offset: u64,
    },
    /// The record has a format version this program does not read.
    #[error(
        "{what} at offset {offset} has format version {found}, this program reads version {supported}; use a matching version of the tools"
    )]
    UnsupportedVersion {
        /// The version that was read.
        found: u16,
        /// The version this program reads.
        supported: u16,
        /// What kind of record it is.
        what: &'static str,
        /// Byte offset of the record in its file.
        offset: u64,
    },
    /// The stored checksum does not match the record: it is damaged or was torn by a crash.
    #[error(
        "{what} at offset {offset} is damaged: checksum {actual:#010x} does not match stored {expected:#010x}; restore the database from a backup"
    )]
    ChecksumMismatch {
        /// The checksum stored in the record.
        expected: u32,
        /// The checksum computed over the record's bytes.
        actual: u32,
        /// What kind of record it is.
        what: &'static str,
        /// Byte offset of the record in its file.
        offset: u64,
    },
    /// A field holds a value outside its allowed range.
    #[error(
        "field {field} holds the invalid value {value}; the file is damaged or was not written by afterimage"
    )]
    InvalidField {
        /// The field's name as in the format document.
        field: &'static str,
        /// The value found (or given), widened to `u64`.
        value: u64,
    },
    /// Fewer bytes were given than the record needs.
    #[error("{what} needs {needed} bytes but only {found} were available; the file is truncated")]
    Truncated {
        /// What kind of record it is.
        what: &'static str,
        /// Bytes the record needs.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// The record is all zeros: that slot was never written.
    #[error("{what} at offset {offset} was never written (all zeros)")]
    NeverWritten {
        /// What kind of record it is.
        what: &'static str,
        /// Byte offset of the record in its file.
        offset: u64,
    },
    /// Neither master block slot holds a valid master block.
    #[error(
        "the control area holds no valid master block (slot 0: {slot0}; slot 1: {slot1}); restore the database from a backup"
    )]
    NoValidSlot {
        /// Why slot 0 is not valid.
        slot0: String,
        /// Why slot 1 is not valid.
        slot1: String,
    },
    /// `ai_enabled` and `ai_busy_extent` disagree: a busy extent exists iff AI is on.
    #[error(
        "master block says after-imaging is {} but names busy AI extent {ai_busy_extent}; the master block is inconsistent",
        if *ai_enabled { "on" } else { "off" }
    )]
    AiBusyExtentMismatch {
        /// The `ai_enabled` flag.
        ai_enabled: bool,
        /// The busy extent number (0 for none).
        ai_busy_extent: u32,
    },
    /// An extent header names a database other than the one being opened.
    #[error(
        "extent belongs to database {found}, not to this database {expected}; remove it from the structure or run prostrct repair"
    )]
    ForeignExtent {
        /// This database's identity.
        expected: DbId,
        /// The identity in the extent header.
        found: DbId,
    },
    /// An extent header names another area or extent number than the catalogue expects.
    #[error(
        "extent header says area {found_area} extent {found_extent}, but the structure expects area {expected_area} extent {expected_extent}; check the extent's path or run prostrct repair"
    )]
    ExtentMismatch {
        /// Area the catalogue expects.
        expected_area: AreaNo,
        /// Extent number the catalogue expects.
        expected_extent: u32,
        /// Area in the header.
        found_area: AreaNo,
        /// Extent number in the header.
        found_extent: u32,
    },
}

/// Every message number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (90100, "I/O error on the control area or an extent header"),
    (90101, "bad magic: not an afterimage master block or extent"),
    (
        90102,
        "unsupported format version of a master block or extent header",
    ),
    (
        90103,
        "checksum mismatch in a master block or extent header",
    ),
    (
        90104,
        "invalid field value in a master block or extent header",
    ),
    (90105, "master block or extent header truncated"),
    (90106, "master block slot or extent header never written"),
    (90107, "no valid master block in either slot"),
    (90108, "ai_enabled and ai_busy_extent disagree"),
    (90109, "extent belongs to another database"),
    (90110, "extent header names another area or extent"),
];

impl Error {
    /// The message number, printed after the text as ` (N)`.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Io { .. } => 90100,
            Error::BadMagic { .. } => 90101,
            Error::UnsupportedVersion { .. } => 90102,
            Error::ChecksumMismatch { .. } => 90103,
            Error::InvalidField { .. } => 90104,
            Error::Truncated { .. } => 90105,
            Error::NeverWritten { .. } => 90106,
            Error::NoValidSlot { .. } => 90107,
            Error::AiBusyExtentMismatch { .. } => 90108,
            Error::ForeignExtent { .. } => 90109,
            Error::ExtentMismatch { .. } => 90110,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { op, source }
    }
}
