//! Keys of the JSON reports the command line prints. Reports are read by scripts, so every key
//! is snake_case even where the text report labels the same figure in words ("orders read
//! back", "frontend-1"): one function turns a label into its key, so the two never drift.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;

/// The snake_case key of a label: lowercase ASCII letters and digits, every other run of
/// characters one `_`, none at either end (`"errors while frontend-1 down"` becomes
/// `errors_while_frontend_1_down`).
pub fn snake_case(label: &str) -> String {
    let mut key = String::with_capacity(label.len());
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key
}

/// `#[serde(serialize_with = "common::report_keys::snake_keys")]` for a map labelled in words.
///
/// # Errors
/// Whatever the serializer refuses.
pub fn snake_keys<S: Serializer, V: Serialize>(
    map: &BTreeMap<String, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut out = serializer.serialize_map(Some(map.len()))?;
    for (label, value) in map {
        out.serialize_entry(&snake_case(label), value)?;
    }
    out.end()
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn labels_become_snake_case_keys() {
        assert_eq!(snake_case("order replicas"), "order_replicas");
        assert_eq!(
            snake_case("errors while frontend-1 down"),
            "errors_while_frontend_1_down"
        );
        assert_eq!(snake_case("Replica 2 digest"), "replica_2_digest");
        assert_eq!(snake_case(" p99 (ms) "), "p99_ms");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }
}
