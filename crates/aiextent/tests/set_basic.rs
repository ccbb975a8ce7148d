//! The extent set without crashes: creating and opening the files, `aimage begin` and its
//! refusals, circular switching and 3774, `aimage extent empty` and its refusals, `aimage end`,
//! and closing and reopening.

mod set_support;

use std::path::Path;
use std::sync::Arc;

use aiextent::{
    AiExtentFile, AiExtentSpec, AiState, BusyStart, Error, ExtentSet, MESSAGES, NoteKind,
};
use masterblock::{AiSeq, AreaNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp};
use set_support::*;
use storage::{OpenMode, SimStorage, Storage, StorageRef};

fn storage(sim: &SimStorage) -> StorageRef {
    Arc::new(sim.clone())
}

#[test]
fn create_files_makes_empty_extents_of_the_right_size() {
    let mut layout = specs(2, Some(16), 0);
    layout.extend(specs(3, None, 64).into_iter().skip(2));
    let sim = create_db(&layout);
    let (mut mb, mut set) = open_db(&sim, &layout);
    assert!(set.reconcile(&mut mb).unwrap().is_empty());
    let infos = set.extents();
    assert_eq!(infos.len(), 3);
    for (info, spec) in infos.iter().zip(&layout) {
        assert_eq!(info.ai_number, spec.ai_number);
        assert_eq!(info.state, AiState::Empty);
        assert_eq!(info.used_bytes, 0);
        let len = sim.open(&spec.path, OpenMode::Read).unwrap().len().unwrap();
        assert_eq!(len, if spec.fixed { 16 * 1024 } else { 4096 });
    }
    assert_eq!(set.busy(), None);
    assert_eq!(set.oldest_full(), None);
    assert_eq!(layout[2].capacity_bytes(), 64 * 1024);
}

#[test]
fn create_files_refuses_a_fixed_extent_below_8_kib() {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    let e = ExtentSet::create_files(&sim, DB_ID, 4096, &specs(1, Some(4), 0), 0).unwrap_err();
    assert_eq!(e.msg_number(), 90312);
    assert!(!sim.exists(Path::new("/db/t.a1")));
}

#[test]
fn open_refuses_another_databases_or_another_extents_file() {
    let layout = specs(2, Some(16), 0);
    let sim = create_db(&layout);
    let e = ExtentSet::open(&storage(&sim), DbId([9; 16]), &layout).unwrap_err();
    assert!(matches!(e, Error::ForeignExtent { .. }), "{e}");
    assert_eq!(e.msg_number(), 90310);
    // The two files swapped.
    let mut swapped = layout.clone();
    swapped[0].path = layout[1].path.clone();
    swapped[1].path = layout[0].path.clone();
    let e = ExtentSet::open(&storage(&sim), DB_ID, &swapped).unwrap_err();
    assert!(matches!(e, Error::WrongExtent { ai_number: 1, .. }), "{e}");
    assert!(e.to_string().contains("/db/t.a2"), "{e}");
    // Fixed in the file, variable in the structure.
    let mut variable = layout.clone();
    variable[0].fixed = false;
    let e = ExtentSet::open(&storage(&sim), DB_ID, &variable).unwrap_err();
    assert_eq!(e.msg_number(), 90311);
}

#[test]
fn begin_refuses_without_backup_without_extents_and_when_not_empty() {
    // Changed since the last backup.
    let mut c = Ctx::new(specs(2, Some(16), 0));
    c.mb.update(|m| m.next_note_seq = NoteSeq(50)).unwrap();
    let e = c.set.begin(&mut c.mb, NoteSeq(50), 5).unwrap_err();
    assert!(matches!(e, Error::NotBackedUp { .. }));
    assert_eq!(e.msg_number(), 90314);
    assert!(e.to_string().contains("probkup"), "{e}");
    assert!(!c.mb.get().ai_enabled);
    // No AI extents.
    let mut c = Ctx::new(Vec::new());
    let e = c.set.begin(&mut c.mb, NoteSeq(1), 5).unwrap_err();
    assert_eq!(e.msg_number(), 90313);
    assert!(e.to_string().contains("prostrct add"), "{e}");
    // Already on.
    let mut c = Ctx::new(specs(2, Some(16), 0));
    c.begin().unwrap();
    let e = c.set.begin(&mut c.mb, NoteSeq(9), 5).unwrap_err();
    assert_eq!(e.msg_number(), 90315);
    // An extent not Empty (left Full by a previous use, after-imaging off).
    let layout = specs(2, Some(16), 0);
    let sim = create_db(&layout);
    {
        let file = sim.open(&layout[1].path, OpenMode::ReadWrite).unwrap();
        let mut ext = AiExtentFile::open(file, &layout[1].path).unwrap();
        ext.begin_busy(&busy_start(4)).unwrap();
        ext.close_as(AiState::Full, 56, 9).unwrap();
    }
    let (mut mb, mut set) = open_reconciled(&sim, &layout);
    let e = set.begin(&mut mb, NoteSeq(1), 5).unwrap_err();
    assert!(matches!(
        e,
        Error::ExtentNotEmpty {
            ai_number: 2,
            state: AiState::Full,
            ..
        }
    ));
    assert!(e.to_string().contains("aimage extent empty 2"), "{e}");
}

