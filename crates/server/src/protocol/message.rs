//! Requests and answers: encoding, decoding into *parsed* messages (strings still raw bytes),
//! and `validate` into trusted ones (UTF-8, size limits).
//!
//! Invariant: `decode(encode(m))` then `validate` gives `m` back for every message; decoding
//! reads exactly the payload and fails on anything else.

use super::codec::{Reader, Writer};
pub use super::extent::Extent;
use super::extent::{get_extents, put_extents};
pub use super::kinds::{EmptyWhich, QuietSwitch, ShutdownMode, is_request_kind, is_response_kind};
use super::kinds::{kind, kind_name};
use crate::error::{Error, Result};

/// The greeting's magic.
pub const MAGIC: [u8; 8] = *b"AIWIRE01";
/// Longest table name, key or path in a message.
pub(super) const MAX_NAME_BYTES: usize = 4096;
/// Most elements of a list.
pub(super) const MAX_ELEMENTS: usize = 65_536;

/// A string as received: bytes not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawStr(pub Vec<u8>);

/// A request; `S` is [`String`] once validated, [`RawStr`] as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<S = String> {
    /// The greeting, first on every connection.
    Hello {
        /// Must be [`MAGIC`].
        magic: [u8; 8],
        /// The client's protocol version.
        version: u16,
        /// The client's process id.
        client_pid: u32,
    },
    /// Opens the session's transaction.
    Begin,
    /// Reads a record.
    Get {
        /// Table.
        table: S,
        /// Key.
        key: S,
    },
    /// Reads a record, table locked for update.
    GetForUpdate {
        /// Table.
        table: S,
        /// Key.
        key: S,
    },
    /// Inserts a record.
    Insert {
        /// Table.
        table: S,
        /// Key.
        key: S,
        /// Value.
        value: Vec<u8>,
    },
    /// Replaces a record's value.
    Update {
        /// Table.
        table: S,
        /// Key.
        key: S,
        /// Value.
        value: Vec<u8>,
    },
    /// Deletes a record.
    Delete {
        /// Table.
        table: S,
        /// Key.
        key: S,
    },
    /// Adds `delta` to a record whose value is a decimal integer, locked for update (as SQL's
    /// `SET balance = balance + delta`).
    AddInteger {
        /// Table.
        table: S,
        /// Key.
        key: S,
        /// What to add.
        delta: i64,
    },
    /// Streams every record of a table.
    Scan {
        /// Table.
        table: S,
    },
    /// Commits the transaction.
    Commit,
    /// Rolls the transaction back.
    Rollback,
    /// Creates a table.
    CreateTable {
        /// Table name.
        name: S,
        /// Area number, 0 for the Schema Area.
        area: u32,
    },
    /// Lists the tables.
    Tables,
    /// Stops the server.
    Shutdown {
        /// How.
        mode: ShutdownMode,
    },
    /// Lists the AI extents.
    AiExtents,
    /// Switches to the next AI extent.
    AiNew,
    /// Master block, catalogue, BI size and AI extents.
    Describe,
    /// `proquiet enable [nolock]`.
    QuietEnable {
        /// `nolock`: no AI switch.
        nolock: bool,
    },
    /// `proquiet disable [markbackedup]`.
    QuietDisable {
        /// `markbackedup`: record a backup at the quiet point first.
        markbackedup: bool,
    },
    /// `rfutil aimage extent empty [N | PATH]` online.
    AiExtentEmpty {
        /// Which extent.
        which: EmptyWhich<S>,
    },
}

/// A parsed request.
pub type ParsedRequest = Request<RawStr>;

/// A table in a [`Response::TableList`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableEntry<S = String> {
    /// Name.
    pub name: S,
    /// Area number.
    pub area: u32,
    /// Root block.
    pub root: u32,
}

