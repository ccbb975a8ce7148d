//! Durable commits per second of the TPC-B workload, single-client and with 4 client threads,
//! with after-imaging off and on, on a real file system (every commit is fsynced; group commit
//! shares syncs across threads; with after-imaging on the AI extent is synced too).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{Database, DbPath, OpenOptions};
use structure::StFile;

/// Accounts per branch: smaller than TPC-B's 100,000 so set-up stays short; the commit path
/// (locks, notes, group commit, fsync) does not depend on the table size.
const ACCOUNTS: u32 = 10_000;

fn open_tpcb(dir: &std::path::Path, after_imaging: bool) -> Database {
    let storage: storage::StorageRef = Arc::new(storage::RealStorage);
    let db = DbPath::parse(dir.join("bench").to_str().expect("utf-8 temp path"))
        .expect("valid database path");
    let st = StFile::parse("b .\nd \"Schema Area\":6,64 .\nd \"Data Area\":7,64;8 .\na .\na .\n")
        .expect("valid structure");
    engine::create_database(&storage, &db, &st, 8192).expect("create database");
    let database =
        Database::open(storage.clone(), &db, OpenOptions::default()).expect("open database");
    workload::tpcb_init_sized(&database, 1, ACCOUNTS).expect("load TPC-B");
    if !after_imaging {
        return database;
    }
    database.close().expect("close after load");
    engine::mark_backedup(&storage, &db).expect("mark backedup");
    engine::aimage_begin(&storage, &db).expect("aimage begin");
    Database::open(storage, &db, OpenOptions::default()).expect("reopen with after-imaging")
}

fn tpcb_commits(c: &mut Criterion) {
    for after_imaging in [false, true] {
        tpcb_group(c, after_imaging);
    }
}

fn tpcb_group(c: &mut Criterion, after_imaging: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_tpcb(dir.path(), after_imaging);
    let name = if after_imaging {
        "tpcb_commit_ai_on"
    } else {
        "tpcb_commit_ai_off"
    };
    let mut group = c.benchmark_group(name);
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(10);
    for clients in [1u32, 4] {
        let per_iter: u64 = 200 * u64::from(clients);
        group.throughput(Throughput::Elements(per_iter));
        group.bench_function(format!("{clients}_client"), |b| {
            b.iter_custom(|iters| {
                let config = workload::TpcbConfig {
                    scale: 1,
                    accounts_per_branch: ACCOUNTS,
                    transactions: per_iter * iters,
                    clients,
                    seed: iters,
                };
                let start = Instant::now();
                let report = workload::tpcb_run(&db, &config).expect("TPC-B run");
                assert_eq!(report.committed, per_iter * iters);
                start.elapsed()
            })
        });
    }
    group.finish();
    db.close().expect("close");
}

criterion_group!(benches, tpcb_commits);
criterion_main!(benches);
