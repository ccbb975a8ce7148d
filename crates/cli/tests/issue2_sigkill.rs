//! A real process killed with SIGKILL in the middle of `workload tpcb` leaves a database that
//! `proutil -C truncate bi` recovers and whose TPC-B sums are equal.

mod common;

use std::time::{Duration, Instant};

use common::Scratch;

/// Not a test: the entry point of the child processes this file starts (see `common::spawn`).
#[test]
#[ignore = "entry point of child processes"]
fn child_entry() {
    common::child_main();
}

#[test]
fn sigkill_mid_tpcb_recovers_with_equal_sums() {
    let s = Scratch::new();
    let db = s.db("bank");
    s.run("prodb", &[&db, "empty"]).ok();
    s.run(
        "proclient",
        &[
            &db, "workload", "tpcb", "--init", "--scale", "1", "--tx", "100",
        ],
    )
    .ok();
    for round in 0..2 {
        let mut child = s.spawn(
            "proclient",
            &[
                &db,
                "workload",
                "tpcb",
                "--tx",
                "100000000",
                "--clients",
                "4",
                "--seed",
                &round.to_string(),
            ],
        );
        // Let it commit for a while, then kill it without warning.
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(1500));
        child.kill().expect("SIGKILL the workload");
        child.wait().expect("reap the workload");
        assert!(start.elapsed() < Duration::from_secs(60));
        s.run("proutil", &[&db, "-C", "truncate", "bi"]).ok();
        // A zero-transaction run checks the four sums and fails if they differ.
        let check = s
            .run("proclient", &[&db, "workload", "tpcb", "--tx", "0"])
            .ok();
        assert!(check.out.contains("committed=0"), "{}", check.out);
    }
    let history = s.run("proclient", &[&db, "dump", "tpcb_history"]).ok();
    assert!(
        history.out.lines().count() > 100,
        "the killed runs committed nothing"
    );
}
