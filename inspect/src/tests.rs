//! Reading directories written by the services' own storage code.

use std::path::{Path, PathBuf};

use common::{OrderEntry, RequestId};
use order::log::{META_COMMIT_LEN, META_EPOCH, META_LOG_EPOCH};
use order::OrderLog;

use crate::{CatalogDir, DataDir, InspectError, Kind, ReplicaDir};

fn entry(number: u64, request: &str) -> OrderEntry {
    OrderEntry {
        number,
        epoch: 2,
        request_id: RequestId(request.into()),
        name: "Tux".into(),
        quantity: 1,
    }
}

/// A replica directory `order-2` with three entries, two committed; returns its log's digest.
async fn write_replica(root: &Path) -> (PathBuf, String) {
    let dir = root.join("order-2");
    let log = OrderLog::open(&dir).unwrap();
    let entries = [entry(0, "a"), entry(1, "b"), entry(2, "c")];
    log.write(0, &entries, 0, |_| false).unwrap();
    log.raise_meta(META_EPOCH, 3).unwrap();
    log.raise_meta(META_LOG_EPOCH, 2).unwrap();
    log.raise_meta(META_COMMIT_LEN, 2).unwrap();
    log.flush().await.unwrap();
    let (digest, _) = log.digest().unwrap();
    (dir, digest)
}

#[tokio::test]
async fn a_replica_reads_back_with_the_logs_own_digest() {
    let root = tempfile::tempdir().unwrap();
    let (dir, digest) = write_replica(root.path()).await;
    let replica = ReplicaDir::open(&dir, false).unwrap();
    assert_eq!(replica.id(), 2);
    let summary = replica.summary().unwrap();
    assert_eq!((summary.epoch, summary.log_epoch), (3, 2));
    assert_eq!(
        (summary.commit, summary.last, summary.entries),
        (Some(1), Some(2), 3)
    );
    assert!(summary.dense);
    assert_eq!(summary.digest, digest, "same digest as OrderLog::digest");
    let snapshot = replica.snapshot().unwrap();
    assert_eq!(
        snapshot.digest(),
        digest,
        "re-encoding gives the same bytes"
    );
    let middle: Vec<_> = replica.entries(1, Some(1)).map(Result::unwrap).collect();
    assert_eq!(middle, [entry(1, "b")]);
}

/// A replica directory as builds before the compact entries wrote it: format-1 values (bincode,
/// number inside) and text request keys, through sled directly. Entry `i` goes under key `i`.
fn write_format_1_replica(dir: &Path, entries: &[OrderEntry]) {
    use common::encoding::{encode, u64_key};
    let db = sled::open(dir).unwrap();
    let log = db.open_tree(order::log::LOG_TREE).unwrap();
    let requests = db.open_tree(order::log::REQUESTS_TREE).unwrap();
    let meta = db.open_tree(order::log::META_TREE).unwrap();
    for (i, e) in (0u64..).zip(entries) {
        log.insert(u64_key(i), encode(e)).unwrap();
        requests
            .insert(e.request_id.0.as_bytes(), &u64_key(i))
            .unwrap();
    }
    meta.insert(META_EPOCH, &u64_key(3)).unwrap();
    meta.insert(META_COMMIT_LEN, &u64_key(2)).unwrap();
    db.flush().unwrap();
}

#[tokio::test]
async fn both_stored_formats_read_alike_and_diff_as_identical() {
    let root = tempfile::tempdir().unwrap();
    let (compact, digest) = write_replica(root.path()).await;
    let old = root.path().join("order-1");
    let entries = [entry(0, "a"), entry(1, "b"), entry(2, "c")];
    write_format_1_replica(&old, &entries);
    let old = ReplicaDir::open(&old, false).unwrap();
    let compact = ReplicaDir::open(&compact, false).unwrap();
    let summary = old.summary().unwrap();
    assert_eq!((summary.entries, summary.commit), (3, Some(1)));
    assert_eq!(
        summary.digest, digest,
        "the digest ignores the stored format"
    );
    assert_eq!(old.snapshot().unwrap().entries, entries);
    assert_eq!(compact.snapshot().unwrap().entries, entries);
    let diff = crate::diff(&old, &compact).unwrap();
    assert!(diff.identical, "{diff:?}");
    assert_eq!(
        (diff.a.digest.as_str(), diff.b.entries),
        (digest.as_str(), 3)
    );

    // A format-1 directory that a new build then appended to holds both formats.
    let mixed = root.path().join("order-3");
    write_format_1_replica(&mixed, &entries[..2]);
    // sled lets go of a dropped database's lock from its own threads, a moment later.
    let log = (0..200)
        .find_map(|_| {
            let opened = OrderLog::open(&mixed).ok();
            if opened.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            opened
        })
        .expect("the format-1 directory opens");
    log.write(2, &entries[2..], 2, |_| false).unwrap();
    log.flush().await.unwrap();
    drop(log);
    let mixed = ReplicaDir::open(&mixed, false).unwrap();
    assert_eq!(mixed.summary().unwrap().digest, digest);
    assert!(crate::diff(&mixed, &old).unwrap().identical);

    // A format-1 value under another number's key is damage, named.
    let wrong = root.path().join("wrong");
    write_format_1_replica(&wrong, &[entry(0, "a"), entry(7, "b")]);
    let message = ReplicaDir::open(&wrong, false)
        .unwrap()
        .summary()
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("log key 1 holds entry number 7"),
        "{message}"
    );
}

