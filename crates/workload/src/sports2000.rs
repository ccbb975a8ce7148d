//! The sports2000 demo data: salesreps, customers, items, orders and their lines, generated
//! from a fixed seed and loaded in batches.
//!
//! Invariants: the rows depend on nothing but [`SPORTS2000_SEED`] and the word lists, so every
//! load on every machine writes the same bytes; every key + value is under 200 bytes (fits a
//! 1 KiB block); and the data is consistent as [`crate::orders_check`] defines it: a customer's
//! `balance` is the sum of its orders' `total`, an order's `total` the sum of its lines'
//! `amount`, and an item's `received` equals its `onhand` plus the quantities of its lines.

use masterblock::AreaNo;

use crate::fields::{join, key};
use crate::load::{LoadReport, insert_batches, table_names};
use crate::session::Session;
use crate::{Error, Rng};

mod names;
#[cfg(test)]
mod tests;

use names::{
    CITIES, COMPANY_SUFFIXES, FIRST_NAMES, ITEM_ADJECTIVES, LAST_NAMES, PRODUCTS, REGIONS,
};

/// The seed of the demo data.
pub const SPORTS2000_SEED: u64 = 2000;
/// Sales representatives loaded (keys `s0001`..).
pub const SALESREPS: u64 = 20;
/// Customers loaded (keys `c000001`..).
pub const CUSTOMERS: u64 = 1000;
/// Items loaded (keys `i000001`..).
pub const ITEMS: u64 = 500;
/// Orders loaded (keys `o00000001`..); each has 1 to 4 lines (keys `o00000001-01`..).
pub const ORDERS: u64 = 1500;
/// Rows inserted per transaction by the load.
pub const LOAD_BATCH_ROWS: usize = 200;

/// Table of sales representatives: `name=..;region=..;quota=N`.
pub const SALESREP_TABLE: &str = "salesrep";
/// Table of customers: `name=..;contact=..;city=..;state=..;rep=KEY;credit=N;balance=N`.
pub const CUSTOMER_TABLE: &str = "customer";
/// Table of items: `name=..;cat=..;price=N;received=N;onhand=N` (price in cents).
pub const ITEM_TABLE: &str = "item";
/// Table of orders: `cust=KEY;rep=KEY;date=YYYY-MM-DD;lines=N;total=N` (total in cents).
pub const ORDER_TABLE: &str = "order";
/// Table of order lines, key `ORDERKEY-NN`: `item=KEY;qty=N;price=N;amount=N`.
pub const ORDERLINE_TABLE: &str = "orderline";
/// Table of sequences: key [`NEXT_ORDER_NUMBER`], value the last order number used (decimal).
pub const SEQUENCE_TABLE: &str = "sequence";
/// The sequence that numbers orders.
pub const NEXT_ORDER_NUMBER: &str = "NextOrdNum";

/// Every table the demo data creates, in load order.
pub const SPORTS2000_TABLES: &[&str] = &[
    SALESREP_TABLE,
    CUSTOMER_TABLE,
    ITEM_TABLE,
    ORDER_TABLE,
    ORDERLINE_TABLE,
    SEQUENCE_TABLE,
];

/// Key of sales representative `n`.
pub(crate) fn salesrep_key(n: u64) -> String {
    key("s", n, 4)
}

/// Key of customer `n`.
pub(crate) fn customer_key(n: u64) -> String {
    key("c", n, 6)
}

/// Key of item `n`.
pub(crate) fn item_key(n: u64) -> String {
    key("i", n, 6)
}

/// Key of order `n`.
pub(crate) fn order_key(n: u64) -> String {
    key("o", n, 8)
}

/// Key of line `line` (from 1) of the order whose key is `order`.
pub(crate) fn orderline_key(order: &str, line: u64) -> String {
    format!("{order}-{line:02}")
}

/// `YYYY-MM-DD` of day `day` (from 0, taken modulo the year's length) of a leap `year`.
pub(crate) fn date_text(year: u32, day: u64) -> String {
    const MONTH_DAYS: [u64; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut rest = day % 366;
    let mut month = 1;
    for days in MONTH_DAYS {
        if rest < days {
            break;
        }
        rest -= days;
        month += 1;
    }
    format!("{year:04}-{month:02}-{:02}", rest + 1)
}

/// Creates the sports2000 tables in the schema area and loads the demo data.
///
/// Fails with [`Error::AlreadyLoaded`], changing nothing, if any of the tables exists.
pub fn load_sports2000<S: Session + ?Sized>(db: &S) -> Result<LoadReport, Error> {
    load_sports2000_in(db, None)
}

/// Like [`load_sports2000`], with every table in `area` (`None`: the schema area).
pub fn load_sports2000_in<S: Session + ?Sized>(
    db: &S,
    area: Option<AreaNo>,
) -> Result<LoadReport, Error> {
    let existing = table_names(db)?;
    if let Some(table) = SPORTS2000_TABLES
        .iter()
        .find(|t| existing.iter().any(|e| e == *t))
    {
        return Err(Error::AlreadyLoaded {
            table: (*table).to_owned(),
        });
    }
    let data = generate();
    for table in &data {
        db.create_table(table.name, area)?;
    }
    let mut report = LoadReport::default();
    for table in data {
        insert_batches(db, table.name, table.rows, LOAD_BATCH_ROWS, &mut report)?;
    }
    Ok(report)
}

/// The rows of one table, in key order.
pub(crate) struct TableRows {
    /// The table's name.
    pub(crate) name: &'static str,
    /// Keys and values.
    pub(crate) rows: Vec<(String, String)>,
}

/// An item while the data is generated.
struct Item {
    name: String,
    category: &'static str,
    price: i64,
    received: i64,
    sold: i64,
}

/// A customer while the data is generated.
struct Customer {
    name: String,
    contact: String,
    city: &'static str,
    state: &'static str,
    rep: u64,
    credit: i64,
    balance: i64,
}

/// A person's name.
fn person(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES))
}

