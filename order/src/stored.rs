//! How the order log stores an entry and a request id, compactly.
//!
//! A value of the `log` tree starts with a format byte:
//! - [`ENTRY_FORMAT`] (2), written by this build: epoch and quantity as LEB128 varints, the
//!   name's length as a varint and its UTF-8 bytes, then the request id in its compact form (see
//!   below) to the end of the value. No order number: the key is the number. No field names.
//! - [`LEGACY_FORMAT`] (1), written by builds before it and still read: the whole [`OrderEntry`]
//!   in `common::encoding`'s form (bincode 2 standard config), number included; a number that
//!   differs from the key is refused as damage.
//!
//! A request id's compact form, also the key of the `requests` tree, is a tag byte and a body:
//! - [`ID_GENERATED`] + 16 bytes: a generated id, `g-` and 32 lowercase hex digits (a u128,
//!   big-endian), the form [`RequestId::fresh`] makes.
//! - [`ID_KEY`] + the key's UTF-8 bytes: an idempotency key's id, `k-<key>`.
//! - [`ID_TEXT`] + the id's UTF-8 bytes: any other id, as it is.
//!
//! The tags are bytes that never start UTF-8 text, so a compact key never equals a format-1
//! `requests` key (the id's text), and the format-1 keys of an old directory can be moved to
//! the compact form in place (`log/upgrade.rs`).
//!
//! Invariants: every id has exactly one compact form (an id is only [`ID_TEXT`] when it is not
//! one of the other two), so equal ids give equal keys; decoding gives back the very string.

use common::{Error, OrderEntry, OrderNumber, RequestId, Result};

/// The format byte of the values this build writes.
pub const ENTRY_FORMAT: u8 = 2;
/// The format byte of the values builds before [`ENTRY_FORMAT`] wrote: `common::encoding`'s.
pub const LEGACY_FORMAT: u8 = 1;
// Format-1 entries are decoded by `common::encoding::decode`, which reads only its own version.
const _: () = assert!(common::encoding::FORMAT_VERSION == LEGACY_FORMAT);

/// Tag of a generated id (`g-` + 32 lowercase hex digits): 16 raw bytes follow.
pub const ID_GENERATED: u8 = 0xF5;
/// Tag of an idempotency key's id (`k-<key>`): the key's bytes follow.
pub const ID_KEY: u8 = 0xF6;
/// Tag of any other id: its bytes follow.
pub const ID_TEXT: u8 = 0xF7;

const GENERATED_PREFIX: &str = "g-";
const KEY_PREFIX: &str = "k-";

fn damaged(what: impl std::fmt::Display) -> Error {
    Error::Storage(format!("undecodable log entry: {what}"))
}