#[tokio::test]
async fn a_held_directory_is_named_and_only_forced_open() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("order-3");
    let log = OrderLog::open(&dir).unwrap();
    log.write(0, &[entry(0, "a")], 0, |_| false).unwrap();
    log.flush().await.unwrap();
    let Err(held @ InspectError::Held { .. }) = ReplicaDir::open(&dir, false) else {
        panic!("a held directory must be refused");
    };
    let message = held.to_string();
    assert!(
        message.contains("in use by a running service: order replica 3"),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");
    let forced = ReplicaDir::open(&dir, true).unwrap();
    assert_eq!(
        forced.held_by().map(|h| h.service.as_str()),
        Some("order replica 3")
    );
    assert_eq!(forced.summary().unwrap().entries, 1);
}

#[test]
fn what_is_not_a_data_directory_says_so() {
    let root = tempfile::tempdir().unwrap();
    let message = |path: &Path| match crate::open(path, false) {
        Err(e @ InspectError::NotDataDir { .. }) => e.to_string(),
        Err(e) => panic!("{}: wrong error {e}", path.display()),
        Ok(_) => panic!("{} opened", path.display()),
    };
    assert!(message(&root.path().join("missing")).contains("no such directory"));
    std::fs::write(root.path().join("file"), "x").unwrap();
    assert!(message(&root.path().join("file")).contains("is a file"));
    std::fs::create_dir(root.path().join("order-1")).unwrap();
    let at_root = message(root.path());
    assert!(at_root.contains("holds no sled database"), "{at_root}");
    assert!(at_root.contains("looks like a data root"), "{at_root}");
    let other = root.path().join("other");
    sled::open(&other).unwrap().open_tree("unrelated").unwrap();
    assert!(message(&other).contains("neither a catalog nor an order replica"));
}

#[tokio::test]
async fn damaged_files_are_an_error_not_a_panic() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _) = write_replica(root.path()).await;
    let size = std::fs::metadata(dir.join("db")).unwrap().len() as usize;
    std::fs::write(dir.join("db"), vec![0xAB; size]).unwrap();
    match crate::open(&dir, false) {
        Err(e @ InspectError::Damaged { .. }) => assert!(e.to_string().contains("order-2"), "{e}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("garbage opened"),
    }
    std::fs::write(dir.join("conf"), b"not a sled config").unwrap();
    assert!(matches!(
        crate::open(&dir, false),
        Err(InspectError::Damaged { .. })
    ));
}

#[test]
fn the_catalog_is_recognised_and_refused_as_a_replica() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("catalog");
    let products = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/products.json");
    drop(catalog::StockStore::open(&dir, &products).unwrap());
    let Ok(DataDir::Catalog(catalog)) = crate::open(&dir, false) else {
        panic!("not recognised as the catalog");
    };
    let summary = catalog.summary().unwrap();
    assert!(!summary.toys.is_empty());
    assert_eq!(
        summary.journal_len,
        summary.toys.len() as u64,
        "one initial load each"
    );
    let tux = summary.toys.iter().find(|t| t.name == "Tux").unwrap();
    assert_eq!(
        (tux.price.as_str(), tux.quantity, tux.sold),
        ("25.99", 100, 0)
    );
    let snapshot = catalog.snapshot().unwrap();
    assert_eq!(snapshot.products.len(), summary.toys.len());
    let message = ReplicaDir::open(&dir, false).err().unwrap().to_string();
    assert!(
        message.contains("the catalog's data directory, not an order replica's"),
        "{message}"
    );
    assert_eq!(
        CatalogDir::open(&dir, false)
            .map(|c| c.path().to_path_buf())
            .ok(),
        Some(dir.clone())
    );
    assert_eq!(Kind::Replica(2).to_string(), "order replica 2");
}

/// Not a check but a fixture for a manual one: writes a million-entry replica log at `$BIG_LOG`
/// (`BIG_LOG=/tmp/big/order-1 cargo test -p inspect -- --ignored write_big_log`, about 370 MB), to
/// see `toystore inspect orders` stream it in bounded memory.
#[tokio::test]
#[ignore]
async fn write_big_log() {
    let dir = PathBuf::from(std::env::var("BIG_LOG").unwrap());
    let log = OrderLog::open(&dir).unwrap();
    let mut len = 0;
    for _ in 0..100 {
        let batch: Vec<_> = (len..len + 10_000)
            .map(|n| entry(n, &format!("g-{n:032x}")))
            .collect();
        len = log.write(len, &batch, len, |_| false).unwrap();
    }
    log.raise_meta(META_COMMIT_LEN, len).unwrap();
    log.flush().await.unwrap();
}
