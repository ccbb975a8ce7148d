//! The 512-byte master block record (`docs/formats/masterblock.md`): its byte layout, the
//! parsed (untrusted) form and the validated [`MasterBlock`].
//!
//! Invariant: a [`MasterBlock`] obtained from bytes has passed every check of the format doc;
//! [`MasterBlock::encode`] writes exactly the layout the doc gives, reserved bytes zero.

use std::mem::{offset_of, size_of};

use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::error::Error;
use crate::ids::{AiSeq, DbId, NoteSeq, OpenStamp, TxnId};
use crate::valid_block_size;

/// Magic at the start of a master block record.
pub const MB_MAGIC: [u8; 8] = *b"AIMGMSTR";
/// The master block format version this crate reads and writes.
pub const MB_FORMAT_VERSION: u16 = 1;
/// Length of the master block record in bytes.
pub const MB_RECORD_LEN: usize = 512;

/// Offset of the checksum, which covers every byte before it.
const CHECKSUM_OFFSET: usize = 508;
const WHAT: &str = "master block";

/// The record exactly as on disk.
#[derive(Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct RawMasterBlock {
    magic: [u8; 8],
    format_version: U16,
    record_len: U16,
    block_size: U32,
    generation: U64,
    db_id: [u8; 16],
    db_state: u8,
    ai_enabled: u8,
    flags: U16,
    ai_busy_extent: U32,
    ai_seq_current: U64,
    ai_seq_expected: U64,
    rf_note_seq: U64,
    ai_begin_time: I64,
    ai_switch_time: I64,
    backup_counter: U64,
    full_backup_time: I64,
    incr_backup_time: I64,
    note_seq_at_backup: U64,
    open_stamp: U64,
    open_time: I64,
    next_note_seq: U64,
    next_txn_id: U64,
    created_time: I64,
    last_open_time: I64,
    rf_stop_time: I64,
    rf_stop_txn: U64,
    reserved: [u8; 324],
    checksum: U32,
}

const _: () = assert!(size_of::<RawMasterBlock>() == MB_RECORD_LEN);
const _: () = assert!(offset_of!(RawMasterBlock, block_size) == 12);
const _: () = assert!(offset_of!(RawMasterBlock, db_id) == 24);
const _: () = assert!(offset_of!(RawMasterBlock, db_state) == 40);
const _: () = assert!(offset_of!(RawMasterBlock, ai_busy_extent) == 44);
const _: () = assert!(offset_of!(RawMasterBlock, rf_note_seq) == 64);
const _: () = assert!(offset_of!(RawMasterBlock, note_seq_at_backup) == 112);
const _: () = assert!(offset_of!(RawMasterBlock, next_note_seq) == 136);
const _: () = assert!(offset_of!(RawMasterBlock, rf_stop_txn) == 176);
const _: () = assert!(offset_of!(RawMasterBlock, reserved) == 184);
const _: () = assert!(offset_of!(RawMasterBlock, checksum) == CHECKSUM_OFFSET);

/// State of the database as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DbState {
    /// Closed cleanly: nothing to recover.
    #[default]
    Clean,
    /// Open for update, or crashed while open: crash recovery runs at the next open.
    Open,
    /// Roll forward stopped part way: it must be retried (RETRY).
    RollForwardInProgress,
    /// Rolled forward with transactions in flight: roll forward more or open to roll them back.
    RolledForwardInFlight,
    /// A restore is in progress or was cut short: run `prorest` again.
    Restoring,
}

impl DbState {
    /// The on-disk code.
    pub fn code(self) -> u8 {
        match self {
            DbState::Clean => 0,
            DbState::Open => 1,
            DbState::RollForwardInProgress => 2,
            DbState::RolledForwardInFlight => 3,
            DbState::Restoring => 4,
        }
    }

    /// The state with on-disk `code`, if any.
    pub fn from_code(code: u8) -> Option<DbState> {
        match code {
            0 => Some(DbState::Clean),
            1 => Some(DbState::Open),
            2 => Some(DbState::RollForwardInProgress),
            3 => Some(DbState::RolledForwardInFlight),
            4 => Some(DbState::Restoring),
            _ => None,
        }
    }
}

