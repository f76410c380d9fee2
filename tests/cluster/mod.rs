//! The test cluster: real `toystore` processes on free loopback ports with a temporary data root,
//! killed for real (SIGKILL) by the tests and in `Drop`, so a failed test leaves nothing running.
#![allow(dead_code)]

use common::config::LocalPorts;
use common::wire::{Health, LogPage, TOKEN_HEADER};
use common::{ClusterConfig, OrderEntry, ReplicaId};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token";
/// How long a service may take to become ready before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One process of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Catalog,
    Replica(ReplicaId),
    Frontend,
}

impl Service {
    fn name(self) -> String {
        match self {
            Service::Catalog => "catalog".into(),
            Service::Replica(id) => format!("order-{id}"),
            Service::Frontend => "frontend-1".into(),
        }
    }
}

/// Knobs a test may turn before the cluster starts.
#[derive(Clone, Debug)]
pub struct Options {
    pub cache_size: usize,
    pub restock_period_ms: u64,
    pub replicas: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_size: 64,
            restock_period_ms: 10_000,
            replicas: 3,
        }
    }
}

pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub config: ClusterConfig,
    config_path: PathBuf,
    running: BTreeMap<Service, Child>,
    pub http: reqwest::Client,
}

/// Ports picked by binding port 0; all held until every one is chosen, so none repeats.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound").port())
        .collect()
}

impl TestCluster {
    /// Writes the cluster file; starts nothing.
    pub fn new(options: Options) -> TestCluster {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ports = free_ports(3 + options.replicas);
        let ports = LocalPorts {
            frontend_public: ports[0],
            frontend_internal: ports[1],
            catalog: ports[2],
            replicas: ports[3..].to_vec(),
        };
        let products = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/products.json");
        let mut config = ClusterConfig::local(dir.path().join("state"), products, TOKEN, &ports);
        config.frontends[0].cache_size = options.cache_size;
        config.catalog.restock_period_ms = options.restock_period_ms;
        let config_path = dir.path().join("cluster.toml");
        std::fs::write(&config_path, config.to_toml()).expect("write cluster file");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        TestCluster {
            dir,
            config,
            config_path,
            running: BTreeMap::new(),
            http,
        }
    }

    /// The whole store, every service ready and a leader elected.
    pub async fn start(options: Options) -> TestCluster {
        let mut cluster = TestCluster::new(options);
        cluster.spawn(Service::Catalog);
        for id in cluster.replica_ids() {
            cluster.spawn(Service::Replica(id));
        }
        cluster.spawn(Service::Frontend);
        cluster.wait_catalog().await;
        for id in cluster.replica_ids() {
            cluster.wait_replica(id).await;
        }
        cluster.wait_orders_served().await;
        cluster
    }

    pub fn replica_ids(&self) -> Vec<ReplicaId> {
        self.config.replicas.iter().map(|r| r.id).collect()
    }

