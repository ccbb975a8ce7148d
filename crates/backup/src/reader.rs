//! Reading a backup file with every check of docs/formats/backup.md ("Reading"): the header and
//! trailer at open, then each record in order, then the trailer's counts and CRCs at the end of
//! the stream.
//!
//! Invariant: [`Records::next_record`] hands out a block only after its record verified and its place
//! in the stream is legal; `Ok(None)` (the end) only after the whole file verified, so a caller
//! that reaches the end has read a complete, undamaged backup.

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use masterblock::{AreaNo, BlockNo};
use storage::{FileRef, OpenMode, Storage};

use crate::blocks;
use crate::error::{Error, Result};
use crate::fileio::{Source, SourceState};
use crate::format::{
    BackupHeader, FIXED_HEADER_BYTES, HeaderLengths, ParsedHeader, TRAILER_BYTES, Trailer,
    check_record,
};

/// An open backup file whose header and trailer framing were checked.
pub struct BackupReader {
    path: PathBuf,
    file: FileRef,
    file_len: u64,
    header: BackupHeader,
    header_len: u64,
    header_crc: u32,
    trailer: Trailer,
}

impl BackupReader {
    /// Opens `path` and checks its header and the trailer's framing.
    pub fn open(storage: &dyn Storage, path: &Path) -> Result<BackupReader> {
        let file = storage
            .open(path, OpenMode::Read)
            .map_err(Error::io("open", path))?;
        let file_len = file.len().map_err(Error::io("inspect", path))?;
        let truncated = |what: &'static str, needed: u64| Error::Truncated {
            path: path.to_path_buf(),
            what,
            needed,
            file_len,
        };
        if file_len < FIXED_HEADER_BYTES as u64 {
            return Err(truncated("the header", FIXED_HEADER_BYTES as u64));
        }
        let mut fixed = [0u8; FIXED_HEADER_BYTES];
        file.read_at(&mut fixed, 0)
            .map_err(Error::io("read", path))?;
        let lengths = HeaderLengths::decode(&fixed, path)?;
        let header_len = lengths.header_len();
        if file_len < header_len {
            return Err(truncated("the header", header_len));
        }
        let mut bytes = vec![0u8; header_len as usize];
        file.read_at(&mut bytes, 0)
            .map_err(Error::io("read", path))?;
        let header_crc = crc32c::crc32c(&bytes);
        let header = ParsedHeader::decode(bytes, lengths, path)?.validate(path)?;
        let min_len = header_len + TRAILER_BYTES as u64;
        if file_len < min_len {
            return Err(truncated("the trailer", min_len));
        }
        let trailer_at = file_len - TRAILER_BYTES as u64;
        let mut raw = [0u8; TRAILER_BYTES];
        file.read_at(&mut raw, trailer_at)
            .map_err(Error::io("read", path))?;
        let trailer = Trailer::decode(&raw, trailer_at, path)?;
        if header_len.checked_add(trailer.stream_bytes) != Some(trailer_at) {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                offset: trailer_at + 16,
                detail: format!(
                    "the trailer records a stream of {} bytes but the file holds {} between header and trailer: the file was cut or extended",
                    trailer.stream_bytes,
                    trailer_at - header_len
                ),
            });
        }
        Ok(BackupReader {
            path: path.to_path_buf(),
            file,
            file_len,
            header,
            header_len,
            header_crc,
            trailer,
        })
    }

    /// The validated header.
    pub fn header(&self) -> &BackupHeader {
        &self.header
    }

    /// The file's length in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The trailer as read (trusted only once [`Records::next_record`] returned `Ok(None)`).
    pub fn trailer(&self) -> &Trailer {
        &self.trailer
    }

    /// Starts reading the records from the beginning of the stream.
    pub fn records(&self) -> Result<Records<'_>> {
        let end = self.header_len + self.trailer.stream_bytes;
        let (source, state) = Source::new(self.file.clone(), self.header_len, end, self.header_crc);
        let buffered = BufReader::with_capacity(1 << 20, source);
        let stream = if self.header.compressed {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(Error::io("start decompressing", &self.path))?
                .single_frame();
            Stream::Zstd(Box::new(decoder))
        } else {
            Stream::Plain(buffered)
        };
        Ok(Records {
            reader: self,
            stream: Some(stream),
            state,
            buf: vec![0u8; self.header.record_bytes()],
            count: 0,
            last: None,
            seen_header_of: Vec::new(),
        })
    }
}

enum Stream {
    Plain(BufReader<Source>),
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<Source>>>),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(r) => r.read(buf),
            Stream::Zstd(r) => r.read(buf),
        }
    }

    /// True if nothing is left after the records (for zstd: after the frame).
    fn at_end(self) -> std::io::Result<bool> {
        let mut inner = match self {
            Stream::Plain(r) => r,
            Stream::Zstd(r) => r.finish(),
        };
        Ok(inner.fill_buf()?.is_empty())
    }
}

