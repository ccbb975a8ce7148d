//! `rfutil db -C sequence`, `rfutil db -C roll forward [retry] [verbose] [endtime T | endtrans N]
//! [oplock] [-B n] (-a FILE | -ailist LISTFILE)` and `rfutil db -C roll opunlock`.
//!
//! Invariant: every message roll forward reports is printed with its number (and was written to
//! the event log by roll forward); progress goes to standard error only when it is a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use engine::DbPath;
use rollforward::{Event, RollForwardOptions, StopAt, TxnEnd, TxnEvent, format_local_time};

use crate::error::on;
use crate::rfutil::FileArg;
use crate::{Console, Error, real_storage, say};

/// Runs `sequence` and the `roll ...` qualifiers (`words` lowercased).
pub(crate) fn run(
    console: &mut Console,
    db: &DbPath,
    words: &[&str],
    file: Option<FileArg>,
) -> Result<(), Error> {
    let storage = real_storage();
    match words {
        ["sequence"] => {
            let (old, new) = engine::set_sequence(&storage, db).map_err(on(db))?;
            console.message(&format!("Ai sequence {old} changed to {new}"), 12428);
            Ok(())
        }
        ["roll", "opunlock"] => {
            if engine::roll_opunlock(&storage, db).map_err(on(db))? {
                say(
                    console,
                    format!("The roll forward operation lock of {db} is released."),
                );
            } else {
                say(console, format!("{db} has no roll forward operation lock."));
            }
            Ok(())
        }
        ["roll", "forward", rest @ ..] => roll_forward(console, db, rest, file),
        _ => Err(Error::Usage(format!(
            "unknown qualifier `{}`; see rfutil -h",
            words.join(" ")
        ))),
    }
}

/// The words after `roll forward`.
struct RollWords {
    opts: RollForwardOptions,
    verbose: bool,
}

fn parse_words(db: &DbPath, words: &[&str]) -> Result<RollWords, Error> {
    let mut opts = RollForwardOptions::default();
    let mut verbose = false;
    let mut it = words.iter();
    while let Some(&word) = it.next() {
        let mut operand = |what: &str| {
            it.next()
                .copied()
                .ok_or_else(|| Error::Usage(format!("{word} needs {what}")))
        };
        match word {
            "retry" => opts.retry = true,
            "verbose" => verbose = true,
            "oplock" => opts.oplock = true,
            "endtime" | "endtrans" if opts.stop.is_some() => {
                return Err(Error::Usage("give one endtime or one endtrans".into()));
            }
            "endtime" => {
                let text = operand("a time yyyy:mm:dd:hh:mm:ss")?;
                let time_micros = rollforward::parse_endtime(text).map_err(|e| rf_error(db, e))?;
                opts.stop = Some(StopAt::EndTime { time_micros });
            }
            "endtrans" => {
                let text = operand("a transaction number")?;
                let txn = text.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    Error::Usage(format!("endtrans `{text}` is not a transaction number"))
                })?;
                opts.stop = Some(StopAt::EndTrans {
                    txn: masterblock::TxnId(txn),
                });
            }
            "-b" => {
                let text = operand("a number of buffers")?;
                opts.replay.buffers = text
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| Error::Usage(format!("-B `{text}` is not a number")))?;
            }
            other => {
                return Err(Error::Usage(format!(
                    "roll forward does not know `{other}`; it takes retry, verbose, endtime T, endtrans N, oplock, -B n and -a FILE or -ailist LISTFILE"
                )));
            }
        }
    }
    Ok(RollWords { opts, verbose })
}

fn rf_error(db: &DbPath, source: rollforward::Error) -> Error {
    Error::RollForward {
        db: Some(db.clone()),
        source: Box::new(source),
    }
}

fn roll_forward(
    console: &mut Console,
    db: &DbPath,
    words: &[&str],
    file: Option<FileArg>,
) -> Result<(), Error> {
    let RollWords { mut opts, verbose } = parse_words(db, words)?;
    let storage = real_storage();
    let files: Vec<PathBuf> = match file {
        Some(FileArg::Ai(path)) => vec![path],
        Some(FileArg::List(path)) => {
            opts.skip_non_ai_files = true;
            rollforward::read_ai_list(storage.as_ref(), &path).map_err(|e| rf_error(db, e))?
        }
        None => {
            return Err(Error::Usage(
                "roll forward needs -a FILE or -ailist LISTFILE".into(),
            ));
        }
    };
    let tty = std::io::stderr().is_terminal();
    let mut progress_shown = false;
    let outcome =
        rollforward::roll_forward(&storage, db, &files, &opts, &mut |event| match event {
            Event::Message { text, number } => {
                if progress_shown {
                    let _ = writeln!(console.err);
                    progress_shown = false;
                }
                console.message(text, number);
            }
            Event::Progress(p) if tty => {
                let rate = p.notes_done as f64 / p.elapsed.as_secs_f64().max(1e-6);
                let pct = if p.bytes_total == 0 {
                    100.0
                } else {
                    p.bytes_done as f64 * 100.0 / p.bytes_total as f64
                };
                let name = p.path.file_name().unwrap_or(p.path.as_os_str());
                // The file's note count is known once its check is done.
                let notes = if p.notes_total == 0 {
                    p.notes_done.to_string()
                } else {
                    format!("{}/{}", p.notes_done, p.notes_total)
                };
                let _ = write!(
                    console.err,
                    "\r{}: {notes} notes ({pct:.0}%), {rate:.0} notes/s   ",
                    name.to_string_lossy(),
                );
                let _ = console.err.flush();
                progress_shown = true;
            }
            Event::Progress(_) => {}
            Event::Txn(t) if verbose => say(console, txn_line(&t)),
            Event::Txn(_) => {}
        });
    if progress_shown {
        let _ = writeln!(console.err);
    }
    outcome.map(|_| ()).map_err(|e| rf_error(db, e))
}

/// The `verbose` line of one transaction.
fn txn_line(t: &TxnEvent) -> String {
    let began = match t.begin_time {
        Some(time) => format!("began {}", format_local_time(time)),
        None => "began before this roll forward".to_string(),
    };
    let end = |what: &str| match t.end_time {
        Some(time) => format!("{what} {}", format_local_time(time)),
        None => what.to_string(),
    };
    let ended = match t.end {
        TxnEnd::Committed => end("committed"),
        TxnEnd::RolledBack => end("rolled back"),
        TxnEnd::InFlight => "still in flight".to_string(),
    };
    format!("Transaction {}: {began}, {ended}", t.txn)
}