/// The master block's flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MbFlags {
    /// Bit 0: roll forward holds the database closed to updates between roll forwards.
    pub rf_oplock: bool,
    /// Bit 1: roll forward reached its endtime or endtrans.
    pub rf_stop_reached: bool,
    /// Bit 2: writers wait for an empty AI extent instead of stopping the database.
    pub aistall: bool,
    /// Bit 3: the AI archiver is enabled.
    pub archiver_enabled: bool,
}

impl MbFlags {
    /// Every bit this format version defines.
    pub const KNOWN_BITS: u16 = 0b1111;

    /// The on-disk bits.
    pub fn bits(self) -> u16 {
        u16::from(self.rf_oplock)
            | u16::from(self.rf_stop_reached) << 1
            | u16::from(self.aistall) << 2
            | u16::from(self.archiver_enabled) << 3
    }

    /// The flags of `bits`, or `None` if an unknown bit is set.
    pub fn from_bits(bits: u16) -> Option<MbFlags> {
        if bits & !Self::KNOWN_BITS != 0 {
            return None;
        }
        Some(MbFlags {
            rf_oplock: bits & 1 != 0,
            rf_stop_reached: bits & 2 != 0,
            aistall: bits & 4 != 0,
            archiver_enabled: bits & 8 != 0,
        })
    }
}

/// The trusted master block: every field of the format doc, typed. Times are microseconds
/// since the Unix epoch, 0 for "never".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MasterBlock {
    /// Database block size in bytes: 1024, 2048, 4096 or 8192.
    pub block_size: u32,
    /// +1 per write of the master block; 0 only before the first write.
    pub generation: u64,
    /// Database identity.
    pub db_id: DbId,
    /// State of the database.
    pub state: DbState,
    /// After-imaging on.
    pub ai_enabled: bool,
    /// Flag bits.
    pub flags: MbFlags,
    /// Extent number of the busy AI extent; 0 iff after-imaging is off.
    pub ai_busy_extent: u32,
    /// Sequence of the busy AI extent (0 before the first `aimage begin`).
    pub ai_seq_current: AiSeq,
    /// Sequence of the next AI file roll forward accepts.
    pub ai_seq_expected: AiSeq,
    /// Last note applied by roll forward from file `ai_seq_expected` (0: none of it).
    pub rf_note_seq: NoteSeq,
    /// Time of the last `aimage begin`.
    pub ai_begin_time: i64,
    /// Time of the last AI switch.
    pub ai_switch_time: i64,
    /// +1 per backup or `mark backedup`.
    pub backup_counter: u64,
    /// Time of the last full backup or `mark backedup`.
    pub full_backup_time: i64,
    /// Time of the last incremental backup.
    pub incr_backup_time: i64,
    /// `next_note_seq` when the last backup or `mark backedup` was taken.
    pub note_seq_at_backup: NoteSeq,
    /// New value at every open for update other than by roll forward.
    pub open_stamp: OpenStamp,
    /// Time the open stamp was taken.
    pub open_time: i64,
    /// First note sequence not yet used, as of the last checkpoint.
    pub next_note_seq: NoteSeq,
    /// First transaction id not yet used, as of the last checkpoint.
    pub next_txn_id: TxnId,
    /// Time the database was created.
    pub created_time: i64,
    /// Last open of any kind for update.
    pub last_open_time: i64,
    /// Endtime given to roll forward (0 none).
    pub rf_stop_time: i64,
    /// Endtrans given to roll forward (0 none).
    pub rf_stop_txn: u64,
}

/// A master block record as read, not yet checked: only [`ParsedMasterBlock::validate`]
/// turns it into a [`MasterBlock`].
#[derive(Clone)]
pub struct ParsedMasterBlock {
    raw: RawMasterBlock,
    offset: u64,
}

