use super::*;
use common::{RequestId, MAX_ORDER_QUANTITY};

const PRODUCTS: &str = r#"[
    {"name": "Tux", "price": 25.99, "quantity": 3},
    {"name": "Fox", "price": 15.00, "quantity": 100},
    {"name": "Rubik's Cube", "price": 12.5, "quantity": 1}
]"#;

/// A store in a fresh temporary directory, loaded from `products`.
fn store_with(products: &str) -> (tempfile::TempDir, Result<StockStore, CatalogError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("products.json");
    std::fs::write(&file, products).expect("write products file");
    let store = StockStore::open(&dir.path().join("catalog"), &file);
    (dir, store)
}

fn store() -> (tempfile::TempDir, StockStore) {
    let (dir, store) = store_with(PRODUCTS);
    (dir, store.expect("the test catalog loads"))
}

fn buy(id: &str, name: &str, quantity: u32) -> BuyRequest {
    BuyRequest {
        request_id: RequestId(id.into()),
        name: name.into(),
        quantity,
    }
}

/// The first start loads every toy at version 1 with exact cents and one Initial movement each.
#[tokio::test]
async fn first_start_loads_products_file() {
    let (_dir, store) = store();
    let tux = Product {
        name: "Tux".into(),
        price_cents: 2599,
        quantity: 3,
        version: 1,
    };
    assert_eq!(store.get("Tux").await, Ok(tux));
    assert_eq!(store.get("Fox").await.map(|p| p.price_cents), Ok(1500));
    assert_eq!(
        store.get("Rubik's Cube").await.map(|p| p.price_cents),
        Ok(1250)
    );
    assert_eq!(
        store.get("Lego").await,
        Err(Error::NotFound("product not found".into()))
    );
    let names: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Fox", "Rubik's Cube", "Tux"]);
    let journal = store.journal().unwrap();
    assert_eq!(journal.len(), 3);
    assert!(journal
        .iter()
        .all(|(_, m)| m.kind == MovementKind::Initial && m.version == 1));
    assert!(
        journal.windows(2).all(|w| w[0].0 < w[1].0),
        "journal keys increase"
    );
}

/// The repository's own data/products.json loads, with exact cents for every price.
#[tokio::test]
async fn shipped_products_file_loads() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/products.json");
    let dir = tempfile::tempdir().unwrap();
    let store = StockStore::open(&dir.path().join("catalog"), &file).unwrap();
    assert!(store.list().await.unwrap().iter().all(|p| p.version == 1));
    for (name, cents) in [
        ("Tux", 2599),
        ("Whale", 3450),
        ("Fox", 1500),
        ("Yo-yo", 350),
    ] {
        assert_eq!(
            store.get(name).await.map(|p| p.price_cents),
            Ok(cents),
            "{name}"
        );
    }
    assert_eq!(
        store.get("Rubik's Cube").await.map(|p| p.price_cents),
        Ok(1249)
    );
}

/// A restart keeps the stock it had and does not read the products file again.
#[tokio::test]
async fn restart_keeps_stock_and_ignores_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("products.json");
    std::fs::write(&file, PRODUCTS).unwrap();
    let path = dir.path().join("catalog");
    {
        let store = StockStore::open(&path, &file).unwrap();
        store.buy(&buy("r1", "Tux", 2)).await.unwrap();
    }
    std::fs::write(&file, "not json").unwrap();
    let store = StockStore::open(&path, &file).unwrap();
    assert_eq!(
        store.get("Tux").await.map(|p| (p.quantity, p.version)),
        Ok((1, 2))
    );
    assert_eq!(store.journal().unwrap().len(), 4);
}

