//! The apply pass's reader: a thread that reads and verifies the notes of a file ahead of the
//! apply loop, names the blocks that coming block changes touch to the read-ahead, and hands
//! the notes over in batches, so the loop spends its time applying.
//!
//! Invariants: the thread reads with a [`StreamReader`], so the loop sees only notes that
//! verified, in unbroken sequence, exactly as that reader would give them (a checking reader
//! also tallies the survey, handed over once the notes end without error); it runs at most
//! [`AHEAD_BATCHES`] batches of about [`BATCH_BYTES`] ahead and batches are reused, so memory
//! is fixed whatever the file size; dropping the stream stops and joins the thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use aiextent::{ExtentReader, NoteBatch, NoteKind, NoteReader, NoteRef};
use engine::BlockHints;

use crate::error::{Error, Result};
use crate::file::{Survey, Tally};

/// Bytes of note bodies in one batch (the last note may take it a frame past).
const BATCH_BYTES: usize = 512 << 10;
/// Batches the reader may have ready ahead of the one being applied.
const AHEAD_BATCHES: usize = 12;

/// What the reader thread sends.
enum Msg {
    Notes(NoteBatch),
    /// The reader ended without an error (see [`NoteReader::end_reason`]); a checking reader
    /// sends its survey.
    End(Option<Survey>),
    Failed(Error),
}

/// How the notes of a file are read for applying.
pub(crate) enum StreamReader {
    /// A region already checked by the survey.
    Region(NoteReader),
    /// The whole extent under the rules of its state, tallied as the survey would (for a
    /// held start, which applies a file while checking it).
    Checked { reader: ExtentReader, tally: Tally },
}

impl StreamReader {
    /// Moves to the next note: `Ok(false)` at the end (then [`StreamReader::end`]).
    fn advance(&mut self) -> Result<bool> {
        match self {
            StreamReader::Region(reader) => {
                reader.advance().map_err(|e| Error::ai(reader.path())(e))
            }
            StreamReader::Checked { reader, tally } => {
                let more = reader.advance().map_err(|e| tally.ai_error(e))?;
                if more {
                    let note = reader.current().expect("advance moved to a note");
                    tally.note(&note.header)?;
                }
                Ok(more)
            }
        }
    }

    /// The note [`StreamReader::advance`] moved to.
    fn current(&self) -> Option<NoteRef<'_>> {
        match self {
            StreamReader::Region(reader) => reader.current(),
            StreamReader::Checked { reader, .. } => reader.current(),
        }
    }

    /// After the notes ended without error: the survey of a checking reader.
    fn end(self) -> Option<Survey> {
        match self {
            StreamReader::Region(_) => None,
            StreamReader::Checked { reader, tally } => Some(tally.finish(reader.offset())),
        }
    }
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
    /// What a checking reader found, once the notes ended.
    survey: Option<Survey>,
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
    /// No thread could be started: the reader, until it ended.
    Inline(Option<Box<StreamReader>>),
}

impl VerifiedStream {
    /// Starts reading `reader` (whose region starts at `start_offset`) in a thread. Each block
    /// change from note `hint_from` on is named to `hints` as it is read.
    pub(crate) fn start(
        reader: StreamReader,
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
            Err(_) => Source::Inline(Some(Box::new(thread.reader))),
        };
        VerifiedStream::with_source(source, start_offset)
    }

    /// The stream [`VerifiedStream::start`] falls back to when no thread can be started: read
    /// by the caller's thread as it asks for notes.
    #[cfg(test)]
    pub(crate) fn inline(reader: StreamReader, start_offset: u64) -> VerifiedStream {
        VerifiedStream::with_source(Source::Inline(Some(Box::new(reader))), start_offset)
    }

    fn with_source(source: Source, start_offset: u64) -> VerifiedStream {
        VerifiedStream {
            source,
            current: NoteBatch::default(),
            index: 0,
            offset: start_offset,
            survey: None,
        }
    }

    /// What a [`StreamReader::Checked`] found, once [`VerifiedStream::next`] gave `Ok(None)`.
    pub(crate) fn survey(&mut self) -> Option<Survey> {
        self.survey.take()
    }

    /// File offset just after the last note handed out.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next note, as the stream's reader would give it: `Ok(None)` at the end.
    // Not `Iterator`: the note borrows the stream's batch until the next call.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<NoteRef<'_>>> {
        let (rx, free, ended, handle) = match &mut self.source {
            Source::Inline(slot) => {
                let Some(reader) = slot.as_mut() else {
                    return Ok(None);
                };
                match reader.advance() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.survey = slot.take().and_then(|reader| reader.end());
                        return Ok(None);
                    }
                    Err(e) => {
                        *slot = None;
                        return Err(e);
                    }
                }
                let note = slot
                    .as_ref()
                    .and_then(|reader| reader.current())
                    .expect("advance moved to a note");
                self.offset += note.frame_len() as u64;
                return Ok(Some(note));
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
                Ok(Msg::End(survey)) => {
                    *ended = true;
                    self.survey = survey;
                }
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
    reader: StreamReader,
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
            match end {
                Some(Ok(())) => {
                    let _ = self.tx.send(Msg::End(self.reader.end()));
                    return;
                }
                Some(Err(e)) => {
                    let _ = self.tx.send(Msg::Failed(e));
                    return;
                }
                None => {}
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }

    /// Reads notes into `batch` until it holds [`BATCH_BYTES`]; returns how the reader ended,
    /// if it did.
    fn fill(&mut self, batch: &mut NoteBatch) -> Option<Result<()>> {
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
                Ok(false) => return Some(Ok(())),
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
