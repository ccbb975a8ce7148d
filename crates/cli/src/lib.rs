//! The afterimage utilities as library functions: each `main(args)` parses an OpenEdge-style
//! command line, runs it and returns the process exit status.
//!
//! Invariant: every failure prints `text (number)` on standard error, goes to the database's
//! `.lg` when the database is known, and exits non-zero; success exits 0.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

mod error;
mod output;
pub mod probkup;
pub mod proclient;
mod proclient_exec;
pub mod prodb;
pub mod proquiet;
pub mod prorest;
pub mod proserve;
pub mod proshut;
pub mod prostrct;
pub mod proutil;
pub mod rfutil;
mod rfutil_aimage;
mod rfutil_archiver;
mod rfutil_rollforward;
mod templates;

pub use error::{Error, all_messages};
pub use output::Console;

/// The storage every command uses: the real file system.
pub(crate) fn real_storage() -> storage::StorageRef {
    Arc::new(storage::RealStorage)
}

/// Runs `body` with a console on the process's standard streams and turns its result into an
/// exit status, printing the error with its number.
pub(crate) fn run_main(
    tool: &'static str,
    args: impl IntoIterator<Item = OsString>,
    body: impl FnOnce(&mut Console, Vec<String>) -> Result<(), Error>,
) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut console = Console::new(Box::new(stdout.lock()), Box::new(stderr.lock()));
    let code = run_with(tool, args, &mut console, body);
    ExitCode::from(code)
}

/// Like [`run_main`] with an explicit console; returns the exit status (0 on success).
pub fn run_with(
    tool: &'static str,
    args: impl IntoIterator<Item = OsString>,
    console: &mut Console,
    body: impl FnOnce(&mut Console, Vec<String>) -> Result<(), Error>,
) -> u8 {
    let mut words = Vec::new();
    for arg in args.into_iter().skip(1) {
        match arg.into_string() {
            Ok(word) => words.push(word),
            Err(raw) => {
                let err = Error::Usage(format!("argument {raw:?} is not valid UTF-8"));
                console.error(tool, &err, None);
                return 2;
            }
        }
    }
    match body(console, words).map_err(Error::or_served) {
        Ok(()) => 0,
        Err(err) => {
            let db = err.database().cloned();
            console.error(tool, &err, db.as_ref());
            if matches!(err, Error::Usage(_)) { 2 } else { 1 }
        }
    }
}

/// Prints `text` followed by a newline on the console's standard output.
pub(crate) fn say(console: &mut Console, text: impl std::fmt::Display) {
    let _ = writeln!(console.out, "{text}");
}
