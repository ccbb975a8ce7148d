//! Seed 002 through a server, each procedure under a concurrent `proclient workload tpcb
//! --clients 4` in the background: the online OS backup (`proquiet enable`, copy, `proquiet
//! disable`) and the offline one (`proshut -by`, `truncate bi`, `aimage new`, copy, `mark
//! backedup`, `proserve`), each restored by the seed's roll_forward_OS_backup steps and compared
//! with the source by `proclient dump`; then full AI extents with `-aistall` (writers stall,
//! `aimage extent empty` online lets them go on) and without it (the server stops with 3774 and
//! a restart keeps every acknowledged commit).
//!
//! Its own `main` (no libtest harness): `proserve` re-executes the running program as its
//! broker (`--broker ...`), and `--tool proclient ...` runs the background load.

mod common;

use std::path::Path;
use std::process::{Child, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::run_tool as run;
use common::served::{Stopper, finish, spawn_tool, sums, wait_until};
use engine::DbPath;

/// Accounts per branch of the test's TPC-B tables.
const ACCOUNTS: &str = "200";

/// `proclient db workload tpcb --clients 4 --tx N` as a background child process.
fn spawn_load(db: &str, tx: u32) -> Child {
    let tx = tx.to_string();
    spawn_tool(&[
        "proclient",
        db,
        "workload",
        "tpcb",
        "--accounts",
        ACCOUNTS,
        "--clients",
        "4",
        "--seed",
        "7",
        "--tx",
        &tx,
    ])
}

/// A database `db` with after-imaging on `st` (AI extent lines) and TPC-B tables, not served.
fn bank(dir: &Path, st: &str) -> String {
    common::served::bank(dir, st, ACCOUNTS)
}

/// Step 5 of both procedures: every database file (control area, data, BI, AI extents).
fn copy_db_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        let wanted = (name.starts_with("db.") || name.starts_with("db_"))
            && !matches!(name.as_str(), "db.lk" | "db.lg" | "db.sock" | "db.st");
        if entry.file_type().unwrap().is_file() && wanted {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// The AI files of the stopped source from sequence `first` on, in sequence order.
fn ai_files_from(db: &str, first: u64) -> Vec<String> {
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let mut extents = engine::ai_extents(&storage, &DbPath::parse(db).unwrap()).unwrap();
    extents.retain(|e| e.state != aiextent::AiState::Empty && e.ai_seq.0 >= first);
    extents.sort_by_key(|e| e.ai_seq);
    let files: Vec<String> = extents
        .iter()
        .map(|e| e.path.to_str().unwrap().to_string())
        .collect();
    assert!(!files.is_empty(), "no AI file from sequence {first}");
    files
}

/// roll_forward_OS_backup on the copy in `copy_dir` of the stopped source `db` (in `dir`):
/// no .lk, `prostrct repair` with a .st of the copy's full paths, `rfutil sequence`, then
/// `roll forward -a` of every AI file from sequence `first`; the copy's dump must equal the
/// source's.
fn restore_and_compare(dir: &Path, db: &str, copy_dir: &Path, first: u64) {
    let files = ai_files_from(db, first);
    let _ = std::fs::remove_file(copy_dir.join("db.lk"));
    run("prostrct", &["list", db]).ok();
    let st = std::fs::read_to_string(dir.join("db.st")).unwrap();
    let st = st.replace(
        &format!("{}/", dir.display()),
        &format!("{}/", copy_dir.display()),
    );
    let st_path = copy_dir.join("db.st");
    std::fs::write(&st_path, st).unwrap();
    let copy = copy_dir.join("db").to_str().unwrap().to_string();
    run("prostrct", &["repair", &copy, st_path.to_str().unwrap()]).ok();
    run("rfutil", &[&copy, "-C", "sequence"]).ok();
    for file in &files {
        run("rfutil", &[&copy, "-C", "roll", "forward", "-a", file]).ok();
    }
    let source = run("proclient", &[db, "dump"]).ok().out;
    let restored = run("proclient", &[&copy, "dump"]).ok().out;
    assert!(
        source.lines().count() > 500,
        "{} lines",
        source.lines().count()
    );
    assert!(
        source == restored,
        "the restored copy differs from the source"
    );
}

/// The sequence in `... this is after-image file number N since ...`.
fn file_number(out: &str) -> u64 {
    let rest = out.split("file number ").nth(1).expect(out);
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

fn log_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("db.lg")).unwrap_or_default()
}

fn online_os_backup_at_a_quiet_point() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = bank(d, "a .\na .\na .\na .\n");
    run("proquiet", &[&db, "enable"]).fails_with(91125);
    let _stopper = Stopper(db.clone());
    run("proserve", &[&db]).ok();
    let mut load = spawn_load(&db, 1500);
    std::thread::sleep(Duration::from_millis(300));
    assert!(load.try_wait().unwrap().is_none(), "the load is running");

    // ONLINE_db_OS_backup: 1 quiet point (with its AI switch), 3 copy, 4 disable.
    let enabled = run("proquiet", &[&db, "enable"]).ok();
    assert!(
        enabled.out.contains("Quiet point has been enabled"),
        "{}",
        enabled.out
    );
    let first = file_number(&enabled.out);
    run("proquiet", &[&db, "enable"]).fails_with(90530);
    let copy_dir = d.join("osbackup");
    copy_db_files(d, &copy_dir);
    let disabled = run("proquiet", &[&db, "-C", "disable"]).ok();
    assert!(disabled.out.contains("disabled"), "{}", disabled.out);
    run("proquiet", &[&db, "disable"]).fails_with(90531);
    assert!(
        load.try_wait().unwrap().is_none(),
        "the load ran past the quiet point"
    );

    let (ok, out, err) = finish(load);
    assert!(ok && out.contains("committed=1500"), "{out}\n{err}");
    run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    // proshut -by while a quiet point holds writers lifts it first.
    let nolock = run("proquiet", &[&db, "enable", "nolock"]).ok();
    assert!(!nolock.out.contains("Switched"), "{}", nolock.out);
    let held = spawn_load(&db, 100_000);
    std::thread::sleep(Duration::from_millis(200));
    run("proshut", &[&db, "-by"]).ok();
    let (ok, _, _) = finish(held);
    assert!(!ok, "the held load ends when the server stops");
    assert!(log_text(d).contains("lifted the quiet point"));
    assert!(sums(&db).balanced());
    restore_and_compare(d, &db, &copy_dir, first);
}

