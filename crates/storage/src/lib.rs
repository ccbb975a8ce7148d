//! The narrow I/O trait through which every byte of a database is read or written.
//!
//! Invariant: nothing written is durable until [`StorageFile::sync`] returns for that file, and
//! no create, rename or remove is durable until [`Storage::sync_dir`] returns for its directory.
//! [`RealStorage`] maps the trait onto `std::fs`; [`SimStorage`] keeps written and synced state
//! apart so tests can crash, tear writes and inject ENOSPC or EIO at the Nth operation.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod real;
mod sim;

pub use real::RealStorage;
pub use sim::{CrashMode, Fault, FaultKind, SimStorage};

/// How [`Storage::open`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Existing file, reads only.
    Read,
    /// Existing file, reads and writes.
    ReadWrite,
    /// A new file; fails with `AlreadyExists` if the path exists.
    CreateNew,
}

/// An open file. Every method takes `&self` so one handle can be shared between threads.
pub trait StorageFile: Send + Sync {
    /// Fills `buf` from `offset`; `UnexpectedEof` if the file ends first.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed. Not durable until `sync`.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// The current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// True if the file holds no bytes.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Truncates or extends (with zeros) to `len_bytes`. Not durable until `sync`.
    fn set_len(&self, len_bytes: u64) -> io::Result<()>;
    /// Makes every earlier write and `set_len` of this file durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
    /// A hint that `[offset, offset + len)` will be read soon: the file system may start
    /// reading it in the background and return at once. Returns true if the hint was taken,
    /// false if this file cannot take hints (the caller may read ahead itself); with `len` 0
    /// it only answers whether hints are taken. Changes nothing of the file and counts as no
    /// operation for fault injection.
    fn prefetch(&self, offset: u64, len: u64) -> bool {
        let _ = (offset, len);
        false
    }
    /// A hint that `[offset, offset + len)` will not be read soon: the file system may drop
    /// it from its cache (clean pages only; data written and not yet durable stays). Changes
    /// nothing of the file and counts as no operation for fault injection.
    fn drop_cached(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }
    /// A hint that `[offset, offset + len)`, just written, will neither be read nor rewritten
    /// soon: the file system may start writing it to the device in the background (so a
    /// later `sync` finds little left to do) and drop it from its cache once written. Makes
    /// nothing durable, changes nothing of the file and counts as no operation for fault
    /// injection.
    fn start_writeback(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }
}

/// A shared handle to an open file.
pub type FileRef = Arc<dyn StorageFile>;

/// A file system. Paths are used as given; callers pass absolute paths.
pub trait Storage: Send + Sync {
    /// Opens `path` in `mode`.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef>;
    /// Removes a file. Durable after `sync_dir` of its parent.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Renames a file, replacing `to` if it exists. Durable after `sync_dir` of the parent(s).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes creates, renames and removes in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// True if a file (or directory) exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// The file names (not paths) in `dir`, sorted.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// The absolute, symlink-free form of an existing `path`.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// A shared handle to a file system.
pub type StorageRef = Arc<dyn Storage>;

/// Bytes of one [`StorageFile::prefetch`] hint of [`prefetch_range`]: Linux reads at most the
/// device's read-ahead window per hint (128 KiB unless raised), so a larger step would leave
/// the rest of each step unread.
pub const PREFETCH_STEP_BYTES: u64 = 128 << 10;

/// Hints `[from, to)` of `file` (see [`StorageFile::prefetch`]) in steps of
/// [`PREFETCH_STEP_BYTES`], in order, asking `go_on` before each; stops at the first hint not
/// taken (a file that takes no hints is asked once).
pub fn prefetch_range(file: &dyn StorageFile, from: u64, to: u64, go_on: impl Fn() -> bool) {
    let mut at = from;
    while at < to && go_on() {
        let step = PREFETCH_STEP_BYTES.min(to - at);
        if !file.prefetch(at, step) {
            return;
        }
        at += step;
    }
}

/// Reads the whole file at `path`.
pub fn read_all(storage: &dyn Storage, path: &Path) -> io::Result<Vec<u8>> {
    let file = storage.open(path, OpenMode::Read)?;
    let len = usize::try_from(file.len()?)
        .map_err(|_| io::Error::new(io::ErrorKind::FileTooLarge, "file too large to read whole"))?;
    let mut buf = vec![0u8; len];
    file.read_at(&mut buf, 0)?;
    Ok(buf)
}

/// Creates `path` with `bytes`, syncs it and its directory: the file is durable on return.
pub fn create_durable(storage: &dyn Storage, path: &Path, bytes: &[u8]) -> io::Result<FileRef> {
    let file = storage.open(path, OpenMode::CreateNew)?;
    file.write_at(bytes, 0)?;
    file.sync()?;
    if let Some(dir) = path.parent() {
        storage.sync_dir(dir)?;
    }
    Ok(file)
}
