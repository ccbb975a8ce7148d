//! Roll forward: applies after-image files, in order, to a copy or a restored backup of the
//! database that wrote them (`rfutil db -C roll forward [retry] ... -a FILE | -ailist LIST`),
//! with the checks of OpenEdge (docs/formats/rollforward.md).
//!
//! For each file, before anything changes: it is an AI extent of this database, not Empty, its
//! sequence is the one the master block expects (else 8019), it reads whole (a Full file must),
//! and the database's open stamp is the one the file's stream had where applying starts (else
//! 831, 832 and 833; `retry` skips this check). The first roll forward turns after-imaging off
//! (663, 648, 659, 13292, 846). Notes are applied with the apply rule through
//! [`engine::RollForwardTarget`], which writes them to the database's BI too, so a roll forward
//! cut short is finished by `retry`, and transactions still in flight at the end are rolled
//! back by the next open for use. `endtime` and `endtrans` stop at a point (17923), after
//! which no further file is accepted.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use std::sync::Arc;
//! use engine::DbPath;
//! use rollforward::{RollForwardOptions, roll_forward};
//!
//! let storage: storage::StorageRef = Arc::new(storage::RealStorage::new());
//! let db = DbPath::parse("/standby/sports")?;
//! let files = [PathBuf::from("/archive/sports.a2")];
//! let summary = roll_forward(&storage, &db, &files, &RollForwardOptions::default(), &mut |_| {})?;
//! println!("{summary}");
//! # Ok::<(), rollforward::Error>(())
//! ```
//!
//! Invariants: a refused file changes nothing; every note applied is durable in the BI before a
//! block it changed reaches its extent; the master block's AI fields (`ai_seq_expected`,
//! `rf_note_seq`, the end point) change only at a checkpoint after a file, together with the
//! data they describe.

mod error;
mod file;
mod list;
mod options;
mod report;
mod run;
mod stream;
#[cfg(test)]
mod tests;

pub use error::{Error, MESSAGES, Result};
pub use list::{parse_ai_list, read_ai_list};
pub use options::{RollForwardOptions, StopAt, format_local_time, parse_endtime};
pub use report::{Event, FileSummary, Progress, Summary, TxnEnd, TxnEvent};
pub use run::roll_forward;
