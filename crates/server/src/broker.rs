//! The broker: opens the database in server mode, listens on its socket, runs one thread per
//! connection, and stops on a `Shutdown` request.
//!
//! Invariants: the database is opened before the socket exists and closed (checkpoint, clean
//! state, `db.lk` released) only after every connection thread has ended, so no transaction
//! outlives it; a stop is decided once (the first `Shutdown` accepted wins); an emergency stop
//! never closes the database: the caller ends the process holding it.

use std::collections::HashMap;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use engine::{Database, DbPath, OpenOptions};
use parking_lot::{Condvar, Mutex};
use storage::StorageRef;

use crate::error::{Error, Result};
use crate::lockinfo::{MAX_SOCKET_PATH_BYTES, socket_path};
use crate::protocol::ShutdownMode;

/// Source name of the broker's event-log lines.
pub(crate) const LOG_SOURCE: &str = "BROKER";

/// Options of [`serve`].
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// How to open the database (`-B` is `open.buffers`); `server_socket` is set by `serve`.
    pub open: OpenOptions,
    /// The socket path; `None`: [`socket_path`] (`db.sock` next to the database).
    pub socket: Option<PathBuf>,
    /// `-aiarcdir` (with `-aiarcinterval`, `-aiarcdircreate`): enable the AI archiver with
    /// these settings before opening, as `rfutil aiarchiver enable` would.
    pub archiver: Option<aiarchiver::Settings>,
    /// How the archiver daemon polls (tests shorten it).
    pub archiver_daemon: aiarchiver::DaemonOptions,
}

/// How the server stopped.
pub enum Stopped {
    /// `proshut -by` or `-bn`: transactions rolled back, checkpointed, closed.
    Clean,
    /// `proshut -F`: nothing was closed. The caller must end the process while holding this
    /// (`std::process::exit`) so that the next open runs crash recovery; dropping it instead
    /// closes the database normally.
    Emergency(Arc<Database>),
    /// Without `-aistall`, a switch found the next AI extent not Empty (3774): the engine's
    /// log stopped, every connection was closed and the socket removed. As for
    /// [`Stopped::Emergency`], the caller ends the process holding the database, which is left
    /// as a crash leaves it.
    AiExtentFull(Arc<Database>),
}

/// The stop decided by a `Shutdown` request.
pub(crate) struct StopState {
    pub mode: Option<ShutdownMode>,
    /// The connection that asked.
    pub requester: u64,
    /// The outcome, once known: `Ok` or (number, text).
    pub outcome: Option<std::result::Result<(), (u32, String)>>,
    /// The requester wrote its answer (emergency stop waits for it).
    pub answered: bool,
    /// The stop is the engine's: its log stopped with 3774.
    pub ai_full: bool,
}

/// What the broker's threads share.
pub(crate) struct Shared {
    pub storage: StorageRef,
    pub path: DbPath,
    pub socket: PathBuf,
    pub db: Mutex<Option<Arc<Database>>>,
    pub conns: Mutex<HashMap<u64, UnixStream>>,
    pub conns_cv: Condvar,
    pub stop: Mutex<StopState>,
    pub stop_cv: Condvar,
    /// The AI archiver daemon while it runs.
    pub archiver: Mutex<Option<aiarchiver::ArchiverHandle>>,
    /// How the daemon is started.
    pub archiver_daemon: aiarchiver::DaemonOptions,
    /// `-aistall` as the server was started (restored when the archiver is disabled).
    pub aistall: bool,
}

impl Shared {
    /// The database, unless the server is stopping.
    pub(crate) fn database(&self) -> Option<Arc<Database>> {
        if self.stop.lock().mode.is_some() {
            return None;
        }
        self.db.lock().clone()
    }

    pub(crate) fn log(&self, text: &str, number: Option<u32>) {
        engine::log_event_at(&self.storage, &self.path, LOG_SOURCE, text, number);
    }

    /// Asks for a stop (from connection `id`) and waits for its outcome. `-bn` is refused
    /// while another connection is open.
    pub(crate) fn request_stop(&self, id: u64, mode: ShutdownMode) -> Result<()> {
        {
            let mut stop = self.stop.lock();
            if stop.mode.is_some() {
                return Err(Error::ShuttingDown);
            }
            if mode == ShutdownMode::IfIdle {
                let others = self.conns.lock().len().saturating_sub(1);
                if others > 0 {
                    return Err(Error::ClientsConnected { clients: others });
                }
            }
            stop.mode = Some(mode);
            stop.requester = id;
        }
        // Wake the accept loop, which carries the stop out.
        let _ = UnixStream::connect(&self.socket);
        let mut stop = self.stop.lock();
        while stop.outcome.is_none() {
            self.stop_cv.wait(&mut stop);
        }
        match stop.outcome.clone().expect("checked above") {
            Ok(()) => Ok(()),
            Err((number, text)) => Err(Error::Remote { number, text }),
        }
    }

