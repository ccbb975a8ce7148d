//! The server figures quoted in the README, measured with the release binaries: TPC-B commits
//! per second through `proserve` with 1, 4 and 8 clients (after-imaging on, every commit
//! durable), then the longest transaction a client saw while `aimage new` and `proquiet
//! enable` / `disable` ran under that load.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::figures::{fresh_dir, output, tool};

/// Transactions per measured run.
const TXNS: &str = "20000";

/// Four variable AI extents: the switches of the stall run always find an Empty one.
const ST: &str = "b .\nd \"Schema Area\":6,64 .\nd \"Data Area\":7,64;8 .\na .\na .\na .\na .\n";

/// Runs the figures and prints one table.
pub(crate) fn server(cargo: &str) -> Result<(), String> {
    let bin = crate::fixtures::build_tools(cargo, true)?;
    let dir = fresh_dir("server")?;
    std::fs::write(dir.join("bank.st"), ST).map_err(|e| format!("cannot write bank.st: {e}"))?;
    let steps: [&[&str]; 4] = [
        &["prostrct", "create", "bank", "bank.st"],
        &[
            "proclient",
            "bank",
            "workload",
            "tpcb",
            "--init",
            "--scale",
            "1",
            "--tx",
            "0",
        ],
        &["rfutil", "bank", "-C", "mark", "backedup"],
        &["rfutil", "bank", "-C", "aimage", "begin"],
    ];
    for step in steps {
        tool(&bin, &dir, step[0], &step[1..])?;
    }
    tool(&bin, &dir, "proserve", &["bank"])?;
    let measured = measure(&bin, &dir);
    let stopped = tool(&bin, &dir, "proshut", &["bank", "-by"]);
    let rows = measured?;
    stopped?;
    println!("== TPC-B through the server (scale 1, after-imaging on, every commit durable)");
    println!("| clients | transactions | commits/s | longest transaction ms |");
    println!("|---:|---:|---:|---:|");
    for r in &rows.runs {
        println!(
            "| {} | {TXNS} | {:.0} | {:.1} |",
            r.clients, r.tps, r.longest_ms
        );
    }
    println!(
        "== Under 4 clients, {} `aimage new` (longest {:.1} ms) and {} `proquiet enable`/`disable` (enable longest {:.1} ms): {:.0} commits/s, longest transaction {:.1} ms",
        rows.stall.switches,
        rows.stall.longest_switch_ms,
        rows.stall.quiets,
        rows.stall.longest_quiet_ms,
        rows.stall.run.tps,
        rows.stall.run.longest_ms
    );
    std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

struct Run {
    clients: u32,
    tps: f64,
    longest_ms: f64,
}

struct Stall {
    run: Run,
    switches: u32,
    longest_switch_ms: f64,
    quiets: u32,
    longest_quiet_ms: f64,
}

struct Rows {
    runs: Vec<Run>,
    stall: Stall,
}

fn measure(bin: &Path, dir: &Path) -> Result<Rows, String> {
    let mut runs = Vec::new();
    for clients in [1u32, 4, 8] {
        let out = output(bin, dir, "proclient", &workload_args(clients))?;
        runs.push(parse_run(clients, &out)?);
    }
    let stall = under_admin_load(bin, dir)?;
    Ok(Rows { runs, stall })
}

fn workload_args(clients: u32) -> Vec<&'static str> {
    let clients: &'static str = match clients {
        1 => "1",
        4 => "4",
        _ => "8",
    };
    vec![
        "bank",
        "workload",
        "tpcb",
        "--tx",
        TXNS,
        "--clients",
        clients,
    ]
}

/// `committed=N tps=X longest_ms=Y` into a [`Run`].
fn parse_run(clients: u32, out: &str) -> Result<Run, String> {
    let field = |name: &str| -> Result<f64, String> {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no `{name}` in workload output:\n{out}"))
    };
    Ok(Run {
        clients,
        tps: field("tps=")?,
        longest_ms: field("longest_ms=")?,
    })
}

/// A 4-client workload while this thread alternates `aimage new` (then `aimage extent empty`
/// of the extent it filled) and a quiet point held 50 ms, every 100 ms.
fn under_admin_load(bin: &Path, dir: &Path) -> Result<Stall, String> {
    let child = Command::new(bin.join("proclient"))
        .args(workload_args(4))
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start proclient: {e}"))?;
    let (mut switches, mut quiets) = (0u32, 0u32);
    let (mut longest_switch, mut longest_quiet) = (Duration::ZERO, Duration::ZERO);
    let pid = child.id().to_string();
    let running = || Path::new("/proc").join(&pid).join("stat").exists() && !zombie(&pid);
    let mut admin = || -> Result<(), String> {
        while running() {
            std::thread::sleep(Duration::from_millis(100));
            let t = Instant::now();
            output(bin, dir, "rfutil", &["bank", "-C", "aimage", "new"])?;
            longest_switch = longest_switch.max(t.elapsed());
            switches += 1;
            output(
                bin,
                dir,
                "rfutil",
                &["bank", "-C", "aimage", "extent", "empty"],
            )?;
            std::thread::sleep(Duration::from_millis(100));
            let t = Instant::now();
            output(bin, dir, "proquiet", &["bank", "enable"])?;
            longest_quiet = longest_quiet.max(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
            output(bin, dir, "proquiet", &["bank", "disable"])?;
            quiets += 1;
            output(
                bin,
                dir,
                "rfutil",
                &["bank", "-C", "aimage", "extent", "empty"],
            )?;
        }
        Ok(())
    };
    let admin_result = admin();
    let out = child
        .wait_with_output()
        .map_err(|e| format!("proclient: {e}"))?;
    admin_result?;
    if !out.status.success() {
        return Err(format!(
            "the workload failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let run = parse_run(4, &String::from_utf8_lossy(&out.stdout))?;
    Ok(Stall {
        run,
        switches,
        longest_switch_ms: longest_switch.as_secs_f64() * 1000.0,
        quiets,
        longest_quiet_ms: longest_quiet.as_secs_f64() * 1000.0,
    })
}

/// True once process `pid` has exited but is not yet reaped.
fn zombie(pid: &str) -> bool {
    std::fs::read_to_string(Path::new("/proc").join(pid).join("stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}
