//! The client end: a connection to a broker, its transactions, and the online utility
//! requests.
//!
//! Invariants: one caller uses a connection at a time (it is behind a mutex); requests whose
//! answer is only `Done` inside a transaction (`Begin`, `Insert`, `Update`, `Delete`,
//! `AddInteger`) are
//! pipelined: sent without waiting, their answers read before the next answer that carries
//! something, and the first error among them is what that next call returns (the server
//! fails the rest of a transaction after an error, so a commit behind a failed update is never
//! made); a scan's answer frames are always read to their end so the next request starts
//! clean; a [`ClientTxn`] dropped unfinished sends `Rollback`; every answer is decoded and
//! validated before use.

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aiextent::ExtentInfo;
use engine::{DbPath, Description};
use masterblock::AreaNo;
use parking_lot::Mutex;
use storage::StorageRef;

use crate::error::{Error, Result};
use crate::lockinfo::server_info;
use crate::protocol::{
    self, ArchiverCommand, BackupReport, EmptyWhich, MAGIC, ParsedResponse, QuietSwitch,
    ReadOutcome, Request, Response, ShutdownMode, TableEntry, VERSION,
};

/// How long the greeting may take.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Pipelined requests whose answers may be unread before the client reads them all (bounds
/// what either side buffers, so neither can block the other writing).
const MAX_PENDING: usize = 64;

struct Conn {
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
    socket: PathBuf,
    /// Pipelined requests sent whose `Done` (or error) is not read yet.
    pending: usize,
    /// The first error among pipelined answers already read, for the next call.
    deferred: Option<Error>,
    /// A [`ClientTxn`] of this connection is unfinished (a second `begin` is refused here,
    /// before anything is sent, so its drop cannot roll back the first).
    txn_open: bool,
}

impl Conn {
    /// Sends a request whose answer is `Done` without waiting for it.
    fn send_pipelined(&mut self, request: &Request) -> Result<()> {
        let (kind, payload) = request.encode();
        self.writer
            .write_all(&protocol::encode_frame(kind, &payload))
            .map_err(|e| Error::Disconnected {
                reason: format!("sending {}: {e}", request.name()),
            })?;
        self.pending += 1;
        if self.pending >= MAX_PENDING {
            self.writer.flush().map_err(|e| Error::Disconnected {
                reason: format!("sending {}: {e}", request.name()),
            })?;
            if let Some(e) = self.drain() {
                self.deferred.get_or_insert(e);
            }
        }
        Ok(())
    }

    /// Reads the answers of the pipelined requests; the first error among them.
    fn drain(&mut self) -> Option<Error> {
        let mut first = self.deferred.take();
        while self.pending > 0 {
            self.pending -= 1;
            let failed = match self.receive("a pipelined request") {
                Ok(Response::Done) => continue,
                Ok(other) => unexpected("Done", &other),
                Err(e) => {
                    if matches!(e, Error::Disconnected { .. }) {
                        self.pending = 0;
                    }
                    e
                }
            };
            first.get_or_insert(failed);
        }
        first
    }

    fn send(&mut self, request: &Request) -> Result<()> {
        let (kind, payload) = request.encode();
        let frame = protocol::encode_frame(kind, &payload);
        self.writer
            .write_all(&frame)
            .and_then(|()| self.writer.flush())
            .map_err(|e| Error::Disconnected {
                reason: format!("sending {}: {e}", request.name()),
            })
    }

    /// The next answer; an `Error` answer becomes [`Error::Remote`].
    fn receive(&mut self, context: &'static str) -> Result<Response> {
        let outcome = protocol::read_frame(&mut self.reader).map_err(|e| Error::Disconnected {
            reason: format!("waiting for the answer to {context}: {e}"),
        })?;
        let frame = match outcome? {
            ReadOutcome::Frame(frame) => frame,
            ReadOutcome::Closed => {
                return Err(Error::Disconnected {
                    reason: format!("waiting for the answer to {context}"),
                });
            }
        };
        if !protocol::is_response_kind(frame.kind) {
            return Err(Error::UnexpectedAnswer {
                expected: "an answer",
                got: "a request",
            });
        }
        match ParsedResponse::decode(frame.kind, &frame.payload)?.validate()? {
            Response::Error { number, text } => Err(Error::Remote { number, text }),
            other => Ok(other),
        }
    }

