//! `cargo xtask fixtures`: (re)writes `testdata/v1/` with the debug binaries, deterministically.
//!
//! Every tool runs with `SOURCE_DATE_EPOCH` set (fixed clock and ids) in the fixed directory
//! [`WORK`], so the absolute paths the control area records are the same on every machine; a
//! second run leaves every file in `testdata/v1/` byte for byte as it was (only files whose
//! content changed are written, files no longer produced are removed).

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root};

/// Where the fixtures are generated: fixed, because the control area records absolute paths.
const WORK: &str = "/tmp/afterimage-fixtures";

/// The clock and the random ids of every tool start here (2023-11-14 22:13:20 UTC).
const EPOCH: &str = "1700000000";

/// Structure of the source database and of the restore target: 1 KiB blocks (given to
/// `prostrct create`), a schema area, one data area and three variable AI extents.
const STRUCTURE: &str = "b .\nd \"Schema Area\":6,32 .\nd \"Data Area\":7,32;8 .\na .\na .\na .\n";

/// The project's binaries the fixtures and the figures are made with.
const TOOLS: [&str; 10] = [
    "prodb",
    "prostrct",
    "proutil",
    "proclient",
    "rfutil",
    "probkup",
    "prorest",
    "proserve",
    "proshut",
    "proquiet",
];

/// Files of the source database kept in `db/` (the event log `shop.lg` is left out: it is
/// written again at the next open and is no part of the database's state).
const DB_FILES: [&str; 7] = [
    "shop.db",
    "shop.b1",
    "shop.d1",
    "shop_7.d1",
    "shop.a1",
    "shop.a2",
    "shop.a3",
];

/// The cargo target directory (`CARGO_TARGET_DIR`, relative to the workspace root, or
/// `target`).
pub(crate) fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Builds the binaries of `TOOLS` (release or debug) and returns their directory.
pub(crate) fn build_tools(cargo: &str, release: bool) -> Result<PathBuf, String> {
    let mut args = vec!["build", "--quiet"];
    if release {
        args.push("--release");
    }
    for tool in TOOLS {
        args.extend(["-p", tool]);
    }
    crate::run(cargo, &args)?;
    Ok(target_dir().join(if release { "release" } else { "debug" }))
}

/// `cargo xtask fixtures`.
pub(crate) fn run(rest: &[String]) -> Result<(), String> {
    if let Some(arg) = rest.first() {
        return Err(format!("`fixtures` takes no arguments, got `{arg}`"));
    }
    let bin = build_tools(&cargo(), false)?;
    let work = Path::new(WORK);
    if work.exists() {
        fs::remove_dir_all(work).map_err(|e| format!("cannot remove {WORK}: {e}"))?;
    }
    for sub in ["db", "ai", "restore"] {
        mkdir(&work.join(sub))?;
    }
    let files = generate(&Tools { bin, work })?;
    let written = install(&root().join("testdata").join("v1"), &files)?;
    let total: usize = files.values().map(Vec::len).sum();
    println!(
        "testdata/v1: {} files, {total} bytes; {written} written, {} unchanged",
        files.len(),
        files.len() - written
    );
    fs::remove_dir_all(work).map_err(|e| format!("cannot remove {WORK}: {e}"))
}

/// Runs the project's binaries in the work directory.
struct Tools<'a> {
    bin: PathBuf,
    work: &'a Path,
}

impl Tools<'_> {
    /// Runs `name args` with the fixed clock; returns its standard output, or an error with
    /// its standard error when it fails.
    fn run(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let (ok, out, err) = self.try_run(name, args)?;
        if ok {
            Ok(out)
        } else {
            Err(format!("`{name} {}` failed:\n{err}", args.join(" ")))
        }
    }

    /// Runs `name args` with the fixed clock; returns success, standard output and error.
    fn try_run(&self, name: &str, args: &[&str]) -> Result<(bool, String, String), String> {
        println!("$ {name} {}", args.join(" "));
        let output = Command::new(self.bin.join(name))
            .args(args)
            .current_dir(self.work)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .output()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        Ok((
            output.status.success(),
            text(output.stdout),
            text(output.stderr),
        ))
    }

    /// The absolute path of `relative` in the work directory, as text.
    fn path(&self, relative: &str) -> String {
        self.work.join(relative).to_string_lossy().into_owned()
    }
}

