//! The sports2000 load: deterministic, complete, consistent, and refused on a loaded database.

mod common;

use workload::{
    CUSTOMERS, Error, ITEMS, ORDERS, SALESREPS, SPORTS2000_TABLES, content_digest, load_sports2000,
    orders_check,
};

#[test]
fn two_loads_write_the_same_records() {
    let first = common::fresh_db();
    let second = common::fresh_db();
    let report_a = load_sports2000(first.db()).unwrap();
    let report_b = load_sports2000(second.db()).unwrap();
    assert_eq!(report_a, report_b);

    let digest_a = content_digest(first.db()).unwrap();
    let digest_b = content_digest(second.db()).unwrap();
    assert_eq!(digest_a, digest_b);
    assert_eq!(digest_a.tables, SPORTS2000_TABLES.len() as u64);
    assert_eq!(digest_a.records, report_a.total_rows());

    // Committed means durable: the same records after close and reopen.
    let first = first.reopen();
    assert_eq!(content_digest(first.db()).unwrap(), digest_a);
}

#[test]
fn load_fills_every_table_in_batches() {
    let fresh = common::fresh_db();
    let report = load_sports2000(fresh.db()).unwrap();
    let names: Vec<&str> = report.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, SPORTS2000_TABLES);
    assert_eq!(report.rows_of("salesrep"), SALESREPS);
    assert_eq!(report.rows_of("customer"), CUSTOMERS);
    assert_eq!(report.rows_of("item"), ITEMS);
    assert_eq!(report.rows_of("order"), ORDERS);
    assert!(report.rows_of("orderline") >= ORDERS);
    assert_eq!(report.rows_of("sequence"), 1);
    assert!(report.transactions >= report.total_rows() / 200);

    let mut tables: Vec<String> = fresh
        .db()
        .tables()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    tables.sort();
    let mut expected: Vec<String> = SPORTS2000_TABLES.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(tables, expected);

    let audit = orders_check(fresh.db()).unwrap();
    assert!(
        audit.consistent(),
        "{:?}",
        &audit.problems[..audit.problems.len().min(5)]
    );
    assert_eq!(audit.customers, CUSTOMERS);
    assert_eq!(audit.orders, ORDERS);
}

#[test]
fn a_second_load_is_refused_and_changes_nothing() {
    let fresh = common::fresh_db();
    load_sports2000(fresh.db()).unwrap();
    let before = content_digest(fresh.db()).unwrap();
    let err = load_sports2000(fresh.db()).unwrap_err();
    assert!(matches!(err, Error::AlreadyLoaded { .. }), "{err}");
    assert_eq!(err.msg_number(), 90800);
    assert_eq!(content_digest(fresh.db()).unwrap(), before);
}
