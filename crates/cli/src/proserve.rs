//! `proserve db [-B buffers] [-aistall] [-aiarcdir DIRS [-aiarcinterval N] [-aiarcdircreate]]`:
//! starts the broker in the background and returns once it accepts clients.
//!
//! The command re-executes its own program with the hidden first word `--broker`, detached in
//! its own process group with standard input and error on /dev/null; the broker writes one
//! status line on its standard output (`ready`, or `error<TAB>number<TAB>text`) and never
//! writes there again. Invariant: `proserve` returns 0 only after a client greeting succeeded
//! on the broker's socket.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use engine::{DbPath, OpenOptions};

use crate::error::{no_db, on_server};
use crate::{Console, Error, real_storage, say};

/// The hidden first argument that makes the program the broker itself.
const BROKER_FLAG: &str = "--broker";
/// How long `proserve` waits for the broker to accept clients.
const START_TIMEOUT: Duration = Duration::from_secs(30);

const HELP: &str = "usage: proserve db [-B buffers] [-aistall] [-aiarcdir DIRS [-aiarcinterval N] [-aiarcdircreate]]

  Starts a server (broker) for db in the background and returns once it accepts clients.
  Clients (proclient, proquiet, and rfutil / prostrct for their online qualifiers) find it
  through db.lk. Stop it with proshut db -by | -bn | -F.
  -aistall  when the next after-image extent is not empty, hold the writers (3775, 3776 in
            db.lg) until one is emptied instead of stopping the server (3774)
  -aiarcdir DIRS  enable the AI archiver with these directories (absolute, comma-separated)
            before starting, as rfutil db -C aiarchiver enable does; the server runs the
            archiver daemon whenever the archiver is enabled, and -aistall with it
  -aiarcinterval N  with -aiarcdir: switch the busy extent every N seconds (120 to 86400;
            0 or absent: archive only extents that fill or are switched)
  -aiarcdircreate   with -aiarcdir: create missing directories";

/// What the command line asks for.
struct Settings {
    db: DbPath,
    buffers: usize,
    ai_stall: bool,
    /// `-aiarcdir` and its companions.
    archiver: Option<aiarchiver::Settings>,
}

fn parse(words: &[String]) -> Result<Settings, Error> {
    let mut db = None;
    let mut buffers = OpenOptions::default().buffers;
    let mut ai_stall = false;
    let (mut arc_dirs, mut arc_interval, mut arc_create) = (None::<String>, None::<u64>, false);
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        match word.as_str() {
            "-B" => {
                let value = iter
                    .next()
                    .ok_or_else(|| Error::Usage("-B needs a number of buffers".into()))?;
                buffers = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::Usage(format!("-B `{value}` is not a number of buffers"))
                })?;
            }
            "-aistall" => ai_stall = true,
            "-aiarcdir" => {
                let list = iter
                    .next()
                    .ok_or_else(|| Error::Usage("-aiarcdir needs a directory list".into()))?;
                arc_dirs = Some(list.clone());
            }
            "-aiarcinterval" => {
                let value = iter
                    .next()
                    .ok_or_else(|| Error::Usage("-aiarcinterval needs seconds".into()))?;
                arc_interval = Some(value.parse().map_err(|_| {
                    Error::Usage(format!(
                        "-aiarcinterval `{value}` is not a number of seconds"
                    ))
                })?);
            }
            "-aiarcdircreate" => arc_create = true,
            w if w.starts_with('-') => {
                return Err(Error::Usage(format!("unknown option `{w}`\n{HELP}")));
            }
            w => {
                if db.is_some() {
                    return Err(Error::Usage(format!("too many operands\n{HELP}")));
                }
                db = Some(DbPath::parse(w).map_err(no_db)?);
            }
        }
    }
    let db = db.ok_or_else(|| Error::Usage(format!("a database is required\n{HELP}")))?;
    let archiver = match arc_dirs {
        Some(dirs) => Some(
            aiarchiver::Settings::new(&dirs, arc_interval.unwrap_or(0), arc_create).map_err(
                |source| Error::Archiver {
                    db: Some(db.clone()),
                    source: Box::new(source),
                },
            )?,
        ),
        None if arc_interval.is_some() || arc_create => {
            return Err(Error::Usage(format!(
                "-aiarcinterval and -aiarcdircreate go with -aiarcdir\n{HELP}"
            )));
        }
        None => None,
    };
    Ok(Settings {
        db,
        buffers,
        ai_stall,
        archiver,
    })
}

