//! `prostrct create | add | list | repair | statistics`: the structure of a database.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use engine::{DbPath, RepairTarget};
use structure::{AreaKind, Catalogue, StFile};

use crate::error::on;
use crate::{Console, Error, real_storage, say};

const HELP: &str = "usage: prostrct qualifier db [operand] [options]

  prostrct create db [file.st] [-blocksize 1024|2048|4096|8192]
      Creates db from a structure file (default db.st; block size default 8192).
  prostrct add db [file.st]
      Adds every extent the file lists (default db.st), AI extents included.
  prostrct list db [file.st | dir/]
      Prints the structure and writes it as a structure file (default db.st; a directory
      gets db.st inside it).
  prostrct repair db [file.st | dir/]
      Points the control area at moved extents: from a structure file, or every extent
      into a directory keeping its file name (default db.st).
  prostrct statistics db
      Block size, areas, extents, space used, backup and after-imaging state.";

/// Entry point of the `prostrct` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("prostrct", args, run)
}

/// Runs `prostrct` with already split words.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.is_empty() || words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return if words.is_empty() {
            Err(Error::Usage(
                "a qualifier and a database are required".into(),
            ))
        } else {
            Ok(())
        };
    }
    let (qualifier, rest) = words.split_first().expect("checked non-empty");
    let (positional, block_size) = split_options(rest)?;
    let Some(db_word) = positional.first() else {
        return Err(Error::Usage(format!(
            "prostrct {qualifier} needs a database\n{HELP}"
        )));
    };
    let db = DbPath::parse(db_word).map_err(crate::error::no_db)?;
    let operand = positional.get(1).map(String::as_str);
    if positional.len() > 2 {
        return Err(Error::Usage(format!("too many operands\n{HELP}")));
    }
    if block_size.is_some() && qualifier != "create" {
        return Err(Error::Usage(
            "-blocksize goes with prostrct create only".into(),
        ));
    }
    match qualifier.as_str() {
        "create" => create(console, &db, operand, block_size.unwrap_or(8192)),
        "add" => add(console, &db, operand),
        "list" => list(console, &db, operand),
        "repair" => repair(console, &db, operand),
        "statistics" => statistics(console, &db, operand),
        other => Err(Error::Usage(format!("unknown qualifier `{other}`\n{HELP}"))),
    }
}

fn split_options(words: &[String]) -> Result<(Vec<String>, Option<u32>), Error> {
    let mut positional = Vec::new();
    let mut block_size = None;
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if word == "-blocksize" {
            let value = iter
                .next()
                .ok_or_else(|| Error::Usage("-blocksize needs a value".into()))?;
            let n: u32 = value
                .parse()
                .map_err(|_| Error::Usage(format!("-blocksize `{value}` is not a number")))?;
            if !masterblock::valid_block_size(n) {
                return Err(Error::Usage(format!(
                    "-blocksize {n} is not one of 1024, 2048, 4096, 8192"
                )));
            }
            block_size = Some(n);
        } else if word.starts_with('-') && word.len() > 1 {
            return Err(Error::Usage(format!("unknown option `{word}`")));
        } else {
            positional.push(word.clone());
        }
    }
    Ok((positional, block_size))
}

