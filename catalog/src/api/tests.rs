//! The API through real HTTP: the catalog started with [`crate::run`] on a free port, and a fake
//! frontend that records the invalidations it receives.

use super::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::task::JoinHandle;

use common::config::LocalPorts;
use common::shutdown::ShutdownTrigger;
use common::wire::{Invalidation, TOKEN_HEADER};
use common::{ClusterConfig, Shutdown};

const TOKEN: &str = "test-token";
const PRODUCTS: &str = r#"[
    {"name": "Tux", "price": 25.99, "quantity": 3},
    {"name": "Rubik's Cube", "price": 12.49, "quantity": 100}
]"#;

/// Decoding of path segments, including the refusals.
#[test]
fn percent_decoding() {
    let cases = [
        ("Tux", Some("Tux")),
        ("Rubik%27s%20Cube", Some("Rubik's Cube")),
        ("Rubik's%20Cube", Some("Rubik's Cube")),
        ("Yo-yo", Some("Yo-yo")),
        ("%C3%A9t%c3%a9", Some("été")),
        ("a+b", Some("a+b")),
        ("%", None),
        ("%4", None),
        ("%+1", None),
        ("%zz", None),
        ("%FF", None),
    ];
    for (raw, expected) in cases {
        let decoded = percent_decode(raw);
        match expected {
            Some(expected) => assert_eq!(decoded.as_deref(), Ok(expected), "{raw}"),
            None => assert!(
                matches!(decoded, Err(Error::BadRequest(_))),
                "{raw}: {decoded:?}"
            ),
        }
    }
}

/// A running catalog and a fake frontend; stops both on [`Self::stop`].
struct Cluster {
    _dir: tempfile::TempDir,
    base: String,
    http: reqwest::Client,
    invalidations: Arc<Mutex<Vec<Invalidation>>>,
    stop: ShutdownTrigger,
    catalog: JoinHandle<Result<(), String>>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A frontend stand-in that records every invalidation and answers `{}`.
async fn fake_frontend(stop: Shutdown) -> (SocketAddr, Arc<Mutex<Vec<Invalidation>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let route = warp::path!("internal" / "invalidate")
        .and(warp::post())
        .and(warp::body::json())
        .map(move |invalidation: Invalidation| {
            record.lock().unwrap().push(invalidation);
            warp::reply::json(&json!({})).into_response()
        })
        .recover(recover_internal);
    let listener = common::http::bind("127.0.0.1:0".parse().unwrap(), "fake frontend")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(common::http::serve(route, listener, stop));
    (addr, seen)
}

impl Cluster {
    async fn start(restock_period_ms: u64) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let products = dir.path().join("products.json");
        std::fs::write(&products, PRODUCTS).unwrap();
        let (stop, shutdown) = Shutdown::new();
        let (frontend, invalidations) = fake_frontend(shutdown.clone()).await;
        let ports = LocalPorts {
            frontend_public: free_port(),
            frontend_internal: frontend.port(),
            catalog: free_port(),
            replicas: vec![free_port()],
        };
        let mut config = ClusterConfig::local(dir.path().join("state"), products, TOKEN, &ports);
        config.catalog.restock_period_ms = restock_period_ms;
        let catalog = tokio::spawn(crate::run(config, shutdown));
        let cluster = Cluster {
            _dir: dir,
            base: format!("http://127.0.0.1:{}", ports.catalog),
            http: reqwest::Client::new(),
            invalidations,
            stop,
            catalog,
        };
        let health = format!("{}/internal/health", cluster.base);
        for _ in 0..100 {
            let answer = cluster
                .http
                .get(&health)
                .header(TOKEN_HEADER, TOKEN)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return cluster;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("catalog did not become ready");
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("catalog reachable");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .header(TOKEN_HEADER, TOKEN),
        )
        .await
    }

    async fn buy(&self, id: &str, name: &str, quantity: u32) -> (u16, Value) {
        let body = json!({"request_id": id, "name": name, "quantity": quantity});
        let request = self.http.post(format!("{}/internal/buy", self.base));
        self.send(request.header(TOKEN_HEADER, TOKEN).json(&body))
            .await
    }

    fn invalidations(&self) -> Vec<(String, u64)> {
        let seen = self.invalidations.lock().unwrap();
        seen.iter().map(|i| (i.name.clone(), i.version)).collect()
    }

    /// Shuts down and checks that `run` returned cleanly.
    async fn stop(self) {
        self.stop.fire();
        assert_eq!(self.catalog.await.unwrap(), Ok(()));
    }
}

