//! Random workloads with switches on a source; copies taken at random points (offline OS
//! copies, after `sequence`, and restored backups) rolled forward through the rest of the AI
//! files always equal the source; a random endtime gives exactly the transactions that ended
//! before it.

mod common;

use common::*;
use masterblock::DbState;
use proptest::prelude::*;
use rollforward::{RollForwardOptions, StopAt};
use storage::StorageRef;

/// How a copy is taken after a batch of work.
#[derive(Clone, Copy, Debug)]
enum CopyKind {
    None,
    Os,
    Backup,
}

fn copy_kind() -> impl Strategy<Value = CopyKind> {
    prop_oneof![
        Just(CopyKind::None),
        Just(CopyKind::Os),
        Just(CopyKind::Backup)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn copies_roll_forward_to_the_source(
        batches in prop::collection::vec(
            (1u64..10, any::<u64>(), prop::option::of(2u64..6), copy_kind()),
            1..5,
        ),
        pick in any::<u64>(),
    ) {
        let mut src = Source::new();
        // A copy from before the first change, for the endtime check.
        let first_copy = storage_of(&src.os_copy());
        let mut copies: Vec<(StorageRef, u64)> = Vec::new();
        for (i, (n, seed, switch, kind)) in batches.iter().enumerate() {
            src.work(*n, *seed, *switch);
            match kind {
                CopyKind::None => {}
                CopyKind::Os => {
                    let copy = storage_of(&src.os_copy());
                    let (_, k) = engine::set_sequence(&copy, &db_path()).unwrap();
                    copies.push((copy, k.0));
                }
                CopyKind::Backup => copies.push(restored(&src, i)),
            }
        }
        src.work(3, pick, Some(2));
        let expected = src.dump();
        let db = db_path();
        for (copy, first) in &copies {
            let files = put_files(copy, &src.files_from(*first));
            let summary = roll(copy, &db, &files, &rf_opts()).unwrap();
            prop_assert_eq!(summary.state, DbState::Clean);
            prop_assert!(dump_of(copy, &db) == expected);
        }
        // Endtime: the copy from the start, rolled forward to the time of a random
        // transaction end, holds exactly the commits that ended before it.
        let all = src.files_from(1);
        let ends = end_notes(&all);
        prop_assume!(!ends.is_empty());
        let t = ends[(pick % ends.len() as u64) as usize].1 + (pick % 2) as i64;
        let stop = ends.iter().position(|&(_, time)| time >= t).unwrap_or(ends.len());
        let commits = ends[..stop].iter().filter(|(c, _)| *c).count();
        let files = put_files(&first_copy, &all);
        let opts = RollForwardOptions {
            stop: Some(StopAt::EndTime { time_micros: t }),
            ..rf_opts()
        };
        roll(&first_copy, &db, &files, &opts).unwrap();
        prop_assert!(dump_after_use(&first_copy, &db) == src.states[commits]);
    }
}