/// Each malformed products file is refused with a message naming the file and the problem.
#[test]
fn bad_products_files_are_refused() {
    let cases = [
        ("not a list", r#"{"name": "Tux"}"#, "expected a JSON list"),
        ("empty list", "[]", "empty"),
        (
            "empty name",
            r#"[{"name": " ", "price": 1, "quantity": 1}]"#,
            "empty name",
        ),
        (
            "duplicate",
            r#"[{"name": "Tux", "price": 1, "quantity": 1},
                {"name": "Tux", "price": 2, "quantity": 1}]"#,
            "listed twice",
        ),
        (
            "three decimals",
            r#"[{"name": "Tux", "price": 1.999, "quantity": 1}]"#,
            "price",
        ),
        (
            "negative price",
            r#"[{"name": "Tux", "price": -1, "quantity": 1}]"#,
            "price",
        ),
        (
            "negative quantity",
            r#"[{"name": "Tux", "price": 1, "quantity": -1}]"#,
            "quantity",
        ),
        (
            "unknown field",
            r#"[{"name": "Tux", "price": 1, "quantity": 1, "x": 0}]"#,
            "x",
        ),
    ];
    for (case, text, expected) in cases {
        let (_dir, store) = store_with(text);
        let err = store.expect_err(case).to_string();
        assert!(
            err.contains("bad products file") && err.contains("products.json"),
            "{case}: {err}"
        );
        assert!(err.contains(expected), "{case}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let err = StockStore::open(&dir.path().join("catalog"), &missing)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read products file") && err.contains("missing.json"),
        "{err}"
    );
}

/// A buy within stock takes it and journals it; beyond stock it is refused and takes nothing.
#[tokio::test]
async fn buy_within_and_beyond_stock() {
    let (_dir, store) = store();
    let receipt = store.buy(&buy("r1", "Tux", 2)).await;
    assert_eq!(
        receipt,
        Ok(BuyReceipt {
            version: 2,
            remaining: 1
        })
    );
    assert_eq!(
        store.buy(&buy("r2", "Tux", 2)).await,
        Err(Error::OutOfStock)
    );
    assert_eq!(
        store.buy(&buy("r3", "Tux", 1)).await,
        Ok(BuyReceipt {
            version: 3,
            remaining: 0
        })
    );
    assert_eq!(
        store.buy(&buy("r4", "Tux", 1)).await,
        Err(Error::OutOfStock)
    );
    assert_eq!(
        store.buy(&buy("r5", "Lego", 1)).await,
        Err(Error::NotFound("product not found".into()))
    );
    assert_eq!(
        store.get("Tux").await.map(|p| (p.quantity, p.version)),
        Ok((0, 3))
    );
    let journal = store.journal().unwrap();
    let last = &journal.last().unwrap().1;
    let expected = Movement {
        name: "Tux".into(),
        kind: MovementKind::Buy {
            request_id: RequestId("r3".into()),
        },
        delta: -1,
        quantity_after: 0,
        version: 3,
    };
    assert_eq!(last, &expected);
    assert_eq!(
        journal.len(),
        5,
        "3 initial + 2 buys; refused buys are not movements"
    );
}

/// A quantity outside 1..=1000 is a bad request and is not recorded.
#[tokio::test]
async fn buy_refuses_bad_quantities() {
    let (_dir, store) = store();
    for quantity in [0, MAX_ORDER_QUANTITY + 1] {
        let err = store.buy(&buy("bad", "Fox", quantity)).await.unwrap_err();
        assert_eq!(
            err,
            Error::BadRequest("quantity must be a whole number from 1 to 1000".into()),
            "{quantity}"
        );
    }
    assert_eq!(
        store.buy(&buy("bad", "Fox", 1)).await.map(|r| r.remaining),
        Ok(99)
    );
}

