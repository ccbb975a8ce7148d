//! The `.lk` lock file that keeps a database to one opener at a time.
//!
//! Invariant: while a [`LockFile`] lives, no other `LockFile` for the same path on the same file
//! system can be acquired. On a real file system this is the OS lock (`File::try_lock`) on the
//! `.lk` file, re-checked against the path's inode after locking; on a simulated file system
//! (tests) it is an in-process registry keyed by the storage instance and the path. The file
//! holds the mode (`single-user`, or `server` with the socket a server answers on), pid and
//! host of the holder and is removed on release.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use storage::{OpenMode, StorageRef};

use crate::error::{Error, Result};

/// Sim-storage locks held in this process: (storage identity, lock path).
static SIM_LOCKS: Mutex<Vec<(usize, PathBuf)>> = Mutex::new(Vec::new());

/// A held database lock; released (and the file removed) on drop.
pub(crate) struct LockFile {
    path: PathBuf,
    kind: Kind,
}

enum Kind {
    Real { file: fs::File },
    Sim { storage: StorageRef, key: usize },
}

fn storage_key(storage: &StorageRef) -> usize {
    Arc::as_ptr(storage) as *const () as usize
}

fn contents(socket: Option<&Path>) -> String {
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string());
    match socket {
        None => format!(
            "mode single-user\npid {}\nhost {host}\n",
            std::process::id()
        ),
        Some(socket) => format!(
            "mode server\npid {}\nhost {host}\nsocket {}\n",
            std::process::id(),
            socket.display()
        ),
    }
}

/// The pid recorded in lock file contents, 0 if none.
fn parse_pid(text: &str) -> u32 {
    text.lines()
        .find_map(|l| l.strip_prefix("pid "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0)
}

impl LockFile {
    /// Takes the lock at `path`, or fails with [`Error::InUse`].
    pub(crate) fn acquire(storage: &StorageRef, path: &Path) -> Result<LockFile> {
        if is_real(storage, path) {
            acquire_real(path)
        } else {
            acquire_sim(storage, path)
        }
    }
}

/// True if `storage` is the operating system's file system at `path`'s directory: the
/// directory exists for `std::fs` and the storage sees a probe file created through `std::fs`.
fn is_real(storage: &StorageRef, path: &Path) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    if !dir.is_dir() || !storage.exists(dir) {
        return false;
    }
    if path.exists() {
        return storage.exists(path);
    }
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => {
            let seen = storage.exists(path);
            if !seen {
                let _ = fs::remove_file(path);
            }
            seen
        }
        // Lost a race with another creator: the file now exists for std::fs.
        Err(_) => storage.exists(path),
    }
}

fn acquire_real(path: &Path) -> Result<LockFile> {
    loop {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(Error::io("open the lock file", path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let pid = parse_pid(&fs::read_to_string(path).unwrap_or_default());
                return Err(Error::InUse {
                    path: path.to_path_buf(),
                    pid,
                });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io("lock", path)(e));
            }
        }
        // A closer may have removed the file between our open and our lock: then the lock is
        // on an unlinked inode and the path must be tried again.
        let held = file.metadata().map_err(Error::io("inspect", path))?;
        match fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {}
            _ => continue,
        }
        file.set_len(0).map_err(Error::io("write", path))?;
        file.write_all(contents(None).as_bytes())
            .map_err(Error::io("write", path))?;
        return Ok(LockFile {
            path: path.to_path_buf(),
            kind: Kind::Real { file },
        });
    }
}

fn acquire_sim(storage: &StorageRef, path: &Path) -> Result<LockFile> {
    let key = storage_key(storage);
    {
        let mut held = SIM_LOCKS.lock();
        if held.iter().any(|(k, p)| *k == key && p == path) {
            let pid = storage::read_all(storage.as_ref(), path)
                .map(|b| parse_pid(&String::from_utf8_lossy(&b)))
                .unwrap_or(std::process::id());
            return Err(Error::InUse {
                path: path.to_path_buf(),
                pid,
            });
        }
        held.push((key, path.to_path_buf()));
    }
    let lock = LockFile {
        path: path.to_path_buf(),
        kind: Kind::Sim {
            storage: Arc::clone(storage),
            key,
        },
    };
    let file = if storage.exists(path) {
        storage.open(path, OpenMode::ReadWrite)
    } else {
        storage.open(path, OpenMode::CreateNew)
    }
    .map_err(Error::io("open the lock file", path))?;
    file.set_len(0).map_err(Error::io("write", path))?;
    file.write_at(contents(None).as_bytes(), 0)
        .map_err(Error::io("write", path))?;
    Ok(lock)
}

impl LockFile {
    /// Rewrites the file to say a server holds the database and answers on `socket`.
    pub(crate) fn mark_server(&self, socket: &Path) -> Result<()> {
        let text = contents(Some(socket));
        match &self.kind {
            Kind::Real { file } => {
                use std::os::unix::fs::FileExt;
                file.set_len(0).map_err(Error::io("write", &self.path))?;
                file.write_all_at(text.as_bytes(), 0)
                    .map_err(Error::io("write", &self.path))
            }
            Kind::Sim { storage, .. } => {
                let file = storage
                    .open(&self.path, OpenMode::ReadWrite)
                    .map_err(Error::io("open the lock file", &self.path))?;
                file.set_len(0).map_err(Error::io("write", &self.path))?;
                file.write_at(text.as_bytes(), 0)
                    .map_err(Error::io("write", &self.path))
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Real { file } => {
                // Remove while still locked; an opener that locked the old inode meanwhile
                // notices the path changed and retries.
                let _ = fs::remove_file(&self.path);
                let _ = file.unlock();
            }
            Kind::Sim { storage, key } => {
                let _ = storage.remove(&self.path);
                SIM_LOCKS
                    .lock()
                    .retain(|(k, p)| !(*k == *key && *p == self.path));
            }
        }
    }
}
