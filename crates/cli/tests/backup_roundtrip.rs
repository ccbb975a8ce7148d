//! `probkup` and `prorest` on real files: sports2000 backed up (plain and `-com`), restored into
//! a database made by `prostrct create`, with the same content; an incremental after more
//! changes; `-vp`, `-vf` and `-list`.

mod common;

use std::sync::Arc;

use common::Scratch;
use engine::{Database, DbPath, OpenOptions};

const ST: &str = "b .\nd \"Schema Area\":6,32 .\nd \"Data Area\":7,32;8 .\n";

fn storage() -> storage::StorageRef {
    Arc::new(storage::RealStorage::new())
}

fn digest(db: &str) -> workload::ContentDigest {
    let d = Database::open(
        storage(),
        &DbPath::parse(db).unwrap(),
        OpenOptions::default(),
    )
    .unwrap();
    let digest = workload::content_digest(&d).unwrap();
    d.close().unwrap();
    digest
}

/// A sports2000 database `name` in the scratch directory, made by prostrct create.
fn sports(s: &Scratch, name: &str) -> String {
    s.write(&format!("{name}.st"), ST);
    let db = s.db(name);
    s.run("prostrct", &["create", &db, "-blocksize", "1024"])
        .ok();
    let d = Database::open(
        storage(),
        &DbPath::parse(&db).unwrap(),
        OpenOptions::default(),
    )
    .unwrap();
    workload::load_sports2000_in(&d, Some(masterblock::AreaNo(7))).unwrap();
    d.close().unwrap();
    db
}

/// A new empty database `name` from `st`.
fn target(s: &Scratch, name: &str, st: &str) -> String {
    s.write(&format!("{name}.st"), st);
    let db = s.db(name);
    s.run("prostrct", &["create", &db, "-blocksize", "1024"])
        .ok();
    db
}

fn change(db: &str, seed: u64) {
    let d = Database::open(
        storage(),
        &DbPath::parse(db).unwrap(),
        OpenOptions::default(),
    )
    .unwrap();
    let config = workload::OrdersConfig {
        transactions: 40,
        clients: 1,
        seed,
    };
    workload::orders_run(&d, &config).unwrap();
    d.close().unwrap();
}

#[test]
fn sports2000_round_trip_plain_and_compressed() {
    let s = Scratch::new();
    let src = sports(&s, "src");
    let expected = digest(&src);
    assert!(expected.records > 1000);
    let plain = s.db("plain.bk");
    let com = s.db("com.bk");
    let ran = s.run("probkup", &[&src, &plain]).ok();
    assert!(ran.out.contains("Full backup of"), "{}", ran.out);
    for label in ["Blocks: ", "Bytes: ", "Compressed bytes: ", "Time: "] {
        assert!(ran.out.contains(label), "{label}: {}", ran.out);
    }
    assert!(ran.out.contains("Backup counter: 1"), "{}", ran.out);
    let ran = s.run("probkup", &[&src, &com, "-com", "-verbose"]).ok();
    assert!(ran.out.contains("Area 7"), "{}", ran.out);
    assert!(ran.out.contains("Backup counter: 2"), "{}", ran.out);
    let plain_len = std::fs::metadata(&plain).unwrap().len();
    let com_len = std::fs::metadata(&com).unwrap().len();
    assert!(com_len < plain_len / 2, "{com_len} vs {plain_len}");

    let vp = s.run("prorest", &[&src, &com, "-vp"]).ok();
    assert!(vp.out.contains("verified"), "{}", vp.out);
    let vf = s.run("prorest", &[&src, &com, "-vf"]).ok();
    assert!(vf.out.contains("match"), "{}", vf.out);

    // -list gives a structure file for the target.
    let list = s.run("prorest", &[&src, &plain, "-list"]).ok();
    let st = structure::StFile::parse(&list.out).unwrap();
    assert_eq!(st.lines.len(), 3, "{}", list.out);
    assert!(list.out.contains("\"Data Area\":7,32;8"), "{}", list.out);

    for (name, file) in [("r1", &plain), ("r2", &com)] {
        let db = target(&s, name, ST);
        let ran = s.run("prorest", &[&db, file]).ok();
        assert!(ran.out.contains("Restored full backup"), "{}", ran.out);
        assert!(
            ran.out
                .contains("Next after-image sequence to roll forward: 1"),
            "{}",
            ran.out
        );
        assert_eq!(digest(&db), expected);
        let dump_src = s.run("proclient", &[&src, "dump"]).ok().out;
        let dump_dst = s.run("proclient", &[&db, "dump"]).ok().out;
        assert!(dump_src == dump_dst);
    }
}

#[test]
fn incremental_after_more_changes() {
    let s = Scratch::new();
    let src = sports(&s, "src");
    let full = s.db("full.bk");
    let inc = s.db("inc.bk");
    s.run("probkup", &[&src, &full]).ok();
    change(&src, 7);
    let ran = s.run("probkup", &[&src, "incremental", &inc, "-com"]).ok();
    assert!(ran.out.contains("Incremental backup"), "{}", ran.out);
    let expected = digest(&src);

    let db = target(&s, "r", ST);
    s.run("prorest", &[&db, &full]).ok();
    assert_ne!(digest(&db), expected);
    s.run("prorest", &[&db, &inc]).ok();
    assert_eq!(digest(&db), expected);
    // The restored database is usable.
    change(&db, 8);
}
