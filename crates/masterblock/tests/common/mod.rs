//! Values shared by the integration tests.

#![allow(dead_code)]

use masterblock::{
    AiSeq, AreaNo, DbId, DbState, ExtentHeader, ExtentKind, MasterBlock, MbFlags, NoteSeq,
    OpenStamp, TxnId,
};

/// A master block with every field set to a distinct, recognisable value.
pub fn sample_mb() -> MasterBlock {
    MasterBlock {
        block_size: 4096,
        generation: 7,
        db_id: DbId(*b"0123456789abcdef"),
        state: DbState::RolledForwardInFlight,
        ai_enabled: true,
        flags: MbFlags {
            rf_oplock: true,
            rf_stop_reached: false,
            aistall: true,
            archiver_enabled: false,
        },
        ai_busy_extent: 2,
        ai_seq_current: AiSeq(11),
        ai_seq_expected: AiSeq(12),
        rf_note_seq: NoteSeq(13),
        ai_begin_time: 1_700_000_000_000_014,
        ai_switch_time: 1_700_000_000_000_015,
        backup_counter: 16,
        full_backup_time: 1_700_000_000_000_017,
        incr_backup_time: 1_700_000_000_000_018,
        note_seq_at_backup: NoteSeq(19),
        open_stamp: OpenStamp(0x2020_2020_2020_2020),
        open_time: 1_700_000_000_000_021,
        next_note_seq: NoteSeq(22),
        next_txn_id: TxnId(23),
        created_time: 1_700_000_000_000_024,
        last_open_time: 1_700_000_000_000_025,
        rf_stop_time: -26,
        rf_stop_txn: 27,
    }
}

/// An extent header with every field set.
pub fn sample_extent() -> ExtentHeader {
    ExtentHeader {
        kind: ExtentKind::Data,
        fixed: true,
        block_size: 8192,
        db_id: DbId(*b"0123456789abcdef"),
        area: AreaNo(7),
        extent_number: 3,
        size_kib: 1024,
        created_time: 1_700_000_000_000_001,
    }
}

/// `bytes` with the checksum at `checksum_offset` recomputed over the bytes before it.
pub fn reseal(mut bytes: Vec<u8>, checksum_offset: usize) -> Vec<u8> {
    let crc = crc32c::crc32c(&bytes[..checksum_offset]);
    bytes[checksum_offset..checksum_offset + 4].copy_from_slice(&crc.to_le_bytes());
    bytes
}
