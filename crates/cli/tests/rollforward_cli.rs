//! `rfutil -C sequence`, `roll forward` (verbose, -ailist, endtrans, oplock), `roll forward
//! retry` after a roll forward killed part way, and `roll opunlock`, run as command lines.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Ran, Scratch};

/// `cp prefix* dest/`.
fn cp_prefix(from: &Path, prefix: &str, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.file_type().unwrap().is_file() && name.starts_with(prefix) && name != "src.lk" {
            std::fs::copy(entry.path(), dest.join(&name)).unwrap();
        }
    }
}

/// A source `src` with table `t` and four variable AI extents, after-imaging begun, and a
/// standby copy of it (repaired in `standby/`); returns (source, standby).
fn source_and_standby(s: &Scratch) -> (String, String) {
    let src = s.db("src");
    s.run("prodb", &[&src, "empty"]).ok();
    s.run("proclient", &[&src, "create-table", "t"]).ok();
    s.write("src.st", "a .\na .\na .\na .\n");
    s.run("prostrct", &["add", &src]).ok();
    s.run("rfutil", &[&src, "-C", "mark", "backedup"]).ok();
    s.run("rfutil", &[&src, "-C", "aimage", "begin"]).ok();
    let dir = s.join("standby");
    cp_prefix(s.path(), "src", &dir);
    let standby = dir.join("src").to_str().unwrap().to_string();
    s.run(
        "prostrct",
        &["repair", &standby, &format!("{}/", dir.display())],
    )
    .ok();
    (src, standby)
}

/// Transactions of one insert each, then one that is rolled back.
fn work(s: &Scratch, db: &str, from: usize, n: usize) {
    let mut script = String::new();
    for i in from..from + n {
        script.push_str(&format!("begin\ninsert t k{i:05} value {i}\ncommit\n"));
    }
    script.push_str(&format!("begin\ninsert t r{from:05} gone\nrollback\n"));
    let path = s.write("work.txt", &script);
    s.run("proclient", &[db, "exec", path.to_str().unwrap()])
        .ok();
}

fn ai(s: &Scratch, n: u32) -> String {
    s.join(&format!("src.a{n}")).to_str().unwrap().to_string()
}

fn dump(s: &Scratch, db: &str) -> String {
    s.run("proclient", &[db, "dump"]).ok().out
}

fn rfutil(s: &Scratch, args: &[&str]) -> Ran {
    s.run("rfutil", args)
}

#[test]
fn first_roll_forward_prints_the_ai_lines_and_verbose_the_transactions() {
    let s = Scratch::new();
    let (src, standby) = source_and_standby(&s);
    work(&s, &src, 0, 5);
    let out = rfutil(
        &s,
        &[
            &standby,
            "-C",
            "roll",
            "forward",
            "verbose",
            "-a",
            &ai(&s, 1),
        ],
    )
    .ok()
    .out;
    let expected = "WARNING: ROLL FORWARD disables after-imaging. (663)\n\
                    After this is complete, you should re-enable it. (648)\n\
                    If you desire continued after-image protection (659)\n\
                    After-image Extent Management has been disabled for the database. (13292)\n\
                    After-image disabled. (846)\n";
    assert!(out.starts_with(expected), "{out}");
    let committed = out.lines().filter(|l| l.contains(", committed ")).count();
    let rolled_back = out.lines().filter(|l| l.contains(", rolled back ")).count();
    assert_eq!((committed, rolled_back), (5, 1), "{out}");
    assert!(
        out.contains("5 transactions committed, 0 left open"),
        "{out}"
    );
    assert!(out.contains("(91060)"), "{out}");
    let log = std::fs::read_to_string(s.join("standby/src.lg")).unwrap();
    assert!(log.contains("notes/s") && log.contains("(91060)"), "{log}");
    assert!(log.contains("(663)"), "{log}");
    assert_eq!(dump(&s, &standby), dump(&s, &src));
    // A second roll forward of the same busy file prints no AI lines and applies nothing new.
    let again = rfutil(&s, &[&standby, "-C", "roll", "forward", "-a", &ai(&s, 1)])
        .ok()
        .out;
    assert!(!again.contains("(663)"), "{again}");
    assert!(again.contains(" 0 applied"), "{again}");
}

