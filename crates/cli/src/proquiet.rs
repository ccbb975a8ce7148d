//! `proquiet db [-C] enable [nolock] | disable [markbackedup]`: raises or lifts a quiet point
//! on a served database.
//!
//! Invariant: it works only through the server (a quiet point holds the server's writers); with
//! no server it changes nothing and fails with 91125. `enable` returns only once the quiet
//! point holds, so an OS copy started afterwards is a valid baseline.

use std::ffi::OsString;
use std::process::ExitCode;

use engine::DbPath;

use crate::error::{no_db, on_server};
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: proquiet db [-C] enable [nolock] | disable [markbackedup]

  enable               hold every update at a note boundary, switch to the next after-image
                       extent, make the BI, AI and data blocks durable; an OS copy of the
                       database files taken until disable is a valid baseline (roll forward
                       it from the extent that became busy)
  enable nolock        the same without the after-image switch (roll the busy extent forward
                       with roll forward retry)
  disable              let the held updates go on
  disable markbackedup mark the database backed up first
  The database must be served (proserve).";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Enable { nolock: bool },
    Disable { markbackedup: bool },
}

fn parse(words: &[String]) -> Result<(DbPath, Action), Error> {
    let usage = |why: &str| Error::Usage(format!("{why}\n{HELP}"));
    let [db_word, rest @ ..] = words else {
        return Err(usage("a database is required"));
    };
    let rest = match rest {
        [c, tail @ ..] if c == "-C" => tail,
        _ => rest,
    };
    let lower: Vec<String> = rest.iter().map(|w| w.to_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let action = match lower.as_slice() {
        ["enable"] => Action::Enable { nolock: false },
        ["enable", "nolock"] => Action::Enable { nolock: true },
        ["disable"] => Action::Disable {
            markbackedup: false,
        },
        ["disable", "markbackedup"] => Action::Disable { markbackedup: true },
        [] => return Err(usage("give enable or disable")),
        _ => {
            return Err(usage(&format!("unknown qualifier `{}`", rest.join(" "))));
        }
    };
    Ok((DbPath::parse(db_word).map_err(no_db)?, action))
}

/// Entry point of the `proquiet` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("proquiet", args, run)
}

/// Runs `proquiet` with already split words.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let (db, action) = parse(&words)?;
    let storage = real_storage();
    let client = server::Client::connect_db(&storage, &db).ok_or_else(|| {
        on_server(&db)(server::Error::NotServed {
            tool: "proquiet",
            db: db.to_string(),
        })
    })?;
    match action {
        Action::Enable { nolock } => {
            let switched = client.quiet_enable(nolock).map_err(on_server(&db))?;
            say(console, "Quiet point has been enabled by the broker.");
            if let Some(s) = switched {
                say(
                    console,
                    format!(
                        "Switched from after-image extent {} to {} ({}): this is after-image file number {} since the last AIMAGE BEGIN.",
                        s.from_extent, s.to_extent, s.to_path, s.new_seq
                    ),
                );
            }
        }
        Action::Disable { markbackedup } => {
            let marked = client.quiet_disable(markbackedup).map_err(on_server(&db))?;
            if let Some(counter) = marked {
                say(
                    console,
                    format!("Database {db} marked as backed up (backup {counter})."),
                );
            }
            say(console, "Quiet point has been disabled by the broker.");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_the_openedge_forms() {
        let action = |line: &str| parse(&words(line)).map(|(_, a)| a);
        assert_eq!(
            action("db enable").unwrap(),
            Action::Enable { nolock: false }
        );
        assert_eq!(
            action("db -C enable nolock").unwrap(),
            Action::Enable { nolock: true }
        );
        assert_eq!(
            action("db disable markbackedup").unwrap(),
            Action::Disable { markbackedup: true }
        );
        assert_eq!(
            action("db -C disable").unwrap(),
            Action::Disable {
                markbackedup: false
            }
        );
        for bad in ["db", "db enable lock", "db bithreshold 10", "db -C"] {
            assert_eq!(action(bad).unwrap_err().msg_number(), 90700, "{bad}");
        }
    }
}
