//! `proshut db -by | -bn | -F`: stops the server of a database.
//!
//! Invariant: `-by` and `-bn` return only once the server has rolled back, checkpointed and
//! released `db.lk`; `-F` returns once the broker process let go of the lock (the next open
//! runs crash recovery); `-bn` with clients connected changes nothing (91105).

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use engine::DbPath;
use server::ShutdownMode;

use crate::error::{no_db, on, on_server};
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: proshut db -by | -bn | -F

  -by  roll back every active transaction, disconnect the clients, checkpoint, stop
  -bn  stop only if no client is connected
  -F   emergency: stop the server process now, without a checkpoint; the next open runs
       crash recovery";

/// How long `-F` waits for the broker process to let go of the database.
const EMERGENCY_WAIT: Duration = Duration::from_secs(10);

/// Entry point of the `proshut` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("proshut", args, run)
}

/// Runs `proshut` with already split words.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let mut db = None;
    let mut mode = None;
    for word in &words {
        let m = match word.as_str() {
            "-by" => ShutdownMode::Unconditional,
            "-bn" => ShutdownMode::IfIdle,
            "-F" => ShutdownMode::Emergency,
            w if w.starts_with('-') => {
                return Err(Error::Usage(format!("unknown option `{w}`\n{HELP}")));
            }
            w => {
                if db.is_some() {
                    return Err(Error::Usage(format!("too many operands\n{HELP}")));
                }
                db = Some(DbPath::parse(w).map_err(no_db)?);
                continue;
            }
        };
        if mode.replace(m).is_some() {
            return Err(Error::Usage(format!("give one of -by, -bn, -F\n{HELP}")));
        }
    }
    let db = db.ok_or_else(|| Error::Usage(format!("a database is required\n{HELP}")))?;
    let mode = mode.ok_or_else(|| Error::Usage(format!("give one of -by, -bn, -F\n{HELP}")))?;
    let storage = real_storage();
    let client = server::Client::connect_db(&storage, &db)
        .ok_or_else(|| on_server(&db)(server::Error::NoServer { db: db.to_string() }))?;
    let pid = client.server_pid();
    client.shutdown(mode).map_err(on_server(&db))?;
    match mode {
        ShutdownMode::Emergency => {
            wait_released(&db)?;
            say(
                console,
                format!(
                    "Emergency shutdown of {db}: server process {pid} stopped without a checkpoint; the next open runs crash recovery."
                ),
            );
        }
        ShutdownMode::Unconditional | ShutdownMode::IfIdle => {
            say(
                console,
                format!("Shutdown of {db} complete (server process {pid})."),
            );
        }
    }
    Ok(())
}

/// Waits until nothing holds the database's lock.
fn wait_released(db: &DbPath) -> Result<(), Error> {
    let storage = real_storage();
    let deadline = Instant::now() + EMERGENCY_WAIT;
    loop {
        if !engine::busy(&storage, db).map_err(on(db))? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(on_server(db)(server::Error::Disconnected {
                reason: format!(
                    "the server process still holds {} {} s after proshut -F",
                    db.lock_path().display(),
                    EMERGENCY_WAIT.as_secs()
                ),
            }));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
