//! `prorest`: restoring a full or incremental backup into a database made by `prostrct create`
//! (docs/formats/backup.md, "Restoring").
//!
//! Invariants: the whole backup file verifies before the target is touched; every refusal
//! happens before the target's master block says `Restoring`; the restored master block is the
//! last write, after everything else is synced; every step between is repeatable, so a crash
//! leaves the untouched target or a `Restoring` one that the same restore completes.

use std::collections::BTreeMap;
use std::path::Path;

use engine::DbPath;
use masterblock::{AiSeq, AreaNo, DbId, DbState, ExtentKind};
use storage::StorageRef;

use crate::blocks::{self, AreaFiles, AreaLayout, check_prefix, read_prefix};
use crate::control::open_control;
use crate::dblock;
use crate::error::{Error, Result};
use crate::format::{BackupHeader, BackupKind};
use crate::reader::BackupReader;
use crate::target::{check_target, rewrite_ai, rewrite_bi};

/// Most bytes written to an extent in one write.
const RUN_BYTES: usize = 1 << 20;

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreSummary {
    /// Full or incremental.
    pub kind: BackupKind,
    /// Blocks written from the backup.
    pub blocks: u64,
    /// Blocks of the target zeroed because the (full) backup does not hold them.
    pub zeroed_blocks: u64,
    /// The restored database's identity.
    pub db_id: DbId,
    /// The restored database's backup counter.
    pub backup_counter: u64,
    /// The first AI sequence roll forward accepts on the restored database.
    pub ai_seq_expected: AiSeq,
    /// Wall-clock time the restore took, µs.
    pub elapsed_micros: u64,
}

/// The blocks a backup holds, per area: one bit per block below the high water.
pub(crate) struct Present(BTreeMap<AreaNo, Vec<u64>>);

impl Present {
    fn new(h: &BackupHeader) -> Present {
        Present(
            h.areas
                .iter()
                .map(|m| (m.area, vec![0u64; (m.high_water as usize).div_ceil(64)]))
                .collect(),
        )
    }

    fn set(&mut self, area: AreaNo, no: u32) {
        let bits = self
            .0
            .get_mut(&area)
            .expect("records name areas of the table");
        bits[no as usize / 64] |= 1 << (no % 64);
    }

    fn has(&self, area: AreaNo, no: u64) -> bool {
        self.0
            .get(&area)
            .and_then(|bits| bits.get(usize::try_from(no / 64).ok()?))
            .is_some_and(|w| w & (1 << (no % 64)) != 0)
    }
}

/// Reads the whole backup with every check; returns which blocks it holds.
pub(crate) fn verify_all(reader: &BackupReader) -> Result<(Present, u64)> {
    let mut present = Present::new(reader.header());
    let mut records = reader.records()?;
    while let Some((area, no, _)) = records.next_record()? {
        present.set(area, no.0);
    }
    Ok((present, records.count()))
}

