//! Waiting for a condition within a limit, so that a broken store fails the drill instead of
//! hanging it.

use std::time::{Duration, Instant};

/// Waits, up to `limit`, for `check` to give a value; panics naming `what` when it does not.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
