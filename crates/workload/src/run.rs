//! Running transactions: one transaction with rollback and retry after a deadlock, and a run of
//! many transactions split over client threads.
//!
//! Invariant: a transaction body never changes state outside its transaction, so an attempt
//! rolled back after a deadlock leaves nothing behind and the retry starts afresh; a transaction
//! counts as committed only once `commit` returned Ok (durable).

use std::time::{Duration, Instant};

use crate::session::{Connector, Session, Transaction};
use crate::{Error, Rng};

#[cfg(test)]
mod tests;

/// Attempts of one transaction before a run gives up with [`Error::RetriesExhausted`].
pub const MAX_ATTEMPTS: u32 = 1000;

/// The outcome of a workload run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// Transactions committed (durable).
    pub committed: u64,
    /// Attempts rolled back after a deadlock and retried.
    pub retries: u64,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
    /// Committed transactions per second of `elapsed`.
    pub tps: f64,
    /// The longest time one transaction took, from its first begin to its commit returning
    /// (retries included): the worst stall a client saw.
    pub longest: Duration,
}

/// Runs `body` in a transaction and commits it; after a deadlock, rolls back and runs it again
/// (adding one to `retries` each time). Any other error rolls back and is returned.
pub(crate) fn in_txn<S: Session + ?Sized, T>(
    db: &S,
    retries: &mut u64,
    mut body: impl FnMut(&mut S::Txn<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    for _ in 0..MAX_ATTEMPTS {
        let mut txn = db.begin()?;
        let outcome = match body(&mut txn) {
            Ok(value) => txn.commit().map(|()| value),
            Err(error) => {
                let rolled_back = txn.rollback();
                match rolled_back {
                    // A failed rollback after a deadlock leaves nothing to retry on.
                    Err(rollback_error) if error.is_deadlock() => Err(rollback_error),
                    _ => Err(error),
                }
            }
        };
        match outcome {
            Err(error) if error.is_deadlock() => *retries += 1,
            other => return other,
        }
    }
    Err(Error::RetriesExhausted {
        attempts: MAX_ATTEMPTS,
    })
}

/// Runs `transactions` transactions split over `clients` threads, each with its own session
/// from `connector`. Client `c` draws from `Rng::stream(seed, c)`; `txn` runs one transaction
/// (with its own retries) on the client's session and returns the number of deadlock retries
/// it needed.
pub(crate) fn run_clients<C, F>(
    connector: &C,
    transactions: u64,
    clients: u32,
    seed: u64,
    txn: F,
) -> Result<RunReport, Error>
where
    C: Connector + ?Sized,
    F: Fn(&C::Session<'_>, u32, u64, &mut Rng) -> Result<u64, Error> + Sync,
{
    if clients == 0 {
        return Err(Error::InvalidSetting {
            setting: "clients",
            value: 0,
            expected: "at least 1 client",
        });
    }
    let start = Instant::now();
    let results: Vec<Result<(u64, u64, Duration), Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let share = share_of(transactions, clients, client);
                let txn = &txn;
                scope.spawn(move || {
                    let session = connector.connect()?;
                    let mut rng = Rng::stream(seed, u64::from(client));
                    let (mut committed, mut retries) = (0u64, 0u64);
                    let mut longest = Duration::ZERO;
                    for n in 0..share {
                        let started = Instant::now();
                        retries += txn(&session, client, n, &mut rng)?;
                        longest = longest.max(started.elapsed());
                        committed += 1;
                    }
                    Ok((committed, retries, longest))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let (mut committed, mut retries, mut longest) = (0, 0, Duration::ZERO);
    for result in results {
        let (c, r, l) = result?;
        committed += c;
        retries += r;
        longest = longest.max(l);
    }
    let secs = elapsed.as_secs_f64();
    // Precision loss only past 2^53 transactions.
    let tps = if secs > 0.0 {
        committed as f64 / secs
    } else {
        0.0
    };
    Ok(RunReport {
        committed,
        retries,
        elapsed,
        tps,
        longest,
    })
}

/// The number of transactions client `client` of `clients` runs: an even split, the first
/// `transactions % clients` clients running one more.
fn share_of(transactions: u64, clients: u32, client: u32) -> u64 {
    let clients = u64::from(clients);
    let client = u64::from(client);
    transactions / clients + u64::from(client < transactions % clients)
}

/// Calls `f` on every record of `table` in key order, stopping at the first error it returns.
pub(crate) fn scan_rows<T: Transaction + ?Sized>(
    txn: &mut T,
    table: &str,
    mut f: impl FnMut(&str, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut failed = None;
    txn.scan(table, &mut |key, value| match f(key, value) {
        Ok(()) => true,
        Err(error) => {
            failed = Some(error);
            false
        }
    })?;
    failed.map_or(Ok(()), Err)
}
