//! Grammar tests: every line form, comments, quoting, directories, errors with exact
//! positions, and the Display round trip as a property.

use proptest::prelude::*;

use super::*;
use crate::Error;

/// A line with only kind, path and size set.
fn plain(kind: LineKind, path: &str, size: ExtentSize, line: usize) -> StLine {
    StLine {
        kind,
        area_name: None,
        area_number: None,
        records_per_block: None,
        blocks_per_cluster: None,
        path: path.to_string(),
        size,
        line,
    }
}

/// The (line, column, message) of a parse error, panicking on anything else.
fn parse_error(text: &str) -> (usize, usize, String) {
    match StFile::parse(text) {
        Err(Error::Parse {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn parses_the_reference_example() {
    let text = "\
b /db/prod.b1 f 1048576
b /db/prod.b2
d \"Schema Area\":6,64 /db/prod.d1
d \"Data\":7,64;64 /db/prod_7.d1 f 2097024
d \"Data\":7,64;64 /db/prod_7.d2
a /ai/prod.a1 f 102400
a /ai/prod.a2 v 102400
a /ai/prod.a3
";
    let st = StFile::parse(text).unwrap();
    assert_eq!(st.lines.len(), 8);
    assert_eq!(
        st.lines[0],
        plain(
            LineKind::Bi,
            "/db/prod.b1",
            ExtentSize::Fixed { kib: 1048576 },
            1
        )
    );
    assert_eq!(
        st.lines[1],
        plain(LineKind::Bi, "/db/prod.b2", ExtentSize::Variable, 2)
    );
    assert_eq!(
        st.lines[2],
        StLine {
            kind: LineKind::Data,
            area_name: Some("Schema Area".into()),
            area_number: Some(6),
            records_per_block: Some(64),
            blocks_per_cluster: None,
            path: "/db/prod.d1".into(),
            size: ExtentSize::Variable,
            line: 3,
        }
    );
    assert_eq!(
        st.lines[3],
        StLine {
            kind: LineKind::Data,
            area_name: Some("Data".into()),
            area_number: Some(7),
            records_per_block: Some(64),
            blocks_per_cluster: Some(64),
            path: "/db/prod_7.d1".into(),
            size: ExtentSize::Fixed { kib: 2097024 },
            line: 4,
        }
    );
    assert_eq!(st.lines[6].size, ExtentSize::VariableMax { kib: 102400 });
    assert_eq!(
        st.lines[7],
        plain(LineKind::Ai, "/ai/prod.a3", ExtentSize::Variable, 8)
    );
}

#[test]
fn skips_comments_and_blank_lines_keeping_line_numbers() {
    let text =
        "# comment\n\n   : colon comment\n\t* star comment\n   \nb . f 1024\r\n  d  ./x.d1  \n";
    let st = StFile::parse(text).unwrap();
    assert_eq!(
        st.lines,
        vec![
            plain(LineKind::Bi, ".", ExtentSize::Fixed { kib: 1024 }, 6),
            plain(LineKind::Data, "./x.d1", ExtentSize::Variable, 7),
        ]
    );
}

#[test]
fn parses_area_information_forms() {
    let st = StFile::parse(
        "d \"My Big Area\":12,128;512 /db/x_12.d1\n\
         d \"Rpb Only\",16 /db/y.d1\n\
         d \"Cluster Only\";8 /db/z.d1\n\
         d \"Name Only\" /db/w.d1 v 4096\n\
         D \"Upper\" \"/my dir/w.d1\" F 64\n",
    )
    .unwrap();
    let info: Vec<_> = st
        .lines
        .iter()
        .map(|l| {
            (
                l.area_name.clone().unwrap(),
                l.area_number,
                l.records_per_block,
                l.blocks_per_cluster,
            )
        })
        .collect();
    assert_eq!(
        info,
        vec![
            ("My Big Area".to_string(), Some(12), Some(128), Some(512)),
            ("Rpb Only".to_string(), None, Some(16), None),
            ("Cluster Only".to_string(), None, None, Some(8)),
            ("Name Only".to_string(), None, None, None),
            ("Upper".to_string(), None, None, None),
        ]
    );
    assert_eq!(st.lines[3].size, ExtentSize::VariableMax { kib: 4096 });
    assert_eq!(st.lines[4].path, "/my dir/w.d1");
    assert_eq!(st.lines[4].size, ExtentSize::Fixed { kib: 64 });
}

#[test]
fn parses_quoted_paths_and_directories() {
    let st = StFile::parse(
        "b \"/vol 1/db.b1\" f 2048\n\
         b \"/vol 2/\"\n\
         a /vol3/ai/\n\
         a /vol3/ai f 1024\n\
         a .\n\
         t /tl/db.t1\n",
    )
    .unwrap();
    let got: Vec<_> = st
        .lines
        .iter()
        .map(|l| (l.kind, l.area_name.is_none(), l.path.as_str(), l.size))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                LineKind::Bi,
                true,
                "/vol 1/db.b1",
                ExtentSize::Fixed { kib: 2048 }
            ),
            (LineKind::Bi, true, "/vol 2/", ExtentSize::Variable),
            (LineKind::Ai, true, "/vol3/ai/", ExtentSize::Variable),
            (
                LineKind::Ai,
                true,
                "/vol3/ai",
                ExtentSize::Fixed { kib: 1024 }
            ),
            (LineKind::Ai, true, ".", ExtentSize::Variable),
            (
                LineKind::TransactionLog,
                true,
                "/tl/db.t1",
                ExtentSize::Variable
            ),
        ]
    );
}

#[test]
fn a_path_may_look_like_a_size_type() {
    let st = StFile::parse("b f\nb f f 1024\nd \"A\" v\n").unwrap();
    assert_eq!(st.lines[0].path, "f");
    assert_eq!(st.lines[0].size, ExtentSize::Variable);
    assert_eq!(st.lines[1].path, "f");
    assert_eq!(st.lines[1].size, ExtentSize::Fixed { kib: 1024 });
    assert_eq!(st.lines[2].area_name.as_deref(), Some("A"));
    assert_eq!(st.lines[2].path, "v");
}

#[test]
fn errors_point_at_the_offending_token() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("b /db/x.b1\nq /db/x.d1\n", 2, 1, "unknown line type `q`"),
        ("  \"b\" /x\n", 1, 3, "unknown line type"),
        ("d \"Schema Area /db/x.d1\n", 1, 3, "unterminated"),
        ("d \"A\":x /p\n", 1, 7, "expected an area number after `:`"),
        ("d \"A\":7, /p\n", 1, 9, "expected records per block"),
        ("d \"A\";/p /q\n", 1, 7, "expected blocks per cluster"),
        ("d \"A\":7x /p\n", 1, 8, "unexpected `x`"),
        ("d \"A\";8,4 /p\n", 1, 8, "in that order"),
        ("d \"A\":99999999999 /p\n", 1, 7, "too large"),
        ("d \"\" /p\n", 1, 3, "empty area name"),
        (
            "d \"A\":7\n",
            1,
            8,
            "missing path after the area information",
        ),
        ("b\n", 1, 2, "missing path"),
        ("b f 1024\n", 1, 3, "missing path"),
        ("b /p f\n", 1, 6, "missing size in KiB after `f`"),
        ("b /p f abc\n", 1, 8, "expected a size in KiB after `f`"),
        ("b /p f 99999999999999999999\n", 1, 8, "too large"),
        (
            "d \"A\":7 /p extra\n",
            1,
            12,
            "unexpected `extra` after the path",
        ),
        ("b \"\"\n", 1, 3, "empty path"),
        ("d \"A\" \"/p\"x\n", 1, 11, "after the closing quote"),
        ("# ok\n\nd \"Área\":7 /p junk\n", 3, 15, "unexpected `junk`"),
    ];
    for &(text, line, column, fragment) in cases {
        let (l, c, message) = parse_error(text);
        assert_eq!((l, c), (line, column), "{text:?}: {message}");
        assert!(
            message.contains(fragment),
            "{text:?}: {message:?} lacks {fragment:?}"
        );
    }
}

