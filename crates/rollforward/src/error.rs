//! The one error type of roll forward. Every variant has a number: OpenEdge's where the
//! documentation names one (8019, 833, 17923), otherwise one of 91000-91099; wrapped errors of
//! the engine and of aiextent keep their own numbers. [`MESSAGES`] also lists the numbers of
//! the informational lines roll forward prints and logs.

use std::path::PathBuf;

use masterblock::{AiSeq, DbId, NoteSeq};

/// Every way a roll forward, `sequence` or `opunlock` can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not an after-image extent.
    #[error(
        "{} is not an after-image file ({reason}); give a file copied from an AI extent (db.aN)",
        path.display()
    )]
    NotAiFile {
        /// The file given.
        path: PathBuf,
        /// Why it is not one.
        reason: String,
    },
    /// The after-image file belongs to another database.
    #[error(
        "after-image file {} belongs to another database ({reason}); give the files of the database this one was copied or restored from",
        path.display()
    )]
    ForeignAiFile {
        /// The file given.
        path: PathBuf,
        /// The file's database identity.
        file_db: DbId,
        /// What differs.
        reason: String,
    },
    /// The after-image file is Empty: it holds no notes of any use.
    #[error(
        "after-image file {} is empty (it was never busy or was marked empty); give the file of the expected sequence",
        path.display()
    )]
    EmptyAiFile {
        /// The file given.
        path: PathBuf,
    },
    /// The file's AI sequence is not the one the database expects next.
    #[error(
        "Roll forward expected after-image file number {expected} but the file given ({}) is number {found}",
        path.display()
    )]
    WrongSequence {
        /// The file given.
        path: PathBuf,
        /// The master block's expected AI sequence.
        expected: AiSeq,
        /// The file's AI sequence.
        found: AiSeq,
    },
    /// The open stamps of the database and of the after-image file differ (831 and 832 were
    /// printed before).
    #[error(
        "Roll forward of {}: the dates of the database and the after-image file don't match; you have the wrong copy of one of them (was the database opened for update since the last roll forward?)",
        path.display()
    )]
    StampMismatch {
        /// The file given.
        path: PathBuf,
        /// The database's open stamp.
        db_stamp: u64,
        /// The stamp the file expects.
        file_stamp: u64,
    },
    /// `retry` on a database whose roll forward was not interrupted.
    #[error(
        "roll forward retry is only for a roll forward that was interrupted, and {path_stem} is {state}; run roll forward without retry"
    )]
    RetryNotNeeded {
        /// The database argument.
        path_stem: String,
        /// Its state.
        state: String,
    },
    /// A plain roll forward on a database whose roll forward was interrupted.
    #[error(
        "a roll forward of {path_stem} was interrupted; run `rfutil {path_stem} -C roll forward retry` with the file it was applying"
    )]
    RetryRequired {
        /// The database argument.
        path_stem: String,
    },
    /// The file starts after the database's next note: notes in between are missing.
    #[error(
        "after-image file {} starts at note {first_seq} but the database needs note {next} next: the notes between are missing",
        path.display()
    )]
    NoteGap {
        /// The file given.
        path: PathBuf,
        /// The file's first note.
        first_seq: NoteSeq,
        /// The database's next note.
        next: NoteSeq,
    },
    /// The database already holds changes after the end point asked for.
    #[error(
        "the database already holds {detail}, past the end point; roll forward cannot go back: restore the backup again and roll forward to the end point"
    )]
    PastStopPoint {
        /// What it holds.
        detail: String,
    },
    /// The file changed between the check and the apply (for example a busy extent emptied).
    #[error(
        "after-image file {} changed while it was being applied ({detail}); run roll forward retry with a stable copy of the file",
        path.display()
    )]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// What changed.
        detail: String,
    },
    /// An endtime that is not `yyyy:mm:dd:hh:mm:ss` local time.
    #[error("endtime `{text}` is not a local time yyyy:mm:dd:hh:mm:ss: {reason}")]
    InvalidEndTime {
        /// The text given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// The `-ailist` file cannot be read.
    #[error("cannot read the after-image file list {}: {source}", path.display())]
    ListFile {
        /// The list file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `-ailist` file names no file.
    #[error(
        "the after-image file list {} names no file (lines starting with `:`, `#` or `*` are comments)",
        path.display()
    )]
    EmptyList {
        /// The list file.
        path: PathBuf,
    },
    /// Roll forward already stopped at an endtime or endtrans point.
    #[error(
        "roll forward of {path_stem} stopped at its end point ({point}); further roll forward of this database is invalid: restore the backup again to roll forward further"
    )]
    StopReached {
        /// The database argument.
        path_stem: String,
        /// The end point, as recorded.
        point: String,
    },
    /// An after-image file cannot be read or is damaged.
    #[error("{source}")]
    Ai {
        /// The file.
        path: PathBuf,
        /// The reader's error.
        source: Box<aiextent::Error>,
    },
    /// An engine error on the target database.
    #[error(transparent)]
    Engine(#[from] engine::Error),
}

