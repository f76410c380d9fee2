//! The public REST API, row by row of the README's API table, and the cache: hits stay off the
//! catalog, orders invalidate, a small cache evicts, the API answers 503 without a majority, and
//! orders arriving together leave for the leader without waiting in the frontend.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::wire::CatalogStats;
use serde_json::{json, Value};

/// One row of the contract: case name, method, path, body, status, expected body.
type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, u16, Value);

/// Every row of the API contract: status and exact body for each request.
#[tokio::test]
async fn the_api_contract_row_by_row() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let quantity_rule = "quantity must be a whole number from 1 to 1000";
    let error = |code: u16, message: &str| json!({"error": {"code": code, "message": message}});
    let cases: Vec<Case> = vec![
        (
            "known toy",
            "GET",
            "/products/Tux",
            None,
            200,
            json!({"data": {"name": "Tux", "price": 25.99, "quantity": 100}}),
        ),
        (
            "price keeps two decimals",
            "GET",
            "/products/Fox",
            None,
            200,
            json!({"data": {"name": "Fox", "price": 15.00, "quantity": 100}}),
        ),
        (
            "percent-encoded name",
            "GET",
            "/products/Rubik's%20Cube",
            None,
            200,
            json!({"data": {"name": "Rubik's Cube", "price": 12.49, "quantity": 100}}),
        ),
        (
            "unknown toy",
            "GET",
            "/products/Unicorn",
            None,
            404,
            error(404, "product not found"),
        ),
        (
            "order",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux","quantity":2}"#),
            200,
            json!({"data": {"order_number": 0}}),
        ),
        (
            "read the order",
            "GET",
            "/orders/0",
            None,
            200,
            json!({"data": {"number": 0, "name": "Tux", "quantity": 2}}),
        ),
        (
            "stock went down",
            "GET",
            "/products/Tux",
            None,
            200,
            json!({"data": {"name": "Tux", "price": 25.99, "quantity": 98}}),
        ),
        (
            "order of an unknown toy",
            "POST",
            "/orders",
            Some(r#"{"name":"Unicorn","quantity":1}"#),
            404,
            error(404, "product not found"),
        ),
        (
            "more than in stock",
            "POST",
            "/orders",
            Some(r#"{"name":"Whale","quantity":101}"#),
            400,
            error(400, "out of stock"),
        ),
        (
            "quantity 0",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux","quantity":0}"#),
            400,
            error(400, quantity_rule),
        ),
        (
            "quantity 1001",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux","quantity":1001}"#),
            400,
            error(400, quantity_rule),
        ),
        (
            "quantity negative",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux","quantity":-1}"#),
            400,
            error(400, quantity_rule),
        ),
        (
            "quantity fractional",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux","quantity":1.5}"#),
            400,
            error(400, quantity_rule),
        ),
        (
            "quantity a string",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux","quantity":"2"}"#),
            400,
            error(400, quantity_rule),
        ),
        (
            "missing quantity",
            "POST",
            "/orders",
            Some(r#"{"name":"Tux"}"#),
            400,
            error(400, "missing field `quantity`"),
        ),
        (
            "missing name",
            "POST",
            "/orders",
            Some(r#"{"quantity":1}"#),
            400,
            error(400, "missing field `name`"),
        ),
        (
            "name not a string",
            "POST",
            "/orders",
            Some(r#"{"name":7,"quantity":1}"#),
            400,
            error(400, "name must be a string"),
        ),
        (
            "not an object",
            "POST",
            "/orders",
            Some("[1,2]"),
            400,
            error(400, "malformed body: expected a JSON object"),
        ),
        (
            "unknown order",
            "GET",
            "/orders/5",
            None,
            404,
            error(404, "order not found"),
        ),
        (
            "order number not a number",
            "GET",
            "/orders/abc",
            None,
            400,
            error(400, "order number must be a non-negative integer"),
        ),
        (
            "negative order number",
            "GET",
            "/orders/-1",
            None,
            400,
            error(400, "order number must be a non-negative integer"),
        ),
        (
            "unknown path",
            "GET",
            "/toys",
            None,
            404,
            error(404, "not found"),
        ),
        (
            "wrong method",
            "DELETE",
            "/products/Tux",
            None,
            405,
            error(405, "method not allowed"),
        ),
        (
            "wrong method on orders",
            "PUT",
            "/orders",
            Some("{}"),
            405,
            error(405, "method not allowed"),
        ),
        (
            "health",
            "GET",
            "/health",
            None,
            200,
            json!({"data": {"status": "ok"}}),
        ),
    ];
    for (case, method, path, body, status, expected) in cases {
        let (got_status, got) = cluster.public(method, path, body).await;
        assert_eq!(
            (got_status, &got),
            (status, &expected),
            "case {case:?}: {method} {path}"
        );
    }
    // Prices keep two decimals in the text itself, not only as a number.
    let text = cluster
        .http
        .get(cluster.frontend_url("/products/Fox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(r#""price":15.00"#), "{text}");
    // Malformed JSON: the message names the parse error; check the prefix.
    let (status, got) = cluster.public("POST", "/orders", Some("{not json")).await;
    assert_eq!(status, 400);
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed body: "),
        "{got}"
    );
    // A body over 4 KiB.
    let big = format!(r#"{{"name":"{}","quantity":1}}"#, "x".repeat(5000));
    let (status, got) = cluster.public("POST", "/orders", Some(&big)).await;
    assert_eq!(
        (status, got["error"]["code"].as_u64()),
        (413, Some(413)),
        "{got}"
    );
    // Metrics are Prometheus text.
    let (status, metrics) = cluster.public("GET", "/metrics", None).await;
    assert_eq!(status, 200);
    assert!(
        metrics.as_str().unwrap().contains("cache_hits"),
        "{metrics}"
    );
}

async fn catalog_reads(cluster: &TestCluster) -> u64 {
    let stats: CatalogStats = cluster
        .internal_json(cluster.local.config.catalog.internal, "/internal/stats")
        .await;
    stats.product_reads
}

/// A cached query does not reach the catalog; an order invalidates the toy, and the next query
/// shows the new quantity.
#[tokio::test]
async fn cache_hits_skip_the_catalog_and_orders_invalidate() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    assert_eq!(cluster.quantity("Lego").await, 100);
    let reads = catalog_reads(&cluster).await;
    for _ in 0..5 {
        assert_eq!(cluster.quantity("Lego").await, 100);
    }
    assert_eq!(
        catalog_reads(&cluster).await,
        reads,
        "hits must not reach the catalog"
    );
    cluster.buy("Lego", 3).await;
    assert_eq!(
        cluster.quantity("Lego").await,
        97,
        "the order invalidated the cached Lego"
    );
    assert_eq!(
        catalog_reads(&cluster).await,
        reads + 1,
        "one miss after the invalidation"
    );
}

/// With the cache off, every query reaches the catalog.
#[tokio::test]
async fn cache_size_zero_turns_caching_off() {
    let cluster = TestCluster::start(ClusterOptions {
        cache_size: 0,
        ..ClusterOptions::default()
    })
    .await;
    let reads = catalog_reads(&cluster).await;
    for _ in 0..4 {
        cluster.quantity("Kite").await;
    }
    assert_eq!(catalog_reads(&cluster).await, reads + 4);
}

/// A cache smaller than the catalog evicts: it never holds more than its capacity.
#[tokio::test]
async fn a_small_cache_evicts() {
    let cluster = TestCluster::start(ClusterOptions {
        cache_size: 3,
        ..ClusterOptions::default()
    })
    .await;
    let toys = [
        "Tux", "Whale", "Elephant", "Dolphin", "Fox", "Python", "Lego", "Kite",
    ];
    for _ in 0..2 {
        for toy in toys {
            cluster.quantity(toy).await;
        }
    }
    let keys: Value = cluster
        .internal_json(
            cluster.local.config.frontends[0].internal,
            "/internal/cache",
        )
        .await;
    let keys = keys["keys"].as_array().expect("keys").clone();
    assert!(
        !keys.is_empty() && keys.len() <= 3,
        "cache of 3 holds {keys:?}"
    );
    let (_, metrics) = cluster.public("GET", "/metrics", None).await;
    let evictions: f64 = metrics
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("toystore_frontend_cache_evictions_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no eviction counter in {metrics}"));
    assert!(evictions >= 5.0, "{evictions} evictions");
}

/// Without a majority of order replicas, orders get 503 with Retry-After, while product queries
/// still work; once a replica is back, orders work again.
#[tokio::test]
async fn no_majority_means_503_then_recovery() {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    cluster.buy("Tux", 1).await;
    cluster.kill(Service::Replica(3));
    cluster.kill(Service::Replica(2));
    let response = cluster
        .http
        .post(cluster.frontend_url("/orders"))
        .json(&json!({"name": "Tux", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(
        response.headers().get("retry-after").is_some(),
        "503 carries Retry-After"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503, "{body}");
    assert_eq!(
        cluster.quantity("Whale").await,
        100,
        "queries do not need the order replicas"
    );
    cluster.spawn(Service::Replica(2));
    cluster.wait_replica(2).await;
    cluster.wait_orders_served().await;
    // The 503'd order may or may not have been committed before the majority was lost.
    let number = cluster.buy("Tux", 1).await;
    assert!(number == 1 || number == 2, "number {number}");
}

/// A restock pushes an invalidation too: a sold-out toy, cached at 0, shows its restocked
/// quantity once the catalog refilled it.
#[tokio::test]
async fn a_restock_invalidates_the_cached_toy() {
    let cluster = TestCluster::start(ClusterOptions {
        restock_period_ms: 500,
        ..ClusterOptions::default()
    })
    .await;
    // A restock may refill Marbles between the buy and the read (every 500 ms here): buy the
    // refill again until a read sees it sold out, and so caches 0.
    let mut sold_out = false;
    for _ in 0..5 {
        cluster.buy("Marbles", 100).await;
        if cluster.quantity("Marbles").await == 0 {
            sold_out = true;
            break;
        }
    }
    assert!(
        sold_out,
        "Marbles never read as sold out between two restocks"
    );
    let cluster = &cluster;
    cluster
        .wait_until("Marbles restocked and invalidated", || async move {
            cluster.quantity("Marbles").await == 100
        })
        .await;
}

/// Stops a process with SIGSTOP until dropped (SIGCONT): a service that is alive, holds its
/// connections and answers nothing, as a very slow one would.
struct Paused(libc::pid_t);

impl Paused {
    fn new(pid: u32) -> Paused {
        let pid = libc::pid_t::try_from(pid).expect("a pid");
        // SAFETY: a signal to a child this test's cluster started and has not reaped.
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGSTOP) },
            0,
            "SIGSTOP {pid}"
        );
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// Orders that arrive together (five, as the evaluation's five sessions) each leave for the
/// leader at once, in a `place_batch` of their own, instead of waiting in the frontend for an
/// earlier batch to be answered: the leader queues whatever reaches it during a catalog buy and
/// buys it in its next batch, so holding them back only delays them. The catalog is paused, so
/// no batch can be answered while the orders arrive; the frontend's counters say what it did
/// with each. Once the catalog runs again, every order is placed.
#[tokio::test]
async fn orders_arriving_together_are_not_held_in_the_frontend() {
    const ORDERS: u64 = 5;
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    cluster.buy("Tux", 1).await;
    let (orders, batches, held) = (
        cluster.frontend_metric("place_orders_total").await,
        cluster.frontend_metric("place_batches_total").await,
        cluster.frontend_metric("place_orders_held_total").await,
    );
    let catalog = cluster
        .local
        .pid(Service::Catalog)
        .expect("the catalog runs");
    let paused = Paused::new(catalog);
    let placing: Vec<_> = ["Whale", "Fox", "Lego", "Kite", "Yo-yo"]
        .into_iter()
        .map(|toy| {
            let request = cluster
                .http
                .post(cluster.frontend_url("/orders"))
                .header("content-type", "application/json")
                .body(json!({"name": toy, "quantity": 1}).to_string());
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let cluster = &cluster;
    cluster
        .wait_until("every order handed to the leader's batcher", || async move {
            cluster.frontend_metric("place_orders_total").await >= orders + ORDERS
        })
        .await;
    assert_eq!(
        cluster.frontend_metric("place_orders_held_total").await - held,
        0,
        "an order waited in the frontend for an earlier batch"
    );
    assert_eq!(
        cluster.frontend_metric("place_batches_total").await - batches,
        ORDERS,
        "one batch per order, each sent at once"
    );
    drop(paused);
    for order in placing {
        assert_eq!(order.await.expect("the order task").ok(), Some(200));
    }
}
