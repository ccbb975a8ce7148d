//! The server error enum: every failure of the broker, its protocol and its client, each with
//! its message number (91100-91199), the wrapped error's number for an engine, backup or
//! archiver error, or the number the server reported for a remote error.

use std::path::PathBuf;

/// What went wrong in the broker, on the wire or in a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine refused an operation; its own message number applies.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// An online backup failed; the backup's own message number applies.
    #[error(transparent)]
    Backup(#[from] backup::Error),
    /// The archiver refused or failed; its own message number applies.
    #[error(transparent)]
    Archiver(#[from] aiarchiver::Error),
    /// The server reported an error: its text and number, printed as they are.
    #[error("{text}")]
    Remote {
        /// The message number the server sent.
        number: u32,
        /// The message text the server sent.
        text: String,
    },
    /// The database is held by a running server.
    #[error(
        "the database is in use by a server (process {pid}, socket {socket}); use proshut first"
    )]
    ServedDatabase {
        /// The broker's process.
        pid: u32,
        /// Its socket.
        socket: PathBuf,
    },
    /// `Begin` while a transaction is open on the connection.
    #[error("a transaction is already open on this connection; commit or roll it back first")]
    TxnAlreadyOpen,
    /// A record request without an open transaction.
    #[error("no transaction is open on this connection; begin one first")]
    NoTxn,
    /// A request of a transaction in which an earlier request failed.
    #[error(
        "an earlier request of this transaction failed, so the transaction can only be rolled back (a commit rolls it back)"
    )]
    TxnFailed,
    /// `AddInteger` on a record whose value is not a decimal integer, or a sum out of range.
    #[error(
        "the value of `{key}` in table `{table}` is not a decimal integer that `{delta}` can be added to"
    )]
    NotAnInteger {
        /// Table.
        table: String,
        /// Key.
        key: String,
        /// What was to be added.
        delta: i64,
    },
    /// The first frame was not a valid greeting.
    #[error("the connection greeting was refused: {reason}")]
    Handshake {
        /// What was wrong with it.
        reason: String,
    },
    /// `proshut -bn` with clients connected.
    #[error(
        "{clients} client(s) are connected: proshut -bn stops only an idle server; nothing was stopped (use -by to disconnect them)"
    )]
    ClientsConnected {
        /// Other clients connected.
        clients: usize,
    },
    /// A socket operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A request that is refused inside a transaction.
    #[error("{request} is refused while a transaction is open; commit or roll it back first")]
    InsideTxn {
        /// The request's name.
        request: &'static str,
    },
    /// No server runs for the database.
    #[error("no server is running for database {db} (its lock file does not name a live server)")]
    NoServer {
        /// The database.
        db: String,
    },
    /// The server closed the connection or stopped answering.
    #[error("the server closed the connection: {reason}")]
    Disconnected {
        /// What the client was doing.
        reason: String,
    },
    /// The broker did not accept clients in time after `proserve`.
    #[error("the server for {db} did not accept clients within {seconds} s; see its .lg file")]
    StartTimeout {
        /// The database.
        db: String,
        /// Seconds waited.
        seconds: u64,
    },
    /// The socket path does not fit a Unix socket address.
    #[error(
        "the server socket path {path} is {bytes} bytes long, over the {limit}-byte limit of a Unix socket; move the database to a shorter path"
    )]
    SocketPathTooLong {
        /// The path.
        path: PathBuf,
        /// Its length.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A frame announced a payload over the limit.
    #[error("a frame announces {len} bytes of payload, over the {limit}-byte limit")]
    FrameTooLarge {
        /// Announced length.
        len: u32,
        /// The limit.
        limit: u32,
    },
    /// A frame of another protocol version.
    #[error("a frame has protocol version {version}; this program speaks version {expected}")]
    FrameVersion {
        /// Version found.
        version: u16,
        /// Version spoken.
        expected: u16,
    },
    /// A frame of an unknown kind.
    #[error("a frame has unknown kind {kind:#06x}")]
    UnknownKind {
        /// Kind found.
        kind: u16,
    },
    /// A frame whose checksum does not match.
    #[error("a frame's checksum is {actual:#010x}, expected {expected:#010x}: it was damaged")]
    FrameChecksum {
        /// Checksum in the header.
        expected: u32,
        /// Checksum computed.
        actual: u32,
    },
    /// A payload that does not decode or validate.
    #[error("a frame of kind {kind:#06x} is malformed: {reason}")]
    Malformed {
        /// The frame's kind.
        kind: u16,
        /// What is wrong.
        reason: String,
    },
    /// The peer sent a valid frame that does not answer the request.
    #[error("the peer answered {got} where {expected} was expected")]
    UnexpectedAnswer {
        /// What was expected.
        expected: &'static str,
        /// What came.
        got: &'static str,
    },
    /// The server is stopping and takes no more requests.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// A command that works only through a server found none.
    #[error(
        "{tool} works only on a database in service: no server runs for {db}; start one with proserve {db}"
    )]
    NotServed {
        /// The command.
        tool: &'static str,
        /// The database.
        db: String,
    },
    /// The broker process stopped during its start.
    #[error("the server for {db} stopped while starting: {detail}")]
    StartFailed {
        /// The database.
        db: String,
        /// What it reported.
        detail: String,
    },
}

