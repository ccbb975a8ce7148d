//! The catalogue's two slots in the control area: create, open, replace, refusal of another
//! database's catalogue, and a crash or I/O fault at every operation of a `replace`.

mod common;

use std::path::Path;

use common::{DB_ID, fixture, small};
use masterblock::DbId;
use storage::{CrashMode, Fault, FaultKind, OpenMode, SimStorage, Storage};
use structure::{CATALOGUE_SLOT_OFFSETS, Catalogue, CatalogueFile, Error, StFile};

const PATH: &str = "/db/small.db";

/// A file system holding `/db/small.db` with a catalogue made by `create` (generation 1)
/// and then `replaces` replaced by `base()` plus that many AI extents.
fn setup(replaces: usize) -> (SimStorage, CatalogueFile) {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let file = sim.open(Path::new(PATH), OpenMode::CreateNew).unwrap();
    sim.sync_dir(Path::new("/db")).unwrap();
    let mut cat_file = CatalogueFile::create(file, DB_ID, &base()).unwrap();
    for i in 0..replaces {
        cat_file.replace(with_ai(i + 1)).unwrap();
    }
    (sim, cat_file)
}

/// A catalogue whose encoding spans several 512-byte sectors, so that a crash can tear it.
fn base() -> Catalogue {
    let mut cat = small();
    let dir = "d".repeat(150);
    let text: String = (0..20)
        .map(|i| format!("d \"Area {i}\" /{dir}/\n"))
        .collect();
    cat.add_from_st(&StFile::parse(&text).unwrap(), 4096)
        .unwrap();
    assert!(cat.encode(DB_ID, 1).unwrap().len() > 3000);
    cat
}

/// `base()` with `n` AI extents.
fn with_ai(n: usize) -> Catalogue {
    let mut cat = base();
    cat.add_from_st(&StFile::parse(&"a .\n".repeat(n)).unwrap(), 4096)
        .unwrap();
    cat
}

fn reopen(sim: &SimStorage, id: DbId) -> Result<CatalogueFile, Error> {
    let file = sim.open(Path::new(PATH), OpenMode::ReadWrite).unwrap();
    CatalogueFile::open(file, id)
}

#[test]
fn create_open_replace() {
    let (sim, mut cat_file) = setup(0);
    assert_eq!(cat_file.get(), &base());
    assert_eq!(cat_file.generation(), 1);
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    let opened = reopen(&image, DB_ID).unwrap();
    assert_eq!((opened.get(), opened.generation()), (&base(), 1));

    for n in 1..=3 {
        cat_file.replace(with_ai(n)).unwrap();
        assert_eq!(cat_file.get(), &with_ai(n));
        let opened = reopen(&sim.crash_image(CrashMode::LoseUnsynced), DB_ID).unwrap();
        assert_eq!(opened.get(), &with_ai(n));
        assert_eq!(opened.generation(), 1 + n as u64);
    }
    let opened = reopen(&sim, DB_ID).unwrap();
    assert_eq!(opened.get(), &with_ai(3));
}

#[test]
fn create_leaves_the_master_block_region_alone() {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let file = sim.open(Path::new(PATH), OpenMode::CreateNew).unwrap();
    file.write_at(&[0xab; 8192], 0).unwrap();
    CatalogueFile::create(file.clone(), DB_ID, &fixture()).unwrap();
    let mut head = vec![0u8; 8192];
    file.read_at(&mut head, 0).unwrap();
    assert!(head.iter().all(|&b| b == 0xab));
    assert_eq!(file.len().unwrap(), CATALOGUE_SLOT_OFFSETS[1] + 65536);
}

