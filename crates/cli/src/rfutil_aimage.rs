//! The after-image listings of `rfutil`: extent list, query, scan and aiverify output.
//!
//! The labels of `aimage extent list` and the bare values of `aimage query` are what DBA
//! scripts parse; they do not change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aiextent::note::NoteKind;
use aiextent::{AiExtentFile, AiState, ExtentInfo, ExtentReader};

use engine::{AiExtentSelector, AiSwitched, DbPath};
use masterblock::AiSeq;
use storage::StorageRef;

use crate::error::{on, on_server};
use crate::proutil::time_text;
use crate::{Console, Error, real_storage, say};

/// The AI extents: answered by the server when one runs, else read from the files.
pub(crate) fn extents(storage: &StorageRef, db: &DbPath) -> Result<Vec<ExtentInfo>, Error> {
    match server::Client::connect_db(storage, db) {
        Some(client) => client.ai_extents().map_err(on_server(db)),
        None => engine::ai_extents(storage, db).map_err(on(db)),
    }
}

/// `aimage new`: online through the server when one runs, else offline.
pub(crate) fn aimage_new(storage: &StorageRef, db: &DbPath) -> Result<AiSwitched, Error> {
    match server::Client::connect_db(storage, db) {
        Some(client) => {
            let (from_extent, to_extent, seq) = client.ai_new().map_err(on_server(db))?;
            Ok(AiSwitched {
                from_extent,
                to_extent,
                new_seq: AiSeq(seq),
            })
        }
        None => engine::aimage_new(storage, db).map_err(on(db)),
    }
}

/// `aimage extent empty [n | path]`: online through the server when one runs, else offline.
pub(crate) fn extent_empty(
    storage: &StorageRef,
    db: &DbPath,
    selector: Option<AiExtentSelector>,
) -> Result<u32, Error> {
    match server::Client::connect_db(storage, db) {
        Some(client) => {
            let which = match selector {
                None => server::EmptyWhich::OldestFull,
                Some(AiExtentSelector::Number(n)) => server::EmptyWhich::Number(n),
                Some(AiExtentSelector::Path(p)) => {
                    server::EmptyWhich::Path(p.display().to_string())
                }
            };
            client.ai_extent_empty(which).map_err(on_server(db))
        }
        None => engine::aimage_extent_empty(storage, db, selector).map_err(on(db)),
    }
}

fn type_text(e: &ExtentInfo) -> &'static str {
    if e.fixed {
        "Fixed Length"
    } else {
        "Variable Length"
    }
}

/// Size in KiB as listed: the fixed size, or a variable extent's current size.
fn size_kib(e: &ExtentInfo) -> u64 {
    if e.fixed {
        e.size_kib
    } else {
        (aiextent::AI_HEADER_REGION_BYTES + e.used_bytes).div_ceil(1024)
    }
}

fn used_kib(e: &ExtentInfo) -> u64 {
    e.used_bytes.div_ceil(1024)
}

fn start_text(e: &ExtentInfo) -> String {
    if e.state == AiState::Empty {
        String::new()
    } else {
        time_text(e.busy_time)
    }
}

/// `aimage extent list`: one block of labelled lines per extent.
pub(crate) fn extent_list(extents: &[ExtentInfo]) -> String {
    let mut s = String::new();
    for (i, e) in extents.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let _ = writeln!(s, "Extent:  {}", e.ai_number);
        let _ = writeln!(s, "Status:  {}", e.state);
        let _ = writeln!(s, "Type:    {}", type_text(e));
        let _ = writeln!(s, "Path:    {}", e.path.display());
        let _ = writeln!(s, "Size:    {}", size_kib(e));
        let _ = writeln!(s, "Used:    {}", used_kib(e));
        if e.state != AiState::Empty {
            let _ = writeln!(s, "Start:   {}", start_text(e));
        }
        let _ = writeln!(s, "Seqno:   {}", e.ai_seq.0);
    }
    if extents.is_empty() {
        s.push_str("The database has no after-image extents.");
    }
    s.truncate(s.trim_end().len());
    s
}

/// The oldest Full extent (lowest sequence), the next one to archive.
pub(crate) fn oldest_full(extents: &[ExtentInfo]) -> Option<PathBuf> {
    extents
        .iter()
        .filter(|e| e.state == AiState::Full)
        .min_by_key(|e| e.ai_seq)
        .map(|e| e.path.clone())
}

