//! [`SimStorage`]: an in-memory file system that keeps what was written apart from what is
//! durable, for crash tests.
//!
//! Invariants: a file's durable content changes only by `sync` (or a torn write's landed
//! prefix); a name is durable only after `sync_dir` of its directory; every mutating call takes
//! exactly one index from one global operation counter (a call rejected for its arguments
//! alone, such as a write through a read-only handle or a relative path, takes none), and an
//! injected fault fires at exactly that index. After a crash every call fails until a [`SimStorage::crash_image`] is taken.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::{FileRef, OpenMode, Storage, StorageFile};

/// The unit in which a crash tears or keeps unsynced writes.
const SECTOR_BYTES: u64 = 512;

/// What an injected [`Fault`] does to the operation it hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The operation does nothing; it and every later call fail as if the machine stopped.
    Crash,
    /// A `write_at` lands a durable prefix (whole 512-byte sectors from the write's start, at
    /// least one byte short; the first half of a write of at most 512 bytes), then the machine
    /// stops as for [`FaultKind::Crash`]. Any other operation behaves as `Crash`.
    TornWriteCrash,
    /// The operation alone fails with `StorageFull` and changes nothing.
    Enospc,
    /// The operation alone fails with an I/O error and changes nothing.
    Eio,
}

/// A fault injected at one mutating operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fault {
    /// Index (from 0) of the mutating operation that the fault hits; see [`SimStorage::op_count`].
    pub at_op: u64,
    /// What happens there.
    pub kind: FaultKind,
}

/// Which unsynced data survives in a [`SimStorage::crash_image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrashMode {
    /// Nothing unsynced survives: the durable namespace with each file's durable content.
    LoseUnsynced,
    /// Like `LoseUnsynced`, then each unsynced write (in order) survives or not per 512-byte
    /// sector, and each unsynced `set_len` survives or not, chosen deterministically from
    /// `seed`: a disk that reordered and tore what it had not been told to make durable.
    KeepRandomSubset {
        /// Seed of the choice; the same seed on the same history gives the same image.
        seed: u64,
    },
}

/// Identity of a file (an inode), independent of its names.
type FileId = u64;

/// An unsynced change to a file, kept so that a crash image can keep part of it.
#[derive(Clone, Debug)]
enum Pending {
    /// `write_at` not yet synced.
    Write { offset: u64, data: Vec<u8> },
    /// `set_len` not yet synced.
    SetLen(u64),
    /// The prefix of a torn write: already durable, re-applied last so it stays on top.
    Landed { offset: u64, data: Vec<u8> },
}

/// One file's contents.
#[derive(Clone, Debug, Default)]
struct FileState {
    /// What reads return.
    current: Vec<u8>,
    /// What survives a crash.
    durable: Vec<u8>,
    /// Changes since the last sync, in order.
    pending: Vec<Pending>,
}

/// What [`State::begin_mutation`] tells the operation to do.
enum Proceed {
    /// Perform the operation normally.
    Normally,
    /// Land a torn prefix of this write, then crash.
    TornWrite,
}

/// The whole simulated machine.
#[derive(Debug, Default)]
struct State {
    /// Mutating operations started so far (the next one's index).
    ops: u64,
    /// Successful `write_at` calls.
    writes: u64,
    /// Successful `sync` and `sync_dir` calls.
    syncs: u64,
    fault: Option<Fault>,
    crashed: bool,
    next_file: FileId,
    files: BTreeMap<FileId, FileState>,
    /// Directories (durable as soon as created). Always holds `/`.
    dirs: BTreeSet<PathBuf>,
    /// The current namespace: file name to file.
    names: BTreeMap<PathBuf, FileId>,
    /// The namespace as of the last `sync_dir` of each directory.
    durable_names: BTreeMap<PathBuf, FileId>,
}

fn crash_error() -> io::Error {
    io::Error::other("simulated crash")
}

fn not_found(what: &str, path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{what} {} does not exist", path.display()),
    )
}

/// `path` without `.` and `..`, as an absolute path; `InvalidInput` if it is relative.
fn normalize(path: &Path) -> io::Result<PathBuf> {
    let mut components = path.components();
    if components.next() != Some(Component::RootDir) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not an absolute path", path.display()),
        ));
    }
    let mut out = PathBuf::from("/");
    for component in components {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a plain absolute path", path.display()),
                ));
            }
        }
    }
    Ok(out)
}

