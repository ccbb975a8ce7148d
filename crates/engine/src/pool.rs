//! The buffer pool: a fixed set of frames holding blocks keyed by (area, block), with clock
//! eviction.
//!
//! Invariants: a frame's key changes only under the table lock and only while the frame is
//! unpinned; a caller pins a frame (under the table lock) before latching it, so an unpinned
//! frame is unlatched; a dirty frame reaches its extent only after the log is durable up to the
//! frame's last note (write-ahead); a frame's buffer is allocated when it first holds a block,
//! or ahead of that for as many frames as asked (a pool larger than the blocks used costs no
//! memory), after which the hot path allocates nothing.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use masterblock::{AreaNo, BlockNo, NoteSeq};
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::block;
use crate::error::{Error, Result};
use crate::extent::DataFiles;
use crate::fasthash::IntMap;
use crate::log::LogManager;
use crate::prefault::touched_zeros;

/// Bytes one write of adjacent dirty blocks covers at most.
const RUN_BYTES: usize = 1 << 20;

/// The contents and state of one frame.
pub(crate) struct FrameData {
    /// The block held, if any.
    pub key: Option<(AreaNo, BlockNo)>,
    /// The whole block (header and body); empty until the frame first holds a block.
    pub buf: Box<[u8]>,
    /// Changed since last written.
    pub dirty: bool,
    /// Sequence of the last note applied to it.
    pub last_seq: u64,
    /// Checkpoint epoch in which a full-body note was last logged for it (0: none).
    pub fpi_epoch: u64,
    /// Read from disk damaged (torn); only crash recovery loads such frames.
    pub damaged: bool,
}

struct Frame {
    latch: RwLock<FrameData>,
    pins: AtomicU32,
    referenced: AtomicBool,
}

struct Table {
    map: IntMap<(u32, u32), usize>,
    free: Vec<usize>,
    hand: usize,
}

/// How a block is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// A damaged block is an error.
    Verified,
    /// A damaged block loads as zeros with `damaged` set (crash recovery).
    AllowDamaged,
}

/// The buffer pool.
pub(crate) struct Pool {
    block_size: usize,
    frames: Box<[Frame]>,
    table: Mutex<Table>,
    epoch: AtomicU64,
    blocks_written: AtomicU64,
    /// Dirty frames may not be written (see [`Pool::hold_dirty`]).
    hold_dirty: AtomicBool,
}

/// A pinned frame; unpinned on drop.
pub(crate) struct Pinned<'a> {
    frame: &'a Frame,
}

impl Pinned<'_> {
    /// Shared latch on the frame.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, FrameData> {
        self.frame.latch.read()
    }

    /// Exclusive latch on the frame.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, FrameData> {
        self.frame.latch.write()
    }
}

impl Drop for Pinned<'_> {
    fn drop(&mut self) {
        self.frame.pins.fetch_sub(1, Ordering::Release);
    }
}

impl Pool {
    /// A pool of `buffers` frames of `block_size` bytes.
    pub(crate) fn new(buffers: usize, block_size: u32) -> Pool {
        let frames: Vec<Frame> = (0..buffers)
            .map(|_| Frame {
                latch: RwLock::new(FrameData {
                    key: None,
                    buf: Box::default(),
                    dirty: false,
                    last_seq: 0,
                    fpi_epoch: 0,
                    damaged: false,
                }),
                pins: AtomicU32::new(0),
                referenced: AtomicBool::new(false),
            })
            .collect();
        Pool {
            block_size: block_size as usize,
            table: Mutex::new(Table {
                // Grown as blocks come in: a table sized for a pool much larger than the
                // blocks it holds spreads them over more cache lines than it needs.
                map: IntMap::default(),
                free: (0..buffers).rev().collect(),
                hand: 0,
            }),
            frames: frames.into_boxed_slice(),
            epoch: AtomicU64::new(1),
            blocks_written: AtomicU64::new(0),
            hold_dirty: AtomicBool::new(false),
        }
    }

    /// Frames in the pool.
    pub(crate) fn frames(&self) -> usize {
        self.frames.len()
    }

    /// The current checkpoint epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Starts a new checkpoint epoch.
    pub(crate) fn advance_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// While `hold` is set no dirty frame is written: eviction passes them by, and a pin that
    /// finds only dirty frames to evict fails with [`Error::PoolHeld`] (nothing changed).
    pub(crate) fn hold_dirty(&self, hold: bool) {
        self.hold_dirty.store(hold, Ordering::Release);
    }

