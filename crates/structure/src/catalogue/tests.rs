//! Catalogue building tests: `from_st`, `add_from_st`, `to_st`, both repairs, generated names
//! and one test per validation error.

use std::path::{Path, PathBuf};

use masterblock::AreaNo;

use super::*;
use crate::{Error, StFile, generated_name};

const DB: &str = "/db/prod.db";

fn st(text: &str) -> StFile {
    StFile::parse(text).unwrap()
}

fn create(text: &str) -> Catalogue {
    Catalogue::from_st(Path::new(DB), &st(text), 4096).unwrap()
}

fn create_err(text: &str, block_size: u32) -> Error {
    Catalogue::from_st(Path::new(DB), &st(text), block_size).unwrap_err()
}

/// (area number, path) of every extent, in catalogue order.
fn extent_paths(cat: &Catalogue) -> Vec<(u32, String)> {
    cat.areas
        .iter()
        .flat_map(|a| {
            a.extents
                .iter()
                .map(move |e| (a.number.0, e.path.to_string_lossy().into_owned()))
        })
        .collect()
}

const EXAMPLE: &str = "\
b /db/prod.b1 f 1024
b .
d \"Schema Area\":6,64 /db/prod.d1
d \"Data\":7,64;64 /db/prod_7.d1 f 2048
d \"Data\":7,64;64 data/
a /ai/prod.a1 f 1024
a /ai/
a /ai
";

#[test]
fn from_st_builds_every_area() {
    let cat = create(EXAMPLE);
    assert_eq!(cat.control_path, PathBuf::from(DB));
    let summary: Vec<_> = cat
        .areas
        .iter()
        .map(|a| {
            (
                a.number.0,
                a.kind,
                a.name.as_str(),
                a.records_per_block,
                a.blocks_per_cluster,
                a.extents.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, AreaKind::Control, "Control Area", 32, 1, 1),
            (3, AreaKind::Bi, "Primary Recovery Area", 0, 0, 2),
            (6, AreaKind::Data, "Schema Area", 64, 1, 1),
            (7, AreaKind::Data, "Data", 64, 64, 2),
            (1000, AreaKind::Ai, "After Image Area 1", 0, 0, 1),
            (1001, AreaKind::Ai, "After Image Area 2", 0, 0, 1),
            (1002, AreaKind::Ai, "After Image Area 3", 0, 0, 1),
        ]
    );
    assert_eq!(
        extent_paths(&cat),
        vec![
            (1, "/db/prod.db".to_string()),
            (3, "/db/prod.b1".to_string()),
            (3, "/db/prod.b2".to_string()),
            (6, "/db/prod.d1".to_string()),
            (7, "/db/prod_7.d1".to_string()),
            (7, "/db/data/prod_7.d2".to_string()),
            (1000, "/ai/prod.a1".to_string()),
            (1001, "/ai/prod.a2".to_string()),
            (1002, "/ai/prod.a3".to_string()),
        ]
    );
    let control = cat.area(AreaNo(1)).unwrap();
    assert!(!control.extents[0].fixed);
    let bi = cat.bi_area();
    assert_eq!((bi.extents[0].fixed, bi.extents[0].size_kib), (true, 1024));
    assert_eq!((bi.extents[1].fixed, bi.extents[1].size_kib), (false, 0));
    assert_eq!(
        cat.data_areas().map(|a| a.number.0).collect::<Vec<_>>(),
        vec![6, 7]
    );
    let ai = cat.ai_extents();
    assert_eq!(
        ai.iter()
            .map(|r| (r.ai_number, r.area.0, r.extent.number))
            .collect::<Vec<_>>(),
        vec![(1, 1000, 1), (2, 1001, 1), (3, 1002, 1)]
    );
    assert!(ai[0].extent.fixed);
    assert!(cat.area(AreaNo(8)).is_none());
}