#[test]
fn another_database_or_no_catalogue_is_refused() {
    let (sim, _) = setup(1);
    match reopen(&sim, DbId([9; 16])) {
        Err(e @ Error::NoValidCatalogue { .. }) => {
            let Error::NoValidCatalogue { slot0, slot1 } = &e else {
                unreachable!()
            };
            assert!(matches!(**slot0, Error::WrongDatabase { .. }));
            assert!(matches!(**slot1, Error::WrongDatabase { .. }));
            assert_eq!(e.msg_number(), 90229);
            assert!(e.to_string().contains("restore"));
        }
        other => panic!("{other:?}"),
    }

    let empty = SimStorage::new();
    empty.create_dir_all(Path::new("/db")).unwrap();
    empty.open(Path::new(PATH), OpenMode::CreateNew).unwrap();
    match reopen(&empty, DB_ID) {
        Err(Error::NoValidCatalogue { slot0, slot1 }) => {
            assert!(matches!(*slot0, Error::Truncated { .. }));
            assert!(matches!(*slot1, Error::Truncated { .. }));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_corrupt_slot_falls_back_to_the_other() {
    let (sim, _) = setup(1);
    let file = sim.open(Path::new(PATH), OpenMode::ReadWrite).unwrap();
    // Slot 1 holds generation 2; damage it and the older slot 0 is read.
    file.write_at(&[0xff; 4], CATALOGUE_SLOT_OFFSETS[1] + 100)
        .unwrap();
    let opened = reopen(&sim, DB_ID).unwrap();
    assert_eq!((opened.get(), opened.generation()), (&base(), 1));
}

#[test]
fn replace_refuses_an_invalid_catalogue() {
    let (_, mut cat_file) = setup(0);
    let mut bad = small();
    bad.areas[1].extents[0].path = "relative.b1".into();
    assert!(matches!(
        cat_file.replace(bad),
        Err(Error::CatalogueInvalid { .. })
    ));
    assert_eq!(cat_file.get(), &base());
}

/// The number of storage operations one `replace` performs after `prior` replaces.
fn replace_ops(prior: usize) -> u64 {
    let (sim, mut cat_file) = setup(prior);
    let start = sim.op_count();
    cat_file.replace(with_ai(prior + 1)).unwrap();
    sim.op_count() - start
}

#[test]
fn a_crash_at_any_operation_of_replace_leaves_old_or_new() {
    let modes = [
        CrashMode::LoseUnsynced,
        CrashMode::KeepRandomSubset { seed: 1 },
        CrashMode::KeepRandomSubset { seed: 2 },
        CrashMode::KeepRandomSubset { seed: 3 },
        CrashMode::KeepRandomSubset { seed: 4 },
    ];
    let mut saw_new_after_crash = false;
    for prior in [0, 1] {
        let old = if prior == 0 { base() } else { with_ai(prior) };
        let new = with_ai(prior + 1);
        let ops = replace_ops(prior);
        assert!(ops >= 2, "a replace writes and syncs");
        for k in 0..=ops {
            for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
                for mode in modes {
                    let (sim, mut cat_file) = setup(prior);
                    sim.set_fault(Some(Fault {
                        at_op: sim.op_count() + k,
                        kind,
                    }));
                    let result = cat_file.replace(new.clone());
                    assert_eq!(result.is_ok(), k == ops, "op {k} of {ops}");
                    let image = sim.crash_image(mode);
                    let opened = reopen(&image, DB_ID).unwrap_or_else(|e| {
                        panic!("prior {prior}, op {k}, {kind:?}, {mode:?}: {e}")
                    });
                    let got = opened.get();
                    assert!(
                        got == &old || got == &new,
                        "prior {prior}, op {k}, {kind:?}, {mode:?}: {got:?}"
                    );
                    if k == ops {
                        assert_eq!(got, &new, "a completed replace is durable");
                    } else if got == &new {
                        saw_new_after_crash = true;
                    }
                    // The reopened catalogue can be replaced again.
                    let mut opened = opened;
                    opened.replace(with_ai(5)).unwrap();
                    assert_eq!(reopen(&image, DB_ID).unwrap().get(), &with_ai(5));
                }
            }
        }
    }
    assert!(
        saw_new_after_crash,
        "some crash images keep the unsynced new slot"
    );
}

#[test]
fn an_io_error_in_replace_keeps_the_old_catalogue() {
    let ops = replace_ops(1);
    for k in 0..ops {
        for kind in [FaultKind::Enospc, FaultKind::Eio] {
            let (sim, mut cat_file) = setup(1);
            sim.set_fault(Some(Fault {
                at_op: sim.op_count() + k,
                kind,
            }));
            let err = cat_file.replace(with_ai(2)).unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{err:?}");
            assert_eq!(err.msg_number(), 90230);
            assert_eq!(cat_file.get(), &with_ai(1));
            let opened = reopen(&sim.crash_image(CrashMode::LoseUnsynced), DB_ID).unwrap();
            assert!(opened.get() == &with_ai(1) || opened.get() == &with_ai(2));
            cat_file.replace(with_ai(3)).unwrap();
            assert_eq!(reopen(&sim, DB_ID).unwrap().get(), &with_ai(3));
            assert_eq!(
                reopen(&sim.crash_image(CrashMode::LoseUnsynced), DB_ID)
                    .unwrap()
                    .get(),
                &with_ai(3)
            );
        }
    }
}
