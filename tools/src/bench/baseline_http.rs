//! The HTTP baseline: a bare warp handler that answers `GET /products/{name}` with the bytes the
//! frontend answers for Tux, and nothing else: no cache, no metrics, no logging. It runs as its
//! own process (`toystore bench-baseline-http --port P`, [`serve`]) so that it competes for the
//! cores the way the frontend does; the bench starts it ([`BaselineHttp::start`]) and kills it by
//! pid when done.

use common::FileError;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use warp::Filter;

use crate::ToolError;

/// `GET /products/Tux` on the bench's catalog, byte for byte as the frontend answers it.
pub const TUX_JSON: &str = r#"{"data":{"name":"Tux","price":25.99,"quantity":100}}"#;

/// The hidden subcommand that runs [`serve`].
pub const SUBCOMMAND: &str = "bench-baseline-http";

/// Serves [`TUX_JSON`] on `GET /products/{name}` at `127.0.0.1:port` until the process is
/// killed.
///
/// # Errors
/// The port cannot be bound.
pub async fn serve(port: u16) -> Result<(), ToolError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ToolError::Start {
            what: "the HTTP baseline's listener",
            source,
        })?;
    let route = warp::get()
        .and(warp::path!("products" / String))
        .map(|_name: String| {
            warp::reply::with_header(TUX_JSON, "content-type", "application/json")
        });
    warp::serve(route).incoming(listener).run().await;
    Ok(())
}

/// The running baseline process, killed (SIGKILL, by its pid) and reaped when dropped.
pub struct BaselineHttp {
    child: Child,
    url: String,
}

impl BaselineHttp {
    /// Starts `exe bench-baseline-http` on a free loopback port, its stderr appended to `stderr`,
    /// and waits until it answers.
    ///
    /// # Errors
    /// No free port, the process cannot start, or it does not answer within `timeout`.
    pub async fn start(
        exe: &Path,
        stderr: &Path,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<BaselineHttp, ToolError> {
        let port = supervisor::free_ports(1)
            .map_err(|source| ToolError::Start {
                what: "the HTTP baseline (no free port)",
                source,
            })?
            .remove(0);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr)
            .map_err(FileError::about("cannot open", stderr))?;
        let child = Command::new(exe)
            .args([SUBCOMMAND, "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| ToolError::Start {
                what: "the HTTP baseline",
                source,
            })?;
        let baseline = BaselineHttp {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + timeout;
        let probe = format!("{}{}/Tux", baseline.url, common::public_api::PRODUCTS);
        loop {
            let answer = http.get(&probe).timeout(timeout).send().await;
            if matches!(answer, Ok(r) if r.status().is_success()) {
                return Ok(baseline);
            }
            if Instant::now() > deadline {
                return Err(ToolError::NotConverged(format!(
                    "the HTTP baseline did not answer within {timeout:?}; see {}",
                    stderr.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BaselineHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
