//! What a workload needs from a database: a [`Session`] that begins [`Transaction`]s, and a
//! [`Connector`] that opens one session per client thread.
//!
//! Invariants: a session runs at most one transaction at a time; a transaction dropped without
//! `commit` or `rollback` is rolled back; the engine's single-user [`Database`] is all three
//! (its sessions are shared references to it), so single-user runs behave exactly as before.

use engine::{Database, Txn};
use masterblock::AreaNo;

use crate::Error;

/// One transaction of a [`Session`]: record operations, then `commit` or `rollback`.
pub trait Transaction {
    /// The value of `key` in `table` (shared lock on the table).
    fn get(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>, Error>;
    /// The value of `key` in `table`, with the table locked for update.
    fn get_for_update(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Inserts a record; the key must not exist.
    fn insert(&mut self, table: &str, key: &str, value: &[u8]) -> Result<(), Error>;
    /// Replaces a record's value; the key must exist.
    fn update(&mut self, table: &str, key: &str, value: &[u8]) -> Result<(), Error>;
    /// Deletes a record; the key must exist.
    fn delete(&mut self, table: &str, key: &str) -> Result<(), Error>;
    /// Adds `delta` to a record whose whole value is a decimal integer, with the table locked
    /// for update (SQL's `SET balance = balance + delta`); the key must exist. A server
    /// client sends it as one request, without waiting for its answer.
    fn add_integer(&mut self, table: &str, key: &str, delta: i64) -> Result<(), Error> {
        let value = self
            .get_for_update(table, key)?
            .ok_or_else(|| Error::MissingRecord {
                table: table.to_owned(),
                key: key.to_owned(),
            })?;
        let sum = crate::fields::value_int(table, key, &value)?
            .checked_add(delta)
            .ok_or_else(|| crate::fields::bad_field(table, key, "balance"))?;
        self.update(table, key, sum.to_string().as_bytes())
    }
    /// Calls `f` on every record of `table` in key order until it returns false.
    fn scan(&mut self, table: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error>;
    /// Creates a table in `area` (the Schema Area if `None`).
    fn create_table(&mut self, name: &str, area: Option<AreaNo>) -> Result<(), Error>;
    /// Commits; `Ok` only once the commit is durable.
    fn commit(self) -> Result<(), Error>;
    /// Rolls every change back.
    fn rollback(self) -> Result<(), Error>;
}

/// A session on a database: transactions one at a time, and the table catalogue.
pub trait Session {
    /// The transaction type, borrowing the session.
    type Txn<'s>: Transaction
    where
        Self: 's;
    /// Starts a transaction.
    fn begin(&self) -> Result<Self::Txn<'_>, Error>;
    /// The names of every table, sorted.
    fn table_names(&self) -> Result<Vec<String>, Error>;
    /// Creates a table in its own transaction.
    fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<(), Error>;
}

/// Opens sessions, one per client thread of a run.
pub trait Connector: Sync {
    /// The session type.
    type Session<'c>: Session
    where
        Self: 'c;
    /// A new session.
    fn connect(&self) -> Result<Self::Session<'_>, Error>;
}

impl Transaction for Txn<'_> {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(Txn::get(self, table, key)?)
    }
    fn get_for_update(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(Txn::get_for_update(self, table, key)?)
    }
    fn insert(&mut self, table: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        Ok(Txn::insert(self, table, key, value)?)
    }
    fn update(&mut self, table: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        Ok(Txn::update(self, table, key, value)?)
    }
    fn delete(&mut self, table: &str, key: &str) -> Result<(), Error> {
        Ok(Txn::delete(self, table, key)?)
    }
    fn scan(&mut self, table: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        Ok(Txn::scan(self, table, f)?)
    }
    fn create_table(&mut self, name: &str, area: Option<AreaNo>) -> Result<(), Error> {
        Ok(Txn::create_table(self, name, area)?)
    }
    fn commit(self) -> Result<(), Error> {
        Ok(Txn::commit(self)?)
    }
    fn rollback(self) -> Result<(), Error> {
        Ok(Txn::rollback(self)?)
    }
}

impl Session for Database {
    type Txn<'s> = Txn<'s>;
    fn begin(&self) -> Result<Txn<'_>, Error> {
        Ok(Database::begin(self)?)
    }
    fn table_names(&self) -> Result<Vec<String>, Error> {
        Ok(Database::tables(self)?
            .into_iter()
            .map(|t| t.name)
            .collect())
    }
    fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<(), Error> {
        Ok(Database::create_table(self, name, area)?)
    }
}

impl<S: Session + ?Sized> Session for &S {
    type Txn<'s>
        = S::Txn<'s>
    where
        Self: 's;
    fn begin(&self) -> Result<Self::Txn<'_>, Error> {
        S::begin(self)
    }
    fn table_names(&self) -> Result<Vec<String>, Error> {
        S::table_names(self)
    }
    fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<(), Error> {
        S::create_table(self, name, area)
    }
}

impl Connector for Database {
    type Session<'c> = &'c Database;
    fn connect(&self) -> Result<&Database, Error> {
        Ok(self)
    }
}