/// Makes every fixture; returns their contents by path relative to `testdata/v1/`.
fn generate(t: &Tools) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let scripts = [
        ("load.txt", load_script()),
        ("ai1.txt", ai1_script()),
        ("ai2.txt", ai2_script()),
    ];
    for (name, text) in &scripts {
        write(&t.work.join(name), text.as_bytes())?;
        out.insert((*name).to_string(), text.clone().into_bytes());
    }
    write(&t.work.join("shop.st"), STRUCTURE.as_bytes())?;
    out.insert("shop.st".into(), STRUCTURE.into());

    // The source database, loaded, backed up, then after-imaging on.
    let db = t.path("db/shop");
    let st = t.path("shop.st");
    t.run("prostrct", &["create", &db, &st, "-blocksize", "1024"])?;
    t.run("proclient", &[&db, "create-table", "item", "--area", "7"])?;
    t.run(
        "proclient",
        &[&db, "create-table", "customer", "--area", "7"],
    )?;
    t.run("proclient", &[&db, "exec", &t.path("load.txt")])?;
    t.run("probkup", &[&db, &t.path("shop.bck"), "-com"])?;
    t.run("rfutil", &[&db, "-C", "aimage", "begin"])?;
    // AI file 1: updates, inserts, a delete and a rollback; then a switch; AI file 2.
    t.run("proclient", &[&db, "exec", &t.path("ai1.txt")])?;
    t.run("rfutil", &[&db, "-C", "aimage", "new"])?;
    t.run("proclient", &[&db, "exec", &t.path("ai2.txt")])?;

    // Archive as seed 003 does: the full extent copied then emptied; the busy one copied.
    let full = t.run("rfutil", &[&db, "-C", "aimage", "full"])?;
    let full_copy = t.path("ai/shop.a1.full");
    copy(Path::new(full.trim()), Path::new(&full_copy))?;
    let busy = t.run(
        "rfutil",
        &[&db, "-C", "aimage", "query", "name", "by", "sequence", "2"],
    )?;
    let busy_copy = t.path("ai/shop.a2.busy");
    copy(Path::new(busy.trim()), Path::new(&busy_copy))?;
    t.run("rfutil", &[&db, "-C", "aimage", "extent", "empty"])?;
    let corrupt_copy = t.path("ai/shop.a1.corrupt");
    let (offset, corrupt) = corrupted(&read(Path::new(&full_copy))?)?;
    write(Path::new(&corrupt_copy), &corrupt)?;
    println!("flipped bit 0 of byte {offset} of shop.a1.full into shop.a1.corrupt");

    // The expected outcomes.
    let scan = t.run("rfutil", &[&db, "-C", "aimage", "scan", "-a", &full_copy])?;
    let scan = scan.replace(&full_copy, "ai/shop.a1.full");
    out.insert("expected/scan-shop.a1.full.txt".into(), scan.into_bytes());
    let (refused, _, err) = t.try_run(
        "rfutil",
        &[&db, "-C", "aiverify", "full", "-a", &corrupt_copy],
    )?;
    if refused {
        return Err("aiverify full accepted the corrupted extent".into());
    }
    println!("{}", err.trim_end());
    let source_dump = t.run("proclient", &[&db, "dump"])?;

    // Restore into a fresh database and roll both files forward.
    let target = t.path("restore/restored");
    t.run("prostrct", &["create", &target, &st, "-blocksize", "1024"])?;
    t.run("prorest", &[&target, &t.path("shop.bck")])?;
    for file in [&full_copy, &busy_copy] {
        t.run("rfutil", &[&target, "-C", "roll", "forward", "-a", file])?;
    }
    let dump = t.run("proclient", &[&target, "dump"])?;
    if dump != source_dump {
        return Err("the rolled-forward database differs from the source database".into());
    }
    out.insert(
        "expected/digest.txt".into(),
        digest_text(&dump).into_bytes(),
    );
    out.insert("expected/dump.txt".into(), dump.into_bytes());

    for name in DB_FILES {
        out.insert(format!("db/{name}"), read(&t.work.join("db").join(name))?);
    }
    out.insert("shop.bck".into(), read(&t.work.join("shop.bck"))?);
    for name in ["shop.a1.full", "shop.a2.busy", "shop.a1.corrupt"] {
        out.insert(format!("ai/{name}"), read(&t.work.join("ai").join(name))?);
    }
    Ok(out)
}