impl Error {
    /// The message number: 91100-91199, the engine's for [`Error::Engine`], the reported one
    /// for [`Error::Remote`].
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Engine(e) => e.msg_number(),
            Error::Backup(e) => e.msg_number(),
            Error::Archiver(e) => e.msg_number(),
            Error::Remote { number, .. } => *number,
            Error::ServedDatabase { .. } => 91100,
            Error::TxnAlreadyOpen => 91101,
            Error::NoTxn => 91102,
            Error::Handshake { .. } => 91103,
            Error::ClientsConnected { .. } => 91105,
            Error::Io { .. } => 91106,
            Error::InsideTxn { .. } => 91107,
            Error::NoServer { .. } => 91108,
            Error::Disconnected { .. } => 91109,
            Error::StartTimeout { .. } => 91110,
            Error::SocketPathTooLong { .. } => 91113,
            Error::FrameTooLarge { .. } => 91114,
            Error::FrameVersion { .. } => 91115,
            Error::UnknownKind { .. } => 91116,
            Error::FrameChecksum { .. } => 91117,
            Error::Malformed { .. } => 91118,
            Error::UnexpectedAnswer { .. } => 91119,
            Error::ShuttingDown => 91120,
            Error::StartFailed { .. } => 91121,
            Error::NotServed { .. } => 91125,
            Error::TxnFailed => 91126,
            Error::NotAnInteger { .. } => 91127,
        }
    }

    /// True if the error is a damaged or hostile frame (the connection is closed).
    pub fn is_bad_frame(&self) -> bool {
        matches!(
            self,
            Error::FrameTooLarge { .. }
                | Error::FrameVersion { .. }
                | Error::UnknownKind { .. }
                | Error::FrameChecksum { .. }
                | Error::Malformed { .. }
                | Error::Handshake { .. }
        )
    }

    /// A socket error on `path`.
    pub(crate) fn io<'a>(
        action: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error + 'a {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Every message number this crate defines, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (91100, "database in use by a server: use proshut first"),
    (91101, "transaction already open on the connection"),
    (91102, "no transaction open on the connection"),
    (91103, "connection greeting refused"),
    (
        91104,
        "server closed a connection after a bad frame (event log)",
    ),
    (91105, "proshut -bn refused: clients connected"),
    (91106, "server socket operation failed"),
    (91107, "request refused inside a transaction"),
    (91108, "no server running for the database"),
    (91109, "server closed the connection"),
    (91110, "server did not accept clients in time"),
    (91112, "server started (event log)"),
    (91113, "server socket path too long"),
    (91114, "frame payload over the limit"),
    (91115, "frame of another protocol version"),
    (91116, "frame of unknown kind"),
    (91117, "frame checksum mismatch"),
    (91118, "frame payload malformed"),
    (91119, "unexpected answer from the peer"),
    (91120, "server shutting down"),
    (91121, "server stopped while starting"),
    (91122, "server stopped (event log)"),
    (
        91123,
        "client disconnected with a transaction open: rolled back (event log)",
    ),
    (
        91124,
        "server stopped by itself: the after-image extents are full, 3774 (event log)",
    ),
    (91125, "the command works only through a server"),
    (
        91126,
        "request refused: an earlier request of the transaction failed",
    ),
    (91127, "AddInteger on a value that is not a decimal integer"),
];