/// `aimage query OPT by SEARCH VALUE`.
pub(crate) fn query(
    extents: &[ExtentInfo],
    opt: &str,
    search: &str,
    value: &str,
) -> Result<String, Error> {
    let not_found = || Error::NoSuchExtent {
        search: search.to_string(),
        value: value.to_string(),
    };
    let number = |v: &str| v.parse::<u64>().map_err(|_| not_found());
    let extent = match search {
        "extnum" => {
            let n = number(value)?;
            extents.iter().find(|e| u64::from(e.ai_number) == n)
        }
        "sequence" => {
            let n = number(value)?;
            extents
                .iter()
                .find(|e| e.state != AiState::Empty && e.ai_seq.0 == n)
        }
        "name" => {
            let wanted = std::path::absolute(value).unwrap_or_else(|_| value.into());
            extents
                .iter()
                .find(|e| e.path == wanted || e.path.file_name() == Path::new(value).file_name())
        }
        other => {
            return Err(Error::Usage(format!(
                "aimage query searches by extnum, name or sequence, not `{other}`"
            )));
        }
    }
    .ok_or_else(not_found)?;
    let field = |opt: &str| -> Option<String> {
        Some(match opt {
            "extnum" => extent.ai_number.to_string(),
            "status" => extent.state.to_string(),
            "type" => type_text(extent).to_string(),
            "size" => size_kib(extent).to_string(),
            "used" => used_kib(extent).to_string(),
            "name" => extent.path.display().to_string(),
            "sequence" => extent.ai_seq.0.to_string(),
            "startdate" => start_text(extent),
            _ => return None,
        })
    };
    if opt == "all" {
        let all: Vec<String> = [
            "extnum",
            "status",
            "type",
            "size",
            "used",
            "name",
            "sequence",
            "startdate",
        ]
        .iter()
        .filter_map(|o| field(o))
        .collect();
        return Ok(all.join("\n"));
    }
    field(opt).ok_or_else(|| {
        Error::Usage(format!(
            "aimage query OPT is one of extnum status type size used name sequence startdate all, not `{opt}`"
        ))
    })
}

fn open_ai_file(path: &Path) -> Result<AiExtentFile, Error> {
    let storage = real_storage();
    let file = storage
        .open(path, storage::OpenMode::Read)
        .map_err(|source| Error::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(AiExtentFile::open(file, path)?)
}

fn kind_code(kind: NoteKind) -> &'static str {
    match kind {
        NoteKind::TxBegin => "RL_TBGN",
        NoteKind::TxCommit => "RL_TEND",
        NoteKind::TxRollback => "RL_TEND(rollback)",
        NoteKind::BlockChange => "RL_BKREPL",
        NoteKind::OpenStamp => "RL_LSTMOD",
        NoteKind::AiSwitch => "RL_AIEXT",
    }
}

/// `aimage scan [verbose] -a FILE`.
pub(crate) fn scan(console: &mut Console, path: &Path, verbose: bool) -> Result<(), Error> {
    let extent = open_ai_file(path)?;
    let header = *extent.header();
    if verbose {
        let mut reader = ExtentReader::new(extent.file().clone(), path, &header)?;
        while let Some(note) = reader.next()? {
            let h = note.header;
            let mut line = format!(
                "note {} {} trid {}",
                h.note_seq.0,
                kind_code(h.kind),
                h.txn.0
            );
            match h.kind {
                NoteKind::BlockChange => {
                    let _ = write!(
                        line,
                        " area {} block {} update counter {}{}",
                        h.area.0,
                        h.block.0,
                        h.prior_counter.0,
                        if h.compensation { " (undo)" } else { "" }
                    );
                }
                NoteKind::TxBegin | NoteKind::TxCommit | NoteKind::TxRollback => {
                    let _ = write!(line, " at {}", time_text(h.aux as i64));
                }
                NoteKind::OpenStamp => {
                    let _ = write!(line, " open stamp {}", h.aux);
                }
                NoteKind::AiSwitch => {
                    let _ = write!(line, " starts after-image file {}", h.aux);
                }
            }
            say(console, line);
        }
    }
    let summary = extent.scan()?;
    let mut s = String::new();
    let _ = writeln!(s, "After-image file: {}", path.display());
    let _ = writeln!(s, "Database identity: {}", header.ext.db_id);
    let _ = writeln!(s, "Status: {}  Sequence: {}", header.state, header.ai_seq.0);
    let _ = writeln!(s, "After-image dates for this after-image file: (1633)");
    let _ = writeln!(
        s,
        "    Last AIMAGE BEGIN {} (1640)",
        time_text(header.ai_begin_time)
    );
    let _ = writeln!(
        s,
        "    This file was last opened for output on {} (1643)",
        time_text(header.busy_time)
    );
    let _ = writeln!(s, "Notes: {}", summary.notes);
    let _ = writeln!(
        s,
        "Transactions: {} begun, {} committed, {} rolled back",
        summary.txns_begun, summary.txns_committed, summary.txns_rolled_back
    );
    let _ = writeln!(s, "Block changes: {}", summary.block_changes);
    if let (Some(first), Some(last)) = (summary.first_seq, summary.last_seq) {
        let _ = writeln!(s, "Note sequences: {} to {}", first.0, last.0);
    }
    let _ = write!(s, "Used bytes: {}", summary.used_bytes());
    say(console, s);
    Ok(())
}

/// `aiverify partial|full -a FILE`.
pub(crate) fn verify(console: &mut Console, path: &Path, full: bool) -> Result<(), Error> {
    let storage = real_storage();
    let file = storage
        .open(path, storage::OpenMode::Read)
        .map_err(|source| Error::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
    let report = aiextent::verify_file(&file, path, full)?;
    for problem in &report.problems {
        say(
            console,
            format!("offset {}: {}", problem.offset, problem.detail),
        );
    }
    let report = report.check()?;
    say(
        console,
        format!(
            "After-image file {} verified ({}): sequence {}, {} notes, {} transactions committed.",
            path.display(),
            if full { "full" } else { "partial" },
            report.ai_seq,
            report.notes,
            report.txns_committed
        ),
    );
    Ok(())
}
