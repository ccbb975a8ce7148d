//! TPC-B: init loads the tables, runs with one and several clients keep the four sums equal.

mod common;

use workload::{
    ACCOUNT_TABLE, Error, HISTORY_TABLE, TpcbConfig, tpcb_check, tpcb_init_sized, tpcb_run,
};

const ACCOUNTS: u32 = 1000;

fn config(transactions: u64, clients: u32, seed: u64) -> TpcbConfig {
    TpcbConfig {
        scale: 1,
        accounts_per_branch: ACCOUNTS,
        transactions,
        clients,
        seed,
    }
}

#[test]
fn runs_stay_balanced_with_one_and_four_clients() {
    let fresh = common::fresh_db();
    let db = fresh.db();
    let init = tpcb_init_sized(db, 1, ACCOUNTS).unwrap();
    assert_eq!(init.rows_of("tpcb_branch"), 1);
    assert_eq!(init.rows_of("tpcb_teller"), 10);
    assert_eq!(init.rows_of("tpcb_account"), u64::from(ACCOUNTS));
    let sums = tpcb_check(db).unwrap();
    assert!(sums.balanced());
    assert_eq!((sums.accounts, sums.history_rows), (0, 0));

    let one = tpcb_run(db, &config(200, 1, 7)).unwrap();
    assert_eq!(one.committed, 200);
    let sums = tpcb_check(db).unwrap();
    assert!(sums.balanced(), "{sums:?}");
    assert_eq!(sums.history_rows, 200);
    assert_ne!(
        sums.accounts, 0,
        "200 random deltas summing to 0 is all but impossible"
    );

    // A second run with the same seed writes new history keys.
    let four = tpcb_run(db, &config(200, 4, 7)).unwrap();
    assert_eq!(four.committed, 200);
    assert!(four.tps > 0.0);
    let sums = tpcb_check(db).unwrap();
    assert!(sums.balanced(), "{sums:?}");
    assert_eq!(sums.history_rows, 400);

    let fresh = fresh.reopen();
    assert_eq!(tpcb_check(fresh.db()).unwrap(), sums);
}

#[test]
fn init_is_idempotent_and_a_larger_scale_is_refused() {
    let fresh = common::fresh_db();
    let db = fresh.db();
    tpcb_init_sized(db, 1, ACCOUNTS).unwrap();
    let again = tpcb_init_sized(db, 1, ACCOUNTS).unwrap();
    assert_eq!(again.total_rows(), 0);

    let err = tpcb_run(
        db,
        &TpcbConfig {
            scale: 2,
            ..config(10, 1, 1)
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ScaleMismatch {
                branches: 1,
                scale: 2
            }
        ),
        "{err}"
    );
    let err = tpcb_run(db, &config(10, 0, 1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidSetting {
                setting: "clients",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn run_without_init_names_the_missing_table() {
    let fresh = common::fresh_db();
    let err = tpcb_run(fresh.db(), &config(1, 1, 1)).unwrap_err();
    assert!(matches!(err, Error::MissingTable { .. }), "{err}");
    assert_eq!(err.msg_number(), 90801);
}

#[test]
fn check_sees_a_change_outside_a_transaction_of_the_workload() {
    let fresh = common::fresh_db();
    let db = fresh.db();
    tpcb_init_sized(db, 1, ACCOUNTS).unwrap();
    tpcb_run(db, &config(20, 1, 3)).unwrap();
    let mut txn = db.begin().unwrap();
    txn.update(ACCOUNT_TABLE, "a0000000001", b"12345").unwrap();
    txn.commit().unwrap();
    assert!(!tpcb_check(db).unwrap().balanced());

    let mut txn = db.begin().unwrap();
    txn.insert(
        HISTORY_TABLE,
        "h999999-0000-0000000001",
        b"aid=1,tid=1,bid=1,x",
    )
    .unwrap();
    txn.commit().unwrap();
    let err = tpcb_check(db).unwrap_err();
    assert!(
        matches!(err, Error::BadField { field: "delta", .. }),
        "{err}"
    );
}