#[test]
fn unsupported_extent_types_have_their_own_error() {
    for (text, found) in [("b /p e 1024\n", "e"), ("\nd \"A\" /p xv 64\n", "xv")] {
        match StFile::parse(text) {
            Err(Error::UnsupportedExtentType {
                line,
                column,
                found: f,
            }) => {
                assert_eq!(f, found);
                assert_eq!(line, text.lines().position(|l| !l.is_empty()).unwrap() + 1);
                assert_eq!(
                    column,
                    text.lines().nth(line - 1).unwrap().find(found).unwrap() + 1
                );
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn display_prints_the_documented_forms() {
    let st =
        StFile::parse("b /db/x.b1 f 1024\nd \"My Area\":7,64;8 \"/a b/x_7.d1\" v 2048\na /ai\n")
            .unwrap();
    assert_eq!(
        st.to_string(),
        "b /db/x.b1 f 1024\nd \"My Area\":7,64;8 \"/a b/x_7.d1\" v 2048\na /ai\n"
    );
}

/// Strategy for area names and paths that the grammar can express.
fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9 _:,;./#*-]{1,16}",
        1 => prop_oneof![Just("f"), Just("v"), Just("e"), Just("xv"), Just("12"), Just(" ")]
            .prop_map(str::to_string),
    ]
}

fn line_strategy() -> impl Strategy<Value = StLine> {
    let kind = prop_oneof![
        Just(LineKind::Ai),
        Just(LineKind::Bi),
        Just(LineKind::Data),
        Just(LineKind::TransactionLog)
    ];
    let size = prop_oneof![
        Just(ExtentSize::Variable),
        any::<u64>().prop_map(|kib| ExtentSize::VariableMax { kib }),
        any::<u64>().prop_map(|kib| ExtentSize::Fixed { kib }),
    ];
    let area = proptest::option::of((
        text_strategy(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
    ));
    (kind, area, text_strategy(), size).prop_map(|(kind, area, path, size)| {
        let (area_name, area_number, records_per_block, blocks_per_cluster) = match area {
            Some((name, n, r, b)) => (Some(name), n, r, b),
            None => (None, None, None, None),
        };
        StLine {
            kind,
            area_name,
            area_number,
            records_per_block,
            blocks_per_cluster,
            path,
            size,
            line: 0,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn display_round_trips(lines in proptest::collection::vec(line_strategy(), 0..12)) {
        let st = StFile { lines };
        let text = st.to_string();
        let mut back = StFile::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        for (i, line) in back.lines.iter_mut().enumerate() {
            prop_assert_eq!(line.line, i + 1);
            line.line = 0;
        }
        prop_assert_eq!(back, st);
    }
}
