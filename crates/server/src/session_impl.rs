//! The workload session traits for the client: a [`Client`] is a [`workload::Session`], a
//! [`ClientTxn`] a [`workload::Transaction`], and a [`ServerConnector`] a
//! [`workload::Connector`], so the workloads and `proclient` run unchanged through a server.
//!
//! Invariant: a server error reaches the workload with the number and text the server sent, so
//! a deadlock is still recognised (and retried) by its number.

use masterblock::AreaNo;

use crate::client::{Client, ClientTxn, ServerConnector};
use crate::error::Error;

fn lift(e: Error) -> workload::Error {
    workload::Error::Session {
        number: e.msg_number(),
        text: e.to_string(),
    }
}

impl workload::Transaction for ClientTxn<'_> {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<Vec<u8>>, workload::Error> {
        ClientTxn::get(self, table, key).map_err(lift)
    }
    fn get_for_update(
        &mut self,
        table: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, workload::Error> {
        ClientTxn::get_for_update(self, table, key).map_err(lift)
    }
    fn insert(&mut self, table: &str, key: &str, value: &[u8]) -> Result<(), workload::Error> {
        ClientTxn::insert(self, table, key, value).map_err(lift)
    }
    fn update(&mut self, table: &str, key: &str, value: &[u8]) -> Result<(), workload::Error> {
        ClientTxn::update(self, table, key, value).map_err(lift)
    }
    fn delete(&mut self, table: &str, key: &str) -> Result<(), workload::Error> {
        ClientTxn::delete(self, table, key).map_err(lift)
    }
    fn add_integer(&mut self, table: &str, key: &str, delta: i64) -> Result<(), workload::Error> {
        ClientTxn::add_integer(self, table, key, delta).map_err(lift)
    }
    fn scan(
        &mut self,
        table: &str,
        f: &mut dyn FnMut(&str, &[u8]) -> bool,
    ) -> Result<(), workload::Error> {
        ClientTxn::scan(self, table, f).map_err(lift)
    }
    fn create_table(&mut self, name: &str, area: Option<AreaNo>) -> Result<(), workload::Error> {
        ClientTxn::create_table(self, name, area).map_err(lift)
    }
    fn commit(self) -> Result<(), workload::Error> {
        ClientTxn::commit(self).map_err(lift)
    }
    fn rollback(self) -> Result<(), workload::Error> {
        ClientTxn::rollback(self).map_err(lift)
    }
}

impl workload::Session for Client {
    type Txn<'s> = ClientTxn<'s>;
    fn begin(&self) -> Result<ClientTxn<'_>, workload::Error> {
        Client::begin(self).map_err(lift)
    }
    fn table_names(&self) -> Result<Vec<String>, workload::Error> {
        Ok(Client::tables(self)
            .map_err(lift)?
            .into_iter()
            .map(|t| t.name)
            .collect())
    }
    fn create_table(&self, name: &str, area: Option<AreaNo>) -> Result<(), workload::Error> {
        Client::create_table(self, name, area).map_err(lift)
    }
}

impl workload::Connector for ServerConnector {
    type Session<'c> = Client;
    fn connect(&self) -> Result<Client, workload::Error> {
        Client::connect(self.socket()).map_err(lift)
    }
}