/// An answer; `S` is [`String`] once validated, [`RawStr`] as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response<S = String> {
    /// The greeting accepted.
    HelloOk {
        /// [`MAGIC`].
        magic: [u8; 8],
        /// The server's protocol version.
        version: u16,
        /// The broker's process id.
        server_pid: u32,
        /// The database served.
        db: S,
    },
    /// Done, nothing to return.
    Done,
    /// A record's value, if any.
    Value(Option<Vec<u8>>),
    /// A batch of scanned records (more follow).
    Rows(Vec<(S, Vec<u8>)>),
    /// The scan is complete.
    RowsEnd,
    /// The tables.
    TableList(Vec<TableEntry<S>>),
    /// A refusal: message number and text.
    Error {
        /// Message number.
        number: u32,
        /// Text, without the number.
        text: S,
    },
    /// The AI extents.
    Extents(Vec<Extent<S>>),
    /// An AI switch.
    Switched {
        /// The extent now full.
        from_extent: u32,
        /// The extent now busy.
        to_extent: u32,
        /// Its sequence.
        new_seq: u64,
    },
    /// What `prostrct list | statistics` show.
    Description {
        /// The master block record encoding.
        master: Vec<u8>,
        /// A catalogue slot encoding.
        catalogue: Vec<u8>,
        /// BI file size.
        bi_size_bytes: u64,
        /// AI extents.
        extents: Vec<Extent<S>>,
    },
    /// A quiet point holds.
    QuietEnabled {
        /// The AI switch made first, if any.
        switched: Option<QuietSwitch<S>>,
    },
    /// The quiet point was lifted.
    QuietDisabled {
        /// The backup counter recorded (`markbackedup`), if any.
        backup_counter: Option<u64>,
    },
    /// An AI extent was marked Empty.
    ExtentEmptied {
        /// The N of `db.aN`.
        extent: u32,
    },
}

/// A parsed answer.
pub type ParsedResponse = Response<RawStr>;

fn put_table_key(w: &mut Writer, table: &str, key: &str) {
    w.bytes(table.as_bytes()).bytes(key.as_bytes());
}

impl Request {
    /// The frame kind and payload.
    pub fn encode(&self) -> (u16, Vec<u8>) {
        let mut w = Writer::default();
        let k = match self {
            Request::Hello {
                magic,
                version,
                client_pid,
            } => {
                w.raw(magic).u16(*version).u32(*client_pid);
                kind::HELLO
            }
            Request::Begin => kind::BEGIN,
            Request::Get { table, key } => {
                put_table_key(&mut w, table, key);
                kind::GET
            }
            Request::GetForUpdate { table, key } => {
                put_table_key(&mut w, table, key);
                kind::GET_FOR_UPDATE
            }
            Request::Insert { table, key, value } => {
                put_table_key(&mut w, table, key);
                w.bytes(value);
                kind::INSERT
            }
            Request::Update { table, key, value } => {
                put_table_key(&mut w, table, key);
                w.bytes(value);
                kind::UPDATE
            }
            Request::Delete { table, key } => {
                put_table_key(&mut w, table, key);
                kind::DELETE
            }
            Request::AddInteger { table, key, delta } => {
                put_table_key(&mut w, table, key);
                w.i64(*delta);
                kind::ADD_INTEGER
            }
            Request::Scan { table } => {
                w.bytes(table.as_bytes());
                kind::SCAN
            }
            Request::Commit => kind::COMMIT,
            Request::Rollback => kind::ROLLBACK,
            Request::CreateTable { name, area } => {
                w.bytes(name.as_bytes()).u32(*area);
                kind::CREATE_TABLE
            }
            Request::Tables => kind::TABLES,
            Request::Shutdown { mode } => {
                w.u8(mode.code());
                kind::SHUTDOWN
            }
            Request::AiExtents => kind::AI_EXTENTS,
            Request::AiNew => kind::AI_NEW,
            Request::Describe => kind::DESCRIBE,
            Request::QuietEnable { nolock } => {
                w.u8(u8::from(*nolock));
                kind::QUIET_ENABLE
            }
            Request::QuietDisable { markbackedup } => {
                w.u8(u8::from(*markbackedup));
                kind::QUIET_DISABLE
            }
            Request::AiExtentEmpty { which } => {
                match which {
                    EmptyWhich::OldestFull => w.u8(0),
                    EmptyWhich::Number(n) => w.u8(1).u32(*n),
                    EmptyWhich::Path(p) => w.u8(2).bytes(p.as_bytes()),
                };
                kind::AI_EXTENT_EMPTY
            }
        };
        (k, w.out)
    }

