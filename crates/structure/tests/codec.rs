//! Encoding and decoding of the catalogue: round trip, the stored fixture, corruption,
//! size limit, and validation of checksummed but inconsistent contents.

mod common;

use std::path::PathBuf;

use common::{DB_ID, fixture, small};
use masterblock::DbId;
use structure::{CATALOGUE_SLOT_BYTES, Catalogue, Error, Extent, ParsedCatalogue, StFile};

/// The fixture catalogue encoded for `DB_ID` at generation 7 (format version 1).
const FIXTURE_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/formats/catalogue-v1.bin"
));

fn decode_validate(bytes: &[u8]) -> Result<(Catalogue, DbId, u64), Error> {
    Catalogue::decode(bytes)?.validate()
}

/// Re-encodes `parsed` after `edit` with a fresh checksum, so only `validate` can refuse it.
fn reencoded(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = fixture().encode(DB_ID, 7).unwrap();
    bytes.truncate(bytes.len() - 4);
    edit(&mut bytes);
    let payload_len = (bytes.len() - 40) as u32;
    bytes[12..16].copy_from_slice(&payload_len.to_le_bytes());
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn encode_decode_round_trips() {
    for (cat, generation) in [(fixture(), 7), (small(), 1), (small(), u64::MAX)] {
        let bytes = cat.encode(DB_ID, generation).unwrap();
        let (back, id, g) = decode_validate(&bytes).unwrap();
        assert_eq!((back, id, g), (cat.clone(), DB_ID, generation));
        // A zero-padded slot decodes the same.
        let mut padded = bytes.clone();
        padded.resize(CATALOGUE_SLOT_BYTES as usize, 0);
        assert_eq!(decode_validate(&padded).unwrap().0, cat);
    }
}

#[test]
fn encoding_matches_the_stored_fixture() {
    assert_eq!(fixture().encode(DB_ID, 7).unwrap(), FIXTURE_BYTES);
    let (cat, id, generation) = decode_validate(FIXTURE_BYTES).unwrap();
    assert_eq!((cat, id, generation), (fixture(), DB_ID, 7));
}

#[test]
fn every_flipped_bit_is_refused() {
    let bytes = small().encode(DB_ID, 3).unwrap();
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= bit;
            assert!(decode_validate(&corrupt).is_err(), "byte {i} bit {bit:#x}");
        }
    }
    let mut corrupt = bytes.clone();
    corrupt[60] ^= 0x04;
    match Catalogue::decode(&corrupt) {
        Err(Error::ChecksumMismatch {
            expected,
            actual,
            offset,
        }) => {
            let end = bytes.len() - 4;
            assert_eq!(offset, end as u64);
            assert_eq!(
                expected,
                u32::from_le_bytes(bytes[end..].try_into().unwrap())
            );
            assert_eq!(actual, crc32c::crc32c(&corrupt[..end]));
        }
        other => panic!("{other:?}"),
    }
    let mut corrupt = bytes.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x10;
    assert!(matches!(
        Catalogue::decode(&corrupt),
        Err(Error::ChecksumMismatch { .. })
    ));
}

