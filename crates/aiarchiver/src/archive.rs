//! Archiving one Full AI extent: its notes copied to `TARGET.tmp` behind a header region that
//! describes the copy (docs/formats/aifm.md), synced, read back and verified, renamed to
//! `TARGET` and the directory synced; then the caller logs the archive and empties the extent.
//!
//! Invariants: an archived file's name only ever holds a complete, verified copy (the rename
//! is the commit point and never replaces an existing file); the extent stays Full until its
//! copy is durable, so a crash at any step leaves it to be archived again; an existing copy of
//! the same name is accepted only if it is byte for byte the copy this extent makes.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use aiextent::{AI_HEADER_REGION_BYTES, AiExtentFile, AiHeader, AiState, ExtentInfo};
use masterblock::AiSeq;
use storage::{FileRef, OpenMode, Storage};

use crate::error::Error;

/// Bytes copied or compared per read.
const CHUNK_BYTES: u64 = 1 << 20;

/// Whether an archive wrote a new file or found its complete copy already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copied {
    /// The copy was written now.
    New,
    /// An identical copy was there already (an earlier archive cut short before the extent
    /// was emptied).
    AlreadyThere,
}

/// A Full extent opened for archiving.
pub(crate) struct Source {
    pub ai_number: u32,
    pub extent: AiExtentFile,
}

impl Source {
    /// Opens the extent of `info` and checks that it is still Full with the same sequence.
    pub fn open(storage: &dyn Storage, info: &ExtentInfo) -> Result<Source, Error> {
        let not_full = |state: String| Error::ExtentNotFull {
            path: info.path.clone(),
            state,
        };
        if info.state != AiState::Full {
            return Err(not_full(info.state.to_string()));
        }
        let file = storage
            .open(&info.path, OpenMode::Read)
            .map_err(Error::io("open", &info.path))?;
        let extent = AiExtentFile::open(file, &info.path)?;
        let h = extent.header();
        if h.state != AiState::Full || h.ai_seq != info.ai_seq {
            return Err(not_full(format!(
                "{} with sequence {} (was Full with sequence {})",
                h.state, h.ai_seq, info.ai_seq
            )));
        }
        Ok(Source {
            ai_number: info.ai_number,
            extent,
        })
    }

    pub fn header(&self) -> &AiHeader {
        self.extent.header()
    }

    pub fn path(&self) -> &Path {
        self.extent.path()
    }

    pub fn ai_seq(&self) -> AiSeq {
        self.header().ai_seq
    }

    fn used_bytes(&self) -> u64 {
        self.header().used_bytes
    }
}

/// The header region of the archived copy: slot 0 holds the extent's Full header described
/// as a variable extent (so the copy needs no preallocated size), slot 1 and the rest zeros.
pub fn archived_header_region(source: &AiHeader) -> Vec<u8> {
    let mut header = *source;
    header.ext.fixed = false;
    header.ext.size_kib = 0;
    let mut region = vec![0u8; AI_HEADER_REGION_BYTES as usize];
    let slot = header.encode();
    region[..slot.len()].copy_from_slice(&slot);
    region
}

/// `TARGET.tmp`.
pub fn tmp_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".tmp");
    PathBuf::from(name)
}

/// True if `e` says the disk is full.
pub(crate) fn is_disk_full(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == ErrorKind::StorageFull)
}

/// Compares `len` bytes of `a` at `a_at` with `b` at `b_at`; the offset (from 0) of the first
/// chunk that differs, if any.
fn compare_ranges(
    a: &FileRef,
    a_path: &Path,
    a_at: u64,
    b: &FileRef,
    b_path: &Path,
    b_at: u64,
    len: u64,
) -> Result<Option<u64>, Error> {
    let mut done = 0;
    let mut abuf = vec![0u8; CHUNK_BYTES.min(len) as usize];
    let mut bbuf = abuf.clone();
    while done < len {
        let n = CHUNK_BYTES.min(len - done) as usize;
        a.read_at(&mut abuf[..n], a_at + done)
            .map_err(Error::io("read", a_path))?;
        b.read_at(&mut bbuf[..n], b_at + done)
            .map_err(Error::io("read", b_path))?;
        if abuf[..n] != bbuf[..n] {
            return Ok(Some(done));
        }
        done += n as u64;
    }
    Ok(None)
}

/// What differs between the file at `path` and the copy of `source`; `None` if it is the copy.
fn difference(
    storage: &dyn Storage,
    path: &Path,
    source: &Source,
) -> Result<Option<String>, Error> {
    let file = storage
        .open(path, OpenMode::Read)
        .map_err(Error::io("open", path))?;
    let len = file.len().map_err(Error::io("read the length of", path))?;
    let want = AI_HEADER_REGION_BYTES + source.used_bytes();
    if len != want {
        return Ok(Some(format!("it is {len} bytes long, the copy is {want}")));
    }
    let region = archived_header_region(source.header());
    let mut got = vec![0u8; region.len()];
    file.read_at(&mut got, 0).map_err(Error::io("read", path))?;
    if got != region {
        return Ok(Some("its header differs from the extent's".into()));
    }
    let src = source.extent.file();
    if let Some(at) = compare_ranges(
        &file,
        path,
        AI_HEADER_REGION_BYTES,
        src,
        source.path(),
        AI_HEADER_REGION_BYTES,
        source.used_bytes(),
    )? {
        return Ok(Some(format!(
            "its notes differ from the extent's within {CHUNK_BYTES} bytes of offset {}",
            AI_HEADER_REGION_BYTES + at
        )));
    }
    Ok(None)
}