    /// The request's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "Hello",
            Request::Begin => "Begin",
            Request::Get { .. } => "Get",
            Request::GetForUpdate { .. } => "GetForUpdate",
            Request::Insert { .. } => "Insert",
            Request::Update { .. } => "Update",
            Request::Delete { .. } => "Delete",
            Request::AddInteger { .. } => "AddInteger",
            Request::Scan { .. } => "Scan",
            Request::Commit => "Commit",
            Request::Rollback => "Rollback",
            Request::CreateTable { .. } => "CreateTable",
            Request::Tables => "Tables",
            Request::Shutdown { .. } => "Shutdown",
            Request::AiExtents => "AiExtents",
            Request::AiNew => "AiNew",
            Request::Describe => "Describe",
            Request::QuietEnable { .. } => "QuietEnable",
            Request::QuietDisable { .. } => "QuietDisable",
            Request::AiExtentEmpty { .. } => "AiExtentEmpty",
        }
    }
}

impl ParsedRequest {
    /// Decodes a payload of kind `k`; nothing but the framing is checked.
    pub fn decode(k: u16, payload: &[u8]) -> Result<ParsedRequest> {
        let mut r = Reader::new(k, payload);
        let s = |r: &mut Reader<'_>| r.bytes().map(RawStr);
        let req = match k {
            kind::HELLO => Request::Hello {
                magic: r.array()?,
                version: r.u16()?,
                client_pid: r.u32()?,
            },
            kind::BEGIN => Request::Begin,
            kind::GET => Request::Get {
                table: s(&mut r)?,
                key: s(&mut r)?,
            },
            kind::GET_FOR_UPDATE => Request::GetForUpdate {
                table: s(&mut r)?,
                key: s(&mut r)?,
            },
            kind::INSERT => Request::Insert {
                table: s(&mut r)?,
                key: s(&mut r)?,
                value: r.bytes()?,
            },
            kind::UPDATE => Request::Update {
                table: s(&mut r)?,
                key: s(&mut r)?,
                value: r.bytes()?,
            },
            kind::DELETE => Request::Delete {
                table: s(&mut r)?,
                key: s(&mut r)?,
            },
            kind::ADD_INTEGER => Request::AddInteger {
                table: s(&mut r)?,
                key: s(&mut r)?,
                delta: r.i64()?,
            },
            kind::SCAN => Request::Scan { table: s(&mut r)? },
            kind::COMMIT => Request::Commit,
            kind::ROLLBACK => Request::Rollback,
            kind::CREATE_TABLE => Request::CreateTable {
                name: s(&mut r)?,
                area: r.u32()?,
            },
            kind::TABLES => Request::Tables,
            kind::SHUTDOWN => {
                let code = r.u8()?;
                Request::Shutdown {
                    mode: ShutdownMode::from_code(code)
                        .ok_or_else(|| r.bad(format!("shutdown mode {code} is unknown")))?,
                }
            }
            kind::AI_EXTENTS => Request::AiExtents,
            kind::AI_NEW => Request::AiNew,
            kind::DESCRIBE => Request::Describe,
            kind::QUIET_ENABLE => Request::QuietEnable { nolock: r.bool()? },
            kind::QUIET_DISABLE => Request::QuietDisable {
                markbackedup: r.bool()?,
            },
            kind::AI_EXTENT_EMPTY => Request::AiExtentEmpty {
                which: match r.u8()? {
                    0 => EmptyWhich::OldestFull,
                    1 => EmptyWhich::Number(r.u32()?),
                    2 => EmptyWhich::Path(s(&mut r)?),
                    other => return Err(r.bad(format!("extent selector {other} is unknown"))),
                },
            },
            other => {
                return Err(Error::UnexpectedAnswer {
                    expected: "a request",
                    got: kind_name(other),
                });
            }
        };
        r.finish()?;
        Ok(req)
    }

