//! The committed fixtures under `testdata/` (made by `cargo xtask fixtures`, never regenerated
//! here) give exactly the recorded outcomes: the scan of the full AI extent, restore plus roll
//! forward of the archived files, the refusal of the corrupted extent with the database
//! unchanged, the fixture database after `prostrct repair`, and the format fixtures' values.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::Scratch;
use engine::{AccessMode, Database, DbPath, OpenOptions};
use masterblock::{AiSeq, AreaNo, DbId, DbState, ExtentHeader, ExtentKind, MasterBlock, NoteSeq};
use structure::{AreaKind, Catalogue};

/// `testdata/` at the workspace root.
fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// A file of `testdata/v1/`.
fn v1(name: &str) -> PathBuf {
    testdata().join("v1").join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read_text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("utf-8 fixture")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Copies `testdata/v1/<name>` into the scratch directory as `as_name`; returns its path.
fn copy_in(s: &Scratch, name: &str, as_name: &str) -> PathBuf {
    let to = s.join(as_name);
    std::fs::copy(v1(name), &to).unwrap_or_else(|e| panic!("cannot copy {name}: {e}"));
    to
}

/// A database made by `prostrct create` from the fixture's structure file, with the fixture
/// backup restored into it; returns its argument.
fn restored(s: &Scratch) -> String {
    copy_in(s, "shop.st", "restored.st");
    let db = s.db("restored");
    let st = s.join("restored.st");
    s.run(
        "prostrct",
        &["create", &db, text(&st), "-blocksize", "1024"],
    )
    .ok();
    let backup = copy_in(s, "shop.bck", "shop.bck");
    let out = s.run("prorest", &[&db, text(&backup)]).ok().out;
    assert!(
        out.contains("Next after-image sequence to roll forward: 1"),
        "{out}"
    );
    db
}

/// The bytes of every file of database `name` in the scratch directory except its event log.
fn database_bytes(s: &Scratch, name: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(name) && !f.ends_with(".lg") && !f.ends_with(".st"))
        .map(|f| {
            let bytes = read(&s.join(&f));
            (f, bytes)
        })
        .collect();
    files.sort();
    files
}

/// `tables=N records=M hash=0x...` of the database, as `workload::content_digest` computes it.
fn digest_text(db: &str) -> String {
    let path = DbPath::parse(db).unwrap();
    let options = OpenOptions {
        access: AccessMode::ReadOnly,
        ..OpenOptions::default()
    };
    let database = Database::open(Arc::new(storage::RealStorage), &path, options).unwrap();
    let digest = workload::content_digest(&database).unwrap();
    database.close().unwrap();
    format!(
        "tables={} records={} hash={:#018x}\n",
        digest.tables, digest.records, digest.hash
    )
}

