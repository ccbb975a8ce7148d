//! A B+tree mapping byte-string keys to byte-string values, stored in fixed-size pages of a
//! [`PageStore`]; one tree per table. The tree is stateless: every call names the store and the
//! root page, which never moves. Pages are changed only through [`PageStore::write`], touching
//! only the bytes a change needs; every node read is validated before its fields are used.
//!
//! ```
//! # use btree::{BTree, PageId, PageStore, PutMode, PutOutcome};
//! # struct Mem(Vec<Vec<u8>>);
//! # impl PageStore for Mem {
//! #     type Error = std::convert::Infallible;
//! #     fn body_len(&self) -> usize { 1000 }
//! #     fn read<R>(&mut self, p: PageId, f: impl FnOnce(&[u8]) -> R) -> Result<R, Self::Error> { Ok(f(&self.0[p as usize])) }
//! #     fn write<R>(&mut self, p: PageId, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, Self::Error> { Ok(f(&mut self.0[p as usize])) }
//! #     fn allocate(&mut self) -> Result<PageId, Self::Error> { self.0.push(vec![0; 1000]); Ok((self.0.len() - 1) as PageId) }
//! #     fn free(&mut self, _: PageId) -> Result<(), Self::Error> { Ok(()) }
//! # }
//! let mut store = Mem(vec![vec![0; 1000]]); // page 0 is never a tree page
//! let root = store.allocate().unwrap();
//! BTree::create(&mut store, root).unwrap();
//! let outcome = BTree::put(&mut store, root, b"cust-1", b"Lift Tours", PutMode::Insert).unwrap();
//! assert_eq!(outcome, PutOutcome::Inserted);
//! assert_eq!(BTree::get(&mut store, root, b"cust-1").unwrap(), Some(b"Lift Tours".to_vec()));
//! ```

mod access;
mod check;
mod error;
mod node;
mod put;

pub use check::TreeStats;
pub use error::{Error, MESSAGES};
pub use node::{MAX_BODY_LEN, MIN_BODY_LEN, NO_PAGE};

use access::{descend, read_node, validate_body_len, write_node};
use node::{Kind, edit};

/// Number of a page in the store (the engine's block number within the table's area).
pub type PageId = u32;

/// Where a tree's pages live. The engine implements it over its buffer pool and logs each
/// [`PageStore::write`] as the difference between the page before and after the closure.
pub trait PageStore {
    /// The store's own error, passed through as [`Error::Store`].
    type Error;
    /// Usable bytes of a page body (block size minus the engine's 32-byte block header): 992,
    /// 2016, 4064 or 8160.
    fn body_len(&self) -> usize;
    /// Calls `f` with the body of `page`.
    fn read<R>(&mut self, page: PageId, f: impl FnOnce(&[u8]) -> R) -> Result<R, Self::Error>;
    /// Calls `f` with the body of `page` to change it.
    fn write<R>(&mut self, page: PageId, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, Self::Error>;
    /// A new page for this tree; its body is all zeros. Never page 0 ([`NO_PAGE`]).
    fn allocate(&mut self) -> Result<PageId, Self::Error>;
    /// Gives back a page the tree no longer uses.
    fn free(&mut self, page: PageId) -> Result<(), Self::Error>;
}

/// How [`BTree::put`] treats an existing or missing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Add the key; an existing key is left alone ([`PutOutcome::KeyExists`]).
    Insert,
    /// Replace the value of an existing key; a missing key is [`PutOutcome::NotFound`].
    Update,
    /// Add the key or replace its value.
    Upsert,
}

/// What [`BTree::put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The key was added.
    Inserted,
    /// The key's value was replaced; this is the old value.
    Replaced(Vec<u8>),
    /// `Insert` of a key already present: nothing changed.
    KeyExists,
    /// `Update` of a missing key: nothing changed.
    NotFound,
}

/// The B+tree operations. Stateless: every call takes the store and the root page.
///
/// A [`Error::Store`] returned while a `put` or `delete` was writing pages can leave the tree
/// half changed; the caller undoes the transaction's page changes (the engine's physical undo
/// does). A page allocation that fails is reported before any page is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct BTree;

impl BTree {
    /// Formats `root` (a zeroed page the caller allocated) as an empty tree: one empty leaf.
    pub fn create<S: PageStore>(store: &mut S, root: PageId) -> Result<(), Error<S::Error>> {
        validate_body_len(store)?;
        if root == NO_PAGE {
            return Err(Error::corrupt(root, "page 0 cannot be a tree root"));
        }
        store
            .write(root, |buf| edit::format(buf, Kind::Leaf, 0, NO_PAGE))
            .map_err(Error::Store)
    }

    /// The value of `key`, if present.
    pub fn get<S: PageStore>(
        store: &mut S,
        root: PageId,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, Error<S::Error>> {
        validate_body_len(store)?;
        let (_, leaf) = descend(store, root, key)?;
        read_node(store, leaf, Some(0), |node| {
            Ok(node.search(key).ok().map(|i| node.value(i).to_vec()))
        })
    }

    /// Adds or replaces `key` according to `mode`.
    pub fn put<S: PageStore>(
        store: &mut S,
        root: PageId,
        key: &[u8],
        value: &[u8],
        mode: PutMode,
    ) -> Result<PutOutcome, Error<S::Error>> {
        put::put(store, root, key, value, mode)
    }

    /// Removes `key`, returning its value. Nodes may be left underfull or empty (never merged).
    pub fn delete<S: PageStore>(
        store: &mut S,
        root: PageId,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, Error<S::Error>> {
        validate_body_len(store)?;
        let (_, leaf) = descend(store, root, key)?;
        write_node(
            store,
            leaf,
            Some(0),
            |node| Ok(node.search(key).ok().map(|i| (i, node.value(i).to_vec()))),
            |found, buf| {
                Ok(found.map(|(i, old)| {
                    edit::remove_cell(buf, Kind::Leaf, i);
                    old
                }))
            },
        )
    }

    /// Visits entries in key order from `start` (inclusive; empty = from the first); stops when
    /// `f` returns false.
    pub fn scan<S: PageStore>(
        store: &mut S,
        root: PageId,
        start: &[u8],
        f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), Error<S::Error>> {
        validate_body_len(store)?;
        access::scan(store, root, start, f)
    }

    /// Largest key plus value a tree with this body length accepts: half a node's cell space,
    /// so any two records fit a leaf and a split always succeeds. 0 for unsupported lengths.
    pub fn max_record_len(body_len: usize) -> usize {
        if (MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len) {
            node::max_record_len(body_len)
        } else {
            0
        }
    }

    /// Longest key a tree with this body length accepts: a quarter of a node's cell space, so
    /// an internal node holds at least four separators. 0 for unsupported lengths.
    pub fn max_key_len(body_len: usize) -> usize {
        if (MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len) {
            node::max_key_len(body_len)
        } else {
            0
        }
    }

    /// Full structural check (node layout, key order, separators, levels, sibling links,
    /// counts); returns statistics.
    pub fn check<S: PageStore>(store: &mut S, root: PageId) -> Result<TreeStats, Error<S::Error>> {
        validate_body_len(store)?;
        check::check(store, root)
    }

    /// Every page the tree uses, root first, for space accounting and freeing a dropped table.
    pub fn pages<S: PageStore>(
        store: &mut S,
        root: PageId,
    ) -> Result<Vec<PageId>, Error<S::Error>> {
        validate_body_len(store)?;
        check::pages(store, root)
    }
}