fn offline_os_backup_between_two_loads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = bank(d, "a .\na .\na .\na .\n");
    let _stopper = Stopper(db.clone());
    run("proserve", &[&db]).ok();
    let mut load = spawn_load(&db, 100_000);
    std::thread::sleep(Duration::from_millis(500));
    assert!(load.try_wait().unwrap().is_none(), "the load is running");

    // OFFLINE_db_OS_backup: 1 shut down (the load's clients are disconnected), 2 truncate bi,
    // 4 aimage new, 5 copy, 6 mark backedup, 7 serve again; the load resumes.
    run("proshut", &[&db, "-by"]).ok();
    let (ok, _, _) = finish(load);
    assert!(!ok, "the first load ends when the server stops");
    assert!(sums(&db).balanced());
    run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
    let switched = run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    let first = file_number(&switched.out);
    let copy_dir = d.join("osbackup");
    copy_db_files(d, &copy_dir);
    run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    run("proserve", &[&db]).ok();
    let load = spawn_load(&db, 400);
    let (ok, out, err) = finish(load);
    assert!(ok && out.contains("committed=400"), "{out}\n{err}");
    run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    run("proshut", &[&db, "-by"]).ok();
    assert!(sums(&db).balanced());
    restore_and_compare(d, &db, &copy_dir, first);
}

/// `aimage extent list`, through the server.
fn extent_list(db: &str) -> String {
    run("rfutil", &[db, "-C", "aimage", "extent", "list"])
        .ok()
        .out
}

