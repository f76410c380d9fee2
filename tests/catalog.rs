//! The catalog service alone, through its internal API: product reads, buys and their
//! idempotency, restock, and stock surviving a SIGKILL.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::Product;
use serde_json::json;

async fn catalog_only(options: ClusterOptions) -> TestCluster {
    let mut cluster = TestCluster::new(options);
    cluster.spawn(Service::Catalog);
    cluster.wait_catalog().await;
    cluster
}

async fn product(cluster: &TestCluster, name: &str) -> (u16, serde_json::Value) {
    cluster
        .internal_get(
            cluster.local.config.catalog.internal,
            &format!("/internal/products/{name}"),
        )
        .await
}

async fn buy(
    cluster: &TestCluster,
    request_id: &str,
    name: &str,
    quantity: u32,
) -> (u16, serde_json::Value) {
    let body = json!({"request_id": request_id, "name": name, "quantity": quantity});
    cluster
        .internal_post(
            cluster.local.config.catalog.internal,
            "/internal/buy",
            &body,
        )
        .await
}

/// A known toy answers with price in cents, quantity and version; an unknown one is 404.
#[tokio::test]
async fn queries_known_and_unknown_toys() {
    let cluster = catalog_only(ClusterOptions::default()).await;
    let (status, body) = product(&cluster, "Tux").await;
    assert_eq!(status, 200);
    let tux: Product = serde_json::from_value(body).unwrap();
    assert_eq!(
        (tux.name.as_str(), tux.price_cents, tux.quantity),
        ("Tux", 2599, 100)
    );
    assert_eq!(product(&cluster, "Teddy%20Bear").await.0, 200);
    assert_eq!(
        product(&cluster, "Unicorn").await,
        (404, json!({"NotFound": "product not found"}))
    );
    let all: Vec<Product> = cluster
        .internal_json(cluster.local.config.catalog.internal, "/internal/products")
        .await;
    assert!(all.len() >= 12, "{} toys", all.len());
}

/// Buys within stock succeed, beyond stock and of unknown toys fail, and a repeated request id
/// gets the first outcome without taking stock again.
#[tokio::test]
async fn buys_take_stock_once_per_request_id() {
    let cluster = catalog_only(ClusterOptions::default()).await;
    let (status, receipt) = buy(&cluster, "r1", "Whale", 30).await;
    assert_eq!(
        (status, &receipt["remaining"]),
        (200, &json!(70)),
        "{receipt}"
    );
    assert_eq!(
        buy(&cluster, "r1", "Whale", 30).await,
        (200, receipt),
        "the same request id, the same outcome"
    );
    assert_eq!(
        buy(&cluster, "r2", "Whale", 71).await,
        (400, json!("OutOfStock"))
    );
    assert_eq!(
        buy(&cluster, "r3", "Unicorn", 1).await,
        (404, json!({"NotFound": "product not found"}))
    );
    assert_eq!(buy(&cluster, "r4", "Whale", 0).await.0, 400);
    let (_, whale) = product(&cluster, "Whale").await;
    assert_eq!(whale["quantity"], 70, "only r1 took stock");
}

/// A sold-out toy comes back to its initial quantity at the next restock.
#[tokio::test]
async fn restock_brings_a_sold_out_toy_back() {
    let cluster = catalog_only(ClusterOptions {
        restock_period_ms: 300,
        ..ClusterOptions::default()
    })
    .await;
    assert_eq!(buy(&cluster, "all-foxes", "Fox", 100).await.0, 200);
    let cluster = &cluster;
    cluster
        .wait_until("Fox restocked", || async move {
            product(cluster, "Fox").await.1["quantity"] == 100
        })
        .await;
    let (_, fox) = product(cluster, "Fox").await;
    assert!(
        fox["version"].as_u64().unwrap() >= 2,
        "a buy and a restock each bump the version: {fox}"
    );
}

/// Stock survives a SIGKILL: an acknowledged buy was flushed.
#[tokio::test]
async fn a_restart_keeps_the_stock() {
    let mut cluster = catalog_only(ClusterOptions::default()).await;
    assert_eq!(buy(&cluster, "k1", "Kite", 7).await.0, 200);
    cluster.kill(Service::Catalog);
    cluster.spawn(Service::Catalog);
    cluster.wait_catalog().await;
    let (_, kite) = product(&cluster, "Kite").await;
    assert_eq!(kite["quantity"], 93);
    assert_eq!(
        buy(&cluster, "k1", "Kite", 7).await.1["remaining"],
        93,
        "the outcome survived too"
    );
}

/// The internal API refuses requests without the token, a wrong method and an unknown path,
/// each with its exact status and body.
#[tokio::test]
async fn refusals_have_exact_bodies() {
    let cluster = catalog_only(ClusterOptions::default()).await;
    let base = format!("http://{}", cluster.local.config.catalog.internal);
    let no_token = cluster
        .http
        .get(format!("{base}/internal/products/Tux"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status().as_u16(), 401);
    assert_eq!(
        no_token.json::<serde_json::Value>().await.unwrap(),
        json!("Unauthorized")
    );
    let (status, body) = cluster
        .internal_post(
            cluster.local.config.catalog.internal,
            "/internal/products/Tux",
            &json!({}),
        )
        .await;
    assert_eq!((status, body), (405, json!("MethodNotAllowed")));
    let (status, body) = cluster
        .internal_get(cluster.local.config.catalog.internal, "/internal/nothing")
        .await;
    assert_eq!((status, body), (404, json!({"NotFound": "not found"})));
    let (status, body) = product(&cluster, "bad%zz").await;
    assert_eq!(status, 400, "{body}");
}