/// The u128 of a generated id, when `id` is exactly the text [`RequestId::fresh`] makes.
fn generated(id: &str) -> Option<u128> {
    let hex = id.strip_prefix(GENERATED_PREFIX)?;
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex.len() != 32 || !hex.bytes().all(lower_hex) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// Appends the compact form of `id` to `out`.
fn put_request_id(out: &mut Vec<u8>, id: &RequestId) {
    if let Some(n) = generated(&id.0) {
        out.push(ID_GENERATED);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Some(key) = id.0.strip_prefix(KEY_PREFIX) {
        out.push(ID_KEY);
        out.extend_from_slice(key.as_bytes());
    } else {
        out.push(ID_TEXT);
        out.extend_from_slice(id.0.as_bytes());
    }
}

/// The key of `id` in the `requests` tree: its compact form.
pub fn request_key(id: &RequestId) -> Vec<u8> {
    let mut out = Vec::with_capacity(id.0.len() + 1);
    put_request_id(&mut out, id);
    out
}

/// Reads a compact id that takes all of `bytes`.
///
/// # Errors
/// An unknown tag, a generated id that is not 16 bytes, or text that is not UTF-8.
pub fn decode_request_id(bytes: &[u8]) -> Result<RequestId> {
    fn text(body: &[u8]) -> Result<&str> {
        std::str::from_utf8(body).map_err(|e| damaged(format!("request id is not UTF-8: {e}")))
    }
    match bytes.split_first() {
        Some((&ID_GENERATED, body)) => {
            let raw: [u8; 16] = body.try_into().map_err(|_| {
                damaged(format!(
                    "generated request id of {} bytes, not 16",
                    body.len()
                ))
            })?;
            Ok(RequestId(format!(
                "{GENERATED_PREFIX}{:032x}",
                u128::from_be_bytes(raw)
            )))
        }
        Some((&ID_KEY, body)) => Ok(RequestId(format!("{KEY_PREFIX}{}", text(body)?))),
        Some((&ID_TEXT, body)) => Ok(RequestId(text(body)?.to_string())),
        Some((tag, _)) => Err(damaged(format!("unknown request id tag {tag:#04x}"))),
        None => Err(damaged("empty request id")),
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7F) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a LEB128 varint from the front of `bytes`, and moves `bytes` past it.
fn take_varint(bytes: &mut &[u8], what: &str) -> Result<u64> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let low = u64::from(b & 0x7F);
        if i == 9 && low > 1 {
            break;
        }
        n |= low << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Ok(n);
        }
    }
    Err(damaged(format!("{what}: truncated or overlong varint")))
}

/// The stored value of `entry` (format [`ENTRY_FORMAT`]); its key holds the number.
pub fn encode_entry(entry: &OrderEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + entry.name.len() + 1 + entry.request_id.0.len());
    out.push(ENTRY_FORMAT);
    put_varint(&mut out, entry.epoch);
    put_varint(&mut out, u64::from(entry.quantity));
    put_varint(&mut out, entry.name.len() as u64);
    out.extend_from_slice(entry.name.as_bytes());
    put_request_id(&mut out, &entry.request_id);
    out
}

/// The entry stored under the key of `number`, in either format.
///
/// # Errors
/// An empty value, an unknown format, bytes that do not decode, or a format-1 entry whose number
/// is not its key's.
pub fn decode_entry(number: OrderNumber, bytes: &[u8]) -> Result<OrderEntry> {
    match bytes.split_first() {
        Some((&ENTRY_FORMAT, mut body)) => {
            let epoch = take_varint(&mut body, "epoch")?;
            let quantity = take_varint(&mut body, "quantity")?;
            let quantity = u32::try_from(quantity)
                .map_err(|_| damaged(format!("quantity {quantity} is out of range")))?;
            let name_len = take_varint(&mut body, "name length")?;
            let name_len = usize::try_from(name_len)
                .ok()
                .filter(|&n| n <= body.len())
                .ok_or_else(|| damaged(format!("name of {name_len} bytes is past the end")))?;
            let (name, id) = body.split_at(name_len);
            let name = std::str::from_utf8(name)
                .map_err(|e| damaged(format!("name is not UTF-8: {e}")))?;
            Ok(OrderEntry {
                number,
                epoch,
                request_id: decode_request_id(id)?,
                name: name.to_string(),
                quantity,
            })
        }
        Some((&LEGACY_FORMAT, _)) => {
            let entry: OrderEntry = common::encoding::decode(bytes)?;
            if entry.number != number {
                return Err(Error::Storage(format!(
                    "log key {number} holds entry number {}",
                    entry.number
                )));
            }
            Ok(entry)
        }
        Some((format, _)) => Err(Error::Storage(format!(
            "unknown log entry format {format} (this build reads {LEGACY_FORMAT} and \
             {ENTRY_FORMAT})"
        ))),
        None => Err(damaged("empty value")),
    }
}