#[test]
fn user_areas_are_numbered_in_order_of_first_appearance() {
    let cat = create(
        "b .\n\
         d \"Beta\",16 ./b f 64\n\
         d . f 64\n\
         d \"Alpha\" .\n\
         d \"Beta\" rel/beta2.d9\n\
         d .\n",
    );
    let areas: Vec<_> = cat
        .data_areas()
        .map(|a| (a.number.0, a.name.as_str(), a.records_per_block))
        .collect();
    assert_eq!(
        areas,
        vec![(6, "Schema Area", 32), (7, "Beta", 16), (8, "Alpha", 32)]
    );
    assert_eq!(
        extent_paths(&cat)[2..],
        [
            (6, "/db/prod.d1".to_string()),
            (6, "/db/prod.d2".to_string()),
            (7, "/db/b/prod_7.d1".to_string()),
            (7, "/db/rel/beta2.d9".to_string()),
            (8, "/db/prod_8.d1".to_string()),
        ]
    );
}

#[test]
fn schema_records_per_block_defaults_by_block_size() {
    for (block_size, rpb) in [(1024, 32), (2048, 32), (4096, 32), (8192, 64)] {
        let cat = Catalogue::from_st(Path::new(DB), &st("b .\nd .\n"), block_size).unwrap();
        let schema = cat.area(AreaNo(6)).unwrap();
        assert_eq!(schema.name, "Schema Area");
        assert_eq!(schema.records_per_block, rpb, "block size {block_size}");
    }
}

#[test]
fn relative_paths_resolve_against_the_control_area_directory() {
    let cat = create("b ../bi/\nd ./x/../y/./prod.d1\na ../../../ai\n");
    assert_eq!(
        extent_paths(&cat)[1..],
        [
            (3, "/bi/prod.b1".to_string()),
            (6, "/db/y/prod.d1".to_string()),
            (1000, "/ai/prod.a1".to_string()),
        ]
    );
}

#[test]
fn numbered_areas_keep_their_numbers() {
    let cat = create("b .\nd .\nd \"Z\":20 . f 64\nd \"Y\":9 .\nd \"Z\" .\n");
    let numbers: Vec<_> = cat
        .data_areas()
        .map(|a| (a.number.0, a.extents.len()))
        .collect();
    assert_eq!(numbers, vec![(6, 1), (9, 1), (20, 2)]);
    assert_eq!(
        cat.area(AreaNo(20)).unwrap().extents[1].path,
        PathBuf::from("/db/prod_20.d2")
    );
}

/// Asserts `err` is the variant `pattern` describes.
macro_rules! assert_err {
    ($err:expr, $pattern:pat) => {{
        let err = $err;
        assert!(matches!(err, $pattern), "unexpected error: {err:?}");
    }};
}