    /// Checks every string (UTF-8, at most 4,096 bytes) and gives the trusted request.
    pub fn validate(self) -> Result<Request> {
        let name = self.kind_for_errors();
        let v = |s: RawStr| text(name, s, MAX_NAME_BYTES);
        Ok(match self {
            Request::Hello {
                magic,
                version,
                client_pid,
            } => Request::Hello {
                magic,
                version,
                client_pid,
            },
            Request::Begin => Request::Begin,
            Request::Get { table, key } => Request::Get {
                table: v(table)?,
                key: v(key)?,
            },
            Request::GetForUpdate { table, key } => Request::GetForUpdate {
                table: v(table)?,
                key: v(key)?,
            },
            Request::Insert { table, key, value } => Request::Insert {
                table: v(table)?,
                key: v(key)?,
                value,
            },
            Request::Update { table, key, value } => Request::Update {
                table: v(table)?,
                key: v(key)?,
                value,
            },
            Request::Delete { table, key } => Request::Delete {
                table: v(table)?,
                key: v(key)?,
            },
            Request::AddInteger { table, key, delta } => Request::AddInteger {
                table: v(table)?,
                key: v(key)?,
                delta,
            },
            Request::Scan { table } => Request::Scan { table: v(table)? },
            Request::Commit => Request::Commit,
            Request::Rollback => Request::Rollback,
            Request::CreateTable { name, area } => Request::CreateTable {
                name: v(name)?,
                area,
            },
            Request::Tables => Request::Tables,
            Request::Shutdown { mode } => Request::Shutdown { mode },
            Request::AiExtents => Request::AiExtents,
            Request::AiNew => Request::AiNew,
            Request::Describe => Request::Describe,
            Request::QuietEnable { nolock } => Request::QuietEnable { nolock },
            Request::QuietDisable { markbackedup } => Request::QuietDisable { markbackedup },
            Request::AiExtentEmpty { which } => Request::AiExtentEmpty {
                which: match which {
                    EmptyWhich::OldestFull => EmptyWhich::OldestFull,
                    EmptyWhich::Number(n) => EmptyWhich::Number(n),
                    EmptyWhich::Path(p) => EmptyWhich::Path(v(p)?),
                },
            },
        })
    }

    fn kind_for_errors(&self) -> u16 {
        match self {
            Request::Get { .. } => kind::GET,
            Request::GetForUpdate { .. } => kind::GET_FOR_UPDATE,
            Request::Insert { .. } => kind::INSERT,
            Request::Update { .. } => kind::UPDATE,
            Request::Delete { .. } => kind::DELETE,
            Request::AddInteger { .. } => kind::ADD_INTEGER,
            Request::Scan { .. } => kind::SCAN,
            Request::CreateTable { .. } => kind::CREATE_TABLE,
            Request::AiExtentEmpty { .. } => kind::AI_EXTENT_EMPTY,
            _ => 0,
        }
    }
}

fn text(k: u16, s: RawStr, limit: usize) -> Result<String> {
    if s.0.len() > limit {
        return Err(Error::Malformed {
            kind: k,
            reason: format!(
                "a string of {} bytes is over the {limit}-byte limit",
                s.0.len()
            ),
        });
    }
    String::from_utf8(s.0).map_err(|_| Error::Malformed {
        kind: k,
        reason: "a string is not UTF-8".into(),
    })
}

impl<S> Response<S> {
    /// The answer's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Response::HelloOk { .. } => "HelloOk",
            Response::Done => "Done",
            Response::Value(_) => "Value",
            Response::Rows(_) => "Rows",
            Response::RowsEnd => "RowsEnd",
            Response::TableList(_) => "TableList",
            Response::Error { .. } => "Error",
            Response::Extents(_) => "Extents",
            Response::Switched { .. } => "Switched",
            Response::Description { .. } => "Description",
            Response::QuietEnabled { .. } => "QuietEnabled",
            Response::QuietDisabled { .. } => "QuietDisabled",
            Response::ExtentEmptied { .. } => "ExtentEmptied",
        }
    }
}

