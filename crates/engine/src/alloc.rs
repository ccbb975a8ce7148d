//! Block allocation in an area through its header (block 0): the free chain first, then the
//! high-water mark. Allocation and freeing are system changes (transaction 0, never undone).
//!
//! Invariants: one thread at a time allocates or frees in an area (the area's mutex); a block
//! handed out has an all-zero body; a block is put on the free chain only when nothing refers to
//! it (at commit for blocks a transaction freed, at rollback for blocks it allocated), so a
//! crash can leak a block but never hand one out twice. A rolled-back allocation returns the
//! block to the free chain; a transaction that crash recovery rolls back leaks the blocks it
//! allocated (allocated but unused).

use masterblock::{AreaNo, BlockNo};

use crate::block::{AreaHeader, free_next, make_free};
use crate::change::{ChangeCtx, Scratch, change};
use crate::db::Shared;
use crate::error::{Error, Result};
use crate::pool::Fetch;

fn read_header(db: &Shared, area: AreaNo) -> Result<AreaHeader> {
    let pinned = db
        .pool
        .pin(area, BlockNo(0), &db.files, &db.log, Fetch::Verified)?;
    let data = pinned.read();
    AreaHeader::read(&data.buf[crate::block::HEADER_BYTES..]).ok_or_else(|| Error::BlockCorrupt {
        path: db.files.path_of(area, BlockNo(0)),
        area,
        block: BlockNo(0),
        reason: "it is not an area header".into(),
    })
}

/// Allocates a block in `area`; its body is all zeros.
pub(crate) fn allocate(db: &Shared, scratch: &mut Scratch, area: AreaNo) -> Result<BlockNo> {
    let _alloc = db.alloc_lock(area).lock();
    let header = read_header(db, area)?;
    let sys = ChangeCtx::system();
    if header.free_head != 0 {
        let b = BlockNo(header.free_head);
        let next = {
            let pinned = db.pool.pin(area, b, &db.files, &db.log, Fetch::Verified)?;
            let data = pinned.read();
            free_next(&data.buf[crate::block::HEADER_BYTES..])
        };
        let Some(next) = next else {
            return Err(Error::BlockCorrupt {
                path: db.files.path_of(area, b),
                area,
                block: b,
                reason: "it is on the free chain but is not a free block".into(),
            });
        };
        change(db, scratch, sys, None, area, BlockNo(0), |body| {
            AreaHeader {
                free_head: next,
                ..header
            }
            .write(body)
        })?;
        change(db, scratch, sys, None, area, b, |body| body.fill(0))?;
        return Ok(b);
    }
    let b = header.high_water;
    if db.files.capacity(area).is_some_and(|c| u64::from(b) >= c) || b == u32::MAX {
        return Err(Error::AreaFull { area });
    }
    change(db, scratch, sys, None, area, BlockNo(0), |body| {
        AreaHeader {
            high_water: b + 1,
            ..header
        }
        .write(body)
    })?;
    Ok(BlockNo(b))
}

/// Puts `block` of `area` on the free chain.
pub(crate) fn free(db: &Shared, scratch: &mut Scratch, area: AreaNo, block: BlockNo) -> Result<()> {
    assert!(block.0 != 0, "the area header is never freed");
    let _alloc = db.alloc_lock(area).lock();
    let header = read_header(db, area)?;
    let sys = ChangeCtx::system();
    change(db, scratch, sys, None, area, block, |body| {
        make_free(body, header.free_head)
    })?;
    change(db, scratch, sys, None, area, BlockNo(0), |body| {
        AreaHeader {
            free_head: block.0,
            ..header
        }
        .write(body)
    })?;
    Ok(())
}
