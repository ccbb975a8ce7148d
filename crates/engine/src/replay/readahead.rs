//! Read-ahead for roll forward: a scout thread walks the frames of the after-image file ahead of
//! the note being applied and has the blocks that the coming block changes name read into the
//! operating system's cache (by a hint the file system acts on in the background, or else by a
//! few reader threads), so the apply loop finds them there instead of waiting for one random
//! read at a time.
//!
//! Invariants: read-ahead only reads (the AI file and the data extents) and nothing it reads is
//! used: the apply loop reads and verifies every block and every frame itself, so a wrong hint
//! (an unverified frame, a damaged file) costs one read and nothing else; its memory is fixed
//! whatever the file size (one chunk buffer, one block per reader, a fixed table of recently
//! named blocks, a bounded queue); the scout stays at most `window_notes` notes ahead of the
//! target's next note; dropping a [`ReadAhead`] stops and joins every thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use aiextent::{FRAME_HEADER_LEN, NOTE_HEADER_LEN, NoteKind};
use masterblock::{AreaNo, BlockNo};
use parking_lot::Mutex;
use storage::FileRef;

use crate::extent::BlockMap;

/// Bytes of the AI file the scout reads at a time.
const CHUNK_BYTES: usize = 1 << 20;
/// Block reads queued for the readers at most.
const QUEUE_LEN: usize = 256;
/// How long the scout waits when it is a whole window ahead.
const PAUSE: Duration = Duration::from_millis(1);
/// Bytes of a frame the scout needs: the frame header and the note's fixed fields up to the
/// block number.
const PEEK_BYTES: usize = FRAME_HEADER_LEN + 20;

/// How read-ahead runs.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReadAheadConfig {
    /// Reader threads (reads in flight at once) when the files take no hints.
    pub threads: usize,
    /// Notes the scout may run ahead of the target's next note.
    pub window_notes: u64,
    /// Slots of the table of recently named blocks (a block named again while its slot still
    /// holds it is not read again); a power of two.
    pub recent_slots: usize,
    /// Bytes of a block.
    pub block_size: usize,
}

/// The state shared with the threads.
struct Shared {
    /// The target's next note.
    next_note: AtomicU64,
    stop: AtomicBool,
}

/// A running read-ahead over one region of an AI file; stops when dropped.
pub(super) struct ReadAhead {
    shared: Arc<Shared>,
    scout: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading ahead over the frames of `[start_offset, end_offset)` of `file`, for a
    /// target whose next note is `next_note`. `None` if no thread could be started (roll
    /// forward then runs without read-ahead).
    pub(super) fn start(
        map: BlockMap,
        file: FileRef,
        start_offset: u64,
        end_offset: u64,
        next_note: u64,
        config: ReadAheadConfig,
    ) -> Option<ReadAhead> {
        assert!(
            config.recent_slots.is_power_of_two(),
            "the recent table's size is a power of two"
        );
        let shared = Arc::new(Shared {
            next_note: AtomicU64::new(next_note),
            stop: AtomicBool::new(false),
        });
        let scout = Scout {
            shared: Arc::clone(&shared),
            map,
            file,
            offset: start_offset,
            end_offset,
            config,
        };
        let handle = std::thread::Builder::new()
            .name("rf-scout".into())
            .spawn(move || scout.run())
            .ok()?;
        Some(ReadAhead {
            shared,
            scout: Some(handle),
        })
    }

    /// The target's next note is now `next_note`: the scout may run a window past it.
    pub(super) fn advance(&self, next_note: u64) {
        self.shared.next_note.store(next_note, Ordering::Relaxed);
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(scout) = self.scout.take() {
            // A panic in a read-ahead thread loses only hints.
            let _ = scout.join();
        }
    }
}

/// The scout: walks frame headers and queues the blocks named.
struct Scout {
    shared: Arc<Shared>,
    map: BlockMap,
    file: FileRef,
    offset: u64,
    end_offset: u64,
    config: ReadAheadConfig,
}

