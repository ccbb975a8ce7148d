//! Deterministic demo data and benchmark workloads for afterimage.
//!
//! - [`load_sports2000`]: the sports2000 demo database (salesreps, customers, items, orders,
//!   order lines), the same bytes on every run and every machine.
//! - [`tpcb_init`], [`tpcb_run`], [`tpcb_check`]: TPC-B as pgbench runs it, with the check
//!   that the account, teller, branch and history sums stay equal.
//! - [`orders_run`], [`orders_check`]: order entry on sports2000, with an audit of balances and
//!   on-hand counts.
//!
//! Every workload runs over a [`Session`] (one transaction at a time) or, with several client
//! threads, a [`Connector`] that opens one session per client: the engine's single-user
//! `Database` is both, and a server client is another.
//!
//! Every random choice comes from [`Rng`] seeded by the caller, every value is readable text,
//! and every run retries a transaction that the engine rolled back after a deadlock.

mod digest;
mod error;
mod fields;
mod load;
mod orders;
mod rng;
mod run;
mod session;
mod sports2000;
mod tpcb;

pub use digest::{ContentDigest, content_digest};
pub use error::{Error, MESSAGES, deadlock_number};
pub use load::{LoadReport, TableLoad};
pub use orders::{
    Inconsistency, MAX_LINE_QTY, MAX_ORDER_LINES, OrdersAudit, OrdersConfig, orders_check,
    orders_run,
};
pub use rng::Rng;
pub use run::{MAX_ATTEMPTS, RunReport};
pub use session::{Connector, Session, Transaction};
pub use sports2000::{
    CUSTOMER_TABLE, CUSTOMERS, ITEM_TABLE, ITEMS, LOAD_BATCH_ROWS, NEXT_ORDER_NUMBER, ORDER_TABLE,
    ORDERLINE_TABLE, ORDERS, SALESREP_TABLE, SALESREPS, SEQUENCE_TABLE, SPORTS2000_SEED,
    SPORTS2000_TABLES, load_sports2000, load_sports2000_in,
};
pub use tpcb::{
    ACCOUNT_TABLE, ACCOUNTS_PER_BRANCH, BRANCH_TABLE, HISTORY_TABLE, MAX_DELTA, TELLER_TABLE,
    TELLERS_PER_BRANCH, TPCB_BATCH_ROWS, TpcbConfig, TpcbSums, account_key, branch_key, teller_key,
    tpcb_check, tpcb_init, tpcb_init_sized, tpcb_run,
};
