//! Extent header prefix: layout, round trip, every validation failure, identity check, fixture.

mod common;

use common::{reseal, sample_extent};
use masterblock::{AreaNo, DbId, Error, ExtentHeader, ExtentKind};
use proptest::prelude::*;

fn decode_validate(bytes: &[u8]) -> Result<ExtentHeader, Error> {
    ExtentHeader::decode(bytes)?.validate()
}

fn edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = sample_extent().encode().to_vec();
    edit(&mut bytes);
    reseal(bytes, 60)
}

#[test]
fn layout_matches_the_format_doc() {
    let bytes = sample_extent().encode();
    assert_eq!(bytes.len(), ExtentHeader::ENCODED_LEN);
    assert_eq!(&bytes[0..8], b"AIMGEXTN");
    assert_eq!(&bytes[8..10], &1u16.to_le_bytes());
    assert_eq!(bytes[10], 6);
    assert_eq!(bytes[11], 1);
    assert_eq!(&bytes[12..16], &8192u32.to_le_bytes());
    assert_eq!(&bytes[16..32], b"0123456789abcdef");
    assert_eq!(&bytes[32..36], &7u32.to_le_bytes());
    assert_eq!(&bytes[36..40], &3u32.to_le_bytes());
    assert_eq!(&bytes[40..48], &1024u64.to_le_bytes());
    assert_eq!(&bytes[48..56], &1_700_000_000_000_001i64.to_le_bytes());
    assert_eq!(&bytes[56..60], &[0; 4]);
    assert_eq!(&bytes[60..64], &crc32c::crc32c(&bytes[..60]).to_le_bytes());
    assert_eq!(sample_extent().size_bytes(), 1024 * 1024);
}

fn any_header() -> impl Strategy<Value = ExtentHeader> {
    (
        prop_oneof![
            Just(ExtentKind::Bi),
            Just(ExtentKind::Data),
            Just(ExtentKind::Ai)
        ],
        prop_oneof![Just(1024u32), Just(2048), Just(4096), Just(8192)],
        any::<[u8; 16]>(),
        7u32..,
        1u32..,
        proptest::option::of(1..=u64::MAX / 1024),
        any::<i64>(),
    )
        .prop_map(
            |(kind, block_size, id, area, extent_number, size, created_time)| ExtentHeader {
                kind,
                fixed: size.is_some(),
                block_size,
                db_id: DbId(id),
                area: match kind {
                    ExtentKind::Bi => AreaNo(3),
                    ExtentKind::Data => AreaNo(6 + area % 994),
                    ExtentKind::Ai => AreaNo(1000 + area % 1_000_000),
                },
                extent_number,
                size_kib: size.unwrap_or(0),
                created_time,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encode_decode_round_trip(header in any_header()) {
        let mut block = header.encode().to_vec();
        block.resize(4096, 0);
        prop_assert_eq!(decode_validate(&block).unwrap(), header);
    }

    #[test]
    fn any_single_bit_flip_is_detected(header in any_header(), bit in 0usize..64 * 8) {
        let mut bytes = header.encode();
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(decode_validate(&bytes).is_err());
    }
}

#[test]
fn framing_failures() {
    assert!(matches!(
        ExtentHeader::decode(&[0u8; 63]),
        Err(Error::Truncated {
            needed: 64,
            found: 63,
            ..
        })
    ));
    assert!(matches!(
        ExtentHeader::decode_at(&[0u8; 64], 8192)
            .unwrap()
            .validate(),
        Err(Error::NeverWritten { offset: 8192, .. })
    ));
    let mut bytes = sample_extent().encode();
    bytes[0..8].copy_from_slice(b"AIMGMSTR");
    assert!(matches!(
        decode_validate(&bytes),
        Err(Error::BadMagic { .. })
    ));
    let bytes = edited(|b| b[8..10].copy_from_slice(&9u16.to_le_bytes()));
    assert!(matches!(
        decode_validate(&bytes),
        Err(Error::UnsupportedVersion {
            found: 9,
            supported: 1,
            ..
        })
    ));
    let mut bytes = sample_extent().encode();
    bytes[40] ^= 1;
    assert!(matches!(
        decode_validate(&bytes),
        Err(Error::ChecksumMismatch { .. })
    ));
}

#[test]
fn every_field_check_fails_on_its_own() {
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, u64, Edit)> = vec![
        ("extent_kind", 5, Box::new(|b| b[10] = 5)),
        ("fixed", 2, Box::new(|b| b[11] = 2)),
        (
            "block_size",
            3000,
            Box::new(|b| b[12..16].copy_from_slice(&3000u32.to_le_bytes())),
        ),
        // A BI extent lives only in area 3.
        ("area_number", 7, Box::new(|b| b[10] = 3)),
        (
            "area_number",
            5,
            Box::new(|b| b[32..36].copy_from_slice(&5u32.to_le_bytes())),
        ),
        (
            "area_number",
            6,
            Box::new(|b| {
                b[10] = 7;
                b[32..36].copy_from_slice(&6u32.to_le_bytes());
            }),
        ),
        ("extent_number", 0, Box::new(|b| b[36..40].fill(0))),
        ("size_kib", 0, Box::new(|b| b[40..48].fill(0))),
        ("size_kib", 1024, Box::new(|b| b[11] = 0)),
        ("size_kib", u64::MAX, Box::new(|b| b[40..48].fill(0xFF))),
    ];
    for (field, value, edit) in cases {
        let bytes = edited(|b| edit(b));
        match decode_validate(&bytes) {
            Err(Error::InvalidField { field: f, value: v }) => assert_eq!((f, v), (field, value)),
            other => panic!("{field}: {other:?}"),
        }
    }
    // The reserved word is not checked (room for later use), only checksummed.
    let bytes = edited(|b| b[56] = 1);
    assert_eq!(decode_validate(&bytes).unwrap(), sample_extent());
}

#[test]
fn identity_check_refuses_other_database_area_or_extent() {
    let h = sample_extent();
    h.check_identity(h.db_id, AreaNo(7), 3).unwrap();
    let err = h.check_identity(DbId([1; 16]), AreaNo(7), 3).unwrap_err();
    assert!(matches!(err, Error::ForeignExtent { .. }));
    assert_eq!(err.msg_number(), 90109);
    let err = h.check_identity(h.db_id, AreaNo(8), 3).unwrap_err();
    assert!(matches!(
        err,
        Error::ExtentMismatch {
            found_area: AreaNo(7),
            ..
        }
    ));
    let err = h.check_identity(h.db_id, AreaNo(7), 4).unwrap_err();
    assert!(matches!(
        err,
        Error::ExtentMismatch {
            found_extent: 3,
            ..
        }
    ));
    assert_eq!(err.msg_number(), 90110);
}

/// Stored checksum of the fixture header: changes only if the v1 layout or encoding changes.
const FIXTURE_CRC: u32 = 0xb7f0_794b;

#[test]
fn version_1_fixture_is_stable() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/formats/extent-header-v1.bin"
    );
    let encoded = sample_extent().encode();
    if std::env::var_os("AFTERIMAGE_BLESS").is_some() {
        std::fs::write(path, encoded).unwrap();
    }
    let fixture = std::fs::read(path).unwrap();
    assert_eq!(fixture.len(), ExtentHeader::ENCODED_LEN);
    assert_eq!(crc32c::crc32c(&fixture[..60]), FIXTURE_CRC);
    assert_eq!(&fixture[60..], &FIXTURE_CRC.to_le_bytes());
    assert_eq!(fixture, encoded, "encoding of version 1 changed");
    assert_eq!(decode_validate(&fixture).unwrap(), sample_extent());
}
