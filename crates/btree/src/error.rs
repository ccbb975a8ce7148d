//! The crate's one error enum. Every variant except `Store` carries a number in 90400-90499;
//! `Store` wraps the page store's own error, which its owner numbers.

use crate::PageId;

/// What went wrong in a B+tree operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    /// The page store failed; the store's owner numbers and reports it.
    #[error("{0}")]
    Store(E),
    /// A key is longer than the tree accepts for this block size.
    #[error(
        "key of {len} bytes is longer than the {max} bytes allowed for this block size; use a shorter key or a larger block size"
    )]
    KeyTooLong {
        /// Length of the key offered.
        len: usize,
        /// Longest key accepted.
        max: usize,
    },
    /// Key plus value is larger than the tree accepts for this block size.
    #[error(
        "record of {len} bytes (key plus value) is larger than the {max} bytes allowed for this block size; store a smaller value or use a larger block size"
    )]
    RecordTooLarge {
        /// Key length plus value length offered.
        len: usize,
        /// Largest key plus value accepted.
        max: usize,
    },
    /// A page of the tree does not hold a valid node, or the nodes do not form a valid tree.
    #[error(
        "B+tree page {page} is corrupt: {reason}; check the table with proutil and restore from a backup if it persists"
    )]
    Corrupt {
        /// The page found wrong (0 when the fault is not in one page).
        page: PageId,
        /// What is wrong with it.
        reason: String,
    },
    /// The page store offers a page body size the tree does not support.
    #[error(
        "page body of {len_bytes} bytes is not supported by the B+tree (from {min_bytes} to {max_bytes} bytes); use a supported block size"
    )]
    BadBodyLength {
        /// Body length the store reported.
        len_bytes: usize,
        /// Smallest supported body length.
        min_bytes: usize,
        /// Largest supported body length.
        max_bytes: usize,
    },
}

/// Every message number this crate uses, with a short description.
pub const MESSAGES: &[(u32, &str)] = &[
    (90401, "B+tree key longer than the block size allows"),
    (
        90402,
        "B+tree record (key plus value) larger than the block size allows",
    ),
    (90403, "B+tree page corrupt"),
    (90404, "page body length not supported by the B+tree"),
];

impl<E> Error<E> {
    /// The message number (90400-90499); 0 for `Store`, whose owner maps it.
    pub fn msg_number(&self) -> u32 {
        match self {
            Error::Store(_) => 0,
            Error::KeyTooLong { .. } => 90401,
            Error::RecordTooLarge { .. } => 90402,
            Error::Corrupt { .. } => 90403,
            Error::BadBodyLength { .. } => 90404,
        }
    }

    /// A `Corrupt` error for `page`.
    pub(crate) fn corrupt(page: PageId, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            page,
            reason: reason.into(),
        }
    }
}
