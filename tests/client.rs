//! The client crate and the tools against real clusters: every `StoreClient` method and error
//! kind, `tools::load` sessions and their verification (library and `toystore client`), and
//! `toystore eval --quick`.

mod cluster;

use client::{ClientError, Order, StoreClient, Toy};
use cluster::{ClusterOptions, Service, TestCluster};
use common::Shutdown;
use std::path::{Path, PathBuf};
use std::process::Command;
use tools::eval::{EvalResults, REPORT_FILES};
use tools::load::{self, LoadConfig, Mismatch};

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn toystore() -> Command {
    Command::new(env!("CARGO_BIN_EXE_toystore"))
}

/// Every method returns the typed value the API promises: exact cents, percent-encoded names,
/// order numbers that read back, and an idempotency key that orders once.
#[tokio::test]
async fn every_method_returns_typed_values() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let store = StoreClient::new(cluster.frontend_url(""));

    let cube = store.product("Rubik's Cube").await.expect("Rubik's Cube");
    assert_eq!(
        cube,
        Toy {
            name: "Rubik's Cube".into(),
            price_cents: 1249,
            quantity: 100
        }
    );
    let fox = store.product("Fox").await.expect("Fox");
    assert_eq!(
        (fox.price_cents, fox.quantity),
        (1500, 100),
        "15.00 is 1500 cents"
    );

    let first = store.buy("Teddy Bear", 2).await.expect("buy");
    let order = store.order(first).await.expect("order");
    assert_eq!(
        order,
        Order {
            number: first,
            name: "Teddy Bear".into(),
            quantity: 2
        }
    );

    let keyed = store
        .buy_with_key("Kite", 3, "test-cart-1")
        .await
        .expect("keyed buy");
    let again = store
        .buy_with_key("Kite", 3, "test-cart-1")
        .await
        .expect("same key");
    assert_eq!(keyed, again, "one key, one order number");
    assert_ne!(keyed, first);
    assert_eq!(
        store.product("Kite").await.expect("Kite").quantity,
        97,
        "stock taken once"
    );
    let next = store.buy("Kite", 1).await.expect("next buy");
    assert_eq!(next, keyed + 1, "the repeated key made no second order");
}

/// Each failure comes back as its own `ClientError` kind: the store's refusals, an answer outside
/// the contract, no answer at all, and 503 once the catalog is gone.
#[tokio::test]
async fn every_error_kind_is_told_apart() {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    let store = StoreClient::new(cluster.frontend_url(""));
    let quantity_rule = "quantity must be a whole number from 1 to 1000".to_string();
    let cases: Vec<(&str, Result<u64, ClientError>, ClientError)> = vec![
        (
            "unknown toy",
            store.product("Unicorn").await.map(|_| 0),
            ClientError::NotFound,
        ),
        (
            "unknown order",
            store.order(1_000_000).await.map(|_| 0),
            ClientError::NotFound,
        ),
        (
            "buying an unknown toy",
            store.buy("Unicorn", 1).await,
            ClientError::NotFound,
        ),
        (
            "more than the stock",
            store.buy("Whale", 101).await,
            ClientError::OutOfStock,
        ),
        (
            "quantity 0",
            store.buy("Whale", 0).await,
            ClientError::BadRequest(quantity_rule.clone()),
        ),
        (
            "quantity over 1000",
            store.buy("Whale", 1001).await,
            ClientError::BadRequest(quantity_rule),
        ),
        (
            "a key with a space",
            store.buy_with_key("Whale", 1, "two words").await,
            ClientError::BadRequest("Idempotency-Key must be visible ASCII characters only".into()),
        ),
    ];
    for (case, got, expected) in cases {
        assert_eq!(got, Err(expected), "{case}");
    }

    // The catalog's internal listener is HTTP but not the public API: 401 without a token.
    let internal = StoreClient::new(format!("http://{}", cluster.local.config.catalog.internal));
    match internal.product("Tux").await {
        Err(ClientError::Unexpected { status: 401, .. }) => {}
        other => panic!("a non-contract answer should be Unexpected 401, got {other:?}"),
    }

    let closed = supervisor::free_ports(1).expect("a free port")[0];
    let nobody = StoreClient::new(format!("http://127.0.0.1:{closed}"));
    match nobody.product("Tux").await {
        Err(ClientError::Transport(message)) => assert!(!message.is_empty()),
        other => panic!("nothing listening should be a Transport error, got {other:?}"),
    }

    cluster.kill(Service::Catalog);
    // Never queried, so not cached: the frontend must ask the dead catalog.
    match store.product("Barbie").await {
        Err(ClientError::Unavailable(message)) => assert!(!message.is_empty()),
        other => panic!("a product query without catalog should be Unavailable, got {other:?}"),
    }
}

