//! The throughput figures quoted in the README, measured with the release binaries on a real
//! file system in a fresh directory: TPC-B durable commits per second with 1 and 4 clients.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{root, run};

/// Transactions per measured run.
const TXNS: &str = "20000";

/// Builds the release binaries and prints `committed=N tps=X` for 1 and 4 clients.
pub(crate) fn tpcb(cargo: &str) -> Result<(), String> {
    run(
        cargo,
        &[
            "build",
            "--release",
            "--quiet",
            "-p",
            "prodb",
            "-p",
            "proclient",
        ],
    )?;
    let bin = root().join("target").join("release");
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = root()
        .join("target")
        .join("bench")
        .join(format!("run-{stamp}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    tool(&bin, &dir, "prodb", &["bank", "empty"])?;
    tool(
        &bin,
        &dir,
        "proclient",
        &[
            "bank", "workload", "tpcb", "--init", "--scale", "1", "--tx", "1000",
        ],
    )?;
    for clients in ["1", "4"] {
        println!("== TPC-B, {clients} client(s), {TXNS} transactions, every commit durable");
        tool(
            &bin,
            &dir,
            "proclient",
            &[
                "bank",
                "workload",
                "tpcb",
                "--tx",
                TXNS,
                "--clients",
                clients,
            ],
        )?;
    }
    std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

fn tool(bin: &Path, dir: &Path, name: &str, args: &[&str]) -> Result<(), String> {
    println!("$ {name} {}", args.join(" "));
    let status = Command::new(bin.join(name))
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{name} {}` failed with {status}", args.join(" ")))
    }
}
