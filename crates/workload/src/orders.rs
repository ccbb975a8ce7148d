//! The orders workload on the sports2000 demo data: each transaction enters an order of 1 to 5
//! lines, lowers each item's on-hand count and raises the customer's balance; and its audit.
//!
//! Invariants (checked by [`orders_check`]): a customer's `balance` is the sum of its orders'
//! `total`; an order's `total` is the sum of its lines' `amount` and its `lines` their count; a
//! line's `amount` is `qty * price`; an item's `received` is its `onhand` plus the `qty` of all
//! its lines; and the `NextOrdNum` sequence is at least the highest order number.

use std::collections::BTreeMap;
use std::fmt;

use crate::fields::{Fields, bad_field, join, key_number, value_int};
use crate::load::table_names;
use crate::run::{RunReport, in_txn, run_clients, scan_rows};
use crate::session::{Connector, Session, Transaction};
use crate::sports2000::{
    CUSTOMER_TABLE, ITEM_TABLE, NEXT_ORDER_NUMBER, ORDER_TABLE, ORDERLINE_TABLE, SEQUENCE_TABLE,
    SPORTS2000_TABLES, date_text, order_key, orderline_key,
};
use crate::{Error, Rng};

#[cfg(test)]
mod tests;

/// The most lines an order entered by [`orders_run`] has.
pub const MAX_ORDER_LINES: u64 = 5;
/// The largest quantity of one order line.
pub const MAX_LINE_QTY: u64 = 10;
/// The largest item price (cents) the workload accepts from the database.
const MAX_PRICE: i64 = 1_000_000_000;

/// The hint of [`Error::MissingTable`] for a sports2000 table.
const LOAD_HINT: &str = "load the sports2000 demo data into a new database first";

/// Settings of an orders run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrdersConfig {
    /// Orders to enter in total, split evenly over the clients.
    pub transactions: u64,
    /// Client threads. At least 1.
    pub clients: u32,
    /// Seed of the random choices (client `c` draws from stream `c` of this seed).
    pub seed: u64,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            transactions: 1000,
            clients: 1,
            seed: 1,
        }
    }
}

/// One way in which the orders data breaks its invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inconsistency {
    /// A customer's balance differs from the sum of its orders' totals.
    CustomerBalance {
        /// The customer's key.
        customer: String,
        /// Its recorded balance.
        balance: i64,
        /// The sum of its orders' totals.
        orders_total: i128,
    },
    /// An item's on-hand count plus the quantities ordered differs from the quantity received.
    ItemOnHand {
        /// The item's key.
        item: String,
        /// Its recorded on-hand count.
        onhand: i64,
        /// `received` minus the quantities of its lines.
        expected: i128,
    },
    /// An order's total differs from the sum of its lines' amounts.
    OrderTotal {
        /// The order's key.
        order: String,
        /// Its recorded total.
        total: i64,
        /// The sum of its lines' amounts.
        lines_total: i128,
    },
    /// An order's line count differs from the lines found.
    OrderLineCount {
        /// The order's key.
        order: String,
        /// Its recorded line count.
        lines: i64,
        /// Lines found.
        found: u64,
    },
    /// A line's amount is not its quantity times its price.
    LineAmount {
        /// The line's key.
        line: String,
        /// Its recorded amount.
        amount: i64,
        /// `qty * price`.
        expected: i128,
    },
    /// A line belongs to no order.
    LineWithoutOrder {
        /// The line's key.
        line: String,
    },
    /// An order names a customer that does not exist.
    UnknownCustomer {
        /// The order's key.
        order: String,
        /// The customer it names.
        customer: String,
    },
    /// A line names an item that does not exist.
    UnknownItem {
        /// The line's key.
        line: String,
        /// The item it names.
        item: String,
    },
    /// The order number sequence is behind the highest order number.
    SequenceBehind {
        /// The sequence's value.
        next_order_number: i64,
        /// The highest order number found.
        highest_order: u64,
    },
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconsistency::CustomerBalance {
                customer,
                balance,
                orders_total,
            } => write!(
                f,
                "customer {customer} has balance {balance} but its orders total {orders_total}"
            ),
            Inconsistency::ItemOnHand {
                item,
                onhand,
                expected,
            } => {
                write!(
                    f,
                    "item {item} has {onhand} on hand but its orders leave {expected}"
                )
            }
            Inconsistency::OrderTotal {
                order,
                total,
                lines_total,
            } => {
                write!(
                    f,
                    "order {order} has total {total} but its lines total {lines_total}"
                )
            }
            Inconsistency::OrderLineCount {
                order,
                lines,
                found,
            } => {
                write!(f, "order {order} records {lines} lines but has {found}")
            }
            Inconsistency::LineAmount {
                line,
                amount,
                expected,
            } => {
                write!(
                    f,
                    "order line {line} has amount {amount} but qty * price is {expected}"
                )
            }
            Inconsistency::LineWithoutOrder { line } => {
                write!(f, "order line {line} belongs to no order")
            }
            Inconsistency::UnknownCustomer { order, customer } => {
                write!(
                    f,
                    "order {order} names customer {customer}, which does not exist"
                )
            }
            Inconsistency::UnknownItem { line, item } => {
                write!(
                    f,
                    "order line {line} names item {item}, which does not exist"
                )
            }
            Inconsistency::SequenceBehind {
                next_order_number,
                highest_order,
            } => write!(
                f,
                "sequence {NEXT_ORDER_NUMBER} is {next_order_number} but order {highest_order} exists"
            ),
        }
    }
}