#[test]
fn framing_errors_have_their_own_variants() {
    let bytes = small().encode(DB_ID, 1).unwrap();
    assert!(matches!(
        Catalogue::decode(&bytes[..20]),
        Err(Error::Truncated {
            needed: 44,
            available: 20
        })
    ));
    assert!(matches!(
        Catalogue::decode(&bytes[..bytes.len() - 1]),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        Catalogue::decode(&vec![0u8; 65536]),
        Err(Error::BadMagic { .. })
    ));
    let mut v2 = bytes.clone();
    v2[8] = 2;
    assert!(matches!(
        Catalogue::decode(&v2),
        Err(Error::UnsupportedVersion { version: 2 })
    ));
    let mut long = bytes.clone();
    long[12..16].copy_from_slice(&70000u32.to_le_bytes());
    assert!(matches!(
        Catalogue::decode(&long),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn oversize_catalogue_is_refused() {
    let mut cat = small();
    let mut n = 1;
    let dir = "x".repeat(200);
    while n < 400 {
        let text = format!("d \"Big\" /{dir}/{n}/ f 64\n");
        cat.add_from_st(&StFile::parse(&text).unwrap(), 4096)
            .unwrap();
        n += 1;
    }
    match cat.encode(DB_ID, 1) {
        Err(Error::TooLarge { bytes, limit }) => {
            assert!(bytes > 65536);
            assert_eq!(limit, 65536);
        }
        other => panic!("{other:?}"),
    }
}

/// A change to a parsed catalogue.
type Edit = Box<dyn Fn(&mut ParsedCatalogue)>;

#[test]
fn validate_refuses_inconsistent_contents() {
    let parsed = Catalogue::decode(&fixture().encode(DB_ID, 7).unwrap()).unwrap();
    let edits: Vec<(&str, Edit)> = vec![
        ("generation", Box::new(|p| p.generation = 0)),
        ("reserved", Box::new(|p| p.reserved = 1)),
        (
            "relative control",
            Box::new(|p| p.control_path = "db/fixture.db".into()),
        ),
        ("area order", Box::new(|p| p.areas.swap(3, 4))),
        ("kind", Box::new(|p| p.areas[1].kind = 6)),
        ("unknown kind", Box::new(|p| p.areas[3].kind = 9)),
        ("area 5", Box::new(|p| p.areas[3].number = 5)),
        (
            "schema name",
            Box::new(|p| p.areas[2].name = "Schema".into()),
        ),
        (
            "reserved name",
            Box::new(|p| p.areas[3].name = "Control Area".into()),
        ),
        (
            "duplicate name",
            Box::new(|p| p.areas[4].name = p.areas[3].name.clone()),
        ),
        ("ai gap", Box::new(|p| p.areas[6].number = 1002)),
        (
            "ai name",
            Box::new(|p| p.areas[5].name = "After Image Area 9".into()),
        ),
        ("rpb", Box::new(|p| p.areas[3].records_per_block = 3)),
        ("bpc", Box::new(|p| p.areas[3].blocks_per_cluster = 2)),
        ("bi rpb", Box::new(|p| p.areas[1].records_per_block = 32)),
        ("no extents", Box::new(|p| p.areas[4].extents.clear())),
        (
            "two ai extents",
            Box::new(|p| {
                let e = p.areas[5].extents[0].clone();
                p.areas[5].extents.push(e);
            }),
        ),
        (
            "extent number",
            Box::new(|p| p.areas[3].extents[1].number = 3),
        ),
        ("fixed flag", Box::new(|p| p.areas[3].extents[0].fixed = 2)),
        (
            "fixed zero",
            Box::new(|p| p.areas[3].extents[0].size_kib = 0),
        ),
        (
            "variable first",
            Box::new(|p| p.areas[1].extents[0].fixed = 0),
        ),
        (
            "relative path",
            Box::new(|p| p.areas[3].extents[0].path = "data/x.d1".into()),
        ),
        (
            "unnormalised path",
            Box::new(|p| p.areas[3].extents[0].path = "/data/../x.d1".into()),
        ),
        (
            "duplicate path",
            Box::new(|p| p.areas[3].extents[0].path = p.areas[2].extents[0].path.clone()),
        ),
        (
            "control extent",
            Box::new(|p| p.areas[0].extents[0].path = "/db/other.db".into()),
        ),
        (
            "control fixed",
            Box::new(|p| p.areas[0].extents[0].fixed = 1),
        ),
        (
            "no bi",
            Box::new(|p| {
                p.areas.remove(1);
            }),
        ),
        (
            "no schema",
            Box::new(|p| {
                p.areas.remove(2);
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut p = parsed.clone();
        edit(&mut p);
        match p.validate() {
            Err(e @ Error::CatalogueInvalid { .. }) => assert_eq!(e.msg_number(), 90227),
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(parsed.validate().is_ok());
}

#[test]
fn checksummed_garbage_in_the_payload_is_refused() {
    let trailing = reencoded(|b| b.push(0));
    assert!(matches!(
        decode_validate(&trailing),
        Err(Error::CatalogueInvalid { .. })
    ));
    let cut = reencoded(|b| b.truncate(b.len() - 3));
    assert!(matches!(
        decode_validate(&cut),
        Err(Error::CatalogueInvalid { .. })
    ));
    let utf8 = reencoded(|b| b[42] = 0xff);
    assert!(matches!(
        decode_validate(&utf8),
        Err(Error::CatalogueInvalid { .. })
    ));
}

#[test]
fn non_utf8_paths_cannot_be_encoded() {
    use std::os::unix::ffi::OsStrExt;
    let mut cat = small();
    cat.areas[1].extents.push(Extent {
        number: 2,
        fixed: false,
        size_kib: 0,
        path: PathBuf::from(std::ffi::OsStr::from_bytes(b"/db/\xff.b2")),
    });
    assert!(matches!(
        cat.encode(DB_ID, 1),
        Err(Error::NonUtf8Path { .. })
    ));
}
