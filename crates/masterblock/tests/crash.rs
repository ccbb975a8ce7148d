//! Crash at every operation of a sequence of master block updates: reopening what survives
//! yields the last acknowledged master block or the one being written, never anything else
//! and never an error.

mod common;

use std::path::Path;

use common::sample_mb;
use masterblock::{AiSeq, DbState, MasterBlock, MasterBlockFile, NoteSeq};
use storage::{CrashMode, Fault, FaultKind, OpenMode, SimStorage, Storage};

const DB: &str = "/db/db.db";
const UPDATES: u64 = 6;

/// The change made by update `i` (1-based): several fields, so a mix-up would show.
fn change(i: u64) -> impl FnOnce(&mut MasterBlock) {
    move |mb: &mut MasterBlock| {
        mb.next_note_seq = NoteSeq(mb.next_note_seq.0 + 10 * i);
        mb.state = if i.is_multiple_of(2) {
            DbState::Clean
        } else {
            DbState::Open
        };
        mb.ai_enabled = !i.is_multiple_of(3);
        mb.ai_busy_extent = if mb.ai_enabled { i as u32 } else { 0 };
        mb.ai_seq_current = AiSeq(i);
        mb.open_time = i as i64 * 1000;
    }
}

/// A database whose master block was created and made durable, before any fault.
fn setup() -> (SimStorage, MasterBlockFile) {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/db")).unwrap();
    let file = sim.open(Path::new(DB), OpenMode::CreateNew).unwrap();
    let mut initial = sample_mb();
    initial.generation = 0;
    let mbf = MasterBlockFile::create(file, initial).unwrap();
    sim.sync_dir(Path::new("/db")).unwrap();
    (sim, mbf)
}

/// Runs the updates until one fails. Returns the last acknowledged master block and, if an
/// update failed, the one it was writing.
fn run(mbf: &mut MasterBlockFile) -> (MasterBlock, Option<MasterBlock>) {
    for i in 1..=UPDATES {
        let mut attempted = *mbf.get();
        change(i)(&mut attempted);
        attempted.generation += 1;
        if mbf.update(change(i)).is_err() {
            assert_ne!(
                mbf.get(),
                &attempted,
                "a failed update must not be acknowledged"
            );
            return (*mbf.get(), Some(attempted));
        }
        assert_eq!(mbf.get(), &attempted);
    }
    (*mbf.get(), None)
}

fn open_image(image: &SimStorage) -> MasterBlockFile {
    let file = image.open(Path::new(DB), OpenMode::ReadWrite).unwrap();
    MasterBlockFile::open(file).expect("a crash image always has a valid master block")
}

#[test]
fn crash_at_every_op_of_updates_yields_acknowledged_or_attempted() {
    let (sim, mut mbf) = setup();
    let start = sim.op_count();
    let (last, none) = run(&mut mbf);
    assert!(none.is_none());
    assert_eq!(last.generation, 1 + UPDATES);
    let end = sim.op_count();
    assert!(end - start >= 2 * UPDATES);

    let mut saw_attempted = false;
    for at_op in start..=end {
        for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
            let (sim, mut mbf) = setup();
            sim.set_fault(Some(Fault { at_op, kind }));
            let (acked, attempted) = run(&mut mbf);
            assert_eq!(attempted.is_some(), at_op < end, "{kind:?} at {at_op}");

            // Losing everything unsynced: exactly the last acknowledged value.
            let image = sim.crash_image(CrashMode::LoseUnsynced);
            let mut opened = open_image(&image);
            assert_eq!(opened.get(), &acked, "LoseUnsynced, {kind:?} at {at_op}");
            // And the reopened master block can be updated again.
            opened.update(|mb| mb.backup_counter += 1).unwrap();
            assert_eq!(open_image(&image).get().generation, acked.generation + 1);

            for seed in 0..4 {
                let image = sim.crash_image(CrashMode::KeepRandomSubset { seed });
                let got = *open_image(&image).get();
                if Some(got) == attempted {
                    saw_attempted = true;
                } else {
                    assert_eq!(got, acked, "seed {seed}, {kind:?} at {at_op}");
                }
            }
        }
    }
    assert!(saw_attempted, "some random image keeps an unsynced update");
}