/// The records of a backup, read and checked one at a time.
pub struct Records<'a> {
    reader: &'a BackupReader,
    stream: Option<Stream>,
    state: SourceState,
    buf: Vec<u8>,
    count: u64,
    last: Option<(AreaNo, BlockNo)>,
    seen_header_of: Vec<AreaNo>,
}

impl Records<'_> {
    fn corrupt(&self, offset: u64, detail: String) -> Error {
        Error::Corrupt {
            path: self.reader.path.clone(),
            offset,
            detail,
        }
    }

    /// The file offset of the record being read: exact for an uncompressed stream; for a
    /// compressed one, how far the reader had come in the file.
    fn offset(&self) -> u64 {
        if self.reader.header.compressed {
            self.state.offset()
        } else {
            self.reader.header_len + self.count * self.buf.len() as u64
        }
    }

    /// The next record's area, block number and block; `Ok(None)` once the stream ended and
    /// the whole file verified.
    pub fn next_record(&mut self) -> Result<Option<(AreaNo, BlockNo, &[u8])>> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(None);
        };
        let mut filled = 0;
        while filled < self.buf.len() {
            match stream.read(&mut self.buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    let offset = self.offset();
                    return Err(
                        self.corrupt(offset, format!("the record stream cannot be read: {e}"))
                    );
                }
            }
        }
        if filled == 0 {
            self.finish()?;
            return Ok(None);
        }
        let offset = self.offset();
        if filled < self.buf.len() {
            return Err(self.corrupt(
                offset,
                format!(
                    "the stream ends inside record {} ({filled} of {} bytes)",
                    self.count,
                    self.buf.len()
                ),
            ));
        }
        let (area, no) = check_record(&self.buf, offset, &self.reader.path)?;
        if self.last.is_some_and(|last| last >= (area, no)) {
            return Err(self.corrupt(offset, format!("block {no} of area {area} is out of order")));
        }
        let Some(high_water) = self.reader.header.high_water(area) else {
            return Err(self.corrupt(offset, format!("area {area} is not in the area table")));
        };
        if no.0 >= high_water {
            return Err(self.corrupt(
                offset,
                format!("block {no} of area {area} is past the area's high water {high_water}"),
            ));
        }
        let block = &self.buf[8..self.buf.len() - 4];
        if no.0 == 0 {
            if blocks::area_high_water(block) != Some(high_water) {
                return Err(self.corrupt(
                    offset,
                    format!(
                        "block 0 of area {area} does not hold the high water {high_water} of the area table"
                    ),
                ));
            }
            self.seen_header_of.push(area);
        } else if !self.seen_header_of.contains(&area) {
            return Err(self.corrupt(offset, format!("area {area} has no block 0")));
        }
        self.last = Some((area, no));
        self.count += 1;
        let block = &self.buf[8..self.buf.len() - 4];
        Ok(Some((area, no, block)))
    }

    /// Checks the end of the stream, the trailer's counts and both CRCs.
    fn finish(&mut self) -> Result<()> {
        let stream = self.stream.take().expect("finish runs once");
        let r = self.reader;
        let path = &r.path;
        let trailer_at = r.file_len - TRAILER_BYTES as u64;
        let at_end = stream.at_end().map_err(|e| {
            self.corrupt(
                self.state.offset(),
                format!("the record stream cannot be read: {e}"),
            )
        })?;
        if !at_end || self.state.offset() != trailer_at {
            return Err(self.corrupt(
                self.state.offset(),
                "bytes follow the end of the record stream".into(),
            ));
        }
        if let Some(missing) = r
            .header
            .areas
            .iter()
            .find(|m| !self.seen_header_of.contains(&m.area))
        {
            return Err(self.corrupt(
                trailer_at,
                format!("the stream has no block 0 of area {}", missing.area),
            ));
        }
        let raw = self.count * self.buf.len() as u64;
        if self.count != r.trailer.record_count || raw != r.trailer.raw_stream_bytes {
            return Err(self.corrupt(
                trailer_at + 8,
                format!(
                    "the trailer counts {} records ({} bytes) but the stream holds {} ({raw} bytes)",
                    r.trailer.record_count, r.trailer.raw_stream_bytes, self.count
                ),
            ));
        }
        if self.state.crc() != r.trailer.stream_crc {
            return Err(Error::ChecksumMismatch {
                path: path.clone(),
                what: "the record stream",
                offset: r.header_len,
                expected: r.trailer.stream_crc,
                actual: self.state.crc(),
            });
        }
        let mut trailer = [0u8; TRAILER_BYTES];
        r.file
            .read_at(&mut trailer, trailer_at)
            .map_err(Error::io("read", path))?;
        let crc = crc32c::crc32c_append(self.state.file_crc(), &trailer[..60]);
        if crc != r.trailer.file_crc {
            return Err(Error::ChecksumMismatch {
                path: path.clone(),
                what: "the whole file",
                offset: trailer_at + 60,
                expected: r.trailer.file_crc,
                actual: crc,
            });
        }
        Ok(())
    }

    /// Records read so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}