    /// The engine's log stopped with 3774 (no `-aistall`): the server stops by itself. A stop
    /// already decided stays as it is.
    pub(crate) fn halt_ai_full(&self) {
        {
            let mut stop = self.stop.lock();
            if stop.mode.is_some() {
                return;
            }
            stop.mode = Some(ShutdownMode::Emergency);
            stop.requester = u64::MAX;
            stop.ai_full = true;
        }
        let _ = UnixStream::connect(&self.socket);
    }

    /// Starts the archiver daemon on `db` with `settings` unless it runs.
    pub(crate) fn start_archiver(
        &self,
        db: &Arc<Database>,
        settings: aiarchiver::Settings,
    ) -> Result<()> {
        let mut slot = self.archiver.lock();
        if slot
            .as_ref()
            .is_some_and(aiarchiver::ArchiverHandle::is_running)
        {
            if let Some(handle) = slot.as_ref() {
                handle.update_settings(settings);
            }
            return Ok(());
        }
        db.set_ai_stall(true);
        *slot = Some(aiarchiver::Archiver::start_with(
            Arc::clone(db),
            settings,
            self.archiver_daemon.clone(),
        )?);
        Ok(())
    }

    /// Stops the archiver daemon if it runs.
    pub(crate) fn stop_archiver(&self) {
        let handle = self.archiver.lock().take();
        if let Some(handle) = handle {
            handle.stop();
        }
    }

    /// Wakes the archiver daemon (an extent may have become Full).
    pub(crate) fn wake_archiver(&self) {
        if let Some(handle) = self.archiver.lock().as_ref() {
            handle.wake();
        }
    }

    /// The requester of an emergency stop wrote its answer.
    pub(crate) fn answered(&self) {
        self.stop.lock().answered = true;
        self.stop_cv.notify_all();
    }
}

/// A running server.
pub struct ServerHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<Stopped>>>,
}

impl ServerHandle {
    /// The socket clients connect to.
    pub fn socket(&self) -> &Path {
        &self.shared.socket
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared.conns.lock().len()
    }

    /// Waits until a `Shutdown` request stopped the server.
    pub fn wait(mut self) -> Result<Stopped> {
        let thread = self.thread.take().expect("joined once");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            // Dropped without a shutdown request: stop as -by would.
            let _ = self
                .shared
                .request_stop(u64::MAX, ShutdownMode::Unconditional);
            let _ = thread.join();
        }
    }
}

/// Opens `db` in server mode and serves it on its socket until a `Shutdown` request.
pub fn serve(storage: StorageRef, db: &DbPath, opts: ServeOptions) -> Result<ServerHandle> {
    let socket = opts.socket.clone().unwrap_or_else(|| socket_path(db));
    let bytes = socket.as_os_str().len();
    if bytes > MAX_SOCKET_PATH_BYTES {
        return Err(Error::SocketPathTooLong {
            path: socket,
            bytes,
            limit: MAX_SOCKET_PATH_BYTES,
        });
    }
    if let Some(settings) = &opts.archiver {
        aiarchiver::enable(&storage, db, settings)?;
    }
    let aistall = opts.open.ai_stall;
    let open = OpenOptions {
        server_socket: Some(socket.clone()),
        ..opts.open
    };
    let database = Arc::new(Database::open(storage.clone(), db, open)?);
    // As the database says after any crash recovery; no client is connected yet.
    let master = database.master();
    let archiving = master.flags.archiver_enabled && master.ai_enabled;
    // We hold the lock, so a socket file left here is a dead server's. Sockets are operating
    // system objects, not database files: they are made and removed with std directly.
    if socket.exists() {
        std::fs::remove_file(&socket).map_err(Error::io("remove the stale socket", &socket))?;
    }
    let listener = UnixListener::bind(&socket).map_err(Error::io("listen on", &socket))?;
    let shared = Arc::new(Shared {
        storage,
        path: db.clone(),
        socket,
        db: Mutex::new(Some(Arc::clone(&database))),
        conns: Mutex::new(HashMap::new()),
        conns_cv: Condvar::new(),
        stop: Mutex::new(StopState {
            mode: None,
            requester: 0,
            outcome: None,
            answered: false,
            ai_full: false,
        }),
        stop_cv: Condvar::new(),
        archiver: Mutex::new(None),
        archiver_daemon: opts.archiver_daemon.clone(),
        aistall,
    });
    if archiving {
        let settings = aiarchiver::read_settings(shared.storage.as_ref(), db)?;
        if let Some(settings) = settings {
            shared.start_archiver(&database, settings)?;
        }
    }
    drop(database);
    shared.log(
        &format!(
            "server started for {db} (process {}), listening on {}",
            std::process::id(),
            shared.socket.display()
        ),
        Some(91112),
    );
    let thread_shared = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("broker-accept".into())
        .spawn(move || accept_loop(&thread_shared, listener))
        .map_err(Error::io("start the broker thread for", &shared.socket))?;
    Ok(ServerHandle {
        shared,
        thread: Some(thread),
    })
}