/// Every read route, wrong method, unknown path and missing token gets its exact status and body.
#[tokio::test]
async fn routes_answer_exact_bodies() {
    let cluster = Cluster::start(60_000).await;
    let tux = json!({"name": "Tux", "price_cents": 2599, "quantity": 3, "version": 1});
    let cube = json!({"name": "Rubik's Cube", "price_cents": 1249, "quantity": 100, "version": 1});
    let cases = [
        ("GET", "/internal/health", 200, json!({"ready": true})),
        ("GET", "/internal/products", 200, json!([cube, tux])),
        ("GET", "/internal/products/Tux", 200, tux.clone()),
        (
            "GET",
            "/internal/products/Rubik%27s%20Cube",
            200,
            cube.clone(),
        ),
        (
            "GET",
            "/internal/products/Lego",
            404,
            json!({"NotFound": "product not found"}),
        ),
        (
            "GET",
            "/internal/nothing",
            404,
            json!({"NotFound": "not found"}),
        ),
        ("POST", "/internal/health", 405, json!("MethodNotAllowed")),
        ("GET", "/internal/buy", 405, json!("MethodNotAllowed")),
        (
            "DELETE",
            "/internal/products/Tux",
            405,
            json!("MethodNotAllowed"),
        ),
        (
            "GET",
            "/internal/stats",
            200,
            json!({"product_reads": 3, "buys": 0, "restocks": 0}),
        ),
    ];
    for (method, path, status, body) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = cluster
            .http
            .request(method.clone(), format!("{}{path}", cluster.base));
        let got = cluster.send(request.header(TOKEN_HEADER, TOKEN)).await;
        assert_eq!(got, (status, body), "{method} {path}");
    }
    let bad = cluster.get("/internal/products/%FF").await;
    assert_eq!(bad.0, 400, "{bad:?}");
    for token in [None, Some("wrong")] {
        let mut request = cluster
            .http
            .get(format!("{}/internal/health", cluster.base));
        if let Some(token) = token {
            request = request.header(TOKEN_HEADER, token);
        }
        assert_eq!(
            cluster.send(request).await,
            (401, json!("Unauthorized")),
            "{token:?}"
        );
    }
    cluster.stop().await;
}

/// A buy is answered only after every frontend got its invalidation; refusals change nothing.
#[tokio::test]
async fn buy_invalidates_before_answering() {
    let cluster = Cluster::start(60_000).await;
    assert_eq!(
        cluster.buy("r1", "Tux", 2).await,
        (200, json!({"version": 2, "remaining": 1}))
    );
    assert_eq!(cluster.invalidations(), [("Tux".to_string(), 2)]);
    assert_eq!(
        cluster.buy("r1", "Tux", 2).await,
        (200, json!({"version": 2, "remaining": 1}))
    );
    assert_eq!(
        cluster.buy("r2", "Tux", 2).await,
        (400, json!("OutOfStock"))
    );
    let not_found = json!({"NotFound": "product not found"});
    assert_eq!(cluster.buy("r3", "Lego", 1).await, (404, not_found));
    let bad_quantity = json!({"BadRequest": "quantity must be a whole number from 1 to 1000"});
    assert_eq!(cluster.buy("r4", "Tux", 0).await, (400, bad_quantity));
    let url = format!("{}/internal/buy", cluster.base);
    let malformed = cluster
        .http
        .post(&url)
        .header(TOKEN_HEADER, TOKEN)
        .json(&json!({"name": 1}));
    assert_eq!(cluster.send(malformed).await.0, 400);
    let huge = cluster
        .http
        .post(&url)
        .header(TOKEN_HEADER, TOKEN)
        .body(vec![b' '; 5000]);
    assert_eq!(cluster.send(huge).await.0, 413);
    let stats = json!({"product_reads": 0, "buys": 5, "restocks": 0});
    assert_eq!(cluster.get("/internal/stats").await, (200, stats));
    cluster.stop().await;
}

/// A sold-out toy comes back within a restock period, and the frontend hears of it.
#[tokio::test]
async fn restock_refills_and_invalidates() {
    let cluster = Cluster::start(100).await;
    assert_eq!(cluster.buy("r1", "Tux", 3).await.0, 200);
    let mut restocked = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if cluster.invalidations().contains(&("Tux".to_string(), 3)) {
            restocked = true;
            break;
        }
    }
    assert!(
        restocked,
        "no restock invalidation: {:?}",
        cluster.invalidations()
    );
    let tux = json!({"name": "Tux", "price_cents": 2599, "quantity": 3, "version": 3});
    assert_eq!(cluster.get("/internal/products/Tux").await, (200, tux));
    assert_eq!(cluster.get("/internal/stats").await.1["restocks"], json!(1));
    cluster.stop().await;
}
