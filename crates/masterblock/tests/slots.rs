//! Two-slot master block file: creation, newest-valid selection, failed updates.

mod common;

use std::path::Path;

use common::sample_mb;
use masterblock::{
    DbState, Error, MB_REGION_BYTES, MB_SLOT_OFFSETS, MasterBlock, MasterBlockFile, NoteSeq,
};
use storage::{CrashMode, Fault, FaultKind, FileRef, OpenMode, RealStorage, SimStorage, Storage};

const DB: &str = "/db/db.db";

fn new_sim() -> (SimStorage, FileRef) {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let file = sim.open(Path::new(DB), OpenMode::CreateNew).unwrap();
    sim.sync_dir(Path::new("/db")).unwrap();
    (sim, file)
}

fn reopen(sim: &SimStorage) -> Result<MasterBlockFile, Error> {
    MasterBlockFile::open(sim.open(Path::new(DB), OpenMode::ReadWrite).unwrap())
}

fn initial() -> MasterBlock {
    MasterBlock::new(sample_mb().db_id, 4096, 42)
}

#[test]
fn create_writes_slot_zero_generation_one_and_zeroes_slot_one() {
    let (sim, file) = new_sim();
    let mbf = MasterBlockFile::create(file.clone(), initial()).unwrap();
    assert_eq!(mbf.get().generation, 1);
    assert_eq!(mbf.active_slot(), 0);
    assert_eq!(file.len().unwrap(), MB_REGION_BYTES);
    let mut slot1 = vec![0xFFu8; 4096];
    file.read_at(&mut slot1, MB_SLOT_OFFSETS[1]).unwrap();
    assert!(slot1.iter().all(|&b| b == 0));
    // Durable at once.
    let image = sim.crash_image(CrashMode::LoseUnsynced);
    let opened = reopen(&image).unwrap();
    assert_eq!(
        opened.get(),
        &MasterBlock {
            generation: 1,
            ..initial()
        }
    );
    assert_eq!(opened.active_slot(), 0);
}

#[test]
fn updates_alternate_slots_and_newer_wins() {
    let (sim, file) = new_sim();
    let mut mbf = MasterBlockFile::create(file, initial()).unwrap();
    for i in 1..=5u64 {
        mbf.update(|mb| {
            mb.next_note_seq = NoteSeq(100 * i);
            mb.generation = 999; // ignored: update assigns the generation
        })
        .unwrap();
        assert_eq!(mbf.get().generation, i + 1);
        assert_eq!(mbf.active_slot(), (i % 2) as usize);
        let opened = reopen(&sim).unwrap();
        assert_eq!(opened.get(), mbf.get());
        assert_eq!(opened.active_slot(), mbf.active_slot());
    }
    // A reopened file continues the alternation.
    let mut opened = reopen(&sim).unwrap();
    opened.update(|mb| mb.state = DbState::Open).unwrap();
    assert_eq!(opened.get().generation, 7);
    assert_eq!(opened.active_slot(), 0);
    assert_eq!(reopen(&sim).unwrap().get().state, DbState::Open);
}

#[test]
fn torn_newer_slot_falls_back_to_older() {
    let (sim, file) = new_sim();
    let mut mbf = MasterBlockFile::create(file.clone(), initial()).unwrap();
    mbf.update(|mb| mb.backup_counter = 1).unwrap();
    let older = *mbf.get();
    mbf.update(|mb| mb.backup_counter = 2).unwrap();
    assert_eq!(mbf.active_slot(), 0);
    // Tear the newer slot (slot 0): its second half is zeros.
    file.write_at(&[0u8; 256], 256).unwrap();
    let opened = reopen(&sim).unwrap();
    assert_eq!(opened.get(), &older);
    assert_eq!(opened.active_slot(), 1);
}