fn accept_loop(shared: &Arc<Shared>, listener: UnixListener) -> Result<Stopped> {
    let mut next_id = 0u64;
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let accepted = listener.accept();
        if shared.stop.lock().mode.is_some() {
            break;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        next_id += 1;
        let id = next_id;
        shared.conns.lock().insert(id, registered);
        let conn_shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("broker-conn-{id}"))
            .spawn(move || {
                crate::conn::run(&conn_shared, id, stream);
                conn_shared.conns.lock().remove(&id);
                conn_shared.conns_cv.notify_all();
            });
        match spawned {
            Ok(handle) => workers.push(handle),
            Err(_) => {
                shared.conns.lock().remove(&id);
            }
        }
        workers.retain(|w| !w.is_finished());
    }
    drop(listener);
    let (mode, requester, ai_full) = {
        let stop = shared.stop.lock();
        (
            stop.mode.expect("the loop ends on a stop"),
            stop.requester,
            stop.ai_full,
        )
    };
    // An emergency stop or the 3774 stop ends the process at once: the daemon goes with it.
    if ai_full {
        return Ok(stop_ai_full(shared));
    }
    if mode == ShutdownMode::Emergency {
        return Ok(emergency(shared));
    }
    // The quiet point first: a daemon's timed switch may be waiting for it.
    lift_quiet_point(shared);
    shared.stop_archiver();
    // Disconnect everyone else: their sessions roll back and end.
    for (id, stream) in shared.conns.lock().iter() {
        if *id != requester {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
    {
        let mut conns = shared.conns.lock();
        while conns.keys().any(|id| *id != requester) {
            shared.conns_cv.wait(&mut conns);
        }
    }
    let outcome = close(shared);
    let _ = std::fs::remove_file(&shared.socket);
    shared.log(
        &format!("server stopped for {} (proshut)", shared.path),
        Some(91122),
    );
    {
        let mut stop = shared.stop.lock();
        stop.outcome = Some(
            outcome
                .as_ref()
                .map(|_| ())
                .map_err(|e| (e.msg_number(), e.to_string())),
        );
    }
    shared.stop_cv.notify_all();
    for w in workers {
        let _ = w.join();
    }
    outcome.map(|()| Stopped::Clean)
}

/// Closes the database once the last session let go of it.
fn close(shared: &Shared) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut db = shared.db.lock().take().expect("closed once");
    loop {
        match Arc::try_unwrap(db) {
            Ok(database) => return database.close().map_err(Error::from),
            Err(still_shared) if Instant::now() < deadline => {
                db = still_shared;
                std::thread::sleep(Duration::from_millis(5));
            }
            // A session still holds it: dropping the last reference closes it.
            Err(_) => return Ok(()),
        }
    }
}

/// Answers the requester, then hands the open database to the caller.
fn emergency(shared: &Shared) -> Stopped {
    shared.log(
        &format!(
            "emergency shutdown of {} (proshut -F): no checkpoint; the next open runs crash recovery",
            shared.path
        ),
        Some(91122),
    );
    let db = shared.db.lock().clone().expect("open until closed");
    let mut stop = shared.stop.lock();
    stop.outcome = Some(Ok(()));
    shared.stop_cv.notify_all();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !stop.answered {
        if shared.stop_cv.wait_until(&mut stop, deadline).timed_out() {
            break;
        }
    }
    Stopped::Emergency(db)
}

/// `proshut -by | -bn` while a quiet point holds: it is lifted first, so that the writers it
/// holds can be rolled back.
fn lift_quiet_point(shared: &Shared) {
    let Some(db) = shared.db.lock().clone() else {
        return;
    };
    if db.is_quiet() {
        match db.quiet_disable(false) {
            Ok(_) => shared.log("proshut lifted the quiet point before stopping", None),
            Err(e) => shared.log(
                &format!("proshut could not lift the quiet point: {e}"),
                Some(e.msg_number()),
            ),
        }
    }
}

/// The engine's log stopped with 3774: no more requests are read (those in flight are still
/// answered), every connection ends, the socket goes, and the database is handed to the caller
/// unclosed.
fn stop_ai_full(shared: &Shared) -> Stopped {
    shared.log(
        &format!(
            "the server for {} stops: the next after-image extent is not empty (3774). No checkpoint is taken; empty an extent (rfutil {} -C aimage extent empty) and start the server again: crash recovery keeps every committed transaction",
            shared.path, shared.path
        ),
        Some(91124),
    );
    for stream in shared.conns.lock().values() {
        let _ = stream.shutdown(std::net::Shutdown::Read);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    {
        let mut conns = shared.conns.lock();
        while !conns.is_empty() {
            if shared.conns_cv.wait_until(&mut conns, deadline).timed_out() {
                break;
            }
        }
        // Whatever is left is closed now.
        for stream in conns.values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
    let _ = std::fs::remove_file(&shared.socket);
    Stopped::AiExtentFull(shared.db.lock().clone().expect("open until closed"))
}