fn busy_start(seq: u64) -> BusyStart {
    BusyStart {
        ai_seq: AiSeq(seq),
        open_stamp: OpenStamp(7),
        ai_begin_time: 1,
        switch_note_seq: NoteSeq(100),
        now_micros: 2,
    }
}

#[test]
fn begin_sets_the_master_block_and_makes_extent_1_busy() {
    let mut c = Ctx::new(specs(3, None, 0));
    c.begin().unwrap();
    let m = *c.mb.get();
    assert!(m.ai_enabled);
    assert_eq!(m.ai_busy_extent, 1);
    assert_eq!(m.ai_seq_current, AiSeq(1));
    assert_eq!(m.ai_seq_expected, AiSeq(1));
    assert_eq!(m.ai_begin_time, c.now);
    let e1 = &c.set.extents()[0];
    assert_eq!(
        (e1.state, e1.ai_seq, e1.open_stamp),
        (AiState::Busy, AiSeq(1), OpenStamp(7))
    );
    assert_eq!(c.set.busy(), Some(1));
    check_consistent(&c.mb, &c.set);
}

#[test]
fn switches_go_round_in_circular_order_until_3774() {
    let mut c = Ctx::new(specs(3, Some(16), 0));
    c.begin().unwrap();
    c.append(2).unwrap();
    c.switch().unwrap();
    c.append(3).unwrap();
    c.switch().unwrap();
    c.append(1).unwrap();
    let states: Vec<_> = c
        .set
        .extents()
        .iter()
        .map(|i| (i.state, i.ai_seq.0))
        .collect();
    assert_eq!(
        states,
        [(AiState::Full, 1), (AiState::Full, 2), (AiState::Busy, 3)]
    );
    let m = *c.mb.get();
    assert_eq!(
        (m.ai_busy_extent, m.ai_seq_current.0, m.ai_switch_time),
        (3, 3, c.now)
    );
    assert_eq!(c.set.oldest_full(), Some(1));
    // The full extents record exactly their notes.
    let e1 = &c.set.extents()[0];
    let used = 4096 + e1.used_bytes;
    let sum = aiextent::scan_extent(
        &sim_file(&c.sim, &e1.path),
        &e1.path,
        c.set.header(1).unwrap(),
    )
    .unwrap();
    assert_eq!(sum.end_offset, used);
    assert_eq!(sum.notes, 3);
    // Extent 1 is next and full: 3774 with the exact text, nothing written.
    let ops = c.sim.op_count();
    let e = c
        .set
        .switch(&mut c.mb, NoteSeq(c.stream.next), 99)
        .unwrap_err();
    assert_eq!(e.msg_number(), 3774);
    assert_eq!(
        e.to_string(),
        "Can't switch to after-image extent /db/t.a1 it is full. Backup ai extent and mark it as empty"
    );
    assert_eq!(c.sim.op_count(), ops);
    assert_eq!(c.mb.get().ai_seq_current, AiSeq(3));
    // The writer still works; after emptying extent 1 the switch goes through.
    c.append(1).unwrap();
    assert_eq!(c.set.empty(None).unwrap(), 1);
    c.switch().unwrap();
    assert_eq!(c.set.busy(), Some(1));
    assert_eq!(c.set.extents()[0].ai_seq, AiSeq(4));
    assert_eq!(c.set.oldest_full(), Some(2));
    let back = read_back(&c.set);
    check_contiguous(&back);
    assert_eq!(all_notes(&c.set), c.stream.appended[3..]);
}

