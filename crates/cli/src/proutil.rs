//! `proutil db -C truncate bi | busy | describe`, and the statistics text `prostrct` shares.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::process::ExitCode;

use engine::{DbPath, Description};
use masterblock::DbState;

use crate::error::on;
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: proutil db -C qualifier

  proutil db -C truncate bi   crash recovery if needed, checkpoint, BI emptied
  proutil db -C busy          exit 0 and say so if the database is not in use; exit 6 if it is
  proutil db -C describe      identity, state, counters, stamps and after-imaging state";

/// Exit status of `proutil -C busy` when the database is in use (as OpenEdge).
pub const BUSY_EXIT: u8 = 6;

/// Entry point of the `proutil` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let mut busy = false;
    let code = crate::run_main("proutil", args, |console, words| {
        let result = run(console, words);
        if let Ok(Outcome::InUse) = result {
            busy = true;
        }
        result.map(|_| ())
    });
    if busy {
        ExitCode::from(BUSY_EXIT)
    } else {
        code
    }
}

/// What `proutil` found, for the exit status of `busy`.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done,
    /// `busy`: the database is in use.
    InUse,
}

/// Runs `proutil` with already split words.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<Outcome, Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(Outcome::Done);
    }
    let [db_word, dash_c, qualifier @ ..] = words.as_slice() else {
        return Err(Error::Usage(HELP.to_string()));
    };
    if dash_c != "-C" {
        return Err(Error::Usage(format!(
            "expected -C after the database\n{HELP}"
        )));
    }
    let db = DbPath::parse(db_word).map_err(crate::error::no_db)?;
    let storage = real_storage();
    let qualifier: Vec<String> = qualifier.iter().map(|w| w.to_lowercase()).collect();
    match qualifier
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["truncate", "bi"] => {
            let report = engine::truncate_bi(&storage, &db).map_err(on(&db))?;
            say(console, format!("Truncated the BI of {db}: {report}."));
            Ok(Outcome::Done)
        }
        ["busy"] => {
            if engine::busy(&storage, &db).map_err(on(&db))? {
                say(console, format!("Database {db} is in use."));
                Ok(Outcome::InUse)
            } else {
                say(console, format!("Database {db} is not in use."));
                Ok(Outcome::Done)
            }
        }
        ["describe"] => {
            let d = engine::describe(&storage, &db).map_err(on(&db))?;
            say(console, describe_text(&db, &d));
            Ok(Outcome::Done)
        }
        _ => Err(Error::Usage(format!(
            "unknown qualifier `{}`\n{HELP}",
            qualifier.join(" ")
        ))),
    }
}

/// A time in microseconds as the utilities print it, or `never`.
pub(crate) fn time_text(micros: i64) -> String {
    if micros == 0 {
        return "never".into();
    }
    match jiff::Timestamp::from_microsecond(micros) {
        Ok(ts) => ts.strftime("%a %b %d %H:%M:%S %Y").to_string(),
        Err(_) => format!("{micros} µs"),
    }
}

fn state_text(state: DbState) -> &'static str {
    match state {
        DbState::Clean => "clean",
        DbState::Open => "open (crash recovery runs at the next open)",
        DbState::RollForwardInProgress => "roll forward in progress (use roll forward retry)",
        DbState::Restoring => "restore in progress or cut short (run prorest again)",
        DbState::RolledForwardInFlight => {
            "rolled forward with transactions in flight (roll forward the next file, or open it for use)"
        }
    }
}

fn ai_text(d: &Description) -> String {
    let mb = &d.master;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "After-imaging: {}",
        if mb.ai_enabled { "enabled" } else { "disabled" }
    );
    let _ = writeln!(s, "Current AI sequence: {}", mb.ai_seq_current.0);
    let _ = writeln!(s, "Expected AI sequence: {}", mb.ai_seq_expected.0);
    let _ = writeln!(s, "Busy AI extent: {}", mb.ai_busy_extent);
    let _ = write!(s, "AI extents: {}", d.catalogue.ai_extents().len());
    s
}

/// `proutil -C describe`.
pub(crate) fn describe_text(db: &DbPath, d: &Description) -> String {
    let mb = &d.master;
    let mut s = String::new();
    let _ = writeln!(s, "Database: {db}");
    let _ = writeln!(s, "Identity: {}", mb.db_id);
    let _ = writeln!(s, "Block size: {}", mb.block_size);
    let _ = writeln!(s, "State: {}", state_text(mb.state));
    let _ = writeln!(s, "Created: {}", time_text(mb.created_time));
    let _ = writeln!(
        s,
        "Open stamp: {} ({})",
        mb.open_stamp.0,
        time_text(mb.open_time)
    );
    let _ = writeln!(s, "Backup counter: {}", mb.backup_counter);
    let _ = writeln!(s, "Last full backup: {}", time_text(mb.full_backup_time));
    let _ = writeln!(
        s,
        "Last incremental backup: {}",
        time_text(mb.incr_backup_time)
    );
    let _ = writeln!(s, "Next note: {}", mb.next_note_seq.0);
    let _ = writeln!(s, "Next transaction: {}", mb.next_txn_id.0);
    s.push_str(&ai_text(d));
    s
}

/// `prostrct statistics`.
pub(crate) fn statistics_text(db: &DbPath, d: &Description) -> String {
    let mb = &d.master;
    let mut s = String::new();
    let _ = writeln!(s, "Database: {db}");
    let _ = writeln!(s, "Database block size: {}", mb.block_size);
    let _ = writeln!(s, "BI size: {} bytes", d.bi_size_bytes);
    let _ = writeln!(s, "Last full backup: {}", time_text(mb.full_backup_time));
    let storage = real_storage();
    for area in &d.catalogue.areas {
        let mut size_bytes = 0u64;
        for extent in &area.extents {
            size_bytes += storage
                .open(&extent.path, storage::OpenMode::Read)
                .and_then(|f| f.len())
                .unwrap_or(0);
        }
        let _ = write!(
            s,
            "Area {} \"{}\": {} extent(s), {} bytes",
            area.number.0,
            area.name,
            area.extents.len(),
            size_bytes
        );
        if area.kind == structure::AreaKind::Data {
            let blocks =
                (size_bytes / u64::from(mb.block_size)).saturating_sub(area.extents.len() as u64);
            let _ = write!(s, ", {blocks} blocks");
        }
        s.push('\n');
    }
    s.push_str(&ai_text(d));
    s
}
