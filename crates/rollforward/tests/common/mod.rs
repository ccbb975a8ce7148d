//! Shared support of the roll forward tests: a source database with after-imaging on in
//! simulated storage, a deterministic workload with switches, the archive of its AI files,
//! offline copies, and content dumps to compare databases.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aiextent::AiState;
use engine::{AccessMode, Database, DbPath, OpenOptions};
use masterblock::{AreaNo, DbState};
use rollforward::{Event, RollForwardOptions, Summary};
use storage::{CrashMode, SimStorage, Storage, StorageRef};
use structure::StFile;

/// Every record of every table: (table, key) to value.
pub type Dump = BTreeMap<(String, String), Vec<u8>>;

/// The source database's path (a copy keeps it, in its own simulated storage).
pub fn db_path() -> DbPath {
    DbPath::parse("/db/src").unwrap()
}

/// A storage reference over a simulated file system.
pub fn storage_of(sim: &SimStorage) -> StorageRef {
    Arc::new(sim.clone())
}

/// Open options of the source: few buffers, small variable AI extents (they switch often),
/// writes in a fixed order.
pub fn source_opts() -> OpenOptions {
    OpenOptions {
        buffers: 32,
        ai_parallel_sync: false,
        ai_variable_limit_bytes: Some(24 * 1024),
        ..OpenOptions::default()
    }
}

/// Roll forward options with a small pool (eviction happens), frequent checkpoints and
/// frequent flushes by the log writer.
pub fn rf_opts() -> RollForwardOptions {
    RollForwardOptions {
        replay: engine::ReplayOptions {
            buffers: 16,
            checkpoint_bytes: 16 * 1024,
            // The log writer thread flushes and syncs often, so crash tests meet its writes
            // and syncs too.
            log_flush_bytes: 2048,
            log_sync_bytes: 6144,
            ..engine::ReplayOptions::default()
        },
        ..RollForwardOptions::default()
    }
}

/// The structure: BI, Schema Area, data area 7 and `ai` variable AI extents.
pub fn st(ai: usize) -> StFile {
    let mut text = String::from("b .\nd \"Schema Area\":6,32 .\nd \"Data\":7,32;8 .\n");
    for _ in 0..ai {
        text.push_str("a .\n");
    }
    StFile::parse(&text).unwrap()
}

/// The source: a database with tables `a` and `b` and 8 AI extents, backed up and with
/// after-imaging begun; its AI files are archived as they fill.
pub struct Source {
    pub sim: SimStorage,
    pub storage: StorageRef,
    pub db: DbPath,
    /// AI files by sequence: the bytes of each extent when it was emptied (or at the end).
    pub archive: BTreeMap<u64, Vec<u8>>,
    /// Transactions run so far.
    pub txns: u64,
    /// The content after each commit of `work`, in commit order; the first is the content
    /// when after-imaging began (empty).
    pub states: Vec<Dump>,
}

impl Source {
    /// A new source in a fresh simulated file system.
    pub fn new() -> Source {
        let sim = SimStorage::new();
        sim.create_dir_all(Path::new("/db")).unwrap();
        let storage = storage_of(&sim);
        let db = db_path();
        engine::create_database(&storage, &db, &st(8), 1024).unwrap();
        let d = Database::open(storage.clone(), &db, source_opts()).unwrap();
        d.create_table("a", None).unwrap();
        d.create_table("b", Some(AreaNo(7))).unwrap();
        d.close().unwrap();
        engine::mark_backedup(&storage, &db).unwrap();
        engine::aimage_begin(&storage, &db).unwrap();
        Source {
            sim,
            storage,
            db,
            archive: BTreeMap::new(),
            txns: 0,
            states: vec![Dump::new()],
        }
    }

