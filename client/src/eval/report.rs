//! `report.md`: the tables of an evaluation and observations computed from its numbers (every
//! figure in the prose comes from [`EvalResults`], none is written by hand).

use std::fmt::Write as _;

use super::results::{EvalResults, Failover, Replacement, SweepRun};
use crate::load::KindSummary;

/// The whole report as Markdown; the plots are linked by their file names.
pub fn markdown(results: &EvalResults) -> String {
    let mut out = String::new();
    let s = &results.setup;
    let _ = writeln!(out, "# Evaluation of the toy store\n");
    let _ = writeln!(
        out,
        "Produced by `toystore eval{}` in {:.0} s on a {}-core machine ({} build). Every number \
         below was measured in that run; `results.json` holds them all.\n",
        if s.quick { " --quick" } else { "" },
        results.total_seconds,
        s.cores,
        if s.debug_build { "debug" } else { "release" }
    );
    if s.quick {
        out.push_str("**Quick run**: too few requests for conclusions; it checks that the evaluation works.\n\n");
    }
    let _ = writeln!(out, "## Setup\n");
    let _ = writeln!(
        out,
        "- One local cluster: catalog, 3 order replicas and 1 frontend, each its own process on \
         127.0.0.1, sharing the {} cores with the client.\n\
         - Client: {} concurrent sessions in one process, closed loop (no think time). A step \
         queries a random toy (uniform over {} toys); if it is in stock, it buys 1 to {} of it \
         with probability p, with an idempotency key.\n\
         - Sweep: {} steps per session for each p in {}, with the cache on ({} entries, more than \
         the catalog) and off (0).\n\
         - The catalog is data/products.json with every toy's stock raised to {}, so that no \
         toy sells out and every run buys at its p.\n\
         - The runs follow one another on one cluster; the first run of each cache setting \
         starts from an empty cache (the frontend is restarted to change its size).\n\
         - After every run each acknowledged order is read back (`GET /orders/{{n}}`) and compared.\n",
        s.cores,
        s.sessions,
        s.toys,
        s.max_quantity,
        s.iterations,
        s.ps.iter().map(|p| format!("{p}")).collect::<Vec<_>>().join(", "),
        s.cache_size,
        s.stock
    );
    sweep_section(&mut out, &results.sweep);
    replacement_section(&mut out, &results.replacement);
    failover_section(&mut out, &results.failover);
    out
}

fn sweep_section(out: &mut String, sweep: &[SweepRun]) {
    let _ = writeln!(out, "## Latency against the buy probability\n");
    for cache in [true, false] {
        let _ = writeln!(out, "Cache {}:\n", if cache { "on" } else { "off" });
        out.push_str("| p | queries | query p50 / p90 / p99 ms | buys | buy p50 / p90 / p99 ms | lookup p50 / p99 ms | steps/s | out of stock | errors |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for run in sweep.iter().filter(|r| r.cache == cache) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
                run.p,
                run.query.count,
                percentiles(&run.query),
                run.buy.count,
                percentiles(&run.buy),
                median_and_tail(&run.lookup),
                run.iterations as f64 / run.seconds.max(f64::EPSILON),
                run.buy.out_of_stock,
                run.query.errors + run.buy.errors + run.lookup.errors,
            );
        }
        out.push('\n');
    }
    out.push_str("![Latency of each request kind against p, cache on and off](latency.png)\n\n");
    out.push_str("Observations:\n\n");
    for line in sweep_observations(sweep) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out, "\n## Cache hit ratio\n");
    out.push_str("| p | hits | misses | hit ratio (cache on) | hit ratio (cache off) |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for on in sweep.iter().filter(|r| r.cache) {
        let off = sweep.iter().find(|r| !r.cache && r.p == on.p);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            on.p,
            on.cache_hits,
            on.cache_misses,
            ratio(on.hit_ratio()),
            ratio(off.and_then(SweepRun::hit_ratio))
        );
    }
    out.push_str("\n![Cache hit ratio against p](hit_ratio.png)\n\n");
    if let Some(line) = hit_ratio_observation(sweep) {
        let _ = writeln!(out, "{line}\n");
    }
}

fn percentiles(s: &KindSummary) -> String {
    if s.count == 0 {
        return "–".into();
    }
    format!("{:.2} / {:.2} / {:.2}", s.p50_ms, s.p90_ms, s.p99_ms)
}

fn median_and_tail(s: &KindSummary) -> String {
    if s.count == 0 {
        return "–".into();
    }
    format!("{:.2} / {:.2}", s.p50_ms, s.p99_ms)
}

fn ratio(value: Option<f64>) -> String {
    value.map_or("–".into(), |r| format!("{:.1}%", r * 100.0))
}

fn find(sweep: &[SweepRun], cache: bool, p: f64) -> Option<&SweepRun> {
    sweep.iter().find(|r| r.cache == cache && r.p == p)
}