impl Scout {
    fn run(mut self) {
        if self.map.takes_hints() {
            // The file system reads in the background: no reader threads needed.
            let map = self.map.clone();
            self.walk(|area, block| {
                map.prefetch(area, block);
                true
            });
            return;
        }
        let (tx, rx) = sync_channel::<(AreaNo, BlockNo)>(QUEUE_LEN);
        let rx = Arc::new(Mutex::new(rx));
        let mut readers = Vec::with_capacity(self.config.threads);
        for _ in 0..self.config.threads {
            let rx = Arc::clone(&rx);
            let shared = Arc::clone(&self.shared);
            let map = self.map.clone();
            let block_size = self.config.block_size;
            let spawned = std::thread::Builder::new()
                .name("rf-read".into())
                .spawn(move || read_blocks(&rx, &shared, &map, block_size));
            if let Ok(handle) = spawned {
                readers.push(handle);
            }
        }
        if !readers.is_empty() {
            self.walk(|area, block| tx.send((area, block)).is_ok());
        }
        drop(tx);
        for reader in readers {
            let _ = reader.join();
        }
    }

    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// Walks the frames until the end of the region, a frame that cannot be one, the stop, or
    /// `read_ahead` returning false, handing it each block named (not named recently).
    fn walk(&mut self, mut read_ahead: impl FnMut(AreaNo, BlockNo) -> bool) {
        let mut recent = vec![0u64; self.config.recent_slots];
        let mask = self.config.recent_slots as u64 - 1;
        let mut chunk = vec![0u8; CHUNK_BYTES];
        // `chunk[..filled]` holds the file's bytes from `chunk_at`.
        let mut chunk_at = self.offset;
        let mut filled = 0usize;
        while !self.stopped() {
            let left = self.end_offset.saturating_sub(self.offset);
            if left < PEEK_BYTES as u64 {
                return;
            }
            let mut at = (self.offset - chunk_at) as usize;
            if at + PEEK_BYTES > filled {
                let want = usize::try_from(left.min(CHUNK_BYTES as u64)).expect("at most 1 MiB");
                if self.file.read_at(&mut chunk[..want], self.offset).is_err() {
                    return;
                }
                chunk_at = self.offset;
                filled = want;
                at = 0;
            }
            let frame = &chunk[at..at + PEEK_BYTES];
            let body_len = u32::from_le_bytes(frame[0..4].try_into().expect("4 bytes")) as u64;
            if body_len < NOTE_HEADER_LEN as u64 {
                return;
            }
            let body = &frame[FRAME_HEADER_LEN..];
            let seq = u64::from_le_bytes(body[0..8].try_into().expect("8 bytes"));
            let kind = body[8];
            let area = u32::from_le_bytes(body[12..16].try_into().expect("4 bytes"));
            let block = u32::from_le_bytes(body[16..20].try_into().expect("4 bytes"));
            self.offset += FRAME_HEADER_LEN as u64 + body_len;
            if kind != NoteKind::BlockChange as u8 {
                continue;
            }
            while seq >= self.window_end() {
                if self.stopped() {
                    return;
                }
                std::thread::sleep(PAUSE);
            }
            let key = ((u64::from(area) << 32) | u64::from(block)) + 1;
            let slot =
                &mut recent[((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) & mask) as usize];
            if *slot == key {
                continue;
            }
            *slot = key;
            if !read_ahead(AreaNo(area), BlockNo(block)) {
                return;
            }
        }
    }

    /// The first note the scout may not yet look at.
    fn window_end(&self) -> u64 {
        self.shared
            .next_note
            .load(Ordering::Relaxed)
            .saturating_add(self.config.window_notes)
    }
}

/// A reader: reads each queued block (into a scratch buffer, for the cache) until the queue
/// closes; after the stop it only drains the queue.
fn read_blocks(
    rx: &Mutex<Receiver<(AreaNo, BlockNo)>>,
    shared: &Shared,
    map: &BlockMap,
    block_size: usize,
) {
    let mut buf = vec![0u8; block_size];
    loop {
        let next = rx.lock().recv();
        let Ok((area, block)) = next else {
            return;
        };
        if !shared.stop.load(Ordering::Relaxed) {
            map.read(area, block, &mut buf);
        }
    }
}
