//! Basic behaviour: create, open, change, reopen, errors.

mod common;

use common::*;
use engine::{Database, Error};

#[test]
fn create_insert_reopen() {
    let (_sim, storage, db) = sim_db();
    create_standard(&storage, &db);
    let d = Database::open(storage.clone(), &db, opts()).unwrap();
    let mut t = d.begin().unwrap();
    for i in 0..300 {
        t.insert("a", &format!("k{i:04}"), format!("value {i}").as_bytes())
            .unwrap();
    }
    t.insert("b", "x", b"y").unwrap();
    t.commit().unwrap();
    let mut t = d.begin().unwrap();
    t.update("a", "k0001", b"changed").unwrap();
    t.delete("a", "k0002").unwrap();
    assert!(matches!(
        t.insert("a", "k0003", b"dup"),
        Err(Error::DuplicateKey { .. })
    ));
    t.commit().unwrap();
    let mut t = d.begin().unwrap();
    t.update("a", "k0004", b"rolled back").unwrap();
    t.rollback().unwrap();
    d.check().unwrap();
    d.close().unwrap();
    let dump = reopen_and_dump(&storage, &db);
    assert_eq!(dump.len(), 300);
    assert_eq!(dump[&("a".into(), "k0001".into())], b"changed");
    assert_eq!(dump[&("a".into(), "k0004".into())], b"value 4");
    assert!(!dump.contains_key(&("a".into(), "k0002".into())));
    assert_eq!(dump[&("b".into(), "x".into())], b"y");
}
