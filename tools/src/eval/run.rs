//! The evaluation from start to end: one cluster, the sweep with the cache on and off, the
//! replacement and failover experiments, the sell-out experiment on a second cluster, then
//! `results.json`, `report.md` and the plots.

use crate::machine::{load_average, scratch_dir};
use crate::ToolError;
use common::FileError;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::plan::{EvalOptions, Plan};
use super::probe::Probe;
use super::results::{EvalResults, Setup};
use super::{failover, plot, replacement, report, sold_out, sweep};
use crate::load::toy_names;
use client::StoreClient;
use supervisor::{ClusterOptions, LocalCluster, Service};

/// How long a service may take to start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a frontend may take to stop cleanly before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The frontend every experiment talks to.
const FRONTEND: Service = Service::Frontend(1);

/// The files an evaluation writes into its report folder.
pub const REPORT_FILES: [&str; 6] = [
    "report.md",
    "results.json",
    "latency.png",
    "hit_ratio.png",
    "cache_timeline.png",
    "failover.png",
];

/// Runs the whole evaluation and writes its report folder; `log` hears what it is doing.
///
/// # Errors
/// No font for the plots (checked first), the products file or report folder is unusable, or a
/// service fails to start or answer; the message names which and where its log is.
pub async fn run(options: &EvalOptions, log: impl Fn(&str)) -> Result<EvalResults, ToolError> {
    let started = Instant::now();
    let load_before = load_average();
    let font = plot::register_font()?;
    log(&format!("plots use the font {}", font.display()));
    let toys = toy_names(&options.products)?;
    if toys.len() < 2 {
        return Err(ToolError::Options(
            "the evaluation needs a catalog of at least 2 toys".into(),
        ));
    }
    std::fs::create_dir_all(&options.out)
        .map_err(FileError::about("cannot create", &options.out))?;
    let plan = if options.quick {
        Plan::quick(toys.len())
    } else {
        Plan::standard(toys.len())
    };
    // The shipped catalog with every toy's stock raised; lives as long as the cluster.
    let catalog_dir = scratch_dir("toystore-eval-", &std::env::temp_dir())?;
    let products = stocked_products(&options.products, plan.stock, catalog_dir.path())?;
    let cluster_options = ClusterOptions {
        cache_size: plan.cache_size,
        restock_period_ms: plan.restock_period_ms,
        ..ClusterOptions::default()
    };
    let mut cluster = LocalCluster::create(&options.exe, None, &products, &cluster_options)?;
    log(&format!(
        "starting a cluster: catalog, {} order replicas, a frontend",
        cluster.config.replicas.len()
    ));
    cluster.start_all(READY_TIMEOUT).await?;
    let client = StoreClient::new(cluster.frontend_url());
    let probe = Probe::new(&cluster);

    let mut sweep_runs = Vec::new();
    for cache_size in [plan.cache_size, 0] {
        restart_frontend(&mut cluster, cache_size).await?;
        for &p in &plan.ps {
            let index = sweep_runs.len() as u64;
            let run = sweep::run_one(&client, &probe, &plan, &toys, cache_size, p, index).await;
            let run = run.map_err(|e| with_log(&cluster, e))?;
            log(&format!(
                "cache {:>3}, p = {p:.1}: {} queries (p50 {:.2} ms), {} orders (p50 {:.2} ms), {} verified, {} errors",
                if cache_size > 0 { "on" } else { "off" },
                run.query.count,
                run.query.p50_ms,
                run.orders,
                run.buy.p50_ms,
                run.verified,
                run.query.errors + run.buy.errors + run.lookup.errors,
            ));
            sweep_runs.push(run);
        }
    }

    restart_frontend(&mut cluster, plan.replacement_cache_size).await?;
    log(&format!(
        "replacement: cache of {} for {} toys, 3 phases of {:.1} s",
        plan.replacement_cache_size,
        toys.len(),
        plan.replacement_phase.as_secs_f64()
    ));
    let replacement = replacement::run(&client, &probe, &plan, &toys)
        .await
        .map_err(|e| with_log(&cluster, e))?;

    restart_frontend(&mut cluster, plan.cache_size).await?;
    log(&format!(
        "failover: {:.0} s of load at p = {}, the leader killed and restarted",
        plan.failover_duration.as_secs_f64(),
        plan.failover_p
    ));
    let failover = failover::run(&mut cluster, &client, &probe, &plan, &toys)
        .await
        .map_err(|e| with_log(&cluster, e))?;
    log(&format!(
        "failover: replica {} killed at {:.1} s, {} client errors, {} orders verified",
        failover.killed, failover.kill_at_s, failover.errors, failover.verified
    ));
    cluster.terminate_all(STOP_GRACE);

    let sold_out = sell_out(options, &plan, &toys).await?;
    log(&format!(
        "sell-out: {} refusals through the leader (p50 {:.2} ms), {} keyless (p50 {:.2} ms), {} of them from the cache",
        sold_out.keyed_refusals.count,
        sold_out.keyed_refusals.p50_ms,
        sold_out.keyless_refusals.count,
        sold_out.keyless_refusals.p50_ms,
        sold_out.rounds.iter().map(|r| r.refused_from_cache).sum::<u64>(),
    ));

    let results = EvalResults {
        setup: Setup {
            quick: options.quick,
            debug_build: cfg!(debug_assertions),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_before,
            load_after: load_average(),
            sessions: plan.sessions,
            iterations: plan.iterations,
            ps: plan.ps.clone(),
            max_quantity: plan.max_quantity,
            toys: toys.len(),
            cache_size: plan.cache_size,
            stock: plan.stock,
            restock_period_ms: plan.restock_period_ms,
        },
        sweep: sweep_runs,
        replacement,
        failover,
        sold_out: Some(sold_out),
        total_seconds: started.elapsed().as_secs_f64(),
    };
    write_report(&options.out, &results)?;
    log(&format!(
        "wrote {} in {:.0} s",
        options.out.join("report.md").display(),
        results.total_seconds
    ));
    Ok(results)
}