fn aistall_stalls_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = bank(d, "a . f 128\na . f 128\na . f 128\n");
    let _stopper = Stopper(db.clone());
    run("proserve", &[&db, "-aistall"]).ok();
    // `bank` ran 10 transactions.
    let before = 10u64;
    let tx = 1500u32;
    let mut load = spawn_load(&db, tx);
    wait_until("3775 in db.lg", Duration::from_secs(40), || {
        log_text(d).contains("(3775)")
    });
    assert!(log_text(d).contains("(3776)"));
    // Stalled: nothing is Empty, nothing moves, the load is still running.
    let list = extent_list(&db);
    assert!(!list.contains("Status:  Empty"), "{list}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(extent_list(&db), list, "the load is not stalled");
    assert!(load.try_wait().unwrap().is_none());

    // Archive (seed 003/004: aimage full, copy) and empty online until the load is done.
    let archive = d.join("archive");
    std::fs::create_dir(&archive).unwrap();
    let mut archived = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while load.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the load never finished");
        let full = run("rfutil", &[&db, "-C", "aimage", "full"]);
        if full.code == 0 {
            archived += 1;
            let target = archive.join(format!("aifile{archived}.a"));
            std::fs::copy(full.out.trim(), &target).unwrap();
            let emptied = run("rfutil", &[&db, "-C", "aimage", "extent", "empty"]).ok();
            assert!(emptied.out.contains("marked empty"), "{}", emptied.out);
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let (ok, out, err) = finish(load);
    assert!(
        ok && out.contains(&format!("committed={tx}")),
        "{out}\n{err}"
    );
    assert!(archived >= 2, "only {archived} extents archived");
    run("proshut", &[&db, "-by"]).ok();
    let s = sums(&db);
    assert!(s.balanced(), "{s:?}");
    assert_eq!(s.history_rows, before + u64::from(tx));
}

fn no_aistall_stops_with_3774_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = bank(d, "a . f 128\na . f 128\na . f 128\n");
    run("proclient", &[&db, "create-table", "acks"]).ok();
    let _stopper = Stopper(db.clone());
    run("proserve", &[&db]).ok();
    let load = spawn_load(&db, 100_000);
    // One more client that records every commit the server acknowledged.
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let path = DbPath::parse(&db).unwrap();
    let client = server::Client::connect_db(&storage, &path).unwrap();
    let mut acked = Vec::new();
    let failure = loop {
        let key = format!("k{:06}", acked.len());
        let attempt = client.begin().and_then(|t| {
            t.insert("acks", &key, b"acknowledged")?;
            t.commit()
        });
        match attempt {
            Ok(()) => acked.push(key),
            Err(e) => break e,
        }
        assert!(acked.len() < 1_000_000, "the extents never filled");
    };
    assert!(
        [3774, 91109].contains(&failure.msg_number()),
        "{failure} ({})",
        failure.msg_number()
    );
    drop(client);
    let (ok, _, _) = finish(load);
    assert!(!ok, "the load ends when the server stops");
    wait_until("the server's end", Duration::from_secs(20), || {
        !engine::busy(&storage, &path).unwrap()
    });
    let log = log_text(d);
    assert!(log.contains("(3774)") && log.contains("(91124)"), "{log}");
    assert!(!d.join("db.sock").exists());

    // Empty the oldest full extent offline and serve again: crash recovery, nothing lost.
    let emptied = run("rfutil", &[&db, "-C", "aimage", "extent", "empty"]).ok();
    assert!(emptied.out.contains("marked empty"), "{}", emptied.out);
    run("proserve", &[&db]).ok();
    for key in &acked {
        run("proclient", &[&db, "get", "acks", key]).ok();
    }
    run("proshut", &[&db, "-by"]).ok();
    let s = sums(&db);
    assert!(s.balanced(), "{s:?}");
    assert!(acked.len() > 10, "{} acknowledged", acked.len());
}

fn main() -> ExitCode {
    let tests: [(&str, fn()); 4] = [
        (
            "online_os_backup_at_a_quiet_point",
            online_os_backup_at_a_quiet_point,
        ),
        (
            "offline_os_backup_between_two_loads",
            offline_os_backup_between_two_loads,
        ),
        ("aistall_stalls_and_resumes", aistall_stalls_and_resumes),
        (
            "no_aistall_stops_with_3774_and_restarts",
            no_aistall_stops_with_3774_and_restarts,
        ),
    ];
    common::server_test_main(&tests)
}
