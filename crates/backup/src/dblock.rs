//! The two engine services a backup and a restore need besides reading files: the database's
//! offline lock and the AI switch at the start of a backup.
//!
//! Invariant: while a [`DbLock`] lives no other process or open holds the database.

use engine::DbPath;
use masterblock::AiSeq;
use storage::StorageRef;

use crate::error::Result;

/// The database lock, held until dropped.
pub struct DbLock {
    _lock: engine::OfflineLock,
}

/// Takes the database's lock, or fails with the engine's "in use" error.
pub fn lock(storage: &StorageRef, db: &DbPath) -> Result<DbLock> {
    Ok(DbLock {
        _lock: engine::OfflineLock::acquire(storage, db)?,
    })
}

/// Switches to the next AI extent (it must be Empty, else 3774); returns the sequence that
/// became busy. Takes the lock itself.
pub fn switch_ai(storage: &StorageRef, db: &DbPath) -> Result<AiSeq> {
    Ok(engine::aimage_new(storage, db)?.new_seq)
}
