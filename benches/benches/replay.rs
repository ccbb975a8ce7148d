//! Roll forward throughput: one AI file holding `TXNS` TPC-B transactions (scale 1, with fewer
//! accounts per branch so the set-up stays short) applied to a freshly restored copy of the
//! backup taken before `aimage begin`, on a real file system. Throughput is reported in notes
//! (elements) and bytes of the AI file; the restore of each iteration is outside the timing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{Database, DbPath, OpenOptions};
use rollforward::{RollForwardOptions, roll_forward};
use storage::StorageRef;
use structure::StFile;

/// Accounts per branch: smaller than TPC-B's 100,000 so set-up stays short (the apply path
/// does not depend on the table size, only on the blocks the notes touch).
const ACCOUNTS: u32 = 10_000;

/// TPC-B transactions in the AI file.
const TXNS: u64 = 2_000;

/// The structure of the source and of every restore target: 8 KiB blocks, two variable AI
/// extents.
const ST: &str = "b .\nd \"Schema Area\":6,64 .\nd \"Data Area\":7,64;8 .\na .\na .\n";

fn db_path(dir: &Path, name: &str) -> DbPath {
    DbPath::parse(dir.join(name).to_str().expect("utf-8 temp path")).expect("valid path")
}

/// The inputs of every iteration: the backup and the AI file, with the notes and bytes one
/// roll forward applies.
struct Stream {
    backup: PathBuf,
    ai_file: PathBuf,
    notes: u64,
    bytes: u64,
}

/// Makes the source: TPC-B tables, a backup, `aimage begin`, `TXNS` transactions with 4
/// clients, `aimage new`; the full extent is copied to `ai-1`. One roll forward measures the
/// stream (and checks it applies).
fn make_stream(storage: &StorageRef, dir: &Path) -> Stream {
    let src = db_path(dir, "src");
    let st = StFile::parse(ST).expect("valid structure");
    engine::create_database(storage, &src, &st, 8192).expect("create source");
    let db = Database::open(storage.clone(), &src, OpenOptions::default()).expect("open source");
    workload::tpcb_init_sized(&db, 1, ACCOUNTS).expect("load TPC-B");
    db.close().expect("close after load");
    let backup = dir.join("src.bck");
    backup::backup(
        storage,
        &src,
        &backup,
        backup::BackupOptions::default(),
        &mut |_| {},
    )
    .expect("backup");
    engine::aimage_begin(storage, &src).expect("aimage begin");
    let db = Database::open(storage.clone(), &src, OpenOptions::default()).expect("reopen");
    let config = workload::TpcbConfig {
        scale: 1,
        accounts_per_branch: ACCOUNTS,
        transactions: TXNS,
        clients: 4,
        seed: 1,
    };
    let report = workload::tpcb_run(&db, &config).expect("TPC-B run");
    assert_eq!(report.committed, TXNS);
    db.close().expect("close after run");
    engine::aimage_new(storage, &src).expect("aimage new");
    let ai_file = dir.join("ai-1");
    std::fs::copy(dir.join("src.a1"), &ai_file).expect("archive the full extent");

    let probe = tempfile::tempdir_in(dir).expect("temp dir");
    let summary = restore_and_roll(storage, probe.path(), &backup, &ai_file).1;
    assert_eq!(summary.txns_committed(), TXNS);
    Stream {
        backup,
        ai_file,
        notes: summary.notes_read(),
        bytes: summary.bytes(),
    }
}

/// Restores the backup into a new database in `dir` (untimed), then rolls the AI file
/// forward (timed); returns the time of the roll forward and its summary.
fn restore_and_roll(
    storage: &StorageRef,
    dir: &Path,
    backup: &Path,
    ai_file: &Path,
) -> (Duration, rollforward::Summary) {
    let target = db_path(dir, "copy");
    let st = StFile::parse(ST).expect("valid structure");
    engine::create_database(storage, &target, &st, 8192).expect("create target");
    backup::restore(storage, &target, backup, &mut |_| {}).expect("restore");
    let start = Instant::now();
    let summary = roll_forward(
        storage,
        &target,
        &[ai_file.to_path_buf()],
        &RollForwardOptions::default(),
        &mut |_| {},
    )
    .expect("roll forward");
    (start.elapsed(), summary)
}

fn roll_forward_tpcb(c: &mut Criterion) {
    let storage: StorageRef = Arc::new(storage::RealStorage);
    let dir = tempfile::tempdir().expect("temp dir");
    let stream = make_stream(&storage, dir.path());
    let mut group = c.benchmark_group("roll_forward");
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(10);
    group.throughput(Throughput::ElementsAndBytes {
        elements: stream.notes,
        bytes: stream.bytes,
    });
    group.bench_function(format!("tpcb_{TXNS}_txns"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let each = tempfile::tempdir_in(dir.path()).expect("temp dir");
                let (elapsed, summary) =
                    restore_and_roll(&storage, each.path(), &stream.backup, &stream.ai_file);
                assert_eq!(summary.notes_read(), stream.notes);
                timed += elapsed;
            }
            timed
        })
    });
    group.finish();
}

criterion_group!(benches, roll_forward_tpcb);
criterion_main!(benches);
