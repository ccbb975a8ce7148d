//! Shared helpers: a simulated database with small fixed AI extents, filled until some are
//! Full.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use aiextent::{AI_HEADER_REGION_BYTES, AiExtentFile, AiState, ExtentInfo};
use engine::{Database, DbPath, OpenOptions};
use storage::{OpenMode, SimStorage, Storage, StorageRef};
use structure::StFile;

/// A simulated file system holding `/db` and `/arch1`, `/arch2`; the database `/db/t`.
pub fn sim_db() -> (SimStorage, StorageRef, DbPath) {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let storage: StorageRef = Arc::new(sim.clone());
    (sim, storage, DbPath::parse("/db/t").unwrap())
}

/// Options for the tests: few buffers, deterministic AI writes.
pub fn opts() -> OpenOptions {
    OpenOptions {
        buffers: 16,
        ai_parallel_sync: false,
        ..OpenOptions::default()
    }
}

/// Creates the database with `n` fixed AI extents of `kib` KiB, a table `a`, and begins
/// after-imaging.
pub fn create_ai_db(storage: &StorageRef, db: &DbPath, n: usize, kib: u64) {
    let mut text = String::from("b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\n");
    for _ in 0..n {
        text.push_str(&format!("a . f {kib}\n"));
    }
    engine::create_database(storage, db, &StFile::parse(&text).unwrap(), 1024).unwrap();
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    d.create_table("a", None).unwrap();
    d.close().unwrap();
    engine::mark_backedup(storage, db).unwrap();
    engine::aimage_begin(storage, db).unwrap();
}

/// Commits transactions (keys from `from`) until `full` extents are Full.
pub fn fill(d: &Database, from: &mut usize, full: usize) {
    while d
        .ai_extents()
        .unwrap()
        .iter()
        .filter(|i| i.state == AiState::Full)
        .count()
        < full
    {
        let mut txn = d.begin().unwrap();
        for _ in 0..4 {
            txn.insert("a", &format!("k{:06}", *from), &[b'v'; 80])
                .unwrap();
            *from += 1;
        }
        txn.commit().unwrap();
    }
}

/// Creates the database and leaves it closed with `full` Full extents (of `n`).
pub fn db_with_full(storage: &StorageRef, db: &DbPath, n: usize, full: usize) {
    create_ai_db(storage, db, n, 48);
    let d = Database::open(storage.clone(), db, opts()).unwrap();
    let mut from = 0;
    fill(&d, &mut from, full);
    d.close().unwrap();
}

/// The oldest Full extent.
pub fn oldest_full(infos: &[ExtentInfo]) -> ExtentInfo {
    infos
        .iter()
        .filter(|i| i.state == AiState::Full)
        .min_by_key(|i| i.ai_seq)
        .cloned()
        .expect("a full extent")
}

/// The notes bytes `[4096, 4096 + used)` of the extent file at `path`.
pub fn notes_of(storage: &dyn Storage, path: &Path) -> Vec<u8> {
    let file = storage.open(path, OpenMode::Read).unwrap();
    let extent = AiExtentFile::open(file.clone(), path).unwrap();
    let used = extent.header().used_bytes;
    let mut buf = vec![0u8; used as usize];
    file.read_at(&mut buf, AI_HEADER_REGION_BYTES).unwrap();
    buf
}

/// Opens an archived file as an AI file, reads every note (each frame verifies), and returns
/// its sequence, note count and notes bytes.
pub fn read_archive(storage: &dyn Storage, path: &Path) -> (u64, u64, Vec<u8>) {
    let file = storage.open(path, OpenMode::Read).unwrap();
    let extent = AiExtentFile::open(file, path).unwrap();
    assert_eq!(extent.header().state, AiState::Full);
    let mut reader = extent.read_notes().unwrap();
    let mut n = 0;
    while reader.next().unwrap().is_some() {
        n += 1;
    }
    (extent.header().ai_seq.0, n, notes_of(storage, path))
}

/// The text of a file.
pub fn text(storage: &dyn Storage, path: &Path) -> String {
    String::from_utf8(storage::read_all(storage, path).unwrap()).unwrap()
}

/// A file system over `inner` whose directories in `full` are out of space: every write to a
/// file there fails with ENOSPC (`StorageFull`).
pub struct FullDirs {
    pub inner: StorageRef,
    pub full: parking_lot::Mutex<Vec<std::path::PathBuf>>,
}

struct FullFile {
    inner: storage::FileRef,
    full: bool,
}

impl storage::StorageFile for FullFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        if self.full {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ));
        }
        self.inner.write_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len_bytes: u64) -> std::io::Result<()> {
        self.inner.set_len(len_bytes)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.inner.sync()
    }
}

impl Storage for FullDirs {
    fn open(&self, path: &Path, mode: OpenMode) -> std::io::Result<storage::FileRef> {
        let inner = self.inner.open(path, mode)?;
        let full = self.full.lock().iter().any(|d| path.starts_with(d));
        Ok(Arc::new(FullFile { inner, full }))
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> std::io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn list_dir(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        self.inner.list_dir(dir)
    }
    fn canonicalize(&self, path: &Path) -> std::io::Result<std::path::PathBuf> {
        self.inner.canonicalize(path)
    }
}