/// Every number roll forward uses, with a short description. The engine's numbers (1028,
/// 12428, ...) and aiextent's are in their own tables.
pub const MESSAGES: &[(u32, &str)] = &[
    (648, "after roll forward, re-enable after-imaging"),
    (659, "if you desire continued after-image protection"),
    (663, "warning: roll forward disables after-imaging"),
    (831, "roll forward: the database's open stamp and its time"),
    (
        832,
        "roll forward: the open stamp the after-image file expects",
    ),
    (
        833,
        "roll forward: database and after-image file do not match",
    ),
    (846, "after-image disabled"),
    (
        8019,
        "roll forward expected another after-image file number",
    ),
    (
        13292,
        "after-image extent management disabled for the database",
    ),
    (
        17923,
        "roll forward end point reached: further roll forward is invalid",
    ),
    (91000, "not an after-image file"),
    (91001, "after-image file of another database"),
    (91002, "after-image file is empty"),
    (91003, "roll forward retry on a database not interrupted"),
    (91004, "roll forward interrupted: use retry"),
    (
        91005,
        "after-image file starts after the database's next note",
    ),
    (91006, "database already past the roll forward end point"),
    (91007, "after-image file changed while being applied"),
    (91008, "invalid endtime"),
    (91009, "cannot read the after-image file list"),
    (91010, "after-image file list names no file"),
    (
        91040,
        "-ailist: a file that is not an after-image file is skipped",
    ),
    (91041, "-ailist: a file after the end point is not applied"),
    (
        91042,
        "retry: a file the interrupted roll forward finished is skipped",
    ),
    (91060, "roll forward summary"),
    (91061, "roll forward of one after-image file"),
    (91062, "roll forward left transactions in flight"),
];

impl Error {
    /// The number printed after the message.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::NotAiFile { .. } => 91000,
            Error::ForeignAiFile { .. } => 91001,
            Error::EmptyAiFile { .. } => 91002,
            Error::WrongSequence { .. } => 8019,
            Error::StampMismatch { .. } => 833,
            Error::RetryNotNeeded { .. } => 91003,
            Error::RetryRequired { .. } => 91004,
            Error::NoteGap { .. } => 91005,
            Error::PastStopPoint { .. } => 91006,
            Error::FileChanged { .. } => 91007,
            Error::InvalidEndTime { .. } => 91008,
            Error::ListFile { .. } => 91009,
            Error::EmptyList { .. } => 91010,
            Error::StopReached { .. } => 17923,
            Error::Ai { source, .. } => source.msg_number(),
            Error::Engine(e) => e.msg_number(),
        }
    }

    /// An [`Error::Ai`] on `path`.
    pub(crate) fn ai(path: &std::path::Path) -> impl FnOnce(aiextent::Error) -> Error + '_ {
        move |source| Error::Ai {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }
}

/// Result with roll forward's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
