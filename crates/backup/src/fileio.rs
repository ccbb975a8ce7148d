//! Sequential I/O on a backup file through the `storage` traits: a buffered writer that keeps
//! the running CRC-32C of everything written, and a bounded reader that keeps the CRC of
//! everything read, so the trailer's checksums are computed in one pass.
//!
//! Invariants: [`Sink`] writes bytes at increasing offsets with no gap and reports its offset
//! and CRC over exactly the bytes accepted; [`Source`] never reads past its end offset.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use storage::FileRef;

/// Bytes buffered before a write to the file.
const BUFFER_BYTES: usize = 1 << 20;

/// A buffered writer at increasing offsets of a file, with running CRCs.
pub struct Sink {
    file: FileRef,
    offset: u64,
    buf: Vec<u8>,
    /// CRC of every byte accepted.
    file_crc: u32,
    /// CRC of the bytes accepted since the last [`Sink::start_section`].
    section_crc: u32,
    section_bytes: u64,
}

impl Sink {
    /// A writer starting at offset 0 of `file`.
    pub fn new(file: FileRef) -> Sink {
        Sink {
            file,
            offset: 0,
            buf: Vec::with_capacity(BUFFER_BYTES),
            file_crc: 0,
            section_crc: 0,
            section_bytes: 0,
        }
    }

    /// Starts counting a new section (the record stream).
    pub fn start_section(&mut self) {
        self.section_crc = 0;
        self.section_bytes = 0;
    }

    /// CRC and length of the current section.
    pub fn section(&self) -> (u32, u64) {
        (self.section_crc, self.section_bytes)
    }

    /// CRC of every byte accepted.
    pub fn file_crc(&self) -> u32 {
        self.file_crc
    }

    /// Bytes accepted so far (the file's length once flushed).
    pub fn position(&self) -> u64 {
        self.offset + self.buf.len() as u64
    }

    /// Writes the buffer out.
    pub fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_at(&self.buf, self.offset)?;
            self.offset += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.file_crc = crc32c::crc32c_append(self.file_crc, data);
        self.section_crc = crc32c::crc32c_append(self.section_crc, data);
        self.section_bytes += data.len() as u64;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BUFFER_BYTES {
            self.flush_buf()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

/// Where a [`Source`] is and the CRC of what it read: shared with the code that reads through
/// a decompressor, so it can name file offsets in errors.
#[derive(Clone, Default)]
pub struct SourceState {
    offset: Rc<Cell<u64>>,
    crc: Rc<Cell<u32>>,
    file_crc: Rc<Cell<u32>>,
}

impl SourceState {
    /// File offset of the next byte the source will read.
    pub fn offset(&self) -> u64 {
        self.offset.get()
    }

    /// CRC-32C of every byte read.
    pub fn crc(&self) -> u32 {
        self.crc.get()
    }

    /// CRC-32C of every byte read, appended to the seed given to [`Source::new`].
    pub fn file_crc(&self) -> u32 {
        self.file_crc.get()
    }
}

/// Reads a file from `start` up to (not including) `end`.
pub struct Source {
    file: FileRef,
    end: u64,
    state: SourceState,
}

impl Source {
    /// A reader of `file` bytes `start..end`; `seed` is the CRC of the bytes before `start`.
    pub fn new(file: FileRef, start: u64, end: u64, seed: u32) -> (Source, SourceState) {
        let state = SourceState::default();
        state.offset.set(start);
        state.file_crc.set(seed);
        (
            Source {
                file,
                end,
                state: state.clone(),
            },
            state,
        )
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let at = self.state.offset.get();
        let left = self.end.saturating_sub(at);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        self.file.read_at(&mut buf[..n], at)?;
        self.state.offset.set(at + n as u64);
        let read = &buf[..n];
        self.state
            .crc
            .set(crc32c::crc32c_append(self.state.crc.get(), read));
        self.state
            .file_crc
            .set(crc32c::crc32c_append(self.state.file_crc.get(), read));
        Ok(n)
    }
}