    /// Starts one service's process.
    pub fn spawn(&mut self, service: Service) {
        assert!(
            !self.running.contains_key(&service),
            "{service:?} already runs"
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_toystore"));
        match service {
            Service::Catalog => command.arg("catalog"),
            Service::Replica(id) => command.args(["order", "--id", &id.to_string()]),
            Service::Frontend => command.args(["frontend", "--id", "1"]),
        };
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{}.stderr", service.name())))
            .expect("stderr file");
        let child = command
            .arg("--config")
            .arg(&self.config_path)
            .env("RUST_LOG", "info")
            .env_remove("TOYSTORE_TOKEN")
            .env_remove("TOYSTORE_DATA_ROOT")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn toystore");
        self.running.insert(service, child);
    }

    /// SIGKILL: the process gets no chance to flush or say goodbye.
    pub fn kill(&mut self, service: Service) {
        let mut child = self
            .running
            .remove(&service)
            .unwrap_or_else(|| panic!("{service:?} is not running"));
        child.kill().expect("kill");
        child.wait().expect("reap");
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self, service: Service) -> std::process::ExitStatus {
        let mut child = self
            .running
            .remove(&service)
            .unwrap_or_else(|| panic!("{service:?} is not running"));
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        child.wait().expect("reap")
    }

    pub fn is_running(&self, service: Service) -> bool {
        self.running.contains_key(&service)
    }

    pub fn frontend_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.config.frontends[0].public)
    }

    pub fn replica_addr(&self, id: ReplicaId) -> SocketAddr {
        self.config.replica(id).expect("known replica").internal
    }

    /// An internal GET with the token; returns status and JSON body.
    pub async fn internal_get(&self, addr: SocketAddr, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("http://{addr}{path}"))
            .header(TOKEN_HEADER, TOKEN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// An internal POST with the token; returns status and JSON body.
    pub async fn internal_post(&self, addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{addr}{path}"))
            .header(TOKEN_HEADER, TOKEN)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {addr}{path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn internal_json<T: DeserializeOwned>(&self, addr: SocketAddr, path: &str) -> T {
        let (status, body) = self.internal_get(addr, path).await;
        assert_eq!(status, 200, "GET {addr}{path} answered {status}: {body}");
        serde_json::from_value(body).expect("typed internal answer")
    }

    /// A public request; returns status and JSON body.
    pub async fn public(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = self.frontend_url(path);
        let request = match method {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url),
            "PUT" => self.http.put(url),
            "DELETE" => self.http.delete(url),
            other => panic!("method {other}"),
        };
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body.to_string()),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Buys through the frontend; panics unless it succeeds. Returns the order number.
    pub async fn buy(&self, name: &str, quantity: u32) -> u64 {
        let body = serde_json::json!({ "name": name, "quantity": quantity }).to_string();
        let (status, answer) = self.public("POST", "/orders", Some(&body)).await;
        assert_eq!(status, 200, "buying {quantity} {name}: {answer}");
        answer["data"]["order_number"]
            .as_u64()
            .expect("order number")
    }

    pub async fn quantity(&self, name: &str) -> u64 {
        let (status, answer) = self.public("GET", &format!("/products/{name}"), None).await;
        assert_eq!(status, 200, "{name}: {answer}");
        answer["data"]["quantity"].as_u64().expect("quantity")
    }

    pub async fn health(&self, id: ReplicaId) -> Option<Health> {
        let response = self
            .http
            .get(format!("http://{}/internal/health", self.replica_addr(id)))
            .header(TOKEN_HEADER, TOKEN)
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// The whole log of a replica, read through its internal range scan.
    pub async fn replica_log(&self, id: ReplicaId) -> Vec<OrderEntry> {
        let mut entries: Vec<OrderEntry> = Vec::new();
        loop {
            let page: LogPage = self
                .internal_json(
                    self.replica_addr(id),
                    &format!("/internal/log?from={}&limit=1000", entries.len()),
                )
                .await;
            if page.entries.is_empty() {
                return entries;
            }
            entries.extend(page.entries);
        }
    }

    pub async fn wait_catalog(&self) {
        let addr = self.config.catalog.internal;
        self.wait_until("catalog ready", || async move {
            let response = self
                .http
                .get(format!("http://{addr}/internal/health"))
                .header(TOKEN_HEADER, TOKEN)
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            matches!(response, Ok(r) if r.status().is_success())
        })
        .await;
    }

    pub async fn wait_replica(&self, id: ReplicaId) {
        self.wait_until(&format!("replica {id} ready"), || async move {
            self.health(id).await.is_some_and(|h| h.ready)
        })
        .await;
    }

    /// Until the frontend has an order leader: an unknown order answers 404, not 503.
    pub async fn wait_orders_served(&self) {
        let url = self.frontend_url("/orders/999999999");
        self.wait_until("frontend serving orders", || {
            let url = url.clone();
            async move {
                let response = self
                    .http
                    .get(url)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await;
                matches!(response, Ok(r) if r.status().as_u16() == 404)
            }
        })
        .await;
    }

    /// Until every running replica holds the same log as the others (and `expected_len` entries).
    pub async fn wait_converged(&self, expected_len: usize) -> Vec<OrderEntry> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let mut logs = Vec::new();
            for id in self.replica_ids() {
                logs.push(self.replica_log(id).await);
            }
            if logs
                .iter()
                .all(|l| l == &logs[0] && l.len() == expected_len)
            {
                return logs.swap_remove(0);
            }
            if Instant::now() > deadline {
                let lens: Vec<_> = logs.iter().map(Vec::len).collect();
                panic!("replica logs did not converge on {expected_len} entries: lengths {lens:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !check().await {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; logs in {}:\n{}",
                    self.dir.path().display(),
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines each service wrote, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let mut out = String::new();
        for service in [
            Service::Catalog,
            Service::Replica(1),
            Service::Replica(2),
            Service::Replica(3),
            Service::Frontend,
        ] {
            let path = self.dir.path().join(format!("{}.stderr", service.name()));
            if let Ok(text) = std::fs::read_to_string(path) {
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!(
                    "--- {}\n{}\n",
                    service.name(),
                    lines[lines.len().saturating_sub(15)..].join("\n")
                ));
            }
        }
        out
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.running) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
