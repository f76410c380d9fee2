//! What a crash (SIGKILL) at a bad moment does to versions: whatever a reader was shown must be
//! on disk, or a restarted catalog hands the same version out again for a different quantity.
//!
//! A crash is simulated by copying the database directory while sled's background flush is off:
//! the copy holds exactly what the store flushed, which is what `kill -9` leaves behind.

use super::*;
use common::RequestId;

const PRODUCTS: &str = r#"[{"name": "Tux", "price": 25.99, "quantity": 100}]"#;

fn buy(id: &str, name: &str, quantity: u32) -> BuyRequest {
    BuyRequest {
        request_id: RequestId(id.into()),
        name: name.into(),
        quantity,
    }
}

/// A store at `dir/catalog` that writes to disk only when it flushes itself.
fn store_without_background_flush(dir: &Path) -> StockStore {
    let file = dir.join("products.json");
    std::fs::write(&file, PRODUCTS).expect("write products file");
    let config = sled::Config::new()
        .path(dir.join("catalog"))
        .flush_every_ms(None);
    StockStore::open_with(config, &file).expect("the test catalog loads")
}

/// The database as a SIGKILL now would leave it, opened as the restarted catalog.
fn reopen_after_crash(dir: &Path) -> StockStore {
    let crashed = dir.join("crashed");
    copy_dir(&dir.join("catalog"), &crashed);
    StockStore::open(&crashed, &dir.join("products.json")).expect("the crashed copy opens")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("read database directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A product read between a buy's commit and its flush (a frontend's cache fill, say) shows a
/// version; after a crash at that moment, the next change still gets a higher version, so no
/// frontend holds a version that now means a different quantity.
#[tokio::test]
async fn a_version_read_before_a_crash_is_never_handed_out_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_without_background_flush(dir.path());
    // The buy's transaction has committed; its flush has not run yet.
    store
        .decide_buys(&[buy("r1", "Tux", 1)])
        .expect("the buy commits");
    let shown = store.get("Tux").await.expect("Tux reads");
    let restarted = reopen_after_crash(dir.path());
    let next = restarted
        .buy(&buy("r2", "Tux", 5))
        .await
        .expect("the buy after the restart");
    assert!(
        next.version > shown.version,
        "version {} was shown with quantity {} before the crash and handed out again with \
         quantity {} after it",
        shown.version,
        shown.quantity,
        next.remaining
    );
}

/// The same for a restock: a restocked quantity read before its flush is not lost to a crash
/// under a version that the next change reuses.
#[tokio::test]
async fn a_restocked_version_read_before_a_crash_is_never_handed_out_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_without_background_flush(dir.path());
    store.buy(&buy("all", "Tux", 100)).await.expect("sell out");
    let sold_out = store.scan().expect("scan");
    store
        .commit_restock(&[sold_out[0].name.clone()])
        .expect("the restock commits");
    let shown = store.get("Tux").await.expect("Tux reads");
    assert_eq!(shown.quantity, 100, "restocked");
    let restarted = reopen_after_crash(dir.path());
    let after = restarted.get("Tux").await.expect("Tux reads");
    assert!(
        after.version >= shown.version,
        "version {} (quantity {}) was shown before the crash; the restarted catalog is back at \
         version {} (quantity {})",
        shown.version,
        shown.quantity,
        after.version,
        after.quantity
    );
}
