//! `SimStorage`: durability of data and names, fault injection at every operation, torn writes
//! and deterministic crash images.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use storage::{
    CrashMode, Fault, FaultKind, FileRef, OpenMode, SimStorage, Storage, create_durable, read_all,
};

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

fn setup() -> SimStorage {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    sim
}

/// Every file name under `/db` of `sim` with its contents.
fn snapshot(sim: &SimStorage) -> Vec<(String, Vec<u8>)> {
    sim.list_dir(Path::new("/db"))
        .unwrap()
        .into_iter()
        .map(|name| {
            let bytes = read_all(sim, &Path::new("/db").join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn unsynced_write_is_lost_and_synced_write_kept() {
    let sim = setup();
    let file = create_durable(&sim, &p("/db/f"), b"durable").unwrap();
    file.write_at(b"LOST", 0).unwrap();
    assert_eq!(read_all(&sim, &p("/db/f")).unwrap(), b"LOSTble");
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"durable");

    file.sync().unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"LOSTble");
}

#[test]
fn unsynced_set_len_is_lost() {
    let sim = setup();
    let file = create_durable(&sim, &p("/db/f"), b"0123456789").unwrap();
    file.set_len(4).unwrap();
    assert_eq!(file.len().unwrap(), 4);
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"0123456789");
    file.sync().unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"0123");
}

#[test]
fn file_created_without_sync_dir_vanishes() {
    let sim = setup();
    let file = sim.open(&p("/db/new"), OpenMode::CreateNew).unwrap();
    file.write_at(b"data", 0).unwrap();
    file.sync().unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert!(!image.exists(&p("/db/new")));
    assert!(image.exists(&p("/db")));

    sim.sync_dir(&p("/db")).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/new")).unwrap(), b"data");
}

#[test]
fn created_and_dir_synced_but_unsynced_content_is_empty() {
    let sim = setup();
    let file = sim.open(&p("/db/new"), OpenMode::CreateNew).unwrap();
    file.write_at(b"data", 0).unwrap();
    sim.sync_dir(&p("/db")).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/new")).unwrap(), b"");
}

#[test]
fn rename_and_remove_are_durable_only_after_sync_dir() {
    let sim = setup();
    create_durable(&sim, &p("/db/old"), b"old").unwrap();
    create_durable(&sim, &p("/db/target"), b"target").unwrap();
    sim.rename(&p("/db/old"), &p("/db/target")).unwrap();
    assert_eq!(read_all(&sim, &p("/db/target")).unwrap(), b"old");
    assert!(!sim.exists(&p("/db/old")));

    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(
        snapshot(&image),
        vec![
            ("old".to_string(), b"old".to_vec()),
            ("target".to_string(), b"target".to_vec())
        ]
    );

    sim.sync_dir(&p("/db")).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(
        snapshot(&image),
        vec![("target".to_string(), b"old".to_vec())]
    );

    sim.remove(&p("/db/target")).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(snapshot(&image).len(), 1);
    sim.sync_dir(&p("/db")).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert!(snapshot(&image).is_empty());
}

#[test]
fn rename_across_directories_needs_both_synced() {
    let sim = setup();
    sim.create_dir_all(&p("/other")).unwrap();
    create_durable(&sim, &p("/db/f"), b"f").unwrap();
    sim.rename(&p("/db/f"), &p("/other/g")).unwrap();
    sim.sync_dir(&p("/other")).unwrap();
    // Only the destination is durable: the file has two durable names, like a hard link.
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"f");
    assert_eq!(read_all(&image, &p("/other/g")).unwrap(), b"f");
    sim.sync_dir(&p("/db")).unwrap();
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert!(!image.exists(&p("/db/f")));
    assert_eq!(read_all(&image, &p("/other/g")).unwrap(), b"f");
}