#[test]
fn both_slots_bad_names_both_problems() {
    let (sim, file) = new_sim();
    MasterBlockFile::create(file.clone(), initial()).unwrap();
    file.write_at(b"garbage!", 0).unwrap();
    match reopen(&sim) {
        Err(e @ Error::NoValidSlot { .. }) => {
            assert_eq!(e.msg_number(), 90107);
            let Error::NoValidSlot { slot0, slot1 } = &e else {
                unreachable!()
            };
            assert!(slot0.contains("garbage!"), "{slot0}");
            assert!(slot1.contains("never written"), "{slot1}");
            assert!(e.to_string().contains("restore"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn short_or_empty_file_has_no_valid_slot() {
    let (sim, file) = new_sim();
    assert!(matches!(reopen(&sim), Err(Error::NoValidSlot { .. })));
    file.write_at(&sample_mb().encode(), 0).unwrap();
    // Slot 1 lies past the end of the file; slot 0 is valid.
    assert_eq!(reopen(&sim).unwrap().get(), &sample_mb());
}

#[test]
fn invalid_update_is_refused_and_nothing_written() {
    let (sim, file) = new_sim();
    let mut mbf = MasterBlockFile::create(file, initial()).unwrap();
    let writes = sim.write_count();
    let err = mbf.update(|mb| mb.ai_enabled = true).unwrap_err();
    assert!(matches!(err, Error::AiBusyExtentMismatch { .. }));
    let err = mbf.update(|mb| mb.block_size = 3).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidField {
            field: "block_size",
            ..
        }
    ));
    assert_eq!(sim.write_count(), writes);
    assert_eq!(mbf.get().generation, 1);
    mbf.update(|mb| {
        mb.ai_enabled = true;
        mb.ai_busy_extent = 1;
    })
    .unwrap();
    assert_eq!(reopen(&sim).unwrap().get().ai_busy_extent, 1);
}

/// ENOSPC or EIO at each operation of an update: the update fails, the old value stays
/// (in memory, in the file as read now, and after a crash), and later updates work.
#[test]
fn enospc_and_eio_during_update_keep_the_old_value() {
    for kind in [FaultKind::Enospc, FaultKind::Eio] {
        let mut at = 0;
        loop {
            let (sim, file) = new_sim();
            let mut mbf = MasterBlockFile::create(file, initial()).unwrap();
            mbf.update(|mb| mb.backup_counter = 1).unwrap();
            let old = *mbf.get();
            let start = sim.op_count();
            sim.set_fault(Some(Fault {
                at_op: start + at,
                kind,
            }));
            let result = mbf.update(|mb| mb.backup_counter = 2);
            if sim.op_count() <= start + at {
                // The update finished before reaching the fault: every op was covered.
                result.unwrap();
                assert!(at >= 2, "an update is at least a write and a sync");
                break;
            }
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{err:?}");
            assert_eq!(err.msg_number(), 90100);
            assert_eq!(mbf.get(), &old);
            assert_eq!(reopen(&sim).unwrap().get(), &old, "{kind:?} at {at}");
            let image = sim.crash_image(CrashMode::LoseUnsynced);
            assert_eq!(reopen(&image).unwrap().get(), &old);

            mbf.update(|mb| mb.backup_counter = 3).unwrap();
            mbf.update(|mb| mb.backup_counter = 4).unwrap();
            assert_eq!(mbf.get().generation, old.generation + 2);
            for view in [sim.clone(), sim.crash_image(CrashMode::LoseUnsynced)] {
                let opened = reopen(&view).unwrap();
                assert_eq!(opened.get(), mbf.get());
            }
            at += 1;
        }
    }
}

#[test]
fn works_on_real_storage() {
    let dir = tempfile::tempdir().unwrap();
    let fs = RealStorage;
    let path = dir.path().join("db.db");
    let file = fs.open(&path, OpenMode::CreateNew).unwrap();
    let mut mbf = MasterBlockFile::create(file, initial()).unwrap();
    mbf.update(|mb| mb.next_note_seq = NoteSeq(77)).unwrap();
    drop(mbf);
    let opened = MasterBlockFile::open(fs.open(&path, OpenMode::ReadWrite).unwrap()).unwrap();
    assert_eq!(opened.get().next_note_seq, NoteSeq(77));
    assert_eq!(opened.get().generation, 2);
}

/// Every variant's number is listed in MESSAGES, and no Display text carries a number.
#[test]
fn every_error_has_a_listed_number() {
    let io = || std::io::Error::other("x");
    let id = sample_mb().db_id;
    let errors = [
        Error::Io {
            op: "read master block",
            source: io(),
        },
        Error::BadMagic {
            found: [0; 8],
            expected: [1; 8],
            what: "x",
            offset: 0,
        },
        Error::UnsupportedVersion {
            found: 2,
            supported: 1,
            what: "x",
            offset: 0,
        },
        Error::ChecksumMismatch {
            expected: 1,
            actual: 2,
            what: "x",
            offset: 0,
        },
        Error::InvalidField {
            field: "f",
            value: 1,
        },
        Error::Truncated {
            what: "x",
            needed: 2,
            found: 1,
        },
        Error::NeverWritten {
            what: "x",
            offset: 0,
        },
        Error::NoValidSlot {
            slot0: "a".into(),
            slot1: "b".into(),
        },
        Error::AiBusyExtentMismatch {
            ai_enabled: true,
            ai_busy_extent: 0,
        },
        Error::ForeignExtent {
            expected: id,
            found: id,
        },
        Error::ExtentMismatch {
            expected_area: masterblock::AreaNo(7),
            expected_extent: 1,
            found_area: masterblock::AreaNo(8),
            found_extent: 1,
        },
    ];
    let listed: Vec<u32> = masterblock::MESSAGES.iter().map(|(n, _)| *n).collect();
    let mut used: Vec<u32> = errors.iter().map(Error::msg_number).collect();
    used.sort();
    assert_eq!(used, listed);
    for e in &errors {
        assert!(!e.to_string().contains(&e.msg_number().to_string()), "{e}");
    }
}
