//! The after-imaging command lines of seeds 003 and 004, run as written: enable, list, switch,
//! archive (`aimage full`, copy, `extent empty`), disable; all extents full stops the database
//! with 3774 and loses nothing committed; random or foreign files given to scan and aiverify are
//! numbered errors.

mod common;

use common::Scratch;

fn extent_field(list: &str, extent: u32, label: &str) -> String {
    let block = list
        .split("\n\n")
        .find(|b| b.lines().next() == Some(&format!("Extent:  {extent}")))
        .unwrap_or_else(|| panic!("no extent {extent} in\n{list}"));
    block
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}:")))
        .unwrap_or_else(|| panic!("no {label} in\n{block}"))
        .trim()
        .to_string()
}

#[test]
fn seed_003_enable_list_switch_archive_disable() {
    let s = Scratch::new();
    let db = s.db("sports2000");
    s.run("prodb", &[&db, "sports2000"]).ok();
    s.run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
    // Four variable AI extents in the database directory, as the seed's structure file.
    s.write("sports2000.st", "a .\na .\na .\na .\n");
    s.run("prostrct", &["add", &db]).ok();
    let list = s.run("prostrct", &["list", &db]).ok().out;
    assert!(list.contains("After Image Area 4"), "{list}");
    // Changed since the last backup (never backed up): begin is refused, with its number.
    let refused = s.run("rfutil", &[&db, "-C", "aimage", "begin"]);
    assert_ne!(refused.code, 0);
    assert!(refused.err.contains("(90314)"), "{}", refused.err);
    s.run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    s.run("rfutil", &[&db, "-C", "aimage", "begin"]).ok();
    let list = s
        .run("rfutil", &[&db, "-C", "aimage", "extent", "list"])
        .ok()
        .out;
    assert_eq!(extent_field(&list, 1, "Status"), "Busy");
    assert_eq!(extent_field(&list, 1, "Seqno"), "1");
    assert_eq!(extent_field(&list, 2, "Status"), "Empty");
    assert_eq!(extent_field(&list, 1, "Type"), "Variable Length");

    s.run(
        "proclient",
        &[&db, "insert", "customer", "c900001", "name=Seed;balance=1"],
    )
    .ok();
    s.run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    s.run(
        "proclient",
        &[&db, "update", "customer", "c900001", "name=Seed;balance=2"],
    )
    .ok();
    let list = s.run("rfutil", &[&db, "-C", "aimage", "list"]).ok().out;
    assert_eq!(extent_field(&list, 1, "Status"), "Full");
    assert_eq!(extent_field(&list, 2, "Status"), "Busy");
    assert_eq!(extent_field(&list, 2, "Seqno"), "2");
    assert_eq!(
        s.run(
            "rfutil",
            &[&db, "-C", "aimage", "query", "status", "by", "extnum", "2"]
        )
        .ok()
        .out,
        "Busy\n"
    );
    assert_eq!(
        s.run(
            "rfutil",
            &[
                &db, "-C", "aimage", "query", "extnum", "by", "sequence", "2"
            ]
        )
        .ok()
        .out,
        "2\n"
    );

    // Archive the oldest full extent: aimage full names it, copy it, empty it.
    let full = s.run("rfutil", &[&db, "-C", "aimage", "full"]).ok().out;
    let full = full.trim();
    assert!(full.ends_with("sports2000.a1"), "{full}");
    assert_eq!(
        s.run("rfutil", &[&db, "-C", "aimage", "extent", "full"])
            .ok()
            .out
            .trim(),
        full
    );
    let archived = s.join("s2k.a1.archived");
    std::fs::copy(full, &archived).unwrap();
    s.run("rfutil", &[&db, "-C", "aimage", "extent", "empty"])
        .ok();
    let list = s
        .run("rfutil", &[&db, "-C", "aimage", "extent", "list"])
        .ok()
        .out;
    assert_eq!(extent_field(&list, 1, "Status"), "Empty");
    // No full extent left: aimage full says so with its number.
    s.run("rfutil", &[&db, "-C", "aimage", "full"])
        .fails_with(90709);

    // The archived copy scans and verifies.
    let archived = archived.to_str().unwrap();
    let scan = s
        .run("rfutil", &[&db, "-C", "aimage", "scan", "-a", archived])
        .ok()
        .out;
    assert!(scan.contains("Sequence: 1"), "{scan}");
    assert!(scan.contains("1 committed"), "{scan}");
    let verbose = s
        .run(
            "rfutil",
            &[&db, "-C", "aimage", "scan", "verbose", "-a", archived],
        )
        .ok()
        .out;
    assert!(verbose.contains("RL_TBGN"), "{verbose}");
    assert!(verbose.contains("RL_BKREPL"), "{verbose}");
    s.run("rfutil", &[&db, "-C", "aiverify", "full", "-a", archived])
        .ok();
    s.run(
        "rfutil",
        &[&db, "-C", "aiverify", "partial", "-a", archived],
    )
    .ok();

    // Statistics and describe show the AI state and both sequences.
    let describe = s.run("proutil", &[&db, "-C", "describe"]).ok().out;
    assert!(describe.contains("After-imaging: enabled"), "{describe}");
    assert!(describe.contains("Current AI sequence: 2"), "{describe}");
    assert!(describe.contains("Expected AI sequence: 1"), "{describe}");

    s.run("rfutil", &[&db, "-C", "aimage", "end"]).ok();
    let list = s
        .run("rfutil", &[&db, "-C", "aimage", "extent", "list"])
        .ok()
        .out;
    for n in 1..=4 {
        assert_eq!(extent_field(&list, n, "Status"), "Empty");
    }
}

