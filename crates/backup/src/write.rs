//! `probkup`: an offline full or incremental backup into a new file (docs/formats/backup.md,
//! "Writing").
//!
//! Invariants: nothing is written before every check passed (file absent, database clean, AI
//! switch done); the backup is written to `FILE.tmp`, synced, renamed to `FILE` and the
//! directory synced before the live master block records the backup, so a `FILE` always holds
//! a complete backup; every block copied verified first.

use std::io::Write;
use std::path::{Path, PathBuf};

use engine::DbPath;
use masterblock::{AiSeq, BlockNo, DbState, MasterBlock, MbFlags, NoteSeq};
use storage::{OpenMode, StorageRef};

use crate::blocks::{self, AreaFiles, AreaLayout};
use crate::control::open_control;
use crate::dblock;
use crate::error::{Error, Result};
use crate::fileio::Sink;
use crate::format::{AreaMark, BackupHeader, BackupKind, Trailer, encode_record};

/// zstd level of `-com`.
const ZSTD_LEVEL: i32 = 3;

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
    let since = match kind {
        BackupKind::Full => NoteSeq(0),
        BackupKind::Incremental => mb.note_seq_at_backup,
    };
    let mut areas = Vec::new();
    for area in control.catalogue.data_areas() {
        let files = AreaFiles::open(s, AreaLayout::new(area, mb.block_size), false)?;
        files.check_headers(mb.db_id)?;
        let high_water = read_high_water(&files, mb.block_size)?;
        areas.push((files, high_water));
    }
    let header = BackupHeader {
        kind,
        compressed: opts.compress,
        block_size: mb.block_size,
        db_id: mb.db_id,
        backup_counter: mb.backup_counter + 1,
        base_backup_counter: match kind {
            BackupKind::Full => 0,
            BackupKind::Incremental => mb.backup_counter,
        },
        backup_time_micros: started,
        since_note_seq: since,
        next_note_seq: mb.next_note_seq,
        ai_seq_switched: ai_switched_to.unwrap_or(AiSeq(0)),
        master: restored_image(&mb, kind, started),
        areas: areas
            .iter()
            .map(|(f, hw)| AreaMark {
                area: f.layout.area,
                high_water: *hw,
            })
            .collect(),
        catalogue: control.catalogue.clone(),
    };
    let tmp = temp_path(file);
    if s.exists(&tmp) {
        s.remove(&tmp).map_err(Error::io("remove", &tmp))?;
    }
    let out = s
        .open(&tmp, OpenMode::CreateNew)
        .map_err(Error::io("create", &tmp))?;
    let mut sink = Sink::new(out.clone());
    let write_err = Error::io("write", &tmp);
    sink.write_all(&header.encode()).map_err(write_err)?;
    sink.start_section();
    let blocks = if opts.compress {
        let mut encoder = zstd::stream::write::Encoder::new(&mut sink, ZSTD_LEVEL)
            .and_then(|mut e| e.include_checksum(true).map(|()| e))
            .map_err(Error::io("compress into", &tmp))?;
        let n = copy_blocks(&mut encoder, &areas, &header, &tmp, progress)?;
        encoder.finish().map_err(Error::io("write", &tmp))?;
        n
    } else {
        copy_blocks(&mut sink, &areas, &header, &tmp, progress)?
    };
    let (stream_crc, stored_stream_bytes) = sink.section();
    let raw_stream_bytes = blocks * header.record_bytes() as u64;
    let trailer = Trailer::encode(
        blocks,
        stored_stream_bytes,
        raw_stream_bytes,
        stream_crc,
        sink.file_crc(),
    );
    sink.write_all(&trailer).map_err(Error::io("write", &tmp))?;
    sink.flush_buf().map_err(Error::io("write", &tmp))?;
    let file_bytes = sink.position();
    out.sync().map_err(Error::io("sync", &tmp))?;
    s.rename(&tmp, file).map_err(Error::io("rename", &tmp))?;
    let dir = file.parent().unwrap_or(Path::new("/"));
    s.sync_dir(dir)
        .map_err(Error::io("sync the directory", dir))?;
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
        blocks,
        block_bytes: blocks * u64::from(mb.block_size),
        stored_stream_bytes,
        raw_stream_bytes,
        file_bytes,
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

/// Reads and checks block 0 of an area and returns its high water.
fn read_high_water(files: &AreaFiles, block_size: u32) -> Result<u32> {
    let mut buf = vec![0u8; block_size as usize];
    files.read_block(0, &mut buf)?;
    let area = files.layout.area;
    let damaged = |reason: String| Error::DamagedBlock {
        path: files.layout.extents[0].path.clone(),
        area,
        block: BlockNo(0),
        reason,
    };
    blocks::verify(&buf, area, BlockNo(0)).map_err(damaged)?;
    let high_water =
        blocks::area_high_water(&buf).ok_or_else(|| damaged("it is not an area header".into()))?;
    if high_water == 0
        || files
            .layout
            .capacity()
            .is_some_and(|c| u64::from(high_water) > c)
    {
        return Err(damaged(format!(
            "its high water {high_water} is outside the area"
        )));
    }
    Ok(high_water)
}

/// Writes the record of every block the backup takes; returns how many.
fn copy_blocks(
    out: &mut dyn Write,
    areas: &[(AreaFiles, u32)],
    header: &BackupHeader,
    tmp: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<u64> {
    let bs = header.block_size as usize;
    let mut buf = vec![0u8; bs];
    let mut record = Vec::with_capacity(header.record_bytes());
    let mut total = 0u64;
    for (files, high_water) in areas {
        let area = files.layout.area;
        let mut taken = 0u64;
        for no in 0..*high_water {
            files.read_block(u64::from(no), &mut buf)?;
            if blocks::is_zero(&buf) {
                continue;
            }
            if no != 0 && blocks::last_note_seq(&buf) < header.since_note_seq.0 {
                continue;
            }
            let block = BlockNo(no);
            blocks::verify(&buf, area, block).map_err(|reason| Error::DamagedBlock {
                path: files
                    .layout
                    .locate(u64::from(no))
                    .map(|(i, _)| files.layout.extents[i].path.clone())
                    .unwrap_or_default(),
                area,
                block,
                reason,
            })?;
            record.clear();
            encode_record(&mut record, area, block, &buf);
            out.write_all(&record).map_err(Error::io("write", tmp))?;
            taken += 1;
        }
        progress(&format!(
            "Area {area} \"{}\": {taken} blocks backed up (high water {high_water}).",
            files.layout.name
        ));
        total += taken;
    }
    Ok(total)
}
