//! The seed procedures, run with their own command lines, each ending with `proclient dump` of
//! the source and of the recovered copy compared byte for byte.
//!
//! Seed 000: hot standby from an OS copy taken while an extent is busy. Seed 002: the offline OS
//! backup procedure and its roll forward. Seed 003: backup, after-imaging, archiving full
//! extents, then prostrct create + prorest + roll forward of every file.

mod common;

use std::path::Path;

use common::{Ran, Scratch};

/// `cp prefix* dest/`: every file of `from` whose name starts with `prefix`.
fn cp_prefix(from: &Path, prefix: &str, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.file_type().unwrap().is_file() && name.starts_with(prefix) {
            std::fs::copy(entry.path(), dest.join(&name)).unwrap();
        }
    }
}

/// One transaction of `n` inserts, so the AI extents fill quickly.
fn batch(s: &Scratch, db: &str, table: &str, from: usize, n: usize) {
    let mut script = String::from("begin\n");
    for i in from..from + n {
        script.push_str(&format!(
            "insert {table} k{i:06} value number {i} padded to fill the extent\n"
        ));
    }
    script.push_str("commit\n");
    let path = s.write("batch.txt", &script);
    s.run("proclient", &[db, "exec", path.to_str().unwrap()])
        .ok();
}

fn dump(s: &Scratch, db: &str) -> String {
    s.run("proclient", &[db, "dump"]).ok().out
}

fn extent_status(s: &Scratch, db: &str, n: u32) -> String {
    s.run(
        "rfutil",
        &[
            db,
            "-C",
            "aimage",
            "query",
            "status",
            "by",
            "extnum",
            &n.to_string(),
        ],
    )
    .ok()
    .out
    .trim()
    .to_string()
}

fn roll(s: &Scratch, db: &str, file: &str) -> Ran {
    s.run("rfutil", &[db, "-C", "roll", "forward", "-a", file])
}

#[test]
fn seed_000_hot_standby_from_an_os_copy() {
    let s = Scratch::new();
    let prod = s.db("production_db");
    s.run("prodb", &[&prod, "empty"]).ok();
    s.run("proclient", &[&prod, "create-table", "t"]).ok();
    // Update your source database by adding after-imaging extents.
    s.write(
        "production_db.st",
        "a . f 256\na . f 256\na . f 256\na . f 256\n",
    );
    s.run("prostrct", &["add", &prod]).ok();
    // truncate the database BI file and mark as backed up; activate after-imaging.
    s.run("proutil", &[&prod, "-C", "truncate", "bi"]).ok();
    s.run("rfutil", &[&prod, "-C", "mark", "backedup"]).ok();
    s.run("rfutil", &[&prod, "-C", "aimage", "begin"]).ok();
    // Allow updates until a1 fills and the database switches to a2.
    let mut next = 0;
    while extent_status(&s, &prod, 2) != "Busy" {
        batch(&s, &prod, "t", next, 100);
        next += 100;
        assert!(next < 20_000, "a1 never filled");
    }
    // Make a copy of the database using operating system commands.
    let standby_dir = s.join("db_standby");
    cp_prefix(s.path(), "production_db", &standby_dir);
    s.run("rfutil", &[&prod, "-C", "mark", "backedup"]).ok();
    // Fix the target's file specifications and make a new .st; correct the sequence.
    let standby = standby_dir
        .join("production_db")
        .to_str()
        .unwrap()
        .to_string();
    let dir_arg = format!("{}/", standby_dir.display());
    s.run("prostrct", &["repair", &standby, &dir_arg]).ok();
    s.run("prostrct", &["list", &standby, &dir_arg]).ok();
    s.run("rfutil", &[&standby, "-C", "sequence"]).ok();
    // Roll forward the extent that was BUSY when the copy was made.
    let a2 = s.join("production_db.a2").to_str().unwrap().to_string();
    let first = roll(&s, &standby, &a2).ok();
    for number in [663, 648, 659, 13292, 846] {
        assert!(
            first.out.contains(&format!("({number})")),
            "missing {number}:\n{}",
            first.out
        );
    }
    // Continue allowing updates and regularly roll forward the subsequent extents: every
    // extent from the one the standby expects up to the busy one; a full one, once applied,
    // is archived (emptied) on the source so the source never stalls.
    let mut expected = 2u32;
    for _ in 0..3 {
        batch(&s, &prod, "t", next, 150);
        next += 150;
        loop {
            let seq = expected.to_string();
            let name = s
                .run(
                    "rfutil",
                    &[
                        &prod, "-C", "aimage", "query", "name", "by", "sequence", &seq,
                    ],
                )
                .ok()
                .out;
            let status = s
                .run(
                    "rfutil",
                    &[
                        &prod, "-C", "aimage", "query", "status", "by", "sequence", &seq,
                    ],
                )
                .ok()
                .out;
            roll(&s, &standby, name.trim()).ok();
            if status.trim() == "Busy" {
                break;
            }
            s.run(
                "rfutil",
                &[&prod, "-C", "aimage", "extent", "empty", name.trim()],
            )
            .ok();
            expected += 1;
        }
        assert_eq!(
            dump(&s, &standby),
            dump(&s, &prod),
            "standby differs from the source"
        );
    }
}

