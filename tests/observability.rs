//! What operators see of a running store: every service's `/metrics` passes
//! `promtool check metrics` and reports what it did, `/health` and `/ready` answer on every
//! service without the cluster token, and a frontend started with the wrong token says so in
//! its `/ready`.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::wire::TOKEN_HEADER;
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

/// Orders the metrics test places before it scrapes.
const ORDERS: u64 = 3;

/// Every address with probes: the frontends' public ones, the catalog's and each replica's
/// internal one, each with the `service` label its `toystore_build_info` carries.
fn probe_addresses(cluster: &TestCluster) -> Vec<(String, &'static str, SocketAddr)> {
    let config = &cluster.local.config;
    let mut all = vec![("catalog".to_string(), "catalog", config.catalog.internal)];
    for replica in &config.replicas {
        all.push((format!("order-{}", replica.id), "order", replica.internal));
    }
    for frontend in &config.frontends {
        all.push((
            format!("frontend-{}", frontend.id),
            "frontend",
            frontend.public,
        ));
    }
    all
}

/// `GET path` without the cluster token: status, content type and body.
async fn probe(cluster: &TestCluster, addr: SocketAddr, path: &str) -> (u16, String, String) {
    let response = cluster
        .http
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.expect("body"))
}

/// Pipes `text` through `promtool check metrics`; panics (never skips) if promtool is missing.
fn promtool_check(what: &str, text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package prometheus, see .ci/run)");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool check metrics refused {what}: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the series `series` (name and labels exactly as rendered) in `text`.
fn value(text: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap_or_else(|e| panic!("{series}: {e}"))
}

/// Every service's `/metrics` is valid Prometheus text (promtool exit 0), starts with its build
/// info, and counts what the orders placed did: commits on the leader, buys and invalidation
/// pushes at the catalog, timed requests at the frontend.
#[tokio::test]
async fn every_service_exposes_metrics_promtool_accepts() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    for _ in 0..ORDERS {
        cluster.buy("Tux", 1).await;
    }
    let leader = cluster.leader().await;
    let commit = env!("TOYSTORE_COMMIT");
    for (name, service, addr) in probe_addresses(&cluster) {
        let (status, content_type, text) = probe(&cluster, addr, "/metrics").await;
        assert_eq!(status, 200, "{name}: {text}");
        assert_eq!(content_type, "text/plain; version=0.0.4", "{name}");
        promtool_check(&name, &text);
        let build = format!(
            "toystore_build_info{{version=\"{}\",commit=\"{commit}\",service=\"{service}\"}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(value(&text, &build), 1.0, "{name}");
        match service {
            "order" => {
                let last = value(&text, "toystore_replica_last_index");
                let committed = value(&text, "toystore_replica_commit_index");
                assert!(
                    committed <= last,
                    "{name}: commit {committed} > last {last}"
                );
                assert!(value(&text, "toystore_replica_epoch") >= 1.0, "{name}");
                assert_eq!(value(&text, "toystore_replica_catching_up"), 0.0, "{name}");
                let roles: f64 = ["recovering", "follower", "candidate", "leader"]
                    .iter()
                    .map(|role| value(&text, &format!("toystore_replica_role{{role=\"{role}\"}}")))
                    .sum();
                assert_eq!(roles, 1.0, "{name}: exactly one role");
                if name == format!("order-{leader}") {
                    assert!(
                        committed >= ORDERS as f64,
                        "{name}: commit index {committed}"
                    );
                    assert_eq!(
                        value(&text, "toystore_replica_role{role=\"leader\"}"),
                        1.0,
                        "{name}"
                    );
                    let lags = text
                        .lines()
                        .filter(|l| l.starts_with("toystore_replica_follower_lag_entries{"))
                        .count();
                    assert_eq!(lags, 2, "{name}: a lag per follower\n{text}");
                    let batches = value(&text, "toystore_replica_flush_entries_count");
                    assert!(batches >= 1.0, "{name}: {batches} flushes of entries");
                    let flushes = value(&text, "toystore_replica_flush_duration_seconds_count");
                    assert!(flushes >= batches, "{name}: {flushes} flushes timed");
                    let first = "toystore_replica_flush_duration_seconds_bucket{le=\"0.00005\"}";
                    value(&text, first);
                }
            }
            "catalog" => {
                assert!(value(&text, "toystore_catalog_buys_total") >= ORDERS as f64);
                let frontend = cluster.local.config.frontends[0].internal;
                let pushes = format!(
                    "toystore_catalog_invalidation_pushes_total{{frontend=\"{frontend}\"}}"
                );
                assert!(value(&text, &pushes) >= 1.0, "{text}");
                let failures = format!(
                    "toystore_catalog_invalidation_push_failures_total{{frontend=\"{frontend}\"}}"
                );
                assert_eq!(value(&text, &failures), 0.0, "{text}");
                value(&text, "toystore_catalog_restocks_total");
            }
            _ => {
                let orders = "toystore_frontend_requests_total{route=\"/orders\",status=\"200\"}";
                assert_eq!(value(&text, orders), ORDERS as f64, "{name}");
                let first = "toystore_frontend_request_duration_seconds_bucket\
                             {route=\"/orders\",status=\"200\",le=\"0.00005\"}";
                value(&text, first);
            }
        }
    }
}