/// `offset` and `len` as `usize` bounds within memory, or `InvalidInput`.
fn span(offset: u64, len: usize) -> io::Result<(usize, usize)> {
    let start = usize::try_from(offset).ok();
    let end = start.and_then(|s| s.checked_add(len));
    match (start, end) {
        (Some(start), Some(end)) => Ok((start, end)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "offset beyond what the simulated file system holds",
        )),
    }
}

/// Writes `data` at `offset` of `buf`, extending it with zeros if needed.
fn apply_write(buf: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let (start, end) = span(offset, data.len()).expect("span checked before recording");
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[start..end].copy_from_slice(data);
}

/// Truncates or zero-extends `buf` to `len`.
fn apply_set_len(buf: &mut Vec<u8>, len: u64) {
    let (len, _) = span(len, 0).expect("length checked before recording");
    buf.resize(len, 0);
}

/// Length of the prefix of a write of `len` bytes that a torn write lands.
fn torn_prefix_len(len: usize) -> usize {
    let sector = SECTOR_BYTES as usize;
    if len <= sector {
        len / 2
    } else {
        (len - 1) / sector * sector
    }
}

/// A small deterministic generator (SplitMix64) for crash images.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

impl State {
    fn new() -> Self {
        let mut state = State::default();
        state.dirs.insert(PathBuf::from("/"));
        state
    }

    fn check_alive(&self) -> io::Result<()> {
        if self.crashed {
            Err(crash_error())
        } else {
            Ok(())
        }
    }

    /// Takes the next operation index and applies a fault scheduled there.
    fn begin_mutation(&mut self) -> io::Result<Proceed> {
        self.check_alive()?;
        let index = self.ops;
        self.ops += 1;
        let Some(fault) = self.fault.filter(|f| f.at_op == index) else {
            return Ok(Proceed::Normally);
        };
        match fault.kind {
            FaultKind::Crash => {
                self.crashed = true;
                Err(crash_error())
            }
            FaultKind::TornWriteCrash => Ok(Proceed::TornWrite),
            FaultKind::Enospc => Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "simulated ENOSPC: no space left on device",
            )),
            FaultKind::Eio => Err(io::Error::other("simulated EIO")),
        }
    }

    /// [`State::begin_mutation`] for operations other than `write_at`: a torn write is a crash.
    fn begin_other_mutation(&mut self) -> io::Result<()> {
        match self.begin_mutation()? {
            Proceed::Normally => Ok(()),
            Proceed::TornWrite => {
                self.crashed = true;
                Err(crash_error())
            }
        }
    }

    fn require_dir(&self, dir: &Path) -> io::Result<()> {
        if self.dirs.contains(dir) {
            Ok(())
        } else {
            Err(not_found("directory", dir))
        }
    }

    fn require_parent(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(parent) => self.require_dir(parent),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the root directory is not a file",
            )),
        }
    }

    fn file(&self, id: FileId) -> &FileState {
        self.files
            .get(&id)
            .expect("an open handle's file is never dropped")
    }

    fn file_mut(&mut self, id: FileId) -> &mut FileState {
        self.files
            .get_mut(&id)
            .expect("an open handle's file is never dropped")
    }

    /// The file system that survives a crash now.
    fn image(&self, mode: CrashMode) -> State {
        let mut rng = match mode {
            CrashMode::LoseUnsynced => None,
            CrashMode::KeepRandomSubset { seed } => Some(SplitMix64(seed)),
        };
        let mut image = State::new();
        image.dirs = self.dirs.clone();
        image.next_file = self.next_file;
        image.names = self.durable_names.clone();
        image.durable_names = self.durable_names.clone();
        let live: BTreeSet<FileId> = self.durable_names.values().copied().collect();
        for id in live {
            let file = self.file(id);
            let mut content = file.durable.clone();
            if let Some(rng) = rng.as_mut() {
                for pending in &file.pending {
                    match pending {
                        Pending::Write { offset, data } => {
                            keep_random_sectors(&mut content, *offset, data, rng)
                        }
                        Pending::SetLen(len) => {
                            if rng.coin() {
                                apply_set_len(&mut content, *len);
                            }
                        }
                        Pending::Landed { offset, data } => {
                            apply_write(&mut content, *offset, data)
                        }
                    }
                }
            }
            image.files.insert(
                id,
                FileState {
                    current: content.clone(),
                    durable: content,
                    pending: Vec::new(),
                },
            );
        }
        image
    }
}

