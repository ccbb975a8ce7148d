//! `aimage aioff` in the log: the AI writer detached while appends and flushes are held out.
//!
//! Invariant: every note appended before the detach is durable in the BI and the AI before the
//! extents change; after it, notes go to the BI only.

use std::sync::atomic::Ordering;

use super::LogManager;
use crate::ai::AiShared;
use crate::error::{Error, Result};

impl LogManager {
    /// `aimage aioff`: with appends and flushes held out, makes every note appended so far
    /// durable in the BI and the AI, runs `end` (which turns after-imaging off on disk), then
    /// detaches the AI: later notes go to the BI only and appends stalled on a full extent go
    /// on. A failure of `end` fails the log (the extents' durable state is then unknown).
    pub(crate) fn detach_ai(&self, end: impl FnOnce(&AiShared) -> Result<()>) -> Result<()> {
        let mut st = self.state.lock();
        while st.flushing {
            self.done.wait(&mut st);
        }
        if let Some(reason) = &st.failed {
            return Err(Error::LogFailed {
                reason: reason.clone(),
            });
        }
        let Some(pipe) = self.pipe() else {
            return Err(Error::Note(aiextent::Error::AiNotEnabled));
        };
        let upto = st.next_seq - 1;
        let frames = std::mem::take(&mut st.buf);
        let alt = std::mem::take(&mut st.alt);
        let written = self.write_all(&frames, &alt);
        st.spare = frames;
        st.spare.clear();
        st.alt_spare = alt;
        st.alt_spare.clear();
        if let Err(e) = written {
            st.failed.get_or_insert_with(|| e.to_string());
            drop(st);
            self.resume.notify_all();
            self.done.notify_all();
            return Err(e);
        }
        st.durable = upto;
        st.committed = upto;
        st.syncs += 1;
        if let Err(e) = end(pipe.shared()) {
            st.failed
                .get_or_insert_with(|| format!("aimage aioff failed: {e}"));
            drop(st);
            self.resume.notify_all();
            self.done.notify_all();
            return Err(e);
        }
        pipe.abandon();
        self.ai_detached.store(true, Ordering::SeqCst);
        st.ai = None;
        st.ai_full = None;
        drop(st);
        self.resume.notify_all();
        self.done.notify_all();
        Ok(())
    }
}
