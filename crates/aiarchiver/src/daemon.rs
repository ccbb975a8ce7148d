//! The AI File Management daemon: a thread over an open database that archives every Full
//! extent in sequence order, switches the busy extent every interval in timed mode, and wakes
//! at least once per poll period (1 s by default) so writers stalled under `-aistall` are
//! released quickly.
//!
//! Invariants: the daemon never dies on a failed archive (the error goes to `db.lg` with its
//! number, the extent stays Full and the next pass tries again); a pass stops at the first
//! failure so extents are archived in sequence order; [`ArchiverHandle::stop`] returns once
//! the thread has ended.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aiextent::{AiState, encoded_len};
use engine::Database;
use parking_lot::{Condvar, Mutex};

use crate::archlog::{ArchivalLog, ArchiveKind};
use crate::error::{Error, MSG_DAEMON_STARTED, MSG_DAEMON_STOPPED, MSG_TIMED_SWITCH};
use crate::ops::{Dest, archive_online, full_in_order};
use crate::settings::{Settings, prepare_dirs};

const SOURCE: &str = "AIMGT";

/// How often the same error is written to `db.lg` again.
const ERROR_REPEAT: Duration = Duration::from_secs(60);

/// Options of [`Archiver::start_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonOptions {
    /// Longest sleep between two passes (default 1 s).
    pub poll: Duration,
    /// Replaces the settings' interval (tests: a timed mode shorter than 120 s). `None`: the
    /// settings decide.
    pub interval_override: Option<Duration>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            poll: Duration::from_secs(1),
            interval_override: None,
        }
    }
}

/// What the daemon has done, for the server to report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiverStatus {
    /// The thread is running.
    pub running: bool,
    /// Passes over the Full extents so far.
    pub passes: u64,
    /// Extents archived (and emptied).
    pub archived: u64,
    /// Timed-mode switches.
    pub switches: u64,
    /// Failed archives or switches.
    pub errors: u64,
    /// The last archived file.
    pub last_archived: Option<PathBuf>,
    /// The last error: its number and text.
    pub last_error: Option<(u32, String)>,
}

struct Control {
    stop: bool,
    wake: bool,
    settings: Settings,
}

struct Inner {
    control: Mutex<Control>,
    cv: Condvar,
    status: Mutex<ArchiverStatus>,
}

/// Starts the daemon.
#[derive(Debug)]
pub struct Archiver;

impl Archiver {
    /// Starts the daemon over `db` (shared with the server) with `settings` and the default
    /// options.
    pub fn start(db: Arc<Database>, settings: Settings) -> Result<ArchiverHandle, Error> {
        Archiver::start_with(db, settings, DaemonOptions::default())
    }

