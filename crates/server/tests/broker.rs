//! The broker in process: sessions through clients, rollback when a connection ends, bad
//! frames, proshut modes, workloads over several connections, online AI requests.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use engine::{Database, DbPath, OpenOptions};
use server::protocol::{self, MAGIC, Request, VERSION};
use server::{Client, ServeOptions, ServerConnector, ServerHandle, ShutdownMode, Stopped};
use storage::StorageRef;
use structure::StFile;

const ST: &str = "b .\nd \"Schema Area\":6,64 .\nd \"Data Area\":7,64;8 .\na .\na .\n";

struct Served {
    _dir: tempfile::TempDir,
    storage: StorageRef,
    db: DbPath,
    handle: Option<ServerHandle>,
}

impl Served {
    fn client(&self) -> Client {
        Client::connect(self.handle.as_ref().unwrap().socket()).unwrap()
    }
    fn socket(&self) -> std::path::PathBuf {
        self.handle.as_ref().unwrap().socket().to_path_buf()
    }
    fn stop(&mut self) {
        let client = self.client();
        client.shutdown(ShutdownMode::Unconditional).unwrap();
        let stopped = self.handle.take().unwrap().wait().unwrap();
        assert!(matches!(stopped, Stopped::Clean));
    }
    fn open_single_user(&self) -> Database {
        Database::open(self.storage.clone(), &self.db, OpenOptions::default()).unwrap()
    }
    fn log(&self) -> String {
        std::fs::read_to_string(self.db.log_path()).unwrap_or_default()
    }
}

fn served(after_imaging: bool) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let storage: StorageRef = Arc::new(storage::RealStorage);
    let db = DbPath::new(dir.path(), "db").unwrap();
    engine::create_database(&storage, &db, &StFile::parse(ST).unwrap(), 4096).unwrap();
    if after_imaging {
        engine::mark_backedup(&storage, &db).unwrap();
        engine::aimage_begin(&storage, &db).unwrap();
    }
    let handle = server::serve(storage.clone(), &db, ServeOptions::default()).unwrap();
    Served {
        _dir: dir,
        storage,
        db,
        handle: Some(handle),
    }
}

fn number(e: server::Error) -> u32 {
    e.msg_number()
}

#[test]
fn records_scans_and_session_rules() {
    let mut s = served(false);
    let c = s.client();
    c.create_table("t", None).unwrap();
    let txn = c.begin().unwrap();
    for i in 0..600 {
        txn.insert("t", &format!("k{i:04}"), format!("v{i}").as_bytes())
            .unwrap();
    }
    txn.commit().unwrap();

    let txn = c.begin().unwrap();
    assert_eq!(number(c.begin().err().unwrap()), 91101);
    let mut seen = 0;
    txn.scan("t", &mut |k, v| {
        assert_eq!(k, format!("k{seen:04}"));
        assert_eq!(v, format!("v{seen}").as_bytes());
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, 600);
    // Stopping early still leaves the connection in step.
    let mut first = 0;
    txn.scan("t", &mut |_, _| {
        first += 1;
        false
    })
    .unwrap();
    assert_eq!(first, 1);
    assert_eq!(txn.get("t", "k0001").unwrap().unwrap(), b"v1");
    // Inserts and updates are pipelined: an error comes with the next answer, and fails the
    // rest of the transaction.
    txn.insert("t", "k0001", b"x").unwrap();
    txn.update("t", "k0001", b"changed").unwrap();
    assert_eq!(number(txn.get("t", "k0002").unwrap_err()), 90507);
    assert_eq!(number(txn.get("t", "k0002").unwrap_err()), 91126);
    assert_eq!(number(c.tables().unwrap_err()), 91107);
    txn.rollback().unwrap();

    // AddInteger: decimal values only, the key must exist.
    let txn = c.begin().unwrap();
    txn.insert("t", "n", b"-40").unwrap();
    txn.add_integer("t", "n", 42).unwrap();
    assert_eq!(txn.get("t", "n").unwrap().unwrap(), b"2");
    txn.add_integer("t", "k0003", 1).unwrap();
    assert_eq!(number(txn.get("t", "n").unwrap_err()), 91127);
    txn.rollback().unwrap();
    let txn = c.begin().unwrap();
    txn.add_integer("t", "missing", 1).unwrap();
    assert_eq!(number(txn.commit().unwrap_err()), 90508);

    // A commit behind a failed pipelined update rolls the transaction back.
    let txn = c.begin().unwrap();
    txn.update("t", "k0002", b"lost").unwrap();
    txn.update("t", "no-such-key", b"x").unwrap();
    let refused = number(txn.commit().unwrap_err());
    assert_ne!(refused, 91126, "the first error is the one reported");
    let txn = c.begin().unwrap();
    assert_eq!(txn.get("t", "k0002").unwrap().unwrap(), b"v2");
    txn.commit().unwrap();

    let txn = c.begin().unwrap();
    assert_eq!(txn.get("t", "k0001").unwrap().unwrap(), b"v1");
    txn.commit().unwrap();
    let names: Vec<String> = c.tables().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["t".to_string()]);

    // A record request outside a transaction.
    let mut raw = RawConn::hello(&s.socket());
    let (kind, _) = raw.call(&Request::Get {
        table: "t".into(),
        key: "k".into(),
    });
    assert_eq!(kind, 0x8007);
    drop(c);
    s.stop();
}

