//! The AI extent header slot (docs/formats/ai-extent.md): state, sequence, stamps, times.
//!
//! Invariants: [`AiHeader::encode`] writes exactly the 256-byte slot with its checksum; only
//! [`ParsedAiHeader::validate`] turns slot bytes into an [`AiHeader`], after the checksum, the
//! common prefix (kind AI) and every field have been checked.

use std::fmt;
use std::path::Path;

use masterblock::{AiSeq, ExtentHeader, ExtentKind, OpenStamp};

use crate::Error;

/// Bytes of the header region at the start of every AI extent; notes start here.
pub const AI_HEADER_REGION_BYTES: u64 = 4096;
/// File offsets of the two header slots.
pub const AI_SLOT_OFFSETS: [u64; 2] = [0, 512];
/// Bytes of one header slot.
pub const AI_SLOT_LEN: usize = 256;
/// Smallest fixed AI extent, in KiB.
pub const MIN_FIXED_SIZE_KIB: u64 = 8;
/// Default size limit of a variable AI extent's file: 2 GiB.
pub const DEFAULT_VARIABLE_LIMIT_BYTES: u64 = 2 << 30;

const CHECKSUM_AT: usize = AI_SLOT_LEN - 4;

/// State of an AI extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AiState {
    /// Holds no notes that matter; may become busy.
    Empty,
    /// Receiving the database's notes.
    Busy,
    /// Closed by a switch; waits to be archived and emptied.
    Full,
    /// Closed by a switch; waits for replication to send it, then becomes full.
    Locked,
}

impl AiState {
    /// The on-disk code.
    pub const fn code(self) -> u8 {
        match self {
            AiState::Empty => 0,
            AiState::Busy => 1,
            AiState::Full => 2,
            AiState::Locked => 3,
        }
    }

    /// The state with on-disk `code`, if any.
    pub const fn from_code(code: u8) -> Option<AiState> {
        match code {
            0 => Some(AiState::Empty),
            1 => Some(AiState::Busy),
            2 => Some(AiState::Full),
            3 => Some(AiState::Locked),
            _ => None,
        }
    }

    /// Whether `self -> to` is a transition the format allows: Empty -> Busy, Busy -> Full or
    /// Locked, Locked -> Full, any -> Empty, and any state to itself (a field update).
    pub const fn can_become(self, to: AiState) -> bool {
        matches!(
            (self, to),
            (_, AiState::Empty)
                | (AiState::Empty, AiState::Busy)
                | (
                    AiState::Busy,
                    AiState::Busy | AiState::Full | AiState::Locked
                )
                | (AiState::Full, AiState::Full)
                | (AiState::Locked, AiState::Locked | AiState::Full)
        )
    }
}

impl fmt::Display for AiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AiState::Empty => "Empty",
            AiState::Busy => "Busy",
            AiState::Full => "Full",
            AiState::Locked => "Locked",
        })
    }
}

/// The trusted content of an AI extent header slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AiHeader {
    /// The common extent-header prefix (kind AI; `fixed` and `size_kib` describe the extent).
    pub ext: ExtentHeader,
    /// +1 per header update; the valid slot with the higher one wins.
    pub generation: u64,
    /// State.
    pub state: AiState,
    /// Sequence of this use (0 while Empty); the seed of the note frames.
    pub ai_seq: AiSeq,
    /// The database's open stamp when the extent became busy (0 while Empty).
    pub open_stamp: OpenStamp,
    /// Time of the `aimage begin` this use belongs to, µs.
    pub ai_begin_time: i64,
    /// When the extent became busy, µs (0 while Empty).
    pub busy_time: i64,
    /// When it became full or locked, µs (0 before).
    pub full_time: i64,
    /// Bytes of notes after byte 4096: exact for Full and Locked, a lower bound (0 unknown)
    /// for Busy, 0 for Empty.
    pub used_bytes: u64,
}

impl AiHeader {
    /// An Empty header for `ext` (generation 0: the writer sets it).
    pub fn empty(ext: ExtentHeader) -> AiHeader {
        AiHeader {
            ext,
            generation: 0,
            state: AiState::Empty,
            ai_seq: AiSeq(0),
            open_stamp: OpenStamp(0),
            ai_begin_time: 0,
            busy_time: 0,
            full_time: 0,
            used_bytes: 0,
        }
    }

    /// Size of the file of a fixed extent, or `None` for a variable one.
    pub fn fixed_size_bytes(&self) -> Option<u64> {
        self.ext.fixed.then(|| self.ext.size_bytes())
    }

