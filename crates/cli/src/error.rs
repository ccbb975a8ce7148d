//! The command-line layer's errors: its own (90700-90799) and every lower crate's, each with the
//! number it prints.

use std::path::PathBuf;

use engine::DbPath;

/// Every way a command can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong; the text says how to use it.
    #[error("{0}")]
    Usage(String),
    /// A file named on the command line cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file the command writes cannot be written.
    #[error("cannot write {path}: {source}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `prodb` was given a source that is neither a template nor an existing database.
    #[error("`{name}` is neither a built-in template (empty, sports2000) nor an existing database")]
    UnknownSource {
        /// What was given.
        name: String,
    },
    /// A line of an `exec` script is wrong.
    #[error("line {line}: {message}")]
    Script {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An `exec` script ended inside a transaction, which was rolled back.
    #[error("the script ended inside the transaction begun at line {begun_at}; it was rolled back")]
    UnfinishedTransaction {
        /// The line of the `begin`.
        begun_at: usize,
    },
    /// `get` found no record.
    #[error("no record with key `{key}` in table `{table}`")]
    NotFound {
        /// The table.
        table: String,
        /// The key.
        key: String,
    },
    /// The TPC-B sums differ after a workload: the database lost or half-applied a transaction.
    #[error(
        "TPC-B sums differ: accounts {accounts}, tellers {tellers}, branches {branches}, history {history}"
    )]
    Unbalanced {
        /// Sum of account balances.
        accounts: i128,
        /// Sum of teller balances.
        tellers: i128,
        /// Sum of branch balances.
        branches: i128,
        /// Sum of history deltas.
        history: i128,
    },
    /// An engine error on a database.
    #[error("{source}")]
    Engine {
        /// The database, for the event log.
        db: Option<DbPath>,
        /// The engine's error.
        source: Box<engine::Error>,
    },
    /// A structure-file error.
    #[error("{0}")]
    Structure(Box<structure::Error>),
    /// An after-image file cannot be read or is damaged (`scan`, `aiverify`).
    #[error("{0}")]
    Ai(Box<aiextent::Error>),
    /// `aimage query` or `aimage extent empty` named no extent.
    #[error("no after-image extent has {search} {value}")]
    NoSuchExtent {
        /// What was searched.
        search: String,
        /// The value.
        value: String,
    },
    /// `aimage full` found no full extent.
    #[error("no after-image extent is full")]
    NoFullExtent,
    /// A backup, restore or verify error (`probkup`, `prorest`).
    #[error("{source}")]
    Backup {
        /// The database, for the event log.
        db: Option<DbPath>,
        /// The backup crate's error.
        source: Box<backup::Error>,
    },
    /// An AI archiver error (`rfutil aiarchiver`, `aiarchive extent`).
    #[error("{source}")]
    Archiver {
        /// The database, for the event log.
        db: Option<DbPath>,
        /// The archiver's error.
        source: Box<aiarchiver::Error>,
    },
    /// A roll forward error (`rfutil roll forward`).
    #[error("{source}")]
    RollForward {
        /// The database, for the event log.
        db: Option<DbPath>,
        /// The rollforward crate's error.
        source: Box<rollforward::Error>,
    },
    /// A server or client error on a database (`proserve`, `proshut`, and any command that
    /// finds the database served).
    #[error("{source}")]
    Server {
        /// The database, for the event log.
        db: Option<DbPath>,
        /// The server crate's error.
        source: Box<server::Error>,
    },
    /// A workload error on a database.
    #[error("{source}")]
    Workload {
        /// The database, for the event log.
        db: Option<DbPath>,
        /// The workload's error.
        source: Box<workload::Error>,
    },
}

