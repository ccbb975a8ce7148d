//! In-memory page stores for the tests: `MemStore` keeps pages in a Vec (page 0 reserved, as
//! the engine's area header), `CountingStore` wraps a store and records the bytes each write
//! changed.
#![allow(dead_code)]

use std::fmt;

use btree::{PageId, PageStore};

/// Errors of the in-memory store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemError {
    /// The page was never allocated.
    NoSuchPage(PageId),
    /// The page limit is reached.
    Full,
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemError::NoSuchPage(p) => write!(f, "page {p} does not exist"),
            MemError::Full => write!(f, "no page left"),
        }
    }
}

/// Pages in memory.
#[derive(Clone)]
pub struct MemStore {
    body_len: usize,
    pages: Vec<Option<Vec<u8>>>,
    free: Vec<PageId>,
    /// Most pages in use at once (`None`: unlimited).
    pub max_pages: Option<usize>,
    in_use: usize,
}

impl MemStore {
    pub fn new(body_len: usize) -> Self {
        MemStore {
            body_len,
            pages: vec![None],
            free: Vec::new(),
            max_pages: None,
            in_use: 0,
        }
    }

    /// A store with an empty tree at its root.
    pub fn with_tree(body_len: usize) -> (Self, PageId) {
        let mut store = MemStore::new(body_len);
        let root = store.allocate().unwrap();
        btree::BTree::create(&mut store, root).unwrap();
        (store, root)
    }

    /// Raw bytes of a page, for corruption tests.
    pub fn page_mut(&mut self, page: PageId) -> &mut [u8] {
        self.pages[page as usize].as_mut().unwrap()
    }

    /// Pages in use.
    pub fn in_use(&self) -> usize {
        self.in_use
    }
}

impl PageStore for MemStore {
    type Error = MemError;

    fn body_len(&self) -> usize {
        self.body_len
    }

    fn read<R>(&mut self, page: PageId, f: impl FnOnce(&[u8]) -> R) -> Result<R, MemError> {
        match self.pages.get(page as usize) {
            Some(Some(body)) => Ok(f(body)),
            _ => Err(MemError::NoSuchPage(page)),
        }
    }

    fn write<R>(&mut self, page: PageId, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, MemError> {
        match self.pages.get_mut(page as usize) {
            Some(Some(body)) => Ok(f(body)),
            _ => Err(MemError::NoSuchPage(page)),
        }
    }

    fn allocate(&mut self) -> Result<PageId, MemError> {
        if self.max_pages.is_some_and(|m| self.in_use >= m) {
            return Err(MemError::Full);
        }
        self.in_use += 1;
        if let Some(page) = self.free.pop() {
            self.page_mut(page).fill(0);
            return Ok(page);
        }
        self.pages.push(Some(vec![0; self.body_len]));
        Ok((self.pages.len() - 1) as PageId)
    }

    fn free(&mut self, page: PageId) -> Result<(), MemError> {
        match self.pages.get_mut(page as usize) {
            Some(Some(body)) if body[0] != 0xFF => {
                body[0] = 0xFF;
                self.free.push(page);
                self.in_use -= 1;
                Ok(())
            }
            _ => Err(MemError::NoSuchPage(page)),
        }
    }
}

/// Wraps a store and records, per write call, how many bytes the closure changed.
pub struct CountingStore<S> {
    pub inner: S,
    /// Changed bytes of each write, in order.
    pub changed: Vec<usize>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        CountingStore {
            inner,
            changed: Vec::new(),
        }
    }
}

impl<S: PageStore> PageStore for CountingStore<S> {
    type Error = S::Error;

    fn body_len(&self) -> usize {
        self.inner.body_len()
    }

    fn read<R>(&mut self, page: PageId, f: impl FnOnce(&[u8]) -> R) -> Result<R, S::Error> {
        self.inner.read(page, f)
    }

    fn write<R>(&mut self, page: PageId, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, S::Error> {
        let (r, changed) = self.inner.write(page, |buf| {
            let before = buf.to_vec();
            let r = f(buf);
            let changed = before
                .iter()
                .zip(buf.iter())
                .filter(|(a, b)| a != b)
                .count();
            (r, changed)
        })?;
        self.changed.push(changed);
        Ok(r)
    }

    fn allocate(&mut self) -> Result<PageId, S::Error> {
        self.inner.allocate()
    }

    fn free(&mut self, page: PageId) -> Result<(), S::Error> {
        self.inner.free(page)
    }
}

/// Every entry of the tree, by scanning from the first.
pub fn scan_all<S: PageStore>(store: &mut S, root: PageId) -> Vec<(Vec<u8>, Vec<u8>)>
where
    S::Error: fmt::Debug,
{
    let mut out = Vec::new();
    btree::BTree::scan(store, root, &[], |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })
    .unwrap();
    out
}
