//! Quiet points (`proquiet enable | disable`): writers are held at note boundaries, everything
//! is made durable (BI, AI and data blocks), and the files then form a valid baseline for an OS
//! copy until the quiet point is lifted.
//!
//! Invariants: while a quiet point holds, no note is appended and no block is changed or
//! written (block changes and `aimage new` wait before they start, markers before their
//! append);
//! enabling waits, through the change gate, for the block changes that had started; at most
//! one quiet point holds at a time.

use masterblock::MasterBlock;

use crate::ai::AiSwitched;
use crate::checkpoint;
use crate::db::Database;
use crate::error::{Error, Result};

/// What `proquiet enable` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietPoint {
    /// The AI switch made first (after-imaging on, not `nolock`): the extent that became busy
    /// is where a roll forward of the copy starts.
    pub ai_switched: Option<AiSwitched>,
}

impl Database {
    /// `proquiet enable [nolock]`: with after-imaging on and `switch_ai` (not `nolock`),
    /// switches to the next AI extent first (refused, changing nothing, when it is not Empty:
    /// 3774); then holds every writer at a note boundary, waits for the block changes that had
    /// started, and takes a checkpoint, so the BI, the AI and the data extents are durable and
    /// unchanging until [`Database::quiet_disable`]. Refused while a quiet point holds (90530).
    pub fn quiet_enable(&self, switch_ai: bool) -> Result<QuietPoint> {
        let db = &self.shared;
        db.writable()?;
        let _admin = db.log.quiet_admin.lock();
        if db.log.is_quiet() {
            return Err(Error::AlreadyQuiet {
                path_stem: db.path.to_string(),
            });
        }
        let ai_switched = if switch_ai && db.log.ai().is_some() {
            Some(self.ai_new()?)
        } else {
            None
        };
        db.log.set_quiet(true);
        // Block changes that started before the flag finish; later ones wait for the lift.
        drop(db.change_gate.write());
        if let Err(e) = checkpoint::checkpoint(db, false) {
            db.log.set_quiet(false);
            return Err(e);
        }
        db.log_event(
            "PROQUIET",
            "quiet point enabled: updates are held, the database files are durable",
            None,
        );
        Ok(QuietPoint { ai_switched })
    }

    /// `proquiet disable [markbackedup]`: with `mark_backedup`, records a backup at the quiet
    /// point first (the copy taken meanwhile is the baseline the next `aimage begin` checks);
    /// then lets the held writers go on. Refused when no quiet point holds (90531).
    pub fn quiet_disable(&self, mark_backedup: bool) -> Result<Option<MasterBlock>> {
        let db = &self.shared;
        let _admin = db.log.quiet_admin.lock();
        if !db.log.is_quiet() {
            return Err(Error::NotQuiet {
                path_stem: db.path.to_string(),
            });
        }
        let marked = if mark_backedup {
            match self.mark_backedup_as("PROQUIET") {
                Ok(mb) => Some(mb),
                Err(e) => {
                    db.log.set_quiet(false);
                    return Err(e);
                }
            }
        } else {
            None
        };
        db.log.set_quiet(false);
        db.log_event("PROQUIET", "quiet point disabled: updates go on", None);
        Ok(marked)
    }

    /// True while a quiet point holds writers.
    pub fn is_quiet(&self) -> bool {
        self.shared.log.is_quiet()
    }
}
