//! `proclient db ...`: records in transactions, dumps and workloads, single-user or through the
//! server when one is running (its lock file says `mode server` and its socket answers).
//!
//! Invariant: both paths run the same code over the workload crate's session traits, so the
//! output and the error numbers are the same either way.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use engine::{AccessMode, Database, DbPath, OpenOptions};
use masterblock::AreaNo;

use workload::{Connector, Session, Transaction};

use crate::error::{on, on_workload};
use crate::{Console, Error, real_storage, say};

/// The client for records.
#[derive(Debug, Parser)]
#[command(
    name = "proclient",
    about = "Records, transactions, dumps and workloads on a database"
)]
struct Args {
    /// The database (`db`, `db.db` or a path to either).
    db: String,
    /// Database buffers (-B).
    #[arg(short = 'B', long = "buffers", default_value_t = 4096, global = true)]
    buffers: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a table, in the schema area or the data area `--area N`.
    CreateTable {
        /// Table name.
        name: String,
        /// Data area number.
        #[arg(long)]
        area: Option<u32>,
    },
    /// Inserts a record (one transaction); fails if the key exists.
    Insert {
        table: String,
        key: String,
        value: String,
    },
    /// Replaces a record's value (one transaction); fails if the key does not exist.
    Update {
        table: String,
        key: String,
        value: String,
    },
    /// Deletes a record (one transaction).
    Delete { table: String, key: String },
    /// Prints a record's value.
    Get { table: String, key: String },
    /// Runs a script (a file, or - for standard input): lines begin, insert, update, delete,
    /// get, commit, rollback, sleep SECONDS.
    Exec { file: String },
    /// Prints every record as table<TAB>key<TAB>value, sorted by table then key.
    Dump { table: Option<String> },
    /// Runs a workload and prints `committed=N tps=X longest_ms=Y` (Y: the longest transaction).
    Workload {
        /// Which workload.
        kind: WorkloadKind,
        /// Create and load the tables first (they are also created when missing).
        #[arg(long)]
        init: bool,
        /// TPC-B scale (branches).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// TPC-B accounts per branch (100000 in TPC-B; fewer make quick tests).
        #[arg(long, default_value_t = workload::ACCOUNTS_PER_BRANCH)]
        accounts: u32,
        /// Transactions in total.
        #[arg(long, default_value_t = 1000)]
        tx: u64,
        /// Concurrent clients (threads).
        #[arg(long, default_value_t = 1)]
        clients: u32,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum WorkloadKind {
    /// Orders with order lines on sports2000.
    Orders,
    /// pgbench's TPC-B.
    Tpcb,
}

/// Entry point of the `proclient` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::run_main("proclient", args, run)
}

/// Runs `proclient` with already split words.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    let args = match Args::try_parse_from(std::iter::once("proclient".to_string()).chain(words)) {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            say(console, e.to_string().trim_end());
            return Ok(());
        }
        Err(e) => return Err(Error::Usage(e.to_string().trim_end().to_string())),
    };
    let db_path = DbPath::parse(&args.db).map_err(crate::error::no_db)?;
    if let Some(client) = server::Client::connect_db(&real_storage(), &db_path) {
        let connector = server::ServerConnector::new(client.socket());
        return execute(console, &connector, client, &db_path, args.command);
    }
    let read_only = matches!(args.command, Command::Get { .. } | Command::Dump { .. });
    let options = OpenOptions {
        access: if read_only {
            AccessMode::ReadOnly
        } else {
            AccessMode::ReadWrite
        },
        buffers: args.buffers,
        ..OpenOptions::default()
    };
    let db = Database::open(real_storage(), &db_path, options).map_err(on(&db_path))?;
    let result = execute(console, &db, &db, &db_path, args.command);
    let closed = db.close().map_err(on(&db_path));
    result.and(closed)
}

