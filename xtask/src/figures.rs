//! The throughput figures quoted in the README, measured with the release binaries on a real
//! file system in a fresh directory: TPC-B durable commits per second with 1 and 4 clients, and
//! roll forward throughput and peak memory ([`roll_forward`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::fixtures::target_dir;
use crate::run;

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
    let bin = target_dir().join("release");
    let dir = fresh_dir("run")?;
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

/// A new directory `target/bench/<prefix>-<seconds since the epoch>`.
pub(crate) fn fresh_dir(prefix: &str) -> Result<PathBuf, String> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = target_dir().join("bench").join(format!("{prefix}-{stamp}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

pub(crate) fn tool(bin: &Path, dir: &Path, name: &str, args: &[&str]) -> Result<(), String> {
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

/// TPC-B scale of the roll forward figures (1,000,000 accounts; loads in well under a minute
/// with the release binaries).
const RF_SCALE: &str = "10";

/// Transactions in the first AI file; the second holds twice as many.
const RF_TXNS: u64 = 100_000;

/// Structure of the roll forward source and target: 8 KiB blocks (the default), four variable
/// AI extents.
const RF_ST: &str = "b .\nd \"Schema Area\":6,64 .\nd \"Data Area\":7,64;8 .\na .\na .\na .\na .\n";

/// The roll forward figures: a TPC-B source with after-imaging on, backed up before `aimage
/// begin`; `RF_TXNS` transactions (4 clients) then `aimage new`, twice as many then `aimage
/// new`; the first file rolled forward [`RF_FIRST_RUNS`] times, each onto a fresh restore of the
/// backup (the median run is reported), then the second once onto the last; the page cache
/// dropped first (when permitted), each run timed, with the peak memory of the `rfutil`
/// process.
pub(crate) fn roll_forward(cargo: &str) -> Result<(), String> {
    let bin = crate::fixtures::build_tools(cargo, true)?;
    let dir = fresh_dir("rollforward")?;
    std::fs::write(dir.join("src.st"), RF_ST).map_err(|e| format!("cannot write src.st: {e}"))?;
    let rf_txns = RF_TXNS.to_string();
    let twice = (2 * RF_TXNS).to_string();
    let steps: [&[&str]; 8] = [
        &["prostrct", "create", "src", "src.st"],
        &[
            "proclient",
            "src",
            "workload",
            "tpcb",
            "--init",
            "--scale",
            RF_SCALE,
            "--tx",
            "0",
        ],
        &["probkup", "src", "src.bck"],
        &["rfutil", "src", "-C", "aimage", "begin"],
        &[
            "proclient",
            "src",
            "workload",
            "tpcb",
            "--scale",
            RF_SCALE,
            "--tx",
            &rf_txns,
            "--clients",
            "4",
        ],
        &["rfutil", "src", "-C", "aimage", "new"],
        &[
            "proclient",
            "src",
            "workload",
            "tpcb",
            "--scale",
            RF_SCALE,
            "--tx",
            &twice,
            "--clients",
            "4",
        ],
        &["rfutil", "src", "-C", "aimage", "new"],
    ];
    for step in steps {
        tool(&bin, &dir, step[0], &step[1..])?;
    }
    // The AI files: sequence 1 holds the first run; 2 up to the busy one the second (a file
    // that reached the variable extent limit switched by itself: those are rolled together).
    let current = describe_number(&bin, &dir, "Current AI sequence:")?;
    let first = vec![ai_file_name(&bin, &dir, 1)?];
    let mut second = Vec::new();
    for seq in 2..current {
        second.push(ai_file_name(&bin, &dir, seq)?);
    }
    println!(
        "== Roll forward of TPC-B (scale {RF_SCALE}, 8 KiB blocks, 4 clients) onto the restored backup"
    );
    // The first file, onto a fresh restore each time; its median run is the table's row. The
    // last restore then takes the second file.
    let mut runs = Vec::new();
    for run in 1..=RF_FIRST_RUNS {
        fresh_restore(&bin, &dir)?;
        let cache = drop_page_cache();
        let measured = measure_roll_forward(&bin, &dir, &first)?;
        println!("   run {run}, {RF_TXNS} transactions: {measured}; page cache {cache}");
        runs.push(measured);
    }
    runs.sort_by_key(|m| m.wall);
    let walls: Vec<String> = runs
        .iter()
        .map(|m| format!("{:.2}", m.wall.as_secs_f64()))
        .collect();
    println!(
        "   {RF_TXNS} transactions, {RF_FIRST_RUNS} runs: {} s (the median is the table's row)",
        walls.join(", ")
    );
    let median = runs.swap_remove(RF_FIRST_RUNS / 2);
    let mut rows = vec![(RF_TXNS, median)];
    {
        let cache = drop_page_cache();
        let measured = measure_roll_forward(&bin, &dir, &second)?;
        println!(
            "   {} transactions: {measured}; page cache {cache}",
            2 * RF_TXNS
        );
        rows.push((2 * RF_TXNS, measured));
    }
    println!(
        "| AI file | transactions | notes | MB | seconds | notes/s | MB/s | transactions/s | applying s | transactions/s applying | peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (_, m)) in rows.iter().enumerate() {
        println!("| {} | {} |", i + 1, m.row());
    }
    std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

/// Runs of the first file, each onto a fresh restore.
const RF_FIRST_RUNS: usize = 5;

/// Removes the target database's files if there are any, lets the file system settle (a
/// file system that discards freed blocks does it in the background), then `prostrct create`
/// and `prorest` of the backup.
fn fresh_restore(bin: &Path, dir: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("dst.") || name.starts_with("dst_") {
            std::fs::remove_file(entry.path()).map_err(|e| format!("cannot remove {name}: {e}"))?;
            removed = true;
        }
    }
    if removed {
        let _ = Command::new("sync").status();
        std::thread::sleep(Duration::from_secs(2));
    }
    tool(bin, dir, "prostrct", &["create", "dst", "src.st"])?;
    tool(bin, dir, "prorest", &["dst", "src.bck"])
}

/// `sync`, then `echo 3 > /proc/sys/vm/drop_caches`; says whether the cache was dropped
/// (only root may).
fn drop_page_cache() -> &'static str {
    let _ = Command::new("sync").status();
    match std::fs::write("/proc/sys/vm/drop_caches", "3") {
        Ok(()) => "dropped",
        Err(_) => "not dropped (not permitted)",
    }
}

/// The number after `label` in `proutil src -C describe`.
fn describe_number(bin: &Path, dir: &Path, label: &str) -> Result<u64, String> {
    let out = output(bin, dir, "proutil", &["src", "-C", "describe"])?;
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no `{label}` in describe output:\n{out}"))
}

/// The path of the AI extent holding sequence `seq` of `src`.
fn ai_file_name(bin: &Path, dir: &Path, seq: u64) -> Result<String, String> {
    let seq = seq.to_string();
    let args = [
        "src", "-C", "aimage", "query", "name", "by", "sequence", &seq,
    ];
    Ok(output(bin, dir, "rfutil", &args)?.trim().to_string())
}

/// Runs `name args` in `dir` and returns its standard output.
pub(crate) fn output(bin: &Path, dir: &Path, name: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin.join(name))
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{name} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One timed roll forward.
struct Measured {
    notes: u64,
    txns: u64,
    bytes: u64,
    wall: Duration,
    /// The time the files' notes were being applied (their lines' "notes applied in"), what
    /// PostgreSQL's "redo done ... elapsed" measures of its own replay.
    applying: Duration,
    peak_rss_kib: u64,
}

impl Measured {
    fn rate(&self, count: f64) -> f64 {
        count / self.wall.as_secs_f64().max(1e-9)
    }

    fn row(&self) -> String {
        format!(
            "{} | {} | {:.0} | {:.2} | {:.0} | {:.1} | {:.0} | {:.2} | {:.0} | {:.1}",
            self.txns,
            self.notes,
            self.bytes as f64 / 1e6,
            self.wall.as_secs_f64(),
            self.rate(self.notes as f64),
            self.rate(self.bytes as f64 / 1e6),
            self.rate(self.txns as f64),
            self.applying.as_secs_f64(),
            self.txns as f64 / self.applying.as_secs_f64().max(1e-9),
            self.peak_rss_kib as f64 / 1024.0
        )
    }
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} notes, {} transactions, {} bytes in {:.2} s: {:.0} notes/s, {:.1} MB/s, \
             {:.0} transactions/s (notes applied in {:.2} s), peak RSS {:.1} MiB",
            self.notes,
            self.txns,
            self.bytes,
            self.wall.as_secs_f64(),
            self.rate(self.notes as f64),
            self.rate(self.bytes as f64 / 1e6),
            self.rate(self.txns as f64),
            self.applying.as_secs_f64(),
            self.peak_rss_kib as f64 / 1024.0
        )
    }
}