    /// Starts the daemon with `opts`: writes its start line to the archival log and starts
    /// the thread.
    pub fn start_with(
        db: Arc<Database>,
        settings: Settings,
        opts: DaemonOptions,
    ) -> Result<ArchiverHandle, Error> {
        let mut log = ArchivalLog::new(db.path());
        log.daemon_started(db.storage().as_ref(), masterblock::now_micros())?;
        let inner = Arc::new(Inner {
            control: Mutex::new(Control {
                stop: false,
                wake: false,
                settings,
            }),
            cv: Condvar::new(),
            status: Mutex::new(ArchiverStatus {
                running: true,
                ..ArchiverStatus::default()
            }),
        });
        db.log_event(
            SOURCE,
            "After-image Extent Manager started",
            Some(MSG_DAEMON_STARTED),
        );
        let db_name = db.path().to_string();
        let worker = Worker {
            db,
            inner: inner.clone(),
            log,
            opts,
            last_logged: None,
        };
        let thread = std::thread::Builder::new()
            .name("aimgt".into())
            .spawn(move || worker.run())
            .map_err(|source| Error::Io {
                op: "start the archiver thread for",
                path: PathBuf::from(&db_name),
                source,
            })?;
        Ok(ArchiverHandle {
            inner,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// The running daemon. Dropping it stops it.
pub struct ArchiverHandle {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for ArchiverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiverHandle")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl ArchiverHandle {
    /// New settings (online `setdir` or `setinterval`): used from the next pass, which starts
    /// at once.
    pub fn update_settings(&self, settings: Settings) {
        let mut control = self.inner.control.lock();
        control.settings = settings;
        control.wake = true;
        self.inner.cv.notify_all();
    }

    /// The settings the daemon uses.
    pub fn settings(&self) -> Settings {
        self.inner.control.lock().settings.clone()
    }

    /// Starts a pass now instead of at the next poll.
    pub fn wake(&self) {
        self.inner.control.lock().wake = true;
        self.inner.cv.notify_all();
    }

    /// What the daemon has done so far.
    pub fn status(&self) -> ArchiverStatus {
        self.inner.status.lock().clone()
    }

    /// True until [`ArchiverHandle::stop`].
    pub fn is_running(&self) -> bool {
        self.inner.status.lock().running
    }

    /// Stops the daemon and waits for its thread (a pass in progress finishes the extent it
    /// is copying). Idempotent.
    pub fn stop(&self) {
        {
            let mut control = self.inner.control.lock();
            control.stop = true;
            self.inner.cv.notify_all();
        }
        if let Some(thread) = self.thread.lock().take() {
            // A panic of the thread has been reported by the panic hook already.
            let _ = thread.join();
        }
        self.inner.status.lock().running = false;
    }
}

impl Drop for ArchiverHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    db: Arc<Database>,
    inner: Arc<Inner>,
    log: ArchivalLog,
    opts: DaemonOptions,
    /// The last error written to `db.lg` and when.
    last_logged: Option<(String, Instant)>,
}

impl Worker {
    fn run(mut self) {
        let mut last_switch = Instant::now();
        loop {
            let settings = {
                let mut control = self.inner.control.lock();
                if control.stop {
                    break;
                }
                if control.wake {
                    control.wake = false;
                }
                control.settings.clone()
            };
            self.pass(&settings);
            let interval = self.opts.interval_override.or((settings.interval_secs > 0)
                .then(|| Duration::from_secs(u64::from(settings.interval_secs))));
            if let Some(interval) = interval
                && last_switch.elapsed() >= interval
            {
                last_switch = Instant::now();
                if self.timed_switch() {
                    self.pass(&settings);
                }
            }
            let mut control = self.inner.control.lock();
            if !control.stop && !control.wake {
                let _ = self.inner.cv.wait_for(&mut control, self.opts.poll);
            }
        }
        self.db.log_event(
            SOURCE,
            "After-image Extent Manager stopped",
            Some(MSG_DAEMON_STOPPED),
        );
    }

    fn stopping(&self) -> bool {
        self.inner.control.lock().stop
    }

    /// Archives every Full extent, oldest sequence first; stops at the first failure.
    fn pass(&mut self, settings: &Settings) {
        self.inner.status.lock().passes += 1;
        if !self.db.master().ai_enabled {
            return;
        }
        let outcome = (|| -> Result<(), Error> {
            let full = full_in_order(self.db.ai_extents()?);
            if full.is_empty() {
                return Ok(());
            }
            prepare_dirs(self.db.storage().as_ref(), settings)?;
            for info in full {
                if self.stopping() {
                    break;
                }
                let archived = archive_online(
                    &self.db,
                    &info,
                    Dest::Dirs(&settings.dirs),
                    Some((&mut self.log, ArchiveKind::Daemon)),
                )?;
                let mut status = self.inner.status.lock();
                status.archived += 1;
                status.last_archived = Some(archived.target);
            }
            Ok(())
        })();
        if let Err(e) = outcome {
            self.report(&e);
        }
    }

    /// Timed mode: switches the busy extent if it holds notes after its switch note. True if
    /// it switched.
    fn timed_switch(&mut self) -> bool {
        let busy_has_notes = match self.db.ai_extents() {
            Ok(infos) => infos
                .iter()
                .any(|i| i.state == AiState::Busy && i.used_bytes > encoded_len(&[]) as u64),
            Err(e) => {
                self.report(&e.into());
                return false;
            }
        };
        // A quiet point holds switches until it is lifted: the switch waits for the next pass
        // rather than the daemon waiting (a stop or `aiarchiver disable` would wait for it).
        if !busy_has_notes || !self.db.master().ai_enabled || self.db.is_quiet() {
            return false;
        }
        match self.db.ai_new() {
            Ok(switched) => {
                self.inner.status.lock().switches += 1;
                self.db.log_event(
                    SOURCE,
                    &format!(
                        "timed switch: after-image extent {} is full, extent {} is busy with sequence {}",
                        switched.from_extent, switched.to_extent, switched.new_seq
                    ),
                    Some(MSG_TIMED_SWITCH),
                );
                true
            }
            Err(e) => {
                self.report(&e.into());
                false
            }
        }
    }

    /// Counts an error and writes it to `db.lg` (the same text at most once a minute).
    fn report(&mut self, e: &Error) {
        let text = e.to_string();
        let number = e.msg_number();
        {
            let mut status = self.inner.status.lock();
            status.errors += 1;
            status.last_error = Some((number, text.clone()));
        }
        let repeat = self
            .last_logged
            .as_ref()
            .is_some_and(|(t, at)| *t == text && at.elapsed() < ERROR_REPEAT);
        if !repeat {
            self.db.log_event(SOURCE, &text, Some(number));
            self.last_logged = Some((text, Instant::now()));
        }
    }
}