/// Factor and direction of `slow` against `fast`: "3.2× faster".
fn times(slow: f64, fast: f64, faster: &str, slower: &str) -> String {
    if fast <= 0.0 || slow <= 0.0 {
        return "not comparable".into();
    }
    if slow >= fast {
        format!("{:.1}× {faster}", slow / fast)
    } else {
        format!("{:.1}× {slower}", fast / slow)
    }
}

/// Sentences computed from the sweep.
pub fn sweep_observations(sweep: &[SweepRun]) -> Vec<String> {
    let mut lines = Vec::new();
    let ps: Vec<f64> = sweep.iter().filter(|r| r.cache).map(|r| r.p).collect();
    let compare: Vec<String> = ps
        .iter()
        .filter_map(|&p| Some((p, find(sweep, true, p)?, find(sweep, false, p)?)))
        .map(|(p, on, off)| {
            format!(
                "{} at p = {p} ({:.2} ms on, {:.2} ms off)",
                times(off.query.p50_ms, on.query.p50_ms, "faster", "slower"),
                on.query.p50_ms,
                off.query.p50_ms
            )
        })
        .collect();
    if !compare.is_empty() {
        lines.push(format!(
            "With the cache on, the median query is {}.",
            compare.join("; ")
        ));
    }
    if let (Some(first), Some(last)) = (ps.first(), ps.last()) {
        if let (Some(a), Some(b)) = (find(sweep, true, *first), find(sweep, true, *last)) {
            lines.push(format!(
                "With the cache on, the query p99 goes from {:.2} ms at p = {first} to {:.2} ms at \
                 p = {last}, and the median from {:.2} to {:.2} ms.",
                a.query.p99_ms, b.query.p99_ms, a.query.p50_ms, b.query.p50_ms
            ));
        }
    }
    let buys: Vec<&SweepRun> = sweep.iter().filter(|r| r.buy.count > 0).collect();
    if let (Some(lo), Some(hi)) = (
        buys.iter()
            .min_by(|a, b| a.buy.p50_ms.total_cmp(&b.buy.p50_ms)),
        buys.iter()
            .max_by(|a, b| a.buy.p50_ms.total_cmp(&b.buy.p50_ms)),
    ) {
        let cached = find(sweep, true, lo.p).map_or(0.0, |r| r.query.p50_ms);
        lines.push(format!(
            "A buy's median latency ranges from {:.2} ms (p = {}, cache {}) to {:.2} ms (p = {}, \
             cache {}); the fastest is {} than a cached query's median at that p. A buy is taken \
             by the catalog, flushed, and flushed by a majority of the order replicas before it \
             is acknowledged.",
            lo.buy.p50_ms,
            lo.p,
            on_off(lo.cache),
            hi.buy.p50_ms,
            hi.p,
            on_off(hi.cache),
            times(lo.buy.p50_ms, cached, "slower", "faster"),
        ));
    }
    let steps: u64 = sweep.iter().map(|r| r.iterations as u64).sum();
    let sold_out: u64 = sweep.iter().map(|r| r.sold_out as u64).sum();
    let out_of_stock: u64 = sweep.iter().map(|r| r.buy.out_of_stock).sum();
    let orders: usize = sweep.iter().map(|r| r.orders).sum();
    let verified: usize = sweep.iter().map(|r| r.verified).sum();
    let mismatches: usize = sweep.iter().map(|r| r.mismatches + r.lookup_failures).sum();
    let errors: u64 = sweep
        .iter()
        .map(|r| r.query.errors + r.buy.errors + r.lookup.errors)
        .sum();
    lines.push(format!(
        "Over the sweep, {steps} steps found their toy sold out {sold_out} times; {out_of_stock} \
         buys were refused as out of stock (another session bought the last items between query \
         and buy). {errors} requests failed otherwise."
    ));
    lines.push(format!(
        "{orders} orders were acknowledged; {verified} were read back and {}.",
        if mismatches == 0 && verified == orders {
            "every one matched".to_string()
        } else {
            format!("{mismatches} did not match or could not be read")
        }
    ));
    lines
}

fn on_off(cache: bool) -> &'static str {
    if cache {
        "on"
    } else {
        "off"
    }
}