/// `verify` reports an order whose content differs from what was acknowledged, and
/// `toystore client` exits non-zero on it (`--tamper`) but zero on an honest run, whose JSON
/// counts add up.
#[tokio::test]
async fn verification_catches_a_tampered_order() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let url = cluster.frontend_url("");
    let store = StoreClient::new(url.as_str());
    let toys = load::toy_names(&repo_file("data/products.json")).expect("toys");
    let config = LoadConfig {
        sessions: 3,
        iterations: Some(10),
        p: 1.0,
        seed: Some(7),
        ..LoadConfig::new(toys)
    };
    let (_keep_running, stop) = Shutdown::new();
    let report = load::run_load(&store, &config, |_| {}, stop).await;
    assert_eq!(report.iterations, 30);
    assert!(!report.orders.is_empty(), "p = 1 orders something");
    assert_eq!(report.errors(), 0, "{:?}", report.failures);
    assert!(load::verify(&store, &report.orders).await.is_ok());

    let mut tampered = report.orders.clone();
    tampered[0].quantity += 1;
    let verification = load::verify(&store, &tampered).await;
    assert_eq!(verification.checked, tampered.len());
    match verification.mismatches.as_slice() {
        [Mismatch::Differs { expected, found }] => {
            assert_eq!(expected, &tampered[0]);
            assert_eq!(found.quantity + 1, expected.quantity);
        }
        other => panic!("one mismatch expected, got {other:?}"),
    }

    let run = |extra: &[&str], json: &Path| {
        let mut command = toystore();
        command.args([
            "client",
            "--url",
            &url,
            "--sessions",
            "2",
            "--iterations",
            "5",
        ]);
        command.args(["--p", "1", "--seed", "3", "--out"]).arg(json);
        command
            .arg("--products")
            .arg(repo_file("data/products.json"));
        command.args(extra).output().expect("run toystore client")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let honest = run(&[], &dir.path().join("honest.json"));
    let stdout = String::from_utf8_lossy(&honest.stdout);
    assert!(
        honest.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&honest.stderr)
    );
    assert!(stdout.contains("read back as acknowledged"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("honest.json")).expect("json"))
            .expect("valid JSON");
    let summaries = json["summaries"].as_array().expect("summaries");
    let count = |kind: &str, field: &str| {
        summaries.iter().find(|s| s["kind"] == kind).expect(kind)[field]
            .as_u64()
            .expect(field)
    };
    assert_eq!(count("query", "count"), 10, "{json}");
    let orders = json["orders"].as_u64().expect("orders");
    assert_eq!(
        count("buy", "count"),
        orders + count("buy", "errors") + count("buy", "out_of_stock")
    );
    assert_eq!(count("lookup", "count"), orders);
    assert_eq!(json["verification"]["checked"].as_u64(), Some(orders));

    let caught = run(&["--tamper"], &dir.path().join("tampered.json"));
    let stdout = String::from_utf8_lossy(&caught.stdout);
    let stderr = String::from_utf8_lossy(&caught.stderr);
    assert!(
        !caught.status.success(),
        "a tampered order must fail\n{stdout}"
    );
    assert!(stdout.contains("verification FAILED"), "{stdout}");
    assert!(
        stderr.contains("verification failed: 1 mismatched"),
        "{stderr}"
    );
}