    /// Sends `request` and reads its answer (after those of pipelined requests: the first
    /// error among them wins).
    fn call(&mut self, request: &Request) -> Result<Response> {
        self.send(request)?;
        let earlier = self.drain();
        let answer = self.receive(request.name());
        match earlier {
            Some(e) => Err(e),
            None => answer,
        }
    }
}

/// A connection to a broker: one session.
pub struct Client {
    conn: Mutex<Conn>,
    server_pid: u32,
    db: String,
}

fn unexpected(expected: &'static str, got: &Response) -> Error {
    Error::UnexpectedAnswer {
        expected,
        got: got.name(),
    }
}

impl Client {
    /// Connects to the broker listening on `socket` and exchanges the greeting.
    pub fn connect(socket: &Path) -> Result<Client> {
        let stream = UnixStream::connect(socket).map_err(Error::io("connect to", socket))?;
        let io = |e| Error::io("set up the connection to", socket)(e);
        stream.set_read_timeout(Some(HELLO_TIMEOUT)).map_err(io)?;
        let mut conn = Conn {
            reader: BufReader::new(stream.try_clone().map_err(io)?),
            writer: BufWriter::new(stream.try_clone().map_err(io)?),
            socket: socket.to_path_buf(),
            pending: 0,
            deferred: None,
            txn_open: false,
        };
        let hello = conn.call(&Request::Hello {
            magic: MAGIC,
            version: VERSION,
            client_pid: std::process::id(),
        })?;
        let Response::HelloOk {
            magic,
            version,
            server_pid,
            db,
        } = hello
        else {
            return Err(unexpected("HelloOk", &hello));
        };
        if magic != MAGIC || version != VERSION {
            return Err(Error::Handshake {
                reason: format!("the server answered magic {magic:?} version {version}"),
            });
        }
        stream.set_read_timeout(None).map_err(io)?;
        Ok(Client {
            conn: Mutex::new(conn),
            server_pid,
            db,
        })
    }

    /// Connects to the server of `db` if `db.lk` names one and its socket answers; `Ok(None)`
    /// when no server runs.
    pub fn connect_db(storage: &StorageRef, db: &DbPath) -> Option<Client> {
        let info = server_info(storage, db)?;
        Client::connect(&info.socket).ok()
    }

    /// The broker's process id.
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// The database the broker serves, as it names it.
    pub fn database(&self) -> &str {
        &self.db
    }

    /// The socket this client is connected to.
    pub fn socket(&self) -> PathBuf {
        self.conn.lock().socket.clone()
    }

    fn call(&self, request: &Request) -> Result<Response> {
        self.conn.lock().call(request)
    }

    fn call_done(&self, request: &Request) -> Result<()> {
        match self.call(request)? {
            Response::Done => Ok(()),
            other => Err(unexpected("Done", &other)),
        }
    }

    fn pipeline(&self, request: &Request) -> Result<()> {
        self.conn.lock().send_pipelined(request)
    }

    /// Ends the open transaction with `Commit` or `Rollback`.
    fn finish(&self, request: &Request) -> Result<()> {
        let mut conn = self.conn.lock();
        conn.txn_open = false;
        match conn.call(request)? {
            Response::Done => Ok(()),
            other => Err(unexpected("Done", &other)),
        }
    }

