//! The server through its commands: `proserve` starts a real broker process, `proclient`
//! (workload with four connections, dump, a killed `exec`) goes through it, offline utilities
//! are refused with 91100, `proshut -bn` is refused while a client is connected, `-by` leaves a
//! clean database with balanced TPC-B sums, and `-F` leaves one that crash recovery makes
//! balanced.
//!
//! This test binary has its own `main` (no libtest harness): `proserve` re-executes the
//! running program as its broker (`--broker ...`), and here that program is this binary, which
//! then runs `cli::proserve::main`; `--tool NAME ...` runs a tool as a child process to kill.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::run_tool as run;
use common::served::{Stopper, load_tpcb};
use engine::{AccessMode, Database, DbPath, OpenOptions};
use masterblock::DbState;

/// Accounts per branch of the test's TPC-B tables.
const ACCOUNTS: &str = "1000";

/// Starts `proclient args` as a child process (this binary with `--tool`).
fn spawn_proclient(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("--tool")
        .arg("proclient")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A database with TPC-B tables of 1000 accounts, loaded single-user.
fn bank(dir: &tempfile::TempDir) -> String {
    let db = dir.path().join("bank").to_str().unwrap().to_string();
    run("prodb", &[&db, "empty"]).ok();
    load_tpcb(&db, ACCOUNTS);
    db
}

fn sums(db: &str, access: AccessMode) -> workload::TpcbSums {
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let path = DbPath::parse(db).unwrap();
    let opts = OpenOptions {
        access,
        ..OpenOptions::default()
    };
    let d = Database::open(storage, &path, opts).unwrap();
    let sums = workload::tpcb_check(&d).unwrap();
    d.close().unwrap();
    sums
}

/// Starts a child holding an open transaction with an uncommitted insert of `key`; returns
/// once the insert is made.
fn open_transaction(dir: &tempfile::TempDir, db: &str, key: &str) -> Child {
    let script = dir.path().join(format!("{key}.script"));
    std::fs::write(
        &script,
        format!("begin\ninsert tpcb_branch {key} 5\nget tpcb_branch {key}\nsleep 60\ncommit\n"),
    )
    .unwrap();
    let mut child = spawn_proclient(&[db, "exec", script.to_str().unwrap()]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(key), "the script printed {line:?}");
    child
}

fn served_workload_then_by() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank(&dir);
    run("proserve", &[&db, "-aiarcdir", "relative/dir"]).fails_with(91209);
    // The archiver needs after-imaging, which this database does not have.
    run("proserve", &[&db, "-aiarcdir", "/tmp"]).fails_with(91212);
    let _stopper = Stopper(db.clone());
    let started = run("proserve", &[&db]).ok();
    assert!(started.out.contains("Server started"), "{}", started.out);
    let lk = std::fs::read_to_string(dir.path().join("bank.lk")).unwrap();
    assert!(lk.contains("mode server") && lk.contains("socket "), "{lk}");
    run("proserve", &[&db]).fails_with(91100);

    let ran = run(
        "proclient",
        &[
            &db,
            "workload",
            "tpcb",
            "--accounts",
            ACCOUNTS,
            "--tx",
            "400",
            "--clients",
            "4",
        ],
    )
    .ok();
    assert!(ran.out.contains("committed=400"), "{}", ran.out);
    let dump = run("proclient", &[&db, "dump", "tpcb_branch"]).ok();
    assert_eq!(dump.out.lines().count(), 1, "{}", dump.out);
    run("proclient", &[&db, "get", "tpcb_branch", "nosuch"]).fails_with(90706);
    let stats = run("prostrct", &["statistics", &db]).ok();
    assert!(!stats.out.is_empty());
    let list = run("rfutil", &[&db, "-C", "aimage", "extent", "list"]).ok();
    assert!(list.out.contains("no after-image extents"), "{}", list.out);

    // Offline utilities are refused while the server runs.
    run("proutil", &[&db, "-C", "truncate", "bi"]).fails_with(91100);

    // -bn is refused while a client is connected, and nothing stops.
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let path = DbPath::parse(&db).unwrap();
    let client = server::Client::connect_db(&storage, &path).expect("the server answers");
    run("proshut", &[&db, "-bn"]).fails_with(91105);
    let txn = client.begin().unwrap();
    assert!(txn.get("tpcb_branch", "b000001").unwrap().is_some());
    txn.commit().unwrap();
    drop(client);

    run("proshut", &[&db, "-by"]).ok();
    assert!(!dir.path().join("bank.lk").exists());
    run("proshut", &[&db, "-by"]).fails_with(91108);
    let s = sums(&db, AccessMode::ReadOnly);
    assert!(s.balanced(), "{s:?}");
    assert_eq!(s.history_rows, 410);
    let log = std::fs::read_to_string(dir.path().join("bank.lg")).unwrap();
    assert!(log.contains("(91112)") && log.contains("(91122)"), "{log}");
    assert!(log.contains("database opened for update (server)"), "{log}");
}

fn killed_client_and_emergency_stop() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank(&dir);
    let _stopper = Stopper(db.clone());
    run("proserve", &[&db]).ok();
    run(
        "proclient",
        &[
            &db,
            "workload",
            "tpcb",
            "--accounts",
            ACCOUNTS,
            "--tx",
            "100",
            "--clients",
            "4",
        ],
    )
    .ok();

    // A client killed with SIGKILL in the middle of a transaction: rolled back.
    let mut child = open_transaction(&dir, &db, "killed");
    child.kill().unwrap();
    child.wait().unwrap();
    run("proclient", &[&db, "get", "tpcb_branch", "killed"]).fails_with(90706);

    // proshut -F with a transaction open: the broker ends without a checkpoint.
    let mut child = open_transaction(&dir, &db, "inflight");
    let start = Instant::now();
    let shut = run("proshut", &[&db, "-F"]).ok();
    assert!(shut.out.contains("Emergency"), "{}", shut.out);
    assert!(start.elapsed() < Duration::from_secs(15));
    child.kill().unwrap();
    child.wait().unwrap();
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let path = DbPath::parse(&db).unwrap();
    let state = engine::describe(&storage, &path).unwrap().master.state;
    assert_eq!(
        state,
        DbState::Open,
        "-F must leave the database for crash recovery"
    );

    // The next open recovers: sums balanced, the in-flight insert gone.
    let s = sums(&db, AccessMode::ReadWrite);
    assert!(s.balanced(), "{s:?}");
    assert_eq!(s.history_rows, 110);
    run("proclient", &[&db, "get", "tpcb_branch", "inflight"]).fails_with(90706);
}

fn main() -> ExitCode {
    let tests: [(&str, fn()); 2] = [
        ("served_workload_then_by", served_workload_then_by),
        (
            "killed_client_and_emergency_stop",
            killed_client_and_emergency_stop,
        ),
    ];
    common::server_test_main(&tests)
}
