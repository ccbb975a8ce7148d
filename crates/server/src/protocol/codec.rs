//! Payload fields: a writer, and a bounded reader that never reads past the payload.
//!
//! Invariant: every read checks the bytes left first; a length or count that would pass the
//! payload's end is an error, so no allocation exceeds the payload's own size.

use crate::error::{Error, Result};

/// Appends payload fields.
#[derive(Default)]
pub(crate) struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.out.extend_from_slice(v);
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = u32::try_from(v.len()).expect("a field fits the payload limit");
        self.u32(len).raw(v)
    }
    pub fn opt_bytes(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(b) => self.u8(1).bytes(b),
        }
    }
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).expect("a count fits u32"))
    }
}

/// Reads payload fields of a frame of kind `kind`.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    kind: u16,
}

impl<'a> Reader<'a> {
    pub fn new(kind: u16, buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0, kind }
    }

    pub fn bad(&self, reason: impl Into<String>) -> Error {
        Error::Malformed {
            kind: self.kind,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let left = self.buf.len() - self.pos;
        if n > left {
            return Err(self.bad(format!(
                "a field needs {n} bytes at offset {} but {left} are left",
                self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.bad(format!("a flag is {other}, not 0 or 1"))),
        }
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }
    pub fn opt_bytes(&mut self) -> Result<Option<Vec<u8>>> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.bytes()?)),
            other => Err(self.bad(format!("an optional value has tag {other}"))),
        }
    }
    /// A count of elements each at least `min_bytes` long, at most `max`.
    pub fn count(&mut self, min_bytes: usize, max: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        let left = self.buf.len() - self.pos;
        if n > max || n.saturating_mul(min_bytes) > left {
            return Err(self.bad(format!(
                "a count of {n} does not fit the {left} bytes left (limit {max})"
            )));
        }
        Ok(n)
    }
    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<()> {
        if self.pos != self.buf.len() {
            return Err(self.bad(format!(
                "{} bytes are left after the last field",
                self.buf.len() - self.pos
            )));
        }
        Ok(())
    }
}
