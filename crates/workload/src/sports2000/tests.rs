use std::collections::BTreeMap;

use super::*;
use crate::fields::Fields;

fn table<'a>(data: &'a [TableRows], name: &str) -> &'a [(String, String)] {
    &data
        .iter()
        .find(|t| t.name == name)
        .expect("table generated")
        .rows
}

#[test]
fn generation_is_deterministic() {
    let a = generate();
    let b = generate();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.rows, y.rows);
    }
}

#[test]
fn counts_and_key_order() {
    let data = generate();
    let names: Vec<&str> = data.iter().map(|t| t.name).collect();
    assert_eq!(names, SPORTS2000_TABLES);
    assert_eq!(table(&data, SALESREP_TABLE).len() as u64, SALESREPS);
    assert_eq!(table(&data, CUSTOMER_TABLE).len() as u64, CUSTOMERS);
    assert_eq!(table(&data, ITEM_TABLE).len() as u64, ITEMS);
    assert_eq!(table(&data, ORDER_TABLE).len() as u64, ORDERS);
    let lines = table(&data, ORDERLINE_TABLE).len() as u64;
    assert!((ORDERS..=4 * ORDERS).contains(&lines), "{lines} lines");
    for t in &data {
        assert!(
            t.rows.windows(2).all(|w| w[0].0 < w[1].0),
            "{} keys not ascending",
            t.name
        );
    }
}

#[test]
fn every_row_fits_a_small_block() {
    for t in generate() {
        for (k, v) in &t.rows {
            assert!(
                k.len() + v.len() < 200,
                "{} {k}: {} bytes",
                t.name,
                k.len() + v.len()
            );
            assert!(!v.contains('\n'));
        }
    }
}

#[test]
fn generated_data_is_consistent() {
    let data = generate();
    let mut order_totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut item_sold: BTreeMap<String, i64> = BTreeMap::new();
    for (k, v) in table(&data, ORDERLINE_TABLE) {
        let f = Fields::parse(ORDERLINE_TABLE, k, v.as_bytes()).unwrap();
        let amount = f.int("amount").unwrap();
        assert_eq!(amount, f.int("qty").unwrap() * f.int("price").unwrap());
        *order_totals.entry(k[..k.len() - 3].to_owned()).or_default() += amount;
        *item_sold
            .entry(f.text("item").unwrap().to_owned())
            .or_default() += f.int("qty").unwrap();
    }
    let mut balances: BTreeMap<String, i64> = BTreeMap::new();
    for (k, v) in table(&data, ORDER_TABLE) {
        let f = Fields::parse(ORDER_TABLE, k, v.as_bytes()).unwrap();
        assert_eq!(f.int("total").unwrap(), order_totals[k]);
        *balances
            .entry(f.text("cust").unwrap().to_owned())
            .or_default() += order_totals[k];
    }
    for (k, v) in table(&data, CUSTOMER_TABLE) {
        let f = Fields::parse(CUSTOMER_TABLE, k, v.as_bytes()).unwrap();
        assert_eq!(
            f.int("balance").unwrap(),
            balances.get(k).copied().unwrap_or(0)
        );
    }
    for (k, v) in table(&data, ITEM_TABLE) {
        let f = Fields::parse(ITEM_TABLE, k, v.as_bytes()).unwrap();
        let sold = item_sold.get(k).copied().unwrap_or(0);
        assert_eq!(f.int("received").unwrap(), f.int("onhand").unwrap() + sold);
    }
}

#[test]
fn dates_are_calendar_dates() {
    assert_eq!(date_text(2024, 0), "2024-01-01");
    assert_eq!(date_text(2024, 31), "2024-02-01");
    assert_eq!(date_text(2024, 59), "2024-02-29");
    assert_eq!(date_text(2024, 365), "2024-12-31");
    assert_eq!(date_text(2024, 366), "2024-01-01");
}