/// The offset in the first "is damaged at byte N" of an error text.
fn damaged_at(err: &str) -> usize {
    let (_, rest) = err
        .split_once("is damaged at byte ")
        .unwrap_or_else(|| panic!("no damaged offset in\n{err}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("an offset")
}

#[test]
fn scan_of_the_full_extent_is_the_recorded_text() {
    let s = Scratch::new();
    let file = copy_in(&s, "ai/shop.a1.full", "shop.a1.full");
    let out = s
        .run(
            "rfutil",
            &[&s.db("any"), "-C", "aimage", "scan", "-a", text(&file)],
        )
        .ok()
        .out;
    let expected = read_text(&v1("expected/scan-shop.a1.full.txt"));
    assert_eq!(out.replace(text(&file), "ai/shop.a1.full"), expected);
    // The recorded text is that of the fixture's first file: 71 committed, one rolled back.
    assert!(expected.contains("Status: Full  Sequence: 1"), "{expected}");
    assert!(
        expected.contains("Transactions: 72 begun, 71 committed, 1 rolled back"),
        "{expected}"
    );
    s.run(
        "rfutil",
        &[&s.db("any"), "-C", "aiverify", "full", "-a", text(&file)],
    )
    .ok();
    let busy = copy_in(&s, "ai/shop.a2.busy", "shop.a2.busy");
    s.run(
        "rfutil",
        &[&s.db("any"), "-C", "aiverify", "full", "-a", text(&busy)],
    )
    .ok();
}

#[test]
fn restore_and_roll_forward_give_the_recorded_dump_and_digest() {
    let s = Scratch::new();
    let db = restored(&s);
    // The backup was taken before `aimage begin`: none of the AI files' changes are in it.
    let before = s.run("proclient", &[&db, "dump"]).ok().out;
    assert!(!before.contains("item\ti0201\t"), "{before}");
    assert!(before.contains("customer\tc0100\t"), "{before}");
    for name in ["shop.a1.full", "shop.a2.busy"] {
        let file = copy_in(&s, &format!("ai/{name}"), name);
        s.run("rfutil", &[&db, "-C", "roll", "forward", "-a", text(&file)])
            .ok();
    }
    let dump = s.run("proclient", &[&db, "dump"]).ok().out;
    assert_eq!(dump, read_text(&v1("expected/dump.txt")));
    assert_eq!(digest_text(&db), read_text(&v1("expected/digest.txt")));
    // Spot checks of what the files carried: file 1's inserts, delete and rollback, file 2's
    // updates.
    assert!(
        dump.contains("item\ti0220\tname=Item 220;price=1\n"),
        "{dump}"
    );
    assert!(!dump.contains("customer\tc0100\t"), "{dump}");
    assert!(!dump.contains("i9999"), "{dump}");
    assert!(
        dump.contains("item\ti0080\tname=Item 80;price=2\n"),
        "{dump}"
    );
    assert!(dump.contains("customer\tc0050\tname=Customer 50;balance=150\n"));
}

#[test]
fn the_corrupted_extent_is_refused_and_the_database_is_unchanged() {
    let s = Scratch::new();
    // The corrupted copy differs from the full extent in exactly one bit, inside the notes.
    let full = read(&v1("ai/shop.a1.full"));
    let corrupt = read(&v1("ai/shop.a1.corrupt"));
    assert_eq!(full.len(), corrupt.len());
    let differing: Vec<usize> = (0..full.len()).filter(|&i| full[i] != corrupt[i]).collect();
    assert_eq!(differing.len(), 1, "{differing:?}");
    let at = differing[0];
    assert!(at >= 4096, "byte {at} is in the header region");
    assert_eq!((full[at] ^ corrupt[at]).count_ones(), 1);

    let file = copy_in(&s, "ai/shop.a1.corrupt", "shop.a1.corrupt");
    let refused = s
        .run(
            "rfutil",
            &[&s.db("any"), "-C", "aiverify", "full", "-a", text(&file)],
        )
        .fails_with(90327);
    assert!(
        refused.err.contains("checksum does not verify"),
        "{}",
        refused.err
    );
    // The frame named is the one holding the flipped byte.
    let frame_at = damaged_at(&refused.err);
    assert!((4096..=at).contains(&frame_at), "{}", refused.err);
    let scanned = s
        .run(
            "rfutil",
            &[&s.db("any"), "-C", "aimage", "scan", "-a", text(&file)],
        )
        .fails_with(90305);
    assert_eq!(damaged_at(&scanned.err), frame_at, "{}", scanned.err);

    let db = restored(&s);
    let files_before = database_bytes(&s, "restored");
    let dump_before = s.run("proclient", &[&db, "dump"]).ok().out;
    let refused = s.run("rfutil", &[&db, "-C", "roll", "forward", "-a", text(&file)]);
    assert_ne!(refused.code, 0, "roll forward accepted:\n{}", refused.out);
    let refused = refused.fails_with(90305);
    assert_eq!(damaged_at(&refused.err), frame_at, "{}", refused.err);
    assert!(
        database_bytes(&s, "restored") == files_before,
        "a refused roll forward changed the database"
    );
    assert_eq!(s.run("proclient", &[&db, "dump"]).ok().out, dump_before);
    // The archived copy still rolls forward onto it.
    let good = copy_in(&s, "ai/shop.a1.full", "shop.a1.full");
    s.run("rfutil", &[&db, "-C", "roll", "forward", "-a", text(&good)])
        .ok();
}

#[test]
fn the_fixture_database_opens_after_repair_with_the_recorded_content() {
    let s = Scratch::new();
    let dir = s.join("db");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(v1("db")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let db = text(&dir.join("shop")).to_string();
    s.run("prostrct", &["repair", &db, &format!("{}/", text(&dir))])
        .ok();
    let dump = s.run("proclient", &[&db, "dump"]).ok().out;
    assert_eq!(dump, read_text(&v1("expected/dump.txt")));
    let describe = s.run("proutil", &[&db, "-C", "describe"]).ok().out;
    for line in [
        "Block size: 1024",
        "State: clean",
        "Created: Tue Nov 14 22:13:20 2023",
        "After-imaging: enabled",
        "Current AI sequence: 2",
        "Busy AI extent: 2",
    ] {
        assert!(describe.contains(line), "no `{line}` in\n{describe}");
    }
    let list = s
        .run("rfutil", &[&db, "-C", "aimage", "extent", "list"])
        .ok()
        .out;
    let statuses: Vec<&str> = list
        .lines()
        .filter_map(|l| l.strip_prefix("Status:"))
        .map(str::trim)
        .collect();
    assert_eq!(statuses, ["Empty", "Busy", "Empty"], "{list}");
}

#[test]
fn format_fixtures_decode_to_the_documented_values() {
    let formats = testdata().join("formats");
    let id = DbId(*b"0123456789abcdef");

    // masterblock.md: the 512-byte record of the sample master block, checksum 0x9f29a563.
    let bytes = read(&formats.join("masterblock-v1.bin"));
    assert_eq!(bytes.len(), 512);
    assert_eq!(&bytes[0..8], b"AIMGMSTR");
    assert_eq!(
        u32::from_le_bytes(bytes[508..].try_into().unwrap()),
        0x9f29_a563
    );
    let mb: MasterBlock = MasterBlock::decode(&bytes).unwrap().validate().unwrap();
    assert_eq!(mb.block_size, 4096);
    assert_eq!(mb.generation, 7);
    assert_eq!(mb.db_id, id);
    assert_eq!(mb.state, DbState::RolledForwardInFlight);
    assert!(mb.ai_enabled);
    assert_eq!(mb.ai_busy_extent, 2);
    assert_eq!(
        (mb.ai_seq_current, mb.ai_seq_expected),
        (AiSeq(11), AiSeq(12))
    );
    assert_eq!(mb.rf_note_seq, NoteSeq(13));
    assert_eq!(mb.next_note_seq, NoteSeq(22));
    assert_eq!(mb.created_time, 1_700_000_000_000_024);
    assert_eq!(mb.rf_stop_time, -26);

    // extent-header.md: data extent, area 7, extent 3, fixed 1024 KiB, 8 KiB blocks, checksum
    // 0xb7f0794b.
    let bytes = read(&formats.join("extent-header-v1.bin"));
    assert_eq!(bytes.len(), 64);
    assert_eq!(
        u32::from_le_bytes(bytes[60..].try_into().unwrap()),
        0xb7f0_794b
    );
    let header = ExtentHeader::decode(&bytes).unwrap().validate().unwrap();
    assert_eq!(header.kind, ExtentKind::Data);
    assert!(header.fixed);
    assert_eq!(header.block_size, 8192);
    assert_eq!(header.db_id, id);
    assert_eq!(header.area, AreaNo(7));
    assert_eq!(header.extent_number, 3);
    assert_eq!(header.size_kib, 1024);

    // catalogue.md: the catalogue of the structure below for /db/fixture.db, generation 7.
    let bytes = read(&formats.join("catalogue-v1.bin"));
    let (cat, cat_id, generation) = Catalogue::decode(&bytes).unwrap().validate().unwrap();
    assert_eq!(
        cat_id,
        DbId(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff")
    );
    assert_eq!(generation, 7);
    assert_eq!(cat.control_path, Path::new("/db/fixture.db"));
    let st = structure::StFile::parse(
        "b . f 1024\nb .\nd \"Schema Area\":6,64 . f 1024\nd .\n\
         d \"Customer Data\":7,32;8 /data/ f 2048\nd \"Customer Data\":7,32;8 /data/\n\
         d \"Index\":12,1;64 idx/ v 4096\na /ai/ f 1024\na /ai/ v 2048\na /ai/\n",
    )
    .unwrap();
    let built = Catalogue::from_st(Path::new("/db/fixture.db"), &st, 4096).unwrap();
    assert_eq!(cat, built);
    let customer = cat.area(AreaNo(7)).expect("area 7");
    assert_eq!(customer.name, "Customer Data");
    assert_eq!(customer.kind, AreaKind::Data);
    assert_eq!(
        (customer.records_per_block, customer.blocks_per_cluster),
        (32, 8)
    );
    assert_eq!(customer.extents.len(), 2);
    assert_eq!(cat.ai_extents().len(), 3);
}
