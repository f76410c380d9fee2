//! The bench's own cluster: its catalog file, the cluster on loopback, and the HTTP client every
//! measurement loads it with.

use common::FileError;
use std::path::Path;
use std::time::Duration;
use supervisor::{ClusterOptions, LocalCluster};

use crate::ToolError;

/// Stock per ordered toy: large enough that no run sells out (16 × 10⁹ units).
pub(crate) const BENCH_STOCK: u32 = 1_000_000_000;
/// Toys the order loads buy.
pub(crate) const BENCH_TOYS: usize = 16;
/// The toy the GET measurement reads. It is never bought, so its entry stays in the frontend's
/// cache (but for the cache's time to live) and its answer stays byte for byte the HTTP
/// baseline's.
pub(crate) const READ_TOY: &str = "Tux";
/// How long a service may take to start.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a service may take to stop cleanly before it is killed.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);
/// Longest any one request of the bench may take; a request that takes longer counts as failed.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle keep-alive connections the bench's HTTP client keeps per host: more than the largest
/// load, so no loop ever opens a connection after its warm-up.
const POOL_PER_HOST: usize = 512;

/// The names of the toys the order loads buy.
pub(crate) fn order_toys() -> Vec<String> {
    (0..BENCH_TOYS).map(|i| format!("Bench toy {i}")).collect()
}

/// Writes the bench's catalog into `dir`: the order toys with [`BENCH_STOCK`] each, and
/// [`READ_TOY`] as `data/products.json` has it (25.99, 100 in stock).
///
/// # Errors
/// The file cannot be written.
pub(crate) fn write_products(dir: &Path) -> Result<std::path::PathBuf, ToolError> {
    let mut catalog: Vec<_> = order_toys()
        .iter()
        .map(|name| serde_json::json!({"name": name, "price": 1.00, "quantity": BENCH_STOCK}))
        .collect();
    catalog.push(serde_json::json!({"name": READ_TOY, "price": 25.99, "quantity": 100}));
    let path = dir.join("products.json");
    let text = serde_json::to_string(&catalog).expect("JSON of plain values");
    std::fs::write(&path, text).map_err(FileError::about("cannot write", &path))?;
    Ok(path)
}

/// A new cluster of three replicas and one frontend on loopback, started and serving orders.
///
/// # Errors
/// A service that does not start or get ready.
pub(crate) async fn start_cluster(exe: &Path, products: &Path) -> Result<LocalCluster, ToolError> {
    let mut cluster = LocalCluster::create(exe, None, products, &ClusterOptions::default())?;
    if let Err(e) = cluster.start_all(READY_TIMEOUT).await {
        return Err(with_logs(&cluster, e.into()));
    }
    Ok(cluster)
}

/// The client every load of the bench uses: keep-alive HTTP/1.1, a pool larger than any load.
///
/// # Errors
/// The TLS-less client cannot be built (no resources).
pub(crate) fn http_client() -> Result<reqwest::Client, ToolError> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(POOL_PER_HOST)
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| ToolError::Service(format!("cannot make an HTTP client: {e}")))
}

/// `error` with the last lines of every service's captured stderr: the cluster's temporary
/// directory is gone once the bench returns.
pub(crate) fn with_logs(cluster: &LocalCluster, error: ToolError) -> ToolError {
    ToolError::WithLogs {
        source: Box::new(error),
        logs: format!("\n{}", cluster.stderr_tail(5)),
    }
}
