//! Settings: names, the file's round trip, and every validation error.

use std::path::{Path, PathBuf};

use aiarchiver::{Error, Settings, archive_name, parse_dir_list, validate_interval_secs};
use masterblock::AiSeq;
use proptest::prelude::*;

fn micros(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8) -> i64 {
    jiff::civil::date(y, mo, d)
        .at(h, mi, s, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_microsecond()
}

#[test]
fn archive_names_follow_the_reference() {
    let begin = micros(2026, 11, 22, 10, 17, 32);
    assert_eq!(
        archive_name(
            Path::new("/usr1/dbs/sales.db"),
            begin,
            AiSeq(3),
            Path::new("/usr1/dbs/sales.a3")
        ),
        "usr1~dbs~sales.20261122.101732.00000003.sales.a3"
    );
    // Names of one cycle sort in sequence order.
    let mut names: Vec<String> = [12u64, 3, 100, 9]
        .iter()
        .map(|&s| archive_name(Path::new("/d/x.db"), begin, AiSeq(s), Path::new("/d/x.a1")))
        .collect();
    names.sort();
    let seqs: Vec<&str> = names.iter().map(|n| &n[20..28]).collect();
    assert_eq!(seqs, ["00000003", "00000009", "00000012", "00000100"]);
    // Another begin gives another name for the same sequence.
    let other = archive_name(
        Path::new("/d/x.db"),
        begin + 1_000_000,
        AiSeq(3),
        Path::new("/d/x.a1"),
    );
    assert_ne!(other, names[0]);
}

#[test]
fn settings_round_trip() {
    let s = Settings::new("/a,/b/c", 120, true).unwrap();
    assert_eq!(s.dirs, [PathBuf::from("/a"), PathBuf::from("/b/c")]);
    let bytes = s.encode();
    assert_eq!(&bytes[..8], b"AIMGAIFM");
    assert_eq!(Settings::decode(&bytes, Path::new("/x")).unwrap(), s);
}

#[test]
fn every_dir_list_error() {
    let n = |r: Result<Vec<PathBuf>, Error>| r.unwrap_err().msg_number();
    assert_eq!(n(parse_dir_list("")), 91205);
    let long = format!("/{}", "x".repeat(512));
    assert_eq!(n(parse_dir_list(&long)), 91206);
    assert!(parse_dir_list(&format!("/{}", "x".repeat(511))).is_ok());
    assert_eq!(n(parse_dir_list("/a b")), 91207);
    assert_eq!(n(parse_dir_list("/a,\t/b")), 91207);
    assert_eq!(n(parse_dir_list("/a,,/b")), 91208);
    assert_eq!(n(parse_dir_list("/a,")), 91208);
    assert_eq!(n(parse_dir_list("rel/dir")), 91209);
}

#[test]
fn every_interval_error() {
    for ok in [0u64, 120, 3600, 86_400] {
        assert_eq!(u64::from(validate_interval_secs(ok).unwrap()), ok);
    }
    for bad in [1u64, 119, 86_401, u64::from(u32::MAX) + 1] {
        let e = validate_interval_secs(bad).unwrap_err();
        assert_eq!(e.msg_number(), 91210, "{bad}");
        assert!(!e.to_string().contains("91210"));
    }
}

#[test]
fn every_file_error() {
    let path = Path::new("/db/t.aifm");
    let good = Settings::new("/a", 0, false).unwrap().encode();
    let n = |bytes: &[u8]| Settings::decode(bytes, path).unwrap_err().msg_number();
    // Magic.
    let mut b = good.clone();
    b[0] = b'X';
    assert_eq!(n(&b), 91201);
    assert_eq!(n(b"AIMG"), 91201);
    // Version.
    let mut b = good.clone();
    b[8] = 2;
    assert_eq!(n(&b), 91202);
    // Checksum.
    let mut b = good.clone();
    let last = b.len() - 5;
    b[last] ^= 1;
    assert_eq!(n(&b), 91203);
    // Truncated and too long.
    assert_eq!(n(&good[..good.len() - 1]), 91204);
    assert_eq!(n(&good[..12]), 91204);
    let mut b = good.clone();
    b.push(0);
    assert_eq!(n(&b), 91204);
    // Fields that verify but are out of range: resealed.
    let reseal = |mut b: Vec<u8>| {
        let end = b.len() - 4;
        let crc = crc32c::crc32c(&b[..end]);
        b[end..].copy_from_slice(&crc.to_le_bytes());
        b
    };
    let mut b = good.clone();
    b[10] = 2; // unknown flag
    assert_eq!(n(&reseal(b)), 91204);
    let mut b = good.clone();
    b[18] = 1; // reserved
    assert_eq!(n(&reseal(b)), 91204);
    let mut b = good.clone();
    b[12] = 5; // interval 5 s
    assert_eq!(n(&reseal(b)), 91210);
    let mut b = good.clone();
    b[20] = b'a'; // relative directory
    assert_eq!(n(&reseal(b)), 91209);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_valid_settings_round_trip(
        dirs in prop::collection::vec("/[a-zA-Z0-9_.~/-]{0,40}", 1..8),
        interval in prop_oneof![Just(0u64), 120u64..=86_400],
        create in any::<bool>(),
    ) {
        let list = dirs.join(",");
        prop_assume!(list.len() <= 512);
        let s = Settings::new(&list, interval, create).unwrap();
        prop_assert_eq!(s.dir_list(), list);
        prop_assert_eq!(Settings::decode(&s.encode(), Path::new("/x")).unwrap(), s);
    }

    #[test]
    fn damaged_files_never_decode_wrongly(flip in 0usize..64, bit in 0u8..8) {
        let s = Settings::new("/a,/bb", 600, true).unwrap();
        let mut b = s.encode();
        let at = flip % b.len();
        b[at] ^= 1 << bit;
        prop_assert!(Settings::decode(&b, Path::new("/x")).is_err());
    }
}
