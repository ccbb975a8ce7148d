//! TPC-B as pgbench runs it: branches, tellers, accounts and a history; each transaction adds
//! one random delta to an account, a teller and a branch and records it in the history.
//!
//! Invariants: every balance is a decimal integer stored as the whole value, history values end
//! with `,DELTA`, and each transaction changes all four tables or none, so the sum of account
//! balances, of teller balances, of branch balances and of history deltas are always equal.

use crate::Error;
use crate::fields::{bad_field, key, key_number, parse_int, value_int};
use crate::load::{LoadReport, insert_batches, table_names};
use crate::run::{RunReport, in_txn, run_clients, scan_rows};
use crate::session::{Connector, Session, Transaction};

#[cfg(test)]
mod tests;

/// Accounts per branch in TPC-B.
pub const ACCOUNTS_PER_BRANCH: u32 = 100_000;
/// Tellers per branch in TPC-B.
pub const TELLERS_PER_BRANCH: u32 = 10;
/// Rows inserted per transaction by [`tpcb_init`].
pub const TPCB_BATCH_ROWS: usize = 1000;
/// Table of branches, keys `b000001`.., value the balance.
pub const BRANCH_TABLE: &str = "tpcb_branch";
/// Table of tellers, keys `t0000001`.., value the balance.
pub const TELLER_TABLE: &str = "tpcb_teller";
/// Table of accounts, keys `a0000000001`.., value the balance.
pub const ACCOUNT_TABLE: &str = "tpcb_account";
/// Table of history rows, keys `hRUN-CLIENT-N`, value `aid=N,tid=N,bid=N,DELTA`.
pub const HISTORY_TABLE: &str = "tpcb_history";

/// The largest delta a transaction adds (the smallest is its negative).
pub const MAX_DELTA: i64 = 5000;

/// The hint of [`Error::MissingTable`] for a TPC-B table.
const INIT_HINT: &str = "initialize the TPC-B tables first";

/// Settings of a TPC-B run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpcbConfig {
    /// Branches: the TPC-B scale factor (tellers and accounts scale with it). At least 1, and
    /// at most the scale the tables were initialized with.
    pub scale: u32,
    /// Accounts per branch: [`ACCOUNTS_PER_BRANCH`] (100,000) in TPC-B; a smaller value makes
    /// quick tests. Must be the value the tables were initialized with
    /// ([`tpcb_init_sized`]), or accounts past the loaded ones are missing.
    pub accounts_per_branch: u32,
    /// Transactions in total, split evenly over the clients.
    pub transactions: u64,
    /// Client threads, each with its own transactions. At least 1.
    pub clients: u32,
    /// Seed of the random choices (client `c` draws from stream `c` of this seed).
    pub seed: u64,
}

impl Default for TpcbConfig {
    fn default() -> Self {
        TpcbConfig {
            scale: 1,
            accounts_per_branch: ACCOUNTS_PER_BRANCH,
            transactions: 1000,
            clients: 1,
            seed: 1,
        }
    }
}

/// The four sums that TPC-B keeps equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpcbSums {
    /// Sum of account balances.
    pub accounts: i128,
    /// Sum of teller balances.
    pub tellers: i128,
    /// Sum of branch balances.
    pub branches: i128,
    /// Sum of the deltas recorded in the history.
    pub history: i128,
    /// Rows in the history (committed transactions over all runs).
    pub history_rows: u64,
}

impl TpcbSums {
    /// True if the four sums are equal.
    pub fn balanced(&self) -> bool {
        self.accounts == self.tellers
            && self.tellers == self.branches
            && self.branches == self.history
    }
}

/// Key of branch `n` (from 1).
pub fn branch_key(n: u64) -> String {
    key("b", n, 6)
}

/// Key of teller `n` (from 1).
pub fn teller_key(n: u64) -> String {
    key("t", n, 7)
}

/// Key of account `n` (from 1).
pub fn account_key(n: u64) -> String {
    key("a", n, 10)
}

/// Key of the `n`th history row (from 1) written by client `client` in run `run`.
fn history_key(run: u64, client: u32, n: u64) -> String {
    format!("h{run:06}-{client:04}-{n:010}")
}

