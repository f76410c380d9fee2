//! Each measurement as rows of the table: its value, the baseline it is compared with, and the
//! target the table sets for it.

use common::ReplicaId;
use supervisor::Service;

use super::baseline_disk::{BulkBaseline, DiskBaseline};
use super::catch_up::{CatchUp, Restart, CATCH_UP_CLIENTS};
use super::disk::DirSize;
use super::failover::{Failover, FAILOVER_CLIENTS};
use super::mixed::MixedRun;
use super::orders::{median, OrderRun};
use super::preload::{Preloaded, PRELOAD_CONNECTIONS};
use super::reads::{Reads, GET_CONNECTIONS};
use super::report::{number, Row, Target};

/// The targets.
const ORDERS_PER_S_AT_64: f64 = 10_000.0;
const ALONE_P50_MS: f64 = 1.0;
const MIXED_BUY_P50_MS: f64 = 2.0;
const CATCH_UP_PER_S: f64 = 100_000.0;
const GET_RATIO: f64 = 0.95;
const FAILOVER_SLOWEST_MS: f64 = 50.0;
const DISK_BYTES_PER_ORDER: f64 = 200.0;
const RSS_MB: f64 = 150.0;

/// Bytes per megabyte (10⁶: the stricter reading of "150 MB").
const MB: f64 = 1_000_000.0;

pub(crate) fn preload(level: u64, done: &Preloaded) -> Row {
    Row::new(
        "preload_orders_per_s",
        format!("preload, {PRELOAD_CONNECTIONS} connections"),
        done.placed as f64 / done.seconds,
        "orders/s",
    )
    .level(level, done.log_orders)
    .errors(done.errors)
    .detail("placed_orders", done.placed as f64)
    .detail("seconds", done.seconds)
}

pub(crate) fn disk_baseline(level: u64, log: u64, disk: &DiskBaseline) -> Row {
    Row::new(
        "baseline_disk_flushes_per_s",
        "baseline: bare sled insert + flush (disk limit)",
        disk.flushes_per_second,
        "flushes/s",
    )
    .level(level, log)
    .detail("p50_ms", disk.p50_ms)
    .detail("p99_ms", disk.p99_ms)
}

pub(crate) fn bulk_baseline(level: u64, log: u64, bulk: &BulkBaseline) -> Row {
    Row::new(
        "baseline_bulk_entries_per_s",
        "baseline: bare sled bulk write, 2 trees (catch-up limit)",
        bulk.entries_per_second,
        "entries/s",
    )
    .level(level, log)
    .detail("entries", bulk.entries as f64)
}

/// One row per client count (the median of its runs) and, for 1 client, the one-order-alone row.
pub(crate) fn orders(
    level: u64,
    log: u64,
    runs: &[OrderRun],
    disk: Option<&DiskBaseline>,
) -> Vec<Row> {
    let mut clients: Vec<usize> = runs.iter().map(|r| r.clients).collect();
    clients.dedup();
    let mut rows = Vec::new();
    for c in clients {
        let of_c: Vec<OrderRun> = runs.iter().filter(|r| r.clients == c).cloned().collect();
        let mid = median(&of_c);
        let errors = of_c.iter().map(|r| r.errors).sum();
        let mut row = Row::new(
            "durable_orders_per_s",
            format!(
                "durable orders/s, {c} connection{}",
                if c == 1 { "" } else { "s" }
            ),
            mid.orders_per_second,
            "orders/s",
        )
        .clients(c)
        .level(level, log)
        .errors(errors)
        .detail("p50_ms", mid.p50_ms)
        .detail("p99_ms", mid.p99_ms)
        .detail("runs", of_c.len() as f64);
        if let Some(disk) = disk {
            row = row.baseline(disk.flushes_per_second, "flushes/s");
        }
        if c == 64 {
            row = row.target(Target::AtLeast(ORDERS_PER_S_AT_64));
        }
        rows.push(row);
        if c == 1 {
            let mut alone = Row::new(
                "order_alone_p50_ms",
                "one order alone, p50",
                mid.p50_ms,
                "ms",
            )
            .clients(1)
            .level(level, log)
            .errors(errors)
            .target(Target::AtMost(ALONE_P50_MS))
            .detail("p99_ms", mid.p99_ms);
            if let Some(disk) = disk {
                alone = alone.baseline(disk.p50_ms, "ms/flush");
            }
            rows.push(alone);
        }
    }
    rows
}

