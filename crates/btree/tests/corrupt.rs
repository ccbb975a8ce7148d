//! Corrupt pages: random bytes written into a page of a valid tree must give `Corrupt`, a store
//! error or a plausible result from every operation, never a panic or a hang.

mod common;

use std::sync::OnceLock;

use btree::{BTree, Error, PageId, PutMode};
use common::{MemError, MemStore};
use proptest::prelude::*;

fn key(i: u32) -> Vec<u8> {
    format!("key-{i:06}").into_bytes()
}

/// A three-level tree of 1500 entries in 1000-byte pages, built once.
fn base() -> &'static (MemStore, PageId) {
    static BASE: OnceLock<(MemStore, PageId)> = OnceLock::new();
    BASE.get_or_init(|| {
        let (mut s, root) = MemStore::with_tree(1000);
        for i in 0..1500u32 {
            let i = i * 7 % 1500;
            let v = vec![i as u8; (i % 50) as usize];
            BTree::put(&mut s, root, &key(i), &v, PutMode::Insert).unwrap();
        }
        assert!(BTree::check(&mut s, root).unwrap().levels >= 3);
        (s, root)
    })
}

/// An error a corrupt tree may give.
fn acceptable<T>(r: Result<T, Error<MemError>>) -> Result<Option<T>, TestCaseError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Corrupt { .. }) | Err(Error::Store(MemError::NoSuchPage(_))) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error {e:?}"))),
    }
}

#[derive(Debug, Clone)]
enum Damage {
    /// Bytes at offsets (taken modulo the body length).
    Bytes(Vec<(usize, u8)>),
    /// The whole body.
    Whole(Vec<u8>),
}

fn damage_strategy() -> impl Strategy<Value = Damage> {
    prop_oneof![
        3 => prop::collection::vec((0usize..16, any::<u8>()), 1..4).prop_map(Damage::Bytes),
        3 => prop::collection::vec((0usize..1000, any::<u8>()), 1..8).prop_map(Damage::Bytes),
        1 => prop::collection::vec(any::<u8>(), 1000).prop_map(Damage::Whole),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn corrupt_pages_never_panic(page_pick in any::<prop::sample::Index>(), damage in damage_strategy(), probe in 0u32..1500) {
        let (base, root) = base();
        let (mut s, root) = (base.clone(), *root);
        let pages = BTree::pages(&mut s, root).unwrap();
        let page = pages[page_pick.index(pages.len())];
        match &damage {
            Damage::Bytes(bytes) => {
                for &(off, b) in bytes {
                    s.page_mut(page)[off % 1000] = b;
                }
            }
            Damage::Whole(body) => s.page_mut(page).copy_from_slice(body),
        }
        let checked = acceptable(BTree::check(&mut s, root))?;
        acceptable(BTree::pages(&mut s, root))?;
        if let Some(v) = acceptable(BTree::get(&mut s, root, &key(probe)))?.flatten() {
            // A value read back is the stored one unless the damage hit its bytes.
            prop_assert!(v.len() <= BTree::max_record_len(1000));
        }
        let mut n = 0u32;
        acceptable(BTree::scan(&mut s, root, &[], |_, _| { n += 1; true }))?;
        prop_assert!(n <= 1500 * 2);
        acceptable(BTree::put(&mut s, root, &key(probe), &[1; 300], PutMode::Upsert))?;
        acceptable(BTree::put(&mut s, root, b"key-0007555", &[2; 400], PutMode::Insert))?;
        acceptable(BTree::delete(&mut s, root, &key(probe ^ 1)))?;
        for i in 0..60 {
            acceptable(BTree::put(&mut s, root, &key(probe / 2 + i * 11), &[3; 200], PutMode::Upsert))?;
        }
        acceptable(BTree::check(&mut s, root))?;
        // Damage that check accepted was confined to record contents: the structure still works.
        if checked.is_some() {
            prop_assert!(BTree::check(&mut s, root).is_ok());
        }
    }
}

#[test]
fn unformatted_and_free_pages_are_corrupt() {
    let (base, root) = base();
    for marker in [0u8, 0xFF, 7] {
        let (mut s, root) = (base.clone(), *root);
        let pages = BTree::pages(&mut s, root).unwrap();
        let leaf = *pages.last().unwrap();
        s.page_mut(leaf)[0] = marker;
        let err = BTree::check(&mut s, root).unwrap_err();
        assert!(
            matches!(err, Error::Corrupt { page, .. } if page == leaf),
            "{err:?}"
        );
        assert_eq!(err.msg_number(), 90403);
        assert!(err.to_string().contains(&format!("page {leaf}")));
    }
    let (mut s, root) = (base.clone(), *root);
    s.page_mut(root)[0] = 0;
    assert!(matches!(
        BTree::get(&mut s, root, b"x"),
        Err(Error::Corrupt { .. })
    ));
}

fn leaves(s: &mut MemStore, root: PageId) -> Vec<PageId> {
    let pages = BTree::pages(s, root).unwrap();
    pages
        .into_iter()
        .filter(|&p| s.page_mut(p)[0] == 2)
        .collect()
}

#[test]
fn looping_sibling_chain_is_found() {
    let (base, root) = base();
    // A loop through leaves holding keys: keys stop increasing.
    let (mut s, root) = (base.clone(), *root);
    let chain = leaves(&mut s, root);
    let first = chain[0];
    s.page_mut(*chain.last().unwrap())[8..12].copy_from_slice(&first.to_le_bytes());
    assert!(matches!(
        BTree::scan(&mut s, root, &[], |_, _| true),
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        BTree::check(&mut s, root),
        Err(Error::Corrupt { .. })
    ));
    // A loop through empty leaves only.
    for i in 0..1500 {
        BTree::delete(&mut s, root, &key(i)).unwrap();
    }
    let mut visited = 0u64;
    let r = BTree::scan(&mut s, root, &[], |_, _| {
        visited += 1;
        true
    });
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");
    assert_eq!(visited, 0);
}