/// `/health` and `/ready` answer 200 on every service of a healthy store without the token,
/// while the internal API still refuses a request without it.
#[tokio::test]
async fn probes_answer_without_the_token_on_every_service() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    for (name, _, addr) in probe_addresses(&cluster) {
        let (status, _, body) = probe(&cluster, addr, "/health").await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body, r#"{"data":{"status":"ok"}}"#, "{name}");
        let (status, _, body) = probe(&cluster, addr, "/ready").await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body, r#"{"data":{"status":"ready"}}"#, "{name}");
    }
    let catalog = cluster.local.config.catalog.internal;
    let (status, _, body) = probe(&cluster, catalog, "/internal/health").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = cluster.internal_get(catalog, "/internal/health").await;
    assert_eq!((status, body), (200, json!({"ready": true})));
}

/// A frontend started with another token than the rest serves (`/health` 200) but is not ready:
/// `/ready` is 503 naming the catalog and each replica that refused its token, not an outage.
#[tokio::test]
async fn ready_names_who_refused_a_wrong_token() {
    let options = ClusterOptions {
        frontends: 2,
        ..ClusterOptions::default()
    };
    let mut cluster = TestCluster::start(options).await;
    let stranger = Service::Frontend(2);
    cluster
        .local
        .terminate(stranger, std::time::Duration::from_secs(5))
        .expect("stop frontend 2");
    cluster
        .local
        .spawn_with_env(stranger, &[("TOYSTORE_TOKEN", "not-the-cluster-token")])
        .expect("restart frontend 2 with another token");
    let addr = cluster.local.config.frontend(2).expect("frontend 2").public;
    cluster
        .wait_until("frontend 2 serving", || async {
            cluster
                .http
                .get(format!("http://{addr}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    let response = cluster
        .http
        .get(format!("http://{addr}/ready"))
        .send()
        .await
        .expect("GET /ready");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.expect("JSON error body");
    let message = "not ready: the catalog refused the cluster token; \
                   order-1 refused the cluster token; order-2 refused the cluster token; \
                   order-3 refused the cluster token";
    assert_eq!(body, json!({"error": {"code": 503, "message": message}}));
    // The frontend with the right token is unaffected.
    let (status, _, body) =
        probe(&cluster, cluster.local.config.frontends[0].public, "/ready").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"data":{"status":"ready"}}"#)
    );
    // The wrong token is refused by the replicas' API itself, as the message says.
    let replica = cluster.local.config.replicas[0].internal;
    let refused = cluster
        .http
        .get(format!("http://{replica}/internal/health"))
        .header(TOKEN_HEADER, "not-the-cluster-token")
        .send()
        .await
        .expect("GET /internal/health");
    assert_eq!(refused.status(), 401);
}

/// A cluster file whose replica entries point at the wrong replicas (2 and 3 swapped) leaves a
/// frontend unready, saying which address answers as whom: counting such answers would count a
/// replica twice, or one that is not the one the file means.
#[tokio::test]
async fn ready_names_a_replica_address_that_answers_as_another() {
    let options = ClusterOptions {
        frontends: 2,
        ..ClusterOptions::default()
    };
    let mut cluster = TestCluster::start(options).await;
    let stranger = Service::Frontend(2);
    cluster
        .local
        .terminate(stranger, std::time::Duration::from_secs(5))
        .expect("stop frontend 2");
    let text = std::fs::read_to_string(&cluster.local.config_path).expect("the cluster file");
    let mut file: toml::Value = toml::from_str(&text).expect("TOML");
    let replicas = file["replica"].as_array_mut().expect("[[replica]] tables");
    let second = replicas[1]["internal"].clone();
    replicas[1]["internal"] = replicas[2]["internal"].clone();
    replicas[2]["internal"] = second;
    let dir = tempfile::tempdir().expect("temporary directory");
    let crossed = dir.path().join("crossed.toml");
    std::fs::write(&crossed, toml::to_string(&file).expect("TOML")).expect("write it");
    let mut frontend = Command::new(env!("CARGO_BIN_EXE_toystore"))
        .args(["frontend", "--id", "2", "--config"])
        .arg(&crossed)
        .env("TOYSTORE_TOKEN", &cluster.local.config.token)
        .env("TOYSTORE_DATA_ROOT", &cluster.local.config.data_root)
        .stderr(Stdio::null())
        .spawn()
        .expect("start frontend 2 on the crossed file");
    let addr = cluster.local.config.frontend(2).expect("frontend 2").public;
    cluster
        .wait_until("frontend 2 serving", || async {
            cluster
                .http
                .get(format!("http://{addr}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    let (status, _, body) = probe(&cluster, addr, "/ready").await;
    let _ = frontend.kill();
    let _ = frontend.wait();
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON error body");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for needle in [
        "order-2's address answers as order-3: check the cluster file",
        "order-3's address answers as order-2",
        "1 of 3 answer",
    ] {
        assert!(message.contains(needle), "{message}");
    }
}
