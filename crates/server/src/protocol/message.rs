//! Requests: encoding, decoding into *parsed* messages (strings still raw bytes), and
//! `validate` into trusted ones (UTF-8, size limits); answers are in `response.rs`.
//!
//! Invariant: `decode(encode(m))` then `validate` gives `m` back for every message; decoding
//! reads exactly the payload and fails on anything else.

use super::codec::{Reader, Writer};
pub use super::extent::Extent;
pub use super::kinds::{
    ArchiverCommand, BackupReport, EmptyWhich, QuietSwitch, ShutdownMode, is_request_kind,
    is_response_kind,
};
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
    /// `probkup online db FILE [incremental] [-com]`: the server writes `file`.
    ProbkupOnline {
        /// The new backup file (absolute).
        file: S,
        /// `incremental`.
        incremental: bool,
        /// `-com`.
        compress: bool,
    },
    /// `rfutil aimage aioff`: after-imaging off online.
    AiOff,
    /// `rfutil mark backedup` online.
    MarkBackedup,
    /// `rfutil aiarchiver ...` or `aiarchive extent` online.
    Archiver {
        /// What to do.
        command: ArchiverCommand<S>,
    },
}

/// A parsed request.
pub type ParsedRequest = Request<RawStr>;

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
            Request::ProbkupOnline {
                file,
                incremental,
                compress,
            } => {
                w.bytes(file.as_bytes())
                    .u8(u8::from(*incremental))
                    .u8(u8::from(*compress));
                kind::PROBKUP_ONLINE
            }
            Request::AiOff => kind::AI_OFF,
            Request::MarkBackedup => kind::MARK_BACKEDUP,
            Request::Archiver { command } => {
                put_archiver(&mut w, command);
                kind::ARCHIVER
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
            Request::ProbkupOnline { .. } => "ProbkupOnline",
            Request::AiOff => "AiOff",
            Request::MarkBackedup => "MarkBackedup",
            Request::Archiver { .. } => "Archiver",
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
            kind::PROBKUP_ONLINE => Request::ProbkupOnline {
                file: s(&mut r)?,
                incremental: r.bool()?,
                compress: r.bool()?,
            },
            kind::AI_OFF => Request::AiOff,
            kind::MARK_BACKEDUP => Request::MarkBackedup,
            kind::ARCHIVER => Request::Archiver {
                command: get_archiver(&mut r)?,
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
            Request::ProbkupOnline {
                file,
                incremental,
                compress,
            } => Request::ProbkupOnline {
                file: v(file)?,
                incremental,
                compress,
            },
            Request::AiOff => Request::AiOff,
            Request::MarkBackedup => Request::MarkBackedup,
            Request::Archiver { command } => Request::Archiver {
                command: match command {
                    ArchiverCommand::Enable {
                        dirs,
                        interval_secs,
                        dir_create,
                    } => ArchiverCommand::Enable {
                        dirs: v(dirs)?,
                        interval_secs,
                        dir_create,
                    },
                    ArchiverCommand::Disable => ArchiverCommand::Disable,
                    ArchiverCommand::SetDir { dirs, dir_create } => ArchiverCommand::SetDir {
                        dirs: v(dirs)?,
                        dir_create,
                    },
                    ArchiverCommand::SetInterval { secs } => ArchiverCommand::SetInterval { secs },
                    ArchiverCommand::ArchiveExtent { extent, target } => {
                        ArchiverCommand::ArchiveExtent {
                            extent: v(extent)?,
                            target: v(target)?,
                        }
                    }
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
            Request::ProbkupOnline { .. } => kind::PROBKUP_ONLINE,
            Request::Archiver { .. } => kind::ARCHIVER,
            _ => 0,
        }
    }
}

pub(super) fn text(k: u16, s: RawStr, limit: usize) -> Result<String> {
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

fn put_archiver(w: &mut Writer, command: &ArchiverCommand) {
    match command {
        ArchiverCommand::Enable {
            dirs,
            interval_secs,
            dir_create,
        } => {
            w.u8(1)
                .bytes(dirs.as_bytes())
                .u64(*interval_secs)
                .u8(u8::from(*dir_create));
        }
        ArchiverCommand::Disable => {
            w.u8(2);
        }
        ArchiverCommand::SetDir { dirs, dir_create } => {
            w.u8(3).bytes(dirs.as_bytes()).u8(u8::from(*dir_create));
        }
        ArchiverCommand::SetInterval { secs } => {
            w.u8(4).u64(*secs);
        }
        ArchiverCommand::ArchiveExtent { extent, target } => {
            w.u8(5).bytes(extent.as_bytes()).bytes(target.as_bytes());
        }
    }
}

fn get_archiver(r: &mut Reader<'_>) -> Result<ArchiverCommand<RawStr>> {
    Ok(match r.u8()? {
        1 => ArchiverCommand::Enable {
            dirs: RawStr(r.bytes()?),
            interval_secs: r.u64()?,
            dir_create: r.bool()?,
        },
        2 => ArchiverCommand::Disable,
        3 => ArchiverCommand::SetDir {
            dirs: RawStr(r.bytes()?),
            dir_create: r.bool()?,
        },
        4 => ArchiverCommand::SetInterval { secs: r.u64()? },
        5 => ArchiverCommand::ArchiveExtent {
            extent: RawStr(r.bytes()?),
            target: RawStr(r.bytes()?),
        },
        other => return Err(r.bad(format!("archiver command {other} is unknown"))),
    })
}
