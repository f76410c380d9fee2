//! The test cluster: `supervisor::LocalCluster` (real `toystore` processes on free loopback ports
//! with a temporary data root, killed for real and in `Drop`), made from the supervisor's own
//! `ClusterOptions` (whose defaults are the store's, with a fresh token per cluster), plus the
//! requests tests make of it. Readiness, health, the leader and the logs are the supervisor's;
//! the helpers here only wait for them and add the services' stderr to a failure.
#![allow(dead_code)]

use common::http::Peer;
use common::replica_api::ReplicaClient;
use common::wire::TOKEN_HEADER;
use common::{Epoch, FrontendId, OrderEntry, ReplicaId};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use supervisor::LocalCluster;

pub use supervisor::{ClusterOptions, Service};

/// How long a service may take to become ready before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The frontend every test talks to unless it names another.
pub const FRONTEND: Service = Service::Frontend(1);
/// Lines of each service's stderr that a failure message shows.
const TAIL_LINES: usize = 15;

/// A [`LocalCluster`] in a temporary directory, with the helpers tests use to talk to it.
pub struct TestCluster {
    pub local: LocalCluster,
    pub http: reqwest::Client,
}

impl TestCluster {
    /// Writes the cluster file; starts nothing.
    pub fn new(options: ClusterOptions) -> TestCluster {
        let products = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/products.json");
        let local = LocalCluster::create(
            Path::new(env!("CARGO_BIN_EXE_toystore")),
            None,
            &products,
            &options,
        )
        .expect("create the test cluster");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        TestCluster { local, http }
    }

    /// The whole store, every service ready and a leader elected.
    pub async fn start(options: ClusterOptions) -> TestCluster {
        TestCluster::start_with_faults(options, &[]).await
    }

    /// [`Self::start`], with a fault (`TOYSTORE_FAULT`, see `order::faults`) armed in some services.
    pub async fn start_with_faults(
        options: ClusterOptions,
        faults: &[(Service, &str)],
    ) -> TestCluster {
        let mut cluster = TestCluster::new(options);
        for (service, fault) in faults {
            cluster
                .local
                .spawn_with_env(*service, &[(order::faults::FAULT_ENV, fault)])
                .expect("spawn armed service");
        }
        if let Err(e) = cluster.local.start_all(READY_TIMEOUT).await {
            panic!("{e}\n{}", cluster.stderr_tail());
        }
        cluster
    }

    pub fn spawn(&mut self, service: Service) {
        self.local.spawn(service).expect("spawn");
    }

    /// SIGKILL: the process gets no chance to flush or say goodbye.
    pub fn kill(&mut self, service: Service) {
        self.local.kill(service).expect("kill");
    }

    pub fn replica_ids(&self) -> Vec<ReplicaId> {
        self.local.config.replicas.iter().map(|r| r.id).collect()
    }

    /// `path` on the first frontend.
    pub fn frontend_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.local.config.frontends[0].public)
    }

    /// `path` on frontend `id`.
    pub fn frontend_url_of(&self, id: FrontendId, path: &str) -> String {
        let frontend = self.local.config.frontend(id).expect("known frontend");
        format!("http://{}{path}", frontend.public)
    }

    pub fn frontend_ids(&self) -> Vec<FrontendId> {
        self.local.config.frontends.iter().map(|f| f.id).collect()
    }

    /// A typed client for replica `id`'s internal API, with the cluster token.
    pub fn replica(&self, id: ReplicaId) -> ReplicaClient {
        let addr = self
            .local
            .config
            .replica(id)
            .expect("known replica")
            .internal;
        ReplicaClient::new(Peer::new(self.http.clone(), addr, &self.local.config.token))
    }

    /// An internal GET with the token; returns status and JSON body. For the catalog's and the
    /// frontends' internal APIs, and for what [`Self::replica`] has no typed call for.
    pub async fn internal_get(&self, addr: SocketAddr, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("http://{addr}{path}"))
            .header(TOKEN_HEADER, &self.local.config.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// An internal POST with the token; returns status and JSON body (see [`Self::internal_get`]).
    pub async fn internal_post(&self, addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{addr}{path}"))
            .header(TOKEN_HEADER, &self.local.config.token)
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

    /// A public request to the first frontend; returns status and JSON body.
    pub async fn public(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let first = self.local.config.frontends[0].id;
        self.public_via(first, method, path, body).await
    }

    /// A public request to frontend `id`; returns status and JSON body.
    pub async fn public_via(
        &self,
        id: FrontendId,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let url = self.frontend_url_of(id, path);
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

    /// The value of `toystore_frontend_{name}` (a counter or gauge without labels) from the
    /// first frontend's `GET /metrics`.
    pub async fn frontend_metric(&self, name: &str) -> u64 {
        let (status, text) = self.public("GET", "/metrics", None).await;
        let text = text.as_str().unwrap_or_default().to_string();
        assert_eq!(status, 200, "{text}");
        let prefix = format!("toystore_frontend_{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The highest epoch any live replica reports (see `LocalCluster::max_epoch`).
    pub async fn max_epoch(&self) -> Epoch {
        self.local
            .max_epoch()
            .await
            .unwrap_or_else(|| panic!("no replica answers\n{}", self.stderr_tail()))
    }

    /// The replica leading the highest epoch, waiting for one while an election is under way.
    pub async fn leader(&self) -> ReplicaId {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(id) = self.local.leader().await {
                return id;
            }
            if Instant::now() > deadline {
                panic!("no replica leads\n{}", self.stderr_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The whole log of a replica, read through its internal range scan.
    pub async fn replica_log(&self, id: ReplicaId) -> Vec<OrderEntry> {
        self.local
            .replica_log(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .1
    }

    pub async fn wait_catalog(&self) {
        self.wait(self.local.wait_ready(Service::Catalog, READY_TIMEOUT).await);
    }

    pub async fn wait_replica(&self, id: ReplicaId) {
        self.wait(
            self.local
                .wait_ready(Service::Replica(id), READY_TIMEOUT)
                .await,
        );
    }

    pub async fn wait_orders_served(&self) {
        self.wait(self.local.wait_orders_served(READY_TIMEOUT).await);
    }

    fn wait(&self, result: Result<(), supervisor::SupervisorError>) {
        if let Err(e) = result {
            panic!("{e}\n{}", self.stderr_tail());
        }
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
                panic!("timed out waiting for {what}\n{}", self.stderr_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines each service wrote, for failure messages.
    pub fn stderr_tail(&self) -> String {
        self.local.stderr_tail(TAIL_LINES)
    }
}
