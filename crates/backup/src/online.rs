//! `probkup online`: a full or incremental backup of an open database while updates go on
//! (docs/formats/backup.md, "Online backup").
//!
//! Invariants: nothing is written before every check passed (file absent, a base for an
//! incremental, the backup point taken: no transaction active, the AI switched); with
//! after-imaging on, writers are held only while the point is taken, every block copied is
//! at or past its state at the point, and the log is durable up to the newest change any
//! copied block holds before `FILE` exists; with it off, transactions are held for the whole
//! copy, so the blocks are exactly as at the point; the live master block records the backup
//! only after `FILE` is in place.

use std::path::Path;
use std::time::Duration;

use engine::{BackupRecord, Database};
use masterblock::{AreaNo, BlockNo, NoteSeq};

use crate::blocks::AreaLayout;
use crate::emit::{BlockSource, area_mark, publish, write_temp};
use crate::error::{Error, Result};
use crate::format::BackupKind;
use crate::write::{BackupOptions, BackupSummary, backup_header};

/// How long an online backup waits for active transactions to end at its point.
pub const ONLINE_POINT_WAIT: Duration = Duration::from_secs(60);

/// The event log's source name for backup lines.
const SOURCE: &str = "PROBKUP";

/// `probkup online db FILE [incremental] [-com]`: backs up the open database `db` into the
/// new file `file` (an absolute path) while updates go on; waits up to
/// [`ONLINE_POINT_WAIT`] for active transactions at the backup point.
pub fn backup_online(
    db: &Database,
    file: &Path,
    opts: BackupOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BackupSummary> {
    backup_online_with(db, file, opts, ONLINE_POINT_WAIT, progress)
}

/// [`backup_online`] waiting up to `point_wait` for active transactions at the backup point
/// (then 90677, nothing written, updates go on).
pub fn backup_online_with(
    db: &Database,
    file: &Path,
    opts: BackupOptions,
    point_wait: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<BackupSummary> {
    let started = masterblock::now_micros();
    let storage = db.storage();
    let s = storage.as_ref();
    if s.exists(file) {
        return Err(Error::BackupFileExists {
            path: file.to_path_buf(),
        });
    }
    check_base(db, db.master().backup_counter, opts)?;
    let kind = if opts.incremental {
        BackupKind::Incremental
    } else {
        BackupKind::Full
    };
    let (point, hold) = match db.backup_point(true, point_wait) {
        Ok(taken) => taken,
        Err(e) => {
            let e = Error::from(e);
            db.log_event(
                SOURCE,
                &format!("online backup refused: {e}"),
                Some(e.msg_number()),
            );
            return Err(e);
        }
    };
    // With after-imaging off nothing could roll the copy forward: transactions stay held.
    let hold = if point.ai_switched.is_some() {
        drop(hold);
        None
    } else {
        Some(hold)
    };
    let mb = point.master;
    db.log_event(
        SOURCE,
        &format!(
            "{} online backup of {} started into {} at note {}",
            kind.name(),
            db.path(),
            file.display(),
            mb.next_note_seq
        ),
        None,
    );
    let ai_switched_to = point.ai_switched.map(|sw| {
        let line = format!(
            "Switched to a new after-image extent: sequence {} (extent {}).",
            sw.new_seq, sw.to_extent
        );
        db.log_event(SOURCE, &line, None);
        progress(&format!(
            "Switched to a new after-image extent: sequence {}.",
            sw.new_seq
        ));
        sw.new_seq
    });
    check_base(db, mb.backup_counter, opts)?;
    let mut source = PoolSource {
        db,
        layouts: Vec::new(),
        block0: Vec::new(),
    };
    let mut marks = Vec::new();
    for area in point.catalogue.data_areas() {
        let layout = AreaLayout::new(area, mb.block_size);
        let mut block0 = vec![0u8; mb.block_size as usize];
        db.read_block_for_backup(area.number, BlockNo(0), &mut block0)?;
        marks.push(area_mark(&block0, &layout)?);
        source.layouts.push(layout);
        source.block0.push(block0);
    }
    let header = backup_header(
        &mb,
        kind,
        opts.compress,
        started,
        ai_switched_to,
        marks,
        point.catalogue.clone(),
    );
    let written = write_temp(s, file, &header, &mut source, progress)?;
    // Write-ahead: the notes of every change a copied block holds are durable before the
    // backup exists.
    db.make_durable_to(NoteSeq(written.newest_note))?;
    publish(s, file)?;
    drop(hold);
    let recorded = db.record_backup(BackupRecord {
        backup_counter: header.backup_counter,
        incremental: opts.incremental,
        time_micros: started,
        note_seq_at_backup: mb.next_note_seq,
    })?;
    db.log_event(
        SOURCE,
        &format!(
            "{} online backup {} of {} ended: {} blocks in {}",
            kind.name(),
            recorded.backup_counter,
            db.path(),
            written.blocks,
            file.display()
        ),
        None,
    );
    let elapsed = masterblock::now_micros().saturating_sub(started);
    Ok(BackupSummary {
        kind,
        file: file.to_path_buf(),
        blocks: written.blocks,
        block_bytes: written.blocks * u64::from(mb.block_size),
        stored_stream_bytes: written.stored_stream_bytes,
        raw_stream_bytes: written.raw_stream_bytes,
        file_bytes: written.file_bytes,
        backup_counter: header.backup_counter,
        ai_switched_to,
        elapsed_micros: u64::try_from(elapsed).unwrap_or(0),
    })
}

/// Refuses an incremental backup of a database never backed up.
fn check_base(db: &Database, backup_counter: u64, opts: BackupOptions) -> Result<()> {
    if opts.incremental && backup_counter == 0 {
        return Err(Error::NoBaseBackup {
            db: db.path().to_string(),
        });
    }
    Ok(())
}

/// The blocks of an open database, read through its buffer pool; block 0 of each area as read
/// when the area table was made.
struct PoolSource<'a> {
    db: &'a Database,
    layouts: Vec<AreaLayout>,
    block0: Vec<Vec<u8>>,
}

impl BlockSource for PoolSource<'_> {
    fn read(&mut self, i: usize, no: u32, buf: &mut [u8]) -> Result<()> {
        if no == 0 {
            buf.copy_from_slice(&self.block0[i]);
            return Ok(());
        }
        let area: AreaNo = self.layouts[i].area;
        Ok(self.db.read_block_for_backup(area, BlockNo(no), buf)?)
    }

    fn layout(&self, i: usize) -> &AreaLayout {
        &self.layouts[i]
    }
}
