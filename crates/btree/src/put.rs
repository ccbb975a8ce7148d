//! `put`: change a leaf in place when the record fits, otherwise split it and carry separators
//! up, splitting internal nodes as needed; a root split moves the root's contents into two new
//! pages so the root never moves. Every page a split may need is allocated before any write.

use crate::access::{Step, descend, read_node, validate_body_len, write_node};
use crate::node::{
    self, HEADER_LEN, INTERNAL_CELL_HEADER, Kind, NO_PAGE, SLOT_LEN, cell_key, edit, get_u32,
    internal_cell, leaf_cell,
};
use crate::{Error, PageId, PageStore, PutMode, PutOutcome};

/// What the leaf write decided.
enum LeafPlan {
    /// Nothing to write; this is the outcome.
    Done(PutOutcome),
    /// New key at this index, fits.
    Insert(usize),
    /// Replace the value of cell `i` in place (not longer); the old value.
    Shrink(usize, Vec<u8>),
    /// Replace cell `i` by a longer one that still fits; the old value.
    Replace(usize, Vec<u8>),
    /// Does not fit: split with the record at this index, replacing the cell there if `old`.
    Split { idx: usize, old: Option<Vec<u8>> },
}

/// What the leaf write did.
enum LeafDone {
    /// Finished; this is the outcome.
    Done(PutOutcome),
    /// Nothing written: the leaf must split (see [`LeafPlan::Split`]).
    Split { idx: usize, old: Option<Vec<u8>> },
}

pub(crate) fn put<S: PageStore>(
    store: &mut S,
    root: PageId,
    key: &[u8],
    value: &[u8],
    mode: PutMode,
) -> Result<PutOutcome, Error<S::Error>> {
    let body_len = validate_body_len(store)?;
    let max_key = node::max_key_len(body_len);
    if key.len() > max_key {
        return Err(Error::KeyTooLong {
            len: key.len(),
            max: max_key,
        });
    }
    let max_record = node::max_record_len(body_len);
    if key.len() + value.len() > max_record {
        return Err(Error::RecordTooLarge {
            len: key.len() + value.len(),
            max: max_record,
        });
    }
    let (path, leaf) = descend(store, root, key)?;
    let cell = leaf_cell(key, value);
    let done = write_node(
        store,
        leaf,
        Some(0),
        |node| {
            Ok(match (node.search(key), mode) {
                (Ok(_), PutMode::Insert) => LeafPlan::Done(PutOutcome::KeyExists),
                (Err(_), PutMode::Update) => LeafPlan::Done(PutOutcome::NotFound),
                (Ok(i), _) => {
                    let old = node.value(i).to_vec();
                    let old_len = node.cell_len(i);
                    if cell.len() <= old_len {
                        LeafPlan::Shrink(i, old)
                    } else if node.free_bytes() + old_len >= cell.len() {
                        LeafPlan::Replace(i, old)
                    } else {
                        LeafPlan::Split {
                            idx: i,
                            old: Some(old),
                        }
                    }
                }
                (Err(i), _) if node.free_bytes() >= cell.len() + SLOT_LEN => LeafPlan::Insert(i),
                (Err(i), _) => LeafPlan::Split { idx: i, old: None },
            })
        },
        |plan, buf| {
            Ok(match plan {
                LeafPlan::Done(outcome) => LeafDone::Done(outcome),
                LeafPlan::Split { idx, old } => LeafDone::Split { idx, old },
                LeafPlan::Insert(i) => {
                    edit::insert_cell(buf, Kind::Leaf, i, &cell)?;
                    LeafDone::Done(PutOutcome::Inserted)
                }
                LeafPlan::Shrink(i, old) => {
                    edit::shrink_leaf_value(buf, i, value);
                    LeafDone::Done(PutOutcome::Replaced(old))
                }
                LeafPlan::Replace(i, old) => {
                    edit::remove_cell(buf, Kind::Leaf, i);
                    edit::insert_cell(buf, Kind::Leaf, i, &cell)?;
                    LeafDone::Done(PutOutcome::Replaced(old))
                }
            })
        },
    )?;
    match done {
        LeafDone::Split { idx, old } => {
            let job = SplitJob {
                page: leaf,
                kind: Kind::Leaf,
                level: 0,
                idx,
                replace: old.is_some(),
                cell,
                is_root: path.is_empty(),
                left_edge: path.iter().all(|s| s.child_idx == 0),
                right_edge: path.iter().all(|s| s.child_idx == s.count),
            };
            let mut pool = PagePool::reserve(store, &path, max_key)?;
            let result = split_up(store, &mut pool, &path, job);
            let released = pool.release(store);
            result?;
            released?;
            Ok(old.map_or(PutOutcome::Inserted, PutOutcome::Replaced))
        }
        LeafDone::Done(outcome) => Ok(outcome),
    }
}

