//! The canonical binary encoding of everything ZeroPole hashes, signs, stores and sends.
//!
//! One value has exactly one encoding, so the bytes that are hashed are the bytes that are
//! sent: integers are fixed-width big-endian, byte strings carry a length prefix and a
//! per-field maximum, enums a one-byte tag, and a decoder refuses trailing bytes. Decoding
//! never panics and never allocates more than the declared maximum of a field.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside `field`.
    #[error("input ends inside {field}")]
    UnexpectedEnd {
        /// The field being read.
        field: &'static str,
    },
    /// A length prefix exceeds the field's maximum.
    #[error("{field} is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Declared length.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// An enum tag that this version does not know.
    #[error("unknown {what} tag 0x{tag:02x}")]
    UnknownTag {
        /// What kind of value.
        what: &'static str,
        /// The tag read.
        tag: u8,
    },
    /// A format version this build cannot read.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion {
        /// What kind of value.
        what: &'static str,
        /// The version read.
        version: u8,
    },
    /// Bytes left after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A field holds a value outside its domain (e.g. a malformed public key).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// Appends canonical encodings to a buffer.
#[derive(Default, Debug)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Fixed-size bytes (no length prefix).
    pub fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Length-prefixed (u32) bytes. The caller guarantees `bytes.len() <= u32::MAX`, which
    /// every field's maximum enforces long before.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        self.fixed(bytes)
    }

    /// The encoding.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical encodings from a slice.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.input.len() < n {
            return Err(DecodeError::UnexpectedEnd { field });
        }
        let (head, tail) = self.input.split_at(n);
        self.input = tail;
        Ok(head)
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Exactly `N` bytes.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// Length-prefixed bytes of at most `max` bytes.
    pub fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { field, len, max });
        }
        self.take(len, field)
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.input.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_the_layout_is_big_endian() {
        let mut w = Writer::new();
        w.u8(7).u32(0x0102_0304).u64(1).bytes(b"ab").fixed(&[9, 9]);
        let bytes = w.finish();
        assert_eq!(
            bytes,
            [7, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b', 9, 9]
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.u32("b"), Ok(0x0102_0304));
        assert_eq!(r.u64("c"), Ok(1));
        assert_eq!(r.bytes("d", 2), Ok(&b"ab"[..]));
        assert_eq!(r.array::<2>("e"), Ok([9, 9]));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn limits_truncation_and_trailing_bytes_are_errors() {
        let mut w = Writer::new();
        w.bytes(&[0u8; 10]);
        let bytes = w.finish();
        assert_eq!(
            Reader::new(&bytes).bytes("memo", 9),
            Err(DecodeError::TooLong {
                field: "memo",
                len: 10,
                max: 9
            })
        );
        assert_eq!(
            Reader::new(&bytes[..5]).bytes("memo", 10),
            Err(DecodeError::UnexpectedEnd { field: "memo" })
        );
        // A huge declared length is refused before any allocation.
        assert!(matches!(
            Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF]).bytes("memo", 64),
            Err(DecodeError::TooLong { .. })
        ));
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.u8("x"), Ok(1));
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(1)));
    }
}
