//! What a valid client request is: percent-decoding of path segments, the order body, the
//! idempotency key and the order number. Pure functions over bytes and strings, so the table of
//! bad inputs is unit-tested without a server.

use common::{Error, OrderNumber, RequestId, Result, MAX_ORDER_QUANTITY, MIN_ORDER_QUANTITY};
use serde_json::Value;

/// Longest idempotency key accepted, in bytes.
pub(crate) const MAX_IDEMPOTENCY_KEY: usize = 128;

/// An order as the client asked for it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrderRequest {
    pub name: String,
    pub quantity: u32,
}

pub(crate) use common::path::decode_segment as percent_decode;

/// The message for a quantity out of range or not a whole number.
fn bad_quantity() -> Error {
    Error::BadRequest(format!(
        "quantity must be a whole number from {MIN_ORDER_QUANTITY} to {MAX_ORDER_QUANTITY}"
    ))
}

/// Parses and checks a `POST /orders` body: `{"name": "Tux", "quantity": 1}`. Fields other than
/// these two are ignored.
///
/// # Errors
/// [`Error::BadRequest`] naming the problem: malformed JSON, a key named twice, not an object, a
/// missing field, a name that is not a string, a quantity that is not a whole number in range.
pub(crate) fn parse_order(body: &[u8]) -> Result<OrderRequest> {
    common::http::refuse_duplicate_keys(body)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("malformed body: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(Error::BadRequest(
            "malformed body: expected a JSON object".into(),
        ));
    };
    let name = match fields.get("name") {
        None => return Err(Error::BadRequest("missing field `name`".into())),
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(Error::BadRequest("name must be a string".into())),
    };
    let quantity = match fields.get("quantity") {
        None => return Err(Error::BadRequest("missing field `quantity`".into())),
        Some(Value::Number(n)) => whole_number(n).ok_or_else(bad_quantity)?,
        Some(_) => return Err(bad_quantity()),
    };
    if !(MIN_ORDER_QUANTITY..=MAX_ORDER_QUANTITY).contains(&quantity) {
        return Err(bad_quantity());
    }
    Ok(OrderRequest { name, quantity })
}

/// The number as a u32 when it is a whole number that fits (`2` and `2.0` both count).
fn whole_number(n: &serde_json::Number) -> Option<u32> {
    if let Some(n) = n.as_u64() {
        return u32::try_from(n).ok();
    }
    let f = n.as_f64()?;
    // A float is only accepted when it is exactly a small whole number, so the cast is exact.
    (f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f)).then_some(f as u32)
}

/// The request id for an order: from the `Idempotency-Key` header when there is one, fresh
/// otherwise.
///
/// # Errors
/// A key that is empty, longer than [`MAX_IDEMPOTENCY_KEY`], or not visible ASCII.
pub(crate) fn request_id(key: Option<&[u8]>) -> Result<RequestId> {
    let Some(key) = key else {
        return Ok(RequestId::fresh());
    };
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(Error::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters long"
        )));
    }
    if !key.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Error::BadRequest(
            "Idempotency-Key must be visible ASCII characters only".into(),
        ));
    }
    // Visible ASCII is UTF-8, checked just above.
    let key = std::str::from_utf8(key).expect("visible ASCII is valid UTF-8");
    Ok(RequestId::from_idempotency_key(key))
}

