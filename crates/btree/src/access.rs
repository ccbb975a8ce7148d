//! Validated page access: every node is parsed and checked before a closure sees it, and a
//! node about to be changed is also checked for overlapping cells. Descents check that levels
//! fall by one per step, so a corrupt child pointer can never loop.

use crate::node::{self, Kind, MAX_BODY_LEN, MIN_BODY_LEN, NO_PAGE, Node};
use crate::{Error, PageId, PageStore};

/// Refuses a store whose body length the tree does not support.
pub(crate) fn validate_body_len<S: PageStore>(store: &S) -> Result<usize, Error<S::Error>> {
    let len = store.body_len();
    if (MIN_BODY_LEN..=MAX_BODY_LEN).contains(&len) {
        Ok(len)
    } else {
        Err(Error::BadBodyLength {
            len_bytes: len,
            min_bytes: MIN_BODY_LEN,
            max_bytes: MAX_BODY_LEN,
        })
    }
}

/// Parses `buf` as a node at `level` (any level if `None`).
fn parse_at(buf: &[u8], level: Option<u8>) -> Result<Node<'_>, String> {
    let node = node::parse(buf)?;
    match level {
        Some(want) if node.level != want => Err(format!(
            "node at level {} where level {want} was expected",
            node.level
        )),
        _ => Ok(node),
    }
}

/// Reads `page` as a validated node at `level` (any level if `None`) and passes it to `f`.
pub(crate) fn read_node<S: PageStore, T>(
    store: &mut S,
    page: PageId,
    level: Option<u8>,
    f: impl FnOnce(&Node<'_>) -> Result<T, String>,
) -> Result<T, Error<S::Error>> {
    if page == NO_PAGE {
        return Err(Error::corrupt(page, "page 0 reached as a tree node"));
    }
    store
        .read(page, |buf| f(&parse_at(buf, level)?))
        .map_err(Error::Store)?
        .map_err(|reason| Error::corrupt(page, reason))
}

/// Changes `page`: `decide` sees the validated node and plans, `apply` edits the bytes. A node
/// with overlapping cells is refused before `apply` runs, so nothing is written to it.
pub(crate) fn write_node<S: PageStore, P, T>(
    store: &mut S,
    page: PageId,
    level: Option<u8>,
    decide: impl FnOnce(&Node<'_>) -> Result<P, String>,
    apply: impl FnOnce(P, &mut [u8]) -> Result<T, String>,
) -> Result<T, Error<S::Error>> {
    if page == NO_PAGE {
        return Err(Error::corrupt(page, "page 0 reached as a tree node"));
    }
    store
        .write(page, |buf| {
            let plan = {
                let node = parse_at(buf, level)?;
                node.check_disjoint()?;
                decide(&node)?
            };
            apply(plan, buf)
        })
        .map_err(Error::Store)?
        .map_err(|reason| Error::corrupt(page, reason))
}

/// One internal node on the way from the root to a leaf.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// The internal node.
    pub(crate) page: PageId,
    /// Its level.
    pub(crate) level: u8,
    /// Index of the child taken.
    pub(crate) child_idx: usize,
    /// Its number of separators.
    pub(crate) count: usize,
    /// Bytes free for new cells once compacted.
    pub(crate) free_bytes: usize,
}

/// Walks from `root` to the leaf whose range holds `key`: the internal nodes passed, root first,
/// and the leaf (read here only when it is the root).
pub(crate) fn descend<S: PageStore>(
    store: &mut S,
    root: PageId,
    key: &[u8],
) -> Result<(Vec<Step>, PageId), Error<S::Error>> {
    let mut path = Vec::new();
    let mut page = root;
    let mut level = None;
    loop {
        let step = read_node(store, page, level, |node| {
            Ok(match node.kind {
                Kind::Leaf => None,
                Kind::Internal => {
                    let child_idx = node.child_index(key);
                    let step = Step {
                        page,
                        level: node.level,
                        child_idx,
                        count: node.count,
                        free_bytes: node.free_bytes(),
                    };
                    Some((step, node.child(child_idx)))
                }
            })
        })?;
        let Some((step, child)) = step else {
            return Ok((path, page));
        };
        path.push(step);
        page = child;
        if step.level == 1 {
            return Ok((path, page));
        }
        level = Some(step.level - 1);
    }
}

/// Where a leaf visit of a scan ended.
enum Visit {
    /// `f` asked to stop.
    Stop,
    /// Go on with the right sibling; the last key seen, if the leaf had any.
    Next(PageId, Option<Vec<u8>>),
}

/// Brent's cycle detection over the sibling chain: constant memory, finds any loop.
struct CycleGuard {
    saved: PageId,
    steps: u64,
    limit: u64,
}

impl CycleGuard {
    fn new(first: PageId) -> Self {
        CycleGuard {
            saved: first,
            steps: 0,
            limit: 1,
        }
    }

    /// True if `next` closes a loop.
    fn looped(&mut self, next: PageId) -> bool {
        if next == self.saved {
            return true;
        }
        self.steps += 1;
        if self.steps == self.limit {
            self.saved = next;
            self.steps = 0;
            self.limit *= 2;
        }
        false
    }
}

/// Visits entries from `start` in key order, following the leaves' sibling links and checking
/// that keys keep increasing across leaves.
pub(crate) fn scan<S: PageStore>(
    store: &mut S,
    root: PageId,
    start: &[u8],
    mut f: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), Error<S::Error>> {
    let (_, mut leaf) = descend(store, root, start)?;
    let mut guard = CycleGuard::new(leaf);
    let mut last: Option<Vec<u8>> = None;
    let mut first = true;
    loop {
        let visit = read_node(store, leaf, Some(0), |node| {
            let from = if first {
                node.search(start).unwrap_or_else(|i| i)
            } else {
                0
            };
            let mut prev: Option<&[u8]> = last.as_deref();
            for i in from..node.count {
                let key = node.key(i);
                if prev.is_some_and(|p| p >= key) {
                    return Err(format!("key {i} is not above the key before it"));
                }
                if !f(key, node.value(i)) {
                    return Ok(Visit::Stop);
                }
                prev = Some(key);
            }
            let seen = if from < node.count {
                prev.map(<[u8]>::to_vec)
            } else {
                None
            };
            Ok(Visit::Next(node.link, seen))
        })?;
        match visit {
            Visit::Stop => return Ok(()),
            Visit::Next(NO_PAGE, _) => return Ok(()),
            Visit::Next(next, seen) => {
                if guard.looped(next) {
                    return Err(Error::corrupt(next, "the leaf sibling chain loops"));
                }
                if seen.is_some() {
                    last = seen;
                }
                first = false;
                leaf = next;
            }
        }
    }
}
