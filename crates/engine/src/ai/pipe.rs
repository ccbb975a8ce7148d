//! [`AiPipe`]: writes each group commit's notes to the AI while the BI is written, on a
//! dedicated thread, so that a commit waits for the slower of the two syncs instead of both.
//!
//! Both files are written before either is synced: on a journaling file system the first sync
//! then commits the other file's new length too, so the second costs little even when both
//! files share a disk.
//!
//! A commit's batch ([`AiPipe::write_ai_durable`]) needs only the AI synced and is written on
//! the committing thread.
//!
//! Invariants: one batch is in the pipe at a time (the log has one writer at a time); a batch
//! is finished, written and synced to the AI or failed, before [`AiPipe::write`] returns; a
//! switch inside a batch waits until the BI has synced the batch, so the AI never moves to a new
//! extent for a switch note the BI might lose.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::{AiFrames, AiShared, append_frames};
use crate::error::{Error, Result};

/// How far the BI part of a batch got.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum BiStep {
    #[default]
    Pending,
    Written,
    Synced,
    Failed,
}

#[derive(Default)]
struct PipeState {
    /// The batch to write (frames as framed for the BI).
    job: Vec<u8>,
    has_job: bool,
    bi: BiStep,
    /// The AI part of the batch is written (not yet synced), or failed.
    ai_written: bool,
    /// The outcome of the batch.
    result: Option<Result<()>>,
    shutdown: bool,
}

struct Inner {
    state: Mutex<PipeState>,
    cv: Condvar,
    ai: Arc<AiShared>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock()
    }

    fn set(&self, f: impl FnOnce(&mut PipeState)) {
        f(&mut self.lock());
        self.cv.notify_all();
    }

    /// Waits until the BI part reached `step` (or failed); true if it did.
    fn wait_bi(&self, step: BiStep) -> bool {
        let mut st = self.lock();
        while st.bi < step {
            self.cv.wait(&mut st);
        }
        st.bi != BiStep::Failed
    }
}

/// The AI writer of the log: on a thread of its own (parallel to the BI), or inline.
pub(crate) struct AiPipe {
    ai: Arc<AiShared>,
    inner: Option<Arc<Inner>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Reseal buffer of the inline mode.
    scratch: Mutex<Vec<u8>>,
    /// The AI's frames of a batch with replacements, in the inline mode.
    merged: Mutex<Vec<u8>>,
}

fn closed() -> Error {
    Error::LogFailed {
        reason: "the AI extents were closed".into(),
    }
}

fn bi_failed() -> Error {
    Error::LogFailed {
        reason: "the before-image log failed while the after-image extent was written".into(),
    }
}

/// The points of a batch where the AI waits for the BI.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Before a switch: the BI must hold the switch note durably.
    Switch,
    /// Everything is written; before the sync.
    Sync,
}

/// Appends a batch to the busy extent and syncs it, calling `wait` at each [`Wait`] point.
fn write_batch(
    ai: &AiShared,
    frames: &[u8],
    scratch: &mut Vec<u8>,
    wait: &mut dyn FnMut(Wait) -> Result<()>,
) -> Result<()> {
    let mut set = ai.set.lock();
    let set = set.as_mut().ok_or_else(closed)?;
    append_frames(ai, set, frames, scratch, &mut || wait(Wait::Switch))?;
    let writer = set
        .writer_mut()
        .ok_or(Error::Note(aiextent::Error::AiNotEnabled))?;
    writer.flush()?;
    wait(Wait::Sync)?;
    writer.flush_and_sync()?;
    Ok(())
}

fn worker(inner: Arc<Inner>) {
    let mut scratch = Vec::new();
    loop {
        let mut st = inner.lock();
        while !st.has_job && !st.shutdown {
            inner.cv.wait(&mut st);
        }
        if !st.has_job {
            return;
        }
        let job = std::mem::take(&mut st.job);
        st.has_job = false;
        drop(st);
        let mut wait = |point: Wait| {
            inner.set(|st| st.ai_written = true);
            let step = match point {
                Wait::Switch => BiStep::Synced,
                Wait::Sync => BiStep::Written,
            };
            if inner.wait_bi(step) {
                Ok(())
            } else {
                Err(bi_failed())
            }
        };
        let outcome = write_batch(&inner.ai, &job, &mut scratch, &mut wait);
        inner.set(|st| {
            st.job = job;
            st.job.clear();
            st.ai_written = true;
            st.result = Some(outcome);
        });
    }
}

impl AiPipe {
    /// A pipe writing to `ai`'s busy extent; with `threaded`, on a thread of its own.
    pub(crate) fn new(ai: Arc<AiShared>, threaded: bool) -> AiPipe {
        let (inner, thread) = if threaded {
            let inner = Arc::new(Inner {
                state: Mutex::new(PipeState::default()),
                cv: Condvar::new(),
                ai: Arc::clone(&ai),
            });
            let for_thread = Arc::clone(&inner);
            let thread = std::thread::Builder::new()
                .name("ai-writer".into())
                .spawn(move || worker(for_thread))
                .expect("the AI writer thread starts");
            (Some(inner), Some(thread))
        } else {
            (None, None)
        };
        AiPipe {
            ai,
            inner,
            thread: Mutex::new(thread),
            scratch: Mutex::new(Vec::new()),
            merged: Mutex::new(Vec::new()),
        }
    }

