//! [`DbPath`]: where a database's files are, from the argument a user gives.
//!
//! Invariant: a `DbPath` holds an absolute, lexically normalised directory and a non-empty
//! name without a path separator or a trailing `.db`; every file name derives from the two.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The location of a database: its directory and name (`D/name.db` is the control area).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DbPath {
    dir: PathBuf,
    name: String,
}

impl DbPath {
    /// Parses a database argument (`db`, `db.db`, `dir/db`, absolute or relative to the
    /// current directory).
    pub fn parse(word: &str) -> Result<DbPath> {
        let invalid = |reason: &str| Error::InvalidDbName {
            word: word.to_string(),
            reason: reason.to_string(),
        };
        if word.is_empty() {
            return Err(invalid("it is empty"));
        }
        let given = Path::new(word);
        let absolute = if given.is_absolute() {
            given.to_path_buf()
        } else {
            let cwd = std::env::current_dir()
                .map_err(|e| invalid(&format!("the current directory is unknown: {e}")))?;
            cwd.join(given)
        };
        let normal = normalize(&absolute);
        let Some(file) = normal.file_name().and_then(|f| f.to_str()) else {
            return Err(invalid("it names no file"));
        };
        let name = file.strip_suffix(".db").unwrap_or(file);
        if name.is_empty() {
            return Err(invalid("the name before `.db` is empty"));
        }
        let dir = normal
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        Ok(DbPath {
            dir,
            name: name.to_string(),
        })
    }

    /// A database named `name` in the absolute directory `dir`.
    pub fn new(dir: impl Into<PathBuf>, name: &str) -> Result<DbPath> {
        let dir = dir.into();
        let word = dir.join(name).display().to_string();
        if !dir.is_absolute() || name.is_empty() || name.contains('/') {
            return Err(Error::InvalidDbName {
                word,
                reason: "the directory must be absolute and the name a plain file name".into(),
            });
        }
        DbPath::parse(&word)
    }

    /// The absolute directory holding the control area.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database name (`db` for `db.db`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `D/name.db`, the control area.
    pub fn control_path(&self) -> PathBuf {
        self.with_ext("db")
    }

    /// `D/name.lk`, the lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.with_ext("lk")
    }

    /// `D/name.lg`, the event log.
    pub fn log_path(&self) -> PathBuf {
        self.with_ext("lg")
    }

    /// `D/name.st`, the structure description.
    pub fn st_path(&self) -> PathBuf {
        self.with_ext("st")
    }

    fn with_ext(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.name))
    }
}

impl fmt::Display for DbPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dir.join(&self.name).display())
    }
}

/// Removes `.` and resolves `..` lexically in an absolute path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_the_argument() {
        let a = DbPath::parse("/x/y/db").unwrap();
        assert_eq!(a, DbPath::parse("/x/y/db.db").unwrap());
        assert_eq!(a, DbPath::parse("/x/./z/../y/db").unwrap());
        assert_eq!(a.control_path(), PathBuf::from("/x/y/db.db"));
        assert_eq!(a.lock_path(), PathBuf::from("/x/y/db.lk"));
        assert_eq!(a.log_path(), PathBuf::from("/x/y/db.lg"));
        assert_eq!(a.st_path(), PathBuf::from("/x/y/db.st"));
        assert_eq!(a.to_string(), "/x/y/db");
        let rel = DbPath::parse("sub/db").unwrap();
        assert!(rel.dir().is_absolute());
        assert!(rel.dir().ends_with("sub"));
        assert!(DbPath::parse("").is_err());
        assert!(DbPath::parse("/x/.db").is_err());
    }
}
