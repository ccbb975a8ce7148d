//! Read-ahead for roll forward: whoever reads the after-image file ahead of the apply loop (the
//! roll forward's verified-note stream) names each block a coming block change will touch to a
//! [`BlockHints`], which has it read into the operating system's cache (by a hint the file
//! system acts on in the background, or else by a few reader threads), so the apply loop finds
//! it there instead of waiting for one random read at a time. Data extents no larger than the
//! buffer pool are also hinted whole, sequentially ([`Warm`]).
//!
//! Invariants: read-ahead only reads the data extents and nothing it reads is used (the apply
//! loop reads and verifies every block itself), so a hint costs at most one useless read; its
//! memory is fixed whatever the file size (one block per reader, a fixed table of recently
//! named blocks, a bounded queue); naming a block never blocks once the read-ahead is stopped;
//! dropping a [`ReadAhead`] stops and joins its readers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use masterblock::{AreaNo, BlockNo};
use parking_lot::Mutex;

use crate::extent::BlockMap;

/// Block reads queued for the readers at most.
const QUEUE_LEN: usize = 256;
/// How long a reader waits for work before it looks at the stop flag again, and how long
/// naming a block waits for room in a full queue before it tries again.
const PAUSE: Duration = Duration::from_millis(1);

/// How read-ahead runs.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReadAheadConfig {
    /// Reader threads (reads in flight at once) when the files take no hints.
    pub threads: usize,
    /// Slots of the table of recently named blocks (a block named again while its slot still
    /// holds it is not read again); a power of two.
    pub recent_slots: usize,
    /// Bytes of a block.
    pub block_size: usize,
}

/// The reader threads of a read-ahead over files that take no hints (none when they do).
pub(super) struct ReadAhead {
    stop: Arc<AtomicBool>,
    readers: Vec<JoinHandle<()>>,
}

/// The data extents hinted whole, in the background: for a database that fits the pool, one
/// sequential read is far cheaper than thousands of single blocks. Stops (and joins its
/// thread) when dropped.
pub(super) struct Warm {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Warm {
    /// Starts hinting every extent of `map` whole ([`storage::prefetch_range`]), if they all
    /// take hints and hold at most `up_to_bytes` in all; `None` otherwise (or if no thread
    /// could start: the blocks are still hinted one by one as notes name them). The thread
    /// runs `first` before it gives the hints, and once they are given, `then` with the
    /// extents' bytes in all and the stop flag (which it should heed).
    pub(super) fn start(
        map: BlockMap,
        up_to_bytes: u64,
        first: impl FnOnce() + Send + 'static,
        then: impl FnOnce(u64, &AtomicBool) + Send + 'static,
    ) -> Option<Warm> {
        if !map.takes_hints() {
            return None;
        }
        let total: u64 = map.files().filter_map(|f| f.len().ok()).sum();
        if total > up_to_bytes {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("rf-warm".into())
            .spawn(move || {
                first();
                for file in map.files() {
                    let Ok(len) = file.len() else { continue };
                    storage::prefetch_range(file.as_ref(), 0, len, || {
                        !thread_stop.load(Ordering::Relaxed)
                    });
                }
                then(total, &thread_stop);
            })
            .ok()?;
        Some(Warm {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Warm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            // A panic there loses only hints.
            let _ = handle.join();
        }
    }
}

impl ReadAhead {
    /// Starts a read-ahead over the blocks of `map`; returns it with the [`BlockHints`] that
    /// feeds it. `None` if it needs reader threads and none could be started.
    pub(super) fn start(map: BlockMap, config: ReadAheadConfig) -> Option<(ReadAhead, BlockHints)> {
        assert!(
            config.recent_slots.is_power_of_two(),
            "the recent table's size is a power of two"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let mut hints = BlockHints {
            map: map.clone(),
            recent: vec![0u64; config.recent_slots].into_boxed_slice(),
            queue: None,
            stop: Arc::clone(&stop),
        };
        let mut readers = Vec::new();
        if !map.takes_hints() {
            let (tx, rx) = sync_channel::<(AreaNo, BlockNo)>(QUEUE_LEN);
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..config.threads {
                let rx = Arc::clone(&rx);
                let stop = Arc::clone(&stop);
                let map = map.clone();
                let block_size = config.block_size;
                let spawned = std::thread::Builder::new()
                    .name("rf-read".into())
                    .spawn(move || read_blocks(&rx, &stop, &map, block_size));
                if let Ok(handle) = spawned {
                    readers.push(handle);
                }
            }
            if readers.is_empty() {
                return None;
            }
            hints.queue = Some(tx);
        }
        Some((ReadAhead { stop, readers }, hints))
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for reader in self.readers.drain(..) {
            // A panic in a read-ahead thread loses only hints.
            let _ = reader.join();
        }
    }
}

/// Names coming blocks to a read-ahead; `Send`, for the thread that reads the file ahead.
pub struct BlockHints {
    map: BlockMap,
    /// Recently named blocks (`(area << 32 | block) + 1`, 0 for an empty slot).
    recent: Box<[u64]>,
    /// The readers' queue, when the files take no hints.
    queue: Option<SyncSender<(AreaNo, BlockNo)>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for BlockHints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockHints")
            .field("readers", &self.queue.is_some())
            .finish_non_exhaustive()
    }
}

impl BlockHints {
    /// Has block `block` of `area` read into the cache unless it was named recently. A hint
    /// only: a block outside the database, a failed read or a stopped read-ahead is ignored.
    pub fn hint(&mut self, area: AreaNo, block: BlockNo) {
        let key = ((u64::from(area.0) << 32) | u64::from(block.0)) + 1;
        let mask = self.recent.len() as u64 - 1;
        let slot =
            &mut self.recent[((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) & mask) as usize];
        if *slot == key {
            return;
        }
        *slot = key;
        let Some(queue) = &self.queue else {
            self.map.prefetch(area, block);
            return;
        };
        let mut item = (area, block);
        loop {
            match queue.try_send(item) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    item = back;
                    std::thread::sleep(PAUSE);
                }
            }
        }
    }
}

/// A reader: reads each queued block (into a scratch buffer, for the cache) until the queue
/// closes or the read-ahead stops.
fn read_blocks(
    rx: &Mutex<Receiver<(AreaNo, BlockNo)>>,
    stop: &AtomicBool,
    map: &BlockMap,
    block_size: usize,
) {
    let mut buf = vec![0u8; block_size];
    while !stop.load(Ordering::Relaxed) {
        let next = rx.lock().recv_timeout(PAUSE);
        match next {
            Ok((area, block)) => {
                map.read(area, block, &mut buf);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