/// The sell-out experiment on a cluster of its own, whose toys start with `plan.sold_out_stock`
/// and never restock; stopped before it returns.
async fn sell_out(
    options: &EvalOptions,
    plan: &Plan,
    toys: &[String],
) -> Result<super::results::SoldOut, ToolError> {
    let catalog_dir = scratch_dir("toystore-eval-sold-out-", &std::env::temp_dir())?;
    let products = stocked_products(&options.products, plan.sold_out_stock, catalog_dir.path())?;
    let cluster_options = ClusterOptions {
        cache_size: plan.cache_size,
        restock_period_ms: sold_out::NO_RESTOCK_MS,
        ..ClusterOptions::default()
    };
    let mut cluster = LocalCluster::create(&options.exe, None, &products, &cluster_options)?;
    cluster.start_all(READY_TIMEOUT).await?;
    let client = StoreClient::new(cluster.frontend_url());
    let probe = Probe::new(&cluster);
    let result = sold_out::run(&client, &probe, plan, toys)
        .await
        .map_err(|e| with_log(&cluster, e));
    cluster.terminate_all(STOP_GRACE);
    result
}

/// A copy of the products file in `dir` with every toy's quantity set to `stock` (names and
/// prices kept exactly as written).
fn stocked_products(source: &Path, stock: u32, dir: &Path) -> Result<PathBuf, ToolError> {
    let text = std::fs::read_to_string(source).map_err(FileError::about("cannot read", source))?;
    let mut entries: Vec<BTreeMap<String, Box<RawValue>>> =
        serde_json::from_str(&text).map_err(ToolError::format(source, "is not a products list"))?;
    for entry in &mut entries {
        let quantity =
            RawValue::from_string(stock.to_string()).expect("an integer is a JSON number");
        entry.insert("quantity".into(), quantity);
    }
    let path = dir.join("products.json");
    let json = serde_json::to_string_pretty(&entries).expect("JSON values encode");
    write(&path, &json)?;
    Ok(path)
}

/// Writes `results.json`, the plots and `report.md` into `out`.
///
/// # Errors
/// A file cannot be written or a plot cannot be drawn.
pub fn write_report(out: &Path, results: &EvalResults) -> Result<(), ToolError> {
    // Compact: the failover run alone has one sample per request.
    let json = serde_json::to_string(results).expect("results are plain numbers and strings");
    write(&out.join("results.json"), &json)?;
    plot::latency(&out.join("latency.png"), results)?;
    plot::hit_ratio(&out.join("hit_ratio.png"), results)?;
    plot::cache_timeline(&out.join("cache_timeline.png"), &results.replacement)?;
    plot::failover(&out.join("failover.png"), &results.failover)?;
    write(&out.join("report.md"), &report::markdown(results))
}

fn write(path: &Path, text: &str) -> Result<(), ToolError> {
    std::fs::write(path, text).map_err(FileError::about("cannot write", path))?;
    Ok(())
}

/// Stops the frontend and starts it again with a cache of `cache_size` entries (nothing if it
/// already runs with that size).
async fn restart_frontend(cluster: &mut LocalCluster, cache_size: usize) -> Result<(), ToolError> {
    let Service::Frontend(id) = FRONTEND else {
        unreachable!("FRONTEND is a frontend")
    };
    if cluster.is_running(FRONTEND) && cluster.cache_size(id) == Some(cache_size) {
        return Ok(());
    }
    if cluster.is_running(FRONTEND) {
        cluster.terminate(FRONTEND, STOP_GRACE)?;
    }
    cluster.set_cache_size(id, Some(cache_size));
    cluster.spawn(FRONTEND)?;
    cluster
        .wait_ready(FRONTEND, READY_TIMEOUT)
        .await
        .map_err(|e| with_log(cluster, e.into()))?;
    cluster
        .wait_orders_served(READY_TIMEOUT)
        .await
        .map_err(|e| with_log(cluster, e.into()))
}

/// `error` with the last lines of every service's captured stderr: the cluster's temporary
/// directory is gone once the evaluation returns.
fn with_log(cluster: &LocalCluster, error: ToolError) -> ToolError {
    let mut logs = String::new();
    for service in cluster.services() {
        if let Ok(text) = std::fs::read_to_string(cluster.stderr_path(service)) {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(5)..].join("\n");
            logs.push_str(&format!("\n--- {service} (last lines)\n{tail}"));
        }
    }
    ToolError::WithLogs {
        source: Box::new(error),
        logs,
    }
}
