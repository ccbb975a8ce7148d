//! Master block record: round trip, every validation failure, checksum, and the v1 fixture.

mod common;

use common::{reseal, sample_mb};
use masterblock::{
    AiSeq, DbId, DbState, Error, MB_RECORD_LEN, MasterBlock, MbFlags, NoteSeq, OpenStamp, TxnId,
};
use proptest::prelude::*;

fn decode_validate(bytes: &[u8]) -> Result<MasterBlock, Error> {
    MasterBlock::decode(bytes)?.validate()
}

/// The sample's record with `edit` applied and the checksum recomputed.
fn edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = sample_mb().encode().to_vec();
    edit(&mut bytes);
    reseal(bytes, 508)
}

#[test]
fn new_has_documented_defaults() {
    let id = DbId([9; 16]);
    let mb = MasterBlock::new(id, 8192, 123);
    assert_eq!(mb.generation, 0);
    assert_eq!(mb.state, DbState::Clean);
    assert_eq!(mb.next_note_seq, NoteSeq(1));
    assert_eq!(mb.next_txn_id, TxnId(1));
    assert_eq!(mb.created_time, 123);
    assert!(!mb.ai_enabled);
    assert_eq!(mb.ai_busy_extent, 0);
    // Generation 0 is never valid on disk.
    assert!(matches!(
        decode_validate(&mb.encode()),
        Err(Error::InvalidField {
            field: "generation",
            value: 0
        })
    ));
    let written = MasterBlock {
        generation: 1,
        ..mb
    };
    assert_eq!(decode_validate(&written.encode()).unwrap(), written);
}

#[test]
fn layout_matches_the_format_doc() {
    let bytes = sample_mb().encode();
    assert_eq!(&bytes[0..8], b"AIMGMSTR");
    assert_eq!(&bytes[8..10], &1u16.to_le_bytes());
    assert_eq!(&bytes[10..12], &512u16.to_le_bytes());
    assert_eq!(&bytes[12..16], &4096u32.to_le_bytes());
    assert_eq!(&bytes[16..24], &7u64.to_le_bytes());
    assert_eq!(&bytes[24..40], b"0123456789abcdef");
    assert_eq!(bytes[40], 3);
    assert_eq!(bytes[41], 1);
    assert_eq!(&bytes[42..44], &0b0101u16.to_le_bytes());
    assert_eq!(&bytes[44..48], &2u32.to_le_bytes());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let expected: [(usize, u64); 17] = [
        (48, 11),
        (56, 12),
        (64, 13),
        (72, 1_700_000_000_000_014),
        (80, 1_700_000_000_000_015),
        (88, 16),
        (96, 1_700_000_000_000_017),
        (104, 1_700_000_000_000_018),
        (112, 19),
        (120, 0x2020_2020_2020_2020),
        (128, 1_700_000_000_000_021),
        (136, 22),
        (144, 23),
        (152, 1_700_000_000_000_024),
        (160, 1_700_000_000_000_025),
        (168, (-26i64) as u64),
        (176, 27),
    ];
    for (at, value) in expected {
        assert_eq!(u64_at(at), value, "field at {at}");
    }
    assert!(bytes[184..508].iter().all(|&b| b == 0));
    assert_eq!(
        &bytes[508..512],
        &crc32c::crc32c(&bytes[..508]).to_le_bytes()
    );
}

fn any_state() -> impl Strategy<Value = DbState> {
    prop_oneof![
        Just(DbState::Clean),
        Just(DbState::Open),
        Just(DbState::RollForwardInProgress),
        Just(DbState::RolledForwardInFlight),
        Just(DbState::Restoring),
    ]
}

#[test]
fn state_codes_round_trip() {
    for (state, code) in [
        (DbState::Clean, 0),
        (DbState::Open, 1),
        (DbState::RollForwardInProgress, 2),
        (DbState::RolledForwardInFlight, 3),
        (DbState::Restoring, 4),
    ] {
        assert_eq!(state.code(), code);
        assert_eq!(DbState::from_code(code), Some(state));
    }
    assert_eq!(DbState::from_code(5), None);
}

