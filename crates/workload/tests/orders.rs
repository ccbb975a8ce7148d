//! Orders on sports2000: runs with one and several clients keep balances and counts consistent.

mod common;

use workload::{
    CUSTOMERS, Error, Inconsistency, ORDERS, OrdersConfig, load_sports2000, orders_check,
    orders_run,
};

#[test]
fn runs_stay_consistent_with_one_and_four_clients() {
    let fresh = common::fresh_db();
    let db = fresh.db();
    load_sports2000(db).unwrap();
    let before = orders_check(db).unwrap();

    let one = orders_run(
        db,
        &OrdersConfig {
            transactions: 100,
            clients: 1,
            seed: 5,
        },
    )
    .unwrap();
    assert_eq!(one.committed, 100);
    let four = orders_run(
        db,
        &OrdersConfig {
            transactions: 100,
            clients: 4,
            seed: 5,
        },
    )
    .unwrap();
    assert_eq!(four.committed, 100);

    let audit = orders_check(db).unwrap();
    assert!(
        audit.consistent(),
        "{:?}",
        &audit.problems[..audit.problems.len().min(5)]
    );
    assert_eq!(audit.orders, ORDERS + 200);
    assert_eq!(audit.customers, CUSTOMERS);
    assert!(audit.order_lines >= before.order_lines + 200);
    assert!(audit.order_lines <= before.order_lines + 1000);

    let fresh = fresh.reopen();
    assert_eq!(orders_check(fresh.db()).unwrap(), audit);
}

#[test]
fn check_finds_a_balance_changed_behind_its_back() {
    let fresh = common::fresh_db();
    let db = fresh.db();
    load_sports2000(db).unwrap();
    orders_run(
        db,
        &OrdersConfig {
            transactions: 10,
            clients: 1,
            seed: 1,
        },
    )
    .unwrap();

    let mut txn = db.begin().unwrap();
    let value = txn.get("customer", "c000001").unwrap().unwrap();
    let text = String::from_utf8(value).unwrap();
    let (head, _) = text.rsplit_once("balance=").unwrap();
    txn.update(
        "customer",
        "c000001",
        format!("{head}balance=-1").as_bytes(),
    )
    .unwrap();
    txn.commit().unwrap();

    let audit = orders_check(db).unwrap();
    assert!(!audit.consistent());
    assert!(matches!(
        &audit.problems[..],
        [Inconsistency::CustomerBalance { customer, balance: -1, .. }] if customer == "c000001"
    ));
}

#[test]
fn orders_need_the_demo_data() {
    let fresh = common::fresh_db();
    let err = orders_run(fresh.db(), &OrdersConfig::default()).unwrap_err();
    assert!(matches!(err, Error::MissingTable { .. }), "{err}");
    let err = orders_check(fresh.db()).unwrap_err();
    assert!(matches!(err, Error::MissingTable { .. }), "{err}");
}