impl Error {
    /// The number printed after the message.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Usage(_) => 90700,
            Error::ReadFile { .. } => 90701,
            Error::WriteFile { .. } => 90702,
            Error::UnknownSource { .. } => 90703,
            Error::Script { .. } => 90704,
            Error::UnfinishedTransaction { .. } => 90705,
            Error::NotFound { .. } => 90706,
            Error::Unbalanced { .. } => 90707,
            Error::Engine { source, .. } => source.msg_number(),
            Error::Structure(e) => e.msg_number(),
            Error::Ai(e) => e.msg_number(),
            Error::NoSuchExtent { .. } => 90708,
            Error::NoFullExtent => 90709,
            Error::Workload { source, .. } => source.msg_number(),
            Error::Backup { source, .. } => source.msg_number(),
            Error::Archiver { source, .. } => source.msg_number(),
            Error::RollForward { source, .. } => source.msg_number(),
            Error::Server { source, .. } => source.msg_number(),
        }
    }

    /// The database the error concerns, if known.
    pub fn database(&self) -> Option<&DbPath> {
        match self {
            Error::Engine { db, .. }
            | Error::Workload { db, .. }
            | Error::Backup { db, .. }
            | Error::Archiver { db, .. }
            | Error::RollForward { db, .. }
            | Error::Server { db, .. } => db.as_ref(),
            _ => None,
        }
    }
}

impl From<aiextent::Error> for Error {
    fn from(e: aiextent::Error) -> Self {
        Error::Ai(Box::new(e))
    }
}

impl From<structure::Error> for Error {
    fn from(e: structure::Error) -> Self {
        Error::Structure(Box::new(e))
    }
}

/// An engine error that concerns no database yet (a bad database name).
pub(crate) fn no_db(source: engine::Error) -> Error {
    Error::Engine {
        db: None,
        source: Box::new(source),
    }
}

/// Wraps engine errors on `db` so they reach its event log.
pub(crate) fn on(db: &DbPath) -> impl Fn(engine::Error) -> Error + '_ {
    move |source| Error::Engine {
        db: Some(db.clone()),
        source: Box::new(source),
    }
}

impl Error {
    /// The error as the user should read it: "in use" (from any crate) on a database whose
    /// lock file names a running server becomes 91100, "in use by a server; use proshut first".
    pub(crate) fn or_served(self) -> Error {
        let in_use = engine::Error::InUse {
            path: PathBuf::new(),
            pid: 0,
        }
        .msg_number();
        if self.msg_number() != in_use {
            return self;
        }
        let Some(db) = self.database().cloned() else {
            return self;
        };
        match server::server_info(&crate::real_storage(), &db) {
            Some(info) => on_server(&db)(server::Error::ServedDatabase {
                pid: info.pid,
                socket: info.socket,
            }),
            None => self,
        }
    }
}

/// Wraps server errors on `db`.
pub(crate) fn on_server(db: &DbPath) -> impl Fn(server::Error) -> Error + '_ {
    move |source| Error::Server {
        db: Some(db.clone()),
        source: Box::new(source),
    }
}

/// Wraps workload errors on `db`.
pub(crate) fn on_workload(db: &DbPath) -> impl Fn(workload::Error) -> Error + '_ {
    move |source| Error::Workload {
        db: Some(db.clone()),
        source: Box::new(source),
    }
}

/// This crate's own numbers.
pub const MESSAGES: &[(u32, &str)] = &[
    (90700, "command line is wrong (usage)"),
    (90701, "cannot read a file named on the command line"),
    (90702, "cannot write an output file"),
    (90703, "prodb source is neither a template nor a database"),
    (90704, "exec script line is wrong"),
    (90705, "exec script ended inside a transaction"),
    (90706, "get found no record"),
    (90707, "TPC-B sums differ"),
    (90708, "no after-image extent matches the search"),
    (90709, "no after-image extent is full"),
];

/// Every message number of every crate, with the crate that owns it, sorted by number.
pub fn all_messages() -> Vec<(u32, &'static str, &'static str)> {
    let mut all = Vec::new();
    let sets: [(&str, &[(u32, &str)]); 11] = [
        ("masterblock", masterblock::MESSAGES),
        ("structure", structure::MESSAGES),
        ("aiextent", aiextent::MESSAGES),
        ("btree", btree::MESSAGES),
        ("engine", engine::MESSAGES),
        ("workload", workload::MESSAGES),
        ("backup", backup::MESSAGES),
        ("rollforward", rollforward::MESSAGES),
        ("server", server::MESSAGES),
        ("aiarchiver", aiarchiver::MESSAGES),
        ("cli", MESSAGES),
    ];
    for (krate, set) in sets {
        for &(number, text) in set {
            all.push((number, krate, text));
        }
    }
    all.sort_by_key(|m| m.0);
    all
}
