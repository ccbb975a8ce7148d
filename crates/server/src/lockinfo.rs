//! Finding a running server: the socket path next to the database and the `db.lk` contents
//! (`mode server`, `pid`, `socket`).
//!
//! Invariant: a lock file is only a hint (it may be left behind by a killed broker): a client
//! trusts it only once the socket answers the greeting.

use std::path::PathBuf;

use engine::DbPath;
use storage::StorageRef;

/// Longest socket path a Unix socket address holds (108 bytes with the terminating NUL).
pub const MAX_SOCKET_PATH_BYTES: usize = 107;

/// The socket a server of `db` listens on: `db.sock` next to the control area.
pub fn socket_path(db: &DbPath) -> PathBuf {
    db.dir().join(format!("{}.sock", db.name()))
}

/// What `db.lk` says about a server holding the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// The broker's process id.
    pub pid: u32,
    /// The socket it listens on.
    pub socket: PathBuf,
}

/// The server named by `db.lk`, if the file exists and says `mode server` with a socket.
pub fn server_info(storage: &StorageRef, db: &DbPath) -> Option<ServerInfo> {
    let bytes = storage::read_all(storage.as_ref(), &db.lock_path()).ok()?;
    parse(&String::from_utf8_lossy(&bytes))
}

/// Parses lock file contents.
pub(crate) fn parse(text: &str) -> Option<ServerInfo> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .map(str::trim)
    };
    if field("mode")? != "server" {
        return None;
    }
    Some(ServerInfo {
        pid: field("pid").and_then(|p| p.parse().ok()).unwrap_or(0),
        socket: PathBuf::from(field("socket")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_and_ignores_single_user() {
        let info = parse("mode server\npid 42\nhost h\nsocket /d/db.sock\n").unwrap();
        assert_eq!(info.pid, 42);
        assert_eq!(info.socket, PathBuf::from("/d/db.sock"));
        assert_eq!(parse("mode single-user\npid 42\nhost h\n"), None);
        assert_eq!(parse("mode server\npid 42\n"), None);
    }
}