/// Rolls `files` forward onto `dst` in one `rfutil` process (`-a FILE`, or `-ailist` for
/// several), timing it (wall clock, process start to exit) and taking its peak resident set:
/// from `/usr/bin/time -v` when present, else by polling `VmHWM` in `/proc/<pid>/status`.
/// Notes, transactions and bytes come from roll forward's summary (message 91060).
fn measure_roll_forward(bin: &Path, dir: &Path, files: &[String]) -> Result<Measured, String> {
    let mut args = vec!["dst", "-C", "roll", "forward"];
    if let [one] = files {
        args.extend(["-a", one.as_str()]);
    } else {
        std::fs::write(dir.join("ailist"), files.join("\n") + "\n")
            .map_err(|e| format!("cannot write ailist: {e}"))?;
        args.extend(["-ailist", "ailist"]);
    }
    println!("$ rfutil {}", args.join(" "));
    let rfutil = bin.join("rfutil");
    let gnu_time = Path::new("/usr/bin/time");
    let mut command = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.arg("-v").arg(&rfutil);
        c
    } else {
        Command::new(&rfutil)
    };
    let start = Instant::now();
    let mut child = command
        .args(&args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start rfutil: {e}"))?;
    let mut polled_kib = 0;
    let status_file = format!("/proc/{}/status", child.id());
    loop {
        if let Some(kib) = vm_hwm_kib(&status_file) {
            polled_kib = polled_kib.max(kib);
        }
        if child
            .try_wait()
            .map_err(|e| format!("waiting for rfutil: {e}"))?
            .is_some()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let out = child
        .wait_with_output()
        .map_err(|e| format!("reading rfutil's output: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("roll forward failed:\n{stdout}{stderr}"));
    }
    let text = format!("{stdout}{stderr}");
    let summary = text
        .lines()
        .find(|l| l.starts_with("Roll forward:") && l.ends_with("(91060)"))
        .ok_or_else(|| format!("no roll forward summary in:\n{text}"))?;
    let peak_rss_kib = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(polled_kib);
    let mut applying = Duration::ZERO;
    for line in text.lines().filter(|l| l.ends_with("(91061)")) {
        applying += seconds_after(line, "notes applied in ")?;
    }
    Ok(Measured {
        applying,
        notes: number_before(summary, " notes read")?,
        txns: number_before(summary, " transactions committed")?,
        bytes: number_before(summary, " bytes in")?,
        wall,
        peak_rss_kib,
    })
}

/// `VmHWM` (peak resident set, KiB) of a running process, from its status file (of the
/// `time` wrapper when there is one: then the figure it prints is used instead).
fn vm_hwm_kib(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The seconds (a decimal number) just after `phrase` in `text`.
fn seconds_after(text: &str, phrase: &str) -> Result<Duration, String> {
    let at = text
        .find(phrase)
        .ok_or_else(|| format!("no `{phrase}` in `{text}`"))?
        + phrase.len();
    let number: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("no seconds after `{phrase}` in `{text}`"))
}

/// The integer just before `phrase` in `text`.
fn number_before(text: &str, phrase: &str) -> Result<u64, String> {
    let at = text
        .find(phrase)
        .ok_or_else(|| format!("no `{phrase}` in `{text}`"))?;
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .map_err(|_| format!("no number before `{phrase}` in `{text}`"))
}
