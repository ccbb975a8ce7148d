//! The AI extent as answers carry it, and its conversions from and to
//! [`aiextent::ExtentInfo`].
//!
//! Invariant: an extent decodes only with a known state code and a 0/1 fixed flag; its path is
//! raw bytes until the answer is validated.

use aiextent::{AiState, ExtentInfo};
use masterblock::{AiSeq, AreaNo, OpenStamp};

use super::codec::{Reader, Writer};
use super::message::{MAX_ELEMENTS, RawStr};
use crate::error::Result;

/// An AI extent in an answer (the fields of [`aiextent::ExtentInfo`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extent<S = String> {
    /// The N of `db.aN`.
    pub ai_number: u32,
    /// Area.
    pub area: u32,
    /// File.
    pub path: S,
    /// State.
    pub state: AiState,
    /// Sequence.
    pub ai_seq: u64,
    /// Fixed or variable.
    pub fixed: bool,
    /// Size, KiB.
    pub size_kib: u64,
    /// Bytes of notes.
    pub used_bytes: u64,
    /// Open stamp.
    pub open_stamp: u64,
    /// `aimage begin` time, µs.
    pub ai_begin_time: i64,
    /// Busy since, µs.
    pub busy_time: i64,
    /// Full since, µs.
    pub full_time: i64,
}

fn put_extent(w: &mut Writer, e: &Extent) {
    w.u32(e.ai_number)
        .u32(e.area)
        .bytes(e.path.as_bytes())
        .u8(e.state.code())
        .u64(e.ai_seq)
        .u8(u8::from(e.fixed))
        .u64(e.size_kib)
        .u64(e.used_bytes)
        .u64(e.open_stamp)
        .i64(e.ai_begin_time)
        .i64(e.busy_time)
        .i64(e.full_time);
}

pub(super) fn put_extents(w: &mut Writer, list: &[Extent]) {
    w.count(list.len());
    for e in list {
        put_extent(w, e);
    }
}

/// Smallest encoded extent: fixed fields plus an empty path.
const EXTENT_MIN_BYTES: usize = 4 + 4 + 4 + 1 + 8 + 1 + 8 * 3 + 8 * 3;

fn get_extent(r: &mut Reader<'_>) -> Result<Extent<RawStr>> {
    let ai_number = r.u32()?;
    let area = r.u32()?;
    let path = RawStr(r.bytes()?);
    let code = r.u8()?;
    let state =
        AiState::from_code(code).ok_or_else(|| r.bad(format!("extent state {code} is unknown")))?;
    Ok(Extent {
        ai_number,
        area,
        path,
        state,
        ai_seq: r.u64()?,
        fixed: r.bool()?,
        size_kib: r.u64()?,
        used_bytes: r.u64()?,
        open_stamp: r.u64()?,
        ai_begin_time: r.i64()?,
        busy_time: r.i64()?,
        full_time: r.i64()?,
    })
}

pub(super) fn get_extents(r: &mut Reader<'_>) -> Result<Vec<Extent<RawStr>>> {
    let n = r.count(EXTENT_MIN_BYTES, MAX_ELEMENTS)?;
    (0..n).map(|_| get_extent(r)).collect()
}

impl From<&ExtentInfo> for Extent {
    fn from(e: &ExtentInfo) -> Extent {
        Extent {
            ai_number: e.ai_number,
            area: e.area.0,
            path: e.path.to_string_lossy().into_owned(),
            state: e.state,
            ai_seq: e.ai_seq.0,
            fixed: e.fixed,
            size_kib: e.size_kib,
            used_bytes: e.used_bytes,
            open_stamp: e.open_stamp.0,
            ai_begin_time: e.ai_begin_time,
            busy_time: e.busy_time,
            full_time: e.full_time,
        }
    }
}

impl From<Extent> for ExtentInfo {
    fn from(e: Extent) -> ExtentInfo {
        ExtentInfo {
            ai_number: e.ai_number,
            area: AreaNo(e.area),
            path: e.path.into(),
            state: e.state,
            ai_seq: AiSeq(e.ai_seq),
            fixed: e.fixed,
            size_kib: e.size_kib,
            used_bytes: e.used_bytes,
            open_stamp: OpenStamp(e.open_stamp),
            ai_begin_time: e.ai_begin_time,
            busy_time: e.busy_time,
            full_time: e.full_time,
        }
    }
}