#[test]
fn create_refuses_each_invalid_structure() {
    assert_err!(create_err("d .\n", 4096), Error::MissingBiLine);
    assert_err!(
        create_err("b .\nd \"A\" .\n", 4096),
        Error::MissingSchemaLine
    );
    assert_err!(
        create_err("b .\nd .\n", 3000),
        Error::InvalidBlockSize { block_size: 3000 }
    );
    assert_err!(
        create_err("b .\nd .\nt .\n", 4096),
        Error::TransactionLogUnsupported { line: 3 }
    );
    assert_err!(
        create_err("b . f 32\nd .\n", 1024),
        Error::BadExtentSize {
            line: 1,
            size_kib: 32,
            multiple_kib: 16
        }
    );
    assert_err!(
        create_err("b .\nd . f 96\n", 8192),
        Error::BadExtentSize {
            line: 2,
            size_kib: 96,
            multiple_kib: 128
        }
    );
    assert_err!(
        create_err("b .\nd .\na . v 100\n", 4096),
        Error::BadExtentSize {
            line: 3,
            size_kib: 100,
            multiple_kib: 64
        }
    );
    assert_err!(
        create_err("b .\nb . f 64\nd .\n", 4096),
        Error::VariableNotLast { line: 1, .. }
    );
    assert_err!(
        create_err("b .\nd \"A\" . v 128\nd .\nd \"A\" .\n", 4096),
        Error::VariableNotLast { line: 2, .. }
    );
    assert_err!(
        create_err("b .\nd \"A\",3 .\nd .\n", 4096),
        Error::RecordsPerBlock { line: 2, value: 3 }
    );
    assert_err!(
        create_err("b .\nd \"A\",512 .\nd .\n", 4096),
        Error::RecordsPerBlock {
            line: 2,
            value: 512
        }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\";16 .\n", 4096),
        Error::BlocksPerCluster { line: 3, value: 16 }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\":7 .\nd \"B\":7 .\n", 4096),
        Error::AreaNumberConflict {
            line: 4,
            number: 7,
            ..
        }
    );
    assert_err!(
        create_err("b .\nd \"Other\":6 .\n", 4096),
        Error::AreaNumberConflict {
            line: 2,
            number: 6,
            ..
        }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\":7 .\nd \"A\":8 .\n", 4096),
        Error::AreaNameConflict {
            line: 4,
            number: 8,
            existing: 7,
            ..
        }
    );
    assert_err!(
        create_err("b .\nd \"Schema Area\":7 .\n", 4096),
        Error::AreaNameConflict {
            line: 2,
            number: 7,
            existing: 6,
            ..
        }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\":7 .\nd \"B\" .\n", 4096),
        Error::AreaNumbersIncomplete { line: 4, .. }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\":1000 .\n", 4096),
        Error::AreaNumberOutOfRange {
            line: 3,
            number: 1000
        }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\":5 .\n", 4096),
        Error::AreaNumberOutOfRange { line: 3, number: 5 }
    );
    assert_err!(
        create_err("b .\nd . f 64\nd /db/prod.d1\n", 4096),
        Error::DuplicatePath { line: 3, .. }
    );
    assert_err!(
        create_err("b /db/prod.db\nd .\n", 4096),
        Error::DuplicatePath { line: 1, .. }
    );
    assert_err!(
        create_err("b \"Data\" .\nd .\n", 4096),
        Error::AreaInfoNotAllowed {
            line: 1,
            kind: 'b',
            ..
        }
    );
    assert_err!(
        create_err("b .\nd .\na \"Data\" .\n", 4096),
        Error::AreaInfoNotAllowed {
            line: 3,
            kind: 'a',
            ..
        }
    );
    assert_err!(
        create_err("b .\nd .\nd \"Control Area\" .\n", 4096),
        Error::ReservedAreaName { line: 3, .. }
    );
    assert_err!(
        create_err("b .\nd .\nd \"A\",64 .\nd \"A\",32 .\n", 4096),
        Error::AreaAttributesConflict {
            line: 4,
            existing: 64,
            given: 32,
            ..
        }
    );
    let st = st("b .\nd .\n");
    for bad in ["relative/prod.db", "/db/prod.d1", "/db/.db"] {
        assert_err!(
            Catalogue::from_st(Path::new(bad), &st, 4096).unwrap_err(),
            Error::ControlPathInvalid { .. }
        );
    }
}

#[test]
fn accepts_standard_area_info_on_bi_and_ai_lines() {
    let cat = create("b \"Primary Recovery Area\":3 .\nd .\na \"After Image Area 1\":10 .\n");
    assert_eq!(cat.bi_area().extents.len(), 1);
    assert_eq!(cat.ai_extents()[0].area, AreaNo(1000));
}

#[test]
fn add_appends_areas_extents_and_ai_extents() {
    let mut cat = create("b . f 1024\nd . f 1024\nd \"Data\" . f 1024\nd \"Data\" .\n");
    let added = cat
        .add_from_st(
            &st("a . f 1024\nd . f 2048\nd \"New\" .\nb /bi2/\na /ai2/\n"),
            4096,
        )
        .unwrap();
    assert_eq!(
        added,
        vec![
            (AreaNo(1000), 1),
            (AreaNo(6), 2),
            (AreaNo(8), 1),
            (AreaNo(3), 2),
            (AreaNo(1001), 1),
        ]
    );
    assert_eq!(
        extent_paths(&cat)[4..],
        [
            (6, "/db/prod.d2".to_string()),
            (7, "/db/prod_7.d1".to_string()),
            (7, "/db/prod_7.d2".to_string()),
            (8, "/db/prod_8.d1".to_string()),
            (1000, "/db/prod.a1".to_string()),
            (1001, "/ai2/prod.a2".to_string()),
        ]
    );
    assert_eq!(extent_paths(&cat)[2], (3, "/bi2/prod.b2".to_string()));

    // Adding data areas later keeps the AI area numbers.
    let added = cat.add_from_st(&st("d \"Late\" .\na .\n"), 4096).unwrap();
    assert_eq!(added, vec![(AreaNo(9), 1), (AreaNo(1002), 1)]);
    assert_eq!(cat.ai_extents().len(), 3);
}