/// Splits the leaf of `job`, then inserts each new separator into the node above, splitting
/// it in turn when full, up to the root.
fn split_up<S: PageStore>(
    store: &mut S,
    pool: &mut PagePool,
    path: &[Step],
    job: SplitJob,
) -> Result<(), Error<S::Error>> {
    let mut split_child = job.page;
    let mut pending = split_node(store, pool, job)?;
    for (depth, step) in path.iter().enumerate().rev() {
        let Some((sep, right)) = pending.take() else {
            break;
        };
        let cell = internal_cell(right, &sep);
        let fits = write_node(
            store,
            step.page,
            Some(step.level),
            |node| {
                if step.child_idx > node.count || node.child(step.child_idx) != split_child {
                    return Err("node changed while a split was carried up".into());
                }
                Ok(node.free_bytes() >= cell.len() + SLOT_LEN)
            },
            |fits, buf| {
                if fits {
                    edit::insert_cell(buf, Kind::Internal, step.child_idx, &cell)?;
                }
                Ok(fits)
            },
        )?;
        if !fits {
            pending = split_node(
                store,
                pool,
                SplitJob {
                    page: step.page,
                    kind: Kind::Internal,
                    level: step.level,
                    idx: step.child_idx,
                    replace: false,
                    cell,
                    is_root: depth == 0,
                    left_edge: path[..depth].iter().all(|s| s.child_idx == 0),
                    right_edge: path[..depth].iter().all(|s| s.child_idx == s.count),
                },
            )?;
        }
        split_child = step.page;
    }
    assert!(
        pending.is_none(),
        "a split reaching the root is absorbed there"
    );
    Ok(())
}

/// One node to split.
struct SplitJob {
    page: PageId,
    kind: Kind,
    level: u8,
    /// Where `cell` goes among the node's cells (after removing the replaced one).
    idx: usize,
    /// Cell `idx` is replaced by `cell` rather than shifted right.
    replace: bool,
    cell: Vec<u8>,
    is_root: bool,
    /// The node is the leftmost of its level.
    left_edge: bool,
    /// The node is the rightmost of its level.
    right_edge: bool,
}

/// Which split point to prefer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// Balance the two halves by bytes.
    Balanced,
    /// Appending at the right edge (ascending inserts): keep the old node nearly full (a leaf
    /// [`APPEND_LEAF_FILL_PERCENT`] full, an internal node full).
    Append,
    /// Prepending at the left edge (descending inserts): keep the new node full.
    Prepend,
}

/// A separator and the new right page it leads to, for the parent of a split node.
type Promoted = (Vec<u8>, PageId);

