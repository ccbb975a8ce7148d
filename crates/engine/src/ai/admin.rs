//! The offline `rfutil` administration of after-imaging: `mark backedup`, `aimage begin`,
//! `end`, `new` and `extent empty`, the extent list, `sequence`, and the database lock that
//! backup and restore hold while they read and write extent files themselves.
//!
//! Invariants: each operation holds the database's lock while it works and checks everything
//! that can refuse it before its first write; each change is one two-slot master block update
//! or an extent-set operation, whose durable order makes it atomic under a crash (the next
//! open reconciles a half-done one).

use std::path::PathBuf;

use aiextent::{ExtentInfo, ExtentSet};
use masterblock::{AiSeq, DbState, MasterBlock, MasterBlockFile};
use storage::StorageRef;
use structure::Catalogue;

use super::{AiSwitched, ai_extent_specs, file_number_text};
use crate::db::{Database, OpenOptions, state_name};
use crate::error::{Error, Result};
use crate::eventlog::log_event_in;
use crate::lockfile::LockFile;
use crate::open::{check_identity, read_control};
use crate::path::DbPath;

const SOURCE: &str = "RFUTIL";

/// Which AI extent `aimage extent empty` empties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AiExtentSelector {
    /// The N of `db.aN`.
    Number(u32),
    /// The extent's file.
    Path(PathBuf),
}

/// The database's lock, held until dropped: for tools that read and write extent files
/// themselves (backup and restore) while nothing else may open the database.
pub struct OfflineLock {
    _lock: LockFile,
}

impl std::fmt::Debug for OfflineLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineLock").finish_non_exhaustive()
    }
}

impl OfflineLock {
    /// Takes the lock of `db`; [`Error::InUse`] if it is open, [`Error::NoDatabase`] if there
    /// is no such database.
    pub fn acquire(storage: &StorageRef, db: &DbPath) -> Result<OfflineLock> {
        let ctl = db.control_path();
        if !storage.exists(&ctl) {
            return Err(Error::NoDatabase { path: ctl });
        }
        Ok(OfflineLock {
            _lock: LockFile::acquire(storage, &db.lock_path())?,
        })
    }
}

/// Takes the lock and reads the control area for update.
fn offline(storage: &StorageRef, db: &DbPath) -> Result<(LockFile, MasterBlockFile, Catalogue)> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(Error::NoDatabase { path: ctl });
    }
    let lock = LockFile::acquire(storage, &db.lock_path())?;
    let (master, catf) = read_control(storage.as_ref(), db, true)?;
    let catalogue = catf.get().clone();
    check_identity(storage.as_ref(), db, &catalogue)?;
    Ok((lock, master, catalogue))
}

fn require_clean(db: &DbPath, mb: &MasterBlock) -> Result<()> {
    if mb.state == DbState::Clean {
        return Ok(());
    }
    Err(Error::NotClean {
        path: db.control_path(),
        path_stem: db.to_string(),
        state: state_name(mb.state).to_string(),
    })
}

/// Opens the AI extents and reconciles them, logging each repair.
fn open_reconciled(
    storage: &StorageRef,
    db: &DbPath,
    master: &mut MasterBlockFile,
    catalogue: &Catalogue,
) -> Result<ExtentSet> {
    super::open_set(storage, db, catalogue, master, None)
}

/// Runs `f` on the set, then closes it (a busy extent's length recorded again) whether `f`
/// succeeded or was refused.
fn with_set<T>(mut set: ExtentSet, f: impl FnOnce(&mut ExtentSet) -> Result<T>) -> Result<T> {
    let outcome = f(&mut set);
    let closed = set.close();
    let value = outcome?;
    closed?;
    Ok(value)
}

/// `rfutil -C mark backedup`: the backup counter +1, the full backup time now and
/// `note_seq_at_backup` the next note sequence, in one master block update. The database must
/// be clean ([`Error::NotClean`]). Returns the new master block.
pub fn mark_backedup(storage: &StorageRef, db: &DbPath) -> Result<MasterBlock> {
    let (_lock, mut master, _) = offline(storage, db)?;
    require_clean(db, master.get())?;
    let now = masterblock::now_micros();
    master.update(|mb| {
        mb.backup_counter += 1;
        mb.full_backup_time = now;
        mb.note_seq_at_backup = mb.next_note_seq;
    })?;
    let mb = *master.get();
    log_event_in(
        storage.as_ref(),
        db,
        SOURCE,
        &format!(
            "database marked as backed up (backup {})",
            mb.backup_counter
        ),
        None,
    );
    Ok(mb)
}

/// `rfutil -C aimage begin`: the first AI extent becomes busy with sequence 1 and
/// after-imaging is on. The database must be clean ([`Error::NotClean`]); refused by the
/// extent set (numbered, changing nothing) without AI extents (90313), when the database
/// changed since its last backup or `mark backedup` (90314), with after-imaging already on
/// (90315) or an extent not empty (90316).
pub fn aimage_begin(storage: &StorageRef, db: &DbPath) -> Result<()> {
    let (_lock, mut master, catalogue) = offline(storage, db)?;
    require_clean(db, master.get())?;
    let set = open_reconciled(storage, db, &mut master, &catalogue)?;
    let first = master.get().next_note_seq;
    let now = masterblock::now_micros();
    let busy = with_set(set, |set| {
        set.begin(&mut master, first, now)?;
        Ok(set.busy().expect("begin made an extent busy"))
    })?;
    let path = super::extent_path(&catalogue, busy).unwrap_or_default();
    log_event_in(
        storage.as_ref(),
        db,
        SOURCE,
        &format!(
            "after-imaging enabled (aimage begin): after-image extent {busy} ({}) is busy",
            path.display()
        ),
        None,
    );
    log_event_in(
        storage.as_ref(),
        db,
        SOURCE,
        &file_number_text(AiSeq(1)),
        Some(3778),
    );
    Ok(())
}