/// What [`orders_check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrdersAudit {
    /// Customers read.
    pub customers: u64,
    /// Items read.
    pub items: u64,
    /// Orders read.
    pub orders: u64,
    /// Order lines read.
    pub order_lines: u64,
    /// Every broken invariant found, in table and key order.
    pub problems: Vec<Inconsistency>,
}

impl OrdersAudit {
    /// True if no invariant is broken.
    pub fn consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The random choices of one order, drawn before its transaction so a retry repeats them.
struct OrderPlan {
    customer: String,
    lines: Vec<(String, i64)>,
    date: String,
}

/// Draws one order: a customer, 1 to [`MAX_ORDER_LINES`] lines of an item and a quantity of 1
/// to [`MAX_LINE_QTY`], and a date.
fn plan_order(rng: &mut Rng, customers: &[String], items: &[String]) -> OrderPlan {
    let customer = rng.pick(customers).clone();
    let line_count = 1 + rng.below(MAX_ORDER_LINES);
    let lines = (0..line_count)
        .map(|_| {
            let item = rng.pick(items).clone();
            let qty = 1 + rng.below(MAX_LINE_QTY);
            (item, i64::try_from(qty).expect("a line quantity fits i64"))
        })
        .collect();
    OrderPlan {
        customer,
        lines,
        date: date_text(2024, rng.below(366)),
    }
}

/// Enters `config.transactions` orders over `config.clients` threads on a database holding the
/// sports2000 demo data. A transaction that meets a deadlock is rolled back and retried.
pub fn orders_run<C: Connector + ?Sized>(
    connector: &C,
    config: &OrdersConfig,
) -> Result<RunReport, Error> {
    let session = connector.connect()?;
    let db = &session;
    require_tables(db)?;
    let mut setup_retries = 0;
    let (customers, items) = in_txn(db, &mut setup_retries, |txn| {
        Ok((all_keys(txn, CUSTOMER_TABLE)?, all_keys(txn, ITEM_TABLE)?))
    })?;
    for (table, keys) in [(CUSTOMER_TABLE, &customers), (ITEM_TABLE, &items)] {
        if keys.is_empty() {
            return Err(Error::EmptyTable {
                table: table.to_owned(),
            });
        }
    }
    let mut report = run_clients(
        connector,
        config.transactions,
        config.clients,
        config.seed,
        |db, _, _, rng| {
            let plan = plan_order(rng, &customers, &items);
            let mut retries = 0;
            in_txn(db, &mut retries, |txn| enter_order(txn, &plan))?;
            Ok(retries)
        },
    )?;
    report.retries += setup_retries;
    Ok(report)
}

/// Enters one order in `txn`. Tables are locked in one order by every transaction: sequence,
/// customer, item, orderline, order.
fn enter_order<T: Transaction + ?Sized>(txn: &mut T, plan: &OrderPlan) -> Result<(), Error> {
    let seq = get_required(txn, SEQUENCE_TABLE, NEXT_ORDER_NUMBER)?;
    let number = value_int(SEQUENCE_TABLE, NEXT_ORDER_NUMBER, &seq)?
        .checked_add(1)
        .filter(|n| *n > 0)
        .ok_or_else(|| bad_field(SEQUENCE_TABLE, NEXT_ORDER_NUMBER, "value"))?;
    txn.update(
        SEQUENCE_TABLE,
        NEXT_ORDER_NUMBER,
        number.to_string().as_bytes(),
    )?;
    let okey = order_key(number.unsigned_abs());

    let cust_value = get_required(txn, CUSTOMER_TABLE, &plan.customer)?;
    let cust = Fields::parse(CUSTOMER_TABLE, &plan.customer, &cust_value)?;
    let balance = cust.int("balance")?;
    let rep = cust.text("rep")?;

    let mut total = 0i64;
    for (line_no, (item_key, qty)) in (1..).zip(&plan.lines) {
        let item_value = get_required(txn, ITEM_TABLE, item_key)?;
        let item = Fields::parse(ITEM_TABLE, item_key, &item_value)?;
        let price = item.int_in("price", 0, MAX_PRICE)?;
        let onhand = item
            .int("onhand")?
            .checked_sub(*qty)
            .ok_or_else(|| item.bad("onhand"))?;
        txn.update(
            ITEM_TABLE,
            item_key,
            item.with("onhand", &onhand.to_string()).as_bytes(),
        )?;
        let amount = price * qty;
        total = total.checked_add(amount).ok_or_else(|| item.bad("price"))?;
        let value = join(&[
            ("item", item_key),
            ("qty", qty),
            ("price", &price),
            ("amount", &amount),
        ]);
        txn.insert(
            ORDERLINE_TABLE,
            &orderline_key(&okey, line_no),
            value.as_bytes(),
        )?;
    }

    let order = join(&[
        ("cust", &plan.customer),
        ("rep", &rep),
        ("date", &plan.date),
        ("lines", &plan.lines.len()),
        ("total", &total),
    ]);
    txn.insert(ORDER_TABLE, &okey, order.as_bytes())?;
    let balance = balance
        .checked_add(total)
        .ok_or_else(|| cust.bad("balance"))?;
    let cust_new = cust.with("balance", &balance.to_string());
    txn.update(CUSTOMER_TABLE, &plan.customer, cust_new.as_bytes())?;
    Ok(())
}

/// Checks the invariants of the orders data in one transaction.
pub fn orders_check<S: Session + ?Sized>(db: &S) -> Result<OrdersAudit, Error> {
    require_tables(db)?;
    let mut retries = 0;
    in_txn(db, &mut retries, |txn| audit(txn))
}

/// A line as the audit reads it.
struct Line {
    order: String,
    item: String,
    qty: i64,
    amount: i64,
}

/// The audit of [`orders_check`], inside its transaction.
fn audit<T: Transaction + ?Sized>(txn: &mut T) -> Result<OrdersAudit, Error> {
    let mut out = OrdersAudit::default();

    // Lines: amounts, and sums per order and per item.
    let mut lines = Vec::new();
    scan_rows(txn, ORDERLINE_TABLE, |key, value| {
        let f = Fields::parse(ORDERLINE_TABLE, key, value)?;
        let (order, _) = key.rsplit_once('-').ok_or_else(|| Error::BadKey {
            table: ORDERLINE_TABLE.to_owned(),
            key: key.to_owned(),
        })?;
        let (qty, price, amount) = (f.int("qty")?, f.int("price")?, f.int("amount")?);
        let expected = i128::from(qty) * i128::from(price);
        if i128::from(amount) != expected {
            out.problems.push(Inconsistency::LineAmount {
                line: key.to_owned(),
                amount,
                expected,
            });
        }
        lines.push((
            key.to_owned(),
            Line {
                order: order.to_owned(),
                item: f.text("item")?.to_owned(),
                qty,
                amount,
            },
        ));
        Ok(())
    })?;
    out.order_lines = lines.len() as u64;

    // Orders: totals and line counts; sums per customer.
    let mut per_order: BTreeMap<String, (u64, i128)> = BTreeMap::new();
    for (_, line) in &lines {
        let entry = per_order.entry(line.order.clone()).or_default();
        entry.0 += 1;
        entry.1 += i128::from(line.amount);
    }
    let mut orders: BTreeMap<String, String> = BTreeMap::new();
    let mut per_customer: BTreeMap<String, i128> = BTreeMap::new();
    let mut highest_order = 0u64;
    scan_rows(txn, ORDER_TABLE, |key, value| {
        let f = Fields::parse(ORDER_TABLE, key, value)?;
        let number = key_number("o", key).ok_or_else(|| Error::BadKey {
            table: ORDER_TABLE.to_owned(),
            key: key.to_owned(),
        })?;
        highest_order = highest_order.max(number);
        let (lines_found, lines_total) = per_order.get(key).copied().unwrap_or((0, 0));
        let (total, count) = (f.int("total")?, f.int("lines")?);
        if i128::from(total) != lines_total {
            out.problems.push(Inconsistency::OrderTotal {
                order: key.to_owned(),
                total,
                lines_total,
            });
        }
        if i128::from(count) != i128::from(lines_found) {
            out.problems.push(Inconsistency::OrderLineCount {
                order: key.to_owned(),
                lines: count,
                found: lines_found,
            });
        }
        let customer = f.text("cust")?.to_owned();
        *per_customer.entry(customer.clone()).or_default() += i128::from(total);
        orders.insert(key.to_owned(), customer);
        Ok(())
    })?;
    out.orders = orders.len() as u64;
    for (key, _) in lines.iter().filter(|(_, l)| !orders.contains_key(&l.order)) {
        out.problems
            .push(Inconsistency::LineWithoutOrder { line: key.clone() });
    }

    // Customers: balances.
    let mut customers = std::collections::BTreeSet::new();
    scan_rows(txn, CUSTOMER_TABLE, |key, value| {
        let balance = Fields::parse(CUSTOMER_TABLE, key, value)?.int("balance")?;
        let orders_total = per_customer.get(key).copied().unwrap_or(0);
        if i128::from(balance) != orders_total {
            out.problems.push(Inconsistency::CustomerBalance {
                customer: key.to_owned(),
                balance,
                orders_total,
            });
        }
        customers.insert(key.to_owned());
        Ok(())
    })?;
    out.customers = customers.len() as u64;
    for (order, customer) in orders.iter().filter(|(_, c)| !customers.contains(*c)) {
        out.problems.push(Inconsistency::UnknownCustomer {
            order: order.clone(),
            customer: customer.clone(),
        });
    }

    // Items: on-hand counts.
    let mut sold: BTreeMap<&str, i128> = BTreeMap::new();
    for (_, line) in &lines {
        *sold.entry(line.item.as_str()).or_default() += i128::from(line.qty);
    }
    let mut items = std::collections::BTreeSet::new();
    scan_rows(txn, ITEM_TABLE, |key, value| {
        let f = Fields::parse(ITEM_TABLE, key, value)?;
        let (received, onhand) = (f.int("received")?, f.int("onhand")?);
        let expected = i128::from(received) - sold.get(key).copied().unwrap_or(0);
        if i128::from(onhand) != expected {
            out.problems.push(Inconsistency::ItemOnHand {
                item: key.to_owned(),
                onhand,
                expected,
            });
        }
        items.insert(key.to_owned());
        Ok(())
    })?;
    out.items = items.len() as u64;
    for (key, line) in lines.iter().filter(|(_, l)| !items.contains(&l.item)) {
        out.problems.push(Inconsistency::UnknownItem {
            line: key.clone(),
            item: line.item.clone(),
        });
    }

    // The sequence.
    let seq = txn
        .get(SEQUENCE_TABLE, NEXT_ORDER_NUMBER)?
        .ok_or_else(|| Error::MissingRecord {
            table: SEQUENCE_TABLE.to_owned(),
            key: NEXT_ORDER_NUMBER.to_owned(),
        })?;
    let next_order_number = value_int(SEQUENCE_TABLE, NEXT_ORDER_NUMBER, &seq)?;
    if i128::from(next_order_number) < i128::from(highest_order) {
        out.problems.push(Inconsistency::SequenceBehind {
            next_order_number,
            highest_order,
        });
    }
    Ok(out)
}

/// Fails with [`Error::MissingTable`] unless every sports2000 table exists.
fn require_tables<S: Session + ?Sized>(db: &S) -> Result<(), Error> {
    let existing = table_names(db)?;
    match SPORTS2000_TABLES
        .iter()
        .find(|t| !existing.iter().any(|e| e == *t))
    {
        Some(table) => Err(Error::MissingTable {
            table: (*table).to_owned(),
            hint: LOAD_HINT,
        }),
        None => Ok(()),
    }
}

/// The keys of `table`, in order.
fn all_keys<T: Transaction + ?Sized>(txn: &mut T, table: &str) -> Result<Vec<String>, Error> {
    let mut keys = Vec::new();
    scan_rows(txn, table, |key, _| {
        keys.push(key.to_owned());
        Ok(())
    })?;
    Ok(keys)
}

/// The value of `key` in `table`, locked for update; [`Error::MissingRecord`] if absent.
fn get_required<T: Transaction + ?Sized>(
    txn: &mut T,
    table: &str,
    key: &str,
) -> Result<Vec<u8>, Error> {
    txn.get_for_update(table, key)?
        .ok_or_else(|| Error::MissingRecord {
            table: table.to_owned(),
            key: key.to_owned(),
        })
}
