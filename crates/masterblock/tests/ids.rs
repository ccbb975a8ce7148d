//! Newtypes, identity generation, time, and the message table.

use std::collections::BTreeSet;

use masterblock::{
    AiSeq, AreaNo, BlockNo, DbId, MESSAGES, NoteSeq, OpenStamp, TxnId, UpdateCounter, now_micros,
    random_u64, valid_block_size,
};

#[test]
fn db_id_displays_as_32_lowercase_hex_and_parses_back() {
    let id = DbId([
        0x00, 0x01, 0xAB, 0xCD, 0xEF, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0,
        0xFF,
    ]);
    let text = id.to_string();
    assert_eq!(text, "0001abcdef102030405060708090a0ff");
    assert_eq!(DbId::from_hex(&text), Some(id));
    assert_eq!(DbId::from_hex(&text.to_uppercase()), Some(id));
    assert_eq!(DbId::from_hex("00"), None);
    assert_eq!(DbId::from_hex(&"zz".repeat(16)), None);
    assert_eq!(DbId::from_hex(&"+1".repeat(16)), None);
}

#[test]
fn generated_ids_differ() {
    let ids: BTreeSet<DbId> = (0..100).map(|_| DbId::generate()).collect();
    assert_eq!(ids.len(), 100);
    assert!(!ids.contains(&DbId::default()));
    let values: BTreeSet<u64> = (0..100).map(|_| random_u64()).collect();
    assert_eq!(values.len(), 100);
}

#[test]
fn newtypes_display_their_number_and_advance() {
    assert_eq!(AreaNo(7).to_string(), "7");
    assert_eq!(BlockNo(8).to_string(), "8");
    assert_eq!(UpdateCounter(9).next(), UpdateCounter(10));
    assert_eq!(NoteSeq(1).next().to_string(), "2");
    assert_eq!(TxnId(4).next(), TxnId(5));
    assert_eq!(AiSeq(0).next(), AiSeq(1));
    assert_eq!(OpenStamp(12).to_string(), "12");
    assert!(NoteSeq(3) < NoteSeq(4));
}

#[test]
fn now_is_after_2020() {
    assert!(now_micros() > 1_577_836_800_000_000);
}

#[test]
fn block_sizes() {
    for n in [1024, 2048, 4096, 8192] {
        assert!(valid_block_size(n));
    }
    for n in [0, 512, 1000, 3072, 16384] {
        assert!(!valid_block_size(n));
    }
}

#[test]
fn message_numbers_are_unique_and_in_range() {
    let numbers: BTreeSet<u32> = MESSAGES.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers.len(), MESSAGES.len());
    assert!(numbers.iter().all(|n| (90100..=90199).contains(n)));
    assert!(MESSAGES.iter().all(|(_, text)| !text.is_empty()));
}