    /// Blocks written to extents so far.
    pub(crate) fn blocks_written(&self) -> u64 {
        self.blocks_written.load(Ordering::Relaxed)
    }

    /// Gives the first `count` frames (those a fresh pool hands out first) their buffers ahead
    /// of use, each page of them touched, so the thread that loads blocks into them later
    /// neither allocates nor takes the page faults of first use. Meant for a thread of its own
    /// while the pool fills; stops early once `stop` is set. Frames already given a buffer are
    /// passed by.
    pub(crate) fn prepare_buffers(&self, count: usize, stop: &AtomicBool) {
        for i in 0..count.min(self.frames.len()) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let pinned = self.pin_frame(i);
            let mut data = pinned.write();
            if data.buf.len() != self.block_size {
                data.buf = touched_zeros(self.block_size);
            }
        }
    }

    /// Pins the frame holding `(area, block)`, loading it (and evicting another) if needed.
    pub(crate) fn pin(
        &self,
        area: AreaNo,
        block: BlockNo,
        files: &DataFiles,
        log: &LogManager,
        fetch: Fetch,
    ) -> Result<Pinned<'_>> {
        loop {
            let mut table = self.table.lock();
            if let Some(&i) = table.map.get(&(area.0, block.0)) {
                let frame = &self.frames[i];
                frame.pins.fetch_add(1, Ordering::Acquire);
                frame.referenced.store(true, Ordering::Relaxed);
                return Ok(Pinned { frame });
            }
            let Some(i) = self.victim(&mut table, files, log)? else {
                // Every frame is pinned by a running access: let one finish.
                drop(table);
                std::thread::yield_now();
                continue;
            };
            let frame = &self.frames[i];
            {
                let mut data = frame.latch.write();
                if let Some((a, b)) = data.key.take() {
                    table.map.remove(&(a.0, b.0));
                }
                if data.buf.len() != self.block_size {
                    data.buf = touched_zeros(self.block_size);
                }
                if let Err(e) = load(&mut data, area, block, files, fetch) {
                    table.free.push(i);
                    return Err(e);
                }
            }
            table.map.insert((area.0, block.0), i);
            frame.pins.fetch_add(1, Ordering::Acquire);
            frame.referenced.store(true, Ordering::Relaxed);
            return Ok(Pinned { frame });
        }
    }

    /// A free frame, or an unpinned one evicted by the clock (written first if dirty).
    fn victim(
        &self,
        table: &mut Table,
        files: &DataFiles,
        log: &LogManager,
    ) -> Result<Option<usize>> {
        if let Some(i) = table.free.pop() {
            return Ok(Some(i));
        }
        let n = self.frames.len();
        let hold = self.hold_dirty.load(Ordering::Acquire);
        let mut held = false;
        for _ in 0..n * 3 {
            let i = table.hand;
            table.hand = (table.hand + 1) % n;
            let frame = &self.frames[i];
            if frame.pins.load(Ordering::Acquire) > 0 {
                continue;
            }
            if frame.referenced.swap(false, Ordering::Relaxed) {
                continue;
            }
            let mut data = frame.latch.write();
            if data.dirty {
                if hold {
                    held = true;
                    continue;
                }
                self.write_frame(&mut data, files, log)?;
            }
            return Ok(Some(i));
        }
        if held {
            return Err(Error::PoolHeld);
        }
        Ok(None)
    }

    /// Writes a dirty frame after making the log durable up to its last note.
    fn write_frame(&self, data: &mut FrameData, files: &DataFiles, log: &LogManager) -> Result<()> {
        let (area, block) = data.key.expect("a dirty frame holds a block");
        debug_assert_eq!(
            block::last_note(&data.buf),
            data.last_seq,
            "a dirty block records the note the log must cover first"
        );
        log.flush_to(NoteSeq(data.last_seq))?;
        block::seal(&mut data.buf, area, block);
        files.write(area, block, &data.buf)?;
        data.dirty = false;
        self.blocks_written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes every dirty frame (the caller has made the log durable and holds changes out), in
    /// block order, adjacent blocks of one extent together in writes of up to [`RUN_BYTES`]. A
    /// frame is marked clean only if no change came after its copy was taken (its last note is
    /// the same: every change gives it a new, later one), and only once the write succeeded.
    pub(crate) fn flush_dirty(&self, files: &DataFiles, log: &LogManager) -> Result<()> {
        let mut dirty = Vec::new();
        for i in 0..self.frames.len() {
            let pinned = self.pin_frame(i);
            let data = pinned.read();
            if data.dirty {
                let (area, block) = data.key.expect("a dirty frame holds a block");
                dirty.push((area.0, block.0, i));
            }
        }
        dirty.sort_unstable();
        let run_blocks = (RUN_BYTES / self.block_size).max(1);
        let mut staging = Vec::with_capacity(run_blocks * self.block_size);
        // (frame, its key, its last note when copied)
        let mut run = Vec::with_capacity(run_blocks);
        let mut at = 0;
        while at < dirty.len() {
            let (area, first, _) = dirty[at];
            let end = files.extent_end(AreaNo(area), BlockNo(first));
            staging.clear();
            run.clear();
            let mut next = u64::from(first);
            while at < dirty.len() && run.len() < run_blocks {
                let (a, b, i) = dirty[at];
                if a != area || u64::from(b) != next || next >= end {
                    break;
                }
                at += 1;
                next += 1;
                let key = (AreaNo(a), BlockNo(b));
                let pinned = self.pin_frame(i);
                let mut data = pinned.write();
                if !data.dirty || data.key != Some(key) {
                    // Written meanwhile (evicted): the run ends before it.
                    break;
                }
                debug_assert_eq!(
                    block::last_note(&data.buf),
                    data.last_seq,
                    "a dirty block records the note the log must cover first"
                );
                log.flush_to(NoteSeq(data.last_seq))?;
                block::seal(&mut data.buf, key.0, key.1);
                staging.extend_from_slice(&data.buf);
                run.push((i, key, data.last_seq));
            }
            let Some(&(_, (area, first), _)) = run.first() else {
                continue;
            };
            files.write(area, first, &staging)?;
            // The sync that follows every flush of the pool then finds the earlier runs on
            // their way to the device.
            files.start_writeback(area, first, staging.len() as u64);
            for &(i, key, seq) in &run {
                let pinned = self.pin_frame(i);
                let mut data = pinned.write();
                if data.dirty && data.key == Some(key) && data.last_seq == seq {
                    data.dirty = false;
                }
            }
            self.blocks_written
                .fetch_add(run.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Pins frame `i` (under the table lock, as every pin).
    fn pin_frame(&self, i: usize) -> Pinned<'_> {
        let frame = &self.frames[i];
        let _table = self.table.lock();
        frame.pins.fetch_add(1, Ordering::Acquire);
        Pinned { frame }
    }

    /// Forgets frames still marked damaged after recovery (no note rebuilt them), so a later
    /// fetch reads and reports them.
    pub(crate) fn forget_damaged(&self) {
        let mut table = self.table.lock();
        for (i, frame) in self.frames.iter().enumerate() {
            let mut data = frame.latch.write();
            if data.damaged {
                assert!(!data.dirty, "a damaged frame is never changed");
                if let Some((a, b)) = data.key.take() {
                    table.map.remove(&(a.0, b.0));
                    table.free.push(i);
                }
                data.damaged = false;
            }
        }
    }

    /// Forgets every frame without writing (after a failure, or when closing read-only).
    pub(crate) fn discard_all(&self) {
        let mut table = self.table.lock();
        table.map.clear();
        table.free = (0..self.frames.len()).rev().collect();
        for frame in self.frames.iter() {
            let mut data = frame.latch.write();
            data.key = None;
            data.dirty = false;
        }
    }
}

fn load(
    data: &mut FrameData,
    area: AreaNo,
    block: BlockNo,
    files: &DataFiles,
    fetch: Fetch,
) -> Result<()> {
    data.dirty = false;
    data.last_seq = 0;
    data.fpi_epoch = 0;
    data.damaged = false;
    files.read_raw(area, block, &mut data.buf)?;
    if let Err(reason) = block::verify(&data.buf, area, block) {
        if fetch == Fetch::Verified {
            return Err(Error::BlockCorrupt {
                path: files.path_of(area, block),
                area,
                block,
                reason,
            });
        }
        data.buf.fill(0);
        data.damaged = true;
    }
    data.key = Some((area, block));
    Ok(())
}

#[cfg(test)]
mod tests;
