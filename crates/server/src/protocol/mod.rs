//! The wire protocol of docs/formats/protocol.md: 12-byte frame headers, CRC-32C over header and
//! payload, and the request and answer messages.
//!
//! Invariants: nothing past a header is read before the header is validated (length limit,
//! version, known kind); a payload is used only after its checksum matched, and a decoded
//! message only after `validate`.

mod codec;
mod extent;
mod kinds;
mod message;
mod response;

#[cfg(test)]
mod tests;

use std::io::{Read, Write};

pub use message::{
    ArchiverCommand, BackupReport, EmptyWhich, Extent, MAGIC, ParsedRequest, QuietSwitch, RawStr,
    Request, ShutdownMode, is_request_kind, is_response_kind,
};
pub use response::{ParsedResponse, Response, TableEntry};

use crate::error::{Error, Result};

/// The protocol version this program speaks.
pub const VERSION: u16 = 1;
/// The most payload bytes a frame may carry.
pub const MAX_PAYLOAD_BYTES: u32 = 1 << 20;
/// Bytes of a frame header.
pub const HEADER_BYTES: usize = 12;

const OFF_LEN: usize = 0;
const OFF_VERSION: usize = 4;
const OFF_KIND: usize = 6;
const OFF_CRC: usize = 8;
const _: () = assert!(OFF_VERSION == OFF_LEN + 4);
const _: () = assert!(OFF_KIND == OFF_VERSION + 2);
const _: () = assert!(OFF_CRC == OFF_KIND + 2);
const _: () = assert!(HEADER_BYTES == OFF_CRC + 4);

/// A frame header as read: nothing checked yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedHeader {
    /// Announced payload length.
    pub payload_len: u32,
    /// Protocol version.
    pub version: u16,
    /// Message kind.
    pub kind: u16,
    /// Checksum of the header's first 8 bytes and the payload.
    pub crc: u32,
}

/// A validated frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length, at most [`MAX_PAYLOAD_BYTES`].
    pub payload_len: u32,
    /// Message kind, one this program knows.
    pub kind: u16,
    /// Checksum of the header's first 8 bytes and the payload.
    pub crc: u32,
}

impl ParsedHeader {
    /// Splits the 12 header bytes into fields.
    pub fn decode(bytes: &[u8; HEADER_BYTES]) -> ParsedHeader {
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().expect("2 bytes"));
        ParsedHeader {
            payload_len: u32_at(OFF_LEN),
            version: u16_at(OFF_VERSION),
            kind: u16_at(OFF_KIND),
            crc: u32_at(OFF_CRC),
        }
    }

    /// Checks the length limit, the version and the kind.
    pub fn validate(self) -> Result<FrameHeader> {
        if self.payload_len > MAX_PAYLOAD_BYTES {
            return Err(Error::FrameTooLarge {
                len: self.payload_len,
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        if self.version != VERSION {
            return Err(Error::FrameVersion {
                version: self.version,
                expected: VERSION,
            });
        }
        if !is_request_kind(self.kind) && !is_response_kind(self.kind) {
            return Err(Error::UnknownKind { kind: self.kind });
        }
        Ok(FrameHeader {
            payload_len: self.payload_len,
            kind: self.kind,
            crc: self.crc,
        })
    }
}

/// One checked frame: its kind and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Message kind.
    pub kind: u16,
    /// Payload, checksum verified.
    pub payload: Vec<u8>,
}

fn header_bytes(kind: u16, payload: &[u8]) -> [u8; HEADER_BYTES] {
    assert!(
        payload.len() <= MAX_PAYLOAD_BYTES as usize,
        "a frame is built within the payload limit"
    );
    let mut h = [0u8; HEADER_BYTES];
    h[OFF_LEN..OFF_LEN + 4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&VERSION.to_le_bytes());
    h[OFF_KIND..OFF_KIND + 2].copy_from_slice(&kind.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&h[..OFF_CRC]), payload);
    h[OFF_CRC..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The bytes of a frame: header then payload.
pub fn encode_frame(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(&header_bytes(kind, payload));
    out.extend_from_slice(payload);
    out
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, kind: u16, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&encode_frame(kind, payload))?;
    w.flush()
}

/// What reading a frame gave.
#[derive(Debug)]
pub enum ReadOutcome {
    /// A checked frame.
    Frame(Frame),
    /// The peer closed the connection between frames.
    Closed,
}

/// Reads one frame: header, validated; payload; checksum. An I/O error (including a close in
/// the middle of a frame) is returned as `Err(io)` in the outer result.
pub fn read_frame(r: &mut impl Read) -> std::io::Result<Result<ReadOutcome>> {
    let mut h = [0u8; HEADER_BYTES];
    let mut got = 0;
    while got < HEADER_BYTES {
        match r.read(&mut h[got..]) {
            Ok(0) if got == 0 => return Ok(Ok(ReadOutcome::Closed)),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let header = match ParsedHeader::decode(&h).validate() {
        Ok(header) => header,
        Err(e) => return Ok(Err(e)),
    };
    let mut payload = vec![0u8; header.payload_len as usize];
    r.read_exact(&mut payload)?;
    let actual = crc32c::crc32c_append(crc32c::crc32c(&h[..OFF_CRC]), &payload);
    if actual != header.crc {
        return Ok(Err(Error::FrameChecksum {
            expected: header.crc,
            actual,
        }));
    }
    Ok(Ok(ReadOutcome::Frame(Frame {
        kind: header.kind,
        payload,
    })))
}
