//! `rfutil db -C aimage aioff`: after-imaging turned off while the database is open, the online
//! form of [`crate::aimage_end`].
//!
//! Invariants: every note appended before the change is durable in the BI and the AI before
//! any extent changes; the extents become Empty and the master block says off (the extent set's
//! durable order makes this atomic under a crash) while no note can be appended; every note
//! after it goes to the BI only, and commits are then durable in the BI.

use crate::db::Database;
use crate::error::{Error, Result};

impl Database {
    /// `rfutil -C aimage aioff`: makes every note so far durable in the BI and the AI, marks
    /// every AI extent Empty, turns after-imaging and the AI archiver off in the master block,
    /// and lets the database go on with the BI alone (writers stalled on a full extent under
    /// `-aistall` go on too). Refused, changing nothing: after-imaging already off (90675), a
    /// quiet point holding the database (90676), or a read-only open.
    pub fn ai_off(&self) -> Result<()> {
        let db = &self.shared;
        db.writable()?;
        let path_stem = db.path.to_string();
        let quiet = || Error::QuietPointHeld {
            operation: "aimage aioff",
            path_stem: path_stem.clone(),
        };
        if db.log.is_quiet() {
            return Err(quiet());
        }
        if db.log.ai().is_none() {
            return Err(Error::AiAlreadyOff {
                path_stem: path_stem.clone(),
            });
        }
        // Held out of a checkpoint and of a quiet point's enable (not exclusively: a writer
        // stalled on a full extent holds the gate shared and must be released by this).
        let gate = db.change_gate.read();
        if db.log.is_quiet() {
            return Err(quiet());
        }
        let outcome = db.log.detach_ai(|ai| {
            let mut set = ai.set.lock();
            let set = set
                .as_mut()
                .ok_or(Error::Note(aiextent::Error::AiNotEnabled))?;
            let mut master = ai.master.lock();
            set.end(&mut master)?;
            if master.get().flags.archiver_enabled {
                master.update(|mb| mb.flags.archiver_enabled = false)?;
            }
            Ok(())
        });
        drop(gate);
        match outcome {
            Ok(()) => {}
            Err(Error::Note(aiextent::Error::AiNotEnabled)) => {
                return Err(Error::AiAlreadyOff { path_stem });
            }
            Err(e) => return Err(e),
        }
        db.log_event(
            "RFUTIL",
            "after-imaging disabled online (aimage aioff): every after-image extent is empty; updates are no longer protected by roll forward",
            None,
        );
        Ok(())
    }
}
