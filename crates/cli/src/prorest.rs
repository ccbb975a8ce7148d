//! `prorest db FILE [-vp | -vf | -list] [-verbose]`: restore a backup into a database made by
//! `prostrct create`, or check or describe a backup without restoring anything.
//!
//! Invariant: `-vp`, `-vf` and `-list` write nothing; a restore prints its summary only after
//! the restored master block is durable.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use engine::DbPath;

use crate::probkup::{absolute, log, on_db};
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: prorest db FILE [-vp | -vf | -list] [-verbose]

Restores the backup FILE into db, a database made by prostrct create from a matching
structure file (prorest -list writes one). Restore a full backup, then its incrementals in
the order they were taken; then roll forward the after-image files from the sequence printed.
  -vp      read the whole backup and check it; restore nothing
  -vf      compare every block of the backup with db; restore nothing
  -list    print the backup's areas and extents as a structure file; restore nothing
  -verbose print each step of a restore";

/// What `prorest` was asked to do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Restore,
    VerifyPartial,
    VerifyFull,
    List,
}

/// Entry point of the `prorest` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("prorest", args, run)
}

/// Runs `prorest` with already split words (without the program name).
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let mut mode = Mode::Restore;
    let mut verbose = false;
    let mut positional = Vec::new();
    for word in &words {
        let chosen = match word.as_str() {
            "-vp" => Mode::VerifyPartial,
            "-vf" => Mode::VerifyFull,
            "-list" => Mode::List,
            "-verbose" => {
                verbose = true;
                continue;
            }
            w if w.starts_with('-') && w.len() > 1 => {
                return Err(Error::Usage(format!("unknown option `{w}`\n{HELP}")));
            }
            w => {
                positional.push(w.to_string());
                continue;
            }
        };
        if mode != Mode::Restore {
            return Err(Error::Usage(format!("give one of -vp, -vf, -list\n{HELP}")));
        }
        mode = chosen;
    }
    let [db_word, file_word] = positional.as_slice() else {
        return Err(Error::Usage(HELP.to_string()));
    };
    let db = DbPath::parse(db_word).map_err(crate::error::no_db)?;
    let file = absolute(file_word);
    let storage = real_storage();
    let on = on_db(&db);
    match mode {
        Mode::List => {
            let header = backup::describe_backup(storage.as_ref(), &file).map_err(&on)?;
            let _ = write!(console.out, "{}", backup::list_text(&header));
            Ok(())
        }
        Mode::VerifyPartial => {
            let v = backup::verify_partial(storage.as_ref(), &file).map_err(&on)?;
            say(
                console,
                format!(
                    "Backup {} verified: {} backup {} of database {}, {} blocks, {} bytes. Nothing was restored.",
                    file.display(),
                    v.header.kind.name(),
                    v.header.backup_counter,
                    v.header.db_id,
                    v.blocks,
                    v.file_bytes
                ),
            );
            Ok(())
        }
        Mode::VerifyFull => {
            let v = backup::verify_full(&storage, &db, &file).map_err(&on)?;
            for mismatch in v.mismatch_errors() {
                console.error("prorest", &on(mismatch), Some(&db));
            }
            v.result().map_err(&on)?;
            say(
                console,
                format!(
                    "Full verify: all {} blocks of the backup match {db}. Nothing was restored.",
                    v.compared
                ),
            );
            Ok(())
        }
        Mode::Restore => {
            let mut progress = |line: &str| {
                if verbose {
                    let _ = writeln!(console.out, "{line}");
                }
            };
            let sum = backup::restore(&storage, &db, &file, &mut progress).map_err(&on)?;
            say(
                console,
                format!(
                    "Restored {} backup {} of database {} into {db}.",
                    sum.kind.name(),
                    sum.backup_counter,
                    sum.db_id
                ),
            );
            say(console, format!("Blocks: {}", sum.blocks));
            say(console, format!("Zeroed blocks: {}", sum.zeroed_blocks));
            say(
                console,
                format!("Time: {:.3} s", sum.elapsed_micros as f64 / 1e6),
            );
            say(
                console,
                format!(
                    "Next after-image sequence to roll forward: {}",
                    sum.ai_seq_expected
                ),
            );
            log(
                &db,
                "prorest",
                &format!(
                    "{} backup {} restored from {}",
                    sum.kind.name(),
                    sum.backup_counter,
                    file.display()
                ),
            );
            Ok(())
        }
    }
}