    /// Opens the source, runs `n` transactions (every fourth one rolled back; updates,
    /// inserts and deletes over both tables, with `seed` choosing), switching AI extents
    /// by hand when `switch_every` transactions passed, closes it and archives the full
    /// extents.
    pub fn work(&mut self, n: u64, seed: u64, switch_every: Option<u64>) {
        let d = Database::open(self.storage.clone(), &self.db, source_opts()).unwrap();
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for i in 0..n {
            self.txns += 1;
            let t = self.txns;
            let mut txn = d.begin().unwrap();
            let mut model = self.states.last().expect("a state").clone();
            for j in 0..3u64 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let table = if rng & 1 == 0 { "a" } else { "b" };
                let key = format!("k{:03}", rng % 60);
                let value = format!("v{t}-{j}-{}", "x".repeat((rng % 40) as usize));
                let entry = (table.to_string(), key.clone());
                match txn.get_for_update(table, &key).unwrap() {
                    Some(_) if rng.is_multiple_of(5) => {
                        txn.delete(table, &key).unwrap();
                        model.remove(&entry);
                    }
                    Some(_) => {
                        txn.update(table, &key, value.as_bytes()).unwrap();
                        model.insert(entry, value.into_bytes());
                    }
                    None => {
                        txn.insert(table, &key, value.as_bytes()).unwrap();
                        model.insert(entry, value.into_bytes());
                    }
                }
            }
            if t.is_multiple_of(4) {
                txn.rollback().unwrap();
            } else {
                txn.commit().unwrap();
                self.states.push(model);
            }
            if switch_every.is_some_and(|k| (i + 1) % k == 0) {
                d.ai_new().unwrap();
            }
        }
        d.close().unwrap();
        self.archive_full();
    }

    /// One transaction that spans a switch: begun (with changes) in one AI file, changed
    /// again and committed in the next.
    pub fn span_switch(&mut self, key: &str) {
        let d = Database::open(self.storage.clone(), &self.db, source_opts()).unwrap();
        let mut t = d.begin().unwrap();
        t.insert("a", key, b"before the switch").unwrap();
        d.ai_new().unwrap();
        t.insert("b", key, b"after the switch").unwrap();
        t.commit().unwrap();
        d.close().unwrap();
        self.archive_full();
    }

    /// Archives and empties every Full extent.
    pub fn archive_full(&mut self) {
        loop {
            let extents = engine::ai_extents(&self.storage, &self.db).unwrap();
            let Some(full) = extents
                .iter()
                .filter(|e| e.state == AiState::Full)
                .min_by_key(|e| e.ai_seq)
            else {
                return;
            };
            let bytes = storage::read_all(self.storage.as_ref(), &full.path).unwrap();
            self.archive.insert(full.ai_seq.0, bytes);
            engine::aimage_extent_empty(&self.storage, &self.db, None).unwrap();
        }
    }

    /// The busy extent's sequence and bytes now (the source closed).
    pub fn busy(&self) -> (u64, Vec<u8>) {
        let extents = engine::ai_extents(&self.storage, &self.db).unwrap();
        let busy = extents
            .iter()
            .find(|e| e.state == AiState::Busy)
            .expect("a busy extent");
        (
            busy.ai_seq.0,
            storage::read_all(self.storage.as_ref(), &busy.path).unwrap(),
        )
    }

    /// Every AI file from `from` on: the archived ones and the busy one as it is now.
    pub fn files_from(&self, from: u64) -> Vec<(u64, Vec<u8>)> {
        let mut out: Vec<(u64, Vec<u8>)> = self
            .archive
            .range(from..)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let (seq, bytes) = self.busy();
        if seq >= from {
            out.push((seq, bytes));
        }
        out
    }

    /// The current sequence of the busy extent.
    pub fn current_seq(&self) -> u64 {
        engine::describe(&self.storage, &self.db)
            .unwrap()
            .master
            .ai_seq_current
            .0
    }

    /// An offline copy of the (closed) source: what an OS copy of its files gives.
    pub fn os_copy(&self) -> SimStorage {
        self.sim.crash_image(CrashMode::LoseUnsynced)
    }

    /// The source's content.
    pub fn dump(&self) -> Dump {
        dump_of(&self.storage, &self.db)
    }
}

/// Writes AI files into `storage` under `/arch` and returns their paths, in order.
pub fn put_files(storage: &StorageRef, files: &[(u64, Vec<u8>)]) -> Vec<PathBuf> {
    storage.create_dir_all(Path::new("/arch")).unwrap();
    files
        .iter()
        .map(|(seq, bytes)| {
            let path = PathBuf::from(format!("/arch/src.ai{seq}"));
            if !storage.exists(&path) {
                storage::create_durable(storage.as_ref(), &path, bytes).unwrap();
            }
            path
        })
        .collect()
}

/// A standby taken from a new source: `before` transactions (workload seed `seed`), an OS copy
/// with its AI sequence set, then `after` more (seed `seed + 1`, an AI switch every
/// `switch_every`); returns the source, the copy, its path and the AI files from the copy's
/// sequence on, put in the copy's storage.
pub fn standby_with_files(
    before: u64,
    after: u64,
    seed: u64,
    switch_every: Option<u64>,
) -> (Source, StorageRef, DbPath, Vec<PathBuf>) {
    let mut src = Source::new();
    src.work(before, seed, None);
    let copy = storage_of(&src.os_copy());
    let db = db_path();
    let (_, k) = engine::set_sequence(&copy, &db).unwrap();
    src.work(after, seed + 1, switch_every);
    let files = put_files(&copy, &src.files_from(k.0));
    (src, copy, db, files)
}

/// The size of a database's BI file, in bytes.
pub fn bi_size(storage: &StorageRef, db: &DbPath) -> u64 {
    engine::describe(storage, db).unwrap().bi_size_bytes
}