/// A number uniform in `low..=high` (small, non-negative bounds).
fn between(rng: &mut Rng, low: u64, high: u64) -> u64 {
    low + rng.below(high - low + 1)
}

/// A small non-negative count as `i64` (every count here is far below `i64::MAX`).
fn signed(n: u64) -> i64 {
    i64::try_from(n).expect("demo data counts fit i64")
}

/// Generates every table of the demo data, in load order.
pub(crate) fn generate() -> Vec<TableRows> {
    let mut rng = Rng::new(SPORTS2000_SEED);

    let salesreps = (1..=SALESREPS)
        .map(|n| {
            let name = person(&mut rng);
            let region = REGIONS[index(n) % REGIONS.len()];
            let quota = 50_000 + 5_000 * rng.below(21);
            (
                salesrep_key(n),
                join(&[("name", &name), ("region", &region), ("quota", &quota)]),
            )
        })
        .collect();

    let mut items: Vec<Item> = (1..=ITEMS)
        .map(|_| {
            let (product, category) = *rng.pick(PRODUCTS);
            Item {
                name: format!("{} {product}", rng.pick(ITEM_ADJECTIVES)),
                category,
                price: signed(between(&mut rng, 199, 49_999)),
                received: signed(between(&mut rng, 2_000, 6_000)),
                sold: 0,
            }
        })
        .collect();

    let mut customers: Vec<Customer> = (1..=CUSTOMERS)
        .map(|_| {
            let (city, state) = *rng.pick(CITIES);
            Customer {
                name: format!("{} {}", rng.pick(LAST_NAMES), rng.pick(COMPANY_SUFFIXES)),
                contact: person(&mut rng),
                city,
                state,
                rep: between(&mut rng, 1, SALESREPS),
                credit: signed(1_000 * between(&mut rng, 1, 50)),
                balance: 0,
            }
        })
        .collect();

    let mut orders = Vec::new();
    let mut lines = Vec::new();
    for n in 1..=ORDERS {
        let okey = order_key(n);
        let cust = between(&mut rng, 1, CUSTOMERS);
        let date = date_text(2024, rng.below(366));
        let line_count = between(&mut rng, 1, 4);
        let mut total = 0i64;
        for line in 1..=line_count {
            let item_no = between(&mut rng, 1, ITEMS);
            let qty = signed(between(&mut rng, 1, 10));
            let item = &mut items[index(item_no)];
            let amount = qty * item.price;
            item.sold += qty;
            total += amount;
            let value = join(&[
                ("item", &item_key(item_no)),
                ("qty", &qty),
                ("price", &item.price),
                ("amount", &amount),
            ]);
            lines.push((orderline_key(&okey, line), value));
        }
        let customer = &mut customers[index(cust)];
        customer.balance += total;
        let value = join(&[
            ("cust", &customer_key(cust)),
            ("rep", &salesrep_key(customer.rep)),
            ("date", &date),
            ("lines", &line_count),
            ("total", &total),
        ]);
        orders.push((okey, value));
    }

    let customer_rows = customers
        .iter()
        .zip(1..)
        .map(|(c, n)| {
            let value = join(&[
                ("name", &c.name),
                ("contact", &c.contact),
                ("city", &c.city),
                ("state", &c.state),
                ("rep", &salesrep_key(c.rep)),
                ("credit", &c.credit),
                ("balance", &c.balance),
            ]);
            (customer_key(n), value)
        })
        .collect();
    let item_rows = items
        .iter()
        .zip(1..)
        .map(|(i, n)| {
            let value = join(&[
                ("name", &i.name),
                ("cat", &i.category),
                ("price", &i.price),
                ("received", &i.received),
                ("onhand", &(i.received - i.sold)),
            ]);
            (item_key(n), value)
        })
        .collect();

    vec![
        TableRows {
            name: SALESREP_TABLE,
            rows: salesreps,
        },
        TableRows {
            name: CUSTOMER_TABLE,
            rows: customer_rows,
        },
        TableRows {
            name: ITEM_TABLE,
            rows: item_rows,
        },
        TableRows {
            name: ORDER_TABLE,
            rows: orders,
        },
        TableRows {
            name: ORDERLINE_TABLE,
            rows: lines,
        },
        TableRows {
            name: SEQUENCE_TABLE,
            rows: vec![(NEXT_ORDER_NUMBER.to_owned(), ORDERS.to_string())],
        },
    ]
}

/// The vector index of record number `n` (from 1).
fn index(n: u64) -> usize {
    usize::try_from(n - 1).expect("demo data counts fit usize")
}