prop_compose! {
    fn any_mb()(
        block_size in prop_oneof![Just(1024u32), Just(2048), Just(4096), Just(8192)],
        generation in 1..u64::MAX,
        db_id in any::<[u8; 16]>(),
        state in any_state(),
        busy in any::<u32>(),
        flags in 0u16..16,
        seqs in any::<[u64; 13]>(),
        times in any::<[i64; 9]>(),
    ) -> MasterBlock {
        MasterBlock {
            block_size,
            generation,
            db_id: DbId(db_id),
            state,
            ai_enabled: busy != 0,
            flags: MbFlags::from_bits(flags).unwrap(),
            ai_busy_extent: busy,
            ai_seq_current: AiSeq(seqs[0]),
            ai_seq_expected: AiSeq(seqs[1]),
            rf_note_seq: NoteSeq(seqs[2]),
            ai_begin_time: times[0],
            ai_switch_time: times[1],
            backup_counter: seqs[3],
            full_backup_time: times[2],
            incr_backup_time: times[3],
            note_seq_at_backup: NoteSeq(seqs[4]),
            open_stamp: OpenStamp(seqs[5]),
            open_time: times[4],
            next_note_seq: NoteSeq(seqs[6]),
            next_txn_id: TxnId(seqs[7]),
            created_time: times[5],
            last_open_time: times[6],
            rf_stop_time: times[7],
            rf_stop_txn: seqs[8],
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encode_decode_round_trip(mb in any_mb()) {
        let bytes = mb.encode();
        prop_assert_eq!(decode_validate(&bytes).unwrap(), mb);
        // Trailing bytes after the record (the rest of the slot) are ignored.
        let mut slot = bytes.to_vec();
        slot.resize(4096, 0);
        prop_assert_eq!(decode_validate(&slot).unwrap(), mb);
    }

    #[test]
    fn any_single_bit_flip_is_detected(mb in any_mb(), bit in 0usize..512 * 8) {
        let mut bytes = mb.encode();
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(decode_validate(&bytes).is_err());
    }
}

#[test]
fn checksum_flip_is_reported_with_both_values() {
    let mut bytes = sample_mb().encode();
    bytes[300] ^= 0x10;
    let stored = u32::from_le_bytes(bytes[508..512].try_into().unwrap());
    let actual = crc32c::crc32c(&bytes[..508]);
    match decode_validate(&bytes) {
        Err(e @ Error::ChecksumMismatch { .. }) => {
            assert_eq!(e.msg_number(), 90103);
            let Error::ChecksumMismatch {
                expected,
                actual: got,
                offset,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!((expected, got, offset), (stored, actual, 0));
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    let mut bytes = sample_mb().encode();
    bytes[509] ^= 1;
    assert!(matches!(
        decode_validate(&bytes),
        Err(Error::ChecksumMismatch { .. })
    ));
}

#[test]
fn short_input_is_truncated() {
    let bytes = sample_mb().encode();
    let err = MasterBlock::decode(&bytes[..511]).unwrap_err();
    assert!(matches!(
        err,
        Error::Truncated {
            needed: 512,
            found: 511,
            ..
        }
    ));
}

#[test]
fn all_zero_record_was_never_written() {
    let err = MasterBlock::decode_at(&[0u8; 512], 4096)
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(matches!(err, Error::NeverWritten { offset: 4096, .. }));
}

#[test]
fn wrong_magic_is_refused_before_the_checksum() {
    let mut bytes = sample_mb().encode();
    bytes[0..8].copy_from_slice(b"AIMGEXTN");
    match decode_validate(&bytes) {
        Err(Error::BadMagic { found, offset, .. }) => {
            assert_eq!(&found, b"AIMGEXTN");
            assert_eq!(offset, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_version_is_refused() {
    let bytes = edited(|b| b[8..10].copy_from_slice(&2u16.to_le_bytes()));
    assert!(matches!(
        decode_validate(&bytes),
        Err(Error::UnsupportedVersion {
            found: 2,
            supported: 1,
            ..
        })
    ));
}

/// Every field-range check, each on an otherwise valid, correctly checksummed record.
#[test]
fn every_field_check_fails_on_its_own() {
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, u64, Edit)> = vec![
        (
            "record_len",
            511,
            Box::new(|b| b[10..12].copy_from_slice(&511u16.to_le_bytes())),
        ),
        (
            "block_size",
            512,
            Box::new(|b| b[12..16].copy_from_slice(&512u32.to_le_bytes())),
        ),
        (
            "block_size",
            16384,
            Box::new(|b| b[12..16].copy_from_slice(&16384u32.to_le_bytes())),
        ),
        ("generation", 0, Box::new(|b| b[16..24].fill(0))),
        ("db_state", 5, Box::new(|b| b[40] = 5)),
        ("ai_enabled", 2, Box::new(|b| b[41] = 2)),
        (
            "flags",
            0x10,
            Box::new(|b| b[42..44].copy_from_slice(&0x10u16.to_le_bytes())),
        ),
    ];
    for (field, value, edit) in cases {
        let bytes = edited(|b| edit(b));
        match decode_validate(&bytes) {
            Err(e @ Error::InvalidField { .. }) => {
                assert_eq!(e.msg_number(), 90104);
                let Error::InvalidField { field: f, value: v } = e else {
                    unreachable!()
                };
                assert_eq!((f, v), (field, value));
            }
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn busy_extent_iff_ai_enabled() {
    let off_with_busy = edited(|b| b[41] = 0);
    assert!(matches!(
        decode_validate(&off_with_busy),
        Err(Error::AiBusyExtentMismatch {
            ai_enabled: false,
            ai_busy_extent: 2
        })
    ));
    let on_without_busy = edited(|b| b[44..48].fill(0));
    assert!(matches!(
        decode_validate(&on_without_busy),
        Err(Error::AiBusyExtentMismatch {
            ai_enabled: true,
            ai_busy_extent: 0
        })
    ));
    let off = edited(|b| {
        b[41] = 0;
        b[44..48].fill(0);
    });
    let mb = decode_validate(&off).unwrap();
    assert!(!mb.ai_enabled);
}

#[test]
fn expected_sequence_may_run_ahead_of_current() {
    let mut mb = sample_mb();
    mb.ai_seq_current = AiSeq(1);
    mb.ai_seq_expected = AiSeq(40);
    assert_eq!(decode_validate(&mb.encode()).unwrap(), mb);
}

#[test]
fn reserved_bytes_are_ignored_by_readers() {
    let bytes = edited(|b| b[200] = 0xAB);
    assert_eq!(decode_validate(&bytes).unwrap(), sample_mb());
}

/// CRC-32C of the fixture record's bytes 0..508 (its stored checksum): changes only if the v1
/// layout or encoding changes. (The CRC of a whole record, checksum included, is the constant
/// CRC-32C residue and would prove nothing.)
const FIXTURE_CRC: u32 = 0x9f29_a563;

#[test]
fn version_1_fixture_is_stable() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/formats/masterblock-v1.bin"
    );
    let encoded = sample_mb().encode();
    if std::env::var_os("AFTERIMAGE_BLESS").is_some() {
        std::fs::write(path, encoded).unwrap();
    }
    let fixture = std::fs::read(path).unwrap();
    assert_eq!(fixture.len(), MB_RECORD_LEN);
    assert_eq!(crc32c::crc32c(&fixture[..508]), FIXTURE_CRC);
    assert_eq!(&fixture[508..], &FIXTURE_CRC.to_le_bytes());
    assert_eq!(fixture, encoded, "encoding of version 1 changed");
    assert_eq!(decode_validate(&fixture).unwrap(), sample_mb());
}