/// Splits `job.page` with `job.cell` added. Returns the separator and new right page for the
/// parent, or `None` after a root split (the root now holds both halves' pointers).
fn split_node<S: PageStore>(
    store: &mut S,
    pool: &mut PagePool,
    job: SplitJob,
) -> Result<Option<Promoted>, Error<S::Error>> {
    let body_len = store.body_len();
    let (mut cells, link) = read_node(store, job.page, Some(job.level), |node| {
        let cells: Vec<Vec<u8>> = (0..node.count).map(|i| node.cell(i).to_vec()).collect();
        Ok((cells, node.link))
    })?;
    let corrupt = |reason: &str| Error::corrupt(job.page, reason);
    let old_count = cells.len();
    if job.idx > old_count || (job.replace && job.idx == old_count) {
        return Err(corrupt("node changed while it was split"));
    }
    if job.replace {
        cells.remove(job.idx);
    }
    let kept = cells.len();
    let hint = if job.replace {
        Hint::Balanced
    } else if job.idx == kept && job.right_edge {
        Hint::Append
    } else if job.idx == 0 && job.left_edge {
        Hint::Prepend
    } else {
        Hint::Balanced
    };
    cells.insert(job.idx, job.cell.clone());
    let sizes: Vec<usize> = cells.iter().map(|c| c.len() + SLOT_LEN).collect();
    let k = choose_split(job.kind, &sizes, body_len - HEADER_LEN, hint)
        .ok_or_else(|| corrupt("cells too large to split into two nodes"))?;
    let (sep, right_cells, right_link) = match job.kind {
        Kind::Leaf => {
            let sep = separator(
                cell_key(Kind::Leaf, &cells[k - 1]),
                cell_key(Kind::Leaf, &cells[k]),
            )
            .ok_or_else(|| corrupt("keys out of order"))?;
            (sep, cells.split_off(k), link)
        }
        Kind::Internal => {
            let mut right = cells.split_off(k);
            let up = right.remove(0);
            let up_child = get_u32(&up, 0);
            (cell_key(Kind::Internal, &up).to_vec(), right, up_child)
        }
    };
    let left_cells = cells;
    if job.is_root {
        let level = job
            .level
            .checked_add(1)
            .ok_or_else(|| corrupt("tree too deep"))?;
        let left = pool.take(store)?;
        let right = pool.take(store)?;
        let (left_link, right_link) = match job.kind {
            Kind::Leaf => (right, link),
            Kind::Internal => (link, right_link),
        };
        write_fresh(store, left, job.kind, job.level, left_link, &left_cells)?;
        write_fresh(store, right, job.kind, job.level, right_link, &right_cells)?;
        let root_cell = internal_cell(right, &sep);
        write_node(
            store,
            job.page,
            Some(job.level),
            |_| Ok(()),
            |(), buf| {
                edit::format(buf, Kind::Internal, level, left);
                edit::insert_cell(buf, Kind::Internal, 0, &root_cell)
            },
        )?;
        return Ok(None);
    }
    let right = pool.take(store)?;
    write_fresh(store, right, job.kind, job.level, right_link, &right_cells)?;
    write_node(
        store,
        job.page,
        Some(job.level),
        |node| {
            if node.count != old_count {
                return Err("node changed while it was split".into());
            }
            Ok(())
        },
        |(), buf| {
            if job.replace {
                edit::remove_cell(buf, job.kind, job.idx);
            }
            if k > job.idx {
                edit::truncate(buf, k - 1);
                edit::insert_cell(buf, job.kind, job.idx, &job.cell)?;
            } else {
                edit::truncate(buf, k);
            }
            if job.kind == Kind::Leaf {
                edit::set_link(buf, right);
            }
            Ok(())
        },
    )?;
    Ok(Some((sep, right)))
}

/// Writes a new node into a freshly allocated page.
fn write_fresh<S: PageStore>(
    store: &mut S,
    page: PageId,
    kind: Kind,
    level: u8,
    link: PageId,
    cells: &[Vec<u8>],
) -> Result<(), Error<S::Error>> {
    store
        .write(page, |buf| edit::write_fresh(buf, kind, level, link, cells))
        .map_err(Error::Store)
}

/// How full an ascending load leaves each leaf it splits off, in percent of the cell space.
const APPEND_LEAF_FILL_PERCENT: usize = 90;

