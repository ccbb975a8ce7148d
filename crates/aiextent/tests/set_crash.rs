//! Crash tests of the extent set: a crash (plain or tearing the write it hits) at every storage
//! operation of `aimage begin`, two switches in a row, `aimage end` and `aimage extent empty`,
//! on fixed and variable extents. Each crash image (unsynced data lost, or a random subset of
//! it kept) is reopened and reconciled; the set must then agree with the master block, hold
//! every note synced before the crash in sequence order, and go on working.

mod set_support;

use aiextent::{AiState, Error, NoteKind};
use set_support::*;
use storage::{CrashMode, Fault, FaultKind, SimStorage};

/// Crash images worth checking after a crash at op `k`.
fn images(sim: &SimStorage, k: u64) -> Vec<SimStorage> {
    vec![
        sim.crash_image(CrashMode::LoseUnsynced),
        sim.crash_image(CrashMode::KeepRandomSubset { seed: k }),
        sim.crash_image(CrashMode::KeepRandomSubset {
            seed: k.wrapping_mul(0x9e37_79b9) ^ 0x5555,
        }),
    ]
}

/// What a scenario expects of the notes after a crash.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every synced note is still there.
    Keep,
    /// After-imaging ends: either every synced note is there, or every extent is Empty.
    KeepOrNone,
    /// The oldest full extent is emptied: its notes may be gone, every later synced one stays.
    KeepSuffix,
}

/// Checks one reconciled crash image, then appends, syncs and switches on it and checks again.
fn check_image(
    image: &SimStorage,
    ctx_specs: &[aiextent::AiExtentSpec],
    stream: &Stream,
    expect: Expect,
    what: &str,
) {
    let (mb, set) = open_reconciled(image, ctx_specs);
    check_consistent(&mb, &set);
    let back = read_back(&set);
    check_contiguous(&back);
    let notes: Vec<Seen> = back.iter().flat_map(|(_, _, n)| n.clone()).collect();
    let synced = &stream.appended[..stream.synced];
    match expect {
        Expect::KeepOrNone if notes.is_empty() => {
            assert!(!mb.get().ai_enabled, "{what}: no notes but AI on");
            assert!(set.extents().iter().all(|i| i.state == AiState::Empty));
            return;
        }
        Expect::KeepOrNone => assert!(mb.get().ai_enabled, "{what}: AI off but notes remain"),
        Expect::Keep | Expect::KeepSuffix => {}
    }
    let start = stream
        .appended
        .iter()
        .position(|n| Some(n) == notes.first())
        .unwrap_or_else(|| panic!("{what}: first note {:?} was never appended", notes.first()));
    if expect != Expect::KeepSuffix {
        assert_eq!(start, 0, "{what}: notes lost at the start");
    }
    assert_eq!(
        &notes[..],
        &stream.appended[start..start + notes.len()],
        "{what}: not the appended notes"
    );
    assert!(
        start + notes.len() >= synced.len(),
        "{what}: synced notes lost ({} of {} after {start})",
        notes.len(),
        synced.len()
    );
    if !mb.get().ai_enabled {
        return;
    }
    // The stream goes on from where reconcile found it.
    let last = set
        .recovered_last_note_seq()
        .expect("a busy extent has notes");
    assert_eq!(last.0, notes.last().unwrap().0);
    let mut ctx = Ctx {
        sim: image.clone(),
        specs: ctx_specs.to_vec(),
        mb,
        set,
        stream: Stream {
            next: last.0 + 1,
            appended: notes.clone(),
            synced: notes.len(),
        },
        now: 1000,
    };
    ctx.append(2).unwrap();
    ctx.sync().unwrap();
    match ctx.switch() {
        Ok(()) | Err(Error::NextExtentFull { .. }) => {}
        Err(e) => panic!("{what}: switch after recovery: {e}"),
    }
    ctx.append(1).unwrap();
    ctx.sync().unwrap();
    let (mb, set) = open_reconciled(image, ctx_specs);
    check_consistent(&mb, &set);
    let back = read_back(&set);
    check_contiguous(&back);
    let again: Vec<Seen> = back.iter().flat_map(|(_, _, n)| n.clone()).collect();
    assert_eq!(again, ctx.stream.appended, "{what}: notes after recovery");
}