    /// Starts this session's transaction (pipelined: a refusal by the server comes with the
    /// next answer); refused at once while another is open on this connection.
    pub fn begin(&self) -> Result<ClientTxn<'_>> {
        {
            let mut conn = self.conn.lock();
            if conn.txn_open {
                return Err(Error::TxnAlreadyOpen);
            }
            conn.send_pipelined(&Request::Begin)?;
            conn.txn_open = true;
        }
        Ok(ClientTxn {
            client: self,
            finished: false,
        })
    }

    /// Every table, sorted by name.
    pub fn tables(&self) -> Result<Vec<TableEntry>> {
        match self.call(&Request::Tables)? {
            Response::TableList(list) => Ok(list),
            other => Err(unexpected("TableList", &other)),
        }
    }

    /// Creates a table in its own transaction (`area` `None`: the Schema Area).
    pub fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<()> {
        self.call_done(&Request::CreateTable {
            name: name.to_owned(),
            area: area.map_or(0, |a| a.0),
        })
    }

    /// The AI extents as the server has them.
    pub fn ai_extents(&self) -> Result<Vec<ExtentInfo>> {
        match self.call(&Request::AiExtents)? {
            Response::Extents(list) => Ok(list.into_iter().map(ExtentInfo::from).collect()),
            other => Err(unexpected("Extents", &other)),
        }
    }

    /// `aimage new` online: (extent now full, extent now busy, its sequence).
    pub fn ai_new(&self) -> Result<(u32, u32, u64)> {
        match self.call(&Request::AiNew)? {
            Response::Switched {
                from_extent,
                to_extent,
                new_seq,
            } => Ok((from_extent, to_extent, new_seq)),
            other => Err(unexpected("Switched", &other)),
        }
    }

    /// Master block, catalogue, BI size and AI extents as the server has them.
    pub fn describe(&self) -> Result<Description> {
        let answer = self.call(&Request::Describe)?;
        let Response::Description {
            master,
            catalogue,
            bi_size_bytes,
            extents,
        } = answer
        else {
            return Err(unexpected("Description", &answer));
        };
        let bad = |what: &str, number: u32, text: String| Error::Malformed {
            kind: 0x800A,
            reason: format!("the {what} does not decode: {text} ({number})"),
        };
        let master = masterblock::MasterBlock::decode(&master)
            .and_then(|p| p.validate())
            .map_err(|e| bad("master block", e.msg_number(), e.to_string()))?;
        let (catalogue, _, _) = structure::Catalogue::decode(&catalogue)
            .and_then(|p| p.validate())
            .map_err(|e| bad("catalogue", e.msg_number(), e.to_string()))?;
        Ok(Description {
            master,
            catalogue,
            bi_size_bytes,
            ai_extents: extents.into_iter().map(ExtentInfo::from).collect(),
        })
    }

    /// `proquiet enable [nolock]`: returns once the quiet point holds, with the AI switch it
    /// made first (none with `nolock` or after-imaging off).
    pub fn quiet_enable(&self, nolock: bool) -> Result<Option<QuietSwitch>> {
        match self.call(&Request::QuietEnable { nolock })? {
            Response::QuietEnabled { switched } => Ok(switched),
            other => Err(unexpected("QuietEnabled", &other)),
        }
    }

    /// `proquiet disable [markbackedup]`: the backup counter recorded, with `markbackedup`.
    pub fn quiet_disable(&self, markbackedup: bool) -> Result<Option<u64>> {
        match self.call(&Request::QuietDisable { markbackedup })? {
            Response::QuietDisabled { backup_counter } => Ok(backup_counter),
            other => Err(unexpected("QuietDisabled", &other)),
        }
    }

    /// `aimage extent empty` online: the number of the extent now Empty.
    pub fn ai_extent_empty(&self, which: EmptyWhich) -> Result<u32> {
        match self.call(&Request::AiExtentEmpty { which })? {
            Response::ExtentEmptied { extent } => Ok(extent),
            other => Err(unexpected("ExtentEmptied", &other)),
        }
    }

    /// `probkup online`: the server writes the backup file `file` (absolute) while updates
    /// go on; its report once the file and the master block are durable.
    pub fn probkup_online(
        &self,
        file: &Path,
        incremental: bool,
        compress: bool,
    ) -> Result<BackupReport> {
        match self.call(&Request::ProbkupOnline {
            file: file.display().to_string(),
            incremental,
            compress,
        })? {
            Response::BackupDone(report) => Ok(report),
            other => Err(unexpected("BackupDone", &other)),
        }
    }

    /// `rfutil mark backedup` online; the lines to print.
    pub fn mark_backedup(&self) -> Result<Vec<String>> {
        self.report(&Request::MarkBackedup)
    }

    /// `rfutil aimage aioff`: after-imaging off online; the lines to print.
    pub fn ai_off(&self) -> Result<Vec<String>> {
        self.report(&Request::AiOff)
    }

    /// `rfutil aiarchiver ...` or `aiarchive extent` online; the lines to print.
    pub fn archiver(&self, command: ArchiverCommand) -> Result<Vec<String>> {
        self.report(&Request::Archiver { command })
    }

    fn report(&self, request: &Request) -> Result<Vec<String>> {
        match self.call(request)? {
            Response::Report(lines) => Ok(lines),
            other => Err(unexpected("Report", &other)),
        }
    }

    /// Asks the server to stop; returns once it has (`-by`, `-bn`) or is about to (`-F`).
    pub fn shutdown(self, mode: ShutdownMode) -> Result<()> {
        self.call_done(&Request::Shutdown { mode })
    }
}

