//! Concurrent transactions: transfers keep their sum, notes of different transactions
//! interleave in the BI, and a lock cycle is broken with `Deadlock`.

mod common;

use std::path::Path;
use std::sync::Barrier;

use aiextent::{FrameOutcome, NoteKind, decode_frame};
use common::*;
use engine::{Database, Error};
use storage::SimStorage;

const ACCOUNTS: usize = 20;

fn balance(v: &[u8]) -> i64 {
    std::str::from_utf8(v).unwrap().parse().unwrap()
}

fn transfer(d: &Database, from: usize, to: usize, amount: i64) -> Result<(), Error> {
    let mut t = d.begin()?;
    let k1 = format!("acct{from:02}");
    let k2 = format!("acct{to:02}");
    let b1 = balance(&t.get_for_update("a", &k1)?.unwrap());
    let b2 = balance(&t.get_for_update("a", &k2)?.unwrap());
    t.update("a", &k1, (b1 - amount).to_string().as_bytes())?;
    t.update("a", &k2, (b2 + amount).to_string().as_bytes())?;
    t.commit()
}

/// The transaction ids of the BI's block-change notes, in order.
fn bi_txns(sim: &SimStorage) -> Vec<u64> {
    let bytes = storage::read_all(sim, Path::new("/db/t.b1")).unwrap();
    let gens: Vec<u64> = [0usize, 512]
        .iter()
        .map(|&o| u64::from_le_bytes(bytes[o + 64..o + 72].try_into().unwrap()))
        .collect();
    let notes = &bytes[4096..];
    for generation in gens {
        let mut at = 0;
        let mut txns = Vec::new();
        while let FrameOutcome::Note { note, frame_len } = decode_frame(&notes[at..], generation) {
            if note.header.kind == NoteKind::BlockChange && note.header.txn.0 != 0 {
                txns.push(note.header.txn.0);
            }
            at += frame_len;
        }
        if !txns.is_empty() {
            return txns;
        }
    }
    Vec::new()
}

#[test]
fn transfers_keep_the_sum_and_notes_interleave() {
    let (sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..ACCOUNTS {
        t.insert("a", &format!("acct{i:02}"), b"1000").unwrap();
    }
    t.commit().unwrap();
    d.checkpoint().unwrap();
    // A guaranteed interleaving: a's first change, then b's, then a's second.
    let (first, second) = (Barrier::new(2), Barrier::new(2));
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut t = d.begin().unwrap();
            t.update("a", "acct00", b"1000").unwrap();
            t.update("a", "acct00", b"999").unwrap();
            first.wait();
            second.wait();
            t.update("a", "acct00", b"1000").unwrap();
            t.commit().unwrap();
        });
        s.spawn(|| {
            first.wait();
            let mut t = d.begin().unwrap();
            t.insert("b", "interleaved", b"x").unwrap();
            second.wait();
            t.commit().unwrap();
        });
    });
    std::thread::scope(|s| {
        for w in 0..4 {
            let d = &d;
            s.spawn(move || {
                for n in 0..40 {
                    let from = (w * 7 + n * 3) % ACCOUNTS;
                    let to = (from + 1 + n % 5) % ACCOUNTS;
                    loop {
                        match transfer(d, from, to, (n % 17) as i64 + 1) {
                            Ok(()) => break,
                            Err(Error::Deadlock { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            });
        }
        for w in 0..2 {
            let d = &d;
            s.spawn(move || {
                for n in 0..30 {
                    let mut t = d.begin().unwrap();
                    for i in 0..4 {
                        t.insert("b", &format!("w{w}-{n}-{i}"), &[b'q'; 30])
                            .unwrap();
                    }
                    t.commit().unwrap();
                }
            });
        }
    });
    let txns = bi_txns(&sim);
    let interleaved = txns.windows(3).any(|w| w[0] == w[2] && w[0] != w[1]);
    assert!(
        interleaved,
        "notes of concurrent transactions interleave in the BI"
    );
    let stats = d.stats();
    assert!(stats.commits >= 4 * 40 + 2 * 30);
    let check = |d: &Database| {
        let dump = dump(d);
        let sum: i64 = only(&dump, "a").values().map(|v| balance(v)).sum();
        assert_eq!(sum, 1000 * ACCOUNTS as i64);
        assert_eq!(only(&dump, "b").len(), 2 * 30 * 4 + 1);
    };
    check(&d);
    d.check().unwrap();
    d.close().unwrap();
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    check(&d);
    d.close().unwrap();
}

#[test]
fn opposite_lock_order_deadlocks_one() {
    let (_sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let barrier = Barrier::new(2);
    let (r1, r2) = std::thread::scope(|s| {
        let one = s.spawn(|| {
            let mut t = d.begin().unwrap();
            t.insert("a", "from-1", b"1").unwrap();
            barrier.wait();
            let r = t.insert("b", "from-1", b"1");
            match r {
                Ok(()) => t.commit(),
                Err(e) => Err(e),
            }
        });
        let two = s.spawn(|| {
            let mut t = d.begin().unwrap();
            t.insert("b", "from-2", b"2").unwrap();
            barrier.wait();
            // Give the other transaction time to wait for table b.
            std::thread::sleep(std::time::Duration::from_millis(50));
            let r = t.insert("a", "from-2", b"2");
            match r {
                Ok(()) => t.commit(),
                Err(e) => Err(e),
            }
        });
        (one.join().unwrap(), two.join().unwrap())
    });
    let deadlocks = [&r1, &r2]
        .iter()
        .filter(|r| matches!(r, Err(Error::Deadlock { .. })))
        .count();
    assert_eq!(deadlocks, 1, "{r1:?} {r2:?}");
    assert!(r1.is_ok() || r2.is_ok());
    let e = r1.as_ref().err().or(r2.as_ref().err()).unwrap();
    assert_eq!(e.msg_number(), 90512);
    let dump = dump(&d);
    assert_eq!(dump.len(), 2, "only the winner's two rows: {dump:?}");
    d.close().unwrap();
}