#[test]
fn removed_file_handle_still_works() {
    let sim = setup();
    let file = create_durable(&sim, &p("/db/f"), b"abc").unwrap();
    sim.remove(&p("/db/f")).unwrap();
    file.write_at(b"d", 3).unwrap();
    let mut buf = [0u8; 4];
    file.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"abcd");
    assert_eq!(
        sim.open(&p("/db/f"), OpenMode::Read).err().unwrap().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn namespace_queries() {
    let sim = setup();
    sim.create_dir_all(&p("/db/sub")).unwrap();
    create_durable(&sim, &p("/db/b"), b"").unwrap();
    create_durable(&sim, &p("/db/a"), b"").unwrap();
    assert_eq!(sim.list_dir(&p("/db")).unwrap(), vec!["a", "b", "sub"]);
    assert_eq!(sim.canonicalize(&p("/db/sub/../a")).unwrap(), p("/db/a"));
    assert_eq!(sim.canonicalize(&p("/db/./b")).unwrap(), p("/db/b"));
    assert_eq!(
        sim.canonicalize(&p("/db/zz")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        sim.open(&p("/db/a"), OpenMode::CreateNew)
            .err()
            .unwrap()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        sim.open(&p("/nodir/a"), OpenMode::CreateNew)
            .err()
            .unwrap()
            .kind(),
        ErrorKind::NotFound
    );
    let ro = sim.open(&p("/db/a"), OpenMode::Read).unwrap();
    assert_eq!(
        ro.write_at(b"x", 0).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        ro.read_at(&mut [0u8; 1], 0).unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
}

/// The fixed sequence the fault tests run; each step is exactly one mutating operation.
/// Returns the first error with the index of the step that failed.
fn run_sequence(sim: &SimStorage) -> Result<(), (usize, std::io::Error)> {
    let mut file: Option<FileRef> = None;
    let steps: usize = 11;
    for step in 0..steps {
        let result = match step {
            0 => sim.open(&p("/db/f"), OpenMode::CreateNew).map(|f| {
                file = Some(f);
            }),
            1 => file.as_ref().unwrap().write_at(&[1u8; 1000], 0),
            2 => file.as_ref().unwrap().sync(),
            3 => sim.sync_dir(&p("/db")),
            4 => file.as_ref().unwrap().write_at(&[2u8; 100], 900),
            5 => file.as_ref().unwrap().set_len(950),
            6 => file.as_ref().unwrap().sync(),
            7 => sim.rename(&p("/db/f"), &p("/db/g")),
            8 => sim.sync_dir(&p("/db")),
            9 => sim.remove(&p("/db/g")),
            10 => sim.sync_dir(&p("/db")),
            _ => unreachable!(),
        };
        result.map_err(|e| (step, e))?;
    }
    Ok(())
}

/// What a crash image must hold after the first `done` steps of [`run_sequence`].
fn expected_after(done: usize) -> Vec<(String, Vec<u8>)> {
    let first = vec![1u8; 1000];
    let mut second = first.clone();
    second[900..].fill(2);
    second.truncate(950);
    let named = |name: &str, bytes: &[u8]| vec![(name.to_string(), bytes.to_vec())];
    match done {
        0..=3 => vec![],
        4..=6 => named("f", &first),
        7 | 8 => named("f", &second),
        9 | 10 => named("g", &second),
        _ => vec![],
    }
}

#[test]
fn crash_at_every_op_keeps_exactly_the_completed_durable_state() {
    let clean = setup();
    run_sequence(&clean).unwrap();
    let total = clean.op_count();
    assert_eq!(total, 11);
    for at_op in 0..total {
        let sim = setup();
        sim.set_fault(Some(Fault {
            at_op,
            kind: FaultKind::Crash,
        }));
        let (step, err) = run_sequence(&sim).unwrap_err();
        assert_eq!(step as u64, at_op);
        assert_eq!(err.to_string(), "simulated crash");
        assert!(sim.crashed());
        assert_eq!(sim.op_count(), at_op + 1);
        // Every later call fails, reads too.
        assert!(sim.list_dir(&p("/db")).is_err());
        assert!(sim.open(&p("/db/f"), OpenMode::Read).is_err());
        assert!(sim.sync_dir(&p("/db")).is_err());

        let image = sim.crash_image(CrashMode::LoseUnsynced);
        assert!(!image.crashed());
        assert_eq!(
            snapshot(&image),
            expected_after(at_op as usize),
            "crash at {at_op}"
        );
    }
}

#[test]
fn torn_write_crash_lands_a_durable_prefix() {
    for (len, landed) in [
        (1000usize, 512usize),
        (1024, 512),
        (1025, 1024),
        (512, 256),
        (3, 1),
    ] {
        let sim = setup();
        let file = create_durable(&sim, &p("/db/f"), &[]).unwrap();
        sim.set_fault(Some(Fault {
            at_op: sim.op_count(),
            kind: FaultKind::TornWriteCrash,
        }));
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
        let err = file.write_at(&data, 0).unwrap_err();
        assert_eq!(err.to_string(), "simulated crash");
        assert!(sim.crashed());
        for mode in [
            CrashMode::LoseUnsynced,
            CrashMode::KeepRandomSubset { seed: 9 },
        ] {
            let image = sim.crash_image(mode);
            assert_eq!(
                read_all(&image, &p("/db/f")).unwrap(),
                &data[..landed],
                "len {len}"
            );
        }
    }
}

#[test]
fn torn_write_on_other_op_is_a_plain_crash() {
    let sim = setup();
    let file = create_durable(&sim, &p("/db/f"), b"abc").unwrap();
    file.write_at(b"X", 0).unwrap();
    sim.set_fault(Some(Fault {
        at_op: sim.op_count(),
        kind: FaultKind::TornWriteCrash,
    }));
    assert!(file.sync().is_err());
    assert!(sim.crashed());
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"abc");
}

#[test]
fn enospc_and_eio_fail_one_op_and_change_nothing() {
    for kind in [FaultKind::Enospc, FaultKind::Eio] {
        let sim = setup();
        let file = create_durable(&sim, &p("/db/f"), b"abc").unwrap();
        let at_op = sim.op_count();
        sim.set_fault(Some(Fault { at_op, kind }));
        let err = file.write_at(b"XYZW", 0).unwrap_err();
        match kind {
            FaultKind::Enospc => assert_eq!(err.kind(), ErrorKind::StorageFull),
            _ => assert_eq!(err.to_string(), "simulated EIO"),
        }
        assert!(!sim.crashed());
        assert_eq!(sim.op_count(), at_op + 1);
        assert_eq!(read_all(&sim, &p("/db/f")).unwrap(), b"abc");
        // The next operations proceed normally.
        file.write_at(b"XYZW", 0).unwrap();
        file.sync().unwrap();
        let image = sim.crash_image(CrashMode::LoseUnsynced);
        assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"XYZW");

        // A failed sync leaves the data not durable; a failed rename leaves the name.
        file.write_at(b"Q", 0).unwrap();
        sim.set_fault(Some(Fault {
            at_op: sim.op_count(),
            kind,
        }));
        assert!(file.sync().is_err());
        let image = sim.crash_image(CrashMode::LoseUnsynced);
        assert_eq!(read_all(&image, &p("/db/f")).unwrap(), b"XYZW");
        sim.set_fault(Some(Fault {
            at_op: sim.op_count(),
            kind,
        }));
        assert!(sim.rename(&p("/db/f"), &p("/db/g")).is_err());
        assert!(sim.exists(&p("/db/f")));
        assert!(!sim.exists(&p("/db/g")));
    }
}

#[test]
fn fault_at_every_op_enospc_never_crashes() {
    let clean = setup();
    run_sequence(&clean).unwrap();
    for at_op in 0..clean.op_count() {
        let sim = setup();
        sim.set_fault(Some(Fault {
            at_op,
            kind: FaultKind::Enospc,
        }));
        let (step, err) = run_sequence(&sim).unwrap_err();
        assert_eq!(step as u64, at_op);
        assert_eq!(err.kind(), ErrorKind::StorageFull);
        assert!(!sim.crashed());
        assert_eq!(
            snapshot(&sim.crash_image(CrashMode::LoseUnsynced)),
            expected_after(at_op as usize)
        );
    }
}

#[test]
fn counters_count_writes_and_syncs() {
    let sim = setup();
    let file = create_durable(&sim, &p("/db/f"), b"abc").unwrap();
    assert_eq!(sim.write_count(), 1);
    assert_eq!(sim.sync_count(), 2);
    assert_eq!(sim.op_count(), 4);
    let mut buf = [0u8; 3];
    file.read_at(&mut buf, 0).unwrap();
    assert_eq!(sim.op_count(), 4, "reads are not counted");
}

/// A file with a synced base and many unsynced sector-sized writes.
fn random_subset_history() -> SimStorage {
    let sim = setup();
    let file = create_durable(&sim, &p("/db/f"), &[0u8; 8192]).unwrap();
    for i in 0..16u8 {
        file.write_at(&[i + 1; 512], u64::from(i) * 512).unwrap();
    }
    file.write_at(&[0xEE; 700], 8000).unwrap();
    sim
}

#[test]
fn keep_random_subset_is_deterministic_per_seed_and_keeps_only_written_sectors() {
    let sim = random_subset_history();
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..16 {
        let a = read_all(
            &sim.crash_image(CrashMode::KeepRandomSubset { seed }),
            &p("/db/f"),
        )
        .unwrap();
        let b = read_all(
            &sim.crash_image(CrashMode::KeepRandomSubset { seed }),
            &p("/db/f"),
        )
        .unwrap();
        assert_eq!(a, b, "same seed, same image");
        assert!(a.len() == 8192 || a.len() == 8700);
        for (i, sector) in a.chunks(512).enumerate() {
            let i = i as u8;
            // Each byte is the synced zero, its sector's write, or the last write's 0xEE.
            assert!(
                sector.iter().all(|&b| b == 0 || b == i + 1 || b == 0xEE),
                "sector {i}: {sector:?}"
            );
        }
        distinct.insert(a);
    }
    assert!(distinct.len() > 8, "seeds choose different subsets");
}

#[test]
fn keep_random_subset_equals_lose_unsynced_when_everything_is_synced() {
    let sim = random_subset_history();
    sim.open(&p("/db/f"), OpenMode::ReadWrite)
        .unwrap()
        .sync()
        .unwrap();
    let lose = snapshot(&sim.crash_image(CrashMode::LoseUnsynced));
    let keep = snapshot(&sim.crash_image(CrashMode::KeepRandomSubset { seed: 3 }));
    assert_eq!(lose, keep);
    assert_eq!(lose, snapshot(&sim));
}

#[test]
fn clones_share_state_and_images_are_independent() {
    let sim = setup();
    let clone = sim.clone();
    create_durable(&clone, &p("/db/f"), b"abc").unwrap();
    assert_eq!(read_all(&sim, &p("/db/f")).unwrap(), b"abc");
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    image.remove(&p("/db/f")).unwrap();
    assert!(sim.exists(&p("/db/f")));
    assert_eq!(image.op_count(), 1);
}
