//! Percent-decoding of path segments. The routes themselves are tested end to end against the
//! real processes in `tests/catalog.rs` and `tests/frontend.rs`.

use super::*;

/// Decoding of path segments, including the refusals.
#[test]
fn percent_decoding() {
    let cases = [
        ("Tux", Some("Tux")),
        ("Rubik%27s%20Cube", Some("Rubik's Cube")),
        ("Rubik's%20Cube", Some("Rubik's Cube")),
        ("Yo-yo", Some("Yo-yo")),
        ("%C3%A9t%c3%a9", Some("été")),
        ("a+b", Some("a+b")),
        ("%", None),
        ("%4", None),
        ("%+1", None),
        ("%zz", None),
        ("%FF", None),
    ];
    for (raw, expected) in cases {
        let decoded = percent_decode(raw);
        match expected {
            Some(expected) => assert_eq!(decoded.as_deref(), Ok(expected), "{raw}"),
            None => assert!(
                matches!(decoded, Err(Error::BadRequest(_))),
                "{raw}: {decoded:?}"
            ),
        }
    }
}
