//! [`RealStorage`]: the [`Storage`] trait mapped one to one onto `std::fs`.
//!
//! Positional I/O uses `pread`/`pwrite` (`FileExt`), so handles are shared between threads
//! without a seek position; `sync` is `fdatasync` and `sync_dir` is `fsync` of the directory;
//! `prefetch` is `posix_fadvise(WILLNEED)` and `drop_cached` `posix_fadvise(DONTNEED)`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{FileRef, OpenMode, Storage, StorageFile};

/// The operating system's file system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealStorage;

impl RealStorage {
    /// A handle to the real file system.
    pub fn new() -> Self {
        RealStorage
    }
}

/// An open operating-system file.
#[derive(Debug)]
struct RealFile {
    file: File,
}

impl StorageFile for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.file.set_len(len_bytes)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn prefetch(&self, offset: u64, len: u64) -> bool {
        // `posix_fadvise(WILLNEED)` queues the reads and returns without waiting for them.
        let Some(len) = std::num::NonZeroU64::new(len) else {
            return true;
        };
        rustix::fs::fadvise(&self.file, offset, Some(len), rustix::fs::Advice::WillNeed).is_ok()
    }

    fn start_writeback(&self, offset: u64, len: u64) {
        // On Linux, `posix_fadvise(DONTNEED)` starts the writeback of the range's dirty pages
        // without waiting for it (then drops the pages already clean): the asynchronous half
        // of `sync_file_range`, reached without unsafe code. Elsewhere it is a cache hint.
        self.drop_cached(offset, len);
    }

    fn drop_cached(&self, offset: u64, len: u64) {
        if let Some(len) = std::num::NonZeroU64::new(len) {
            // A hint: if it is not taken, the pages just stay cached.
            let _ =
                rustix::fs::fadvise(&self.file, offset, Some(len), rustix::fs::Advice::DontNeed);
        }
    }
}

impl Storage for RealStorage {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let mut options = OpenOptions::new();
        match mode {
            OpenMode::Read => options.read(true),
            OpenMode::ReadWrite => options.read(true).write(true),
            OpenMode::CreateNew => options.read(true).write(true).create_new(true),
        };
        let file = options.open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            ));
        }
        Ok(Arc::new(RealFile { file }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name().into_string().map_err(|raw| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("file name {raw:?} in {} is not UTF-8", dir.display()),
                )
            })?;
            names.push(name);
        }
        names.sort();
        Ok(names)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        fs::canonicalize(path)
    }
}