/// How the hit ratio moves with p, with the cache on.
pub fn hit_ratio_observation(sweep: &[SweepRun]) -> Option<String> {
    let on: Vec<(f64, f64)> = sweep
        .iter()
        .filter(|r| r.cache)
        .filter_map(|r| Some((r.p, r.hit_ratio()?)))
        .collect();
    let (first, last) = (on.first()?, on.last()?);
    let falling = on.windows(2).all(|w| w[1].1 <= w[0].1);
    let rising = on.windows(2).all(|w| w[1].1 >= w[0].1);
    let trend = match (falling, rising) {
        (true, false) => "falls at every step",
        (false, true) => "rises at every step",
        (true, true) => "stays the same",
        _ => "is not monotonic",
    };
    Some(format!(
        "With the cache on, the hit ratio goes from {:.1}% at p = {} to {:.1}% at p = {} and {trend}. \
         Every buy removes its toy from the cache (the catalog's invalidation and the frontend's \
         own), so the next query of that toy misses. With the cache off every query is a miss.",
        first.1 * 100.0,
        first.0,
        last.1 * 100.0,
        last.0
    ))
}

fn replacement_section(out: &mut String, r: &Replacement) {
    let _ = writeln!(out, "## Cache replacement\n");
    let _ = writeln!(
        out,
        "A cache of {} entries for {} toys (quick_cache, S3-FIFO: new entries enter a small \
         probation queue and are promoted only when read again). Queries only (p = 0), in three \
         phases; the cache's keys were listed every {} ms ({} listings).\n",
        r.cache_size,
        r.toys.len(),
        r.interval_ms,
        r.snapshots.len()
    );
    out.push_str("| phase | seconds | queries | hits | misses | hit ratio | evictions | cached at the end, from the phase's toys |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for phase in &r.phases {
        let last = r
            .snapshots
            .iter()
            .rfind(|s| s.at_s <= phase.end_s && s.at_s >= phase.start_s);
        let held = last.map_or("–".to_string(), |s| {
            let ours = s.keys.iter().filter(|k| phase.toys.contains(k)).count();
            format!("{ours} of {}", s.keys.len())
        });
        let total = phase.cache_hits + phase.cache_misses;
        let hit_ratio = (total > 0).then(|| phase.cache_hits as f64 / total as f64);
        let _ = writeln!(
            out,
            "| {} | {:.1}–{:.1} | {} | {} | {} | {} | {} | {} |",
            phase.label,
            phase.start_s,
            phase.end_s,
            phase.queries,
            phase.cache_hits,
            phase.cache_misses,
            ratio(hit_ratio),
            phase.evictions,
            held
        );
    }
    let largest = r.snapshots.iter().map(|s| s.keys.len()).max().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n![Which toys were cached over time](cache_timeline.png)\n\n\
         The cache never held more than {largest} keys (capacity {}). When the queried half \
         changes, its toys replace the previous half's; when all toys are queried, the cache \
         keeps changing and the hit ratio drops to what the capacity allows.\n",
        r.cache_size
    );
}

fn failover_section(out: &mut String, f: &Failover) {
    let _ = writeln!(out, "## Failover under load\n");
    let before: Vec<f64> = f
        .samples
        .iter()
        .filter(|s| s.at.as_secs_f64() < f.kill_at_s && s.kind == crate::load::RequestKind::Buy)
        .map(|s| s.latency.as_secs_f64() * 1000.0)
        .collect();
    let worst = f
        .samples
        .iter()
        .filter(|s| s.at.as_secs_f64() + s.latency.as_secs_f64() >= f.kill_at_s)
        .max_by_key(|s| s.latency);
    let _ = writeln!(
        out,
        "{:.0} s of load at p = {} with the same 5 sessions. Replica {} led at the start; it was \
         killed with SIGKILL at {:.1} s, started again at {:.1} s and ready (caught up) at {:.1} s. \
         The frontend counted {} leader change(s) and {} retried order call(s); the leader at \
         the end was replica {}.\n",
        f.seconds,
        f.p,
        f.killed,
        f.kill_at_s,
        f.restart_at_s,
        f.ready_at_s,
        f.leader_changes,
        f.order_retries,
        f.leader_after
    );
    out.push_str("| request | count | errors | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- | --- |\n");
    for s in [&f.query, &f.buy, &f.lookup] {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            s.kind.name(),
            s.count,
            s.errors,
            s.p50_ms,
            s.p99_ms,
            s.max_ms
        );
    }
    out.push_str("\n![Latency over time with the leader killed and restarted](failover.png)\n\n");
    if let Some(worst) = worst {
        let _ = writeln!(
            out,
            "- Before the kill the median buy took {:.2} ms; the slowest request still running at \
             or after the kill was a {} sent at {:.2} s that took {:.0} ms.",
            median(&before),
            worst.kind.name(),
            worst.at.as_secs_f64(),
            worst.latency.as_secs_f64() * 1000.0
        );
    }
    if f.errors == 0 {
        out.push_str("- The client saw no error: the crash showed only as slower answers.\n");
    } else {
        let _ = writeln!(
            out,
            "- The client saw {} error(s), for example: {}.",
            f.errors,
            f.error_examples.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "- {} orders were acknowledged; {} were read back after the restart, {} differed and {} \
         could not be read.",
        f.orders, f.verified, f.mismatches, f.lookup_failures
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}
