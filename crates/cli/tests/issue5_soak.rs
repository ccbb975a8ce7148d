//! The server under everything at once, then the online utilities one by one.
//!
//! - The soak: 8 clients of `workload tpcb` against a server started with `-aiarcdir` (the
//!   archiver daemon empties extents), while `aimage new` runs every 100 ms, quiet points come
//!   and go every second, an online `probkup` runs, and one more client is killed with SIGKILL;
//!   at the end the TPC-B sums are equal, and the online backup restored and rolled forward
//!   through the archived extents (and those still in place) equals the source.
//! - `probkup online`, `aimage aioff` and the `aiarchiver` / `aiarchive` commands offline and
//!   online, with their refusals.
//!
//! Its own `main` (no libtest harness), like the other server tests.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::run_tool as run;
use common::served::{Stopper, bank, finish, spawn_tool, sums};
use engine::DbPath;

/// Accounts per branch of the test's TPC-B tables.
const ACCOUNTS: &str = "200";

/// How long the soak's load runs.
const SOAK: Duration = Duration::from_secs(30);

/// The sequence in `After-image sequence N is now busy`.
fn busy_seq(out: &str) -> u64 {
    let rest = out.split("After-image sequence ").nth(1).expect(out);
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

/// Every AI file of the stopped source `db` from sequence `first` on, in sequence order: the
/// archived copies in `archive` (named `...<seq 8 digits>.db.aN`) and the extents not Empty.
/// Asserts that the sequences follow each other without a gap.
fn ai_files_from(db: &str, archive: &Path, first: u64) -> Vec<(u64, PathBuf)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(archive).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let parts: Vec<&str> = name.rsplitn(4, '.').collect();
        let seq: u64 = parts[2].parse().expect(&name);
        files.push((seq, path));
    }
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    for e in engine::ai_extents(&storage, &DbPath::parse(db).unwrap()).unwrap() {
        if e.state != aiextent::AiState::Empty {
            files.push((e.ai_seq.0, e.path));
        }
    }
    files.retain(|(seq, _)| *seq >= first);
    files.sort();
    for (i, (seq, path)) in files.iter().enumerate() {
        assert_eq!(
            *seq,
            first + i as u64,
            "AI file {} out of sequence",
            path.display()
        );
    }
    files
}

/// Restores `backup` into a fresh database next to `db`, rolls `files` forward onto it and
/// compares its dump with the source's.
fn restore_and_compare(dir: &Path, db: &str, backup: &Path, files: &[(u64, PathBuf)]) {
    let target = dir.join("restored").to_str().unwrap().to_string();
    run("prodb", &[&target, "empty"]).ok();
    run("prorest", &[&target, backup.to_str().unwrap()]).ok();
    for (_, file) in files {
        run(
            "rfutil",
            &[
                &target,
                "-C",
                "roll",
                "forward",
                "-a",
                file.to_str().unwrap(),
            ],
        )
        .ok();
    }
    let source = run("proclient", &[db, "dump"]).ok().out;
    let restored = run("proclient", &[&target, "dump"]).ok().out;
    assert!(source.lines().count() > 1000, "{}", source.lines().count());
    assert!(
        source == restored,
        "the restored backup differs from the source"
    );
}