/// The HTTP baseline's row and the frontend's, compared with it.
pub(crate) fn reads(reads: &Reads) -> Vec<Row> {
    let (ours, bare) = (&reads.frontend, &reads.baseline);
    vec![
        Row::new(
            "baseline_http_get_per_s",
            format!(
                "baseline: bare warp GET /products/Tux (HTTP limit), {GET_CONNECTIONS} connections"
            ),
            bare.per_second,
            "req/s",
        )
        .clients(GET_CONNECTIONS)
        .errors(bare.errors)
        .detail("p50_ms", bare.p50_ms)
        .detail("p99_ms", bare.p99_ms),
        Row::new(
            "cached_get_per_s",
            format!("cached GET /products/Tux, {GET_CONNECTIONS} connections"),
            ours.per_second,
            "req/s",
        )
        .clients(GET_CONNECTIONS)
        .errors(ours.errors)
        .baseline(bare.per_second, "req/s")
        .target(Target::RatioAtLeast(GET_RATIO))
        .detail("p50_ms", ours.p50_ms)
        .detail("p99_ms", ours.p99_ms),
    ]
}

/// The highest buy p50 of the mixed runs; each p's in the detail (`buy_p50_ms_p20` is p = 0.2).
pub(crate) fn mixed(level: u64, log: u64, runs: &[MixedRun], disk: Option<&DiskBaseline>) -> Row {
    let worst = runs.iter().map(|r| r.buy_p50_ms).fold(0.0, f64::max);
    let mut row = Row::new(
        "mixed_buy_p50_ms",
        "buy p50, 5 load sessions, p = 0.2..0.8 (highest)",
        worst,
        "ms",
    )
    .clients(5)
    .errors(runs.iter().map(|r| r.errors).sum())
    .level(level, log)
    .target(Target::AtMost(MIXED_BUY_P50_MS));
    for run in runs {
        let p = (run.p * 100.0).round();
        row = row
            .detail(format!("buy_p50_ms_p{p}"), run.buy_p50_ms)
            .detail(format!("query_p50_ms_p{p}"), run.query_p50_ms)
            .detail(format!("buys_p{p}"), run.buys as f64);
    }
    match disk {
        Some(disk) => row.baseline(disk.p50_ms, "ms/flush"),
        None => row,
    }
}

/// The largest replica's, the catalog's and the frontend's resident set.
pub(crate) fn memory(level: u64, log: u64, sizes: &[(Service, u64)]) -> Vec<Row> {
    let mb = |bytes: u64| bytes as f64 / MB;
    let mut replicas =
        Row::new("rss_replica_mb", "RSS, largest order replica", 0.0, "MB").level(level, log);
    let mut rows = Vec::new();
    for &(service, bytes) in sizes {
        match service {
            Service::Replica(id) => {
                replicas.value = replicas.value.max(mb(bytes));
                replicas = replicas.detail(format!("order_{id}_mb"), mb(bytes));
            }
            Service::Catalog => rows.push(
                Row::new("rss_catalog_mb", "RSS, catalog", mb(bytes), "MB")
                    .level(level, log)
                    .target(Target::AtMost(RSS_MB)),
            ),
            Service::Frontend(id) => rows.push(
                Row::new(
                    "rss_frontend_mb",
                    format!("RSS, frontend {id}"),
                    mb(bytes),
                    "MB",
                )
                .level(level, log),
            ),
        }
    }
    // The target last, so that it is judged on the final value.
    rows.insert(0, replicas.target(Target::AtMost(RSS_MB)));
    rows
}

