//! A data directory written by a build before the compact entries (format 1: bincode values with
//! the number inside, request ids as text keys) opens with [`OrderLog`] and keeps every order, its
//! deduplication and its digest; new entries go in the compact form beside the old ones.
//!
//! The old directory is made here through sled directly, exactly as that build wrote it.

use std::path::Path;

use common::encoding::{encode, u64_key, Digest};
use common::{OrderEntry, RequestId};
use order::log::{
    upgrade::{REQUESTS_FORMAT, UPGRADE_BATCH},
    LOG_TREE, META_COMMIT_LEN, META_EPOCH, META_LOG_EPOCH, META_REQUESTS_FORMAT, META_TREE,
    REQUESTS_TREE,
};
use order::stored::{request_key, ENTRY_FORMAT, LEGACY_FORMAT};
use order::OrderLog;

/// Opens `dir` as soon as the last user let go of it: sled finishes writing a dropped database
/// on its own threads, which hold the directory's lock a moment longer.
fn when_free<T, E: std::fmt::Display>(
    dir: &Path,
    open: impl Fn(&Path) -> Result<T, E>,
) -> Result<T, E> {
    for _ in 0..200 {
        match open(dir) {
            Err(e) if e.to_string().contains("could not acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            opened => return opened,
        }
    }
    open(dir)
}

fn open_sled(dir: &Path) -> sled::Db {
    when_free(dir, |dir| sled::open(dir)).unwrap()
}

fn open_log(dir: &Path) -> OrderLog {
    when_free(dir, OrderLog::open).unwrap()
}

/// The request id of the old entry `n`: generated ids, idempotency keys and one plain text id.
fn old_id(n: u64) -> RequestId {
    match n % 3 {
        _ if n == 5 => RequestId("planted".into()),
        0 => RequestId(format!("g-{:032x}", u128::from(n) * 0x9E37_79B9_7F4A_7C15)),
        1 => RequestId::from_idempotency_key(&format!("client-{n}")),
        _ => RequestId::fresh(),
    }
}

fn old_entry(n: u64, id: RequestId) -> OrderEntry {
    OrderEntry {
        number: n,
        epoch: 1 + n / 1000,
        request_id: id,
        name: ["Tux", "Whale", "Lego"][n as usize % 3].into(),
        quantity: 1 + (n % 7) as u32,
    }
}

/// Writes `count` entries as the format-1 build did: `log` value = `encode(entry)`, `requests` key
/// = the id's text, and the meta values. Returns the entries and the format-1 digest (FNV-1a over
/// every key and value of the log tree, as that build's `OrderLog::digest` computed it).
fn write_format_1(dir: &Path, count: u64, commit_len: u64) -> (Vec<OrderEntry>, String) {
    let db = open_sled(dir);
    let log = db.open_tree(LOG_TREE).unwrap();
    let requests = db.open_tree(REQUESTS_TREE).unwrap();
    let meta = db.open_tree(META_TREE).unwrap();
    let entries: Vec<OrderEntry> = (0..count).map(|n| old_entry(n, old_id(n))).collect();
    let mut digest = Digest::default();
    for entry in &entries {
        let value = encode(entry);
        assert_eq!(value[0], LEGACY_FORMAT);
        digest.update(&u64_key(entry.number));
        digest.update(&value);
        log.insert(u64_key(entry.number), value).unwrap();
        requests
            .insert(entry.request_id.0.as_bytes(), &u64_key(entry.number))
            .unwrap();
    }
    let last_epoch = entries.last().map_or(0, |e| e.epoch);
    meta.insert(META_EPOCH, &u64_key(last_epoch + 1)).unwrap();
    meta.insert(META_LOG_EPOCH, &u64_key(last_epoch)).unwrap();
    meta.insert(META_COMMIT_LEN, &u64_key(commit_len)).unwrap();
    db.flush().unwrap();
    (entries, digest.hex())
}

/// Every key of the `requests` tree, and the meta mark, read through sled once the log is closed.
fn requests_keys(dir: &Path) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let db = open_sled(dir);
    let requests = db.open_tree(REQUESTS_TREE).unwrap();
    let keys = requests
        .iter()
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    let mark = db
        .open_tree(META_TREE)
        .unwrap()
        .get(META_REQUESTS_FORMAT)
        .unwrap()
        .map(|v| v.to_vec());
    (keys, mark)
}

fn stored_format(dir: &Path, number: u64) -> u8 {
    let db = open_sled(dir);
    let value = db
        .open_tree(LOG_TREE)
        .unwrap()
        .get(u64_key(number))
        .unwrap();
    value.unwrap()[0]
}

