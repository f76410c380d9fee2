//! `toystore bench`: durable orders per second and order latency at several client
//! concurrencies, against a cluster of its own on loopback. Every order it counts was flushed on a
//! majority of replicas before it was answered. Bounded: `runs × levels × seconds`.

use common::FileError;
use hdrhistogram::Histogram;

use crate::ToolError;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use supervisor::{ClusterOptions, LocalCluster};

/// Stock per toy in the benchmark's catalog: large enough that no run sells out.
const BENCH_STOCK: u32 = 1_000_000_000;
/// Toys in the benchmark's catalog.
const BENCH_TOYS: usize = 16;

/// What one run at one concurrency measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunResult {
    pub clients: usize,
    pub orders: u64,
    pub errors: u64,
    pub seconds: f64,
    pub orders_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Runs the benchmark and prints a table; `json` also gets every run.
pub async fn run(
    levels: &[usize],
    seconds: u64,
    runs: usize,
    json: Option<&Path>,
) -> Result<(), ToolError> {
    if levels.is_empty() || levels.contains(&0) {
        return Err(ToolError::Options(
            "--clients takes positive numbers, for example 1,8,64".into(),
        ));
    }
    if seconds == 0 || runs == 0 {
        return Err(ToolError::Options(
            "--seconds and --runs must be at least 1".into(),
        ));
    }
    let exe = std::env::current_exe().map_err(ToolError::Exe)?;
    let products_dir = tempfile::tempdir().map_err(FileError::about(
        "cannot make a temporary directory in",
        &std::env::temp_dir(),
    ))?;
    let products = products_dir.path().join("products.json");
    let toys: Vec<String> = (0..BENCH_TOYS).map(|i| format!("Bench toy {i}")).collect();
    let catalog: Vec<_> = toys
        .iter()
        .map(|name| serde_json::json!({"name": name, "price": 1.00, "quantity": BENCH_STOCK}))
        .collect();
    std::fs::write(
        &products,
        serde_json::to_string(&catalog).expect("JSON of plain values"),
    )
    .map_err(FileError::about("cannot write", &products))?;
    let mut cluster = LocalCluster::create(&exe, None, &products, &ClusterOptions::default())?;
    eprintln!(
        "starting a cluster under {}",
        cluster.config.data_root.display()
    );
    cluster.start_all(Duration::from_secs(30)).await?;
    let url = format!("{}/orders", cluster.frontend_url());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| ToolError::Options(format!("cannot make an HTTP client: {e}")))?;
    let mut results = Vec::new();
    println!(
        "{:>8} {:>6} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "clients", "run", "orders/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for &clients in levels {
        for run in 1..=runs {
            let result = one_run(&http, &url, &toys, clients, Duration::from_secs(seconds)).await;
            println!(
                "{:>8} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7}",
                clients,
                run,
                result.orders_per_second,
                result.p50_ms,
                result.p99_ms,
                result.max_ms,
                result.errors
            );
            results.push(result);
        }
    }
    println!("\nmedian of {runs} runs:");
    println!(
        "{:>8} {:>10} {:>8} {:>8}",
        "clients", "orders/s", "p50 ms", "p99 ms"
    );
    for &clients in levels {
        let mut of_level: Vec<&RunResult> =
            results.iter().filter(|r| r.clients == clients).collect();
        of_level.sort_by(|a, b| a.orders_per_second.total_cmp(&b.orders_per_second));
        let median = of_level[of_level.len() / 2];
        println!(
            "{:>8} {:>10.0} {:>8.2} {:>8.2}",
            clients, median.orders_per_second, median.p50_ms, median.p99_ms
        );
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&results).expect("JSON of plain values");
        std::fs::write(path, text).map_err(FileError::about("cannot write", path))?;
    }
    cluster.terminate_all(Duration::from_secs(10));
    Ok(())
}

async fn one_run(
    http: &reqwest::Client,
    url: &str,
    toys: &[String],
    clients: usize,
    length: Duration,
) -> RunResult {
    let started = Instant::now();
    let deadline = started + length;
    let toys = Arc::new(toys.to_vec());
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url, toys) = (http.clone(), url.to_string(), toys.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)
                .expect("valid histogram bounds");
            let mut errors = 0u64;
            let mut i = client;
            while Instant::now() < deadline {
                let body = serde_json::json!({"name": toys[i % toys.len()], "quantity": 1});
                i += 7;
                let sent = Instant::now();
                let answer = http.post(&url).json(&body).send().await;
                match answer {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.saturating_record(sent.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all =
        Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds");
    let mut errors = 0;
    for task in tasks {
        if let Ok((latencies, task_errors)) = task.await {
            all.add(&latencies)
                .expect("histograms of the same precision add");
            errors += task_errors;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let ms = |us: u64| us as f64 / 1000.0;
    RunResult {
        clients,
        orders: all.len(),
        errors,
        seconds,
        orders_per_second: all.len() as f64 / seconds,
        p50_ms: ms(all.value_at_quantile(0.5)),
        p99_ms: ms(all.value_at_quantile(0.99)),
        max_ms: ms(all.max()),
    }
}