/// `rfutil -C aimage end`: every AI extent becomes Empty and after-imaging is off (also when
/// it already is, emptying extents a copy or roll forward left).
pub fn aimage_end(storage: &StorageRef, db: &DbPath) -> Result<()> {
    let (_lock, mut master, catalogue) = offline(storage, db)?;
    let specs = ai_extent_specs(&catalogue);
    let mut set = ExtentSet::open(storage, master.get().db_id, &specs)?;
    set.end(&mut master)?;
    log_event_in(
        storage.as_ref(),
        db,
        SOURCE,
        "after-imaging disabled (aimage end): every after-image extent is empty",
        None,
    );
    Ok(())
}

/// `rfutil -C aimage new` on a database that is not open: opens it for update (recovering it
/// if needed), switches to the next AI extent ([`Database::ai_new`]) and closes it.
pub fn aimage_new(storage: &StorageRef, db: &DbPath) -> Result<AiSwitched> {
    let database = Database::open(storage.clone(), db, OpenOptions::default())?;
    let switched = database.ai_new();
    let closed = database.close();
    let switched = switched?;
    closed?;
    Ok(switched)
}

/// `rfutil -C aimage extent empty [n | path]`: a Full extent becomes Empty (default: the Full
/// one with the lowest sequence); returns its number. Refused (numbered, changing nothing) with
/// no Full extent (90319), no such extent (90320, or [`Error::NoSuchAiExtentPath`]), or an
/// extent that is Busy (90321), Empty (90322) or Locked (90323).
pub fn aimage_extent_empty(
    storage: &StorageRef,
    db: &DbPath,
    which: Option<AiExtentSelector>,
) -> Result<u32> {
    let (_lock, mut master, catalogue) = offline(storage, db)?;
    let number = match which {
        None => None,
        Some(AiExtentSelector::Number(n)) => Some(n),
        Some(AiExtentSelector::Path(path)) => Some(number_of_path(storage, &catalogue, &path)?),
    };
    let set = open_reconciled(storage, db, &mut master, &catalogue)?;
    let emptied = with_set(set, |set| Ok(set.empty(number)?))?;
    let path = super::extent_path(&catalogue, emptied).unwrap_or_default();
    log_event_in(
        storage.as_ref(),
        db,
        SOURCE,
        &format!(
            "after-image extent {emptied} ({}) marked empty",
            path.display()
        ),
        None,
    );
    Ok(emptied)
}

/// The AI extent whose file is `path` (compared as given and resolved).
pub(crate) fn number_of_path(
    storage: &StorageRef,
    catalogue: &Catalogue,
    path: &std::path::Path,
) -> Result<u32> {
    let resolved = storage.canonicalize(path).ok();
    catalogue
        .ai_extents()
        .into_iter()
        .find(|a| {
            a.extent.path == path
                || resolved.as_ref().is_some_and(|r| {
                    *r == a.extent.path
                        || storage
                            .canonicalize(&a.extent.path)
                            .is_ok_and(|own| own == *r)
                })
        })
        .map(|a| a.ai_number)
        .ok_or_else(|| Error::NoSuchAiExtentPath {
            path: path.to_path_buf(),
        })
}

/// `rfutil -C aimage extent list` and the other queries: every AI extent as its header says,
/// in order of AI extent number. Takes the database's lock like a read-only open and writes
/// nothing (no crash repair either).
pub fn ai_extents(storage: &StorageRef, db: &DbPath) -> Result<Vec<ExtentInfo>> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(Error::NoDatabase { path: ctl });
    }
    let _lock = LockFile::acquire(storage, &db.lock_path())?;
    let (master, catf) = read_control(storage.as_ref(), db, false)?;
    let catalogue = catf.get().clone();
    check_identity(storage.as_ref(), db, &catalogue)?;
    super::read_extents(storage, &catalogue, master.get().db_id)
}

/// `rfutil -C sequence`: the expected AI sequence becomes the current one (the sequence of the
/// extent that was busy when this copy was made). Returns (old, new) and logs 12428. Refused
/// with after-imaging off ([`Error::SequenceWithAiOff`]): roll forward turns it off, after
/// which the sequence can no longer be corrected.
pub fn set_sequence(storage: &StorageRef, db: &DbPath) -> Result<(AiSeq, AiSeq)> {
    let (_lock, mut master, _) = offline(storage, db)?;
    let mb = *master.get();
    if !mb.ai_enabled {
        return Err(Error::SequenceWithAiOff);
    }
    let (old, new) = (mb.ai_seq_expected, mb.ai_seq_current);
    master.update(|mb| mb.ai_seq_expected = new)?;
    log_event_in(
        storage.as_ref(),
        db,
        SOURCE,
        &format!("Ai sequence {old} changed to {new}"),
        Some(12428),
    );
    Ok((old, new))
}
