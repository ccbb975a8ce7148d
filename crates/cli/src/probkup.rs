//! `probkup [online] db [incremental] FILE [-com] [-verbose]`: a backup into a new file
//! (docs/formats/backup.md), of the closed database, or with `online` by its server while
//! updates go on.
//!
//! Invariant: like every command, a failure prints `probkup: text (number)` on standard error,
//! goes to the database's `.lg` when the database exists, and exits non-zero; the summary of a
//! backup is printed only once the file and the master block are durable.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use backup::{BackupKind, BackupOptions};
use engine::DbPath;

use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: probkup [online] db [incremental] FILE [-com] [-verbose]

Backs up the closed database db into the new file FILE (an existing FILE is refused); with
`online`, the running server of db writes FILE while updates go on (transactions are held only
while none is active, for the switch and a checkpoint).
  incremental  only the blocks changed since the last backup (or rfutil mark backedup)
  -com         compress the blocks (zstd)
  -verbose     print each step
With after-imaging on, the busy AI extent is switched first: the new busy extent is the first
to roll forward onto this backup (an online backup stops, writing nothing, when that extent is
not Empty).";

/// Wraps backup errors on `db` so they reach its event log.
pub(crate) fn on_db(db: &DbPath) -> impl Fn(backup::Error) -> Error + '_ {
    move |source| Error::Backup {
        db: Some(db.clone()),
        source: Box::new(source),
    }
}

/// Appends a line to the event log of `db` if the database exists.
pub(crate) fn log(db: &DbPath, tool: &str, text: &str) {
    let storage = real_storage();
    if storage.exists(&db.control_path()) {
        engine::log_event_at(&storage, db, &tool.to_uppercase(), text, None);
    }
}

/// Entry point of the `probkup` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("probkup", args, run)
}

/// An absolute form of a file argument (relative to the current directory).
pub(crate) fn absolute(word: &str) -> PathBuf {
    std::path::absolute(Path::new(word)).unwrap_or_else(|_| PathBuf::from(word))
}

/// Runs `probkup` with already split words (without the program name).
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let mut opts = BackupOptions::default();
    let mut verbose = false;
    let mut online = false;
    let mut positional = Vec::new();
    for (i, word) in words.iter().enumerate() {
        match word.as_str() {
            "-com" => opts.compress = true,
            "-verbose" => verbose = true,
            "online" if i == 0 => online = true,
            "incremental" if !positional.is_empty() => opts.incremental = true,
            w if w.starts_with('-') && w.len() > 1 => {
                return Err(Error::Usage(format!("unknown option `{w}`\n{HELP}")));
            }
            w => positional.push(w.to_string()),
        }
    }
    let [db_word, file_word] = positional.as_slice() else {
        return Err(Error::Usage(HELP.to_string()));
    };
    let db = DbPath::parse(db_word).map_err(crate::error::no_db)?;
    let file = absolute(file_word);
    let storage = real_storage();
    let mut progress = |line: &str| {
        if verbose {
            let _ = writeln!(console.out, "{line}");
        }
    };
    let sum = if online {
        online_backup(&storage, &db, &file, opts, &mut progress)?
    } else {
        backup::backup(&storage, &db, &file, opts, &mut progress).map_err(on_db(&db))?
    };
    let kind = match sum.kind {
        BackupKind::Full => "Full",
        BackupKind::Incremental => "Incremental",
    };
    say(
        console,
        format!("{kind} backup of {db} written to {}.", sum.file.display()),
    );
    if let Some(seq) = sum.ai_switched_to {
        say(
            console,
            format!(
                "After-image sequence {seq} is now busy: it is the first to roll forward onto this backup."
            ),
        );
    }
    say(console, format!("Blocks: {}", sum.blocks));
    say(console, format!("Bytes: {}", sum.block_bytes));
    say(
        console,
        format!(
            "Compressed bytes: {}{}",
            sum.stored_stream_bytes,
            if opts.compress {
                ""
            } else {
                " (not compressed)"
            }
        ),
    );
    say(console, format!("File bytes: {}", sum.file_bytes));
    say(console, format!("Backup counter: {}", sum.backup_counter));
    say(
        console,
        format!("Time: {:.3} s", sum.elapsed_micros as f64 / 1e6),
    );
    log(
        &db,
        "probkup",
        &format!(
            "{} backup {} written to {}: {} blocks",
            sum.kind.name(),
            sum.backup_counter,
            sum.file.display(),
            sum.blocks
        ),
    );
    Ok(())
}

/// `probkup online`: the server of `db` writes the backup.
fn online_backup(
    storage: &storage::StorageRef,
    db: &DbPath,
    file: &Path,
    opts: BackupOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<backup::BackupSummary, Error> {
    let client = server::Client::connect_db(storage, db)
        .ok_or_else(|| on_db(db)(backup::Error::OnlineNotSupported))?;
    let r = client
        .probkup_online(file, opts.incremental, opts.compress)
        .map_err(crate::error::on_server(db))?;
    for line in &r.progress {
        progress(line);
    }
    Ok(backup::BackupSummary {
        kind: if r.incremental {
            BackupKind::Incremental
        } else {
            BackupKind::Full
        },
        file: PathBuf::from(r.file),
        blocks: r.blocks,
        block_bytes: r.block_bytes,
        stored_stream_bytes: r.stored_stream_bytes,
        raw_stream_bytes: r.raw_stream_bytes,
        file_bytes: r.file_bytes,
        backup_counter: r.backup_counter,
        ai_switched_to: (r.ai_switched_to != 0).then_some(masterblock::AiSeq(r.ai_switched_to)),
        elapsed_micros: r.elapsed_micros,
    })
}
