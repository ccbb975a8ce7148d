//! `rfutil db -C qualifier ...`: after-imaging administration (mark backedup, aimage
//! begin/end/new, extent list/empty/full, query, scan, aiverify).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use engine::{AiExtentSelector, DbPath};

use crate::error::{no_db, on};
use crate::rfutil_aimage as ai;
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: rfutil db -C qualifier

  mark backedup                      mark the database backed up (after an OS copy)
  aimage begin | end | new           enable, disable, switch to the next extent
  aimage extent list                 every extent: Extent, Status, Type, Path, Size, Used,
                                     Start, Seqno (alias: aimage list)
  aimage extent empty [n | path]     mark a full extent empty (default: the oldest full)
  aimage extent full | aimage full   path of the oldest full extent
  aimage query OPT by SEARCH VALUE   one bare value; OPT: extnum status type size used name
                                     sequence startdate all; SEARCH: extnum name sequence
  aimage scan [verbose] -a FILE      what an after-image file holds
  aiverify partial | full -a FILE    check an after-image file
  aimage aioff                       after-imaging off online (through the server)
  aiarchiver enable -aiarcdir DIRS [-aiarcinterval N] [-aiarcdircreate]
                                     turn on the AI archiver (DIRS: absolute, comma-separated;
                                     N: 0 on demand, or 120 to 86400 seconds between switches)
  aiarchiver disable | setdir DIRS [-aiarcdircreate] | setinterval N
  aiarchive extent EXTENT TARGET     copy a full extent to the new file TARGET, mark it empty
  sequence                           expected AI sequence := current (on an OS copy)
  roll forward [retry] [verbose] [endtime yyyy:mm:dd:hh:mm:ss | endtrans N] [oplock] [-B n]
      (-a FILE | -ailist LISTFILE)   apply after-image files to a backup or a copy
  roll opunlock                      release the roll forward operation lock";

/// Entry point of the `rfutil` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("rfutil", args, run)
}

/// Runs `rfutil` with already split words.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let [db_word, dash_c, rest @ ..] = words.as_slice() else {
        return Err(Error::Usage(HELP.to_string()));
    };
    if dash_c != "-C" {
        return Err(Error::Usage(format!(
            "expected -C after the database\n{HELP}"
        )));
    }
    let db = DbPath::parse(db_word).map_err(no_db)?;
    let (words, file) = split_file_option(rest)?;
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let storage = real_storage();
    let needs_file = |file: Option<FileArg>| match file {
        Some(FileArg::Ai(path)) => Ok(path),
        _ => Err(Error::Usage("this qualifier needs -a FILE".to_string())),
    };
    match lower.as_slice() {
        ["mark", "backedup"] => {
            if let Some(client) = server::Client::connect_db(&storage, &db) {
                let lines = client
                    .mark_backedup()
                    .map_err(crate::error::on_server(&db))?;
                for line in lines {
                    say(console, line);
                }
                return Ok(());
            }
            let mb = engine::mark_backedup(&storage, &db).map_err(on(&db))?;
            say(
                console,
                format!(
                    "Database {db} marked as backed up (backup {}).",
                    mb.backup_counter
                ),
            );
            Ok(())
        }
        ["aimage", "begin"] => {
            engine::aimage_begin(&storage, &db).map_err(on(&db))?;
            say(console, format!("After-imaging enabled for {db}."));
            Ok(())
        }
        ["aimage", "end"] => {
            engine::aimage_end(&storage, &db).map_err(on(&db))?;
            say(
                console,
                format!("After-imaging disabled for {db}; every extent is empty."),
            );
            Ok(())
        }
        ["aimage", "new"] => {
            let s = ai::aimage_new(&storage, &db)?;
            say(
                console,
                format!(
                    "Switched from after-image extent {} to {}: this is after-image file number {} since the last AIMAGE BEGIN.",
                    s.from_extent, s.to_extent, s.new_seq.0
                ),
            );
            Ok(())
        }
        ["aimage", "extent", "list"] | ["aimage", "list"] => {
            let extents = ai::extents(&storage, &db)?;
            say(console, ai::extent_list(&extents));
            Ok(())
        }
        ["aimage", "extent", "empty", which @ ..] => {
            let selector = match which {
                [] => None,
                [_] => Some(selector(&words[3])),
                _ => return Err(Error::Usage("aimage extent empty takes one extent".into())),
            };
            let n = ai::extent_empty(&storage, &db, selector)?;
            say(console, format!("After-image extent {n} marked empty."));
            Ok(())
        }
        ["aimage", "extent", "full"] | ["aimage", "full"] => {
            let extents = ai::extents(&storage, &db)?;
            let path = ai::oldest_full(&extents).ok_or(Error::NoFullExtent)?;
            say(console, path.display());
            Ok(())
        }
        ["aimage", "query", opt, "by", search, _value] => {
            let extents = ai::extents(&storage, &db)?;
            let value = &words[5];
            say(console, ai::query(&extents, opt, search, value)?);
            Ok(())
        }
        ["aimage", "scan"] | ["aimage", "scan", "verbose"] => {
            let verbose = lower.len() == 3;
            ai::scan(console, &needs_file(file)?, verbose)
        }
        ["aiverify", mode] if *mode == "partial" || *mode == "full" => {
            ai::verify(console, &needs_file(file)?, *mode == "full")
        }
        ["aimage", "aioff"] | ["aiarchiver", ..] | ["aiarchive", ..] => {
            crate::rfutil_archiver::run(console, &storage, &db, &words)
        }
        ["sequence"] | ["roll", ..] => crate::rfutil_rollforward::run(console, &db, &lower, file),
        _ => Err(Error::Usage(format!(
            "unknown qualifier `{}`\n{HELP}",
            words.join(" ")
        ))),
    }
}

/// The file operand of a qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileArg {
    /// `-a FILE`: one after-image file.
    Ai(PathBuf),
    /// `-ailist LISTFILE`: a file naming after-image files, one per line.
    List(PathBuf),
}

/// Separates `-a FILE` (or `-ailist LISTFILE`) from the qualifier words.
fn split_file_option(words: &[String]) -> Result<(Vec<String>, Option<FileArg>), Error> {
    let mut rest = Vec::new();
    let mut file = None;
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if word == "-a" || word == "-ailist" {
            let path = iter
                .next()
                .ok_or_else(|| Error::Usage(format!("{word} needs a file")))?;
            if file.is_some() {
                return Err(Error::Usage(
                    "give one -a FILE or one -ailist LISTFILE".into(),
                ));
            }
            let path = std::path::absolute(path).unwrap_or_else(|_| path.into());
            file = Some(if word == "-a" {
                FileArg::Ai(path)
            } else {
                FileArg::List(path)
            });
        } else {
            rest.push(word.clone());
        }
    }
    Ok((rest, file))
}

fn selector(word: &str) -> AiExtentSelector {
    match word.parse::<u32>() {
        Ok(n) => AiExtentSelector::Number(n),
        Err(_) => AiExtentSelector::Path(std::path::absolute(word).unwrap_or_else(|_| word.into())),
    }
}