/// The structure file an operand names: default `db.st`; a directory means `dir/db.st`.
fn st_path(db: &DbPath, operand: Option<&str>) -> PathBuf {
    match operand {
        None => db.st_path(),
        Some(op) => {
            let path = absolute(Path::new(op));
            if op.ends_with('/') || path.is_dir() {
                path.join(format!("{}.st", db.name()))
            } else {
                path
            }
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read_st(path: &Path) -> Result<StFile, Error> {
    let storage = real_storage();
    let bytes = storage::read_all(storage.as_ref(), path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::ReadFile {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })?;
    Ok(StFile::parse(&text)?)
}

fn create(
    console: &mut Console,
    db: &DbPath,
    operand: Option<&str>,
    block_size: u32,
) -> Result<(), Error> {
    let st = read_st(&st_path(db, operand))?;
    engine::create_database(&real_storage(), db, &st, block_size).map_err(on(db))?;
    say(
        console,
        format!("Created database {db} with block size {block_size}."),
    );
    Ok(())
}

fn add(console: &mut Console, db: &DbPath, operand: Option<&str>) -> Result<(), Error> {
    let st = read_st(&st_path(db, operand))?;
    let added = engine::add_extents(&real_storage(), db, &st).map_err(on(db))?;
    let catalogue = engine::describe(&real_storage(), db)
        .map_err(on(db))?
        .catalogue;
    for (area, extent) in added {
        if let Some(path) = extent_path(&catalogue, area, extent) {
            say(
                console,
                format!(
                    "Added extent {extent} of area {} : {}",
                    area.0,
                    path.display()
                ),
            );
        }
    }
    Ok(())
}

fn extent_path(catalogue: &Catalogue, area: masterblock::AreaNo, number: u32) -> Option<PathBuf> {
    let area = catalogue.area(area)?;
    area.extents
        .iter()
        .find(|e| e.number == number)
        .map(|e| e.path.clone())
}

/// The database's description: answered by the server when one runs, else read from the files.
fn describe(db: &DbPath) -> Result<engine::Description, Error> {
    let storage = real_storage();
    match server::Client::connect_db(&storage, db) {
        Some(client) => client.describe().map_err(crate::error::on_server(db)),
        None => engine::describe(&storage, db).map_err(on(db)),
    }
}

fn list(console: &mut Console, db: &DbPath, operand: Option<&str>) -> Result<(), Error> {
    let description = describe(db)?;
    let catalogue = &description.catalogue;
    say(console, listing(catalogue, description.master.block_size));
    let path = st_path(db, operand);
    let text = catalogue.to_st().to_string();
    write_file(&path, text.as_bytes())?;
    say(console, format!("Wrote structure file {}.", path.display()));
    Ok(())
}

/// The printed listing, in the layout of the OpenEdge documentation.
pub(crate) fn listing(catalogue: &Catalogue, block_size: u32) -> String {
    let mut s = String::new();
    for area in &catalogue.areas {
        let (type_no, area_block) = match area.kind {
            AreaKind::Control => (6, block_size),
            AreaKind::Bi => (3, block_size),
            AreaKind::Data => (6, block_size),
            AreaKind::Ai => (7, block_size),
        };
        let _ = write!(
            s,
            "Area Name: {}, Type {}, BlockSize {}, Extents {}",
            area.name,
            type_no,
            area_block,
            area.extents.len()
        );
        if area.kind == AreaKind::Data {
            let _ = write!(
                s,
                ", Records/Block {}, Cluster Size {}",
                area.records_per_block, area.blocks_per_cluster
            );
        }
        s.push('\n');
        for extent in &area.extents {
            let _ = writeln!(
                s,
                "   Ext # {}, Type {}, Size {}, Name: {}",
                extent.number,
                if extent.fixed { "FIXED   " } else { "VARIABLE" },
                if extent.fixed { extent.size_kib } else { 0 },
                extent.path.display()
            );
        }
    }
    s.truncate(s.trim_end().len());
    s
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    // A structure file is a text document for the DBA, written whole and replaced atomically.
    let storage = real_storage();
    let tmp = path.with_extension("st.tmp");
    let result = (|| {
        if storage.exists(&tmp) {
            storage.remove(&tmp)?;
        }
        storage::create_durable(storage.as_ref(), &tmp, bytes)?;
        storage.rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            storage.sync_dir(dir)?;
        }
        Ok(())
    })();
    result.map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

fn repair(console: &mut Console, db: &DbPath, operand: Option<&str>) -> Result<(), Error> {
    let target = match operand {
        Some(op) if op.ends_with('/') || Path::new(op).is_dir() => {
            RepairTarget::Dir(absolute(Path::new(op)))
        }
        _ => RepairTarget::St(read_st(&st_path(db, operand))?),
    };
    engine::repair(&real_storage(), db, target).map_err(on(db))?;
    say(console, format!("Repaired the control area of {db}."));
    Ok(())
}

fn statistics(console: &mut Console, db: &DbPath, operand: Option<&str>) -> Result<(), Error> {
    if operand.is_some() {
        return Err(Error::Usage(
            "prostrct statistics takes only the database".into(),
        ));
    }
    let d = describe(db)?;
    say(console, crate::proutil::statistics_text(db, &d));
    Ok(())
}