/// `toystore eval --quick` writes every report file, and its numbers add up: one query per step,
/// every buy acknowledged or refused, every order read back, one cache hit or miss per query.
#[tokio::test]
async fn eval_quick_writes_a_consistent_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("report");
    let output = toystore()
        .args(["eval", "--quick", "--out"])
        .arg(&out)
        .arg("--products")
        .arg(repo_file("data/products.json"))
        .output()
        .expect("run toystore eval");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "eval failed:\n{stderr}");
    for file in REPORT_FILES {
        let size = std::fs::metadata(out.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 0, "{file} is missing or empty");
    }
    let results: EvalResults =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).expect("results.json"))
            .expect("results.json parses");
    let setup = &results.setup;
    assert_eq!(
        results.sweep.len(),
        2 * setup.ps.len(),
        "cache on and off for each p"
    );
    for run in &results.sweep {
        let case = format!("cache {} p {}", run.cache, run.p);
        assert_eq!(run.iterations, setup.sessions * setup.iterations, "{case}");
        assert_eq!(
            run.query.count, run.iterations as u64,
            "{case}: one query per step"
        );
        assert_eq!(
            run.buy.count,
            run.orders as u64 + run.buy.errors + run.buy.out_of_stock,
            "{case}: every buy acknowledged, refused or failed"
        );
        assert_eq!(
            (run.verified, run.mismatches, run.lookup_failures),
            (run.orders, 0, 0),
            "{case}"
        );
        assert_eq!(
            run.lookup.count, run.orders as u64,
            "{case}: one lookup per order"
        );
        assert_eq!(run.cache_hits + run.cache_misses, run.query.count, "{case}");
        if !run.cache {
            assert_eq!(run.cache_hits, 0, "{case}: no hits without a cache");
        }
        if run.p == 0.0 {
            assert_eq!(run.buy.count, 0, "{case}: p = 0 never buys");
        }
    }
    let r = &results.replacement;
    assert!(!r.snapshots.is_empty());
    assert!(r.snapshots.iter().all(|s| s.keys.len() <= r.cache_size));
    for phase in &r.phases {
        assert_eq!(
            phase.cache_hits + phase.cache_misses,
            phase.queries,
            "{}",
            phase.label
        );
    }
    let f = &results.failover;
    assert!(f.kill_at_s < f.restart_at_s && f.restart_at_s <= f.ready_at_s);
    assert_eq!(f.errors, 0, "the client saw errors: {:?}", f.error_examples);
    assert_eq!((f.verified, f.mismatches), (f.orders, 0));
    assert_eq!(f.samples.len() as u64, f.query.count + f.buy.count);
    let sold = results
        .sold_out
        .as_ref()
        .expect("the sell-out experiment ran");
    assert_eq!(sold.rounds.len() % 2, 0, "as many keyed rounds as keyless");
    for (index, round) in sold.rounds.iter().enumerate() {
        let case = format!("sell-out round {}", index + 1);
        assert_eq!(
            round.keyless,
            index % 2 == 1,
            "{case}: keyed first, then in turn"
        );
        assert_eq!(
            round.buy.count,
            round.orders as u64 + round.buy.errors + round.refused.count,
            "{case}: every buy acknowledged, refused or failed"
        );
        assert_eq!(round.refused.count, round.buy.out_of_stock, "{case}");
        assert_eq!(
            (round.verified, round.mismatches, round.lookup_failures),
            (round.orders, 0, 0),
            "{case}"
        );
        if round.keyless {
            assert!(round.refused_from_cache <= round.refused.count, "{case}");
        } else {
            assert_eq!(
                round.refused_from_cache, 0,
                "{case}: keyed orders always go on"
            );
        }
    }
    assert!(
        sold.keyless_refusals.count > 0 && sold.keyed_refusals.count > 0,
        "toys sold out under both kinds of buy: {sold:?}"
    );
    assert!(
        sold.rounds.iter().any(|r| r.refused_from_cache > 0),
        "the frontend refused sold-out toys from its cache: {sold:?}"
    );
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        report.contains("## Out of stock from the cache"),
        "{report}"
    );
    for needle in [
        "latency.png",
        "hit_ratio.png",
        "cache_timeline.png",
        "failover.png",
    ] {
        assert!(report.contains(needle), "report.md does not show {needle}");
    }
}

/// `toystore client` against an address where nothing listens fails with a message saying so,
/// rather than "verifying" zero orders.
#[test]
fn client_fails_when_no_request_is_answered() {
    let closed = supervisor::free_ports(1).expect("a free port")[0];
    let output = toystore()
        .args(["client", "--url", &format!("http://127.0.0.1:{closed}")])
        .args(["--sessions", "1", "--iterations", "2", "--toy", "Tux"])
        .output()
        .expect("run toystore client");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("no request got an answer"), "{stderr}");
}
