//! The `-ailist` file: the after-image files to roll forward, one per line, in order.
//!
//! Invariant: blank lines and lines starting with `:`, `#` or `*` (after leading blanks) are
//! comments; every other line, trimmed, names one file, a relative name being relative to the
//! directory of the list file.

use std::path::{Path, PathBuf};

use storage::Storage;

use crate::error::{Error, Result};

/// Reads the list file at `path` (an absolute path): the files it names, in order.
/// [`Error::ListFile`] if it cannot be read, [`Error::EmptyList`] if it names none.
pub fn read_ai_list(storage: &dyn Storage, path: &Path) -> Result<Vec<PathBuf>> {
    let bytes = storage::read_all(storage, path).map_err(|source| Error::ListFile {
        path: path.to_path_buf(),
        source,
    })?;
    let files = parse_ai_list(&String::from_utf8_lossy(&bytes), path.parent());
    if files.is_empty() {
        return Err(Error::EmptyList {
            path: path.to_path_buf(),
        });
    }
    Ok(files)
}

/// The files named by the text of a list file, relative names joined to `dir`.
pub fn parse_ai_list(text: &str, dir: Option<&Path>) -> Vec<PathBuf> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with([':', '#', '*']))
        .map(|l| match dir {
            Some(dir) if Path::new(l).is_relative() => dir.join(l),
            _ => PathBuf::from(l),
        })
        .collect()
}
