//! Edge cases: put modes, size limits, equal-prefix keys, ascending and descending loads,
//! delete everything then reinsert, scans, small page writes, allocation failure.

mod common;

use btree::{BTree, Error, PageStore, PutMode, PutOutcome};
use common::{CountingStore, MemError, MemStore, scan_all};

const BODY_LENS: [usize; 4] = [1000, 2024, 4072, 8168];

fn key(i: u32) -> Vec<u8> {
    format!("key-{i:08}").into_bytes()
}

#[test]
fn put_modes_and_outcomes() {
    let (mut s, root) = MemStore::with_tree(1000);
    let put = |s: &mut MemStore, k: &[u8], v: &[u8], m| BTree::put(s, root, k, v, m).unwrap();
    assert_eq!(
        put(&mut s, b"a", b"1", PutMode::Update),
        PutOutcome::NotFound
    );
    assert_eq!(BTree::get(&mut s, root, b"a").unwrap(), None);
    assert_eq!(
        put(&mut s, b"a", b"1", PutMode::Insert),
        PutOutcome::Inserted
    );
    assert_eq!(
        put(&mut s, b"a", b"2", PutMode::Insert),
        PutOutcome::KeyExists
    );
    assert_eq!(BTree::get(&mut s, root, b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(
        put(&mut s, b"a", b"22", PutMode::Update),
        PutOutcome::Replaced(b"1".to_vec())
    );
    assert_eq!(
        put(&mut s, b"a", b"", PutMode::Upsert),
        PutOutcome::Replaced(b"22".to_vec())
    );
    assert_eq!(
        put(&mut s, b"b", b"3", PutMode::Upsert),
        PutOutcome::Inserted
    );
    assert_eq!(
        put(&mut s, b"", b"empty key", PutMode::Insert),
        PutOutcome::Inserted
    );
    assert_eq!(
        scan_all(&mut s, root),
        vec![
            (b"".to_vec(), b"empty key".to_vec()),
            (b"a".to_vec(), b"".to_vec()),
            (b"b".to_vec(), b"3".to_vec())
        ]
    );
    assert_eq!(
        BTree::delete(&mut s, root, b"a").unwrap(),
        Some(b"".to_vec())
    );
    assert_eq!(BTree::delete(&mut s, root, b"a").unwrap(), None);
    assert_eq!(BTree::check(&mut s, root).unwrap().entries, 2);
}

#[test]
fn limits_are_enforced_and_max_records_fit() {
    for body_len in BODY_LENS {
        let (mut s, root) = MemStore::with_tree(body_len);
        let max_key = BTree::max_key_len(body_len);
        let max_rec = BTree::max_record_len(body_len);
        assert!(max_key >= 200 && max_rec >= 2 * max_key - 100, "{body_len}");
        let long = vec![b'k'; max_key + 1];
        assert_eq!(
            BTree::put(&mut s, root, &long, b"", PutMode::Upsert),
            Err(Error::KeyTooLong {
                len: max_key + 1,
                max: max_key
            })
        );
        let big = vec![b'v'; max_rec];
        assert!(matches!(
            BTree::put(&mut s, root, b"k", &big, PutMode::Upsert),
            Err(Error::RecordTooLarge { .. })
        ));
        assert_eq!(BTree::get(&mut s, root, &long).unwrap(), None);
        // Many maximum-size records with maximum-size keys: every split must succeed.
        for i in 0..60u32 {
            let mut k = vec![b'p'; max_key];
            k[max_key - 4..].copy_from_slice(&(i.wrapping_mul(2_654_435_761)).to_be_bytes());
            let v = vec![i as u8; max_rec - max_key];
            assert_eq!(
                BTree::put(&mut s, root, &k, &v, PutMode::Insert).unwrap(),
                PutOutcome::Inserted
            );
            assert_eq!(BTree::get(&mut s, root, &k).unwrap(), Some(v));
        }
        let stats = BTree::check(&mut s, root).unwrap();
        assert_eq!(stats.entries, 60);
        assert!(stats.levels >= 3, "{body_len}: {stats:?}");
        assert_eq!(stats.key_bytes, 60 * max_key as u64);
        assert_eq!(
            BTree::pages(&mut s, root).unwrap().len() as u64,
            stats.total_pages()
        );
    }
}

#[test]
fn growing_and_shrinking_values_in_place_and_by_split() {
    for body_len in [1000, 8168] {
        let (mut s, root) = MemStore::with_tree(body_len);
        let max_rec = BTree::max_record_len(body_len);
        let mut model = std::collections::BTreeMap::new();
        for round in 0..6usize {
            for i in 0..80u32 {
                let k = key(i);
                let len = (i as usize * 37 + round * 101) % (max_rec - k.len());
                let v = vec![(round as u8) ^ (i as u8); len];
                BTree::put(&mut s, root, &k, &v, PutMode::Upsert).unwrap();
                model.insert(k, v);
            }
            BTree::check(&mut s, root).unwrap();
            assert_eq!(
                scan_all(&mut s, root),
                model.clone().into_iter().collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn equal_prefix_keys() {
    for body_len in [1000, 8168] {
        let (mut s, root) = MemStore::with_tree(body_len);
        let prefix = vec![b'x'; BTree::max_key_len(body_len) - 8];
        let mut keys = Vec::new();
        for i in 0..600u32 {
            let mut k = prefix.clone();
            k.extend_from_slice(format!("{:x}", i * 7919 % 600).as_bytes());
            keys.push(k);
        }
        for k in &keys {
            BTree::put(&mut s, root, k, k, PutMode::Insert).unwrap();
        }
        let stats = BTree::check(&mut s, root).unwrap();
        assert_eq!(stats.entries, 600);
        keys.sort();
        let got: Vec<Vec<u8>> = scan_all(&mut s, root).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, keys);
        // Prefixes of stored keys sort before them; keys that differ only in length work.
        BTree::put(&mut s, root, &prefix, b"p", PutMode::Insert).unwrap();
        assert_eq!(
            BTree::get(&mut s, root, &prefix).unwrap(),
            Some(b"p".to_vec())
        );
        BTree::check(&mut s, root).unwrap();
    }
}

fn load(body_len: usize, order: impl Iterator<Item = u32>) -> (MemStore, u32) {
    let (mut s, root) = MemStore::with_tree(body_len);
    for i in order {
        BTree::put(&mut s, root, &key(i), &i.to_le_bytes(), PutMode::Insert).unwrap();
    }
    (s, root)
}

#[test]
fn ascending_and_descending_10k() {
    for body_len in [1000, 8168] {
        for descending in [false, true] {
            let (mut s, root) = if descending {
                load(body_len, (0..10_000).rev())
            } else {
                load(body_len, 0..10_000)
            };
            let stats = BTree::check(&mut s, root).unwrap();
            assert_eq!(stats.entries, 10_000);
            // Edge-aware splits keep sequential loads dense: at least 80% of leaf space used.
            let leaf_space = stats.leaf_pages * (body_len as u64 - 16);
            let used = stats.key_bytes + stats.value_bytes + stats.entries * 6;
            assert!(
                used * 10 >= leaf_space * 8,
                "{body_len} {descending}: {stats:?}"
            );
            let all = scan_all(&mut s, root);
            assert_eq!(all.len(), 10_000);
            assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
            for i in (0..10_000).step_by(997) {
                assert_eq!(
                    BTree::get(&mut s, root, &key(i)).unwrap(),
                    Some(i.to_le_bytes().to_vec())
                );
            }
        }
    }
}

#[test]
fn delete_everything_then_reinsert() {
    let (mut s, root) = load(1000, (0..3000).map(|i| i * 7 % 3000));
    let pages_before = BTree::pages(&mut s, root).unwrap();
    for i in 0..3000 {
        assert_eq!(
            BTree::delete(&mut s, root, &key(i)).unwrap(),
            Some(i.to_le_bytes().to_vec())
        );
    }
    let stats = BTree::check(&mut s, root).unwrap();
    assert_eq!(stats.entries, 0);
    assert_eq!(stats.empty_leaves, stats.leaf_pages);
    assert!(scan_all(&mut s, root).is_empty());
    assert_eq!(BTree::pages(&mut s, root).unwrap(), pages_before);
    for i in (0..3000).rev() {
        BTree::put(&mut s, root, &key(i), b"again", PutMode::Insert).unwrap();
    }
    assert_eq!(BTree::check(&mut s, root).unwrap().entries, 3000);
    assert_eq!(scan_all(&mut s, root).len(), 3000);
}

#[test]
fn scan_from_a_start_key_and_stop_early() {
    let (mut s, root) = load(1000, 0..2000);
    // Empty some leaves in the middle: scans must step over them.
    for i in 500..1500 {
        BTree::delete(&mut s, root, &key(i)).unwrap();
    }
    let mut got = Vec::new();
    BTree::scan(&mut s, root, &key(400), |k, _| {
        got.push(k.to_vec());
        got.len() < 150
    })
    .unwrap();
    let want: Vec<Vec<u8>> = (400..500).chain(1500..1550).map(key).collect();
    assert_eq!(got, want);
    let mut after_last = 0;
    BTree::scan(&mut s, root, b"zzz", |_, _| {
        after_last += 1;
        true
    })
    .unwrap();
    assert_eq!(after_last, 0);
}

#[test]
fn root_never_moves_and_pages_are_listed_once() {
    let (mut s, root) = load(1000, (0..5000).map(|i| i * 13 % 5000));
    let stats = BTree::check(&mut s, root).unwrap();
    let pages = BTree::pages(&mut s, root).unwrap();
    assert_eq!(pages[0], root);
    assert_eq!(pages.len() as u64, stats.total_pages());
    assert_eq!(pages.len(), s.in_use());
    let mut sorted = pages.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), pages.len());
}

#[test]
fn writes_touch_few_bytes() {
    let (mem, root) = MemStore::with_tree(8168);
    let mut s = CountingStore::new(mem);
    for i in 0..2000u32 {
        BTree::put(
            &mut s,
            root,
            &key(i * 7 % 2000),
            b"value-bytes",
            PutMode::Insert,
        )
        .unwrap();
    }
    // A non-split insert writes the cell, the shifted slots after it and the header: never the
    // other cells.
    let cell = 4 + 13 + 1;
    let slots_bound = 2 * ((8168 - 16) / (2 + cell) + 1);
    s.changed.clear();
    BTree::put(&mut s, root, b"key-00000500x", b"v", PutMode::Insert).unwrap();
    assert_eq!(s.changed.len(), 1);
    assert!(s.changed[0] <= cell + slots_bound + 16, "{:?}", s.changed);
    // A same-size update changes only differing value bytes.
    s.changed.clear();
    BTree::put(&mut s, root, &key(42), b"value-bytez", PutMode::Update).unwrap();
    assert_eq!(s.changed, vec![1]);
    // A delete shifts slots and changes the header, never the cell bytes.
    s.changed.clear();
    BTree::delete(&mut s, root, &key(43)).unwrap();
    assert_eq!(s.changed.len(), 1);
    assert!(s.changed[0] <= slots_bound + 16, "{:?}", s.changed);
    // A missing key writes nothing.
    s.changed.clear();
    BTree::delete(&mut s, root, b"nope").unwrap();
    assert!(s.changed.iter().all(|&c| c == 0));
}

#[test]
fn failed_allocation_changes_nothing() {
    for body_len in [1000, 8168] {
        let (mut s, root) = MemStore::with_tree(body_len);
        let mut i = 0u32;
        s.max_pages = Some(40);
        let err = loop {
            let v = vec![7u8; 100];
            match BTree::put(
                &mut s,
                root,
                &key(i.wrapping_mul(2_654_435_761)),
                &v,
                PutMode::Insert,
            ) {
                Ok(_) => i += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Error::Store(MemError::Full));
        assert_eq!(err.msg_number(), 0);
        let before = scan_all(&mut s, root);
        assert_eq!(before.len(), i as usize);
        assert_eq!(BTree::check(&mut s, root).unwrap().entries, i as u64);
        assert_eq!(BTree::pages(&mut s, root).unwrap().len(), s.in_use());
        s.max_pages = None;
        BTree::put(&mut s, root, b"after", b"x", PutMode::Insert).unwrap();
        BTree::check(&mut s, root).unwrap();
    }
}

#[test]
fn small_and_unsupported_body_lengths() {
    let (mut s, root) = load(256, 0..3000);
    let stats = BTree::check(&mut s, root).unwrap();
    assert!(stats.levels >= 4, "{stats:?}");
    let mut bad = MemStore::new(100);
    let page = bad.allocate().unwrap();
    let err = BTree::create(&mut bad, page).unwrap_err();
    assert_eq!(err.msg_number(), 90404);
    assert_eq!(BTree::max_record_len(100), 0);
}

#[test]
fn messages_cover_every_number() {
    let numbers: Vec<u32> = btree::MESSAGES.iter().map(|m| m.0).collect();
    let errors: Vec<Error<MemError>> = vec![
        Error::KeyTooLong { len: 1, max: 0 },
        Error::RecordTooLarge { len: 1, max: 0 },
        Error::Corrupt {
            page: 3,
            reason: "x".into(),
        },
        Error::BadBodyLength {
            len_bytes: 1,
            min_bytes: 2,
            max_bytes: 3,
        },
    ];
    for e in &errors {
        assert!(numbers.contains(&e.msg_number()), "{e}");
        assert!((90400..90500).contains(&e.msg_number()));
        assert!(!e.to_string().contains(&e.msg_number().to_string()));
    }
    assert_eq!(numbers.len(), errors.len());
    assert_eq!(Error::Store(MemError::Full).to_string(), "no page left");
}

#[test]
fn sequential_splits_write_little_to_the_old_page() {
    let (mem, root) = MemStore::with_tree(2024);
    let mut s = CountingStore::new(mem);
    let mut splits = 0;
    for i in 0..3000u32 {
        let root_is_leaf = BTree::pages(&mut s, root).unwrap().len() == 1;
        s.changed.clear();
        BTree::put(&mut s, root, &key(i), &[5; 20], PutMode::Insert).unwrap();
        if root_is_leaf {
            continue;
        }
        // A non-root leaf split writes: the leaf (nothing, it did not fit), the new right
        // page, the old leaf (only its sibling link) and the parent.
        if s.changed.len() == 4 {
            splits += 1;
            assert_eq!(s.changed[0], 0);
            assert!(s.changed[2] <= 4, "{:?}", s.changed);
            assert!(s.changed[3] < 60, "{:?}", s.changed);
        }
    }
    assert!(splits > 20);
    BTree::check(&mut s, root).unwrap();
}