/// A transaction of a [`Client`]; dropped unfinished, it is rolled back.
pub struct ClientTxn<'c> {
    client: &'c Client,
    finished: bool,
}

impl ClientTxn<'_> {
    fn value(&self, request: &Request) -> Result<Option<Vec<u8>>> {
        match self.client.call(request)? {
            Response::Value(v) => Ok(v),
            other => Err(unexpected("Value", &other)),
        }
    }

    /// The value of `key` in `table`.
    pub fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.value(&Request::Get {
            table: table.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The value of `key` in `table`, the table locked for update.
    pub fn get_for_update(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.value(&Request::GetForUpdate {
            table: table.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Inserts a record (pipelined: an error comes with the next answer).
    pub fn insert(&self, table: &str, key: &str, value: &[u8]) -> Result<()> {
        self.client.pipeline(&Request::Insert {
            table: table.to_owned(),
            key: key.to_owned(),
            value: value.to_vec(),
        })
    }

    /// Replaces a record's value (pipelined: an error comes with the next answer).
    pub fn update(&self, table: &str, key: &str, value: &[u8]) -> Result<()> {
        self.client.pipeline(&Request::Update {
            table: table.to_owned(),
            key: key.to_owned(),
            value: value.to_vec(),
        })
    }

    /// Adds `delta` to a record whose value is a decimal integer, locked for update
    /// (pipelined: an error comes with the next answer).
    pub fn add_integer(&self, table: &str, key: &str, delta: i64) -> Result<()> {
        self.client.pipeline(&Request::AddInteger {
            table: table.to_owned(),
            key: key.to_owned(),
            delta,
        })
    }

    /// Deletes a record (pipelined: an error comes with the next answer).
    pub fn delete(&self, table: &str, key: &str) -> Result<()> {
        self.client.pipeline(&Request::Delete {
            table: table.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Creates a table in this transaction.
    pub fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<()> {
        self.client.call_done(&Request::CreateTable {
            name: name.to_owned(),
            area: area.map_or(0, |a| a.0),
        })
    }

    /// Calls `f` on every record of `table` in key order until it returns false (the rest of
    /// the stream is read and dropped).
    pub fn scan(&self, table: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<()> {
        let mut conn = self.client.conn.lock();
        conn.send(&Request::Scan {
            table: table.to_owned(),
        })?;
        let earlier = conn.drain();
        let mut going = earlier.is_none();
        let streamed = loop {
            match conn.receive("Scan") {
                Ok(Response::Rows(rows)) => {
                    for (key, value) in rows {
                        if going {
                            going = f(&key, &value);
                        }
                    }
                }
                Ok(Response::RowsEnd) => break Ok(()),
                Ok(other) => break Err(unexpected("Rows", &other)),
                Err(e) => break Err(e),
            }
        };
        match earlier {
            Some(e) => Err(e),
            None => streamed,
        }
    }

    /// Commits; `Ok` once the commit is durable.
    pub fn commit(mut self) -> Result<()> {
        self.finished = true;
        self.client.finish(&Request::Commit)
    }

    /// Rolls the transaction back.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        self.client.finish(&Request::Rollback)
    }
}

impl Drop for ClientTxn<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.client.finish(&Request::Rollback);
        }
    }
}

/// Opens one [`Client`] per workload thread on a server's socket.
#[derive(Clone, Debug)]
pub struct ServerConnector {
    socket: PathBuf,
}

impl ServerConnector {
    /// Connects to the broker on `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> ServerConnector {
        ServerConnector {
            socket: socket.into(),
        }
    }

    /// The socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}