#[test]
fn random_and_foreign_files_are_numbered_errors() {
    let s = Scratch::new();
    let db = s.db("s");
    s.run("prodb", &[&db, "empty"]).ok();
    let random = s.join("random.bin");
    let mut bytes = vec![0u8; 20_000];
    let mut x = 0x1234_5678_u32;
    for b in &mut bytes {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    std::fs::write(&random, &bytes).unwrap();
    let foreign = s.join("s.d1");
    for file in [random.to_str().unwrap(), foreign.to_str().unwrap()] {
        for args in [
            vec!["-C", "aimage", "scan", "-a", file],
            vec!["-C", "aimage", "scan", "verbose", "-a", file],
            vec!["-C", "aiverify", "full", "-a", file],
            vec!["-C", "aiverify", "partial", "-a", file],
        ] {
            let mut all = vec![db.as_str()];
            all.extend(args);
            let ran = s.run("rfutil", &all);
            assert_ne!(ran.code, 0, "{all:?} accepted a non-AI file");
            assert!(
                ran.err.contains("(9"),
                "{all:?}: no message number in {}",
                ran.err
            );
        }
    }
    s.run(
        "rfutil",
        &[&db, "-C", "aimage", "scan", "-a", "/nonexistent/file"],
    )
    .fails_with(90701);
}

#[test]
fn all_extents_full_stops_with_3774_and_loses_nothing() {
    let s = Scratch::new();
    let db = s.db("full");
    s.write(
        "full.st",
        "b .\nd \"Schema Area\":6,32 .\na . f 48\na . f 48\n",
    );
    s.run("prostrct", &["create", &db, "-blocksize", "1024"])
        .ok();
    s.run("proclient", &[&db, "create-table", "t"]).ok();
    s.run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    s.run("rfutil", &[&db, "-C", "aimage", "begin"]).ok();
    let mut committed = Vec::new();
    let mut stopped = None;
    for i in 0..2000 {
        let key = format!("k{i:05}");
        let ran = s.run(
            "proclient",
            &[&db, "insert", "t", &key, "some value that fills the extent"],
        );
        if ran.code == 0 {
            committed.push(key);
        } else {
            stopped = Some(ran);
            break;
        }
    }
    let stopped = stopped.expect("two 48 KiB extents never filled");
    assert!(stopped.err.contains("(3774)"), "{}", stopped.err);
    assert!(
        stopped.err.contains("Can't switch to after-image extent")
            && stopped.err.contains("it is full"),
        "{}",
        stopped.err
    );
    let log = std::fs::read_to_string(s.join("full.lg")).unwrap();
    assert!(log.contains("(3774)"), "{log}");
    // Archive and empty the oldest full extent; the next open recovers and nothing committed is lost.
    s.run("rfutil", &[&db, "-C", "aimage", "extent", "empty"])
        .ok();
    // The database stopped without a checkpoint: the next open for update runs crash
    // recovery, whose undo notes go to the emptied extent.
    s.run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
    let dump = s.run("proclient", &[&db, "dump", "t"]).ok().out;
    let keys: Vec<&str> = dump
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(
        keys, committed,
        "committed records lost or an unacknowledged one kept"
    );
    s.run("proclient", &[&db, "insert", "t", "after", "v"]).ok();
}

#[test]
fn aimage_query_names_a_missing_extent_or_a_bad_field_with_its_number() {
    let s = Scratch::new();
    let db = s.db("q");
    s.run("prodb", &[&db, "empty"]).ok();
    s.write("q.st", "a .\na .\n");
    s.run("prostrct", &["add", &db]).ok();
    let query = |args: &[&str]| {
        let mut all = vec![db.as_str(), "-C", "aimage", "query"];
        all.extend_from_slice(args);
        s.run("rfutil", &all)
    };
    assert_eq!(query(&["status", "by", "extnum", "2"]).ok().out, "Empty\n");
    query(&["status", "by", "extnum", "9"]).fails_with(90708);
    query(&["status", "by", "sequence", "1"]).fails_with(90708);
    query(&["status", "by", "name", "nosuch.a7"]).fails_with(90708);
    query(&["colour", "by", "extnum", "1"]).fails_with(90700);
    query(&["status", "by", "size", "1"]).fails_with(90700);
    s.run("rfutil", &[&db, "-C", "aimage", "sideways"])
        .fails_with(90700);
}