impl std::fmt::Debug for ParsedMasterBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedMasterBlock")
            .field("offset", &self.offset)
            .field("generation", &self.raw.generation.get())
            .finish_non_exhaustive()
    }
}

impl MasterBlock {
    /// A master block for a new database: generation 0 until written, state clean, AI off,
    /// next note sequence and next transaction id 1, created now.
    pub fn new(db_id: DbId, block_size: u32, now_micros: i64) -> Self {
        MasterBlock {
            block_size,
            generation: 0,
            db_id,
            state: DbState::Clean,
            ai_enabled: false,
            flags: MbFlags::default(),
            ai_busy_extent: 0,
            ai_seq_current: AiSeq(0),
            ai_seq_expected: AiSeq(0),
            rf_note_seq: NoteSeq(0),
            ai_begin_time: 0,
            ai_switch_time: 0,
            backup_counter: 0,
            full_backup_time: 0,
            incr_backup_time: 0,
            note_seq_at_backup: NoteSeq(0),
            open_stamp: OpenStamp(0),
            open_time: 0,
            next_note_seq: NoteSeq(1),
            next_txn_id: TxnId(1),
            created_time: now_micros,
            last_open_time: 0,
            rf_stop_time: 0,
            rf_stop_txn: 0,
        }
    }

    /// The 512-byte record, checksum included.
    pub fn encode(&self) -> [u8; 512] {
        let mut raw = RawMasterBlock::new_zeroed();
        raw.magic = MB_MAGIC;
        raw.format_version.set(MB_FORMAT_VERSION);
        raw.record_len.set(MB_RECORD_LEN as u16);
        raw.block_size.set(self.block_size);
        raw.generation.set(self.generation);
        raw.db_id = self.db_id.0;
        raw.db_state = self.state.code();
        raw.ai_enabled = u8::from(self.ai_enabled);
        raw.flags.set(self.flags.bits());
        raw.ai_busy_extent.set(self.ai_busy_extent);
        raw.ai_seq_current.set(self.ai_seq_current.0);
        raw.ai_seq_expected.set(self.ai_seq_expected.0);
        raw.rf_note_seq.set(self.rf_note_seq.0);
        raw.ai_begin_time.set(self.ai_begin_time);
        raw.ai_switch_time.set(self.ai_switch_time);
        raw.backup_counter.set(self.backup_counter);
        raw.full_backup_time.set(self.full_backup_time);
        raw.incr_backup_time.set(self.incr_backup_time);
        raw.note_seq_at_backup.set(self.note_seq_at_backup.0);
        raw.open_stamp.set(self.open_stamp.0);
        raw.open_time.set(self.open_time);
        raw.next_note_seq.set(self.next_note_seq.0);
        raw.next_txn_id.set(self.next_txn_id.0);
        raw.created_time.set(self.created_time);
        raw.last_open_time.set(self.last_open_time);
        raw.rf_stop_time.set(self.rf_stop_time);
        raw.rf_stop_txn.set(self.rf_stop_txn);
        let mut bytes = [0u8; MB_RECORD_LEN];
        raw.write_to(&mut bytes[..])
            .expect("record is exactly 512 bytes");
        let checksum = crc32c::crc32c(&bytes[..CHECKSUM_OFFSET]);
        bytes[CHECKSUM_OFFSET..].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    /// Parses the first 512 bytes of `bytes` (a record at file offset 0); see
    /// [`MasterBlock::decode_at`].
    pub fn decode(bytes: &[u8]) -> Result<ParsedMasterBlock, Error> {
        MasterBlock::decode_at(bytes, 0)
    }

    /// Parses the first 512 bytes of `bytes`, a record read from file offset `offset` (named
    /// in errors). Fails only if fewer than 512 bytes are given; nothing is checked yet.
    pub fn decode_at(bytes: &[u8], offset: u64) -> Result<ParsedMasterBlock, Error> {
        let Ok((raw, _)) = RawMasterBlock::read_from_prefix(bytes) else {
            return Err(Error::Truncated {
                what: WHAT,
                needed: MB_RECORD_LEN,
                found: bytes.len(),
            });
        };
        Ok(ParsedMasterBlock { raw, offset })
    }
}

impl ParsedMasterBlock {
    /// The generation as read, unchecked.
    pub fn generation_unchecked(&self) -> u64 {
        self.raw.generation.get()
    }

