//! The engine's command lines end to end: structure, records, dumps, and every bad input a
//! numbered error that changes nothing.

mod common;

use common::{SMALL_ST, Scratch};

/// Not a test: the entry point of the child processes this file starts (see `common::spawn`).
#[test]
#[ignore = "entry point of child processes"]
fn child_entry() {
    common::child_main();
}

fn created(s: &Scratch, name: &str, block_size: &str) -> String {
    s.write(&format!("{name}.st"), SMALL_ST);
    let db = s.db(name);
    s.run("prostrct", &["create", &db, "-blocksize", block_size])
        .ok();
    db
}

#[test]
fn create_list_statistics_and_records() {
    let s = Scratch::new();
    let db = created(&s, "shop", "4096");
    s.run("proclient", &[&db, "create-table", "item", "--area", "7"])
        .ok();
    s.run("proclient", &[&db, "insert", "item", "i1", "widget"])
        .ok();
    s.run(
        "proclient",
        &[&db, "insert", "item", "i2", "gadget with spaces"],
    )
    .ok();
    s.run("proclient", &[&db, "update", "item", "i1", "sprocket"])
        .ok();
    assert_eq!(
        s.run("proclient", &[&db, "get", "item", "i1"]).ok().out,
        "sprocket\n"
    );
    s.run("proclient", &[&db, "delete", "item", "i2"]).ok();
    assert_eq!(
        s.run("proclient", &[&db, "dump"]).ok().out,
        "item\ti1\tsprocket\n"
    );

    let list = s
        .run("prostrct", &["list", &db, s.path().to_str().unwrap()])
        .ok();
    assert!(list.out.contains("Area Name: Schema Area"), "{}", list.out);
    assert!(
        list.out
            .contains("Area Name: Data Area, Type 6, BlockSize 4096"),
        "{}",
        list.out
    );
    let st = std::fs::read_to_string(s.join("shop.st")).unwrap();
    assert!(st.contains("\"Data Area\":7,32;8"), "{st}");
    let stats = s.run("prostrct", &["statistics", &db]).ok();
    assert!(
        stats.out.contains("Database block size: 4096"),
        "{}",
        stats.out
    );
    let describe = s.run("proutil", &[&db, "-C", "describe"]).ok();
    assert!(describe.out.contains("State: clean"), "{}", describe.out);
}

#[test]
fn exec_groups_statements_into_transactions() {
    let s = Scratch::new();
    let db = created(&s, "ex", "8192");
    s.run("proclient", &[&db, "create-table", "t"]).ok();
    let script = s.write(
        "script.txt",
        "begin\ninsert t a 1\ninsert t b 2\ncommit\nbegin\ninsert t c 3\nrollback\ninsert t d 4\nget t a\n",
    );
    let ran = s
        .run("proclient", &[&db, "exec", script.to_str().unwrap()])
        .ok();
    assert_eq!(ran.out, "t\ta\t1\n");
    assert_eq!(
        s.run("proclient", &[&db, "dump", "t"]).ok().out,
        "t\ta\t1\nt\tb\t2\nt\td\t4\n"
    );
    // A script ending inside a transaction rolls it back and fails.
    let open = s.write("open.txt", "begin\ninsert t e 5\n");
    s.run("proclient", &[&db, "exec", open.to_str().unwrap()])
        .fails_with(90705);
    // A syntax error anywhere changes nothing.
    let bad = s.write("bad.txt", "insert t f 6\nfrobnicate\n");
    s.run("proclient", &[&db, "exec", bad.to_str().unwrap()])
        .fails_with(90704);
    assert_eq!(
        s.run("proclient", &[&db, "dump", "t"]).ok().out,
        "t\ta\t1\nt\tb\t2\nt\td\t4\n"
    );
}

/// What a refused command must leave as it was: the files of the directory (names and sizes of
/// the data extents) and every record. Opening for update rightly changes the open stamp, so
/// the control area and the BI are compared through their contents, not their bytes.
fn snapshot(s: &Scratch, db: &str) -> (Vec<String>, String) {
    let mut files: Vec<String> = std::fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| !name.ends_with(".lg") && !name.ends_with(".lk"))
        .collect();
    files.sort();
    (files, s.run("proclient", &[db, "dump"]).ok().out)
}