fn sim_file(sim: &SimStorage, path: &Path) -> storage::FileRef {
    sim.open(path, OpenMode::Read).unwrap()
}

#[test]
fn a_switch_needs_after_imaging_and_a_second_extent() {
    let mut c = Ctx::new(specs(1, Some(16), 0));
    let e = c.set.switch(&mut c.mb, NoteSeq(1), 5).unwrap_err();
    assert_eq!(e.msg_number(), 90317);
    c.begin().unwrap();
    let e = c.set.switch(&mut c.mb, NoteSeq(2), 5).unwrap_err();
    assert!(matches!(e, Error::OnlyOneExtent { .. }));
}

#[test]
fn empty_refuses_busy_empty_locked_and_unknown_extents() {
    let mut c = Ctx::new(specs(3, None, 0));
    assert_eq!(c.set.empty(None).unwrap_err().msg_number(), 90319);
    c.begin().unwrap();
    c.switch().unwrap();
    assert_eq!(c.set.empty(Some(2)).unwrap_err().msg_number(), 90321);
    assert_eq!(c.set.empty(Some(3)).unwrap_err().msg_number(), 90322);
    assert_eq!(c.set.empty(Some(7)).unwrap_err().msg_number(), 90320);
    assert_eq!(c.set.empty(Some(1)).unwrap(), 1);
    let len = sim_file(&c.sim, Path::new("/db/t.a1")).len().unwrap();
    assert_eq!(len, 4096, "an emptied variable extent is truncated");

    // A Locked extent (replication has not sent it): left alone.
    let layout = specs(2, Some(16), 0);
    let sim = create_db(&layout);
    {
        let file = sim.open(&layout[0].path, OpenMode::ReadWrite).unwrap();
        let mut ext = AiExtentFile::open(file, &layout[0].path).unwrap();
        ext.begin_busy(&busy_start(1)).unwrap();
        ext.close_as(AiState::Locked, 56, 9).unwrap();
    }
    let (_, mut set) = open_reconciled(&sim, &layout);
    assert_eq!(set.oldest_full(), None, "a locked extent is not full");
    let e = set.empty(Some(1)).unwrap_err();
    assert!(matches!(e, Error::CannotEmptyLocked { ai_number: 1, .. }));
}

#[test]
fn end_empties_every_extent_and_turns_after_imaging_off() {
    let mut c = Ctx::new(specs(3, Some(16), 0));
    c.begin().unwrap();
    c.append(2).unwrap();
    c.switch().unwrap();
    c.append(2).unwrap();
    c.set.end(&mut c.mb).unwrap();
    assert!(!c.mb.get().ai_enabled);
    assert_eq!(c.mb.get().ai_busy_extent, 0);
    assert!(c.set.extents().iter().all(|i| i.state == AiState::Empty));
    assert!(c.set.writer().is_none());
    // And after-imaging can begin again (sequence 1 again).
    c.begin().unwrap();
    assert_eq!(c.set.extents()[0].ai_seq, AiSeq(1));
    check_consistent(&c.mb, &c.set);
}

#[test]
fn close_and_reopen_keeps_the_stream_and_clears_nothing() {
    let layout = specs(2, Some(16), 0);
    let mut c = Ctx::new(layout.clone());
    c.begin().unwrap();
    c.append(3).unwrap();
    c.switch().unwrap();
    c.append(2).unwrap();
    let appended = c.stream.appended.clone();
    c.set.close().unwrap();
    let (mut mb, mut set) = open_db(&c.sim, &layout);
    let repairs = set.reconcile(&mut mb).unwrap();
    assert!(repairs.is_empty(), "{repairs:?}");
    assert_eq!(
        set.recovered_last_note_seq(),
        Some(NoteSeq(appended.last().unwrap().0))
    );
    assert_eq!(all_notes(&set), appended);
    check_consistent(&mb, &set);
    // Without a clean close the tail is cleared.
    drop(set);
    let (mut mb, mut set) = open_db(&c.sim, &layout);
    let repairs = set.reconcile(&mut mb).unwrap();
    assert!(matches!(
        repairs[..],
        [aiextent::Repair::ClearedTail { ai_number: 2, .. }]
    ));
    assert_eq!(all_notes(&set), appended);
}