/// Restores the backup `file` into the database `db`; `progress` receives one line per step.
pub fn restore(
    storage: &StorageRef,
    db: &DbPath,
    file: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<RestoreSummary> {
    let started = masterblock::now_micros();
    let s = storage.as_ref();
    let reader = BackupReader::open(s, file)?;
    let h = reader.header().clone();
    let (present, count) = verify_all(&reader)?;
    progress(&format!(
        "Backup {} ({}, {count} blocks) verified.",
        h.backup_counter,
        h.kind.name()
    ));
    let _lock = dblock::lock(storage, db)?;
    let mut control = open_control(s, db, true)?;
    let mb = *control.master.get();
    check_target(&h, &mb, &control.catalogue, db)?;
    let allowed = [mb.db_id, h.db_id];
    let restoring = mb.state == DbState::Restoring;
    let mut areas = Vec::new();
    for area in control.catalogue.data_areas() {
        let files = AreaFiles::open(s, AreaLayout::new(area, mb.block_size), true)?;
        check_data_headers(&files, &allowed, restoring)?;
        areas.push(files);
    }
    control.master.update(|m| {
        m.state = DbState::Restoring;
        m.backup_counter = h.backup_counter;
    })?;
    progress("Target marked as being restored.");

    let blocks = write_records(&reader, &mut areas)?;
    progress(&format!("{blocks} blocks written."));
    let mut zeroed_blocks = 0;
    if h.kind == BackupKind::Full {
        for files in areas.iter_mut() {
            if h.high_water(files.layout.area).is_some() {
                zeroed_blocks += zero_absent(files, &present)?;
            }
        }
        if zeroed_blocks > 0 {
            progress(&format!(
                "{zeroed_blocks} blocks the backup does not hold were zeroed."
            ));
        }
    }
    for files in areas.iter_mut() {
        for i in 0..files.layout.extents.len() {
            let old = read_prefix(files.file(i));
            let new = files.layout.header_for(i, h.db_id, old.as_ref());
            if old != Some(new) {
                files.write_prefix(i, &new)?;
            }
        }
        files.sync()?;
    }
    rewrite_bi(s, &control.catalogue, &h.master)?;
    rewrite_ai(s, &control.catalogue, h.block_size, h.db_id)?;
    if mb.db_id != h.db_id {
        control.write_catalogue_for(h.db_id, &db.control_path())?;
    }
    let image = h.master;
    control.master.update(|m| *m = image)?;
    progress("Restored master block written.");
    let elapsed = masterblock::now_micros().saturating_sub(started);
    Ok(RestoreSummary {
        kind: h.kind,
        blocks,
        zeroed_blocks,
        db_id: h.db_id,
        backup_counter: h.backup_counter,
        ai_seq_expected: h.master.ai_seq_expected,
        elapsed_micros: u64::try_from(elapsed).unwrap_or(0),
    })
}

/// Checks the target's data extent headers: each names the target's (or, once a restore
/// began, the backup's) identity; a damaged header is accepted only while restoring (an
/// interrupted rewrite).
fn check_data_headers(files: &AreaFiles, allowed: &[DbId; 2], restoring: bool) -> Result<()> {
    let l = &files.layout;
    for (i, e) in l.extents.iter().enumerate() {
        let mut last = None;
        for id in allowed {
            match check_prefix(
                files.file(i),
                &e.path,
                (ExtentKind::Data, *id, l.area, e.number, l.block_size),
            ) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(err) => last = Some(err),
            }
        }
        if let Some(err) = last
            && !(restoring && read_prefix(files.file(i)).is_none())
        {
            return Err(err);
        }
    }
    Ok(())
}

/// Writes every record's block into the target, in runs of adjacent blocks.
fn write_records(reader: &BackupReader, areas: &mut [AreaFiles]) -> Result<u64> {
    let bs = reader.header().block_size as usize;
    let mut records = reader.records()?;
    // (area index, first block, extent index, offset of the first block)
    let mut run: Option<(usize, u64, usize, u64)> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(RUN_BYTES);
    while let Some((area, no, block)) = records.next_record()? {
        let idx = areas
            .iter()
            .position(|f| f.layout.area == area)
            .expect("the target checks found every area of the backup");
        let no = u64::from(no.0);
        let (ext, offset) = areas[idx]
            .layout
            .locate(no)
            .expect("the target checks found room for every block");
        let follows = run.is_some_and(|(a, _, e, o)| {
            a == idx && e == ext && o + buf.len() as u64 == offset && buf.len() + bs <= RUN_BYTES
        });
        if !follows {
            if let Some((a, first, _, _)) = run.take() {
                areas[a].write_blocks(first, &buf)?;
            }
            buf.clear();
            run = Some((idx, no, ext, offset));
        }
        buf.extend_from_slice(block);
    }
    if let Some((a, first, _, _)) = run {
        areas[a].write_blocks(first, &buf)?;
    }
    Ok(records.count())
}

/// Zeroes every nonzero block of the area's extent files that the backup does not hold.
fn zero_absent(files: &mut AreaFiles, present: &Present) -> Result<u64> {
    let bs = u64::from(files.layout.block_size);
    let area = files.layout.area;
    let zeros = vec![0u8; bs as usize];
    let mut chunk = vec![0u8; RUN_BYTES];
    let mut zeroed = 0;
    for i in 0..files.layout.extents.len() {
        let first = files.layout.extents[i].first;
        let capacity = files.layout.extents[i].capacity;
        let in_file = (files.len_of(i) / bs).saturating_sub(1);
        let held = capacity.map_or(in_file, |c| c.min(in_file));
        let per_chunk = RUN_BYTES as u64 / bs;
        let mut at = 0u64;
        while at < held {
            let n = per_chunk.min(held - at);
            let bytes = &mut chunk[..(n * bs) as usize];
            let path = &files.layout.extents[i].path;
            files
                .file(i)
                .read_at(bytes, (1 + at) * bs)
                .map_err(Error::io("read", path))?;
            let mut stale = Vec::new();
            for j in 0..n {
                let no = first + at + j;
                let block = &bytes[(j * bs) as usize..((j + 1) * bs) as usize];
                if !present.has(area, no) && !blocks::is_zero(block) {
                    stale.push(no);
                }
            }
            for no in stale {
                files.write_blocks(no, &zeros)?;
                zeroed += 1;
            }
            at += n;
        }
    }
    Ok(zeroed)
}
