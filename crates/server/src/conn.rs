//! One connection: the greeting, then requests answered in order, in one session with at most
//! one transaction.
//!
//! Invariants: the transaction borrows the database only inside [`serve_requests`], so when it
//! returns (the peer left, a bad frame, a shutdown request) the transaction has been rolled back
//! and the session's reference to the database dropped; a bad frame is logged once and ends
//! only this connection.

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use engine::{Database, Txn};
use masterblock::AreaNo;

use crate::admin;
use crate::broker::Shared;
use crate::error::{Error, Result};
use crate::protocol::{
    self, EmptyWhich, Extent, MAGIC, ParsedRequest, QuietSwitch, ReadOutcome, Request, Response,
    ShutdownMode, TableEntry, VERSION,
};

/// The engine's "after-image extent full" number: from a request that writes, the engine's log
/// has stopped and the server stops too.
const AI_EXTENT_FULL: u32 = 3774;

/// Rows per `Rows` frame at most.
const ROWS_PER_FRAME: usize = 256;
/// Payload bytes after which a `Rows` frame is sent.
const ROWS_FRAME_BYTES: usize = 64 << 10;

/// How the request loop ended.
enum End {
    /// The peer closed, or the connection broke.
    Gone,
    /// A frame was bad: logged, connection closed.
    BadFrame,
    /// The peer asked to stop the server.
    Shutdown(ShutdownMode),
}

struct Io {
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
}

impl Io {
    /// Sends an answer; it leaves the buffer once no further request is already buffered
    /// (a pipelining client's answers go out together).
    fn send(&mut self, response: &Response) -> std::io::Result<()> {
        let (kind, payload) = response.encode();
        self.writer
            .write_all(&protocol::encode_frame(kind, &payload))?;
        if self.reader.buffer().is_empty() {
            self.writer.flush()?;
        }
        Ok(())
    }

    /// The next request, `Ok(None)` when the peer is gone; `Err` for a bad frame.
    fn next(&mut self) -> Result<Option<Request>> {
        match protocol::read_frame(&mut self.reader) {
            Err(_) | Ok(Ok(ReadOutcome::Closed)) => Ok(None),
            Ok(Err(e)) => Err(e),
            Ok(Ok(ReadOutcome::Frame(frame))) => {
                if !protocol::is_request_kind(frame.kind) {
                    return Err(Error::UnknownKind { kind: frame.kind });
                }
                let parsed = ParsedRequest::decode(frame.kind, &frame.payload)?;
                parsed.validate().map(Some)
            }
        }
    }
}

