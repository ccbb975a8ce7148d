//! AI extents (docs/formats/ai-extent.md): the two-slot header, the states and their
//! transitions, the writer of the busy extent and the reader of any extent.
//!
//! Invariants: an extent's header changes only through [`AiExtentFile::set_header`] (two-slot,
//! synced, legal transitions only); notes start at byte 4096, framed with the extent's AI
//! sequence, and the first is the extent's `AiSwitch` note.

mod file;
mod header;
mod scan;
#[cfg(test)]
mod tests;
mod writer;

pub use file::{AiExtentFile, BusyStart};
pub use header::{
    AI_HEADER_REGION_BYTES, AI_SLOT_LEN, AI_SLOT_OFFSETS, AiHeader, AiState,
    DEFAULT_VARIABLE_LIMIT_BYTES, MIN_FIXED_SIZE_KIB, ParsedAiHeader,
};
pub use scan::{ExtentReader, ScanSummary, scan_extent};
pub use writer::{AiWriter, WRITER_FLUSH_BYTES};