/// The run number in a history key.
fn history_run(key: &str) -> Option<u64> {
    let (run, _) = key.split_once('-')?;
    key_number("h", run)
}

/// Creates the missing TPC-B tables at `scale` with [`ACCOUNTS_PER_BRANCH`] accounts per branch
/// and loads the rows they lack, every balance 0.
pub fn tpcb_init<S: Session + ?Sized>(db: &S, scale: u32) -> Result<LoadReport, Error> {
    tpcb_init_sized(db, scale, ACCOUNTS_PER_BRANCH)
}

/// Like [`tpcb_init`] with `accounts_per_branch` accounts per branch (for quick tests).
///
/// Restartable: rows are inserted in key order, [`TPCB_BATCH_ROWS`] per transaction, and a
/// table that exists gets only the rows after its last key, so an interrupted init completes.
pub fn tpcb_init_sized<S: Session + ?Sized>(
    db: &S,
    scale: u32,
    accounts_per_branch: u32,
) -> Result<LoadReport, Error> {
    check_shape(scale, accounts_per_branch)?;
    let existing = table_names(db)?;
    let branches = u64::from(scale);
    let shapes = [
        (BRANCH_TABLE, branches, branch_key as fn(u64) -> String, "b"),
        (
            TELLER_TABLE,
            branches * u64::from(TELLERS_PER_BRANCH),
            teller_key,
            "t",
        ),
        (
            ACCOUNT_TABLE,
            branches * u64::from(accounts_per_branch),
            account_key,
            "a",
        ),
    ];
    let mut report = LoadReport::default();
    for (table, rows, make_key, prefix) in shapes {
        let last = if existing.iter().any(|t| t == table) {
            last_key_number(db, table, prefix, &mut report.retries)?
        } else {
            db.create_table(table, None)?;
            0
        };
        let missing = (last + 1..=rows).map(|n| (make_key(n), "0".to_owned()));
        insert_batches(db, table, missing, TPCB_BATCH_ROWS, &mut report)?;
    }
    if !existing.iter().any(|t| t == HISTORY_TABLE) {
        db.create_table(HISTORY_TABLE, None)?;
    }
    Ok(report)
}

/// Runs `config.transactions` TPC-B transactions over `config.clients` threads on tables made
/// by [`tpcb_init`]. A transaction that meets a deadlock is rolled back and retried.
pub fn tpcb_run<C: Connector + ?Sized>(
    connector: &C,
    config: &TpcbConfig,
) -> Result<RunReport, Error> {
    check_shape(config.scale, config.accounts_per_branch)?;
    let session = connector.connect()?;
    let db = &session;
    let existing = table_names(db)?;
    for table in [BRANCH_TABLE, TELLER_TABLE, ACCOUNT_TABLE, HISTORY_TABLE] {
        if !existing.iter().any(|t| t == table) {
            return Err(Error::MissingTable {
                table: table.to_owned(),
                hint: INIT_HINT,
            });
        }
    }
    let mut setup_retries = 0;
    let (branches, last_run) = in_txn(db, &mut setup_retries, |txn| {
        let mut branches = 0u64;
        scan_rows(txn, BRANCH_TABLE, |_, _| {
            branches += 1;
            Ok(())
        })?;
        let mut last_key = None;
        scan_rows(txn, HISTORY_TABLE, |key, _| {
            last_key = Some(key.to_owned());
            Ok(())
        })?;
        let last_run = match last_key {
            None => 0,
            Some(key) => history_run(&key).ok_or(Error::BadKey {
                table: HISTORY_TABLE.to_owned(),
                key,
            })?,
        };
        Ok((branches, last_run))
    })?;
    if branches < u64::from(config.scale) {
        return Err(Error::ScaleMismatch {
            branches,
            scale: config.scale,
        });
    }
    let run = last_run + 1;
    let bids = u64::from(config.scale);
    let tids = bids * u64::from(TELLERS_PER_BRANCH);
    let aids = bids * u64::from(config.accounts_per_branch);
    let mut report = run_clients(
        connector,
        config.transactions,
        config.clients,
        config.seed,
        |db, client, n, rng| {
            let aid = 1 + rng.below(aids);
            let tid = 1 + rng.below(tids);
            let bid = 1 + rng.below(bids);
            let delta = rng.range_inclusive(-MAX_DELTA, MAX_DELTA);
            let (akey, tkey, bkey) = (account_key(aid), teller_key(tid), branch_key(bid));
            let hkey = history_key(run, client, n + 1);
            let history = format!("aid={aid},tid={tid},bid={bid},{delta}");
            let mut retries = 0;
            in_txn(db, &mut retries, |txn| {
                txn.add_integer(ACCOUNT_TABLE, &akey, delta)?;
                txn.add_integer(TELLER_TABLE, &tkey, delta)?;
                txn.add_integer(BRANCH_TABLE, &bkey, delta)?;
                txn.insert(HISTORY_TABLE, &hkey, history.as_bytes())?;
                Ok(())
            })?;
            Ok(retries)
        },
    )?;
    report.retries += setup_retries;
    Ok(report)
}