fn soak_with_switches_quiet_points_backup_archiver_and_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = bank(d, &"a .\n".repeat(6), ACCOUNTS);
    let archive = d.join("archive");
    let _stopper = Stopper(db.clone());
    let archive_arg = archive.to_str().unwrap();
    run(
        "proserve",
        &[&db, "-aiarcdir", archive_arg, "-aiarcdircreate"],
    )
    .ok();
    let tpcb = |clients: &str, seed: &str| {
        spawn_tool(&[
            "proclient",
            &db,
            "workload",
            "tpcb",
            "--accounts",
            ACCOUNTS,
            "--clients",
            clients,
            "--seed",
            seed,
            "--tx",
            "100000000",
        ])
    };
    let mut load = tpcb("8", "11");
    let mut victim = Some(tpcb("1", "12"));
    let backup = d.join("online.bk");
    let mut first: Option<u64> = None;
    let (mut switches, mut refused, mut quiets) = (0u32, 0u32, 0u32);
    let started = Instant::now();
    let mut tick = 0u32;
    while started.elapsed() < SOAK {
        std::thread::sleep(Duration::from_millis(100));
        tick += 1;
        // The archiver may be a switch behind: a refusal (3774) changes nothing.
        let new = run("rfutil", &[&db, "-C", "aimage", "new"]);
        if new.code == 0 {
            switches += 1;
        } else {
            assert!(new.err.contains("(3774)"), "{}", new.err);
            refused += 1;
        }
        if tick % 10 == 5 {
            let quiet = run("proquiet", &[&db, "enable"]);
            if quiet.code == 0 {
                std::thread::sleep(Duration::from_millis(50));
                run("proquiet", &[&db, "disable"]).ok();
                quiets += 1;
            } else {
                assert!(quiet.err.contains("(3774)"), "{}", quiet.err);
            }
        }
        if started.elapsed() > Duration::from_secs(5)
            && let Some(mut child) = victim.take()
        {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        if first.is_none() && started.elapsed() > Duration::from_secs(10) {
            let b = run("probkup", &["online", &db, backup.to_str().unwrap()]);
            if b.code == 0 {
                first = Some(busy_seq(&b.out));
            } else {
                assert!(b.err.contains("(3774)"), "{}", b.err);
                assert!(!backup.exists(), "a refused backup wrote nothing");
            }
        }
        assert!(
            load.try_wait().unwrap().is_none(),
            "the load stopped during the soak"
        );
    }
    let first = first.expect("the online backup ran");
    assert!(victim.is_none(), "the extra client was killed");
    assert!(switches > 50, "{switches} switches, {refused} refused");
    assert!(quiets > 10, "{quiets} quiet points");
    run("proshut", &[&db, "-by"]).ok();
    let (ok, _, err) = finish(load);
    assert!(!ok, "the load ends when the server stops: {err}");

    let s = sums(&db);
    assert!(s.balanced(), "{s:?}");
    assert!(s.history_rows > 500, "{s:?}");
    let log = std::fs::read_to_string(d.join("db.archival.log")).unwrap();
    let records = log.lines().filter(|l| l.starts_with("0001,")).count();
    assert!(records > 20, "{records} extents archived:\n{log}");
    println!(
        "soak: {} transactions, {switches} switches ({refused} refused: no Empty extent yet), {quiets} quiet points, {records} extents archived, roll forward from sequence {first}",
        s.history_rows
    );
    let files = ai_files_from(&db, &archive, first);
    restore_and_compare(d, &db, &backup, &files);
}

/// `proclient db workload tpcb --tx N`, which must succeed.
fn tpcb(db: &str, tx: &str) {
    run(
        "proclient",
        &[db, "workload", "tpcb", "--accounts", ACCOUNTS, "--tx", tx],
    )
    .ok();
}