/// Applies each 512-byte sector (aligned to the file) of a write to `content` or not, by coin.
fn keep_random_sectors(content: &mut Vec<u8>, offset: u64, data: &[u8], rng: &mut SplitMix64) {
    let mut done = 0usize;
    while done < data.len() {
        let at = offset + done as u64;
        let to_boundary = (SECTOR_BYTES - at % SECTOR_BYTES) as usize;
        let piece = to_boundary.min(data.len() - done);
        if rng.coin() {
            apply_write(content, at, &data[done..done + piece]);
        }
        done += piece;
    }
}

/// An in-memory file system for crash tests. Clones share one state.
///
/// Mutating operations, counted from 0 in one counter ([`SimStorage::op_count`]): `write_at`,
/// `set_len`, `sync`, `sync_dir`, `rename`, `remove` and `open` with [`OpenMode::CreateNew`].
/// Reads, `len`, `exists`, `list_dir`, `canonicalize` and `create_dir_all` are not counted;
/// directories are durable as soon as they are created. After a crash every call fails with
/// "simulated crash", except `exists`, which answers `false`.
#[derive(Clone)]
pub struct SimStorage {
    state: Arc<Mutex<State>>,
}

impl Default for SimStorage {
    fn default() -> Self {
        SimStorage::new()
    }
}

impl fmt::Debug for SimStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("SimStorage")
            .field("ops", &state.ops)
            .field("fault", &state.fault)
            .field("crashed", &state.crashed)
            .field("files", &state.names.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SimStorage {
    /// An empty file system holding only the root directory `/`.
    pub fn new() -> Self {
        SimStorage {
            state: Arc::new(Mutex::new(State::new())),
        }
    }

    /// Schedules `fault` (replacing any earlier one), or clears it with `None`.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.state.lock().fault = fault;
    }

    /// Mutating operations started so far, including failed ones: the index the next one takes.
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// True once a crash fault has fired.
    pub fn crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// A new, independent file system holding what survives a crash at this moment, with no
    /// fault scheduled and not crashed. Works whether or not this one has crashed.
    pub fn crash_image(&self, mode: CrashMode) -> SimStorage {
        let image = self.state.lock().image(mode);
        SimStorage {
            state: Arc::new(Mutex::new(image)),
        }
    }

    /// Successful `write_at` calls so far.
    pub fn write_count(&self) -> u64 {
        self.state.lock().writes
    }

    /// Successful `sync` and `sync_dir` calls so far.
    pub fn sync_count(&self) -> u64 {
        self.state.lock().syncs
    }
}

/// A handle to one simulated file; it keeps working after the file's name is removed.
struct SimFile {
    state: Arc<Mutex<State>>,
    id: FileId,
    writable: bool,
}

impl SimFile {
    fn require_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file was opened for reading only",
            ))
        }
    }
}

impl StorageFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let state = self.state.lock();
        state.check_alive()?;
        let current = &state.file(self.id).current;
        let (start, end) = span(offset, buf.len())?;
        if end > current.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "read of {} bytes at {offset} past end of file ({} bytes)",
                    buf.len(),
                    current.len()
                ),
            ));
        }
        buf.copy_from_slice(&current[start..end]);
        Ok(())
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.require_writable()?;
        span(offset, buf.len())?;
        let mut state = self.state.lock();
        let proceed = state.begin_mutation()?;
        let file = state.file_mut(self.id);
        match proceed {
            Proceed::Normally => {
                apply_write(&mut file.current, offset, buf);
                file.pending.push(Pending::Write {
                    offset,
                    data: buf.to_vec(),
                });
                state.writes += 1;
                Ok(())
            }
            Proceed::TornWrite => {
                let landed = &buf[..torn_prefix_len(buf.len())];
                apply_write(&mut file.current, offset, landed);
                apply_write(&mut file.durable, offset, landed);
                file.pending.push(Pending::Landed {
                    offset,
                    data: landed.to_vec(),
                });
                state.crashed = true;
                Err(crash_error())
            }
        }
    }

    fn len(&self) -> io::Result<u64> {
        let state = self.state.lock();
        state.check_alive()?;
        Ok(state.file(self.id).current.len() as u64)
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.require_writable()?;
        span(len_bytes, 0)?;
        let mut state = self.state.lock();
        state.begin_other_mutation()?;
        let file = state.file_mut(self.id);
        apply_set_len(&mut file.current, len_bytes);
        file.pending.push(Pending::SetLen(len_bytes));
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut state = self.state.lock();
        state.begin_other_mutation()?;
        let file = state.file_mut(self.id);
        file.durable = file.current.clone();
        file.pending.clear();
        state.syncs += 1;
        Ok(())
    }
}