#[test]
fn reconcile_refuses_states_no_crash_leaves() {
    let layout = specs(3, Some(16), 0);
    let mut c = Ctx::new(layout.clone());
    c.begin().unwrap();
    c.switch().unwrap();
    c.set.close().unwrap();
    // The master block says extent 1 is busy, but it is Full.
    c.mb.update(|m| {
        m.ai_busy_extent = 1;
        m.ai_seq_current = AiSeq(1);
    })
    .unwrap();
    let (mut mb, mut set) = open_db(&c.sim, &layout);
    let e = set.reconcile(&mut mb).unwrap_err();
    assert_eq!(e.msg_number(), 90324);
    assert!(e.to_string().contains("aimage end"), "{e}");
    // aimage end still works on it.
    set.end(&mut mb).unwrap();
    assert!(!mb.get().ai_enabled);
    let (mut mb, mut set) = open_db(&c.sim, &layout);
    assert!(set.reconcile(&mut mb).unwrap().is_empty());
    check_consistent(&mb, &set);
}

#[test]
fn an_io_error_mid_switch_makes_the_set_refuse_until_reopened() {
    let layout = specs(3, None, 0);
    let mut c = Ctx::new(layout.clone());
    c.begin().unwrap();
    c.append(2).unwrap();
    c.sync().unwrap();
    c.sim.set_fault(Some(storage::Fault {
        at_op: c.sim.op_count() + 2,
        kind: storage::FaultKind::Eio,
    }));
    assert!(c.switch().is_err());
    let e = c.set.empty(None).unwrap_err();
    assert_eq!(e.msg_number(), 90325);
    assert!(c.set.writer().is_none());
    let (mb, set) = open_reconciled(&c.sim, &layout);
    check_consistent(&mb, &set);
    assert_eq!(all_notes(&set), c.stream.appended);
}

#[test]
fn every_number_is_listed_once() {
    let mut numbers: Vec<u32> = MESSAGES.iter().map(|(n, _)| *n).collect();
    numbers.sort_unstable();
    let before = numbers.len();
    numbers.dedup();
    assert_eq!(before, numbers.len());
    for n in (90310..=90327).chain([3774]) {
        assert!(numbers.contains(&n), "{n} missing");
    }
    let full = Error::NextExtentFull { path: "/x".into() };
    assert!(numbers.contains(&full.msg_number()));
    let _ = (AiExtentSpec {
        ai_number: 1,
        area: AreaNo(1000),
        path: "/x".into(),
        fixed: false,
        size_kib: 0,
    })
    .capacity_bytes();
    let _ = (ExtentHeader {
        kind: ExtentKind::Ai,
        fixed: false,
        block_size: 4096,
        db_id: DB_ID,
        area: AreaNo(1000),
        extent_number: 1,
        size_kib: 0,
        created_time: 0,
    })
    .size_bytes();
    let _ = NoteKind::AiSwitch;
}

#[test]
fn truncate_busy_after_cuts_the_notes_and_the_writer_goes_on_there() {
    for fixed in [Some(16), None] {
        let layout = specs(2, fixed, 0);
        let mut c = Ctx::new(layout.clone());
        c.begin().unwrap();
        c.append(6).unwrap();
        c.sync().unwrap();
        c.set.close().unwrap();
        let (_mb, mut set) = open_reconciled(&c.sim, &layout);
        let keep = c.stream.appended[3].0;
        // Cutting at the last note changes nothing.
        let last = c.stream.appended.last().unwrap().0;
        assert_eq!(set.truncate_busy_after(NoteSeq(last)).unwrap(), None);
        let at = set.truncate_busy_after(NoteSeq(keep)).unwrap().unwrap();
        assert_eq!(set.recovered_last_note_seq(), Some(NoteSeq(keep)));
        assert_eq!(set.writer().unwrap().end_offset(), at);
        assert_eq!(all_notes(&set), c.stream.appended[..4].to_vec());
        // The cut holds after a reopen without a clean close, and appending goes on there.
        drop(set);
        let (mb2, mut set) = open_reconciled(&c.sim, &layout);
        assert_eq!(set.recovered_last_note_seq(), Some(NoteSeq(keep)));
        let (h, r, u) = note_for(keep + 1);
        let w = set.writer_mut().unwrap();
        w.append_note(&h, &[(0, &r, &u)]).unwrap();
        w.flush_and_sync().unwrap();
        let mut expect = c.stream.appended[..4].to_vec();
        expect.push((keep + 1, NoteKind::BlockChange));
        assert_eq!(all_notes(&set), expect);
        check_consistent(&mb2, &set);
    }
}
