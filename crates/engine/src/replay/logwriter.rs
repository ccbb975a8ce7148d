//! The roll forward target's log writer: a thread that writes the BI's buffered notes when the
//! apply loop asks (each write starting its own writeback) and syncs them every
//! [`SYNC_EVERY_BYTES`] (by default), so applying goes on while the BI is written.
//!
//! Invariants: the writer only calls the log's own write and sync (they keep write-ahead: a
//! block reaches its extent only once the log is durable up to the block's last note, whoever
//! wrote and synced the log); at most one request is pending, and the apply loop flushes itself
//! when the writer is still busy, so the log's buffer stays bounded; [`LogWriter::wait_idle`]
//! returns only when no flush of the writer is pending or running (checkpoints run alone);
//! dropping the writer stops and joins its thread.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::db::Shared;

#[derive(Default)]
struct State {
    /// A flush is asked for or running.
    busy: bool,
    stop: bool,
}

struct Signal {
    state: Mutex<State>,
    /// Wakes the writer (a request or the stop) and the waiters of `wait_idle`.
    changed: Condvar,
}

/// The log writer thread of a target.
pub(super) struct LogWriter {
    signal: Arc<Signal>,
    handle: Option<JoinHandle<()>>,
}

impl LogWriter {
    /// Starts the writer for the log of `shared`, syncing after every `sync_bytes` it writes;
    /// `None` if the thread cannot be started (the apply loop then flushes itself).
    pub(super) fn start(shared: Arc<Shared>, sync_bytes: u64) -> Option<LogWriter> {
        let signal = Arc::new(Signal {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let thread_signal = Arc::clone(&signal);
        let handle = std::thread::Builder::new()
            .name("rf-log".into())
            .spawn(move || run(&thread_signal, &shared, sync_bytes))
            .ok()?;
        Some(LogWriter {
            signal,
            handle: Some(handle),
        })
    }

    /// Asks for a flush of everything buffered; false if the writer is still busy with the
    /// previous one (the caller then flushes itself).
    pub(super) fn request(&self) -> bool {
        let mut st = self.signal.state.lock();
        if st.busy {
            return false;
        }
        st.busy = true;
        self.signal.changed.notify_all();
        true
    }

    /// Returns once no flush of the writer is pending or running.
    pub(super) fn wait_idle(&self) {
        let mut st = self.signal.state.lock();
        while st.busy {
            self.signal.changed.wait(&mut st);
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.signal.state.lock().stop = true;
        self.signal.changed.notify_all();
        if let Some(handle) = self.handle.take() {
            // A panic of the writer leaves the log unflushed: the next flush of the target
            // writes it or reports the failure.
            let _ = handle.join();
        }
    }
}

/// Bytes the writer writes between two syncs of its own. Each write starts its own writeback,
/// so a sync mostly commits the file system's journal (the file's growth): one per 4 MiB write
/// made syncing the larger part of the BI's cost. Blocks and checkpoints still sync whatever
/// they need.
pub(super) const SYNC_EVERY_BYTES: u64 = 32 << 20;

/// Bytes each of the log's two buffers is given ahead of use, once a first flush shows the
/// run is large: room for the flush threshold's worth of notes and the slack the apply loop
/// allows the writer, so they never grow.
const PREPARED_BUFFER_BYTES: usize = 3 * crate::log::MAX_BUFFERED_BYTES;

fn run(signal: &Signal, shared: &Shared, sync_bytes: u64) {
    let mut synced_at = shared.log.bytes_in_generation();
    let mut prepared = false;
    loop {
        {
            let mut st = signal.state.lock();
            while !st.busy && !st.stop {
                signal.changed.wait(&mut st);
            }
            if st.stop {
                st.busy = false;
                signal.changed.notify_all();
                return;
            }
        }
        // Written first and synced after, the sync holding no other write out, so the apply
        // loop never waits for a sync. A failure is kept by the log: every later flush of the
        // target reports it.
        let upto = shared.log.bytes_in_generation();
        // A reset began a new generation, counted from 0.
        synced_at = synced_at.min(upto);
        let written = shared.log.write_out().is_ok();
        if written && upto - synced_at >= sync_bytes && shared.log.sync_written().is_ok() {
            synced_at = upto;
        }
        {
            let mut st = signal.state.lock();
            st.busy = false;
            signal.changed.notify_all();
        }
        if !prepared {
            // After the first flush (a run of a few MiB of notes at least, not a small file),
            // so the apply loop appends into memory already there from then on.
            prepared = true;
            shared.log.prepare_buffers(PREPARED_BUFFER_BYTES);
        }
    }
}