    /// The 256-byte slot, checksum included.
    pub fn encode(&self) -> [u8; AI_SLOT_LEN] {
        let mut b = [0u8; AI_SLOT_LEN];
        b[0..64].copy_from_slice(&self.ext.encode());
        b[64..72].copy_from_slice(&self.generation.to_le_bytes());
        b[72] = self.state.code();
        b[80..88].copy_from_slice(&self.ai_seq.0.to_le_bytes());
        b[88..96].copy_from_slice(&self.open_stamp.0.to_le_bytes());
        b[96..104].copy_from_slice(&self.ai_begin_time.to_le_bytes());
        b[104..112].copy_from_slice(&self.busy_time.to_le_bytes());
        b[112..120].copy_from_slice(&self.full_time.to_le_bytes());
        b[120..128].copy_from_slice(&self.used_bytes.to_le_bytes());
        let crc = crc32c::crc32c(&b[..CHECKSUM_AT]);
        b[CHECKSUM_AT..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses a slot; nothing is checked until [`ParsedAiHeader::validate`].
    pub fn decode(slot: &[u8; AI_SLOT_LEN]) -> ParsedAiHeader {
        ParsedAiHeader { bytes: *slot }
    }

    /// What is inconsistent in this header's fields, if anything (kind, generation, state
    /// versus sequence and used bytes, fixed size).
    pub fn inconsistency(&self) -> Option<String> {
        if self.ext.kind != ExtentKind::Ai {
            return Some(format!("extent kind is {:?}, not AI", self.ext.kind));
        }
        if self.generation == 0 {
            return Some("generation is 0".to_string());
        }
        if let Some(size) = self.fixed_size_bytes() {
            if self.ext.size_kib < MIN_FIXED_SIZE_KIB {
                return Some(format!(
                    "fixed size {} KiB is below the minimum",
                    self.ext.size_kib
                ));
            }
            if self.used_bytes > size - AI_HEADER_REGION_BYTES {
                return Some(format!(
                    "used bytes {} exceed the fixed size {size}",
                    self.used_bytes
                ));
            }
        }
        match self.state {
            AiState::Empty if self.ai_seq.0 != 0 || self.used_bytes != 0 => {
                Some("an empty extent has a sequence or used bytes".to_string())
            }
            AiState::Busy | AiState::Full | AiState::Locked if self.ai_seq.0 == 0 => {
                Some(format!("a {} extent has AI sequence 0", self.state))
            }
            _ => None,
        }
    }
}

/// Slot bytes as read, not yet trusted.
#[derive(Clone)]
pub struct ParsedAiHeader {
    bytes: [u8; AI_SLOT_LEN],
}

impl fmt::Debug for ParsedAiHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedAiHeader")
            .field("generation", &self.generation_unchecked())
            .finish_non_exhaustive()
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl ParsedAiHeader {
    /// True if the slot's checksum verifies.
    pub fn checksum_ok(&self) -> bool {
        let stored = u32::from_le_bytes(self.bytes[CHECKSUM_AT..].try_into().expect("4 bytes"));
        stored == crc32c::crc32c(&self.bytes[..CHECKSUM_AT])
    }

    /// The generation field, unchecked (for choosing between slots that verify).
    pub fn generation_unchecked(&self) -> u64 {
        u64_at(&self.bytes, 64)
    }

    /// Checks checksum, common prefix, state, reserved bytes and field consistency; `path` and
    /// `slot` name the slot in errors.
    pub fn validate(self, path: &Path, slot: u8) -> Result<AiHeader, Error> {
        let bad = |detail: String| Error::BadHeader {
            path: path.to_path_buf(),
            slot,
            detail,
        };
        if !self.checksum_ok() {
            return Err(bad("checksum mismatch".to_string()));
        }
        let b = &self.bytes;
        let ext = ExtentHeader::decode(&b[..64])
            .and_then(|p| p.validate())
            .map_err(|source| Error::ExtentHeader {
                path: path.to_path_buf(),
                source,
            })?;
        let state =
            AiState::from_code(b[72]).ok_or_else(|| bad(format!("unknown state {}", b[72])))?;
        if b[73..80]
            .iter()
            .chain(&b[128..CHECKSUM_AT])
            .any(|&x| x != 0)
        {
            return Err(bad("reserved bytes are not zero".to_string()));
        }
        let header = AiHeader {
            ext,
            generation: u64_at(b, 64),
            state,
            ai_seq: AiSeq(u64_at(b, 80)),
            open_stamp: OpenStamp(u64_at(b, 88)),
            ai_begin_time: u64_at(b, 96) as i64,
            busy_time: u64_at(b, 104) as i64,
            full_time: u64_at(b, 112) as i64,
            used_bytes: u64_at(b, 120),
        };
        match header.inconsistency() {
            Some(detail) => Err(bad(detail)),
            None => Ok(header),
        }
    }
}