/// Bytes allocated per order, the whole data directory (text log included) over the orders in
/// the log: the largest replica's (each over its own log) and the catalog's.
pub(crate) fn disk(
    level: u64,
    log: u64,
    replicas: &[(ReplicaId, DirSize, u64)],
    catalog: DirSize,
) -> Vec<Row> {
    let per = |bytes: u64, orders: u64| bytes as f64 / orders.max(1) as f64;
    let mut worst = Row::new(
        "disk_bytes_per_order_replica",
        "disk per order, largest order replica",
        0.0,
        "bytes",
    )
    .level(level, log);
    for &(id, size, orders) in replicas {
        worst.value = worst.value.max(per(size.allocated, orders));
        worst = worst
            .detail(
                format!("order_{id}_bytes_per_order"),
                per(size.allocated, orders),
            )
            .detail(
                format!("order_{id}_sled_bytes_per_order"),
                per(size.sled(), orders),
            )
            .detail(format!("order_{id}_mb"), size.allocated as f64 / MB);
    }
    vec![
        worst.target(Target::AtMost(DISK_BYTES_PER_ORDER)),
        Row::new(
            "disk_bytes_per_order_catalog",
            "disk per order, catalog",
            per(catalog.allocated, log),
            "bytes",
        )
        .level(level, log)
        .detail("sled_bytes_per_order", per(catalog.sled(), log))
        .detail("mb", catalog.allocated as f64 / MB),
    ]
}

/// The catch-up of a follower down for a timed run of 64 connections.
pub(crate) fn catch_up(level: u64, caught: &CatchUp, bulk: &BulkBaseline) -> Row {
    let missed = number(caught.missed as f64);
    let what = format!("catch-up of a follower that missed {missed} orders");
    catch_up_row("catch_up_orders_per_s", what, level, caught, bulk).clients(CATCH_UP_CLIENTS)
}

/// The catch-up of a follower down for the whole preload of a level.
pub(crate) fn catch_up_preload(level: u64, caught: &CatchUp, bulk: &BulkBaseline) -> Row {
    let missed = number(caught.missed as f64);
    let what = format!("catch-up of a follower that missed the preload's {missed} orders");
    catch_up_row("catch_up_preload_orders_per_s", what, level, caught, bulk)
        .clients(PRELOAD_CONNECTIONS)
}

fn catch_up_row(
    key: &'static str,
    what: String,
    level: u64,
    caught: &CatchUp,
    bulk: &BulkBaseline,
) -> Row {
    Row::new(key, what, caught.orders_per_second(), "orders/s")
        .baseline(bulk.entries_per_second, "entries/s")
        .level(level, caught.log_orders)
        .errors(caught.errors)
        .target(Target::AtLeast(CATCH_UP_PER_S))
        .detail("missed_orders", caught.missed as f64)
        .detail(
            "restart_to_ready_ms",
            caught.restart_to_ready.as_secs_f64() * 1000.0,
        )
        .detail("behind_at_ready", caught.behind_at_ready as f64)
        .detail("replica", f64::from(caught.follower))
}

pub(crate) fn restart(level: u64, restart: &Restart) -> Row {
    Row::new(
        "restart_to_ready_ms",
        "restart to ready, up-to-date follower",
        restart.restart_to_ready.as_secs_f64() * 1000.0,
        "ms",
    )
    .level(level, restart.log_orders)
    .detail("replica", f64::from(restart.follower))
}

pub(crate) fn failover(level: u64, log: u64, run: &Failover) -> Row {
    let mut row = Row::new(
        "leader_kill_slowest_ms",
        format!("leader SIGKILL under {FAILOVER_CLIENTS} connections: slowest request"),
        run.slowest_ms,
        "ms",
    )
    .clients(FAILOVER_CLIENTS)
    .level(level, log)
    .errors(run.errors)
    .target(Target::BelowWithoutErrors(FAILOVER_SLOWEST_MS))
    .detail("p50_ms", run.p50_ms)
    .detail("p99_ms", run.p99_ms)
    .detail("orders", run.orders as f64)
    .detail("seconds", run.seconds)
    .detail("kill_at_s", run.kill_at.as_secs_f64())
    .detail("killed_replica", f64::from(run.killed));
    if let Some(leader) = run.leader_after {
        row = row.detail("leader_after", f64::from(leader));
    }
    row
}