/// Serves connection `id` until it ends.
pub(crate) fn run(shared: &Arc<Shared>, id: u64, stream: UnixStream) {
    let (Ok(read_half), Ok(write_half)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    let mut io = Io {
        reader: BufReader::new(read_half),
        writer: BufWriter::new(write_half),
    };
    let peer = match greet(shared, &mut io) {
        Ok(Some(pid)) => pid,
        Ok(None) => return,
        Err(e) => {
            bad_frame(shared, id, 0, &e);
            let _ = io.send(&Response::error(e.msg_number(), e.to_string()));
            return;
        }
    };
    let Some(db) = shared.database() else {
        let e = Error::ShuttingDown;
        let _ = io.send(&Response::error(e.msg_number(), e.to_string()));
        return;
    };
    let end = serve_requests(shared, &db, id, peer, &mut io);
    drop(db);
    match end {
        End::Gone | End::BadFrame => {}
        End::Shutdown(mode) => {
            let answer = match shared.request_stop(id, mode) {
                Ok(()) => Response::Done,
                Err(e) => Response::error(e.msg_number(), e.to_string()),
            };
            let _ = io.send(&answer);
            shared.answered();
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Reads the greeting and answers it; `Ok(Some(client pid))` when accepted.
fn greet(shared: &Shared, io: &mut Io) -> Result<Option<u32>> {
    let Some(first) = io.next()? else {
        return Ok(None);
    };
    let Request::Hello {
        magic,
        version,
        client_pid,
    } = first
    else {
        return Err(Error::Handshake {
            reason: format!("the first request is {}, not Hello", first.name()),
        });
    };
    if magic != MAGIC || version != VERSION {
        return Err(Error::Handshake {
            reason: format!("magic {magic:?} version {version} is not this protocol"),
        });
    }
    let hello = Response::HelloOk {
        magic: MAGIC,
        version: VERSION,
        server_pid: std::process::id(),
        db: shared.path.to_string(),
    };
    if io.send(&hello).is_err() {
        return Ok(None);
    }
    Ok(Some(client_pid))
}

fn bad_frame(shared: &Shared, id: u64, peer: u32, e: &Error) {
    shared.log(
        &format!(
            "closed connection {id} (client process {peer}) after a bad frame: {e} ({})",
            e.msg_number()
        ),
        Some(91104),
    );
}

fn serve_requests(shared: &Shared, db: &Database, id: u64, peer: u32, io: &mut Io) -> End {
    let mut txn: Option<Txn<'_>> = None;
    // A request of the open transaction failed: the rest of it is refused, its commit rolls
    // it back (a pipelining client sent them before it saw the error).
    let mut txn_failed = false;
    let end = loop {
        let request = match io.next() {
            Ok(Some(r)) => r,
            Ok(None) => break End::Gone,
            Err(e) => {
                bad_frame(shared, id, peer, &e);
                break End::BadFrame;
            }
        };
        if let Request::Shutdown { mode } = request {
            break End::Shutdown(mode);
        }
        if txn_failed && in_txn_request(&request) {
            let e = match request {
                Request::Rollback | Request::Commit => {
                    txn_failed = false;
                    let t = txn.take().expect("a failed transaction is open");
                    match (t.rollback(), matches!(request, Request::Commit)) {
                        (Err(e), _) => Error::Engine(e),
                        (Ok(()), true) => Error::TxnFailed,
                        (Ok(()), false) => {
                            if io.send(&Response::Done).is_err() {
                                break End::Gone;
                            }
                            continue;
                        }
                    }
                }
                _ => Error::TxnFailed,
            };
            if io
                .send(&Response::error(e.msg_number(), e.to_string()))
                .is_err()
            {
                break End::Gone;
            }
            continue;
        }
        if let Request::Scan { table } = &request {
            match txn.as_mut() {
                None => {
                    let e = Error::NoTxn;
                    if io
                        .send(&Response::error(e.msg_number(), e.to_string()))
                        .is_err()
                    {
                        break End::Gone;
                    }
                }
                Some(t) => match scan(t, table, io) {
                    Err(_) => break End::Gone,
                    Ok(failed) => txn_failed = failed,
                },
            }
            continue;
        }
        // Only a change of a transaction stops the log with 3774; the utilities that switch
        // (`AiNew`, `QuietEnable`, `ProbkupOnline`, the archiver) refuse and change nothing.
        let stops_log = in_txn_request(&request);
        let fails_txn = in_txn_request(&request) && txn.is_some();
        let (answer, log_stopped) = match handle(shared, db, &mut txn, request) {
            Ok(r) => (r, false),
            Err(e) => {
                txn_failed = fails_txn && txn.is_some();
                (
                    Response::error(e.msg_number(), e.to_string()),
                    stops_log && e.msg_number() == AI_EXTENT_FULL,
                )
            }
        };
        let sent = io.send(&answer);
        if log_stopped {
            shared.halt_ai_full();
        }
        if sent.is_err() {
            break End::Gone;
        }
    };
    if let Some(t) = txn.take() {
        let id_text = t.id();
        let rolled = t.rollback();
        if !matches!(end, End::Shutdown(_)) {
            shared.log(
                &format!(
                    "connection {id} (client process {peer}) ended with transaction {id_text} open: rolled back{}",
                    match rolled {
                        Ok(()) => String::new(),
                        Err(e) => format!(" with an error: {e} ({})", e.msg_number()),
                    }
                ),
                Some(91123),
            );
        }
    }
    end
}

/// `AddInteger`: the value read for update, the sum written back in the same decimal form.
fn add_integer(txn: &mut Txn<'_>, table: String, key: String, delta: i64) -> Result<()> {
    let Some(value) = txn.get_for_update(&table, &key)? else {
        return Err(Error::Engine(engine::Error::RecordNotFound { table, key }));
    };
    let sum = std::str::from_utf8(&value)
        .ok()
        .filter(|t| is_decimal(t))
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|v| v.checked_add(delta));
    match sum {
        Some(sum) => Ok(txn.update(&table, &key, sum.to_string().as_bytes())?),
        None => Err(Error::NotAnInteger { table, key, delta }),
    }
}

/// An optional `-` and digits without a leading zero (except `0` itself).
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
}

/// Requests that work on the open transaction: after one of them fails, the rest of the
/// transaction is refused.
fn in_txn_request(request: &Request) -> bool {
    matches!(
        request,
        Request::Get { .. }
            | Request::GetForUpdate { .. }
            | Request::Insert { .. }
            | Request::Update { .. }
            | Request::Delete { .. }
            | Request::AddInteger { .. }
            | Request::Scan { .. }
            | Request::CreateTable { .. }
            | Request::Commit
            | Request::Rollback
    )
}

fn open_txn<'a, 'db>(txn: &'a mut Option<Txn<'db>>) -> Result<&'a mut Txn<'db>> {
    txn.as_mut().ok_or(Error::NoTxn)
}

fn outside_txn(txn: &Option<Txn<'_>>, request: &'static str) -> Result<()> {
    match txn {
        Some(_) => Err(Error::InsideTxn { request }),
        None => Ok(()),
    }
}

fn handle<'db>(
    shared: &Shared,
    db: &'db Database,
    txn: &mut Option<Txn<'db>>,
    request: Request,
) -> Result<Response> {
    Ok(match request {
        Request::Hello { .. } => {
            return Err(Error::Handshake {
                reason: "Hello was already received".into(),
            });
        }
        Request::Begin => {
            if txn.is_some() {
                return Err(Error::TxnAlreadyOpen);
            }
            *txn = Some(db.begin()?);
            Response::Done
        }
        Request::Get { table, key } => Response::Value(open_txn(txn)?.get(&table, &key)?),
        Request::GetForUpdate { table, key } => {
            Response::Value(open_txn(txn)?.get_for_update(&table, &key)?)
        }
        Request::Insert { table, key, value } => {
            open_txn(txn)?.insert(&table, &key, &value)?;
            Response::Done
        }
        Request::Update { table, key, value } => {
            open_txn(txn)?.update(&table, &key, &value)?;
            Response::Done
        }
        Request::Delete { table, key } => {
            open_txn(txn)?.delete(&table, &key)?;
            Response::Done
        }
        Request::AddInteger { table, key, delta } => {
            add_integer(open_txn(txn)?, table, key, delta)?;
            Response::Done
        }
        Request::Commit => {
            txn.take().ok_or(Error::NoTxn)?.commit()?;
            Response::Done
        }
        Request::Rollback => {
            txn.take().ok_or(Error::NoTxn)?.rollback()?;
            Response::Done
        }
        Request::CreateTable { name, area } => {
            let area = (area != 0).then_some(AreaNo(area));
            match txn.as_mut() {
                Some(t) => t.create_table(&name, area)?,
                None => db.create_table(&name, area)?,
            }
            Response::Done
        }
        Request::Tables => {
            outside_txn(txn, "Tables")?;
            Response::TableList(
                db.tables()?
                    .into_iter()
                    .map(|t| TableEntry {
                        name: t.name,
                        area: t.area.0,
                        root: t.root.0,
                    })
                    .collect(),
            )
        }
        Request::AiExtents => {
            outside_txn(txn, "AiExtents")?;
            Response::Extents(db.ai_extents()?.iter().map(Extent::from).collect())
        }
        Request::ProbkupOnline {
            file,
            incremental,
            compress,
        } => {
            outside_txn(txn, "ProbkupOnline")?;
            admin::probkup_online(shared, db, &file, incremental, compress)?
        }
        Request::AiOff => {
            outside_txn(txn, "AiOff")?;
            admin::ai_off(shared, db)?
        }
        Request::MarkBackedup => {
            outside_txn(txn, "MarkBackedup")?;
            let mb = db.mark_backedup()?;
            Response::Report(vec![format!(
                "Database {} marked as backed up (backup {}).",
                shared.path, mb.backup_counter
            )])
        }
        Request::Archiver { command } => {
            outside_txn(txn, "Archiver")?;
            admin::archiver(shared, command)?
        }
        Request::AiNew => {
            outside_txn(txn, "AiNew")?;
            let s = db.ai_new()?;
            shared.log(
                &format!(
                    "aimage new: switched from after-image extent {} to {} (sequence {})",
                    s.from_extent, s.to_extent, s.new_seq.0
                ),
                None,
            );
            shared.wake_archiver();
            Response::Switched {
                from_extent: s.from_extent,
                to_extent: s.to_extent,
                new_seq: s.new_seq.0,
            }
        }
        Request::Describe => {
            outside_txn(txn, "Describe")?;
            let master = db.master();
            let catalogue = db
                .catalogue()
                .encode(master.db_id, 1)
                .map_err(|e| Error::Remote {
                    number: e.msg_number(),
                    text: e.to_string(),
                })?;
            let on_disk = engine::describe(&shared.storage, &shared.path)?;
            Response::Description {
                master: master.encode().to_vec(),
                catalogue,
                bi_size_bytes: on_disk.bi_size_bytes,
                extents: db.ai_extents()?.iter().map(Extent::from).collect(),
            }
        }
        Request::QuietEnable { nolock } => {
            outside_txn(txn, "QuietEnable")?;
            let point = db.quiet_enable(!nolock)?;
            let switched = match point.ai_switched {
                None => None,
                Some(s) => {
                    let to_path = db
                        .ai_extents()?
                        .into_iter()
                        .find(|e| e.ai_number == s.to_extent)
                        .map(|e| e.path.display().to_string())
                        .unwrap_or_default();
                    shared.log(
                        &format!(
                            "proquiet enable: switched from after-image extent {} to {} ({to_path}, sequence {})",
                            s.from_extent, s.to_extent, s.new_seq.0
                        ),
                        None,
                    );
                    Some(QuietSwitch {
                        from_extent: s.from_extent,
                        to_extent: s.to_extent,
                        new_seq: s.new_seq.0,
                        to_path,
                    })
                }
            };
            shared.wake_archiver();
            Response::QuietEnabled { switched }
        }
        Request::QuietDisable { markbackedup } => {
            outside_txn(txn, "QuietDisable")?;
            let marked = db.quiet_disable(markbackedup)?;
            Response::QuietDisabled {
                backup_counter: marked.map(|mb| mb.backup_counter),
            }
        }
        Request::AiExtentEmpty { which } => {
            outside_txn(txn, "AiExtentEmpty")?;
            let selector = match which {
                EmptyWhich::OldestFull => None,
                EmptyWhich::Number(n) => Some(engine::AiExtentSelector::Number(n)),
                EmptyWhich::Path(p) => Some(engine::AiExtentSelector::Path(p.into())),
            };
            Response::ExtentEmptied {
                extent: db.ai_extent_empty(selector)?,
            }
        }
        Request::Scan { .. } | Request::Shutdown { .. } => {
            unreachable!("handled by the request loop")
        }
    })
}

/// Streams `table` as `Rows` frames then `RowsEnd` (or `Error`); `Err` if the peer is gone.
/// Streams `table`'s rows; `Ok(true)` when the scan failed (its error was sent).
fn scan(txn: &mut Txn<'_>, table: &str, io: &mut Io) -> std::io::Result<bool> {
    let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut write_error = None;
    let scanned = txn.scan(table, &mut |key, value| {
        batch.push((key.to_owned(), value.to_vec()));
        batch_bytes += key.len() + value.len() + 8;
        if batch.len() >= ROWS_PER_FRAME || batch_bytes >= ROWS_FRAME_BYTES {
            let rows = std::mem::take(&mut batch);
            batch_bytes = 0;
            if let Err(e) = io.send(&Response::Rows(rows)) {
                write_error = Some(e);
                return false;
            }
        }
        true
    });
    if let Some(e) = write_error {
        return Err(e);
    }
    match scanned {
        Ok(()) => {
            if !batch.is_empty() {
                io.send(&Response::Rows(batch))?;
            }
            io.send(&Response::RowsEnd).map(|()| false)
        }
        Err(e) => io
            .send(&Response::error(e.msg_number(), e.to_string()))
            .map(|()| true),
    }
}
