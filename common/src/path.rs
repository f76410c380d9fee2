//! Percent-encoding of one URL path segment, for toy names like "Rubik's Cube" that travel in
//! paths (`/products/{name}`). warp hands path parameters over undecoded, so every service that
//! takes a name in a path decodes it here, and every client that puts one there encodes it here.

use crate::error::{Error, Result};

/// Encodes everything but RFC 3986's unreserved characters, so any name survives the trip.
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes one segment ("Rubik%27s%20Cube" → "Rubik's Cube"). `+` stays a plus: it means a
/// space only in form bodies, not in paths.
///
/// # Errors
/// [`Error::BadRequest`] for a `%` not followed by two hex digits, or bytes that are not UTF-8.
pub fn decode_segment(segment: &str) -> Result<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Both digits must be hex: `from_str_radix` alone would take "+1".
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::BadRequest(format!("malformed percent-encoding in {segment:?}"))
                })?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        Error::BadRequest(format!("{segment:?} does not percent-decode to UTF-8 text"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        for name in ["Tux", "Rubik's Cube", "café/%?#", "Teddy Bear", "", "a+b"] {
            assert_eq!(decode_segment(&encode_segment(name)).as_deref(), Ok(name));
        }
        assert_eq!(encode_segment("Rubik's Cube"), "Rubik%27s%20Cube");
        assert_eq!(decode_segment("a+b").as_deref(), Ok("a+b"));
        assert_eq!(decode_segment("%C3%A9t%c3%a9").as_deref(), Ok("été"));
        assert_eq!(
            decode_segment("Rubik's%20Cube").as_deref(),
            Ok("Rubik's Cube")
        );
        for bad in ["bad%", "bad%2", "bad%zz", "%FF", "%+1", "%", "%4"] {
            assert!(
                matches!(decode_segment(bad), Err(Error::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
