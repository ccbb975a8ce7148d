//! The workload error enum: every failure of a load, run or check, each with its message number
//! (90800-90849, or the engine's own number for a wrapped engine error).

/// What went wrong while loading, running or checking a workload.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine refused an operation; its own message number applies.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The demo data is loaded only into a database that has none of its tables.
    #[error(
        "table {table} already exists: the sports2000 demo data loads only into a database \
         without its tables; create a new empty database and load it there"
    )]
    AlreadyLoaded {
        /// The table that already exists.
        table: String,
    },
    /// A table the workload needs does not exist.
    #[error("table {table} does not exist: {hint}")]
    MissingTable {
        /// The missing table.
        table: String,
        /// What to run to create it.
        hint: &'static str,
    },
    /// A record the workload needs does not exist.
    #[error(
        "record {key} of table {table} does not exist: the database does not hold the data \
         this workload expects; load it again or use the settings it was loaded with"
    )]
    MissingRecord {
        /// The table searched.
        table: String,
        /// The key not found.
        key: String,
    },
    /// A record's value is not text.
    #[error(
        "record {key} of table {table} is not text: the record was not written by this workload"
    )]
    NotText {
        /// The table of the record.
        table: String,
        /// The record's key.
        key: String,
    },
    /// A field of a record's value is missing, or is not a number in range.
    #[error(
        "record {key} of table {table} has no valid field {field}: the record was not written \
         by this workload or its value is out of range"
    )]
    BadField {
        /// The table of the record.
        table: String,
        /// The record's key.
        key: String,
        /// The field that is missing or not a number.
        field: &'static str,
    },
    /// A key does not have the form this workload writes.
    #[error("key {key} of table {table} does not have the form this workload writes")]
    BadKey {
        /// The table of the record.
        table: String,
        /// The unexpected key.
        key: String,
    },
    /// A setting of the workload is out of range.
    #[error("workload setting {setting} = {value} is invalid: {expected}")]
    InvalidSetting {
        /// The setting's name.
        setting: &'static str,
        /// The value given.
        value: u64,
        /// What the setting accepts.
        expected: &'static str,
    },
    /// TPC-B was run at a larger scale than the database was loaded with.
    #[error(
        "the TPC-B tables hold {branches} branches but the run asks for scale {scale}: \
         initialize at scale {scale} first or run at scale {branches} or less"
    )]
    ScaleMismatch {
        /// Branches found in the database.
        branches: u64,
        /// The scale asked for.
        scale: u32,
    },
    /// A table the workload draws records from is empty.
    #[error("table {table} is empty: load the sports2000 demo data into a new database first")]
    EmptyTable {
        /// The empty table.
        table: String,
    },
    /// A session other than the engine's (a server) refused an operation; the message and
    /// number are the ones it reported.
    #[error("{text}")]
    Session {
        /// The message number reported.
        number: u32,
        /// The message text reported (without the number).
        text: String,
    },
    /// One transaction met a deadlock on every attempt.
    #[error(
        "a transaction was rolled back after a deadlock {attempts} times in a row without \
         committing: run with fewer clients"
    )]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
    },
}

impl Error {
    /// The message number: 90800-90849, or the engine's number for [`Error::Engine`].
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Engine(e) => e.msg_number(),
            Error::AlreadyLoaded { .. } => 90800,
            Error::MissingTable { .. } => 90801,
            Error::MissingRecord { .. } => 90802,
            Error::NotText { .. } => 90803,
            Error::BadField { .. } => 90804,
            Error::BadKey { .. } => 90805,
            Error::InvalidSetting { .. } => 90806,
            Error::ScaleMismatch { .. } => 90807,
            Error::RetriesExhausted { .. } => 90808,
            Error::EmptyTable { .. } => 90809,
            Error::Session { number, .. } => *number,
        }
    }

    /// True if this is the engine's deadlock error: the transaction must be rolled back and
    /// may be retried.
    pub fn is_deadlock(&self) -> bool {
        match self {
            Error::Engine(engine::Error::Deadlock { .. }) => true,
            Error::Session { number, .. } => *number == deadlock_number(),
            _ => false,
        }
    }
}

/// The engine's message number for a deadlock, which a server reports as it is.
pub fn deadlock_number() -> u32 {
    engine::Error::Deadlock {
        txn: masterblock::TxnId(0),
    }
    .msg_number()
}

/// Every message number this crate defines, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (90800, "demo data table already exists"),
    (90801, "workload table does not exist"),
    (90802, "workload record does not exist"),
    (90803, "workload record is not text"),
    (90804, "workload record field missing or out of range"),
    (90805, "workload key has an unexpected form"),
    (90806, "workload setting out of range"),
    (90807, "TPC-B scale larger than the loaded tables"),
    (90808, "transaction retried too often after deadlocks"),
    (90809, "workload table is empty"),
];