/// Runs `step` after `prepare` with a crash at every operation it uses and checks each image.
fn crash_every_op(
    name: &str,
    prepare: &dyn Fn() -> Ctx,
    step: &dyn Fn(&mut Ctx) -> Result<(), Error>,
    expect: Expect,
) {
    let mut ctx = prepare();
    let first = ctx.sim.op_count();
    step(&mut ctx).unwrap();
    let ops = ctx.sim.op_count() - first;
    assert!(ops >= 2, "{name}: the step writes and syncs");
    // The step's own result, reopened without a crash.
    check_image(
        &ctx.sim.crash_image(CrashMode::LoseUnsynced),
        &ctx.specs,
        &ctx.stream,
        expect,
        name,
    );
    for k in 0..ops {
        for kind in [FaultKind::Crash, FaultKind::TornWriteCrash] {
            let mut ctx = prepare();
            ctx.sim.set_fault(Some(Fault {
                at_op: first + k,
                kind,
            }));
            assert!(step(&mut ctx).is_err(), "{name}: op {k} did not fail");
            for (n, image) in images(&ctx.sim, k).iter().enumerate() {
                let what = format!("{name}, crash {kind:?} at op {k}, image {n}");
                check_image(image, &ctx.specs, &ctx.stream, expect, &what);
            }
        }
    }
}

/// Length of the file at `path`.
fn image_file(sim: &SimStorage, path: &std::path::Path) -> u64 {
    use storage::Storage;
    sim.open(path, storage::OpenMode::Read)
        .unwrap()
        .len()
        .unwrap()
}

/// Both kinds of extent: fixed 32 KiB, and variable.
fn layouts(n: u32) -> [Vec<aiextent::AiExtentSpec>; 2] {
    [specs(n, Some(32), 0), specs(n, None, 0)]
}

#[test]
fn begin_survives_a_crash_at_every_op() {
    for layout in layouts(3) {
        let prepare = || Ctx::new(layout.clone());
        crash_every_op("begin", &prepare, &|c| c.begin(), Expect::KeepOrNone);
    }
}

#[test]
fn two_switches_survive_a_crash_at_every_op() {
    for layout in layouts(3) {
        let prepare = || {
            let mut c = Ctx::new(layout.clone());
            c.begin().unwrap();
            c.append(3).unwrap();
            c.sync().unwrap();
            c.append(2).unwrap();
            c.flush().unwrap();
            c.append(1).unwrap();
            c
        };
        let step = |c: &mut Ctx| {
            c.switch_attempt()?;
            c.append(2)?;
            c.sync()?;
            c.append(1)?;
            c.switch_attempt()
        };
        crash_every_op("two switches", &prepare, &step, Expect::Keep);
    }
}

#[test]
fn switch_wrapping_around_survives_a_crash_at_every_op() {
    // Two extents: the second switch goes back to extent 1, emptied in between.
    for layout in layouts(2) {
        let prepare = || {
            let mut c = Ctx::new(layout.clone());
            c.begin().unwrap();
            c.append(2).unwrap();
            c.switch().unwrap();
            c.append(2).unwrap();
            c.sync().unwrap();
            assert_eq!(c.set.empty(None).unwrap(), 1);
            c
        };
        crash_every_op(
            "wrap-around switch",
            &prepare,
            &|c| c.switch_attempt(),
            Expect::KeepSuffix,
        );
    }
}