/// The AI extent `bytes` with bit 0 of the middle byte of its notes flipped (inside a note:
/// notes run contiguously from byte 4096 to the end of a full variable extent).
fn corrupted(bytes: &[u8]) -> Result<(usize, Vec<u8>), String> {
    if bytes.len() <= 4096 {
        return Err("the full AI extent holds no notes".into());
    }
    let offset = 4096 + (bytes.len() - 4096) / 2;
    let mut out = bytes.to_vec();
    out[offset] ^= 0x01;
    Ok((offset, out))
}

/// 200 items and 100 customers, in two transactions.
fn load_script() -> String {
    let mut s = String::from("# Initial load, before the backup.\nbegin\n");
    for i in 1..=200 {
        let _ = writeln!(s, "insert item i{i:04} name=Item {i};price={}", i * 7 % 100);
    }
    s.push_str("commit\nbegin\n");
    for i in 1..=100 {
        let _ = writeln!(s, "insert customer c{i:04} name=Customer {i};balance=0");
    }
    s.push_str("commit\n");
    s
}

/// AI file 1: 50 two-table transactions, one rolled back, 20 inserts and a delete.
fn ai1_script() -> String {
    let mut s = String::from("# After-imaging on: AI file 1 (sequence 1).\n");
    for i in 1..=50 {
        let _ = write!(
            s,
            "begin\nupdate item i{i:04} name=Item {i};price={}\n\
             update customer c{i:04} name=Customer {i};balance={}\ncommit\n",
            i + 1000,
            i * 3
        );
    }
    s.push_str("begin\ninsert item i9999 name=Rolled back;price=0\nrollback\n");
    for i in 201..=220 {
        let _ = writeln!(s, "insert item i{i:04} name=Item {i};price=1");
    }
    s.push_str("delete customer c0100\n");
    s
}

/// AI file 2 (still busy when copied): 30 single-statement transactions.
fn ai2_script() -> String {
    let mut s = String::from("# After `aimage new`: AI file 2 (sequence 2), copied while busy.\n");
    for i in 51..=80 {
        let _ = writeln!(s, "update item i{i:04} name=Item {i};price=2");
    }
    s
}

/// The content digest of a `proclient dump` (as `workload::content_digest` computes it over
/// the database: FNV-1a 64 over every table name, key and value, each prefixed by its length
/// as a little-endian u64, tables and keys in order). Every table of the fixture has rows, so
/// the dump names every table.
fn digest_text(dump: &str) -> String {
    const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;
    let mut hash = FNV_OFFSET;
    let mut field = |bytes: &[u8]| {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            hash = (hash ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
    };
    let (mut tables, mut records) = (0u64, 0u64);
    let mut current: Option<&str> = None;
    for line in dump.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(table), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if current != Some(table) {
            field(table.as_bytes());
            tables += 1;
            current = Some(table);
        }
        field(key.as_bytes());
        field(&unescape(value));
        records += 1;
    }
    format!("tables={tables} records={records} hash={hash:#018x}\n")
}

/// Undoes the dump's escapes (`\\`, `\t`, `\n`, `\r`).
fn unescape(text: &str) -> Vec<u8> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out.into_bytes()
}

/// Writes `files` under `dir`, only where the content differs, and removes every other file
/// there; returns how many files were written.
fn install(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<usize, String> {
    let mut written = 0;
    for (name, bytes) in files {
        let path = dir.join(name);
        if fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            mkdir(parent)?;
        }
        write(&path, bytes)?;
        println!("wrote testdata/v1/{name}");
        written += 1;
    }
    let mut stale = Vec::new();
    list(dir, dir, &mut stale)?;
    for name in stale.iter().filter(|n| !files.contains_key(*n)) {
        fs::remove_file(dir.join(name)).map_err(|e| format!("cannot remove {name}: {e}"))?;
        println!("removed testdata/v1/{name}");
    }
    Ok(written)
}

/// Every file under `dir`, as paths relative to `base` with `/` separators.
fn list(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            list(base, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

fn mkdir(path: &Path) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}