/// A connection driven frame by frame.
struct RawConn(UnixStream);

impl RawConn {
    fn hello(socket: &Path) -> RawConn {
        let mut raw = RawConn(UnixStream::connect(socket).unwrap());
        let (kind, _) = raw.call(&Request::Hello {
            magic: MAGIC,
            version: VERSION,
            client_pid: 1,
        });
        assert_eq!(kind, 0x8001);
        raw
    }
    fn call(&mut self, req: &Request) -> (u16, Vec<u8>) {
        let (kind, payload) = req.encode();
        protocol::write_frame(&mut self.0, kind, &payload).unwrap();
        match protocol::read_frame(&mut self.0).unwrap().unwrap() {
            protocol::ReadOutcome::Frame(f) => (f.kind, f.payload),
            protocol::ReadOutcome::Closed => panic!("closed"),
        }
    }
}

#[test]
fn a_connection_that_ends_mid_transaction_is_rolled_back() {
    let mut s = served(false);
    s.client().create_table("t", None).unwrap();
    let mut raw = RawConn::hello(&s.socket());
    assert_eq!(raw.call(&Request::Begin).0, 0x8002);
    let insert = Request::Insert {
        table: "t".into(),
        key: "ghost".into(),
        value: b"boo".to_vec(),
    };
    assert_eq!(raw.call(&insert).0, 0x8002);
    drop(raw);

    // The reader waits for the table lock until the rollback released it.
    let c = s.client();
    let txn = c.begin().unwrap();
    assert_eq!(txn.get("t", "ghost").unwrap(), None);
    txn.commit().unwrap();
    drop(c);
    s.stop();
    assert!(s.log().contains("(91123)"), "{}", s.log());
    let db = s.open_single_user();
    let mut txn = db.begin().unwrap();
    assert_eq!(txn.get("t", "ghost").unwrap(), None);
    txn.commit().unwrap();
}

#[test]
fn random_and_hostile_frames_close_only_their_connection() {
    let mut s = served(false);
    let c = s.client();
    c.create_table("t", None).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..24 {
        let mut stream = if round % 2 == 0 {
            UnixStream::connect(s.socket()).unwrap()
        } else {
            RawConn::hello(&s.socket()).0
        };
        let len = (next() % 400) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 3 == 0 && bytes.len() >= 12 {
            // A plausible header announcing a huge payload.
            bytes[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
            bytes[4..6].copy_from_slice(&VERSION.to_le_bytes());
            bytes[6..8].copy_from_slice(&0x0005u16.to_le_bytes());
        }
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    }
    // The server still serves.
    let txn = c.begin().unwrap();
    txn.insert("t", "k", b"v").unwrap();
    txn.commit().unwrap();
    drop(c);
    s.stop();
    assert!(s.log().contains("(91104)"), "{}", s.log());
}

#[test]
fn proshut_bn_waits_for_idle_and_by_rolls_back_and_releases() {
    let mut s = served(false);
    let busy = s.client();
    busy.create_table("t", None).unwrap();
    let txn = busy.begin().unwrap();
    txn.insert("t", "uncommitted", b"x").unwrap();

    // A second opener is refused while the server holds the database.
    let err = Database::open(s.storage.clone(), &s.db, OpenOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, engine::Error::InUse { .. }), "{err}");
    let info = server::server_info(&s.storage, &s.db).unwrap();
    assert_eq!(info.socket, s.socket());

    let err = s.client().shutdown(ShutdownMode::IfIdle).unwrap_err();
    assert_eq!(number(err), 91105);
    // Nothing stopped.
    assert!(txn.get("t", "uncommitted").unwrap().is_some());

    s.client().shutdown(ShutdownMode::Unconditional).unwrap();
    assert!(matches!(
        s.handle.take().unwrap().wait().unwrap(),
        Stopped::Clean
    ));
    // The disconnected client hears that the server is gone.
    assert_eq!(number(txn.commit().unwrap_err()), 91109);
    assert!(!s.db.lock_path().exists());
    assert!(!s.socket_path().exists());
    let db = s.open_single_user();
    let mut txn = db.begin().unwrap();
    assert_eq!(txn.get("t", "uncommitted").unwrap(), None);
    txn.commit().unwrap();
}

