//! The master block's `archiver_enabled` flag (AI File Management on or off), offline under the
//! database's lock and online through the open database's master block writer, and the
//! storage of an open database for the archiver that copies its AI extents.
//!
//! Invariants: the flag is set only while after-imaging is on; each change is one two-slot
//! master block update, atomic under a crash.

use masterblock::MasterBlock;
use storage::StorageRef;

use crate::db::Database;
use crate::error::{Error, Result};
use crate::eventlog::log_event_in;
use crate::lockfile::LockFile;
use crate::open::{check_identity, read_control};
use crate::path::DbPath;

fn ai_off() -> Error {
    Error::Note(aiextent::Error::AiNotEnabled)
}

fn event_text(on: bool) -> &'static str {
    if on {
        "after-image extent management (AI archiver) enabled"
    } else {
        "after-image extent management (AI archiver) disabled"
    }
}

/// `rfutil -C aiarchiver enable | disable` on a database that is not open: sets the master
/// block's `archiver_enabled` flag under the database's lock. Enabling needs after-imaging
/// on (refused with 90317, changing nothing); disabling always succeeds. Returns the new
/// master block.
pub fn set_archiver_enabled(storage: &StorageRef, db: &DbPath, on: bool) -> Result<MasterBlock> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(Error::NoDatabase { path: ctl });
    }
    let _lock = LockFile::acquire(storage, &db.lock_path())?;
    let (mut master, catf) = read_control(storage.as_ref(), db, true)?;
    check_identity(storage.as_ref(), db, catf.get())?;
    if on && !master.get().ai_enabled {
        return Err(ai_off());
    }
    master.update(|mb| mb.flags.archiver_enabled = on)?;
    log_event_in(storage.as_ref(), db, "RFUTIL", event_text(on), None);
    Ok(*master.get())
}

impl Database {
    /// `rfutil -C aiarchiver enable | disable` while the database is open: sets the master
    /// block's `archiver_enabled` flag durably. Enabling needs after-imaging on (refused with
    /// 90317, changing nothing). Returns the new master block.
    pub fn set_archiver_enabled(&self, on: bool) -> Result<MasterBlock> {
        self.shared.writable()?;
        let mut master = self.shared.master.lock();
        if on && !master.get().ai_enabled {
            return Err(ai_off());
        }
        master.update(|mb| mb.flags.archiver_enabled = on)?;
        let mb = *master.get();
        drop(master);
        self.log_event("AIMAGE", event_text(on), None);
        Ok(mb)
    }

    /// The file system the database lives on (the archiver reads AI extents and writes its
    /// files beside the database through it).
    pub fn storage(&self) -> &StorageRef {
        &self.shared.storage
    }
}