/// Reads the copy at `path` back as an AI file: its header is the extent's, every note frame
/// verifies under the extent's sequence, and its bytes equal the extent's.
fn verify_copy(storage: &dyn Storage, path: &Path, source: &Source) -> Result<(), Error> {
    let failed = |detail: String| Error::VerifyFailed {
        path: path.to_path_buf(),
        extent: source.path().to_path_buf(),
        detail,
    };
    let file = storage
        .open(path, OpenMode::Read)
        .map_err(Error::io("open", path))?;
    let copy = AiExtentFile::open(file, path).map_err(|e| failed(e.to_string()))?;
    let (h, s) = (copy.header(), source.header());
    if h.state != AiState::Full
        || h.ai_seq != s.ai_seq
        || h.used_bytes != s.used_bytes
        || h.ext.db_id != s.ext.db_id
    {
        return Err(failed(format!(
            "its header says {} sequence {} with {} bytes of notes, the extent {} sequence {} with {}",
            h.state, h.ai_seq, h.used_bytes, s.state, s.ai_seq, s.used_bytes
        )));
    }
    let mut reader = copy.read_notes().map_err(|e| failed(e.to_string()))?;
    let mut notes = 0u64;
    while reader.next().map_err(|e| failed(e.to_string()))?.is_some() {
        notes += 1;
    }
    if notes == 0 {
        return Err(failed("it holds no notes".into()));
    }
    if let Some(detail) = difference(storage, path, source)? {
        return Err(failed(detail));
    }
    Ok(())
}

/// Writes the copy to `tmp` and syncs it.
fn write_copy(storage: &dyn Storage, tmp: &Path, source: &Source) -> Result<(), Error> {
    let file = storage
        .open(tmp, OpenMode::CreateNew)
        .map_err(Error::io("create", tmp))?;
    file.write_at(&archived_header_region(source.header()), 0)
        .map_err(Error::io("write", tmp))?;
    let src = source.extent.file();
    let used = source.used_bytes();
    let mut buf = vec![0u8; CHUNK_BYTES.min(used) as usize];
    let mut done = 0;
    while done < used {
        let n = CHUNK_BYTES.min(used - done) as usize;
        let at = AI_HEADER_REGION_BYTES + done;
        src.read_at(&mut buf[..n], at)
            .map_err(Error::io("read", source.path()))?;
        file.write_at(&buf[..n], at)
            .map_err(Error::io("write", tmp))?;
        done += n as u64;
    }
    file.sync().map_err(Error::io("sync", tmp))
}

/// Archives `source` to exactly `target`: an existing identical copy is accepted
/// ([`Copied::AlreadyThere`]), a different one refused ([`Error::ArchivedCopyDiffers`]).
/// On failure the tmp file is removed (best effort) and `target` is untouched.
pub(crate) fn copy_to(
    storage: &dyn Storage,
    source: &Source,
    target: &Path,
) -> Result<Copied, Error> {
    if storage.exists(target) {
        return match difference(storage, target, source)? {
            None => Ok(Copied::AlreadyThere),
            Some(_) => Err(Error::ArchivedCopyDiffers {
                path: target.to_path_buf(),
                extent: source.path().to_path_buf(),
                ai_seq: source.ai_seq().0,
            }),
        };
    }
    let tmp = tmp_path(target);
    if storage.exists(&tmp) {
        storage.remove(&tmp).map_err(Error::io("remove", &tmp))?;
    }
    let written =
        write_copy(storage, &tmp, source).and_then(|()| verify_copy(storage, &tmp, source));
    if let Err(e) = written {
        let _ = storage.remove(&tmp);
        return Err(e);
    }
    if storage.exists(target) {
        let _ = storage.remove(&tmp);
        return Err(Error::TargetExists {
            path: target.to_path_buf(),
        });
    }
    storage
        .rename(&tmp, target)
        .map_err(Error::io("rename into place", target))?;
    let dir = target.parent().unwrap_or(Path::new("/"));
    storage
        .sync_dir(dir)
        .map_err(Error::io("sync the directory", dir))?;
    Ok(Copied::New)
}

/// Archives `source` as `name` in the first of `dirs` with room: an identical copy already in
/// any of them is accepted; a full disk (ENOSPC) moves on to the next directory. Returns the
/// archived file.
pub(crate) fn copy_to_dirs(
    storage: &dyn Storage,
    source: &Source,
    name: &str,
    dirs: &[PathBuf],
) -> Result<(PathBuf, Copied), Error> {
    for dir in dirs {
        let target = dir.join(name);
        if storage.exists(&target) {
            return copy_to(storage, source, &target).map(|c| (target, c));
        }
    }
    for dir in dirs {
        let target = dir.join(name);
        match copy_to(storage, source, &target) {
            Ok(copied) => return Ok((target, copied)),
            Err(e) if is_disk_full(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::AllDirsFull {
        dirs: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(","),
    })
}
