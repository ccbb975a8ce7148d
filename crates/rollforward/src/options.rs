//! What a roll forward is asked to do: retry, the end point (endtime or endtrans), the
//! operation lock, and the target's buffer pool; with the local-time format of `endtime`.
//!
//! Invariant: times are microseconds since the Unix epoch; the text form is the local
//! wall-clock time `yyyy:mm:dd:hh:mm:ss` of the system's time zone.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use masterblock::TxnId;

use crate::error::{Error, Result};

/// Where a roll forward stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopAt {
    /// `endtime`: only transactions that ended (commit or rollback note) before this time are
    /// included: applying stops at the first transaction end at or after it.
    EndTime {
        /// The end point, µs since the Unix epoch.
        time_micros: i64,
    },
    /// `endtrans`: applying stops before the first note of this transaction.
    EndTrans {
        /// The transaction.
        txn: TxnId,
    },
}

impl std::fmt::Display for StopAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopAt::EndTime { time_micros } => {
                write!(f, "endtime {}", format_local_time(*time_micros))
            }
            StopAt::EndTrans { txn } => write!(f, "endtrans {txn}"),
        }
    }
}

/// Options of [`crate::roll_forward`].
#[derive(Clone, Debug, Default)]
pub struct RollForwardOptions {
    /// `roll forward retry`: finish an interrupted roll forward (its file's open stamp is not
    /// checked).
    pub retry: bool,
    /// `endtime` or `endtrans`.
    pub stop: Option<StopAt>,
    /// `oplock`: hold the database for roll forward only until `roll opunlock`.
    pub oplock: bool,
    /// `-ailist`: a file that is not an after-image file draws a warning and is skipped
    /// instead of failing the roll forward.
    pub skip_non_ai_files: bool,
    /// The target's buffer pool and checkpoint interval.
    pub replay: engine::ReplayOptions,
}

/// Parses an `endtime` operand: local wall-clock time `yyyy:mm:dd:hh:mm:ss`.
pub fn parse_endtime(text: &str) -> Result<i64> {
    let bad = |reason: &str| Error::InvalidEndTime {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 {
        return Err(bad("it needs six numbers separated by colons"));
    }
    let mut n = [0i64; 6];
    for (slot, part) in n.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("each part must be a number"));
        }
        *slot = part.parse().map_err(|_| bad("a part is too large"))?;
    }
    let field = |v: i64, what: &str| -> Result<i8> {
        i8::try_from(v).map_err(|_| bad(&format!("the {what} is out of range")))
    };
    let year = i16::try_from(n[0]).map_err(|_| bad("the year is out of range"))?;
    let civil = DateTime::new(
        year,
        field(n[1], "month")?,
        field(n[2], "day")?,
        field(n[3], "hour")?,
        field(n[4], "minute")?,
        field(n[5], "second")?,
        0,
    )
    .map_err(|e| bad(&e.to_string()))?;
    let zoned = civil
        .to_zoned(TimeZone::system())
        .map_err(|e| bad(&e.to_string()))?;
    Ok(zoned.timestamp().as_microsecond())
}

/// Formats µs since the epoch as local time `yyyy/mm/dd hh:mm:ss.mmm`.
pub fn format_local_time(time_micros: i64) -> String {
    match jiff::Timestamp::from_microsecond(time_micros) {
        Ok(ts) => ts
            .to_zoned(TimeZone::system())
            .strftime("%Y/%m/%d %H:%M:%S%.3f")
            .to_string(),
        Err(_) => format!("{time_micros} µs"),
    }
}