fn online_utilities_and_their_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = bank(d, "a .\na .\n", ACCOUNTS);
    let bk = d.join("a.bk").to_str().unwrap().to_string();
    let arch = d.join("arch").to_str().unwrap().to_string();
    // Without a server.
    run("probkup", &["online", &db, &bk]).fails_with(90903);
    run("rfutil", &[&db, "-C", "aimage", "aioff"]).fails_with(91125);
    run("rfutil", &[&db, "-C", "aiarchiver", "setdir", &arch]).fails_with(91213);
    run(
        "rfutil",
        &[&db, "-C", "aiarchiver", "enable", "-aiarcdir", &arch],
    )
    .fails_with(91211);
    run("rfutil", &[&db, "-C", "aiarchiver", "enable"]).fails_with(90700);
    run("rfutil", &[&db, "-C", "aiarchiver", "setinterval", "600"]).fails_with(91213);
    let enabled = run(
        "rfutil",
        &[
            &db,
            "-C",
            "aiarchiver",
            "enable",
            "-aiarcdir",
            &arch,
            "-aiarcdircreate",
        ],
    )
    .ok();
    assert!(
        enabled.out.contains("AI archiver enabled"),
        "{}",
        enabled.out
    );
    run("rfutil", &[&db, "-C", "aiarchiver", "setinterval", "5"]).fails_with(91210);
    run("rfutil", &[&db, "-C", "aiarchiver", "setinterval", "300"]).ok();
    run("rfutil", &[&db, "-C", "aiarchiver", "disable"]).ok();
    // By hand, offline: archive the Full extent; again: it is Empty now; a second Full extent
    // to the same target: the target exists.
    run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    let extent = |n: u32| d.join(format!("db.a{n}")).to_str().unwrap().to_string();
    let by_hand = d.join("by-hand.a1").to_str().unwrap().to_string();
    run(
        "rfutil",
        &[&db, "-C", "aiarchive", "extent", &extent(1), &by_hand],
    )
    .ok();
    run(
        "rfutil",
        &[&db, "-C", "aiarchive", "extent", &extent(1), &by_hand],
    )
    .fails_with(91218);
    run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    run(
        "rfutil",
        &[&db, "-C", "aiarchive", "extent", &extent(2), &by_hand],
    )
    .fails_with(91214);

    // Served, with the archiver enabled again by proserve: it archives extent 2.
    let _stopper = Stopper(db.clone());
    run("proserve", &[&db, "-aiarcdir", &arch]).ok();
    let archived_seq = |seq: u64| {
        let wanted = format!(".{seq:08}.");
        let wait = Instant::now();
        loop {
            let names: Vec<String> = std::fs::read_dir(&arch)
                .map(|dir| {
                    dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            if names.iter().any(|n| n.contains(&wanted)) {
                return;
            }
            assert!(
                wait.elapsed() < Duration::from_secs(20),
                "sequence {seq} never archived: {names:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    archived_seq(2);
    tpcb(&db, "50");
    let b = run("probkup", &["online", &db, &bk, "-verbose"]).ok();
    assert!(b.out.contains("Full backup of"), "{}", b.out);
    assert_eq!(busy_seq(&b.out), 4);
    run("probkup", &["online", &db, &bk]).fails_with(90901);
    // mark backedup and scan while served.
    let marked = run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    assert!(
        marked.out.contains("marked as backed up (backup"),
        "{}",
        marked.out
    );
    let scan = run("rfutil", &[&db, "-C", "aimage", "scan", "-a", &by_hand]).ok();
    assert!(scan.out.contains("Note sequences"), "{}", scan.out);
    archived_seq(3);
    run(
        "rfutil",
        &[
            &db,
            "-C",
            "aiarchiver",
            "setdir",
            &format!("{arch},{arch}2"),
            "-aiarcdircreate",
        ],
    )
    .ok();
    run(
        "rfutil",
        &[&db, "-C", "aiarchive", "extent", &extent(1), &by_hand],
    )
    .fails_with(91220);
    tpcb(&db, "50");
    let off = run("rfutil", &[&db, "-C", "aimage", "aioff"]).ok();
    assert!(off.out.contains("After-imaging disabled"), "{}", off.out);
    run("rfutil", &[&db, "-C", "aimage", "aioff"]).fails_with(90675);
    // Commits go on without after-imaging.
    tpcb(&db, "20");
    run("proshut", &[&db, "-by"]).ok();
    let list = run("rfutil", &[&db, "-C", "aimage", "extent", "list"])
        .ok()
        .out;
    assert!(!list.contains("Busy") && !list.contains("Full"), "{list}");
    assert!(sums(&db).balanced());
}

fn main() -> ExitCode {
    let tests: [(&str, fn()); 2] = [
        (
            "online_utilities_and_their_refusals",
            online_utilities_and_their_refusals,
        ),
        (
            "soak_with_switches_quiet_points_backup_archiver_and_a_kill",
            soak_with_switches_quiet_points_backup_archiver_and_a_kill,
        ),
    ];
    common::server_test_main(&tests)
}