/// Parses the `{number}` of `GET /orders/{number}`: digits only (no sign, no spaces).
///
/// # Errors
/// Anything that is not a non-negative integer that fits in 64 bits.
pub(crate) fn parse_order_number(text: &str) -> Result<OrderNumber> {
    let bad = || Error::BadRequest("order number must be a non-negative integer".into());
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        let cases = [
            ("Tux", Ok("Tux")),
            ("Rubik%27s%20Cube", Ok("Rubik's Cube")),
            ("Rubik's%20Cube", Ok("Rubik's Cube")),
            ("Teddy%20Bear", Ok("Teddy Bear")),
            ("Yo-yo", Ok("Yo-yo")),
            ("a+b", Ok("a+b")),
            ("caf%C3%A9", Ok("café")),
            ("%7e%7E", Ok("~~")),
            ("bad%", Err(())),
            ("bad%2", Err(())),
            ("bad%zz", Err(())),
            ("%FF", Err(())),
            ("%C3", Err(())),
        ];
        for (input, want) in cases {
            let got = percent_decode(input);
            match want {
                Ok(text) => assert_eq!(got, Ok(text.to_string()), "{input}"),
                Err(()) => {
                    assert!(matches!(got, Err(Error::BadRequest(_))), "{input}: {got:?}")
                }
            }
        }
    }

    /// A body case: its name, the body, and the order it makes or the start of its 400 message.
    type BodyCase = (
        &'static str,
        &'static str,
        Result<(&'static str, u32), &'static str>,
    );

    #[test]
    fn order_body_table() {
        let quantity = "quantity must be a whole number from 1 to 1000";
        let cases: &[BodyCase] = &[
            ("valid", r#"{"name":"Tux","quantity":1}"#, Ok(("Tux", 1))),
            (
                "largest",
                r#"{"name":"Tux","quantity":1000}"#,
                Ok(("Tux", 1000)),
            ),
            (
                "whole float",
                r#"{"name":"Tux","quantity":2.0}"#,
                Ok(("Tux", 2)),
            ),
            (
                "extra field",
                r#"{"name":"Tux","quantity":3,"x":1}"#,
                Ok(("Tux", 3)),
            ),
            ("empty", "", Err("malformed body: ")),
            (
                "name twice",
                r#"{"name":"Tux","quantity":1,"name":"Whale"}"#,
                Err("malformed body: duplicate key `name`"),
            ),
            ("not json", "name=Tux", Err("malformed body: ")),
            ("truncated", r#"{"name":"Tux""#, Err("malformed body: ")),
            (
                "array",
                "[1,2]",
                Err("malformed body: expected a JSON object"),
            ),
            ("no name", r#"{"quantity":1}"#, Err("missing field `name`")),
            (
                "no quantity",
                r#"{"name":"Tux"}"#,
                Err("missing field `quantity`"),
            ),
            (
                "name number",
                r#"{"name":5,"quantity":1}"#,
                Err("name must be a string"),
            ),
            (
                "name null",
                r#"{"name":null,"quantity":1}"#,
                Err("name must be a string"),
            ),
            ("zero", r#"{"name":"Tux","quantity":0}"#, Err(quantity)),
            ("negative", r#"{"name":"Tux","quantity":-1}"#, Err(quantity)),
            (
                "too many",
                r#"{"name":"Tux","quantity":1001}"#,
                Err(quantity),
            ),
            ("huge", r#"{"name":"Tux","quantity":1e30}"#, Err(quantity)),
            (
                "fraction",
                r#"{"name":"Tux","quantity":1.5}"#,
                Err(quantity),
            ),
            ("string", r#"{"name":"Tux","quantity":"1"}"#, Err(quantity)),
            ("null", r#"{"name":"Tux","quantity":null}"#, Err(quantity)),
        ];
        for (case, body, want) in cases {
            let got = parse_order(body.as_bytes());
            match want {
                Ok((name, qty)) => assert_eq!(
                    got,
                    Ok(OrderRequest {
                        name: name.to_string(),
                        quantity: *qty
                    }),
                    "case {case}"
                ),
                Err(prefix) => match got {
                    Err(Error::BadRequest(message)) => {
                        assert!(message.starts_with(prefix), "case {case}: {message}")
                    }
                    other => panic!("case {case}: wanted 400 {prefix:?}, got {other:?}"),
                },
            }
        }
    }

    #[test]
    fn idempotency_keys() {
        assert!(request_id(None).unwrap().0.starts_with("g-"));
        assert_ne!(request_id(None).unwrap(), request_id(None).unwrap());
        assert_eq!(
            request_id(Some(b"abc-1")).unwrap(),
            RequestId::from_idempotency_key("abc-1")
        );
        assert!(request_id(Some(&[b'k'; 128])).is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 129],
            b"has space",
            b"tab\t",
            "é".as_bytes(),
        ] {
            assert!(
                matches!(request_id(Some(bad)), Err(Error::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn order_numbers() {
        assert_eq!(parse_order_number("0"), Ok(0));
        assert_eq!(parse_order_number("0042"), Ok(42));
        assert_eq!(parse_order_number("18446744073709551615"), Ok(u64::MAX));
        for bad in ["", "-1", "+1", "1.0", "abc", " 1", "18446744073709551616"] {
            assert_eq!(
                parse_order_number(bad),
                Err(Error::BadRequest(
                    "order number must be a non-negative integer".into()
                )),
                "{bad:?}"
            );
        }
    }
}