    /// The AI side of the database.
    pub(crate) fn shared(&self) -> &Arc<AiShared> {
        &self.ai
    }

    /// Writes and syncs `frames` to the AI (with the replacements of `alt`) and, through
    /// `bi_write` and `bi_sync`, to the BI; returns once both are done (the BI's error first).
    /// Both files are written before either is synced.
    pub(crate) fn write(
        &self,
        frames: &[u8],
        alt: &AiFrames,
        bi_write: impl FnOnce() -> Result<()>,
        bi_sync: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let Some(inner) = &self.inner else {
            return self.write_inline(frames, alt, bi_write, bi_sync);
        };
        {
            let mut st = inner.lock();
            if st.shutdown {
                return Err(closed());
            }
            assert!(!st.has_job && st.result.is_none(), "one AI batch at a time");
            st.job.clear();
            alt.merge_into(frames, &mut st.job);
            st.has_job = true;
            st.bi = BiStep::Pending;
            st.ai_written = false;
        }
        inner.cv.notify_all();
        let mut bi_outcome = bi_write();
        inner.set(|st| {
            st.bi = if bi_outcome.is_ok() {
                BiStep::Written
            } else {
                BiStep::Failed
            }
        });
        if bi_outcome.is_ok() {
            {
                let mut st = inner.lock();
                while !st.ai_written {
                    inner.cv.wait(&mut st);
                }
            }
            bi_outcome = bi_sync();
            inner.set(|st| {
                st.bi = if bi_outcome.is_ok() {
                    BiStep::Synced
                } else {
                    BiStep::Failed
                }
            });
        }
        let mut st = inner.lock();
        while st.result.is_none() {
            inner.cv.wait(&mut st);
        }
        let ai_outcome = st.result.take().expect("checked");
        drop(st);
        bi_outcome.and(ai_outcome)
    }

    /// The inline order: BI written, AI written, BI synced, AI synced (a switch syncs the BI
    /// first).
    fn write_inline(
        &self,
        frames: &[u8],
        alt: &AiFrames,
        bi_write: impl FnOnce() -> Result<()>,
        bi_sync: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        // The BI is synced once, at the first switch or before the AI's sync.
        self.write_on_this_thread(frames, alt, bi_write, bi_sync, true)
    }

    /// A commit's batch: writes `frames` to the BI through `bi_write`, then writes and syncs
    /// them to the AI (with the replacements of `alt`) on the calling thread. The BI is synced
    /// (through `bi_sync`) only at a switch inside the batch, which needs the BI to hold the
    /// switch note durably; otherwise the AI alone makes the batch durable.
    pub(crate) fn write_ai_durable(
        &self,
        frames: &[u8],
        alt: &AiFrames,
        bi_write: impl FnOnce() -> Result<()>,
        bi_sync: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        self.write_on_this_thread(frames, alt, bi_write, bi_sync, false)
    }

    /// BI written, then the AI written and synced on the calling thread; the BI synced once at
    /// the first switch, or (with `bi_durable`) at the latest before the AI's sync.
    fn write_on_this_thread(
        &self,
        frames: &[u8],
        alt: &AiFrames,
        bi_write: impl FnOnce() -> Result<()>,
        bi_sync: impl FnOnce() -> Result<()>,
        bi_durable: bool,
    ) -> Result<()> {
        bi_write()?;
        let mut bi_sync = Some(bi_sync);
        let mut scratch = self.scratch.lock();
        let mut merged = self.merged.lock();
        let frames = if alt.is_empty() {
            frames
        } else {
            merged.clear();
            alt.merge_into(frames, &mut merged);
            &merged[..]
        };
        write_batch(&self.ai, frames, &mut scratch, &mut |point| {
            if point == Wait::Switch || bi_durable {
                bi_sync.take().map_or(Ok(()), |f| f())
            } else {
                Ok(())
            }
        })
    }

    /// Stops the thread, if any (idempotent).
    pub(crate) fn stop(&self) {
        if let Some(inner) = &self.inner {
            inner.set(|st| st.shutdown = true);
        }
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }

    /// Stops the thread and closes the extents: the busy extent's notes synced and their length
    /// recorded in its header (a clean close).
    pub(crate) fn close(&self) -> Result<()> {
        self.stop();
        if let Some(set) = self.ai.set.lock().take() {
            set.close()?;
        }
        Ok(())
    }

    /// Stops the thread and lets the extents go without writing anything.
    pub(crate) fn abandon(&self) {
        self.stop();
        self.ai.set.lock().take();
    }
}

impl Drop for AiPipe {
    fn drop(&mut self) {
        self.stop();
    }
}
