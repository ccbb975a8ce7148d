//! Table-level shared/exclusive locks held to the end of the transaction (strict two-phase
//! locking), with deadlock detection when a request has to wait.
//!
//! Invariants: a resource has either any number of shared holders or exactly one exclusive
//! holder (an exclusive holder may also be listed as shared: it is the same transaction); a
//! transaction waits for at most one resource at a time; a request that would close a cycle in
//! the wait-for graph fails at once with `Deadlock` and leaves the requester's locks as they were.

use std::collections::HashMap;

use masterblock::TxnId;
use parking_lot::{Condvar, Mutex};

/// Lock modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    /// Shared: reads.
    Shared,
    /// Exclusive: writes, and reads that will write.
    Exclusive,
}

/// What can be locked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Resource {
    /// The table catalogue.
    Catalogue,
    /// A table by name.
    Table(String),
}

#[derive(Default)]
struct Entry {
    holders: Vec<(u64, Mode)>,
}

impl Entry {
    /// Holders other than `txn` whose lock conflicts with `mode`.
    fn blockers(&self, txn: u64, mode: Mode) -> impl Iterator<Item = u64> + '_ {
        self.holders
            .iter()
            .filter(move |(t, m)| *t != txn && (mode == Mode::Exclusive || *m == Mode::Exclusive))
            .map(|(t, _)| *t)
    }
}

#[derive(Default)]
struct Tables {
    entries: HashMap<Resource, Entry>,
    /// What each waiting transaction waits for.
    waiting: HashMap<u64, (Resource, Mode)>,
}

/// The lock table.
#[derive(Default)]
pub(crate) struct LockManager {
    tables: Mutex<Tables>,
    released: Condvar,
}

/// A request would deadlock.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WouldDeadlock;

impl LockManager {
    /// Acquires `res` in `mode` for `txn`, waiting while others hold conflicting locks.
    pub(crate) fn lock(&self, txn: TxnId, res: &Resource, mode: Mode) -> Result<(), WouldDeadlock> {
        let t = txn.0;
        let mut tables = self.tables.lock();
        loop {
            let entry = tables.entries.entry(res.clone()).or_default();
            if entry.blockers(t, mode).next().is_none() {
                match entry.holders.iter_mut().find(|(h, _)| *h == t) {
                    Some((_, m)) => *m = (*m).max(mode),
                    None => entry.holders.push((t, mode)),
                }
                tables.waiting.remove(&t);
                return Ok(());
            }
            tables.waiting.insert(t, (res.clone(), mode));
            if reaches(&tables, t) {
                tables.waiting.remove(&t);
                return Err(WouldDeadlock);
            }
            self.released.wait(&mut tables);
        }
    }

    /// Releases every lock of `txn`.
    pub(crate) fn release_all(&self, txn: TxnId, held: &[Resource]) {
        let mut tables = self.tables.lock();
        for res in held {
            if let Some(entry) = tables.entries.get_mut(res) {
                entry.holders.retain(|(h, _)| *h != txn.0);
                if entry.holders.is_empty() {
                    tables.entries.remove(res);
                }
            }
        }
        tables.waiting.remove(&txn.0);
        drop(tables);
        self.released.notify_all();
    }
}

/// True if a path of wait-for edges leads from `start`'s blockers back to `start`.
fn reaches(tables: &Tables, start: u64) -> bool {
    let mut stack = vec![start];
    let mut seen = vec![start];
    while let Some(t) = stack.pop() {
        let Some((res, mode)) = tables.waiting.get(&t) else {
            continue;
        };
        let Some(entry) = tables.entries.get(res) else {
            continue;
        };
        for b in entry.blockers(t, *mode) {
            if b == start {
                return true;
            }
            if !seen.contains(&b) {
                seen.push(b);
                stack.push(b);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_compatible_exclusive_not() {
        let lm = LockManager::default();
        let a = Resource::Table("a".into());
        lm.lock(TxnId(1), &a, Mode::Shared).unwrap();
        lm.lock(TxnId(2), &a, Mode::Shared).unwrap();
        lm.lock(TxnId(1), &a, Mode::Shared).unwrap();
        lm.release_all(TxnId(2), std::slice::from_ref(&a));
        lm.lock(TxnId(1), &a, Mode::Exclusive).unwrap();
        lm.release_all(TxnId(1), &[a]);
    }

    #[test]
    fn cycle_is_refused() {
        let lm = LockManager::default();
        let (a, b) = (Resource::Table("a".into()), Resource::Table("b".into()));
        lm.lock(TxnId(1), &a, Mode::Exclusive).unwrap();
        lm.lock(TxnId(2), &b, Mode::Exclusive).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| lm.lock(TxnId(1), &b, Mode::Exclusive));
            // Wait until txn 1 is recorded as waiting.
            while !lm.tables.lock().waiting.contains_key(&1) {
                std::thread::yield_now();
            }
            assert_eq!(lm.lock(TxnId(2), &a, Mode::Exclusive), Err(WouldDeadlock));
            lm.release_all(TxnId(2), std::slice::from_ref(&b));
            assert_eq!(waiter.join().unwrap(), Ok(()));
        });
    }
}
