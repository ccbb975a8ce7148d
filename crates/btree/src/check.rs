//! Whole-tree walks: `check` validates every node and the relations between them (key order
//! and bounds, levels, sibling chain), `pages` lists every page. Both refuse a page reached
//! twice, so a corrupt pointer can neither loop nor be counted twice.

use std::collections::HashSet;

use crate::access::read_node;
use crate::node::{Kind, NO_PAGE};
use crate::{Error, PageId, PageStore};

/// What [`crate::BTree::check`] found in a valid tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeStats {
    /// Levels of nodes: 1 for a tree that is a single leaf.
    pub levels: u32,
    /// Internal nodes.
    pub internal_pages: u64,
    /// Leaves, empty ones included.
    pub leaf_pages: u64,
    /// Leaves holding no entry (left by deletes; never merged).
    pub empty_leaves: u64,
    /// Key/value entries.
    pub entries: u64,
    /// Sum of the entries' key lengths.
    pub key_bytes: u64,
    /// Sum of the entries' value lengths.
    pub value_bytes: u64,
    /// Bytes free for new cells in all nodes, counting space that compaction would reclaim.
    pub free_bytes: u64,
}

impl TreeStats {
    /// Pages the tree uses.
    pub fn total_pages(&self) -> u64 {
        self.internal_pages + self.leaf_pages
    }
}

/// What one checked node hands to the walk.
struct Checked {
    /// Children of an internal node, leftmost first.
    children: Vec<PageId>,
    /// Separators of an internal node.
    separators: Vec<Vec<u8>>,
    /// A leaf's right sibling.
    link: PageId,
    level: u8,
}

struct Checker<'s, S> {
    store: &'s mut S,
    seen: HashSet<PageId>,
    stats: TreeStats,
    /// Leaves in key order with their sibling links.
    leaves: Vec<(PageId, PageId)>,
}

impl<S: PageStore> Checker<'_, S> {
    /// Checks the subtree at `page`, whose keys must lie in `low..high` (`high` unbounded if
    /// `None`).
    fn visit(
        &mut self,
        page: PageId,
        level: Option<u8>,
        low: &[u8],
        high: Option<&[u8]>,
    ) -> Result<(), Error<S::Error>> {
        if !self.seen.insert(page) {
            return Err(Error::corrupt(page, "page reached twice in the tree"));
        }
        let stats = &mut self.stats;
        let checked = read_node(self.store, page, level, |node| {
            node.check_disjoint()?;
            for i in 0..node.count {
                let key = node.key(i);
                if i > 0 && node.key(i - 1) >= key {
                    return Err(format!("key {i} is not above the key before it"));
                }
                let below_low = match node.kind {
                    Kind::Leaf => key < low,
                    Kind::Internal => key <= low,
                };
                if below_low || high.is_some_and(|h| key >= h) {
                    return Err(format!("key {i} is outside the range its parent gives"));
                }
            }
            stats.free_bytes += node.free_bytes() as u64;
            Ok(match node.kind {
                Kind::Leaf => {
                    stats.leaf_pages += 1;
                    stats.empty_leaves += u64::from(node.count == 0);
                    stats.entries += node.count as u64;
                    for i in 0..node.count {
                        stats.key_bytes += node.key(i).len() as u64;
                        stats.value_bytes += node.value(i).len() as u64;
                    }
                    Checked {
                        children: Vec::new(),
                        separators: Vec::new(),
                        link: node.link,
                        level: 0,
                    }
                }
                Kind::Internal => {
                    stats.internal_pages += 1;
                    Checked {
                        children: (0..=node.count).map(|i| node.child(i)).collect(),
                        separators: (0..node.count).map(|i| node.key(i).to_vec()).collect(),
                        link: NO_PAGE,
                        level: node.level,
                    }
                }
            })
        })?;
        if checked.level == 0 {
            self.leaves.push((page, checked.link));
            return Ok(());
        }
        for (i, &child) in checked.children.iter().enumerate() {
            let child_low = if i == 0 {
                low
            } else {
                &checked.separators[i - 1]
            };
            let child_high = checked.separators.get(i).map(Vec::as_slice).or(high);
            self.visit(child, Some(checked.level - 1), child_low, child_high)?;
        }
        Ok(())
    }
}

pub(crate) fn check<S: PageStore>(
    store: &mut S,
    root: PageId,
) -> Result<TreeStats, Error<S::Error>> {
    let root_level = read_node(store, root, None, |node| Ok(node.level))?;
    let mut checker = Checker {
        store,
        seen: HashSet::new(),
        stats: TreeStats {
            levels: u32::from(root_level) + 1,
            ..TreeStats::default()
        },
        leaves: Vec::new(),
    };
    checker.visit(root, None, &[], None)?;
    for pair in checker.leaves.windows(2) {
        let ((page, link), (next, _)) = (pair[0], pair[1]);
        if link != next {
            return Err(Error::corrupt(
                page,
                format!("leaf links to page {link} but the next leaf is page {next}"),
            ));
        }
    }
    if let Some(&(page, link)) = checker.leaves.last()
        && link != NO_PAGE
    {
        return Err(Error::corrupt(
            page,
            format!("the last leaf links to page {link}"),
        ));
    }
    Ok(checker.stats)
}

pub(crate) fn pages<S: PageStore>(
    store: &mut S,
    root: PageId,
) -> Result<Vec<PageId>, Error<S::Error>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // (page, expected level); leaves below a level-1 node are listed without being read.
    let mut stack: Vec<(PageId, Option<u8>)> = vec![(root, None)];
    while let Some((page, level)) = stack.pop() {
        if !seen.insert(page) {
            return Err(Error::corrupt(page, "page reached twice in the tree"));
        }
        out.push(page);
        let (node_level, children) = read_node(store, page, level, |node| {
            Ok(match node.kind {
                Kind::Leaf => (0, Vec::new()),
                Kind::Internal => (
                    node.level,
                    (0..=node.count).map(|i| node.child(i)).collect::<Vec<_>>(),
                ),
            })
        })?;
        if node_level == 1 {
            for child in children {
                if child == NO_PAGE || !seen.insert(child) {
                    return Err(Error::corrupt(page, "a leaf is reached twice or is page 0"));
                }
                out.push(child);
            }
        } else {
            for child in children.into_iter().rev() {
                stack.push((child, Some(node_level.saturating_sub(1))));
            }
        }
    }
    Ok(out)
}
