//! The afterimage broker: [`serve`] opens a database and serves clients on a Unix domain
//! socket next to it (`db.sock`), one thread and one session per connection, each session with
//! at most one transaction; [`Client`] is the other end, and [`ServerConnector`] opens one
//! client per workload thread.
//!
//! Invariants: the broker holds `db.lk` in server mode for as long as it serves; every
//! connection that ends (closed, killed, sent a bad frame, shut down) has its transaction
//! rolled back; a bad frame closes only its own connection. The wire protocol is
//! docs/formats/protocol.md.
//!
//! ```no_run
//! use std::sync::Arc;
//! use engine::DbPath;
//! let storage: storage::StorageRef = Arc::new(storage::RealStorage);
//! let db = DbPath::parse("sports")?;
//! let handle = server::serve(storage.clone(), &db, server::ServeOptions::default())?;
//! let client = server::Client::connect(handle.socket())?;
//! let txn = client.begin()?;
//! txn.insert("customer", "1", b"Lift Tours")?;
//! txn.commit()?;
//! client.shutdown(server::ShutdownMode::Unconditional)?;
//! handle.wait()?;
//! # Ok::<(), server::Error>(())
//! ```

mod admin;
mod broker;
mod client;
mod conn;
mod error;
mod lockinfo;
pub mod protocol;
mod session_impl;

pub use broker::{ServeOptions, ServerHandle, Stopped, serve};
pub use client::{Client, ClientTxn, ServerConnector};
pub use error::{Error, MESSAGES, Result};
pub use lockinfo::{MAX_SOCKET_PATH_BYTES, ServerInfo, server_info, socket_path};
pub use protocol::{ArchiverCommand, BackupReport, EmptyWhich, QuietSwitch, ShutdownMode};
