//! Roll forward speed on a TPC-B after-image stream, on the real file system. Ignored by
//! default; run in release:
//! `cargo test --release -p rollforward --test speed -- --ignored --nocapture`
//! (`RF_SPEED_TX`: transactions, 100,000 by default; `RF_SPEED_ACCOUNTS`: accounts, TPC-B's
//! 100,000 by default; `RF_SPEED_DIR`: where the databases go, the system's temporary directory
//! by default).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use engine::{AccessMode, Database, DbPath, OpenOptions, RepairTarget};
use rollforward::RollForwardOptions;
use storage::{RealStorage, StorageRef};
use structure::StFile;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn digest(storage: &StorageRef, db: &DbPath) -> workload::ContentDigest {
    let opts = OpenOptions {
        access: AccessMode::ReadOnly,
        ..OpenOptions::default()
    };
    let d = Database::open(storage.clone(), db, opts).unwrap();
    let out = workload::content_digest(&d).unwrap();
    d.close().unwrap();
    out
}

/// Copies every file of `from` except the lock and the event log into `to`.
fn copy_dir(storage: &StorageRef, from: &Path, to: &Path) {
    storage.create_dir_all(to).unwrap();
    for name in storage.list_dir(from).unwrap() {
        if name.ends_with(".lk") || name.ends_with(".lg") {
            continue;
        }
        let bytes = storage::read_all(storage.as_ref(), &from.join(&name)).unwrap();
        storage::create_durable(storage.as_ref(), &to.join(&name), &bytes).unwrap();
    }
}

#[test]
#[ignore]
fn tpcb_stream_speed() {
    let tx = env_or("RF_SPEED_TX", 100_000);
    let accounts = env_or("RF_SPEED_ACCOUNTS", 100_000) as u32;
    let base = std::env::var_os("RF_SPEED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("rf-speed-{}", std::process::id()));
    let storage: StorageRef = Arc::new(RealStorage::new());
    let (src_dir, copy_dir_path) = (base.join("src"), base.join("copy"));
    storage.create_dir_all(&src_dir).unwrap();
    let src = DbPath::parse(src_dir.join("tpcb").to_str().unwrap()).unwrap();
    let copy = DbPath::parse(copy_dir_path.join("tpcb").to_str().unwrap()).unwrap();
    let st =
        StFile::parse("b .\nd \"Schema Area\":6,64 .\nd \"Data\":7,64;8 .\na .\na .\n").unwrap();
    engine::create_database(&storage, &src, &st, 4096).unwrap();
    let d = Database::open(storage.clone(), &src, OpenOptions::default()).unwrap();
    workload::tpcb_init_sized(&d, 1, accounts).unwrap();
    d.close().unwrap();
    engine::mark_backedup(&storage, &src).unwrap();
    engine::aimage_begin(&storage, &src).unwrap();
    copy_dir(&storage, &src_dir, &copy_dir_path);
    engine::repair(&storage, &copy, RepairTarget::Dir(copy_dir_path.clone())).unwrap();
    let d = Database::open(storage.clone(), &src, OpenOptions::default()).unwrap();
    let config = workload::TpcbConfig {
        transactions: tx,
        accounts_per_branch: accounts,
        clients: 4,
        ..workload::TpcbConfig::default()
    };
    let run = workload::tpcb_run(&d, &config).unwrap();
    d.close().unwrap();
    let extents = engine::ai_extents(&storage, &src).unwrap();
    let busy = extents.iter().find(|e| e.ai_seq.0 == 1).unwrap();
    let file = copy_dir_path.join("tpcb.ai1.arch");
    let bytes = storage::read_all(storage.as_ref(), &busy.path).unwrap();
    storage::create_durable(storage.as_ref(), &file, &bytes).unwrap();
    let began = Instant::now();
    let summary = rollforward::roll_forward(
        &storage,
        &copy,
        &[file],
        &RollForwardOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let wall = began.elapsed();
    println!(
        "source: {} transactions at {:.0} tps; AI file {} bytes",
        run.committed,
        run.tps,
        bytes.len()
    );
    println!("{summary} (wall {wall:?})");
    assert_eq!(summary.txns_committed(), run.committed);
    assert_eq!(digest(&storage, &copy), digest(&storage, &src));
    std::fs::remove_dir_all(&base).unwrap();
}