/// Runs `command` on `db`, a session of `connector` (which opens more for `--clients`).
fn execute<C: Connector + ?Sized, S: Session>(
    console: &mut Console,
    connector: &C,
    db: S,
    path: &DbPath,
    command: Command,
) -> Result<(), Error> {
    let eng = on_workload(path);
    match command {
        Command::CreateTable { name, area } => {
            db.create_table(&name, area.map(AreaNo)).map_err(eng)
        }
        Command::Insert { table, key, value } => {
            let mut tx = db.begin().map_err(&eng)?;
            tx.insert(&table, &key, value.as_bytes()).map_err(&eng)?;
            tx.commit().map_err(eng)
        }
        Command::Update { table, key, value } => {
            let mut tx = db.begin().map_err(&eng)?;
            tx.update(&table, &key, value.as_bytes()).map_err(&eng)?;
            tx.commit().map_err(eng)
        }
        Command::Delete { table, key } => {
            let mut tx = db.begin().map_err(&eng)?;
            tx.delete(&table, &key).map_err(&eng)?;
            tx.commit().map_err(eng)
        }
        Command::Get { table, key } => {
            let mut tx = db.begin().map_err(&eng)?;
            let value = tx.get(&table, &key).map_err(&eng)?;
            tx.commit().map_err(&eng)?;
            match value {
                Some(v) => {
                    say(console, escape(&v));
                    Ok(())
                }
                None => Err(Error::NotFound { table, key }),
            }
        }
        Command::Exec { file } => crate::proclient_exec::exec(console, &db, path, &file),
        Command::Dump { table } => dump(console, &db, path, table.as_deref()),
        Command::Workload {
            kind,
            init,
            scale,
            accounts,
            tx,
            clients,
            seed,
        } => {
            let shape = Shape {
                init,
                scale,
                accounts,
            };
            workload(
                console, connector, &db, path, kind, shape, tx, clients, seed,
            )
        }
    }
}

/// A value as one line of text: backslash, tab and newline escaped.
pub(crate) fn escape(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn dump<S: Session + ?Sized>(
    console: &mut Console,
    db: &S,
    path: &DbPath,
    only: Option<&str>,
) -> Result<(), Error> {
    let eng = on_workload(path);
    let tables = db.table_names().map_err(&eng)?;
    if let Some(name) = only
        && !tables.iter().any(|t| t == name)
    {
        return Err(on(path)(engine::Error::NoSuchTable {
            name: name.to_string(),
        }));
    }
    let mut tx = db.begin().map_err(&eng)?;
    let mut write_error = None;
    for table in tables.iter().filter(|t| only.is_none_or(|n| n == *t)) {
        let out = &mut console.out;
        tx.scan(table, &mut |key, value| match writeln!(
            out,
            "{}\t{}\t{}",
            table,
            key,
            escape(value)
        ) {
            Ok(()) => true,
            Err(e) => {
                write_error = Some(e);
                false
            }
        })
        .map_err(&eng)?;
        if let Some(source) = write_error.take() {
            return Err(Error::WriteFile {
                path: "standard output".into(),
                source,
            });
        }
    }
    tx.commit().map_err(eng)
}

/// The TPC-B tables' shape on the command line.
struct Shape {
    init: bool,
    scale: u32,
    accounts: u32,
}

#[allow(clippy::too_many_arguments)]
fn workload<C: Connector + ?Sized, S: Session + ?Sized>(
    console: &mut Console,
    connector: &C,
    db: &S,
    path: &DbPath,
    kind: WorkloadKind,
    shape: Shape,
    tx: u64,
    clients: u32,
    seed: u64,
) -> Result<(), Error> {
    let wl = on_workload(path);
    let report = match kind {
        WorkloadKind::Tpcb => {
            let Shape {
                init,
                scale,
                accounts,
            } = shape;
            let config = workload::TpcbConfig {
                scale,
                accounts_per_branch: accounts,
                transactions: tx,
                clients,
                seed,
            };
            let tables = db.table_names().map_err(&wl)?;
            let missing = ["tpcb_branch", "tpcb_teller", "tpcb_account", "tpcb_history"]
                .iter()
                .any(|name| !tables.iter().any(|t| t == name));
            if init || missing {
                let loaded = workload::tpcb_init_sized(db, scale, accounts).map_err(&wl)?;
                say(
                    console,
                    format!("Loaded TPC-B scale {scale}: {} rows.", loaded.total_rows()),
                );
            }
            let report = workload::tpcb_run(connector, &config).map_err(&wl)?;
            let sums = workload::tpcb_check(db).map_err(&wl)?;
            if !sums.balanced() {
                return Err(Error::Unbalanced {
                    accounts: sums.accounts,
                    tellers: sums.tellers,
                    branches: sums.branches,
                    history: sums.history,
                });
            }
            report
        }
        WorkloadKind::Orders => {
            let config = workload::OrdersConfig {
                transactions: tx,
                clients,
                seed,
            };
            workload::orders_run(connector, &config).map_err(&wl)?
        }
    };
    say(
        console,
        format!(
            "committed={} tps={:.0} longest_ms={:.1}",
            report.committed,
            report.tps,
            report.longest.as_secs_f64() * 1000.0
        ),
    );
    Ok(())
}
