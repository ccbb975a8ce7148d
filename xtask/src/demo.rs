//! `cargo xtask demo`: builds the tools, then walks the built-in demo database through create,
//! load, crash and recovery with the real binaries, printing every command and its output.
//!
//! The demo works in a fresh directory under `target/demo/` and checks what it shows: the TPC-B
//! sums must be equal after the crash and recovery, or the demo fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{root, run};

const TOOLS: [&str; 4] = ["prodb", "prostrct", "proutil", "proclient"];

/// Runs the demo.
pub(crate) fn run_demo(rest: &[String]) -> Result<(), String> {
    if !rest.is_empty() {
        return Err(format!("demo takes no arguments, got {rest:?}"));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = vec!["build", "--quiet"];
    for tool in TOOLS {
        build.extend(["-p", tool]);
    }
    run(&cargo, &build)?;
    let bin = root().join("target").join("debug");
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = root()
        .join("target")
        .join("demo")
        .join(format!("run-{stamp}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    println!("\n== Demo directory: {}\n", dir.display());
    let demo = Demo { bin, dir };

    demo.step("Create the demo database from the sports2000 template (1 KiB blocks)")?;
    demo.tool("prodb", &["demo", "sports2000"])?;
    demo.tool("prostrct", &["list", "demo"])?;
    demo.tool("proutil", &["demo", "-C", "describe"])?;

    demo.step("Read and change records, each command one transaction")?;
    demo.tool("proclient", &["demo", "get", "customer", "c000001"])?;
    demo.tool(
        "proclient",
        &[
            "demo",
            "insert",
            "customer",
            "c999999",
            "name=Demo Customer;balance=0",
        ],
    )?;
    demo.tool(
        "proclient",
        &[
            "demo",
            "update",
            "customer",
            "c999999",
            "name=Demo Customer;balance=42",
        ],
    )?;
    demo.tool("proclient", &["demo", "get", "customer", "c999999"])?;

    demo.step("Load TPC-B (scale 1) and run 2,000 transactions on 4 clients")?;
    demo.tool(
        "proclient",
        &[
            "demo",
            "workload",
            "tpcb",
            "--init",
            "--scale",
            "1",
            "--tx",
            "2000",
            "--clients",
            "4",
        ],
    )?;

    demo.step("Crash: kill a running workload with SIGKILL after two seconds")?;
    let mut child = Command::new(demo.bin.join("proclient"))
        .args([
            "demo",
            "workload",
            "tpcb",
            "--tx",
            "100000000",
            "--clients",
            "4",
        ])
        .current_dir(&demo.dir)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start proclient: {e}"))?;
    sleep(Duration::from_secs(2));
    child
        .kill()
        .map_err(|e| format!("cannot kill proclient: {e}"))?;
    let status = child.wait().map_err(|e| e.to_string())?;
    println!("proclient killed: {status}");

    demo.step("Recover: crash recovery redoes committed work and undoes the rest")?;
    demo.tool("proutil", &["demo", "-C", "busy"])?;
    demo.tool("proutil", &["demo", "-C", "truncate", "bi"])?;

    demo.step("Check: the four TPC-B sums are equal (a zero-transaction run checks them)")?;
    demo.tool("proclient", &["demo", "workload", "tpcb", "--tx", "0"])?;
    demo.tool("prostrct", &["statistics", "demo"])?;
    println!("\n== Demo finished: every committed transaction survived the crash.");
    Ok(())
}

struct Demo {
    bin: PathBuf,
    dir: PathBuf,
}

impl Demo {
    fn step(&self, title: &str) -> Result<(), String> {
        println!("\n== {title}");
        Ok(())
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        println!("$ {tool} {}", args.join(" "));
        let status = Command::new(self.bin.join(tool))
            .args(args)
            .current_dir(&self.dir)
            .status()
            .map_err(|e| format!("cannot start {tool}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{tool} {}` failed with {status} in {}",
                args.join(" "),
                show(&self.dir)
            ))
        }
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}
