//! Archive file names (reference 4.6): `<db path with / as ~>.<AI begin YYYYMMDD>.<HHMMSS>.
//! <AI sequence, 8 digits>.<extent file name>`, times in UTC.
//!
//! Invariant: within one `aimage begin` cycle the names of one database differ only in the
//! sequence, zero-padded, so they sort in roll-forward order; the begin stamp keeps names of
//! different cycles apart.

use std::path::Path;

use masterblock::AiSeq;

/// `YYYYMMDD` and `HHMMSS` of a time (µs since the epoch), in UTC.
pub fn date_time_fields(time_micros: i64) -> (String, String) {
    let ts = jiff::Timestamp::from_microsecond(time_micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    (
        ts.strftime("%Y%m%d").to_string(),
        ts.strftime("%H%M%S").to_string(),
    )
}

/// The database part of an archive name: the control area's path without `.db`, without its
/// leading `/`, each `/` replaced by `~` (`/usr1/dbs/sales.db` gives `usr1~dbs~sales`).
pub fn db_part(control_path: &Path) -> String {
    let text = control_path.to_string_lossy();
    let text = text.strip_suffix(".db").unwrap_or(&text);
    text.trim_start_matches('/').replace('/', "~")
}

/// The archive file name of the extent at `extent` holding sequence `ai_seq` of the after-image
/// cycle begun at `ai_begin_time_micros`, for the database whose control area is
/// `control_path`: `/usr1/dbs/sales.db`, begin 2026-11-22 10:17:32 UTC, sequence 3 and
/// `/usr1/dbs/sales.a3` give `usr1~dbs~sales.20261122.101732.00000003.sales.a3`.
pub fn archive_name(
    control_path: &Path,
    ai_begin_time_micros: i64,
    ai_seq: AiSeq,
    extent: &Path,
) -> String {
    let (date, time) = date_time_fields(ai_begin_time_micros);
    let file = extent
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{}.{date}.{time}.{:08}.{file}",
        db_part(control_path),
        ai_seq.0
    )
}
