//! Every refusal of `probkup` and `prorest` on the command line: a numbered message, a non-zero
//! exit, the event log, and nothing changed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{SMALL_ST, Scratch};

/// Every file of directory `dir` whose name starts with `prefix`, except the event log.
fn files(dir: &Path, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix) && !n.ends_with(".lg") && !n.ends_with(".lk"))
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
        .collect()
}

fn created(s: &Scratch, name: &str, st: &str, block_size: &str) -> String {
    s.write(&format!("{name}.st"), st);
    let db = s.db(name);
    s.run("prostrct", &["create", &db, "-blocksize", block_size])
        .ok();
    db
}

fn with_rows(s: &Scratch, name: &str) -> String {
    let db = created(s, name, SMALL_ST, "1024");
    s.run("proclient", &[&db, "create-table", "t", "--area", "7"])
        .ok();
    for i in 0..30 {
        s.run(
            "proclient",
            &[&db, "insert", "t", &format!("k{i:03}"), "value"],
        )
        .ok();
    }
    db
}

#[test]
fn probkup_refusals() {
    let s = Scratch::new();
    let db = with_rows(&s, "src");
    let file = s.db("a.bk");
    s.run("probkup", &["online", &db, &file]).fails_with(90903);
    s.run("probkup", &[&db]).fails_with(90700);
    s.run("probkup", &[&db, &file, "-bogus"]).fails_with(90700);
    s.run("probkup", &[&db, &file, "incremental"])
        .fails_with(90904);
    s.run("probkup", &[&s.db("nosuch"), &file])
        .fails_with(90520);
    s.run("probkup", &[&db, &file]).ok();
    let before = std::fs::read(&file).unwrap();
    let ran = s.run("probkup", &[&db, &file]).fails_with(90901);
    assert!(ran.err.starts_with("probkup: "), "{}", ran.err);
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let log = std::fs::read_to_string(s.join("src.lg")).unwrap();
    assert!(log.contains("90901"), "{log}");
}

#[test]
fn prorest_refusals_change_nothing() {
    let s = Scratch::new();
    let db = with_rows(&s, "src");
    let file = s.db("f.bk");
    s.run("probkup", &[&db, &file]).ok();
    s.run("proclient", &[&db, "insert", "t", "more", "rows"])
        .ok();
    let inc = s.db("i.bk");
    s.run("probkup", &[&db, "incremental", &inc]).ok();

    let cases: [(&str, &str, &str, &str, u32); 3] = [
        ("bs", SMALL_ST, "2048", "f.bk", 90920),
        (
            "na",
            "b .\nd \"Schema Area\":6,32 .\n",
            "1024",
            "f.bk",
            90921,
        ),
        ("id", SMALL_ST, "1024", "i.bk", 90923),
    ];
    for (name, st, bs, backup_file, number) in cases {
        let target = created(&s, name, st, bs);
        let before = files(s.path(), name);
        s.run("prorest", &[&target, &s.db(backup_file)])
            .fails_with(number);
        assert!(files(s.path(), name) == before, "{name}: target changed");
    }
    // Out of order, then in order.
    let target = created(&s, "r", SMALL_ST, "1024");
    s.run("prorest", &[&target, &file]).ok();
    s.run("prorest", &[&target, &inc]).ok();
    s.run("prorest", &[&target, &inc]).fails_with(90924);
    let dump_src = s.run("proclient", &[&db, "dump"]).ok().out;
    let dump_dst = s.run("proclient", &[&target, "dump"]).ok().out;
    assert_eq!(dump_src, dump_dst);
    s.run("prorest", &[&target, &file, "-vp", "-vf"])
        .fails_with(90700);
}

#[test]
fn damaged_backups_and_full_verify() {
    let s = Scratch::new();
    let db = with_rows(&s, "src");
    let file = s.db("f.bk");
    s.run("probkup", &[&db, &file, "-com"]).ok();
    let good = std::fs::read(&file).unwrap();
    let bad = s.db("bad.bk");
    let mut bytes = good.clone();
    let at = good.len() - 100;
    bytes[at] ^= 0x40;
    std::fs::write(&bad, &bytes).unwrap();
    let ran = s.run("prorest", &[&db, &bad, "-vp"]);
    assert_ne!(ran.code, 0);
    assert!(ran.err.contains("offset"), "{}", ran.err);
    std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
    s.run("prorest", &[&db, &bad, "-vp"]).fails_with(90910);
    let target = created(&s, "t", SMALL_ST, "1024");
    let before = files(s.path(), "t.");
    s.run("prorest", &[&target, &bad]).fails_with(90910);
    assert!(files(s.path(), "t.") == before);

    // -vf: the database changed since the backup.
    s.run("prorest", &[&db, &file, "-vf"]).ok();
    s.run("proclient", &[&db, "update", "t", "k001", "changed"])
        .ok();
    let ran = s.run("prorest", &[&db, &file, "-vf"]).fails_with(3757);
    assert!(ran.err.contains("(9454)"), "{}", ran.err);
}
