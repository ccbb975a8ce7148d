//! Unit tests of the endtime format and the `-ailist` parser.

use std::path::{Path, PathBuf};

use crate::{format_local_time, parse_ai_list, parse_endtime};

#[test]
fn endtime_round_trips_through_local_time() {
    let t = parse_endtime("2024:03:05:17:10:00").unwrap();
    assert!(format_local_time(t).starts_with("2024/03/05 17:10:00"));
    let next = parse_endtime("2024:03:05:17:10:01").unwrap();
    assert_eq!(next - t, 1_000_000);
}

#[test]
fn endtime_refuses_bad_text() {
    for text in [
        "2024:03:05:17:10",
        "2024:13:05:17:10:00",
        "2024:03:05:25:10:00",
        "x:03:05:17:10:00",
        "2024:03:05:17:10:-1",
        "",
    ] {
        let e = parse_endtime(text).unwrap_err();
        assert_eq!(e.msg_number(), 91008, "{text}");
    }
}

#[test]
fn comments_and_blanks_are_skipped() {
    let text = "# archive of monday\n: old style\n* star\n\n  /arch/db.a1  \nrel.a2\n";
    assert_eq!(
        parse_ai_list(text, Some(Path::new("/lists"))),
        vec![PathBuf::from("/arch/db.a1"), PathBuf::from("/lists/rel.a2")]
    );
}

#[test]
fn a_file_line_gives_its_time_and_the_time_its_notes_took() {
    let line = crate::FileSummary {
        path: PathBuf::from("/ai/db.a1"),
        ai_seq: masterblock::AiSeq(3),
        closed: true,
        notes_read: 10,
        notes_applied: 9,
        elapsed: std::time::Duration::from_millis(1250),
        applying: std::time::Duration::from_millis(1000),
        ..crate::FileSummary::default()
    }
    .to_string();
    assert_eq!(
        line,
        "After-image file /ai/db.a1 (number 3, full): 10 notes read, 9 applied, 0 skipped \
         (already in the database), 0 transactions committed, 0 rolled back, in 1.250 s \
         (notes applied in 1.000 s)"
    );
}
