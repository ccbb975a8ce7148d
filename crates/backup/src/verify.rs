//! `prorest -vp`, `-vf` and `-list`: reading a backup without restoring anything.
//!
//! Invariant: nothing here writes to any file.

use std::fmt::Write as _;
use std::path::Path;

use engine::DbPath;
use masterblock::{AreaNo, BlockNo, DbState};
use storage::{Storage, StorageRef};

use crate::blocks::{AreaFiles, AreaLayout};
use crate::control::open_control;
use crate::dblock;
use crate::error::{Error, Result};
use crate::format::BackupHeader;
use crate::reader::BackupReader;
use crate::restore::verify_all;

/// What `prorest -vp` found: the backup is complete and undamaged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialVerify {
    /// The backup's header.
    pub header: BackupHeader,
    /// Blocks in the backup.
    pub blocks: u64,
    /// Bytes of the file.
    pub file_bytes: u64,
}

/// What `prorest -vf` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullVerify {
    /// Blocks compared.
    pub compared: u64,
    /// The blocks whose bytes differ from the database's, in order.
    pub mismatches: Vec<(AreaNo, BlockNo)>,
}

impl FullVerify {
    /// `Ok` if nothing differs, else [`Error::VerifyFailed`] (3757).
    pub fn result(&self) -> Result<()> {
        if self.mismatches.is_empty() {
            Ok(())
        } else {
            Err(Error::VerifyFailed {
                mismatches: self.mismatches.len() as u64,
                compared: self.compared,
            })
        }
    }

    /// The message (9454) for each mismatching block.
    pub fn mismatch_errors(&self) -> impl Iterator<Item = Error> + '_ {
        self.mismatches
            .iter()
            .map(|&(area, block)| Error::BlockMismatch { area, block })
    }
}

/// `prorest -vp`: reads the whole backup and checks every record, the trailer and the CRCs.
pub fn verify_partial(storage: &dyn Storage, file: &Path) -> Result<PartialVerify> {
    let reader = BackupReader::open(storage, file)?;
    let (_, blocks) = verify_all(&reader)?;
    Ok(PartialVerify {
        header: reader.header().clone(),
        blocks,
        file_bytes: reader.file_len(),
    })
}

/// `prorest -vf`: compares every block of the backup with the closed database `db`.
pub fn verify_full(storage: &StorageRef, db: &DbPath, file: &Path) -> Result<FullVerify> {
    let s = storage.as_ref();
    let reader = BackupReader::open(s, file)?;
    verify_all(&reader)?;
    let h = reader.header();
    let _lock = dblock::lock(storage, db)?;
    let control = open_control(s, db, false)?;
    let mb = *control.master.get();
    if mb.state == DbState::Restoring {
        return Err(Error::NotClean {
            db: db.to_string(),
            state: mb.state,
        });
    }
    if mb.block_size != h.block_size {
        return Err(Error::BlockSizeMismatch {
            backup: h.block_size,
            target: mb.block_size,
        });
    }
    let mut areas = Vec::new();
    for mark in &h.areas {
        let Some(area) = control.catalogue.area(mark.area) else {
            return Err(Error::AreaMissing {
                area: mark.area,
                name: h
                    .catalogue
                    .area(mark.area)
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
            });
        };
        areas.push(AreaFiles::open(
            s,
            AreaLayout::new(area, mb.block_size),
            false,
        )?);
    }
    let mut buf = vec![0u8; h.block_size as usize];
    let mut out = FullVerify {
        compared: 0,
        mismatches: Vec::new(),
    };
    let mut records = reader.records()?;
    while let Some((area, no, block)) = records.next_record()? {
        let files = areas
            .iter()
            .find(|f| f.layout.area == area)
            .expect("every area of the table was opened");
        files.read_block(u64::from(no.0), &mut buf)?;
        out.compared += 1;
        if buf != block {
            out.mismatches.push((area, no));
        }
    }
    Ok(out)
}

/// `prorest -list`: the backup's header, checked (its records are not read).
pub fn describe_backup(storage: &dyn Storage, file: &Path) -> Result<BackupHeader> {
    Ok(BackupReader::open(storage, file)?.header().clone())
}

/// The text `prorest -list` prints: a commented description, then the structure of the
/// backed-up database as a `.st` file to edit and give to `prostrct create`.
pub fn list_text(h: &BackupHeader) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {} backup of database {}", h.kind.name(), h.db_id);
    let _ = writeln!(s, "# Backup counter: {}", h.backup_counter);
    if h.base_backup_counter != 0 {
        let _ = writeln!(s, "# Applies onto backup: {}", h.base_backup_counter);
    }
    let _ = writeln!(
        s,
        "# Backup time (µs since the epoch): {}",
        h.backup_time_micros
    );
    let _ = writeln!(s, "# Block size: {}", h.block_size);
    let _ = writeln!(
        s,
        "# Compressed: {}",
        if h.compressed { "yes" } else { "no" }
    );
    let _ = writeln!(
        s,
        "# First AI sequence to roll forward after restoring: {}",
        h.master.ai_seq_expected
    );
    for mark in &h.areas {
        let name = h.catalogue.area(mark.area).map_or("", |a| a.name.as_str());
        let _ = writeln!(
            s,
            "# Area {} \"{name}\": high water {} blocks",
            mark.area, mark.high_water
        );
    }
    let _ = write!(s, "{}", h.catalogue.to_st());
    s
}
