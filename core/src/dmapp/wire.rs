//! Encoding helpers shared by the signed objects of `dmapp` and `genesis`: keys,
//! signatures and bounded text, each checked the same way on construction and on decoding.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{PublicKey, Signature};

/// Longest encoded public key or signature a decoder accepts.
pub(crate) const MAX_KEY_OR_SIGNATURE_LEN: usize = 1024;

/// Reads a length-prefixed public key and validates it.
pub(crate) fn read_key(r: &mut Reader<'_>, field: &'static str) -> Result<PublicKey, DecodeError> {
    let bytes = r.bytes(field, MAX_KEY_OR_SIGNATURE_LEN)?;
    PublicKey::from_bytes(bytes).map_err(|e| DecodeError::Invalid {
        field,
        reason: e.to_string(),
    })
}

/// Reads a length-prefixed signature (framing only; validity is the verifier's job).
pub(crate) fn read_signature(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<Signature, DecodeError> {
    let bytes = r.bytes(field, MAX_KEY_OR_SIGNATURE_LEN)?;
    Signature::from_bytes(bytes).map_err(|e| DecodeError::Invalid {
        field,
        reason: e.to_string(),
    })
}

/// Encodes `body ‖ authority ‖ signature`, the layout of every authority-signed object.
pub(crate) fn encode_signed(
    write_body: impl FnOnce(&mut Writer),
    authority: &PublicKey,
    signature: &Signature,
) -> Vec<u8> {
    let mut w = Writer::new();
    write_body(&mut w);
    write_signer(&mut w, authority, signature);
    w.finish()
}

/// Decodes exactly one `body ‖ authority ‖ signature` of at most `max` bytes (no signature
/// check). Any malformed input is a typed error, never a panic.
pub(crate) fn decode_signed<T>(
    bytes: &[u8],
    what: &'static str,
    max: usize,
    read_body: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
    authority_field: &'static str,
    signature_field: &'static str,
) -> Result<(T, PublicKey, Signature), DecodeError> {
    check_len(bytes, what, max)?;
    let mut r = Reader::new(bytes);
    let body = read_body(&mut r)?;
    let authority = read_key(&mut r, authority_field)?;
    let signature = read_signature(&mut r, signature_field)?;
    r.finish()?;
    Ok((body, authority, signature))
}

/// Writes `authority ‖ signature`, the tail of every signed object.
pub(crate) fn write_signer(w: &mut Writer, authority: &PublicKey, signature: &Signature) {
    w.bytes(&authority.to_bytes()).bytes(&signature.to_bytes());
}

/// What a text field may contain.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Text {
    /// Non-empty UTF-8 without control characters (names, operators).
    Label,
    /// UTF-8 without control characters, possibly empty (reasons).
    Free,
    /// Non-empty printable ASCII without spaces (permission identifiers).
    Token,
}

/// Checks `value` against `kind` and `max` bytes; the reason on failure.
pub(crate) fn check_text(value: &str, kind: Text, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("{} bytes, the maximum is {max}", value.len()));
    }
    match kind {
        Text::Label | Text::Token if value.is_empty() => Err("must not be empty".into()),
        Text::Token if !value.bytes().all(|b| b.is_ascii_graphic()) => {
            Err("only printable ASCII without spaces is allowed".into())
        }
        Text::Label | Text::Free if value.chars().any(char::is_control) => {
            Err("control characters are not allowed".into())
        }
        _ => Ok(()),
    }
}

/// Reads length-prefixed UTF-8 text of at most `max` bytes and checks it against `kind`.
pub(crate) fn read_text(
    r: &mut Reader<'_>,
    field: &'static str,
    kind: Text,
    max: usize,
) -> Result<String, DecodeError> {
    let bytes = r.bytes(field, max)?;
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid {
        field,
        reason: "not UTF-8".into(),
    })?;
    check_text(text, kind, max).map_err(|reason| DecodeError::Invalid { field, reason })?;
    Ok(text.to_owned())
}

/// Refuses an input longer than any valid encoding before reading it.
pub(crate) fn check_len(bytes: &[u8], field: &'static str, max: usize) -> Result<(), DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLong {
            field,
            len: bytes.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_kinds_accept_and_refuse_what_their_docs_say() {
        assert!(check_text("Hello wallet ✓", Text::Label, 64).is_ok());
        assert!(check_text("", Text::Label, 64).is_err());
        assert!(check_text("a\nb", Text::Label, 64).is_err());
        assert!(check_text("", Text::Free, 64).is_ok());
        assert!(check_text("tab\there", Text::Free, 64).is_err());
        assert!(check_text("funds.send", Text::Token, 32).is_ok());
        assert!(check_text("funds send", Text::Token, 32).is_err());
        assert!(check_text("fünds", Text::Token, 32).is_err());
        assert!(check_text("abcde", Text::Free, 4).is_err());
    }
}