/// Entry point of the `proserve` binary.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == BROKER_FLAG) {
        return broker(&args[2..]);
    }
    crate::run_main("proserve", args, run)
}

/// Runs `proserve` with already split words: starts the broker and waits until it serves.
pub fn run(console: &mut Console, words: Vec<String>) -> Result<(), Error> {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        say(console, HELP);
        return Ok(());
    }
    let settings = parse(&words)?;
    let db = &settings.db;
    let storage = real_storage();
    if let Some(client) = server::Client::connect_db(&storage, db) {
        return Err(on_server(db)(server::Error::ServedDatabase {
            pid: client.server_pid(),
            socket: client.socket(),
        }));
    }
    let program = std::env::current_exe().map_err(|source| Error::ReadFile {
        path: "the running program".into(),
        source,
    })?;
    let mut child = Command::new(program)
        .arg(BROKER_FLAG)
        .args(&words)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|source| {
            on_server(db)(server::Error::Io {
                action: "start the broker in",
                path: db.dir().to_path_buf(),
                source,
            })
        })?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(status) = rx.recv_timeout(START_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(on_server(db)(server::Error::StartTimeout {
            db: db.to_string(),
            seconds: START_TIMEOUT.as_secs(),
        }));
    };
    let status = status.trim_end();
    if let Some(rest) = status.strip_prefix("error\t") {
        let (number, text) = rest.split_once('\t').unwrap_or(("0", rest));
        let _ = child.wait();
        return Err(on_server(db)(server::Error::Remote {
            number: number.parse().unwrap_or(91121),
            text: text.to_string(),
        }));
    }
    if status != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(on_server(db)(server::Error::StartFailed {
            db: db.to_string(),
            detail: format!("it reported {status:?} instead of ready; see its .lg file"),
        }));
    }
    let client = wait_for_clients(db)?;
    say(
        console,
        format!(
            "Server started for {db} (process {}), accepting clients on {}.",
            client.server_pid(),
            client.socket().display()
        ),
    );
    Ok(())
}

/// Polls the socket until a greeting succeeds.
fn wait_for_clients(db: &DbPath) -> Result<server::Client, Error> {
    let deadline = Instant::now() + START_TIMEOUT;
    let storage = real_storage();
    loop {
        if let Some(client) = server::Client::connect_db(&storage, db) {
            return Ok(client);
        }
        if Instant::now() >= deadline {
            return Err(on_server(db)(server::Error::StartTimeout {
                db: db.to_string(),
                seconds: START_TIMEOUT.as_secs(),
            }));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The broker process: serves until a shutdown request.
fn broker(args: &[OsString]) -> ExitCode {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let report = |number: u32, text: &str| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "error\t{number}\t{text}");
        let _ = out.flush();
        ExitCode::from(1)
    };
    let settings = match parse(&words) {
        Ok(s) => s,
        Err(e) => return report(e.msg_number(), &e.to_string()),
    };
    let options = server::ServeOptions {
        open: OpenOptions {
            buffers: settings.buffers,
            ai_stall: settings.ai_stall,
            ..OpenOptions::default()
        },
        socket: None,
        archiver: settings.archiver.clone(),
        archiver_daemon: aiarchiver::DaemonOptions::default(),
    };
    let storage = real_storage();
    let handle = match server::serve(storage.clone(), &settings.db, options) {
        Ok(h) => h,
        Err(e) => {
            let err = match e {
                server::Error::Engine(source) => crate::error::on(&settings.db)(source),
                other => on_server(&settings.db)(other),
            }
            .or_served();
            // proserve itself prints it and writes it to the event log.
            return report(err.msg_number(), &err.to_string());
        }
    };
    {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "ready");
        let _ = out.flush();
    }
    match handle.wait() {
        Ok(server::Stopped::Clean) => ExitCode::SUCCESS,
        Ok(server::Stopped::Emergency(db)) => {
            // Ends the process with the database open: no checkpoint, crash recovery next.
            let _keep = db;
            std::process::exit(0)
        }
        Ok(server::Stopped::AiExtentFull(db)) => {
            // The engine's log stopped (3774, logged by the server): the database is left as a
            // crash leaves it, for recovery once an extent is emptied.
            let _keep = db;
            std::process::exit(1)
        }
        Err(e) => {
            engine::log_event_at(
                &storage,
                &settings.db,
                "PROSERVE",
                &e.to_string(),
                Some(e.msg_number()),
            );
            ExitCode::from(1)
        }
    }
}
