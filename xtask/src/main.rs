//! Project automation: `cargo xtask demo | test | fixtures | bench`.
//!
//! Every subcommand is a sequence of ordinary cargo and project commands, printed before they
//! run, so a reader can repeat any step by hand. A failing step stops the task with its status.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod demo;
mod figures;
mod fixtures;
mod server_figures;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some(task) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match task.as_str() {
        "test" => test(rest),
        "demo" => demo::run_demo(rest),
        "bench" => bench(rest),
        "fixtures" => fixtures::run(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
  demo     create the built-in demo database in a fresh directory and walk through
           create, load, crash and recover, printing each command
  test     format check, clippy with -D warnings on all targets, and every test
  fixtures (re)write testdata/v1/ with the debug binaries, deterministically
           (SOURCE_DATE_EPOCH); a second run changes no file
  bench    the README's throughput figures, then the criterion benchmarks
           (--quick: the figures only; --rollforward: the roll forward figures only;
           --server: the server figures only)";

/// The workspace root (the parent of this crate's directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs `program args` in the workspace root, echoing it first.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed with {status}",
            args.join(" ")
        ))
    }
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn test(rest: &[String]) -> Result<(), String> {
    let cargo = cargo();
    run(&cargo, &["fmt", "--all", "--", "--check"])?;
    run(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let mut args = vec!["test", "--workspace", "--locked"];
    args.extend(rest.iter().map(String::as_str));
    run(&cargo, &args)
}

/// `cargo xtask bench [--quick | --rollforward] [criterion filters]`: the README's figures
/// first (TPC-B commits/s through the release binaries, 1 and 4 clients; roll forward
/// throughput and peak memory; commits/s through the server and the longest transaction under
/// `aimage new` and quiet points), then the criterion benchmarks unless `--quick` is given;
/// `--rollforward` and `--server` run only those figures.
fn bench(rest: &[String]) -> Result<(), String> {
    let cargo = cargo();
    if rest.iter().any(|a| a == "--rollforward") {
        return figures::roll_forward(&cargo);
    }
    if rest.iter().any(|a| a == "--server") {
        return server_figures::server(&cargo);
    }
    let quick = rest.iter().any(|a| a == "--quick");
    figures::tpcb(&cargo)?;
    server_figures::server(&cargo)?;
    figures::roll_forward(&cargo)?;
    if quick {
        return Ok(());
    }
    let mut args = vec!["bench", "-p", "afterimage-benches", "--"];
    args.extend(rest.iter().map(String::as_str).filter(|a| *a != "--quick"));
    run(&cargo, &args)
}
