//! The apply pass's reader: a thread that reads and verifies the notes of a file ahead of the
//! apply loop, names the blocks that coming block changes touch to the read-ahead, and hands
//! the notes over in batches, so the loop spends its time applying.
//!
//! Invariants: the thread reads with a [`NoteReader`], so the loop sees only notes that
//! verified, in unbroken sequence, exactly as a reader of its own would; it runs at most
//! [`AHEAD_BATCHES`] batches of about [`BATCH_BYTES`] ahead and batches are reused, so memory
//! is fixed whatever the file size; dropping the stream stops and joins the thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use aiextent::{NoteBatch, NoteKind, NoteReader, NoteRef};
use engine::BlockHints;

/// Bytes of note bodies in one batch (the last note may take it a frame past).
const BATCH_BYTES: usize = 512 << 10;
/// Batches the reader may have ready ahead of the one being applied.
const AHEAD_BATCHES: usize = 12;

/// What the reader thread sends.
enum Msg {
    Notes(NoteBatch),
    /// The reader ended without an error (see [`NoteReader::end_reason`]).
    End,
    Failed(aiextent::Error),
}

/// The notes of one region of a file, read and verified by another thread (or, if no thread
/// can be started, by the caller's as it asks for them).
pub(crate) struct VerifiedStream {
    source: Source,
    current: NoteBatch,
    /// The next note of `current` to hand out.
    index: usize,
    /// File offset just after the last note handed out.
    offset: u64,
}

enum Source {
    Thread {
        rx: Receiver<Msg>,
        /// Batches applied, back to the thread for reuse.
        free: SyncSender<NoteBatch>,
        ended: bool,
        stop: Arc<AtomicBool>,
        handle: Option<JoinHandle<()>>,
    },
    Inline(NoteReader),
}

impl VerifiedStream {
    /// Starts reading `reader` (whose region starts at `start_offset`) in a thread. Each block
    /// change from note `hint_from` on is named to `hints` as it is read.
    pub(crate) fn start(
        reader: NoteReader,
        start_offset: u64,
        hints: Option<BlockHints>,
        hint_from: u64,
    ) -> VerifiedStream {
        let (tx, rx) = sync_channel(AHEAD_BATCHES);
        let (free, free_rx) = sync_channel(AHEAD_BATCHES + 2);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = ReaderThread {
            reader,
            tx,
            free: free_rx,
            hints,
            hint_from,
            stop: Arc::clone(&stop),
        };
        // The thread gets its work once it runs, so a failed start leaves it here.
        let (hand_over, take) = sync_channel::<ReaderThread>(1);
        let spawned = std::thread::Builder::new()
            .name("rf-verify".into())
            .spawn(move || {
                if let Ok(thread) = take.recv() {
                    thread.run();
                }
            });
        let source = match spawned {
            Ok(handle) => {
                hand_over
                    .send(thread)
                    .unwrap_or_else(|_| unreachable!("the thread waits for its work"));
                Source::Thread {
                    rx,
                    free,
                    ended: false,
                    stop,
                    handle: Some(handle),
                }
            }
            Err(_) => Source::Inline(thread.reader),
        };
        VerifiedStream {
            source,
            current: NoteBatch::default(),
            index: 0,
            offset: start_offset,
        }
    }

    /// File offset just after the last note handed out.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next note, as [`NoteReader::next`] would give it: `Ok(None)` at the end.
    // Not `Iterator`: the note borrows the stream's batch until the next call.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<NoteRef<'_>>, aiextent::Error> {
        let (rx, free, ended, handle) = match &mut self.source {
            Source::Inline(reader) => {
                let note = reader.next()?;
                if let Some(note) = &note {
                    self.offset += note.frame_len() as u64;
                }
                return Ok(note);
            }
            Source::Thread {
                rx,
                free,
                ended,
                handle,
                ..
            } => (rx, free, ended, handle),
        };
        while self.index == self.current.len() {
            if *ended {
                return Ok(None);
            }
            match rx.recv() {
                Ok(Msg::Notes(batch)) => {
                    let mut done = std::mem::replace(&mut self.current, batch);
                    self.index = 0;
                    done.clear();
                    // Full only if the thread has spares or is gone: then let it go.
                    let _ = free.try_send(done);
                }
                Ok(Msg::End) => *ended = true,
                Ok(Msg::Failed(e)) => {
                    *ended = true;
                    return Err(e);
                }
                Err(_) => {
                    *ended = true;
                    if let Some(Err(panic)) = handle.take().map(JoinHandle::join) {
                        std::panic::resume_unwind(panic);
                    }
                    unreachable!("the reader thread ends by sending End or Failed");
                }
            }
        }
        let i = self.index;
        self.index += 1;
        let note = self.current.get(i).expect("index < len");
        self.offset += note.frame_len() as u64;
        Ok(Some(note))
    }
}

impl Drop for VerifiedStream {
    fn drop(&mut self) {
        if let Source::Thread {
            rx, stop, handle, ..
        } = &mut self.source
        {
            stop.store(true, Ordering::Relaxed);
            // A thread waiting to send is released: its send fails once the receiver is gone.
            drop(std::mem::replace(rx, sync_channel(0).1));
            if let Some(handle) = handle.take() {
                // A panic of the thread was re-raised by `next` if it mattered.
                let _ = handle.join();
            }
        }
    }
}

/// The thread's side.
struct ReaderThread {
    reader: NoteReader,
    tx: SyncSender<Msg>,
    free: Receiver<NoteBatch>,
    hints: Option<BlockHints>,
    hint_from: u64,
    stop: Arc<AtomicBool>,
}

impl ReaderThread {
    fn run(mut self) {
        loop {
            let mut batch = match self.free.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                    NoteBatch::with_capacity(BATCH_BYTES + (64 << 10))
                }
            };
            let end = self.fill(&mut batch);
            if !batch.is_empty() && self.tx.send(Msg::Notes(batch)).is_err() {
                return;
            }
            if let Some(end) = end {
                let _ = self.tx.send(end);
                return;
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }

    /// Reads notes into `batch` until it holds [`BATCH_BYTES`]; returns the end message if
    /// the reader ended.
    fn fill(&mut self, batch: &mut NoteBatch) -> Option<Msg> {
        while batch.body_bytes() < BATCH_BYTES {
            match self.reader.advance() {
                Ok(true) => {
                    let note = self.reader.current().expect("advance moved to a note");
                    let h = note.header;
                    if h.kind == NoteKind::BlockChange
                        && h.note_seq.0 >= self.hint_from
                        && let Some(hints) = &mut self.hints
                    {
                        hints.hint(h.area, h.block);
                    }
                    batch.push(&note);
                }
                Ok(false) => return Some(Msg::End),
                Err(e) => return Some(Msg::Failed(e)),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