#[test]
fn bad_input_is_a_numbered_error_and_changes_nothing() {
    let s = Scratch::new();
    // A malformed structure file: nothing is created.
    s.write("broken.st", "b .\nd \"Schema Area\":6,32 .\nq nonsense\n");
    let ran = s.run("prostrct", &["create", &s.db("broken")]);
    assert_ne!(ran.code, 0);
    assert!(ran.err.contains("line 3"), "{}", ran.err);
    assert!(!s.join("broken.db").exists());

    let db = created(&s, "small", "1024");
    s.run("proclient", &[&db, "create-table", "t"]).ok();
    s.run("proclient", &[&db, "insert", "t", "k", "v"]).ok();
    let before = snapshot(&s, &db);
    s.run("proclient", &[&db, "insert", "nosuch", "k", "v"])
        .fails_with(90503);
    s.run("proclient", &[&db, "insert", "t", "k", "other"])
        .fails_with(90507);
    let big = "x".repeat(900);
    s.run("proclient", &[&db, "insert", "t", "big", &big])
        .fails_with(90511);
    s.run("proclient", &[&db, "update", "t", "missing", "v"])
        .fails_with(90508);
    s.run("proclient", &[&db, "get", "t", "missing"])
        .fails_with(90706);
    s.run("prostrct", &["create", &db, "-blocksize", "3000"])
        .fails_with(90700);
    assert!(
        snapshot(&s, &db) == before,
        "a refused command changed the database"
    );
    assert_eq!(before.1, "t\tk\tv\n");
    // The errors went to the event log with their numbers.
    let log = std::fs::read_to_string(s.join("small.lg")).unwrap();
    assert!(log.contains("(90507)"), "{log}");

    // A missing extent file.
    std::fs::rename(s.join("small_7.d1"), s.join("elsewhere")).unwrap();
    s.run("proclient", &[&db, "dump"]).fails_with(90515);
    std::fs::rename(s.join("elsewhere"), s.join("small_7.d1")).unwrap();
    s.run("proclient", &[&db, "dump"]).ok();
}

#[test]
fn copied_database_opens_only_after_repair() {
    let s = Scratch::new();
    let db = created(&s, "prod", "8192");
    s.run("proclient", &[&db, "create-table", "t"]).ok();
    s.run("proclient", &[&db, "insert", "t", "k", "v"]).ok();
    let standby = s.join("standby");
    std::fs::create_dir(&standby).unwrap();
    for entry in std::fs::read_dir(s.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file()
            && entry.file_name().to_string_lossy().starts_with("prod")
        {
            std::fs::copy(entry.path(), standby.join(entry.file_name())).unwrap();
        }
    }
    let copy = standby.join("prod").to_str().unwrap().to_string();
    s.run("proclient", &[&copy, "dump"]).fails_with(90502);
    let dir = format!("{}/", standby.display());
    s.run("prostrct", &["repair", &copy, &dir]).ok();
    assert_eq!(s.run("proclient", &[&copy, "dump"]).ok().out, "t\tk\tv\n");
    // The copy writes its own extents, never the original's.
    s.run("proclient", &[&copy, "insert", "t", "k2", "copy"])
        .ok();
    assert_eq!(s.run("proclient", &[&db, "dump"]).ok().out, "t\tk\tv\n");
}

#[test]
fn a_second_process_is_refused_while_the_database_is_open() {
    let s = Scratch::new();
    let db = created(&s, "busy", "8192");
    s.run("proclient", &[&db, "create-table", "t"]).ok();
    s.write("hold.txt", "begin\ninsert t held 1\nsleep 3\ncommit\n");
    let mut child = s.spawn("proclient", &[&db, "exec", "hold.txt"]);
    // Wait until the child holds the lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s.join("busy.lk").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "child never opened the database"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.run("proclient", &[&db, "dump"]).fails_with(90501);
    let busy = s.run("proutil", &[&db, "-C", "busy"]);
    assert!(busy.out.contains("is in use"), "{}", busy.out);
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed");
    assert_eq!(s.run("proclient", &[&db, "dump"]).ok().out, "t\theld\t1\n");
}
