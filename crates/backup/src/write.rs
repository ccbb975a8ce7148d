//! `probkup`: an offline full or incremental backup into a new file (docs/formats/backup.md,
//! "Writing").
//!
//! Invariants: nothing is written before every check passed (file absent, database clean, AI
//! switch done); the backup is written to `FILE.tmp`, synced, renamed to `FILE` and the
//! directory synced before the live master block records the backup, so a `FILE` always holds
//! a complete backup; every block copied verified first.

use std::path::{Path, PathBuf};

use engine::DbPath;
use masterblock::{AiSeq, DbState, MasterBlock, MbFlags, NoteSeq};
use storage::StorageRef;

use crate::blocks::{AreaFiles, AreaLayout};
use crate::control::open_control;
use crate::dblock;
use crate::emit::{BlockSource, area_mark, publish, write_temp};
use crate::error::{Error, Result};
use crate::format::{AreaMark, BackupHeader, BackupKind};

/// What to back up and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackupOptions {
    /// Only the blocks changed since the previous backup (or `mark backedup`).
    pub incremental: bool,
    /// Compress the record stream with zstd (`-com`).
    pub compress: bool,
}

/// What a backup did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    /// Full or incremental.
    pub kind: BackupKind,
    /// The backup file written.
    pub file: PathBuf,
    /// Blocks in the backup.
    pub blocks: u64,
    /// Bytes of those blocks (`blocks * block_size`).
    pub block_bytes: u64,
    /// Bytes of the record stream as stored (compressed with `-com`).
    pub stored_stream_bytes: u64,
    /// Bytes of the record stream before compression.
    pub raw_stream_bytes: u64,
    /// Bytes of the whole file.
    pub file_bytes: u64,
    /// The database's backup counter after the backup.
    pub backup_counter: u64,
    /// The AI sequence that became busy at the backup's switch, if after-imaging was on.
    pub ai_switched_to: Option<AiSeq>,
    /// Wall-clock time the backup took, µs.
    pub elapsed_micros: u64,
}

/// `FILE.tmp`, where a backup is written before its rename.
pub fn temp_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    file.with_file_name(name)
}

/// Backs up the closed database `db` into the new file `file` (an absolute path); `progress`
/// receives one line per step.
pub fn backup(
    storage: &StorageRef,
    db: &DbPath,
    file: &Path,
    opts: BackupOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BackupSummary> {
    let started = masterblock::now_micros();
    let s = storage.as_ref();
    if s.exists(file) {
        return Err(Error::BackupFileExists {
            path: file.to_path_buf(),
        });
    }
    let before = engine::describe(storage, db)?;
    if before.master.state != DbState::Clean {
        // An open database is in use (the lock says so); a closed one needs recovery.
        drop(dblock::lock(storage, db)?);
    }
    check_backupable(&before.master, db, opts)?;
    let ai_switched_to = if before.master.ai_enabled {
        let seq = dblock::switch_ai(storage, db)?;
        progress(&format!(
            "Switched to a new after-image extent: sequence {seq}."
        ));
        Some(seq)
    } else {
        None
    };
    let _lock = dblock::lock(storage, db)?;
    let mut control = open_control(s, db, true)?;
    let mb = *control.master.get();
    check_backupable(&mb, db, opts)?;
    let kind = if opts.incremental {
        BackupKind::Incremental
    } else {
        BackupKind::Full
    };
    let mut source = FileSource { areas: Vec::new() };
    let mut marks = Vec::new();
    let mut block0 = vec![0u8; mb.block_size as usize];
    for area in control.catalogue.data_areas() {
        let files = AreaFiles::open(s, AreaLayout::new(area, mb.block_size), false)?;
        files.check_headers(mb.db_id)?;
        files.read_block(0, &mut block0)?;
        marks.push(area_mark(&block0, &files.layout)?);
        source.areas.push(files);
    }
    let header = backup_header(
        &mb,
        kind,
        opts.compress,
        started,
        ai_switched_to,
        marks,
        control.catalogue.clone(),
    );
    let written = write_temp(s, file, &header, &mut source, progress)?;
    publish(s, file)?;
    control.master.update(|m| {
        m.backup_counter = header.backup_counter;
        match kind {
            BackupKind::Full => m.full_backup_time = started,
            BackupKind::Incremental => m.incr_backup_time = started,
        }
        m.note_seq_at_backup = m.next_note_seq;
    })?;
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

/// Refuses a database that is not clean, or an incremental without a base.
fn check_backupable(mb: &MasterBlock, db: &DbPath, opts: BackupOptions) -> Result<()> {
    if mb.state != DbState::Clean {
        return Err(Error::NotClean {
            db: db.to_string(),
            state: mb.state,
        });
    }
    if opts.incremental && mb.backup_counter == 0 {
        return Err(Error::NoBaseBackup { db: db.to_string() });
    }
    Ok(())
}

/// The header of a backup of the database whose master block is `mb` (as of the backup's
/// point), started at `started` (µs), whose switch made `ai_switched_to` busy.
pub(crate) fn backup_header(
    mb: &MasterBlock,
    kind: BackupKind,
    compressed: bool,
    started: i64,
    ai_switched_to: Option<AiSeq>,
    areas: Vec<AreaMark>,
    catalogue: structure::Catalogue,
) -> BackupHeader {
    BackupHeader {
        kind,
        compressed,
        block_size: mb.block_size,
        db_id: mb.db_id,
        backup_counter: mb.backup_counter + 1,
        base_backup_counter: match kind {
            BackupKind::Full => 0,
            BackupKind::Incremental => mb.backup_counter,
        },
        backup_time_micros: started,
        since_note_seq: match kind {
            BackupKind::Full => NoteSeq(0),
            BackupKind::Incremental => mb.note_seq_at_backup,
        },
        next_note_seq: mb.next_note_seq,
        ai_seq_switched: ai_switched_to.unwrap_or(AiSeq(0)),
        master: restored_image(mb, kind, started),
        areas,
        catalogue,
    }
}

/// The master block the restored database gets (docs/formats/backup.md).
fn restored_image(mb: &MasterBlock, kind: BackupKind, now: i64) -> MasterBlock {
    let mut image = *mb;
    image.backup_counter = mb.backup_counter + 1;
    match kind {
        BackupKind::Full => image.full_backup_time = now,
        BackupKind::Incremental => image.incr_backup_time = now,
    }
    image.note_seq_at_backup = mb.next_note_seq;
    image.state = DbState::Clean;
    image.ai_enabled = false;
    image.ai_busy_extent = 0;
    image.ai_seq_expected = if mb.ai_enabled {
        mb.ai_seq_current
    } else {
        AiSeq(1)
    };
    image.flags = MbFlags::default();
    image.rf_note_seq = NoteSeq(0);
    image.rf_stop_time = 0;
    image.rf_stop_txn = 0;
    image
}

/// The blocks of a closed database, read from its extent files.
struct FileSource {
    areas: Vec<AreaFiles>,
}

impl BlockSource for FileSource {
    fn read(&mut self, i: usize, no: u32, buf: &mut [u8]) -> Result<()> {
        self.areas[i].read_block(u64::from(no), buf)
    }

    fn layout(&self, i: usize) -> &AreaLayout {
        &self.areas[i].layout
    }
}