impl Response {
    /// The frame kind and payload.
    pub fn encode(&self) -> (u16, Vec<u8>) {
        let mut w = Writer::default();
        let k = match self {
            Response::HelloOk {
                magic,
                version,
                server_pid,
                db,
            } => {
                w.raw(magic)
                    .u16(*version)
                    .u32(*server_pid)
                    .bytes(db.as_bytes());
                kind::HELLO_OK
            }
            Response::Done => kind::DONE,
            Response::Value(v) => {
                w.opt_bytes(v.as_deref());
                kind::VALUE
            }
            Response::Rows(rows) => {
                w.count(rows.len());
                for (k, v) in rows {
                    w.bytes(k.as_bytes()).bytes(v);
                }
                kind::ROWS
            }
            Response::RowsEnd => kind::ROWS_END,
            Response::TableList(list) => {
                w.count(list.len());
                for t in list {
                    w.bytes(t.name.as_bytes()).u32(t.area).u32(t.root);
                }
                kind::TABLE_LIST
            }
            Response::Error { number, text } => {
                w.u32(*number).bytes(text.as_bytes());
                kind::ERROR
            }
            Response::Extents(list) => {
                put_extents(&mut w, list);
                kind::EXTENTS
            }
            Response::Switched {
                from_extent,
                to_extent,
                new_seq,
            } => {
                w.u32(*from_extent).u32(*to_extent).u64(*new_seq);
                kind::SWITCHED
            }
            Response::Description {
                master,
                catalogue,
                bi_size_bytes,
                extents,
            } => {
                w.bytes(master).bytes(catalogue).u64(*bi_size_bytes);
                put_extents(&mut w, extents);
                kind::DESCRIPTION
            }
            Response::QuietEnabled { switched } => {
                match switched {
                    None => w.u8(0),
                    Some(q) => w
                        .u8(1)
                        .u32(q.from_extent)
                        .u32(q.to_extent)
                        .u64(q.new_seq)
                        .bytes(q.to_path.as_bytes()),
                };
                kind::QUIET_ENABLED
            }
            Response::QuietDisabled { backup_counter } => {
                match backup_counter {
                    None => w.u8(0),
                    Some(c) => w.u8(1).u64(*c),
                };
                kind::QUIET_DISABLED
            }
            Response::ExtentEmptied { extent } => {
                w.u32(*extent);
                kind::EXTENT_EMPTIED
            }
        };
        (k, w.out)
    }

    /// The answer for an error, with its number.
    pub fn error(number: u32, text: impl Into<String>) -> Response {
        Response::Error {
            number,
            text: text.into(),
        }
    }
}

impl ParsedResponse {
    /// Decodes a payload of kind `k`; nothing but the framing is checked.
    pub fn decode(k: u16, payload: &[u8]) -> Result<ParsedResponse> {
        let mut r = Reader::new(k, payload);
        let resp = match k {
            kind::HELLO_OK => Response::HelloOk {
                magic: r.array()?,
                version: r.u16()?,
                server_pid: r.u32()?,
                db: RawStr(r.bytes()?),
            },
            kind::DONE => Response::Done,
            kind::VALUE => Response::Value(r.opt_bytes()?),
            kind::ROWS => {
                let n = r.count(8, MAX_ELEMENTS)?;
                let mut rows = Vec::with_capacity(n);
                for _ in 0..n {
                    rows.push((RawStr(r.bytes()?), r.bytes()?));
                }
                Response::Rows(rows)
            }
            kind::ROWS_END => Response::RowsEnd,
            kind::TABLE_LIST => {
                let n = r.count(12, MAX_ELEMENTS)?;
                let mut list = Vec::with_capacity(n);
                for _ in 0..n {
                    list.push(TableEntry {
                        name: RawStr(r.bytes()?),
                        area: r.u32()?,
                        root: r.u32()?,
                    });
                }
                Response::TableList(list)
            }
            kind::ERROR => Response::Error {
                number: r.u32()?,
                text: RawStr(r.bytes()?),
            },
            kind::EXTENTS => Response::Extents(get_extents(&mut r)?),
            kind::SWITCHED => Response::Switched {
                from_extent: r.u32()?,
                to_extent: r.u32()?,
                new_seq: r.u64()?,
            },
            kind::DESCRIPTION => Response::Description {
                master: r.bytes()?,
                catalogue: r.bytes()?,
                bi_size_bytes: r.u64()?,
                extents: get_extents(&mut r)?,
            },
            kind::QUIET_ENABLED => Response::QuietEnabled {
                switched: if r.bool()? {
                    Some(QuietSwitch {
                        from_extent: r.u32()?,
                        to_extent: r.u32()?,
                        new_seq: r.u64()?,
                        to_path: RawStr(r.bytes()?),
                    })
                } else {
                    None
                },
            },
            kind::QUIET_DISABLED => Response::QuietDisabled {
                backup_counter: if r.bool()? { Some(r.u64()?) } else { None },
            },
            kind::EXTENT_EMPTIED => Response::ExtentEmptied { extent: r.u32()? },
            other => {
                return Err(Error::UnexpectedAnswer {
                    expected: "an answer",
                    got: kind_name(other),
                });
            }
        };
        r.finish()?;
        Ok(resp)
    }