/// The split point `k` for items of `sizes` bytes (cell plus slot): a leaf keeps `..k` and
/// moves `k..`; an internal node keeps `..k`, moves `k + 1..` and sends item `k` up. Both halves
/// must fit `capacity`; `None` only if no split fits (impossible for validated cells).
fn choose_split(kind: Kind, sizes: &[usize], capacity: usize, hint: Hint) -> Option<usize> {
    let n = sizes.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0usize);
    for s in sizes {
        prefix.push(prefix[prefix.len() - 1] + s);
    }
    let total = prefix[n];
    let halves = |k: usize| -> Option<(usize, usize)> {
        match kind {
            Kind::Leaf if (1..n).contains(&k) => Some((prefix[k], total - prefix[k])),
            Kind::Internal if k < n => Some((prefix[k], total - prefix[k + 1])),
            _ => None,
        }
        .filter(|&(left, right)| left <= capacity && right <= capacity)
    };
    let preferred = match (hint, kind) {
        // The old leaf keeps room for its values to grow: full, its first longer value would
        // compact it (moving most cells, a large page change) or split it in two half-empty
        // leaves.
        (Hint::Append, Kind::Leaf) => {
            let fill = capacity * APPEND_LEAF_FILL_PERCENT / 100;
            (1..n).rev().find(|&k| prefix[k] <= fill)
        }
        (Hint::Append, Kind::Internal) => n.checked_sub(2),
        (Hint::Prepend, _) => Some(1),
        (Hint::Balanced, _) => None,
    };
    if let Some(k) = preferred.filter(|&k| halves(k).is_some()) {
        return Some(k);
    }
    (0..n)
        .filter_map(|k| halves(k).map(|(l, r)| (k, l.abs_diff(r))))
        .min_by_key(|&(_, diff)| diff)
        .map(|(k, _)| k)
}

/// The shortest prefix of `right_first` that is above `left_last`: a separator with
/// `left_last < sep <= right_first`. `None` if the keys are not in order.
fn separator(left_last: &[u8], right_first: &[u8]) -> Option<Vec<u8>> {
    if left_last >= right_first {
        return None;
    }
    let common = left_last
        .iter()
        .zip(right_first)
        .take_while(|(a, b)| a == b)
        .count();
    Some(right_first[..common + 1].to_vec())
}

/// Pages allocated before a split writes anything, so running out of space changes nothing.
struct PagePool {
    pages: Vec<PageId>,
}

impl PagePool {
    /// Allocates as many pages as the split can need: one per node that may split (two for the
    /// root), counting a parent only if it might not hold a largest separator.
    fn reserve<S: PageStore>(
        store: &mut S,
        path: &[Step],
        max_key: usize,
    ) -> Result<PagePool, Error<S::Error>> {
        let worst_cell = INTERNAL_CELL_HEADER + max_key + SLOT_LEN;
        let mut needed = if path.is_empty() { 2 } else { 1 };
        for (depth, step) in path.iter().enumerate().rev() {
            if step.free_bytes >= worst_cell {
                break;
            }
            needed += if depth == 0 { 2 } else { 1 };
        }
        let mut pool = PagePool {
            pages: Vec::with_capacity(needed),
        };
        for _ in 0..needed {
            match allocate(store) {
                Ok(page) => pool.pages.push(page),
                Err(e) => {
                    // The error to report is the allocation failure; a failed give-back only
                    // leaks a page.
                    let _ = pool.release(store);
                    return Err(e);
                }
            }
        }
        Ok(pool)
    }

    /// A reserved page, or a new one should the reservation have been short.
    fn take<S: PageStore>(&mut self, store: &mut S) -> Result<PageId, Error<S::Error>> {
        match self.pages.pop() {
            Some(page) => Ok(page),
            None => allocate(store),
        }
    }

    /// Gives back the pages not used.
    fn release<S: PageStore>(&mut self, store: &mut S) -> Result<(), Error<S::Error>> {
        while let Some(page) = self.pages.pop() {
            store.free(page).map_err(Error::Store)?;
        }
        Ok(())
    }
}

fn allocate<S: PageStore>(store: &mut S) -> Result<PageId, Error<S::Error>> {
    let page = store.allocate().map_err(Error::Store)?;
    if page == NO_PAGE {
        return Err(Error::corrupt(page, "the page store allocated page 0"));
    }
    Ok(page)
}

#[cfg(test)]
mod tests;
