//! The storage and wire encoding: bincode 2 (serde) with one leading format-version byte, so a
//! future format change can read old data or refuse it clearly instead of misreading it. The
//! order log's entries have their own compact form (`order::stored`, format 2), which still reads
//! entries in this encoding as its format 1, and hashes them in it for log digests.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};

/// The format version written before every encoded value.
pub const FORMAT_VERSION: u8 = 1;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes `value` with the format-version byte in front.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("encoding into a Vec cannot fail for the store's plain data types");
    out
}

/// Decodes a value written by [`encode`].
///
/// # Errors
/// An empty value, an unknown format version, or bytes that do not decode (damaged data).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    decode_with_rest(bytes).map(|(value, _)| value)
}

/// [`decode`], and the bytes after the value: a record may carry a trailer that builds which
/// do not know it skip (as [`decode`] does).
///
/// # Errors
/// As [`decode`].
pub fn decode_with_rest<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8])> {
    match bytes.split_first() {
        None => Err(Error::Storage("empty value".into())),
        Some((&FORMAT_VERSION, body)) => bincode::serde::decode_from_slice(body, config())
            .map(|(value, used)| (value, &body[used..]))
            .map_err(|e| Error::Storage(format!("undecodable value: {e}"))),
        Some((version, _)) => Err(Error::Storage(format!(
            "unknown format version {version} (this build reads {FORMAT_VERSION})"
        ))),
    }
}

/// Big-endian key for a u64, so sled's byte order is numeric order and range scans come out sorted.
pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Inverse of [`u64_key`].
///
/// # Errors
/// A key that is not 8 bytes long.
pub fn key_u64(key: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| Error::Storage(format!("key of {} bytes, not 8", key.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{OrderEntry, RequestId};

    #[test]
    fn round_trip_and_refusals() {
        let entry = OrderEntry {
            number: 7,
            epoch: 3,
            request_id: RequestId("k-abc".into()),
            name: "Tux".into(),
            quantity: 2,
        };
        let bytes = encode(&entry);
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<OrderEntry>(&bytes), Ok(entry));
        let mut wrong_version = bytes.clone();
        wrong_version[0] = 9;
        assert!(
            matches!(decode::<OrderEntry>(&wrong_version), Err(Error::Storage(m)) if m.contains("version 9"))
        );
        assert!(decode::<OrderEntry>(&[]).is_err());
        assert!(decode::<OrderEntry>(&bytes[..3]).is_err());
        assert_eq!(key_u64(&u64_key(42)), Ok(42));
        assert!(
            u64_key(1) < u64_key(256),
            "big-endian keys sort numerically"
        );
    }
}

/// FNV-1a, 64 bits: a stable digest (unlike std's hasher, whose algorithm may change between Rust
/// releases), used to compare replica logs.
#[derive(Clone, Copy, Debug)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    /// Feeds bytes into the digest.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The digest as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Makes everything written to `db` so far durable. sled 0.34's `flush_async` can hang forever
/// when several run at once (sled issue 1308), and every service flushes from concurrent
/// requests, so this runs the blocking `flush` on tokio's blocking pool instead.
///
/// # Errors
/// The flush failed: nothing written since the last flush may be acknowledged.
pub async fn flush(db: &sled::Db) -> Result<()> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.flush())
        .await
        .map_err(|e| Error::Internal(format!("flush task failed: {e}")))??;
    Ok(())
}