    /// Checks every string (UTF-8; names, keys and paths at most 4,096 bytes) and gives the
    /// trusted answer.
    pub fn validate(self) -> Result<Response> {
        let name = |k: u16| move |s: RawStr| text(k, s, MAX_NAME_BYTES);
        let extents = |k: u16, list: Vec<Extent<RawStr>>| -> Result<Vec<Extent>> {
            list.into_iter()
                .map(|e| {
                    Ok(Extent {
                        path: name(k)(e.path)?,
                        ai_number: e.ai_number,
                        area: e.area,
                        state: e.state,
                        ai_seq: e.ai_seq,
                        fixed: e.fixed,
                        size_kib: e.size_kib,
                        used_bytes: e.used_bytes,
                        open_stamp: e.open_stamp,
                        ai_begin_time: e.ai_begin_time,
                        busy_time: e.busy_time,
                        full_time: e.full_time,
                    })
                })
                .collect()
        };
        Ok(match self {
            Response::HelloOk {
                magic,
                version,
                server_pid,
                db,
            } => Response::HelloOk {
                magic,
                version,
                server_pid,
                db: name(kind::HELLO_OK)(db)?,
            },
            Response::Done => Response::Done,
            Response::Value(v) => Response::Value(v),
            Response::Rows(rows) => Response::Rows(
                rows.into_iter()
                    .map(|(k, v)| Ok((name(kind::ROWS)(k)?, v)))
                    .collect::<Result<_>>()?,
            ),
            Response::RowsEnd => Response::RowsEnd,
            Response::TableList(list) => Response::TableList(
                list.into_iter()
                    .map(|t| {
                        Ok(TableEntry {
                            name: name(kind::TABLE_LIST)(t.name)?,
                            area: t.area,
                            root: t.root,
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
            Response::Error { number, text: t } => Response::Error {
                number,
                text: text(kind::ERROR, t, super::MAX_PAYLOAD_BYTES as usize)?,
            },
            Response::Extents(list) => Response::Extents(extents(kind::EXTENTS, list)?),
            Response::Switched {
                from_extent,
                to_extent,
                new_seq,
            } => Response::Switched {
                from_extent,
                to_extent,
                new_seq,
            },
            Response::Description {
                master,
                catalogue,
                bi_size_bytes,
                extents: list,
            } => Response::Description {
                master,
                catalogue,
                bi_size_bytes,
                extents: extents(kind::DESCRIPTION, list)?,
            },
            Response::QuietEnabled { switched } => Response::QuietEnabled {
                switched: match switched {
                    None => None,
                    Some(q) => Some(QuietSwitch {
                        from_extent: q.from_extent,
                        to_extent: q.to_extent,
                        new_seq: q.new_seq,
                        to_path: name(kind::QUIET_ENABLED)(q.to_path)?,
                    }),
                },
            },
            Response::QuietDisabled { backup_counter } => {
                Response::QuietDisabled { backup_counter }
            }
            Response::ExtentEmptied { extent } => Response::ExtentEmptied { extent },
        })
    }
}