    /// Checks everything the format doc requires, in this order: never written, magic,
    /// version, record length, checksum, then the fields.
    pub fn validate(self) -> Result<MasterBlock, Error> {
        let raw = &self.raw;
        let offset = self.offset;
        let bytes = raw.as_bytes();
        if bytes.iter().all(|&b| b == 0) {
            return Err(Error::NeverWritten { what: WHAT, offset });
        }
        if raw.magic != MB_MAGIC {
            return Err(Error::BadMagic {
                found: raw.magic,
                expected: MB_MAGIC,
                what: WHAT,
                offset,
            });
        }
        if raw.format_version.get() != MB_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: raw.format_version.get(),
                supported: MB_FORMAT_VERSION,
                what: WHAT,
                offset,
            });
        }
        if usize::from(raw.record_len.get()) != MB_RECORD_LEN {
            return Err(Error::InvalidField {
                field: "record_len",
                value: raw.record_len.get().into(),
            });
        }
        let actual = crc32c::crc32c(&bytes[..CHECKSUM_OFFSET]);
        if actual != raw.checksum.get() {
            return Err(Error::ChecksumMismatch {
                expected: raw.checksum.get(),
                actual,
                what: WHAT,
                offset,
            });
        }
        if !valid_block_size(raw.block_size.get()) {
            return Err(Error::InvalidField {
                field: "block_size",
                value: raw.block_size.get().into(),
            });
        }
        if raw.generation.get() == 0 {
            return Err(Error::InvalidField {
                field: "generation",
                value: 0,
            });
        }
        let state = DbState::from_code(raw.db_state).ok_or(Error::InvalidField {
            field: "db_state",
            value: raw.db_state.into(),
        })?;
        let ai_enabled = match raw.ai_enabled {
            0 => false,
            1 => true,
            other => {
                return Err(Error::InvalidField {
                    field: "ai_enabled",
                    value: other.into(),
                });
            }
        };
        let flags = MbFlags::from_bits(raw.flags.get()).ok_or(Error::InvalidField {
            field: "flags",
            value: raw.flags.get().into(),
        })?;
        let ai_busy_extent = raw.ai_busy_extent.get();
        if (ai_busy_extent != 0) != ai_enabled {
            return Err(Error::AiBusyExtentMismatch {
                ai_enabled,
                ai_busy_extent,
            });
        }
        Ok(MasterBlock {
            block_size: raw.block_size.get(),
            generation: raw.generation.get(),
            db_id: DbId(raw.db_id),
            state,
            ai_enabled,
            flags,
            ai_busy_extent,
            ai_seq_current: AiSeq(raw.ai_seq_current.get()),
            ai_seq_expected: AiSeq(raw.ai_seq_expected.get()),
            rf_note_seq: NoteSeq(raw.rf_note_seq.get()),
            ai_begin_time: raw.ai_begin_time.get(),
            ai_switch_time: raw.ai_switch_time.get(),
            backup_counter: raw.backup_counter.get(),
            full_backup_time: raw.full_backup_time.get(),
            incr_backup_time: raw.incr_backup_time.get(),
            note_seq_at_backup: NoteSeq(raw.note_seq_at_backup.get()),
            open_stamp: OpenStamp(raw.open_stamp.get()),
            open_time: raw.open_time.get(),
            next_note_seq: NoteSeq(raw.next_note_seq.get()),
            next_txn_id: TxnId(raw.next_txn_id.get()),
            created_time: raw.created_time.get(),
            last_open_time: raw.last_open_time.get(),
            rf_stop_time: raw.rf_stop_time.get(),
            rf_stop_txn: raw.rf_stop_txn.get(),
        })
    }
}