/// Every record, read from a database opened read-only.
pub fn dump_of(storage: &StorageRef, db: &DbPath) -> Dump {
    let opts = OpenOptions {
        access: AccessMode::ReadOnly,
        ..source_opts()
    };
    let d = Database::open(storage.clone(), db, opts).unwrap();
    let out = dump(&d);
    d.close().unwrap();
    out
}

/// Every record of an open database; checks the structure of every table first.
pub fn dump(d: &Database) -> Dump {
    d.check().unwrap();
    let mut out = Dump::new();
    let tables = d.tables().unwrap();
    let mut txn = d.begin().unwrap();
    for t in tables {
        txn.scan(&t.name, &mut |k, v| {
            out.insert((t.name.clone(), k.to_string()), v.to_vec());
            true
        })
        .unwrap();
    }
    txn.commit().unwrap();
    out
}

/// Opens a rolled-forward database for update (rolling back what was in flight), then
/// dumps it read-only.
pub fn dump_after_use(storage: &StorageRef, db: &DbPath) -> Dump {
    Database::open(storage.clone(), db, source_opts())
        .unwrap()
        .close()
        .unwrap();
    dump_of(storage, db)
}

/// The state of a database's master block.
pub fn state_of(storage: &StorageRef, db: &DbPath) -> DbState {
    engine::describe(storage, db).unwrap().master.state
}

/// Rolls `files` forward onto `db`, ignoring the events.
pub fn roll(
    storage: &StorageRef,
    db: &DbPath,
    files: &[PathBuf],
    opts: &RollForwardOptions,
) -> rollforward::Result<Summary> {
    rollforward::roll_forward(storage, db, files, opts, &mut |_: Event<'_>| {})
}

/// Every file of the database's directory (except the event log) with its bytes: compared
/// before and after a refused roll forward to show it changed nothing.
pub fn snapshot(storage: &StorageRef) -> BTreeMap<String, Vec<u8>> {
    storage
        .list_dir(Path::new("/db"))
        .unwrap()
        .into_iter()
        .filter(|n| !n.ends_with(".lg") && !n.ends_with(".lk"))
        .map(|n| {
            let bytes = storage::read_all(storage.as_ref(), &Path::new("/db").join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// An independent simulated copy of the files under `/db` and `/arch` of `storage`.
pub fn copy_sim(storage: &StorageRef) -> SimStorage {
    let sim = SimStorage::new();
    for dir in ["/db", "/arch"] {
        sim.create_dir_all(Path::new(dir)).unwrap();
        if let Ok(names) = storage.list_dir(Path::new(dir)) {
            for n in names {
                let p = Path::new(dir).join(n);
                let bytes = storage::read_all(storage.as_ref(), &p).unwrap();
                storage::create_durable(&sim, &p, &bytes).unwrap();
            }
        }
    }
    sim
}

/// The transaction end notes (commit: true, rollback: false) of AI files, in stream order,
/// with their times.
pub fn end_notes(files: &[(u64, Vec<u8>)]) -> Vec<(bool, i64)> {
    let sim = SimStorage::new();
    let mut out = Vec::new();
    for (seq, bytes) in files {
        let path = PathBuf::from(format!("/f{seq}"));
        storage::create_durable(&sim, &path, bytes).unwrap();
        let f = sim.open(&path, storage::OpenMode::Read).unwrap();
        let ext = aiextent::AiExtentFile::open(f, &path).unwrap();
        let mut r = ext.read_notes().unwrap();
        while let Some(n) = r.next().unwrap() {
            match n.header.kind {
                aiextent::NoteKind::TxCommit => out.push((true, n.header.aux as i64)),
                aiextent::NoteKind::TxRollback => out.push((false, n.header.aux as i64)),
                _ => {}
            }
        }
    }
    out
}

/// A new database of the source's structure, restored from backup `n` of the (closed) source
/// (a clean target whose BI is its header alone); returns it and its first AI file's sequence.
pub fn restored(src: &Source, n: usize) -> (StorageRef, u64) {
    let bk = PathBuf::from(format!("/db/src.bk{n}"));
    backup::backup(
        &src.storage,
        &src.db,
        &bk,
        backup::BackupOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let target = storage_of(&sim);
    let db = db_path();
    engine::create_database(&target, &db, &st(8), 1024).unwrap();
    let bytes = storage::read_all(src.storage.as_ref(), &bk).unwrap();
    storage::create_durable(target.as_ref(), &bk, &bytes).unwrap();
    backup::restore(&target, &db, &bk, &mut |_| {}).unwrap();
    let first = engine::describe(&target, &db)
        .unwrap()
        .master
        .ai_seq_expected
        .0;
    (target, first)
}