/// The bytes a log digest hashes for `entry`: its format-1 encoding, whatever form it is stored
/// in, so that the same log has the same digest in either format (and in builds before this one).
pub fn digest_form(entry: &OrderEntry) -> Vec<u8> {
    common::encoding::encode(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u64, epoch: u64, id: &str, name: &str, quantity: u32) -> OrderEntry {
        OrderEntry {
            number,
            epoch,
            request_id: RequestId(id.into()),
            name: name.into(),
            quantity,
        }
    }

    #[test]
    fn every_kind_of_id_round_trips_and_generated_ids_take_17_bytes() {
        let fresh = RequestId::fresh();
        let ids = [
            fresh.0.as_str(),
            "g-00000000000000000000000000000000",
            "g-ffffffffffffffffffffffffffffffff",
            "k-order-42",
            "k-",
            "k-ünïcödé",
            // Not the generated form: upper case, short, long, not hex. Kept as text.
            "g-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "g-abc",
            "g-0000000000000000000000000000000000",
            "g-zz000000000000000000000000000000",
            "",
            "a",
            "planted",
        ];
        for id in ids {
            let id = RequestId(id.into());
            let key = request_key(&id);
            assert_eq!(decode_request_id(&key), Ok(id.clone()), "{id}");
            assert!(
                std::str::from_utf8(&key).is_err(),
                "{id}: a compact key is never UTF-8 text"
            );
        }
        assert_eq!(request_key(&fresh).len(), 17);
        assert_eq!(request_key(&fresh)[0], ID_GENERATED);
        assert_eq!(request_key(&RequestId("k-x".into())), [ID_KEY, b'x']);
        assert_eq!(request_key(&RequestId("g-abc".into()))[0], ID_TEXT);
    }

    #[test]
    fn entries_round_trip_without_their_number() {
        let entries = [
            entry(0, 0, &RequestId::fresh().0, "Tux", 1),
            entry(7, 3, "k-abc", "Whale", 1000),
            entry(u64::MAX, u64::MAX, "other", "", u32::MAX),
            entry(1 << 40, 1 << 48, "k-", "Lego\u{e9}", 128),
        ];
        for e in &entries {
            let bytes = encode_entry(e);
            assert_eq!(bytes[0], ENTRY_FORMAT);
            assert_eq!(decode_entry(e.number, &bytes).as_ref(), Ok(e));
            for cut in 1..bytes.len() {
                // A shorter value never reads back as the same entry.
                assert_ne!(decode_entry(e.number, &bytes[..cut]).as_ref(), Ok(e));
            }
        }
        let tux = entry(123_456, 2, &RequestId::fresh().0, "Tux", 1);
        let compact = encode_entry(&tux);
        // format, epoch, quantity, name length, "Tux", tag, 16 bytes.
        assert_eq!(compact.len(), 1 + 1 + 1 + 1 + 3 + 1 + 16);
        assert!(compact.len() + 20 < common::encoding::encode(&tux).len());
    }

    #[test]
    fn format_1_is_still_read_and_damage_is_refused() {
        let e = entry(5, 2, "g-0123456789abcdef0123456789abcdef", "Tux", 3);
        let v1 = common::encoding::encode(&e);
        assert_eq!(v1[0], LEGACY_FORMAT);
        assert_eq!(decode_entry(5, &v1), Ok(e.clone()));
        assert!(
            matches!(decode_entry(6, &v1), Err(Error::Storage(m)) if m.contains("log key 6 holds entry number 5"))
        );
        assert_eq!(digest_form(&e), v1, "digests hash the format-1 bytes");
        assert!(
            matches!(decode_entry(5, &[9, 1, 2]), Err(Error::Storage(m)) if m.contains("format 9"))
        );
        assert!(decode_entry(5, &[]).is_err());
        let overlong = [
            ENTRY_FORMAT,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0x7F,
        ];
        assert!(decode_entry(5, &overlong).is_err());
        let mut bad_tag = encode_entry(&e);
        let tag = bad_tag.len() - 17;
        bad_tag[tag] = b'g';
        assert!(decode_entry(5, &bad_tag).is_err());
        let big_quantity = [ENTRY_FORMAT, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, ID_TEXT];
        assert!(decode_entry(5, &big_quantity).is_err());
    }
}
