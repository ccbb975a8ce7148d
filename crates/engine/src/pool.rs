//! The buffer pool: a fixed set of frames holding blocks keyed by (area, block), with clock
//! eviction.
//!
//! Invariants: a frame's key changes only under the table lock and only while the frame is
//! unpinned; a caller pins a frame (under the table lock) before latching it, so an unpinned
//! frame is unlatched; a dirty frame reaches its extent only after the log is durable up to the
//! frame's last note (write-ahead); the hot path allocates nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use masterblock::{AreaNo, BlockNo, NoteSeq};
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::block;
use crate::error::{Error, Result};
use crate::extent::DataFiles;
use crate::log::LogManager;

/// The contents and state of one frame.
pub(crate) struct FrameData {
    /// The block held, if any.
    pub key: Option<(AreaNo, BlockNo)>,
    /// The whole block (header and body).
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
    map: HashMap<(u32, u32), usize>,
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
    frames: Box<[Frame]>,
    table: Mutex<Table>,
    epoch: AtomicU64,
    blocks_written: AtomicU64,
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
                    buf: vec![0u8; block_size as usize].into_boxed_slice(),
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
            table: Mutex::new(Table {
                map: HashMap::with_capacity(buffers * 2),
                free: (0..buffers).rev().collect(),
                hand: 0,
            }),
            frames: frames.into_boxed_slice(),
            epoch: AtomicU64::new(1),
            blocks_written: AtomicU64::new(0),
        }
    }

    /// The current checkpoint epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Starts a new checkpoint epoch.
    pub(crate) fn advance_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Blocks written to extents so far.
    pub(crate) fn blocks_written(&self) -> u64 {
        self.blocks_written.load(Ordering::Relaxed)
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
                self.write_frame(&mut data, files, log)?;
            }
            return Ok(Some(i));
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

    /// Writes every dirty frame (the caller has made the log durable and holds changes out).
    pub(crate) fn flush_dirty(&self, files: &DataFiles, log: &LogManager) -> Result<()> {
        for frame in self.frames.iter() {
            {
                let _table = self.table.lock();
                frame.pins.fetch_add(1, Ordering::Acquire);
            }
            let pinned = Pinned { frame };
            let mut data = pinned.write();
            if data.dirty {
                self.write_frame(&mut data, files, log)?;
            }
        }
        Ok(())
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