impl Storage for SimStorage {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let path = normalize(path)?;
        let mut state = self.state.lock();
        let id = match mode {
            OpenMode::Read | OpenMode::ReadWrite => {
                state.check_alive()?;
                match state.names.get(&path) {
                    Some(id) => *id,
                    None if state.dirs.contains(&path) => {
                        return Err(io::Error::new(
                            io::ErrorKind::IsADirectory,
                            format!("{} is a directory", path.display()),
                        ));
                    }
                    None => return Err(not_found("file", &path)),
                }
            }
            OpenMode::CreateNew => {
                state.begin_other_mutation()?;
                state.require_parent(&path)?;
                if state.names.contains_key(&path) || state.dirs.contains(&path) {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} already exists", path.display()),
                    ));
                }
                let id = state.next_file;
                state.next_file += 1;
                state.files.insert(id, FileState::default());
                state.names.insert(path, id);
                id
            }
        };
        Ok(Arc::new(SimFile {
            state: Arc::clone(&self.state),
            id,
            writable: mode != OpenMode::Read,
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let path = normalize(path)?;
        let mut state = self.state.lock();
        state.begin_other_mutation()?;
        match state.names.remove(&path) {
            Some(_) => Ok(()),
            None => Err(not_found("file", &path)),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let from = normalize(from)?;
        let to = normalize(to)?;
        let mut state = self.state.lock();
        state.begin_other_mutation()?;
        let Some(&id) = state.names.get(&from) else {
            return Err(not_found("file", &from));
        };
        state.require_parent(&to)?;
        if state.dirs.contains(&to) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", to.display()),
            ));
        }
        state.names.remove(&from);
        state.names.insert(to, id);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = normalize(dir)?;
        let mut state = self.state.lock();
        state.begin_other_mutation()?;
        state.require_dir(&dir)?;
        let in_dir = |path: &PathBuf| path.parent() == Some(dir.as_path());
        state.durable_names.retain(|path, _| !in_dir(path));
        let current: Vec<(PathBuf, FileId)> = state
            .names
            .iter()
            .filter(|(path, _)| in_dir(path))
            .map(|(path, id)| (path.clone(), *id))
            .collect();
        state.durable_names.extend(current);
        state.syncs += 1;
        Ok(())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let dir = normalize(dir)?;
        let mut state = self.state.lock();
        state.check_alive()?;
        if state.names.keys().any(|file| dir.starts_with(file)) {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("a file is in the way of directory {}", dir.display()),
            ));
        }
        for ancestor in dir.ancestors() {
            state.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let Ok(path) = normalize(path) else {
            return false;
        };
        let state = self.state.lock();
        !state.crashed && (state.names.contains_key(&path) || state.dirs.contains(&path))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let dir = normalize(dir)?;
        let state = self.state.lock();
        state.check_alive()?;
        state.require_dir(&dir)?;
        let files = state.names.keys();
        let subdirs = state.dirs.iter().filter(|d| **d != dir);
        let mut names: Vec<String> = files
            .chain(subdirs)
            .filter(|path| path.parent() == Some(dir.as_path()))
            .filter_map(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let path = normalize(path)?;
        let state = self.state.lock();
        state.check_alive()?;
        if state.names.contains_key(&path) || state.dirs.contains(&path) {
            Ok(path)
        } else {
            Err(not_found("path", &path))
        }
    }
}
