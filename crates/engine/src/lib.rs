//! The afterimage storage engine: data blocks in extents, a buffer pool, the BI log with group
//! commit, after-imaging to the AI extents, table locks, transactions over B+tree tables, crash
//! recovery, the lock file and event log, and the offline administration of a database
//! (including `rfutil`'s after-imaging commands).
//!
//! Every change to a block is one note (docs/formats/note.md) logged before the block can reach
//! disk, to the BI and, while after-imaging is on, to the busy AI extent; commit returns only
//! when its commit note is durable in both; crash recovery at open redoes the BI with the apply
//! rule and rolls back the transactions that never ended.
//!
//! ```no_run
//! use std::sync::Arc;
//! use engine::{Database, DbPath, OpenOptions};
//! let storage: storage::StorageRef = Arc::new(storage::RealStorage::new());
//! let db = Database::open(storage, &DbPath::parse("sports")?, OpenOptions::default())?;
//! db.create_table("customer", None)?;
//! let mut txn = db.begin()?;
//! txn.insert("customer", "1", b"Lift Tours")?;
//! txn.commit()?;
//! db.close()?;
//! # Ok::<(), engine::Error>(())
//! ```

mod admin;
mod ai;
mod alloc;
mod archiver_flag;
mod bi;
mod block;
mod change;
mod checkpoint;
mod copy;
mod create;
mod db;
mod error;
mod eventlog;
mod extent;
pub mod fasthash;
mod lockfile;
mod locks;
mod log;
mod online_backup;
mod open;
mod path;
mod pool;
mod prefault;
mod quiet;
mod recovery;
mod replay;
mod store;
mod tables;
mod txn;

pub use admin::{
    Description, RepairTarget, TruncateReport, add_extents, busy, copy_database, create_database,
    describe, repair, truncate_bi,
};
pub use ai::{
    AiExtentSelector, AiSwitched, OfflineLock, ai_extent_specs, ai_extents, aimage_begin,
    aimage_end, aimage_extent_empty, aimage_new, mark_backedup, set_sequence,
};
pub use archiver_flag::set_archiver_enabled;
pub use db::{AccessMode, Database, EngineStats, OpenOptions};
pub use error::{Error, MESSAGES, Result};
pub use eventlog::log_event_at;
pub use online_backup::{BackupPoint, BackupRecord, TxnHold};
pub use path::DbPath;
pub use quiet::QuietPoint;
pub use recovery::RecoveryReport;
pub use replay::{
    BlockHints, NoteOutcome, ROLL_FORWARD_BUFFERS, RedoReport, ReplayOptions, RollForwardTarget,
    roll_opunlock,
};
pub use tables::TableInfo;
pub use txn::Txn;
