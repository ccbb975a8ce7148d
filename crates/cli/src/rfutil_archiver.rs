//! `rfutil db -C aimage aioff`, `aiarchiver enable | disable | setdir | setinterval` and
//! `aiarchive extent`: through the server when one runs (the daemon follows at once), else
//! offline on the closed database (`aioff` is online only: offline, `aimage end` does it).
//!
//! Invariant: options are checked before anything is sent or written; directory lists and
//! paths keep the case they were typed in.

use std::path::{Path, PathBuf};

use engine::DbPath;
use server::ArchiverCommand;
use storage::StorageRef;

use crate::error::on_server;
use crate::{Console, Error, say};

/// Wraps archiver errors on `db` so they reach its event log.
fn on_archiver(db: &DbPath) -> impl Fn(aiarchiver::Error) -> Error + '_ {
    move |source| Error::Archiver {
        db: Some(db.clone()),
        source: Box::new(source),
    }
}

/// Runs one of the qualifiers (`words` as typed, after `-C`).
pub(crate) fn run(
    console: &mut Console,
    storage: &StorageRef,
    db: &DbPath,
    words: &[String],
) -> Result<(), Error> {
    let command = parse(words)?;
    let client = server::Client::connect_db(storage, db);
    let lines = match (command, client) {
        (None, Some(client)) => client.ai_off().map_err(on_server(db))?,
        (None, None) => {
            return Err(on_server(db)(server::Error::NotServed {
                tool: "rfutil aimage aioff",
                db: db.to_string(),
            }));
        }
        (Some(command), Some(client)) => client.archiver(command).map_err(on_server(db))?,
        (Some(command), None) => offline(storage, db, command).map_err(on_archiver(db))?,
    };
    for line in lines {
        say(console, line);
    }
    Ok(())
}

/// The command (`None`: `aimage aioff`).
fn parse(words: &[String]) -> Result<Option<ArchiverCommand>, Error> {
    let usage = |why: &str| {
        Error::Usage(format!(
            "{why}\nusage: rfutil db -C aiarchiver enable -aiarcdir DIRS [-aiarcinterval N] [-aiarcdircreate]\n       rfutil db -C aiarchiver disable | setdir DIRS [-aiarcdircreate] | setinterval N\n       rfutil db -C aiarchive extent EXTENT TARGET\n       rfutil db -C aimage aioff"
        ))
    };
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let interval = |word: &str| -> Result<u64, Error> {
        word.parse()
            .map_err(|_| usage(&format!("`{word}` is not a number of seconds")))
    };
    Ok(Some(match lower.as_slice() {
        ["aimage", "aioff"] => return Ok(None),
        ["aiarchiver", "enable", ..] => {
            let (mut dirs, mut interval_secs, mut dir_create) = (None, 0u64, false);
            let mut rest = words[2..].iter();
            while let Some(word) = rest.next() {
                match word.to_lowercase().as_str() {
                    "-aiarcdir" => {
                        let list = rest.next().ok_or_else(|| usage("-aiarcdir needs DIRS"))?;
                        dirs = Some(list.clone());
                    }
                    "-aiarcinterval" => {
                        let n = rest.next().ok_or_else(|| usage("-aiarcinterval needs N"))?;
                        interval_secs = interval(n)?;
                    }
                    "-aiarcdircreate" => dir_create = true,
                    other => return Err(usage(&format!("unknown option `{other}`"))),
                }
            }
            ArchiverCommand::Enable {
                dirs: dirs.ok_or_else(|| usage("aiarchiver enable needs -aiarcdir DIRS"))?,
                interval_secs,
                dir_create,
            }
        }
        ["aiarchiver", "disable"] => ArchiverCommand::Disable,
        ["aiarchiver", "setdir", _] => ArchiverCommand::SetDir {
            dirs: words[2].clone(),
            dir_create: false,
        },
        ["aiarchiver", "setdir", _, "-aiarcdircreate"] => ArchiverCommand::SetDir {
            dirs: words[2].clone(),
            dir_create: true,
        },
        ["aiarchiver", "setinterval", n] => ArchiverCommand::SetInterval { secs: interval(n)? },
        ["aiarchive", "extent", _, _] => ArchiverCommand::ArchiveExtent {
            extent: absolute(&words[2]).display().to_string(),
            target: absolute(&words[3]).display().to_string(),
        },
        _ => return Err(usage(&format!("unknown qualifier `{}`", words.join(" ")))),
    }))
}

fn absolute(word: &str) -> PathBuf {
    std::path::absolute(word).unwrap_or_else(|_| PathBuf::from(word))
}

/// The command on the closed database.
fn offline(
    storage: &StorageRef,
    db: &DbPath,
    command: ArchiverCommand,
) -> Result<Vec<String>, aiarchiver::Error> {
    Ok(match command {
        ArchiverCommand::Enable {
            dirs,
            interval_secs,
            dir_create,
        } => {
            let settings = aiarchiver::Settings::new(&dirs, interval_secs, dir_create)?;
            aiarchiver::enable(storage, db, &settings)?;
            vec![
                format!("AI archiver enabled for {db}."),
                settings.summary(),
                "The server starts the archiver daemon (and -aistall) when it starts.".into(),
            ]
        }
        ArchiverCommand::Disable => {
            aiarchiver::disable(storage, db)?;
            vec![format!("AI archiver disabled for {db}.")]
        }
        ArchiverCommand::SetDir { dirs, dir_create } => {
            vec![aiarchiver::set_dirs(storage, db, &dirs, dir_create)?.summary()]
        }
        ArchiverCommand::SetInterval { secs } => {
            vec![aiarchiver::set_interval(storage, db, secs)?.summary()]
        }
        ArchiverCommand::ArchiveExtent { extent, target } => {
            let a =
                aiarchiver::archive_extent(storage, db, Path::new(&extent), Path::new(&target))?;
            vec![format!(
                "After-image extent {} (sequence {}) archived to {} and marked Empty.",
                a.extent.display(),
                a.ai_seq.0,
                a.target.display()
            )]
        }
    })
}
