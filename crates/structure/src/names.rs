//! Extent file names and path arithmetic: generated names (`db.b1`, `db.d1`, `db_7.d1`,
//! `db.a1`), which `.st` paths are directories, and lexical resolution of relative paths
//! against the directory of the control area. Nothing here touches the file system.

use std::path::{Component, Path, PathBuf};

use masterblock::AreaNo;

use crate::AreaKind;

/// The file name OpenEdge generates for an extent of database `db_name`.
///
/// `Control` gives `db.db`; `Bi` gives `db.bE`; `Data` gives `db.dE` for the Schema Area (6)
/// and `db_A.dE` for data area `A`; `Ai` gives `db.aE`, where for AI extents `extent_number`
/// is the AI extent number N (numbered across all AI extents), not the extent's number within
/// its one-extent area.
pub fn generated_name(db_name: &str, kind: AreaKind, area: AreaNo, extent_number: u32) -> String {
    match kind {
        AreaKind::Control => format!("{db_name}.db"),
        AreaKind::Bi => format!("{db_name}.b{extent_number}"),
        AreaKind::Data if area == crate::SCHEMA_AREA => format!("{db_name}.d{extent_number}"),
        AreaKind::Data => format!("{db_name}_{}.d{extent_number}", area.0),
        AreaKind::Ai => format!("{db_name}.a{extent_number}"),
    }
}

/// The database name of a control area path `D/name.db`, if it has that form.
pub(crate) fn db_name(control_path: &Path) -> Option<&str> {
    let file = control_path.file_name()?.to_str()?;
    let name = file.strip_suffix(".db")?;
    (!name.is_empty()).then_some(name)
}

/// True if a `.st` path names a directory (the extent's file name is then generated): it ends
/// with a separator, is `.` or `..` (or ends with `/.` or `/..`), or its last component has no
/// `.` in it (`/vol3/ai`). Extent files always have an extension, so `/vol3/ai` is a directory.
pub(crate) fn is_directory(path: &str) -> bool {
    if path.ends_with('/') || path.ends_with(std::path::MAIN_SEPARATOR) {
        return true;
    }
    match Path::new(path).components().next_back() {
        Some(Component::Normal(last)) => !last.to_string_lossy().contains('.'),
        _ => true,
    }
}

/// `path` made absolute against `base_dir` (if relative) and lexically normalised: `.`
/// components dropped, `..` removing the previous component (never above the root).
pub(crate) fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    };
    normalise(&joined)
}

/// `path` lexically normalised (see [`resolve`]).
pub(crate) fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if out.parent().is_some() {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The absolute path of an extent whose `.st` path is `st_path`: a directory gets
/// `generated` appended.
pub(crate) fn extent_path(base_dir: &Path, st_path: &str, generated: &str) -> PathBuf {
    let dir_or_file = resolve(base_dir, Path::new(st_path));
    if is_directory(st_path) {
        dir_or_file.join(generated)
    } else {
        dir_or_file
    }
}
