//! The out-of-stock fast path: a frontend whose fresh cached quantity of a toy is below the
//! quantity asked refuses the order `400 out of stock` itself, with the body the catalog path
//! gives, and sends nothing to the leader. A keyed order still goes on (it may be the retry of
//! an order already placed, whose number only the leader knows).

mod cluster;

use cluster::{ClusterOptions, TestCluster};
use common::public_api::IDEMPOTENCY_KEY_HEADER;
use serde_json::{json, Value};

/// Restocks would refill the sold-out toy mid-test: none within the test's run.
const NO_RESTOCK_MS: u64 = 600_000;

/// A store without restocks whose Tux is sold out.
async fn with_tux_sold_out() -> TestCluster {
    let cluster = TestCluster::start(ClusterOptions {
        restock_period_ms: NO_RESTOCK_MS,
        ..ClusterOptions::default()
    })
    .await;
    let stock = cluster.quantity("Tux").await;
    assert_eq!(cluster.buy("Tux", stock as u32).await, 0);
    cluster
}

#[tokio::test]
async fn a_sold_out_cached_toy_is_refused_without_reaching_the_leader() {
    let cluster = with_tux_sold_out().await;
    let leader = cluster.leader().await;
    let order = json!({"name": "Tux", "quantity": 1}).to_string();

    // Through the catalog: a keyed order is sent on, and the catalog refuses it.
    let placed_before = cluster.frontend_metric("place_orders_total").await;
    let keyed = cluster
        .http
        .post(cluster.frontend_url("/orders"))
        .header("content-type", "application/json")
        .header(IDEMPOTENCY_KEY_HEADER, "out-of-stock-keyed")
        .body(order.clone())
        .send()
        .await
        .expect("keyed order answered");
    assert_eq!(keyed.status(), 400);
    let catalog_body: Value = keyed.json().await.expect("JSON error body");
    assert_eq!(
        catalog_body,
        json!({"error": {"code": 400, "message": "out of stock"}})
    );
    assert_eq!(
        cluster.frontend_metric("place_orders_total").await,
        placed_before + 1,
        "the keyed order went to the leader"
    );

    // Cache the sold-out quantity, then order: refused here, nothing reaches the leader.
    assert_eq!(cluster.quantity("Tux").await, 0);
    let log_before = cluster.replica_log(leader).await.len();
    let placed_before = cluster.frontend_metric("place_orders_total").await;
    let (status, body) = cluster.public("POST", "/orders", Some(&order)).await;
    assert_eq!(
        (status, &body),
        (400, &catalog_body),
        "the catalog path's answer"
    );
    assert_eq!(
        cluster
            .frontend_metric("orders_refused_from_cache_total")
            .await,
        1
    );
    assert_eq!(
        cluster.frontend_metric("place_orders_total").await,
        placed_before,
        "no order was handed to a leader"
    );
    assert_eq!(cluster.replica_log(leader).await.len(), log_before);

    // A quantity the cached stock covers is not refused here: Lego has stock, the order is placed.
    assert!(cluster.quantity("Lego").await > 0);
    cluster.buy("Lego", 1).await;
    assert_eq!(
        cluster
            .frontend_metric("orders_refused_from_cache_total")
            .await,
        1
    );
}

/// `toystore client --keyless --buy-sold-out` takes the fast path for every buy of a sold-out
/// toy, and the same load with keys sends each one to the leader: both are refused.
#[tokio::test]
async fn the_client_s_keyless_buys_of_a_sold_out_toy_are_refused_by_the_frontend() {
    let cluster = with_tux_sold_out().await;
    let url = cluster.frontend_url("");
    let run = |extra: &'static [&'static str]| {
        let mut args = vec![
            "client",
            "--url",
            &url,
            "--toy",
            "Tux",
            "--p",
            "1",
            "--sessions",
            "1",
            "--iterations",
            "6",
            "--buy-sold-out",
            "--json",
        ];
        args.extend_from_slice(extra);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_toystore"))
            .args(&args)
            .output()
            .expect("run toystore client");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
        let buys = report["summaries"]
            .as_array()
            .and_then(|kinds| kinds.iter().find(|k| k["kind"] == "buy"))
            .cloned()
            .unwrap_or_else(|| panic!("a buy row: {report}"));
        (buys["count"].as_u64(), buys["out_of_stock"].as_u64())
    };

    let placed_before = cluster.frontend_metric("place_orders_total").await;
    assert_eq!(run(&[]), (Some(6), Some(6)), "keyed: every buy refused");
    assert_eq!(
        cluster.frontend_metric("place_orders_total").await,
        placed_before + 6,
        "keyed buys went to the leader"
    );
    assert_eq!(
        cluster
            .frontend_metric("orders_refused_from_cache_total")
            .await,
        0
    );

    assert_eq!(
        run(&["--keyless"]),
        (Some(6), Some(6)),
        "keyless: every buy refused"
    );
    assert_eq!(
        cluster
            .frontend_metric("orders_refused_from_cache_total")
            .await,
        6,
        "each keyless buy refused from the cache"
    );
    assert_eq!(
        cluster.frontend_metric("place_orders_total").await,
        placed_before + 6,
        "no keyless buy reached the leader"
    );
}
