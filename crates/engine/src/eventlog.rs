//! The `.lg` event log: one line per event,
//! `[YYYY/MM/DD@HH:MM:SS.mmm+0000] P-<pid> <source>: <text> (<number>)`, appended through the
//! storage trait. Writing it never fails an operation: errors are ignored.

use std::path::Path;

use storage::{OpenMode, Storage, StorageRef};

use crate::path::DbPath;

/// Formats a time (µs since the Unix epoch) as `YYYY/MM/DD@HH:MM:SS.mmm+0000` (UTC).
pub(crate) fn format_time(time_micros: i64) -> String {
    let millis = time_micros.div_euclid(1000);
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}/{m:02}/{d:02}@{:02}:{:02}:{:02}.{ms:03}+0000",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One event-log line, with its trailing newline.
pub(crate) fn format_line(
    time_micros: i64,
    source: &str,
    text: &str,
    number: Option<u32>,
) -> String {
    let text = text.replace('\n', " ");
    let mut line = format!(
        "[{}] P-{} {source}: {text}",
        format_time(time_micros),
        std::process::id()
    );
    if let Some(n) = number {
        line.push_str(&format!(" ({n})"));
    }
    line.push('\n');
    line
}

/// Appends `line` to the file at `path`, creating it if needed.
pub(crate) fn append(storage: &dyn Storage, path: &Path, line: &str) {
    let file = if storage.exists(path) {
        storage.open(path, OpenMode::ReadWrite)
    } else {
        storage.open(path, OpenMode::CreateNew)
    };
    if let Ok(file) = file
        && let Ok(len) = file.len()
    {
        let _ = file.write_at(line.as_bytes(), len);
    }
}

/// Appends an event to the `.lg` of `db`, whether or not the database is open. Failures to
/// write the event log are ignored.
pub fn log_event_at(
    storage: &StorageRef,
    db: &DbPath,
    source: &str,
    text: &str,
    number: Option<u32>,
) {
    log_event_in(storage.as_ref(), db, source, text, number);
}

/// [`log_event_at`] over a plain storage reference.
pub(crate) fn log_event_in(
    storage: &dyn Storage,
    db: &DbPath,
    source: &str,
    text: &str,
    number: Option<u32>,
) {
    let line = format_line(masterblock::now_micros(), source, text, number);
    append(storage, &db.log_path(), &line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970/01/01@00:00:00.000+0000");
        // 2024-02-29 13:45:06.789 UTC
        assert_eq!(
            format_time(1_709_214_306_789_000),
            "2024/02/29@13:45:06.789+0000"
        );
        let line = format_line(0, "BROKER", "hello", Some(42));
        assert!(line.starts_with("[1970/01/01@00:00:00.000+0000] P-"));
        assert!(line.ends_with(" BROKER: hello (42)\n"));
    }
}