/// Reads the four TPC-B sums in one transaction.
pub fn tpcb_check<S: Session + ?Sized>(db: &S) -> Result<TpcbSums, Error> {
    let existing = table_names(db)?;
    for table in [BRANCH_TABLE, TELLER_TABLE, ACCOUNT_TABLE, HISTORY_TABLE] {
        if !existing.iter().any(|t| t == table) {
            return Err(Error::MissingTable {
                table: table.to_owned(),
                hint: INIT_HINT,
            });
        }
    }
    let mut retries = 0;
    in_txn(db, &mut retries, |txn| {
        let accounts = sum_balances(txn, ACCOUNT_TABLE)?;
        let tellers = sum_balances(txn, TELLER_TABLE)?;
        let branches = sum_balances(txn, BRANCH_TABLE)?;
        let (mut history, mut history_rows) = (0i128, 0u64);
        scan_rows(txn, HISTORY_TABLE, |key, value| {
            history += i128::from(history_delta(key, value)?);
            history_rows += 1;
            Ok(())
        })?;
        Ok(TpcbSums {
            accounts,
            tellers,
            branches,
            history,
            history_rows,
        })
    })
}

/// Refuses a scale or account count of 0.
fn check_shape(scale: u32, accounts_per_branch: u32) -> Result<(), Error> {
    if scale == 0 {
        return Err(Error::InvalidSetting {
            setting: "scale",
            value: 0,
            expected: "at least 1",
        });
    }
    if accounts_per_branch == 0 {
        return Err(Error::InvalidSetting {
            setting: "accounts_per_branch",
            value: 0,
            expected: "at least 1",
        });
    }
    Ok(())
}

/// The number in the last key of `table` (keys `prefix` + digits), 0 if it is empty.
fn last_key_number<S: Session + ?Sized>(
    db: &S,
    table: &str,
    prefix: &str,
    retries: &mut u64,
) -> Result<u64, Error> {
    in_txn(db, retries, |txn| {
        let mut last = None;
        scan_rows(txn, table, |key, _| {
            last = Some(key.to_owned());
            Ok(())
        })?;
        match last {
            None => Ok(0),
            Some(key) => key_number(prefix, &key).ok_or(Error::BadKey {
                table: table.to_owned(),
                key,
            }),
        }
    })
}

/// The sum of the balances of `table`.
fn sum_balances<T: Transaction + ?Sized>(txn: &mut T, table: &str) -> Result<i128, Error> {
    let mut sum = 0i128;
    scan_rows(txn, table, |key, value| {
        sum += i128::from(value_int(table, key, value)?);
        Ok(())
    })?;
    Ok(sum)
}

/// The delta at the end of a history value (`...,DELTA`).
fn history_delta(key: &str, value: &[u8]) -> Result<i64, Error> {
    let text = std::str::from_utf8(value).map_err(|_| Error::NotText {
        table: HISTORY_TABLE.to_owned(),
        key: key.to_owned(),
    })?;
    text.rsplit(',')
        .next()
        .and_then(parse_int)
        .filter(|d| d.abs() <= MAX_DELTA)
        .ok_or_else(|| bad_field(HISTORY_TABLE, key, "delta"))
}
