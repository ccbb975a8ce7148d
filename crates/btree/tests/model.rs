//! Model-based property test: random put (every mode), delete, get and scan sequences against a
//! `BTreeMap`, with a full `check` and scan comparison after each batch.

mod common;

use std::collections::BTreeMap;

use btree::{BTree, PutMode, PutOutcome};
use common::{MemStore, scan_all};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, usize, u8, PutMode),
    Delete(Vec<u8>),
    Get(Vec<u8>),
    Scan(Vec<u8>, usize),
}

fn key_strategy(max_key: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0u32..300).prop_map(|i| format!("k{i}").into_bytes()),
        2 => (0u32..40, 0usize..max_key - 8)
            .prop_map(|(i, pad)| { let mut k = vec![b'p'; pad]; k.extend(i.to_be_bytes()); k }),
        1 => prop::collection::vec(0u8..3, 0..12),
    ]
}

fn op_strategy(max_key: usize, max_value: usize) -> impl Strategy<Value = Op> {
    let mode = prop_oneof![
        Just(PutMode::Insert),
        Just(PutMode::Update),
        Just(PutMode::Upsert)
    ];
    prop_oneof![
        6 => (key_strategy(max_key), 0..=max_value, any::<u8>(), mode)
            .prop_map(|(k, len, b, m)| Op::Put(k, len, b, m)),
        2 => key_strategy(max_key).prop_map(Op::Delete),
        1 => key_strategy(max_key).prop_map(Op::Get),
        1 => (key_strategy(max_key), 0usize..40).prop_map(|(k, n)| Op::Scan(k, n)),
    ]
}

fn run(body_len: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let (mut store, root) = MemStore::with_tree(body_len);
    let max_record = BTree::max_record_len(body_len);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for batch in ops.chunks(40) {
        for op in batch {
            match op {
                Op::Put(k, len, byte, mode) => {
                    let len = (*len).min(max_record - k.len());
                    let v: Vec<u8> = (0..len).map(|i| byte.wrapping_add(i as u8)).collect();
                    let got = BTree::put(&mut store, root, k, &v, *mode).unwrap();
                    let want = match (model.get(k).cloned(), mode) {
                        (Some(_), PutMode::Insert) => PutOutcome::KeyExists,
                        (None, PutMode::Update) => PutOutcome::NotFound,
                        (Some(old), _) => PutOutcome::Replaced(old),
                        (None, _) => PutOutcome::Inserted,
                    };
                    if matches!(want, PutOutcome::Inserted | PutOutcome::Replaced(_)) {
                        model.insert(k.clone(), v);
                    }
                    prop_assert_eq!(got, want);
                }
                Op::Delete(k) => {
                    prop_assert_eq!(BTree::delete(&mut store, root, k).unwrap(), model.remove(k));
                }
                Op::Get(k) => {
                    prop_assert_eq!(
                        BTree::get(&mut store, root, k).unwrap(),
                        model.get(k).cloned()
                    );
                }
                Op::Scan(start, limit) => {
                    let mut got = Vec::new();
                    BTree::scan(&mut store, root, start, |k, v| {
                        if got.len() == *limit {
                            return false;
                        }
                        got.push((k.to_vec(), v.to_vec()));
                        true
                    })
                    .unwrap();
                    let want: Vec<_> = model
                        .range(start.clone()..)
                        .take(*limit)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    prop_assert_eq!(got, want);
                }
            }
        }
        let stats = BTree::check(&mut store, root).unwrap();
        prop_assert_eq!(stats.entries, model.len() as u64);
        let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(scan_all(&mut store, root), want);
        prop_assert_eq!(
            BTree::pages(&mut store, root).unwrap().len(),
            store.in_use()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matches_model_1k(ops in prop::collection::vec(op_strategy(BTree::max_key_len(1000), 480), 1..300)) {
        run(1000, &ops)?;
    }

    #[test]
    fn matches_model_8k(ops in prop::collection::vec(op_strategy(BTree::max_key_len(8168), 2500), 1..300)) {
        run(8168, &ops)?;
    }

    #[test]
    fn matches_model_smallest(ops in prop::collection::vec(op_strategy(BTree::max_key_len(256), 100), 1..300)) {
        run(256, &ops)?;
    }
}