#[test]
fn sequence_then_ailist_with_comments_and_a_file_that_is_not_ai() {
    let s = Scratch::new();
    let (src, _) = source_and_standby(&s);
    work(&s, &src, 0, 3);
    rfutil(&s, &[&src, "-C", "aimage", "new"]).ok();
    // An OS copy taken now, after a switch: it needs `sequence`.
    let dir = s.join("copy");
    cp_prefix(s.path(), "src", &dir);
    let copy = dir.join("src").to_str().unwrap().to_string();
    s.run(
        "prostrct",
        &["repair", &copy, &format!("{}/", dir.display())],
    )
    .ok();
    work(&s, &src, 100, 4);
    rfutil(&s, &[&src, "-C", "aimage", "new"]).ok();
    work(&s, &src, 200, 2);
    rfutil(&s, &[&copy, "-C", "roll", "forward", "-a", &ai(&s, 2)]).fails_with(8019);
    let seq = rfutil(&s, &[&copy, "-C", "sequence"]).ok().out;
    assert_eq!(seq, "Ai sequence 1 changed to 2 (12428)\n");
    let list = format!(
        "# files of the source, in order\n: old-style comment\n* starred\n{}\n{}\n\n{}\n",
        ai(&s, 2),
        s.join("src.st").display(),
        ai(&s, 3)
    );
    let list = s.write("files.lst", &list);
    let out = rfutil(
        &s,
        &[
            &copy,
            "-C",
            "roll",
            "forward",
            "-ailist",
            list.to_str().unwrap(),
        ],
    )
    .ok()
    .out;
    assert!(
        out.contains("is not an after-image file") && out.contains("(91040)"),
        "{out}"
    );
    assert_eq!(out.matches("(91061)").count(), 2, "{out}");
    assert_eq!(dump(&s, &copy), dump(&s, &src));
}

#[test]
fn endtrans_oplock_and_opunlock() {
    let s = Scratch::new();
    let (src, standby) = source_and_standby(&s);
    work(&s, &src, 0, 6);
    let out = rfutil(
        &s,
        &[
            &standby,
            "-C",
            "roll",
            "forward",
            "endtrans",
            "4",
            "oplock",
            "-B",
            "64",
            "-a",
            &ai(&s, 1),
        ],
    )
    .ok()
    .out;
    assert!(out.contains("(17923)"), "{out}");
    // Reading is allowed; an open for update is refused until `roll opunlock`.
    let rows = dump(&s, &standby).lines().count();
    assert!(
        (1..6).contains(&rows),
        "{rows} rows: the end point is inside the workload"
    );
    s.run("proclient", &[&standby, "insert", "t", "x", "y"])
        .fails_with(90672);
    rfutil(&s, &[&standby, "-C", "roll", "forward", "-a", &ai(&s, 1)]).fails_with(17923);
    let released = rfutil(&s, &[&standby, "-C", "roll", "opunlock"]).ok().out;
    assert!(released.contains("released"), "{released}");
    s.run("proclient", &[&standby, "insert", "t", "x", "y"])
        .ok();
}

#[test]
fn retry_after_a_roll_forward_killed_part_way() {
    let s = Scratch::new();
    let (src, standby) = source_and_standby(&s);
    // Forty transactions of 300 inserts each: a file long enough to interrupt.
    let mut script = String::new();
    for t in 0..40 {
        script.push_str("begin\n");
        for i in 0..300 {
            script.push_str(&format!(
                "insert t k{t:02}-{i:04} value {i} of transaction {t}\n"
            ));
        }
        script.push_str("commit\n");
    }
    let path = s.write("big.txt", &script);
    s.run("proclient", &[&src, "exec", path.to_str().unwrap()])
        .ok();
    let file = ai(&s, 1);
    let args = [
        standby.as_str(),
        "-C",
        "roll",
        "forward",
        "-B",
        "16",
        "-a",
        &file,
    ];
    let mut child = s.spawn("rfutil", &args);
    let db = engine::DbPath::parse(&standby).unwrap();
    let storage: storage::StorageRef = std::sync::Arc::new(storage::RealStorage::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = engine::describe(&storage, &db).map(|d| d.master.state);
        if state.is_ok_and(|s| s == masterblock::DbState::RollForwardInProgress) {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the roll forward ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "roll forward never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    // At once: the whole file may take only tens of milliseconds.
    child.kill().unwrap();
    child.wait().unwrap();
    let mb = engine::describe(&storage, &db).unwrap().master;
    assert_eq!(mb.state, masterblock::DbState::RollForwardInProgress);
    s.run("proclient", &[&standby, "dump"]).fails_with(90670);
    rfutil(&s, &[&standby, "-C", "roll", "forward", "-a", &file]).fails_with(91004);
    let out = rfutil(
        &s,
        &[&standby, "-C", "roll", "forward", "retry", "-a", &file],
    )
    .ok()
    .out;
    assert!(out.contains("(91061)"), "{out}");
    assert_eq!(dump(&s, &standby), dump(&s, &src));
}

/// Entry point of the child processes [`Scratch::spawn`] starts.
#[test]
#[ignore]
fn child_entry() {
    let Ok(tool) = std::env::var("AFTERIMAGE_TOOL") else {
        return;
    };
    if tool != "rfutil" {
        common::child_main();
        return;
    }
    let args: Vec<String> = std::env::var("AFTERIMAGE_ARGS")
        .unwrap_or_default()
        .split('\u{1f}')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let words = std::iter::once(tool).chain(args).map(Into::into);
    let code = cli::rfutil::main(words);
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}
