//! The one error type of this crate. Every variant has a message number in 90200-90299 (see
//! `docs/messages.md`), returned by [`Error::msg_number`] and listed in [`MESSAGES`]; the
//! Display text never includes the number.

use std::path::PathBuf;

use masterblock::DbId;

/// Every way reading a `.st` file, building a catalogue or reading/writing it can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `.st` line does not follow the grammar.
    #[error("structure file line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// 1-based column (in characters) of the offending token.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An `e`, `ev`, `x` or `xv` extent type.
    #[error(
        "structure file line {line}, column {column}: extent type `{found}` is not supported; use `f SIZE` (fixed), `v SIZE` (variable with a maximum) or no size (variable)"
    )]
    UnsupportedExtentType {
        /// 1-based line number.
        line: usize,
        /// 1-based column of the extent type.
        column: usize,
        /// The extent type as written.
        found: String,
    },
    /// A `t` line.
    #[error(
        "structure file line {line}: transaction log areas are not supported; remove the `t` line"
    )]
    TransactionLogUnsupported {
        /// 1-based line number.
        line: usize,
    },
    /// `prostrct create` was given no `b` line.
    #[error(
        "the structure file has no `b` line; a database needs at least one before-image extent"
    )]
    MissingBiLine,
    /// `prostrct create` was given no `d` line for the Schema Area.
    #[error(
        "the structure file has no `d` line for the Schema Area; add one (a `d` line without area information belongs to the Schema Area)"
    )]
    MissingSchemaLine,
    /// A block size outside 1024, 2048, 4096, 8192.
    #[error("block size {block_size} is not supported; use 1024, 2048, 4096 or 8192")]
    InvalidBlockSize {
        /// The block size given, in bytes.
        block_size: u32,
    },
    /// A fixed size or variable maximum that does not hold whole blocks or is too small.
    #[error(
        "structure file line {line}: extent size {size_kib} KiB is invalid; it must be more than 32 KiB and a multiple of {multiple_kib} KiB (16 blocks)"
    )]
    BadExtentSize {
        /// 1-based line number.
        line: usize,
        /// The size given, in KiB.
        size_kib: u64,
        /// The size must be a multiple of this, in KiB.
        multiple_kib: u64,
    },
    /// A variable extent that is followed by another extent of the same area in one file.
    #[error(
        "structure file line {line}: the variable extent of area \"{area}\" is not its last; only the last extent of an area may be variable"
    )]
    VariableNotLast {
        /// 1-based line number of the variable extent.
        line: usize,
        /// The area's name.
        area: String,
    },
    /// `prostrct add` after an existing variable extent.
    #[error(
        "structure file line {line}: area \"{area}\" ends with the variable extent {path}; it must be made fixed before extents can be added after it"
    )]
    AddAfterVariable {
        /// 1-based line number of the extent being added.
        line: usize,
        /// The area's name.
        area: String,
        /// The existing variable extent.
        path: PathBuf,
    },
    /// Records per block outside 1, 2, 4, ..., 256.
    #[error(
        "structure file line {line}: {value} records per block is invalid; use 1, 2, 4, 8, 16, 32, 64, 128 or 256"
    )]
    RecordsPerBlock {
        /// 1-based line number.
        line: usize,
        /// The value given.
        value: u32,
    },
    /// Blocks per cluster outside 1, 8, 64, 512.
    #[error(
        "structure file line {line}: {value} blocks per cluster is invalid; use 1, 8, 64 or 512"
    )]
    BlocksPerCluster {
        /// 1-based line number.
        line: usize,
        /// The value given.
        value: u32,
    },
    /// An area number already used by an area with another name.
    #[error(
        "structure file line {line}: area number {number} is given to \"{name}\" but already belongs to \"{existing}\""
    )]
    AreaNumberConflict {
        /// 1-based line number.
        line: usize,
        /// The area number.
        number: u32,
        /// The name on this line.
        name: String,
        /// The name the number already has.
        existing: String,
    },
    /// An area name already used with another number.
    #[error(
        "structure file line {line}: area \"{name}\" is given number {number} but is already area {existing}"
    )]
    AreaNameConflict {
        /// 1-based line number.
        line: usize,
        /// The area name.
        name: String,
        /// The number on this line.
        number: u32,
        /// The number the area already has.
        existing: u32,
    },
    /// Some new areas are numbered and this one is not.
    #[error(
        "structure file line {line}: area \"{name}\" has no number, but other areas do; give every area a number or none"
    )]
    AreaNumbersIncomplete {
        /// 1-based line number.
        line: usize,
        /// The area without a number.
        name: String,
    },
    /// A data area number outside 7..=999 (6 is the Schema Area).
    #[error(
        "structure file line {line}: area number {number} is invalid; data areas are numbered 7 to 999"
    )]
    AreaNumberOutOfRange {
        /// 1-based line number.
        line: usize,
        /// The number given or assigned.
        number: u32,
    },
    /// Two extents with the same path.
    #[error("structure file line {line}: the extent path {path} is already used")]
    DuplicatePath {
        /// 1-based line number.
        line: usize,
        /// The resolved absolute path.
        path: PathBuf,
    },
    /// Area information that does not fit the line type.
    #[error(
        "structure file line {line}: area information \"{name}\" is not allowed on a `{kind}` line ({hint})"
    )]
    AreaInfoNotAllowed {
        /// 1-based line number.
        line: usize,
        /// The line type letter.
        kind: char,
        /// The area name given.
        name: String,
        /// What is allowed instead.
        hint: &'static str,
    },
    /// A `d` line uses a name reserved for the control, BI or AI areas.
    #[error(
        "structure file line {line}: \"{name}\" is a reserved area name; choose another name for the data area"
    )]
    ReservedAreaName {
        /// 1-based line number.
        line: usize,
        /// The name.
        name: String,
    },
    /// A later line of an area gives records per block or blocks per cluster that differ.
    #[error(
        "structure file line {line}: area \"{area}\" has {what} {existing}, but this line gives {given}"
    )]
    AreaAttributesConflict {
        /// 1-based line number.
        line: usize,
        /// The area.
        area: String,
        /// "records per block" or "blocks per cluster".
        what: &'static str,
        /// The area's value.
        existing: u32,
        /// The value on this line.
        given: u32,
    },
    /// The control area path is not an absolute `NAME.db` path.
    #[error("the control area path {path} must be an absolute path ending in `NAME.db`")]
    ControlPathInvalid {
        /// The path given.
        path: PathBuf,
    },
    /// `prostrct repair` with a `.st` that does not describe the database's areas and extents.
    #[error(
        "the structure file does not describe this database: {detail}; start from the output of `prostrct list` and change only the paths"
    )]
    RepairMismatch {
        /// What differs.
        detail: String,
    },
    /// A path that is not valid UTF-8 cannot be stored.
    #[error("the path {path} is not valid UTF-8 and cannot be stored in the catalogue")]
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
    /// The encoded catalogue does not fit its slot.
    #[error(
        "the catalogue needs {bytes} bytes but a slot holds {limit}; use fewer extents or shorter paths"
    )]
    TooLarge {
        /// Encoded size.
        bytes: u64,
        /// Slot size.
        limit: u64,
    },
    /// The slot does not start with the catalogue magic.
    #[error(
        "the catalogue has magic {found:?} instead of \"AIMGCATL\"; this is not an afterimage control area"
    )]
    BadMagic {
        /// The first 8 bytes, lossily as text.
        found: String,
    },
    /// An unknown format version.
    #[error("catalogue format version {version} is not supported (this program reads version 1)")]
    UnsupportedVersion {
        /// The version found.
        version: u16,
    },
    /// The stored checksum does not match the bytes.
    #[error(
        "catalogue checksum mismatch at byte {offset}: stored {expected:#010x}, computed {actual:#010x}"
    )]
    ChecksumMismatch {
        /// The checksum stored on disk.
        expected: u32,
        /// The checksum of the bytes read.
        actual: u32,
        /// Offset of the checksum within the slot.
        offset: u64,
    },
    /// The bytes end before the record does.
    #[error("the catalogue is truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// A checksummed catalogue whose contents are inconsistent.
    #[error("the catalogue is invalid (area {area}): {reason}")]
    CatalogueInvalid {
        /// The area concerned (0 when none).
        area: u32,
        /// What is inconsistent.
        reason: String,
    },
    /// A valid catalogue of another database.
    #[error(
        "the catalogue belongs to database {found}, not {expected}; the control area and extents are mixed up"
    )]
    WrongDatabase {
        /// The id the caller expected (hex).
        expected: String,
        /// The id stored (hex).
        found: String,
    },
    /// Neither slot holds a valid catalogue of this database.
    #[error(
        "no valid catalogue in the control area (slot 0: {slot0}; slot 1: {slot1}); restore the database from a backup"
    )]
    NoValidCatalogue {
        /// Why slot 0 was refused.
        slot0: Box<Error>,
        /// Why slot 1 was refused.
        slot1: Box<Error>,
    },
    /// Reading or writing the control area failed.
    #[error("cannot {op} the catalogue at byte {offset} of the control area: {source}")]
    Io {
        /// "read", "write" or "sync".
        op: &'static str,
        /// Byte offset in the control area.
        offset: u64,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// The message number printed after the text.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Parse { .. } => 90200,
            Error::UnsupportedExtentType { .. } => 90201,
            Error::TransactionLogUnsupported { .. } => 90202,
            Error::MissingBiLine => 90203,
            Error::MissingSchemaLine => 90204,
            Error::InvalidBlockSize { .. } => 90205,
            Error::BadExtentSize { .. } => 90206,
            Error::VariableNotLast { .. } => 90207,
            Error::AddAfterVariable { .. } => 90208,
            Error::RecordsPerBlock { .. } => 90209,
            Error::BlocksPerCluster { .. } => 90210,
            Error::AreaNumberConflict { .. } => 90211,
            Error::AreaNameConflict { .. } => 90212,
            Error::AreaNumbersIncomplete { .. } => 90213,
            Error::AreaNumberOutOfRange { .. } => 90214,
            Error::DuplicatePath { .. } => 90215,
            Error::AreaInfoNotAllowed { .. } => 90216,
            Error::ReservedAreaName { .. } => 90217,
            Error::AreaAttributesConflict { .. } => 90218,
            Error::ControlPathInvalid { .. } => 90219,
            Error::RepairMismatch { .. } => 90220,
            Error::NonUtf8Path { .. } => 90221,
            Error::TooLarge { .. } => 90222,
            Error::BadMagic { .. } => 90223,
            Error::UnsupportedVersion { .. } => 90224,
            Error::ChecksumMismatch { .. } => 90225,
            Error::Truncated { .. } => 90226,
            Error::CatalogueInvalid { .. } => 90227,
            Error::WrongDatabase { .. } => 90228,
            Error::NoValidCatalogue { .. } => 90229,
            Error::Io { .. } => 90230,
        }
    }

    /// [`Error::WrongDatabase`] for two ids.
    pub(crate) fn wrong_database(expected: DbId, found: DbId) -> Error {
        Error::WrongDatabase {
            expected: hex(&expected.0),
            found: hex(&found.0),
        }
    }

    /// [`Error::Parse`] shorthand.
    pub(crate) fn parse(line: usize, column: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            line,
            column,
            message: message.into(),
        }
    }

    /// [`Error::CatalogueInvalid`] shorthand.
    pub(crate) fn invalid(area: u32, reason: impl Into<String>) -> Error {
        Error::CatalogueInvalid {
            area,
            reason: reason.into(),
        }
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every message number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (90200, "structure file line does not follow the grammar"),
    (90201, "unsupported extent type (e, ev, x, xv)"),
    (90202, "transaction log areas are not supported"),
    (90203, "structure file has no b line"),
    (90204, "structure file has no d line for the Schema Area"),
    (90205, "unsupported block size"),
    (
        90206,
        "extent size too small or not a multiple of 16 blocks",
    ),
    (90207, "variable extent is not the last of its area"),
    (
        90208,
        "cannot add after a variable extent; make it fixed first",
    ),
    (90209, "invalid records per block"),
    (90210, "invalid blocks per cluster"),
    (90211, "area number already belongs to another area"),
    (90212, "area name already has another number"),
    (90213, "some areas are numbered and others are not"),
    (90214, "data area number out of range 7-999"),
    (90215, "extent path already used"),
    (90216, "area information not allowed on this line type"),
    (90217, "reserved area name on a d line"),
    (
        90218,
        "records per block or blocks per cluster differ between lines of an area",
    ),
    (90219, "control area path is not an absolute NAME.db path"),
    (
        90220,
        "structure file does not describe the database being repaired",
    ),
    (90221, "path is not valid UTF-8"),
    (90222, "catalogue does not fit its 64 KiB slot"),
    (90223, "catalogue magic mismatch"),
    (90224, "unsupported catalogue format version"),
    (90225, "catalogue checksum mismatch"),
    (90226, "catalogue truncated"),
    (90227, "catalogue contents inconsistent"),
    (90228, "catalogue belongs to another database"),
    (90229, "no valid catalogue slot in the control area"),
    (90230, "I/O error on the catalogue"),
];
