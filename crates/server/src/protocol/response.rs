//! Answers: encoding, decoding into *parsed* messages (strings still raw bytes), and
//! `validate` into trusted ones (UTF-8, size limits).
//!
//! Invariant: `decode(encode(m))` then `validate` gives `m` back for every answer; decoding
//! reads exactly the payload and fails on anything else.

use super::codec::{Reader, Writer};
use super::extent::{Extent, get_extents, put_extents};
use super::kinds::{BackupReport, QuietSwitch, kind, kind_name};
use super::message::{MAX_ELEMENTS, MAX_NAME_BYTES, RawStr, text};
use crate::error::{Error, Result};

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
    /// An online backup is complete.
    BackupDone(BackupReport<S>),
    /// Lines for the user (what an online archiver command did).
    Report(Vec<S>),
}

/// A parsed answer.
pub type ParsedResponse = Response<RawStr>;

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
            Response::BackupDone(_) => "BackupDone",
            Response::Report(_) => "Report",
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
            Response::BackupDone(b) => {
                w.u8(u8::from(b.incremental))
                    .bytes(b.file.as_bytes())
                    .u64(b.blocks)
                    .u64(b.block_bytes)
                    .u64(b.stored_stream_bytes)
                    .u64(b.raw_stream_bytes)
                    .u64(b.file_bytes)
                    .u64(b.backup_counter)
                    .u64(b.ai_switched_to)
                    .u64(b.elapsed_micros);
                put_lines(&mut w, &b.progress);
                kind::BACKUP_DONE
            }
            Response::Report(lines) => {
                put_lines(&mut w, lines);
                kind::REPORT
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
            kind::BACKUP_DONE => Response::BackupDone(BackupReport {
                incremental: r.bool()?,
                file: RawStr(r.bytes()?),
                blocks: r.u64()?,
                block_bytes: r.u64()?,
                stored_stream_bytes: r.u64()?,
                raw_stream_bytes: r.u64()?,
                file_bytes: r.u64()?,
                backup_counter: r.u64()?,
                ai_switched_to: r.u64()?,
                elapsed_micros: r.u64()?,
                progress: get_lines(&mut r)?,
            }),
            kind::REPORT => Response::Report(get_lines(&mut r)?),
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
            Response::BackupDone(b) => Response::BackupDone(BackupReport {
                incremental: b.incremental,
                file: name(kind::BACKUP_DONE)(b.file)?,
                blocks: b.blocks,
                block_bytes: b.block_bytes,
                stored_stream_bytes: b.stored_stream_bytes,
                raw_stream_bytes: b.raw_stream_bytes,
                file_bytes: b.file_bytes,
                backup_counter: b.backup_counter,
                ai_switched_to: b.ai_switched_to,
                elapsed_micros: b.elapsed_micros,
                progress: lines(kind::BACKUP_DONE, b.progress)?,
            }),
            Response::Report(list) => Response::Report(lines(kind::REPORT, list)?),
        })
    }
}

fn put_lines(w: &mut Writer, lines: &[String]) {
    w.count(lines.len());
    for l in lines {
        w.bytes(l.as_bytes());
    }
}

fn get_lines(r: &mut Reader<'_>) -> Result<Vec<RawStr>> {
    let n = r.count(4, MAX_ELEMENTS)?;
    (0..n).map(|_| r.bytes().map(RawStr)).collect()
}

/// Lines checked as UTF-8 of at most [`MAX_NAME_BYTES`] each.
fn lines(k: u16, list: Vec<RawStr>) -> Result<Vec<String>> {
    list.into_iter()
        .map(|l| text(k, l, MAX_NAME_BYTES))
        .collect()
}