#[tokio::test]
async fn a_format_1_directory_keeps_its_orders_dedup_and_digest_and_takes_appends() {
    let dir = tempfile::tempdir().unwrap();
    // More than two upgrade batches, so the upgrade crosses batch boundaries.
    let count = 2 * UPGRADE_BATCH as u64 + 7;
    let (entries, old_digest) = write_format_1(dir.path(), count, count - 2);

    let log = open_log(dir.path());
    let position = log.position().unwrap();
    assert_eq!((position.len, position.commit_len), (count, count - 2));
    assert_eq!(position.log_epoch, entries.last().unwrap().epoch);
    for entry in &entries {
        assert_eq!(log.get(entry.number).unwrap().as_ref(), Some(entry));
        assert_eq!(
            log.lookup(&entry.request_id).unwrap(),
            Some(entry.number),
            "a retried {} finds its order",
            entry.request_id
        );
    }
    assert_eq!(log.slice(0, count).unwrap(), entries);
    assert_eq!(log.lookup(&RequestId::fresh()).unwrap(), None);
    assert_eq!(log.lookup(&RequestId("g-planted".into())).unwrap(), None);
    assert_eq!(
        log.digest().unwrap(),
        (old_digest.clone(), count),
        "the digest of a log does not depend on its stored format"
    );

    // Appends: new orders, and a new leader's rewrite of the uncommitted old tail.
    let retried = entries[count as usize - 1].request_id.clone();
    let moved = entries[count as usize - 2].request_id.clone();
    let epoch = position.log_epoch + 1;
    let appended = [
        old_entry(count - 2, moved.clone()),
        old_entry(count - 1, RequestId::fresh()),
        old_entry(count, RequestId::from_idempotency_key("after-upgrade")),
    ]
    .map(|e| OrderEntry { epoch, ..e });
    let len = log
        .write(count - 2, &appended, count - 2, |_| true)
        .unwrap();
    assert_eq!(len, count + 1);
    assert_eq!(
        log.lookup(&retried).unwrap(),
        None,
        "its entry was replaced"
    );
    assert_eq!(log.lookup(&moved).unwrap(), Some(count - 2));
    for entry in &appended {
        assert_eq!(log.get(entry.number).unwrap().as_ref(), Some(entry));
        assert_eq!(log.lookup(&entry.request_id).unwrap(), Some(entry.number));
    }
    log.raise_meta(META_COMMIT_LEN, count + 1).unwrap();
    log.flush().await.unwrap();
    drop(log);

    // Every key is now compact, the mark is set, and the old values stay as they were.
    let (keys, mark) = requests_keys(dir.path());
    assert_eq!(keys.len() as u64, count + 1);
    assert!(keys.iter().all(|k| std::str::from_utf8(k).is_err()));
    assert!(keys.contains(&request_key(&entries[7].request_id)));
    assert_eq!(mark, Some(u64_key(REQUESTS_FORMAT).to_vec()));
    assert_eq!(stored_format(dir.path(), 0), LEGACY_FORMAT);
    assert_eq!(stored_format(dir.path(), count), ENTRY_FORMAT);

    // A second open has nothing to move and reads both formats.
    let log = open_log(dir.path());
    assert_eq!(log.position().unwrap().commit_len, count + 1);
    assert_eq!(log.get(3).unwrap().as_ref(), Some(&entries[3]));
    assert_eq!(log.lookup(&entries[3].request_id).unwrap(), Some(3));
    assert_eq!(log.get(count).unwrap().as_ref(), Some(&appended[2]));
    assert_eq!(
        log.lookup(&RequestId::from_idempotency_key("after-upgrade"))
            .unwrap(),
        Some(count)
    );
}

/// An upgrade cut short (some keys compact, some still text, no mark) finishes at the next open.
#[test]
fn an_interrupted_upgrade_finishes_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let (entries, _) = write_format_1(dir.path(), 50, 50);
    {
        let db = open_sled(dir.path());
        let requests = db.open_tree(REQUESTS_TREE).unwrap();
        for entry in &entries[..20] {
            requests.remove(entry.request_id.0.as_bytes()).unwrap();
            requests
                .insert(request_key(&entry.request_id), &u64_key(entry.number))
                .unwrap();
        }
        db.flush().unwrap();
    }
    let log = open_log(dir.path());
    for entry in &entries {
        assert_eq!(log.lookup(&entry.request_id).unwrap(), Some(entry.number));
    }
    drop(log);
    let (keys, mark) = requests_keys(dir.path());
    assert_eq!(keys.len(), 50);
    assert!(mark.is_some());
}

/// A directory whose index a newer build wrote is refused, not misread.
#[test]
fn a_newer_requests_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_format_1(dir.path(), 3, 3);
    {
        let db = open_sled(dir.path());
        let meta = db.open_tree(META_TREE).unwrap();
        meta.insert(META_REQUESTS_FORMAT, &u64_key(REQUESTS_FORMAT + 1))
            .unwrap();
        db.flush().unwrap();
    }
    let error = when_free(dir.path(), OrderLog::open)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("format 3"), "{error}");
}