#[test]
fn add_refuses_after_a_variable_extent_and_changes_nothing() {
    let mut cat = create("b . f 1024\nd . f 1024\nd \"Data\" .\n");
    let before = cat.clone();
    let err = cat
        .add_from_st(&st("a .\nd \"Data\" . f 1024\n"), 4096)
        .unwrap_err();
    match &err {
        Error::AddAfterVariable { line, area, path } => {
            assert_eq!((*line, area.as_str()), (2, "Data"));
            assert_eq!(path, Path::new("/db/prod_7.d1"));
            assert!(err.to_string().contains("must be made fixed"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cat, before);

    for (text, check) in [
        ("d \"Data\":8 .\n", "name"),
        ("d \"Other\":7 .\n", "number"),
        ("d \"X\":9 .\nd \"Y\" .\n", "incomplete"),
        ("d \"Data\",8 .\n", "attributes"),
        ("b /db/prod.b1\n", "duplicate"),
        ("t .\n", "t"),
    ] {
        let err = cat.add_from_st(&st(text), 4096).unwrap_err();
        let ok = match check {
            "name" => matches!(
                err,
                Error::AreaNameConflict {
                    number: 8,
                    existing: 7,
                    ..
                }
            ),
            "number" => matches!(err, Error::AreaNumberConflict { number: 7, .. }),
            "incomplete" => matches!(err, Error::AreaNumbersIncomplete { line: 2, .. }),
            "attributes" => matches!(err, Error::AreaAttributesConflict { .. }),
            "duplicate" => matches!(err, Error::DuplicatePath { .. }),
            _ => matches!(err, Error::TransactionLogUnsupported { line: 1 }),
        };
        assert!(ok, "{text:?}: {err:?}");
        assert_eq!(cat, before);
    }
    let added = cat.add_from_st(&st("d \"Data\":7 rel/\nd \"X\":9 .\n"), 4096);
    assert_err!(added.unwrap_err(), Error::AddAfterVariable { .. });
}

#[test]
fn auto_numbers_stop_at_999() {
    let mut cat = create("b .\nd .\nd \"Top\":999 . f 64\n");
    assert_err!(
        cat.add_from_st(&st("d \"More\" .\n"), 4096).unwrap_err(),
        Error::AreaNumberOutOfRange {
            line: 1,
            number: 1000
        }
    );
}

#[test]
fn to_st_round_trips_through_from_st() {
    let cat = create(EXAMPLE);
    let listed = cat.to_st();
    let text = listed.to_string();
    assert_eq!(
        text,
        "b /db/prod.b1 f 1024\n\
         b /db/prod.b2\n\
         d \"Schema Area\":6,64;1 /db/prod.d1\n\
         d \"Data\":7,64;64 /db/prod_7.d1 f 2048\n\
         d \"Data\":7,64;64 /db/data/prod_7.d2\n\
         a /ai/prod.a1 f 1024\n\
         a /ai/prod.a2\n\
         a /ai/prod.a3\n"
    );
    assert_eq!(StFile::parse(&text).unwrap(), listed);
    let rebuilt = Catalogue::from_st(Path::new(DB), &listed, 4096).unwrap();
    assert_eq!(rebuilt, cat);
}

#[test]
fn repair_to_dir_moves_every_file() {
    let mut cat = create(EXAMPLE);
    cat.repair_to_dir(Path::new("/copy/./here/"));
    assert_eq!(cat.control_path, PathBuf::from("/copy/here/prod.db"));
    assert!(
        extent_paths(&cat)
            .iter()
            .all(|(_, p)| p.starts_with("/copy/here/prod"))
    );
    assert_eq!(
        cat.area(AreaNo(7)).unwrap().extents[1].path,
        PathBuf::from("/copy/here/prod_7.d2")
    );
}

#[test]
fn repair_from_st_takes_paths_by_area_and_order() {
    let mut cat = create(EXAMPLE);
    cat.control_path = PathBuf::from("/new/prod.db");
    cat.areas[0].extents[0].path = cat.control_path.clone();
    cat.repair_from_st(&st("a /n/ai/ f 1024\n\
         b bi/ f 1024\n\
         d \"Data\" /n/d7a.d1 f 2048\n\
         b .\n\
         d /n/schema.d1\n\
         d \"Data\":7 .\n\
         a .\n\
         a /n/ai3.a3\n"))
        .unwrap();
    assert_eq!(
        extent_paths(&cat),
        vec![
            (1, "/new/prod.db".to_string()),
            (3, "/new/bi/prod.b1".to_string()),
            (3, "/new/prod.b2".to_string()),
            (6, "/n/schema.d1".to_string()),
            (7, "/n/d7a.d1".to_string()),
            (7, "/new/prod_7.d2".to_string()),
            (1000, "/n/ai/prod.a1".to_string()),
            (1001, "/new/prod.a2".to_string()),
            (1002, "/n/ai3.a3".to_string()),
        ]
    );
}

#[test]
fn repair_from_st_refuses_a_different_structure() {
    let cat = create(EXAMPLE);
    let listed = cat.to_st().to_string();
    let cases = [
        listed.replace("b /db/prod.b2\n", ""),
        listed.replace("a /ai/prod.a3\n", ""),
        format!("{listed}a /ai/prod.a4\n"),
        listed.replace("prod_7.d1 f 2048", "prod_7.d1 f 4096"),
        listed.replace("\"Data\":7,64;64 /db/data", "\"Data\":7,32;64 /db/data"),
        listed.replace("\"Data\":7,64;64 /db/data", "\"Other\":7 /db/data"),
        listed.replace("\"Data\":7,64;64 /db/data", "\"Other\" /db/data"),
        format!("{listed}d \"Data\":7 /db/x.d3\n"),
    ];
    for text in cases {
        let mut copy = cat.clone();
        let err = copy.repair_from_st(&st(&text)).unwrap_err();
        assert_err!(&err, Error::RepairMismatch { .. });
        assert_eq!(copy, cat, "{text}");
    }
    let mut copy = cat.clone();
    let err = copy
        .repair_from_st(&st(&listed.replace("/db/prod.b2", "/db/prod.b1")))
        .unwrap_err();
    assert_err!(err, Error::DuplicatePath { line: 2, .. });
}

#[test]
fn generated_names_follow_openedge() {
    let cases = [
        (AreaKind::Control, 1, 1, "db.db"),
        (AreaKind::Bi, 3, 2, "db.b2"),
        (AreaKind::Data, 6, 3, "db.d3"),
        (AreaKind::Data, 12, 1, "db_12.d1"),
        (AreaKind::Ai, 1004, 5, "db.a5"),
    ];
    for (kind, area, extent, name) in cases {
        assert_eq!(generated_name("db", kind, AreaNo(area), extent), name);
    }
}

#[test]
fn message_numbers_are_listed_and_unique() {
    let numbers: Vec<u32> = crate::MESSAGES.iter().map(|(n, _)| *n).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), numbers.len());
    assert!(numbers.iter().all(|n| (90200..90300).contains(n)));
    let samples = [
        create_err("d .\n", 4096),
        create_err("b .\nd .\n", 3000),
        Error::Io {
            op: "read",
            offset: 0,
            source: std::io::Error::other("x"),
        },
    ];
    for err in samples {
        assert!(numbers.contains(&err.msg_number()), "{err:?}");
        assert!(!err.to_string().contains(&err.msg_number().to_string()));
    }
}
