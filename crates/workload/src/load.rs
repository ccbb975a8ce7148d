//! Bulk loading: rows inserted in batches, one transaction per batch, and the report of a load.
//!
//! Invariant: a batch is all or nothing, and batches commit in key order, so an interrupted load
//! leaves each table holding a committed prefix of its rows.

use crate::Error;
use crate::run::in_txn;
use crate::session::{Session, Transaction};

/// Rows loaded into one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableLoad {
    /// The table's name.
    pub name: String,
    /// Rows inserted by this load (rows already there are not counted).
    pub rows: u64,
}

/// What a load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Tables in load order, with the rows inserted into each.
    pub tables: Vec<TableLoad>,
    /// Transactions committed.
    pub transactions: u64,
    /// Attempts rolled back after a deadlock and retried.
    pub retries: u64,
}

impl LoadReport {
    /// Rows inserted into all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Rows inserted into `table`, 0 if it was not loaded.
    pub fn rows_of(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .map(|t| t.rows)
            .sum()
    }
}

/// Inserts `rows` into `table`, `batch_rows` rows per transaction, recording the load in
/// `report`.
pub(crate) fn insert_batches<S: Session + ?Sized>(
    db: &S,
    table: &str,
    rows: impl IntoIterator<Item = (String, String)>,
    batch_rows: usize,
    report: &mut LoadReport,
) -> Result<(), Error> {
    assert!(batch_rows > 0, "a batch holds at least one row");
    let mut inserted = 0u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<(String, String)> = rows.by_ref().take(batch_rows).collect();
        in_txn(db, &mut report.retries, |txn| {
            for (key, value) in &batch {
                txn.insert(table, key, value.as_bytes())?;
            }
            Ok(())
        })?;
        report.transactions += 1;
        inserted += batch.len() as u64;
    }
    report.tables.push(TableLoad {
        name: table.to_owned(),
        rows: inserted,
    });
    Ok(())
}

/// The names of the tables `db` holds.
pub(crate) fn table_names<S: Session + ?Sized>(db: &S) -> Result<Vec<String>, Error> {
    db.table_names()
}
