//! [`AiWriter`]: appends notes to the busy AI extent, buffered, with explicit sync points.
//!
//! Invariants: the extent is Busy while the writer holds it; bytes are written contiguously
//! from the end of the extent's notes and never past its capacity (a fixed extent's file size,
//! or a variable extent's size limit); everything before `synced_offset` is durable.

use super::file::{AiExtentFile, BusyStart};
use super::header::{AI_HEADER_REGION_BYTES, AiHeader, AiState};
use crate::Error;
use crate::note::{NoteHeader, encode_note, encoded_len};

/// Buffered bytes beyond which an append writes them out (without syncing).
pub const WRITER_FLUSH_BYTES: usize = 1 << 20;

/// Appends framed notes to a busy AI extent. Owns the extent while it is busy.
#[derive(Debug)]
pub struct AiWriter {
    extent: AiExtentFile,
    seed: u64,
    capacity_bytes: u64,
    /// File offset where `pending` goes.
    written_end: u64,
    /// Everything before this offset is durable.
    synced_end: u64,
    pending: Vec<u8>,
}

impl AiWriter {
    /// Makes the Empty `extent` busy ([`AiExtentFile::begin_busy`]: switch note, then header)
    /// and returns its writer. `size_limit_bytes` caps a variable extent's file (ignored for a
    /// fixed one; see [`super::DEFAULT_VARIABLE_LIMIT_BYTES`]). Panics unless the extent is Empty.
    pub fn begin(
        mut extent: AiExtentFile,
        start: &BusyStart,
        size_limit_bytes: u64,
    ) -> Result<AiWriter, Error> {
        let end = extent.begin_busy(start)?;
        Ok(AiWriter::at(extent, end, size_limit_bytes))
    }

    /// The writer of an extent that is already Busy (at open): reads its notes to find their
    /// end, and appends after it. Panics unless the extent is Busy.
    pub fn resume(extent: AiExtentFile, size_limit_bytes: u64) -> Result<AiWriter, Error> {
        assert_eq!(
            extent.header().state,
            AiState::Busy,
            "only a busy extent is written"
        );
        let end = extent.scan()?.end_offset;
        Ok(AiWriter::at(extent, end, size_limit_bytes))
    }

    fn at(extent: AiExtentFile, end: u64, size_limit_bytes: u64) -> AiWriter {
        let header = extent.header();
        let capacity_bytes = header.fixed_size_bytes().unwrap_or(size_limit_bytes);
        AiWriter {
            seed: header.ai_seq.0,
            capacity_bytes,
            written_end: end,
            synced_end: end,
            pending: Vec::with_capacity(WRITER_FLUSH_BYTES.min(64 * 1024)),
            extent,
        }
    }

    /// The extent being written.
    pub fn extent(&self) -> &AiExtentFile {
        &self.extent
    }

    /// The seed frames must be sealed with: the extent's AI sequence.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Largest file offset notes may reach.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// File offset just after the last note appended (buffered or not).
    pub fn end_offset(&self) -> u64 {
        self.written_end + self.pending.len() as u64
    }

    /// File offset up to which notes are durable.
    pub fn synced_offset(&self) -> u64 {
        self.synced_end
    }

    /// Whether `frame_len` more bytes fit before the capacity; when not, the extent is full
    /// and the caller switches to the next one.
    pub fn would_fit(&self, frame_len: usize) -> bool {
        self.end_offset()
            .checked_add(frame_len as u64)
            .is_some_and(|end| end <= self.capacity_bytes)
    }

    /// Appends whole frames sealed with [`AiWriter::seed`] (for example notes encoded for the
    /// BI and resealed with [`crate::note::reseal_frames`]). Panics if they do not fit.
    pub fn append(&mut self, frames: &[u8]) -> Result<(), Error> {
        assert!(
            self.would_fit(frames.len()),
            "notes appended past the AI extent's capacity"
        );
        self.pending.extend_from_slice(frames);
        self.flush_if_large()
    }

    /// Encodes one note straight into the writer's buffer (see [`encode_note`]). Panics if it
    /// does not fit.
    pub fn append_note(
        &mut self,
        header: &NoteHeader,
        ranges: &[(u16, &[u8], &[u8])],
    ) -> Result<(), Error> {
        assert!(
            self.would_fit(encoded_len(ranges)),
            "note appended past the AI extent's capacity"
        );
        encode_note(&mut self.pending, self.seed, header, ranges);
        self.flush_if_large()
    }

    fn flush_if_large(&mut self) -> Result<(), Error> {
        if self.pending.len() >= WRITER_FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered notes to the file, without syncing.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let at = self.written_end;
        self.extent
            .file()
            .write_at(&self.pending, at)
            .map_err(|source| Error::Io {
                path: self.extent.path().to_path_buf(),
                op: "write notes to",
                offset: at,
                source,
            })?;
        self.written_end += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Writes the buffered notes and syncs: every note appended so far is durable on return.
    pub fn flush_and_sync(&mut self) -> Result<(), Error> {
        self.flush()?;
        if self.synced_end == self.written_end {
            return Ok(());
        }
        self.extent.file().sync().map_err(|source| Error::Io {
            path: self.extent.path().to_path_buf(),
            op: "sync",
            offset: self.written_end,
            source,
        })?;
        self.synced_end = self.written_end;
        Ok(())
    }

    /// Syncs the notes and closes the extent as `to` (Full, or Locked for replication) with its
    /// exact `used_bytes`; returns the extent. Panics unless `to` is Full or Locked.
    pub fn finish(mut self, to: AiState, now_micros: i64) -> Result<AiExtentFile, Error> {
        self.flush_and_sync()?;
        let used = self.written_end - AI_HEADER_REGION_BYTES;
        self.extent.close_as(to, used, now_micros)?;
        Ok(self.extent)
    }

    /// Syncs the notes and records their length in the still-Busy header (at database close);
    /// returns the extent.
    pub fn close(mut self) -> Result<AiExtentFile, Error> {
        self.flush_and_sync()?;
        let used = self.written_end - AI_HEADER_REGION_BYTES;
        let header = *self.extent.header();
        self.extent.set_header(AiHeader {
            used_bytes: used,
            ..header
        })?;
        Ok(self.extent)
    }
}