/// The same request id twice takes stock once and gets the same answer, whatever came between.
#[tokio::test]
async fn same_request_id_takes_stock_once() {
    let (_dir, store) = store();
    let first = store.buy(&buy("k-1", "Tux", 1)).await;
    assert_eq!(
        first,
        Ok(BuyReceipt {
            version: 2,
            remaining: 2
        })
    );
    store.buy(&buy("k-2", "Tux", 1)).await.unwrap();
    assert_eq!(store.buy(&buy("k-1", "Tux", 1)).await, first);
    assert_eq!(store.get("Tux").await.map(|p| p.quantity), Ok(1));
    // A refusal is an outcome too: it stays refused even once stock is back.
    assert_eq!(
        store.buy(&buy("k-3", "Tux", 5)).await,
        Err(Error::OutOfStock)
    );
    store.buy(&buy("k-4", "Tux", 1)).await.unwrap();
    store.restock_sold_out().await.unwrap();
    assert_eq!(
        store.buy(&buy("k-3", "Tux", 5)).await,
        Err(Error::OutOfStock)
    );
    assert_eq!(store.get("Tux").await.map(|p| p.quantity), Ok(3));
}

/// Concurrent buys of the last units never oversell, and each request is answered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_buys_never_oversell() {
    let (_dir, store) = store();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.buy(&buy(&format!("c-{i}"), "Fox", 7)).await })
        })
        .collect();
    let mut bought = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => bought += 1,
            Err(e) => assert_eq!(e, Error::OutOfStock),
        }
    }
    assert_eq!(bought, 14, "100 units / 7 per order");
    assert_eq!(
        store.get("Fox").await.map(|p| (p.quantity, p.version)),
        Ok((2, 15))
    );
}

/// Restock refills only sold-out toys, bumps their version and journals it; a second round with
/// nothing sold out changes nothing.
#[tokio::test]
async fn restock_refills_sold_out_toys() {
    let (_dir, store) = store();
    store.buy(&buy("r1", "Tux", 3)).await.unwrap();
    store.buy(&buy("r2", "Rubik's Cube", 1)).await.unwrap();
    store.buy(&buy("r3", "Fox", 1)).await.unwrap();
    let restocked = store.restock_sold_out().await.unwrap();
    let summary: Vec<_> = restocked
        .iter()
        .map(|p| (p.name.as_str(), p.quantity, p.version))
        .collect();
    assert_eq!(summary, [("Rubik's Cube", 1, 3), ("Tux", 3, 3)]);
    assert_eq!(
        store.get("Fox").await.map(|p| (p.quantity, p.version)),
        Ok((99, 2))
    );
    let last = store.journal().unwrap().pop().unwrap().1;
    assert_eq!(
        (last.kind, last.delta, last.quantity_after),
        (MovementKind::Restock, 3, 3)
    );
    assert_eq!(store.restock_sold_out().await, Ok(Vec::new()));
}

/// A batch sees its own earlier buys: two buys of one toy in one batch both take stock, a third
/// that no longer fits is refused, a bad quantity is refused alone, and a repeated id in the batch
/// gets the first outcome.
#[tokio::test]
async fn a_batch_takes_stock_in_order_and_refuses_each_request_alone() {
    let (_dir, store) = store();
    let before = store.get("Fox").await.unwrap().quantity;
    let batch = [
        buy("b1", "Fox", 40),
        buy("b2", "Fox", 40),
        buy("b3", "Fox", before - 79),
        buy("b4", "Fox", 0),
        buy("b1", "Fox", 40),
        buy("b5", "Unicorn", 1),
    ];
    let outcomes = store.buy_many(&batch).await.unwrap();
    let remaining: Vec<_> = outcomes
        .iter()
        .map(|o| o.as_ref().map(|r| r.remaining))
        .collect();
    assert_eq!(remaining[0], Ok(before - 40));
    assert_eq!(remaining[1], Ok(before - 80));
    assert_eq!(remaining[2], Err(&Error::OutOfStock));
    assert!(
        matches!(remaining[3], Err(Error::BadRequest(_))),
        "{:?}",
        remaining[3]
    );
    assert_eq!(
        remaining[4],
        Ok(before - 40),
        "a repeat gets the first outcome"
    );
    assert!(matches!(remaining[5], Err(Error::NotFound(_))));
    assert_eq!(store.get("Fox").await.unwrap().quantity, before - 80);
}
