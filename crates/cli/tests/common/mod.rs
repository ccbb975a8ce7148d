//! Shared helpers for the command-line tests: run a command in-process with captured output,
//! or as a real child process (this test binary re-executed), in a scratch directory.

#![allow(dead_code)]

pub mod served;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Output of an in-process command.
#[derive(Debug)]
pub struct Ran {
    /// Exit status.
    pub code: u8,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

impl Ran {
    /// Panics unless the command succeeded.
    pub fn ok(self) -> Ran {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout:\n{}\nstderr:\n{}",
            self.out, self.err
        );
        self
    }

    /// Panics unless the command failed with message `number`; returns the output.
    pub fn fails_with(self, number: u32) -> Ran {
        assert_ne!(self.code, 0, "command succeeded:\n{}", self.out);
        assert!(
            self.err.contains(&format!("({number})")),
            "expected message {number}, got:\n{}",
            self.err
        );
        self
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `tool args` in this process with captured output (`tool` is any of the project's
/// binaries).
pub fn run_tool(tool: &str, args: &[&str]) -> Ran {
    let out = Buffer::default();
    let err = Buffer::default();
    let mut console = cli::Console::new(Box::new(out.clone()), Box::new(err.clone()));
    let words = std::iter::once(tool.to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(Into::into);
    let code = match tool {
        "prodb" => cli::run_with("prodb", words, &mut console, cli::prodb::run),
        "prostrct" => cli::run_with("prostrct", words, &mut console, cli::prostrct::run),
        "proutil" => cli::run_with("proutil", words, &mut console, |c, w| {
            cli::proutil::run(c, w).map(|_| ())
        }),
        "proclient" => cli::run_with("proclient", words, &mut console, cli::proclient::run),
        "rfutil" => cli::run_with("rfutil", words, &mut console, cli::rfutil::run),
        "probkup" => cli::run_with("probkup", words, &mut console, cli::probkup::run),
        "prorest" => cli::run_with("prorest", words, &mut console, cli::prorest::run),
        "proserve" => cli::run_with("proserve", words, &mut console, cli::proserve::run),
        "proshut" => cli::run_with("proshut", words, &mut console, cli::proshut::run),
        "proquiet" => cli::run_with("proquiet", words, &mut console, cli::proquiet::run),
        other => panic!("unknown tool {other}"),
    };
    drop(console);
    let text = |b: Buffer| String::from_utf8(b.0.lock().expect("lock").clone()).expect("utf-8");
    Ran {
        code,
        out: text(out),
        err: text(err),
    }
}

/// Runs the `tests` of a test binary with its own `main` (no libtest harness) whose name
/// contains `filter`, each caught on its own, printing one `test NAME ... ok|FAILED (T s)` line
/// each; fails if any failed.
pub fn run_tests(tests: &[(&str, fn())], filter: Option<&str>) -> std::process::ExitCode {
    let mut failed = 0;
    for &(name, test) in tests {
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let start = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(test);
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!(
            "test {name} ... {verdict} ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
        failed += usize::from(outcome.is_err());
    }
    if failed > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// The `main` of a server test binary (no libtest harness): with `--broker` it is the broker
/// `proserve` starts (`proserve` re-executes the running program), with `--tool proclient ...`
/// a client process to run in the background or kill; otherwise it runs `tests` (the first
/// argument that is not an option filters them by name).
pub fn server_test_main(tests: &[(&str, fn())]) -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("--broker") => return cli::proserve::main(args),
        Some("--tool") => {
            let rest = args[2..].to_vec();
            return match rest.first().and_then(|t| t.to_str()) {
                Some("proclient") => cli::proclient::main(rest),
                other => panic!("unknown tool {other:?}"),
            };
        }
        _ => {}
    }
    let filter = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| !a.starts_with('-'));
    run_tests(tests, filter)
}

/// A scratch directory in which commands run (database arguments are relative to it).
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The database argument for `name` in this directory.
    pub fn db(&self, name: &str) -> String {
        self.join(name)
            .to_str()
            .expect("utf-8 temp path")
            .to_string()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, text).expect("write scratch file");
        path
    }

    /// Runs `tool args` in-process (see [`run_tool`]).
    pub fn run(&self, tool: &str, args: &[&str]) -> Ran {
        run_tool(tool, args)
    }

    /// Starts `tool args` as a child process: this test binary, re-executed with
    /// `AFTERIMAGE_TOOL` set, runs the tool's `main` (see [`child_main`]).
    pub fn spawn(&self, tool: &str, args: &[&str]) -> Child {
        Command::new(std::env::current_exe().expect("test binary path"))
            .args([
                "--exact",
                "child_entry",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("AFTERIMAGE_TOOL", tool)
            .env("AFTERIMAGE_ARGS", args.join("\u{1f}"))
            .current_dir(self.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child")
    }
}

/// Body of the `child_entry` test: when re-executed as a child, runs the requested tool and
/// exits with its status; in a normal test run it does nothing.
pub fn child_main() {
    let Ok(tool) = std::env::var("AFTERIMAGE_TOOL") else {
        return;
    };
    let args: Vec<String> = std::env::var("AFTERIMAGE_ARGS")
        .unwrap_or_default()
        .split('\u{1f}')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let words = std::iter::once(tool.clone()).chain(args).map(Into::into);
    let code = match tool.as_str() {
        "proclient" => cli::proclient::main(words),
        "proutil" => cli::proutil::main(words),
        other => panic!("unknown tool {other}"),
    };
    // ExitCode has no accessor; report success or failure as 0 or 1.
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

/// A minimal structure file with a schema area and one data area in the database directory.
pub const SMALL_ST: &str = "b .\nd \"Schema Area\":6,32 .\nd \"Data Area\":7,32;8 .\n";