#[test]
fn seed_003_backup_archive_restore_and_roll_forward_every_file() {
    let s = Scratch::new();
    let db = s.db("sports2000");
    s.run("prodb", &[&db, "sports2000"]).ok();
    s.run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
    s.write("sports2000.st", "a .\na .\na .\na .\n");
    s.run("prostrct", &["add", &db]).ok();
    s.run("prostrct", &["list", &db]).ok();
    let archive = s.join("archive");
    std::fs::create_dir(&archive).unwrap();
    let bk1 = archive.join("s2k.bk1");
    s.run("probkup", &[&db, bk1.to_str().unwrap(), "-com"]).ok();
    s.run("rfutil", &[&db, "-C", "aimage", "begin"]).ok();
    // Work, switching and archiving full extents with the naming convention of the seed.
    let mut archived = Vec::new();
    for round in 0..3 {
        s.run(
            "proclient",
            &[
                &db,
                "workload",
                "orders",
                "--tx",
                "40",
                "--seed",
                &round.to_string(),
            ],
        )
        .ok();
        s.run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
        let full = s.run("rfutil", &[&db, "-C", "aimage", "full"]).ok().out;
        let full = full.trim().to_string();
        let seq = archived.len() + 1;
        let target = archive.join(format!("aifile{seq}.a"));
        std::fs::copy(&full, &target).unwrap();
        s.run("rfutil", &[&db, "-C", "aimage", "extent", "empty"])
            .ok();
        archived.push(target);
    }
    s.run(
        "proclient",
        &[&db, "workload", "orders", "--tx", "25", "--seed", "9"],
    )
    .ok();
    // The current BUSY extent of the damaged database, if available.
    let busy = s
        .run(
            "rfutil",
            &[
                &db,
                "-C",
                "aimage",
                "query",
                "name",
                "by",
                "sequence",
                &(archived.len() + 1).to_string(),
            ],
        )
        .ok()
        .out
        .trim()
        .to_string();
    let busy_copy = archive.join("busy.a");
    std::fs::copy(&busy, &busy_copy).unwrap();
    archived.push(busy_copy);
    let source = dump(&s, &db);

    // Recovery, in a new directory: a structure file with the new paths, create, restore.
    let recover = s.join("recover");
    std::fs::create_dir(&recover).unwrap();
    let st = std::fs::read_to_string(s.join("sports2000.st")).unwrap();
    let st = st.replace(
        &format!("{}/", s.path().display()),
        &format!("{}/", recover.display()),
    );
    std::fs::write(recover.join("sports2000.st"), st).unwrap();
    let target = recover.join("sports2000").to_str().unwrap().to_string();
    s.run("prostrct", &["create", &target, "-blocksize", "1024"])
        .ok();
    s.run("prorest", &[&target, bk1.to_str().unwrap()]).ok();
    for file in &archived {
        roll(&s, &target, file.to_str().unwrap()).ok();
    }
    assert_eq!(
        dump(&s, &target),
        source,
        "the recovered database differs from the source"
    );
}

#[test]
fn seed_002_offline_os_backup_and_its_roll_forward() {
    let s = Scratch::new();
    let db = s.db("db");
    s.run("prodb", &[&db, "empty"]).ok();
    s.write("db.st", "a .\na .\na .\n");
    s.run("prostrct", &["add", &db]).ok();
    s.run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    s.run("rfutil", &[&db, "-C", "aimage", "begin"]).ok();
    s.run(
        "proclient",
        &[
            &db, "workload", "tpcb", "--init", "--scale", "1", "--tx", "50",
        ],
    )
    .ok();
    // OFFLINE_db_OS_backup: (1 shut down: the database is not open) 2 truncate bi,
    // 4 aimage new, 5 copy, 6 mark backedup, (7 back in service: more work).
    s.run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
    s.run("rfutil", &[&db, "-C", "aimage", "new"]).ok();
    let new_busy = s
        .run(
            "rfutil",
            &[&db, "-C", "aimage", "query", "name", "by", "sequence", "2"],
        )
        .ok()
        .out
        .trim()
        .to_string();
    let backup_dir = s.join("osbackup");
    cp_prefix(s.path(), "db.", &backup_dir);
    cp_prefix(s.path(), "db_", &backup_dir);
    s.run("rfutil", &[&db, "-C", "mark", "backedup"]).ok();
    s.run(
        "proclient",
        &[&db, "workload", "tpcb", "--tx", "120", "--clients", "2"],
    )
    .ok();
    let source = dump(&s, &db);

    // roll_forward_OS_backup: 1 restore the copy (no .lk), 2 repair with full paths,
    // 4 sequence, 5 roll forward from the extent the manual switch made busy.
    let restored = s.join("restored");
    cp_prefix(&backup_dir, "db", &restored);
    let _ = std::fs::remove_file(restored.join("db.lk"));
    let target = restored.join("db").to_str().unwrap().to_string();
    // 2) a structure file with FULL paths to every extent of the copy.
    s.run("prostrct", &["list", &db]).ok();
    let st = std::fs::read_to_string(s.join("db.st")).unwrap();
    let st = st.replace(
        &format!("{}/", s.path().display()),
        &format!("{}/", restored.display()),
    );
    let st_path = restored.join("db.st");
    std::fs::write(&st_path, st).unwrap();
    s.run("prostrct", &["repair", &target, st_path.to_str().unwrap()])
        .ok();
    // Without `sequence` the first file is refused with 8019 and nothing changes.
    let refused = roll(&s, &target, &new_busy);
    assert!(refused.err.contains("(8019)"), "{}", refused.err);
    s.run("rfutil", &[&target, "-C", "sequence"]).ok();
    roll(&s, &target, &new_busy).ok();
    assert_eq!(
        dump(&s, &target),
        source,
        "the restored OS backup differs from the source"
    );
}
