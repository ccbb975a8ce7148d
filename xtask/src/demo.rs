//! `cargo xtask demo`: builds the tools, then walks the built-in demo database through create,
//! load, crash and recovery with the real binaries, printing every command and its output.
//!
//! The demo works in a fresh directory under `target/demo/` and checks what it shows: the TPC-B
//! sums must be equal after the crash and recovery, or the demo fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Runs the demo.
pub(crate) fn run_demo(rest: &[String]) -> Result<(), String> {
    if !rest.is_empty() {
        return Err(format!("demo takes no arguments, got {rest:?}"));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let bin = crate::fixtures::build_tools(&cargo, false)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = crate::fixtures::target_dir()
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
    media_recovery(&demo)?;
    println!(
        "\n== Demo finished: every committed transaction survived the crash, and the backup \
         rolled forward through the after-image files equals the source."
    );
    Ok(())
}

/// Seed 003 in short: after-imaging, a backup, archived extents, then a restore elsewhere rolled
/// forward through every file, compared with the source.
fn media_recovery(demo: &Demo) -> Result<(), String> {
    demo.step("After-imaging (seed 003): add four AI extents, back up, begin")?;
    demo.write("ai.st", "a .\na .\na .\na .\n")?;
    demo.tool("prostrct", &["add", "demo", "ai.st"])?;
    demo.tool("probkup", &["demo", "demo.bck", "-com"])?;
    demo.tool("rfutil", &["demo", "-C", "aimage", "begin"])?;
    demo.tool("proclient", &["demo", "workload", "orders", "--tx", "200"])?;
    demo.tool("rfutil", &["demo", "-C", "aimage", "new"])?;
    demo.tool("rfutil", &["demo", "-C", "aimage", "extent", "list"])?;

    demo.step("Archive the full extent, empty it, and keep working")?;
    std::fs::create_dir_all(demo.dir.join("archive")).map_err(|e| e.to_string())?;
    let full = demo.capture("rfutil", &["demo", "-C", "aimage", "full"])?;
    demo.copy(full.trim(), "archive/demo.a.seq1")?;
    demo.tool("rfutil", &["demo", "-C", "aimage", "extent", "empty"])?;
    demo.tool(
        "proclient",
        &["demo", "workload", "tpcb", "--tx", "500", "--clients", "4"],
    )?;
    let busy = demo.capture(
        "rfutil",
        &[
            "demo", "-C", "aimage", "query", "name", "by", "sequence", "2",
        ],
    )?;
    demo.copy(busy.trim(), "archive/demo.a.seq2")?;

    demo.step("Disaster: create the database elsewhere, restore the backup, roll forward")?;
    demo.tool("prostrct", &["list", "demo"])?;
    let st = std::fs::read_to_string(demo.dir.join("demo.st")).map_err(|e| e.to_string())?;
    let here = format!("{}/", demo.dir.display());
    let there = format!("{}/", demo.dir.join("recover").display());
    std::fs::create_dir_all(demo.dir.join("recover")).map_err(|e| e.to_string())?;
    demo.write("recover/demo.st", &st.replace(&here, &there))?;
    demo.tool(
        "prostrct",
        &["create", "recover/demo", "-blocksize", "1024"],
    )?;
    demo.tool("prorest", &["recover/demo", "demo.bck"])?;
    demo.tool(
        "rfutil",
        &[
            "recover/demo",
            "-C",
            "roll",
            "forward",
            "-a",
            "archive/demo.a.seq1",
        ],
    )?;
    demo.tool(
        "rfutil",
        &[
            "recover/demo",
            "-C",
            "roll",
            "forward",
            "-a",
            "archive/demo.a.seq2",
        ],
    )?;

    demo.step("Check: proclient dump of the source and of the recovered copy are identical")?;
    let source = demo.capture("proclient", &["demo", "dump"])?;
    let recovered = demo.capture("proclient", &["recover/demo", "dump"])?;
    if source != recovered {
        return Err("the recovered database differs from the source".into());
    }
    println!("{} records, identical.", source.lines().count());
    Ok(())
}

struct Demo {
    bin: PathBuf,
    dir: PathBuf,
}

impl Demo {
    fn write(&self, name: &str, text: &str) -> Result<(), String> {
        std::fs::write(self.dir.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))
    }

    fn copy(&self, from: &str, to: &str) -> Result<(), String> {
        println!("$ cp {from} {to}");
        std::fs::copy(self.dir.join(from), self.dir.join(to))
            .map(|_| ())
            .map_err(|e| format!("cannot copy {from}: {e}"))
    }

    /// Runs a tool and returns its standard output (not echoed).
    fn capture(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        println!("$ {tool} {}", args.join(" "));
        let out = Command::new(self.bin.join(tool))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot start {tool}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`{tool} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    }

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
                self.dir.display()
            ))
        }
    }
}
