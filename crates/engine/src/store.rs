//! `btree::PageStore` over the buffer pool, bound to one transaction and one area: reads go
//! through the pool, writes through the logged change path, allocation through the area header,
//! and frees are deferred to commit.
//!
//! Invariant: a page written through a `TxnStore` is logged with the transaction's id and its
//! undo bytes are kept for rollback; the transaction's begin note precedes its first change.

use btree::{PageId, PageStore};
use masterblock::{AreaNo, BlockNo};

use crate::alloc;
use crate::block::HEADER_BYTES;
use crate::change::{ChangeCtx, change};
use crate::db::Shared;
use crate::error::{Error, Result};
use crate::pool::Fetch;
use crate::txn::TxnState;

/// A page store for one transaction and one area.
pub(crate) struct TxnStore<'a> {
    pub db: &'a Shared,
    pub st: &'a mut TxnState,
    pub area: AreaNo,
}

impl PageStore for TxnStore<'_> {
    type Error = Error;

    fn body_len(&self) -> usize {
        self.db.block_size as usize - HEADER_BYTES
    }

    fn read<R>(&mut self, page: PageId, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        read_page(self.db, self.area, page, f)
    }

    fn write<R>(&mut self, page: PageId, f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
        self.st.log_begin(self.db)?;
        let ctx = ChangeCtx {
            txn: self.st.id,
            compensation: false,
            aux: 0,
        };
        let TxnState { scratch, undo, .. } = &mut *self.st;
        change(
            self.db,
            scratch,
            ctx,
            Some(undo),
            self.area,
            BlockNo(page),
            f,
        )
    }

    fn allocate(&mut self) -> Result<PageId> {
        self.st.log_begin(self.db)?;
        let b = alloc::allocate(self.db, &mut self.st.scratch, self.area)?;
        self.st.allocated.push((self.area, b));
        Ok(b.0)
    }

    fn free(&mut self, page: PageId) -> Result<()> {
        self.st.pending_free.push((self.area, BlockNo(page)));
        Ok(())
    }
}

/// Calls `f` with the body of `page` of `area`.
pub(crate) fn read_page<R>(
    db: &Shared,
    area: AreaNo,
    page: PageId,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R> {
    let pinned = db
        .pool
        .pin(area, BlockNo(page), &db.files, &db.log, Fetch::Verified)?;
    let data = pinned.read();
    Ok(f(&data.buf[HEADER_BYTES..]))
}

/// A read-only page store (no transaction): writes are refused.
pub(crate) struct ReadStore<'a> {
    pub db: &'a Shared,
    pub area: AreaNo,
}

impl PageStore for ReadStore<'_> {
    type Error = Error;

    fn body_len(&self) -> usize {
        self.db.block_size as usize - HEADER_BYTES
    }

    fn read<R>(&mut self, page: PageId, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        read_page(self.db, self.area, page, f)
    }

    fn write<R>(&mut self, _page: PageId, _f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
        Err(Error::ReadOnly)
    }

    fn allocate(&mut self) -> Result<PageId> {
        Err(Error::ReadOnly)
    }

    fn free(&mut self, _page: PageId) -> Result<()> {
        Err(Error::ReadOnly)
    }
}

/// Maps a B+tree error on `table` to the engine's error.
pub(crate) fn tree_error(table: &str, block_size: u32, e: btree::Error<Error>) -> Error {
    match e {
        btree::Error::Store(e) => e,
        btree::Error::KeyTooLong { len, max } => Error::KeyTooLong { len, max },
        btree::Error::RecordTooLarge { len, max } => Error::RecordTooLarge {
            len,
            max,
            block_size,
        },
        btree::Error::Corrupt { page, reason } => Error::TreeCorrupt {
            table: table.to_string(),
            page,
            reason,
        },
        btree::Error::BadBodyLength { len_bytes, .. } => Error::TreeCorrupt {
            table: table.to_string(),
            page: 0,
            reason: format!("page body of {len_bytes} bytes is not supported"),
        },
    }
}
