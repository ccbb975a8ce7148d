//! `prodb new-db source`: a new database from a built-in template or a copy of a database.

use std::ffi::OsString;
use std::process::ExitCode;

use engine::DbPath;
use structure::StFile;

use crate::error::{on, on_workload};
use crate::templates::Template;
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: prodb new-db source

Creates the database new-db. `source` is an existing database, copied with a new identity
and after-imaging off, or a built-in template:
  empty       schema area and one data area, 8 KiB blocks, no tables
  sports2000  the demo database: 1 KiB blocks, tables customer, salesrep, item, order and
              orderline filled with a few thousand deterministic rows";

/// Entry point of the `prodb` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("prodb", args, run)
}

/// Runs `prodb` with already split words (without the program name).
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let [target, source] = words.as_slice() else {
        return Err(Error::Usage(HELP.to_string()));
    };
    let storage = real_storage();
    let target = DbPath::parse(target).map_err(crate::error::no_db)?;
    let source_db = DbPath::parse(source).map_err(crate::error::no_db)?;
    if storage.exists(&source_db.control_path()) {
        engine::copy_database(&storage, &source_db, &target).map_err(on(&target))?;
        say(console, format!("Copied {} to {}.", source_db, target));
        return Ok(());
    }
    let Some(template) = Template::named(source) else {
        return Err(Error::UnknownSource {
            name: source.clone(),
        });
    };
    let st = StFile::parse(template.st_text())?;
    engine::create_database(&storage, &target, &st, template.block_size()).map_err(on(&target))?;
    if template == Template::Sports2000 {
        let db = engine::Database::open(storage.clone(), &target, engine::OpenOptions::default())
            .map_err(on(&target))?;
        let report = workload::load_sports2000_in(&db, Some(masterblock::AreaNo(7)))
            .map_err(on_workload(&target))?;
        db.close().map_err(on(&target))?;
        say(
            console,
            format!("Loaded sports2000: {} rows.", report.total_rows()),
        );
    }
    say(console, format!("Created {target} from {source}."));
    Ok(())
}