impl Served {
    fn socket_path(&self) -> std::path::PathBuf {
        server::socket_path(&self.db)
    }
}

#[test]
fn tpcb_over_four_connections_stays_balanced() {
    let mut s = served(false);
    let c = s.client();
    workload::tpcb_init_sized(&c, 1, 200).unwrap();
    let connector = ServerConnector::new(s.socket());
    let config = workload::TpcbConfig {
        scale: 1,
        accounts_per_branch: 200,
        transactions: 200,
        clients: 4,
        seed: 3,
    };
    let report = workload::tpcb_run(&connector, &config).unwrap();
    assert_eq!(report.committed, 200);
    let sums = workload::tpcb_check(&c).unwrap();
    assert!(sums.balanced(), "{sums:?}");
    assert_eq!(sums.history_rows, 200);
    let remote = workload::content_digest(&c).unwrap();
    drop(c);
    s.stop();
    let db = s.open_single_user();
    assert_eq!(workload::content_digest(&db).unwrap(), remote);
    assert_eq!(workload::tpcb_check(&db).unwrap(), sums);
}

#[test]
fn after_image_requests_online() {
    let mut s = served(true);
    let c = s.client();
    let before = c.ai_extents().unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before[0].state, aiextent::AiState::Busy);
    let (from, to, seq) = c.ai_new().unwrap();
    assert_eq!((from, to), (1, 2));
    let after = c.ai_extents().unwrap();
    assert_eq!(after[0].state, aiextent::AiState::Full);
    assert_eq!(after[1].state, aiextent::AiState::Busy);
    assert_eq!(after[1].ai_seq.0, seq);
    // The next extent is not empty: refused with 3774, the database goes on.
    assert_eq!(number(c.ai_new().unwrap_err()), 3774);
    let d = c.describe().unwrap();
    assert_eq!(d.ai_extents, after);
    assert_eq!(d.catalogue.ai_extents().len(), 2);
    assert!(d.bi_size_bytes > 0);
    c.create_table("t", None).unwrap();
    drop(c);
    s.stop();
}

#[test]
fn the_archiver_daemon_runs_with_the_server_and_stops_with_it_even_during_a_quiet_point() {
    let dir = tempfile::tempdir().unwrap();
    let storage: StorageRef = Arc::new(storage::RealStorage);
    let db = DbPath::new(dir.path(), "db").unwrap();
    engine::create_database(&storage, &db, &StFile::parse(ST).unwrap(), 4096).unwrap();
    engine::mark_backedup(&storage, &db).unwrap();
    engine::aimage_begin(&storage, &db).unwrap();
    let arch = dir.path().join("arch");
    let opts = ServeOptions {
        archiver: Some(aiarchiver::Settings::new(arch.to_str().unwrap(), 0, true).unwrap()),
        archiver_daemon: aiarchiver::DaemonOptions {
            poll: Duration::from_millis(20),
            interval_override: Some(Duration::from_millis(50)),
        },
        ..ServeOptions::default()
    };
    let handle = server::serve(storage.clone(), &db, opts).unwrap();
    let c = Client::connect(handle.socket()).unwrap();
    c.create_table("t", None).unwrap();
    // Timed switches archive the extents the inserts fill.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    while std::fs::read_dir(&arch).map_or(0, |d| d.count()) < 3 {
        assert!(std::time::Instant::now() < deadline, "nothing archived");
        let txn = c.begin().unwrap();
        txn.insert("t", &format!("k{i:05}"), b"v").unwrap();
        txn.commit().unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    // The busy extent gets notes, so the daemon's next timed switch (within 50 ms) waits for
    // the quiet point taken now; proshut -by still stops.
    let txn = c.begin().unwrap();
    txn.insert("t", "last", b"v").unwrap();
    txn.commit().unwrap();
    c.quiet_enable(true).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (done, stopped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(c.shutdown(ShutdownMode::Unconditional).is_ok());
    });
    let Ok(stopped) = stopped.recv_timeout(Duration::from_secs(20)) else {
        // Deadlocked: dropping the handle would wait for the stop too.
        std::mem::forget(handle);
        panic!("proshut -by did not stop the server");
    };
    assert!(stopped, "proshut -by failed");
    assert!(matches!(handle.wait().unwrap(), Stopped::Clean));
    let log = std::fs::read_to_string(db.log_path()).unwrap();
    assert!(log.contains("After-image Extent Manager stopped"), "{log}");
}