#[test]
fn end_survives_a_crash_at_every_op() {
    for layout in layouts(3) {
        let prepare = || {
            let mut c = Ctx::new(layout.clone());
            c.begin().unwrap();
            c.append(3).unwrap();
            c.switch().unwrap();
            c.append(2).unwrap();
            c.sync().unwrap();
            c.append(1).unwrap();
            c
        };
        let step = |c: &mut Ctx| c.set.end(&mut c.mb);
        crash_every_op("end", &prepare, &step, Expect::KeepOrNone);
    }
}

#[test]
fn empty_survives_a_crash_at_every_op() {
    for layout in layouts(3) {
        let prepare = || {
            let mut c = Ctx::new(layout.clone());
            c.begin().unwrap();
            c.append(3).unwrap();
            c.switch().unwrap();
            c.append(2).unwrap();
            c.switch().unwrap();
            c.append(1).unwrap();
            c.sync().unwrap();
            c
        };
        let step = |c: &mut Ctx| c.set.empty(None).map(|n| assert_eq!(n, 1));
        crash_every_op("empty", &prepare, &step, Expect::KeepSuffix);
        // A crash during empty leaves extent 1 Full with its notes, or Empty.
        let c = prepare();
        let first = c.sim.op_count();
        drop(c);
        for k in 0..4 {
            let mut c = prepare();
            c.sim.set_fault(Some(Fault {
                at_op: first + k,
                kind: FaultKind::Crash,
            }));
            let _ = step(&mut c);
            let image = c.sim.crash_image(CrashMode::LoseUnsynced);
            let (_, set) = open_reconciled(&image, &c.specs);
            let e1 = &set.extents()[0];
            assert!(
                e1.state == AiState::Empty || (e1.state == AiState::Full && e1.ai_seq.0 == 1),
                "extent 1 after a crash during empty: {e1:?}"
            );
            if e1.state == AiState::Empty && !e1.fixed {
                let file = image_file(&image, &e1.path);
                assert_eq!(file, 4096, "an emptied variable extent is truncated");
            }
        }
    }
}

#[test]
fn a_switch_note_of_an_undone_switch_is_never_read() {
    // A crash right after the new extent became busy, before the master block: reconcile
    // empties it, and the old extent goes on with the same note sequence.
    let layout = specs(3, Some(32), 0);
    let prepare = || {
        let mut c = Ctx::new(layout.clone());
        c.begin().unwrap();
        c.append(2).unwrap();
        c.sync().unwrap();
        c
    };
    let mut probe = prepare();
    let first = probe.sim.op_count();
    probe.switch_attempt().unwrap();
    let ops = probe.sim.op_count() - first;
    let (mut undone, mut finished) = (0, 0);
    for k in 0..ops {
        let mut c = prepare();
        c.sim.set_fault(Some(Fault {
            at_op: first + k,
            kind: FaultKind::Crash,
        }));
        assert!(c.switch_attempt().is_err());
        let image = c.sim.crash_image(CrashMode::LoseUnsynced);
        let (mut mb, mut set) = open_db(&image, &layout);
        let repairs = set.reconcile(&mut mb).unwrap();
        if repairs
            .iter()
            .any(|r| matches!(r, aiextent::Repair::UndidSwitch { ai_number: 2, .. }))
        {
            undone += 1;
            assert_eq!(set.busy(), Some(1));
            let notes = all_notes(&set);
            assert_eq!(notes.last(), Some(&(3, NoteKind::BlockChange)));
        }
        if repairs
            .iter()
            .any(|r| matches!(r, aiextent::Repair::FinishedSwitch { ai_number: 1, .. }))
        {
            finished += 1;
            assert_eq!(set.busy(), Some(2));
            assert_eq!(set.extents()[0].state, AiState::Full);
            let notes = all_notes(&set);
            assert_eq!(notes.last(), Some(&(4, NoteKind::AiSwitch)));
        }
    }
    assert!(undone > 0, "some crash point undoes the switch");
    assert!(finished > 0, "some crash point finishes the switch");
}
