//! Helpers of the server tests: background tool processes, waiting, TPC-B sums read
//! single-user, and a guard that stops a failed test's broker.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{AccessMode, Database, DbPath, OpenOptions};

use super::run_tool as run;

/// `tool args` as a background child process (this test binary re-executed with `--tool`).
pub fn spawn_tool(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("--tool")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a background process; (success, stdout, stderr).
pub fn finish(child: Child) -> (bool, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls `cond` every 20 ms; panics after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The TPC-B sums of the closed database `db`, read single-user.
pub fn sums(db: &str) -> workload::TpcbSums {
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let path = DbPath::parse(db).unwrap();
    let opts = OpenOptions {
        access: AccessMode::ReadWrite,
        ..OpenOptions::default()
    };
    let d = Database::open(storage, &path, opts).unwrap();
    let sums = workload::tpcb_check(&d).unwrap();
    d.close().unwrap();
    sums
}

/// Stops the broker of a failed test (`proshut -F`) so that no process outlives the test.
pub struct Stopper(pub String);

impl Drop for Stopper {
    fn drop(&mut self) {
        let storage: storage::StorageRef = Arc::new(storage::RealStorage);
        let path = DbPath::parse(&self.0).unwrap();
        if server::Client::connect_db(&storage, &path).is_some() {
            let _ = run("proshut", &[&self.0, "-F"]);
        }
    }
}

/// A database `dir/db` with TPC-B tables (`accounts` per branch, ten transactions run), the AI
/// extents of `st` (structure lines), marked backed up and after-imaging begun; not served.
pub fn bank(dir: &Path, st: &str, accounts: &str) -> String {
    let db = dir.join("db").to_str().unwrap().to_string();
    run("prodb", &[&db, "empty"]).ok();
    std::fs::write(dir.join("db.st"), st).unwrap();
    run("prostrct", &["add", &db]).ok();
    load_tpcb(&db, accounts);
    run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
    run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    run("rfutil", &[&db, "-C", "aimage", "begin"]).ok();
    db
}

/// TPC-B tables in `db` with `accounts` per branch, ten transactions run, single-user.
pub fn load_tpcb(db: &str, accounts: &str) {
    run(
        "proclient",
        &[
            db,
            "workload",
            "tpcb",
            "--init",
            "--accounts",
            accounts,
            "--tx",
            "10",
        ],
    )
    .ok();
}
