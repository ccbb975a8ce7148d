//! Notes and AI extents of an afterimage database.
//!
//! - [`note`] encodes and decodes the framed notes that go to the BI and to the AI
//!   (docs/formats/note.md) without allocating per note, and reads them back as a stream in
//!   bounded memory ([`NoteReader`]).
//! - [`extent`] manages one AI extent file (docs/formats/ai-extent.md): [`AiExtentFile`] holds
//!   its two-slot header and its Empty/Busy/Full/Locked transitions, [`AiWriter`] appends to
//!   the busy extent, [`ExtentReader`] and [`scan_extent`] read any extent under the rules of
//!   its state.
//! - [`set`] manages all the AI extents of a database ([`ExtentSet`]): `aimage begin` and
//!   `end`, the switch to the next extent in circular order, `aimage extent empty`, crash
//!   reconciliation with the master block, and `aiverify` ([`verify`]).
//!
//! ```
//! use std::path::Path;
//! use aiextent::{AiExtentFile, AiState, AiWriter, BusyStart, NoteHeader, NoteKind};
//! use masterblock::{AiSeq, AreaNo, BlockNo, DbId, ExtentHeader, ExtentKind, NoteSeq, OpenStamp, TxnId, UpdateCounter};
//! use storage::{OpenMode, SimStorage, Storage};
//!
//! let fs = SimStorage::new();
//! let file = fs.open(Path::new("/db.a1"), OpenMode::CreateNew).unwrap();
//! let ext = ExtentHeader { kind: ExtentKind::Ai, fixed: false, block_size: 4096, db_id: DbId([1; 16]),
//!     area: AreaNo(1000), extent_number: 1, size_kib: 0, created_time: 0 };
//! let extent = AiExtentFile::create(file, "/db.a1", ext).unwrap();
//! let start = BusyStart { ai_seq: AiSeq(1), open_stamp: OpenStamp(9), ai_begin_time: 0,
//!     switch_note_seq: NoteSeq(100), now_micros: 0 };
//! let mut writer = AiWriter::begin(extent, &start, aiextent::DEFAULT_VARIABLE_LIMIT_BYTES).unwrap();
//! let change = NoteHeader::block_change(NoteSeq(101), TxnId(5), AreaNo(7), BlockNo(2), UpdateCounter(0));
//! writer.append_note(&change, &[(16, b"new", b"old")]).unwrap();
//! writer.flush_and_sync().unwrap();
//! let extent = writer.finish(AiState::Full, 0).unwrap();
//!
//! let mut reader = extent.read_notes().unwrap();
//! assert_eq!(reader.next().unwrap().unwrap().header.kind, NoteKind::AiSwitch);
//! let note = reader.next().unwrap().unwrap();
//! assert_eq!(note.ranges().next().unwrap().redo, b"new");
//! assert!(reader.next().unwrap().is_none());
//! ```
//!
//! Invariants: every byte read from disk is checksummed before use; a note handed out by this
//! crate has verified and passed every structural check; an AI header update is atomic under a
//! crash at any point.

pub mod error;
pub mod extent;
pub mod note;
pub mod set;

pub use error::{Error, MESSAGES};
pub use extent::{
    AI_HEADER_REGION_BYTES, AiExtentFile, AiHeader, AiState, AiWriter, BusyStart,
    DEFAULT_VARIABLE_LIMIT_BYTES, ExtentReader, ScanSummary, scan_extent,
};
pub use note::{
    EndReason, FRAME_HEADER_LEN, FrameOutcome, MAX_FRAME_LEN, NOTE_HEADER_LEN, Note, NoteBatch,
    NoteHeader, NoteKind, NoteReader, NoteRef, OwnedRange, RangeIter, RangeRef, Reseal,
    decode_frame, encode_note, encoded_len,
};
pub use set::{
    AI_EXTENT_NUMBER_IN_AREA, AiExtentSpec, ExtentInfo, ExtentSet, Repair, VerifyProblem,
    VerifyReport, verify, verify_file,
};
