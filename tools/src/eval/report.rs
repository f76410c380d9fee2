//! `report.md`: the tables of an evaluation and observations computed from its numbers (every
//! figure in the prose comes from [`EvalResults`], none is written by hand).

use std::fmt::Write as _;

use super::observe;
use super::results::{EvalResults, Failover, Replacement, SoldOut, SweepRun};
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
    if let (Some(before), Some(after)) = (s.load_before, s.load_after) {
        let _ = writeln!(
            out,
            "The machine's 1-minute load average was {before:.2} before and {after:.2} after the \
             run (the evaluation itself adds to it; more than that means other work shared the \
             cores).\n"
        );
    }
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
    if let Some(sold_out) = &results.sold_out {
        sold_out_section(&mut out, sold_out);
    }
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
    for line in observe::sweep(sweep) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out, "\n## Cache hit ratio\n");
    out.push_str(
        "| p | hits | misses | orders refused from the cache | hit ratio (cache on) | hit ratio (cache off) |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for on in sweep.iter().filter(|r| r.cache) {
        let off = observe::find(sweep, false, on.p);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            on.p,
            on.cache_hits,
            on.cache_misses,
            on.orders_refused_from_cache,
            ratio(on.hit_ratio()),
            ratio(off.and_then(SweepRun::hit_ratio))
        );
    }
    out.push_str(
        "\nOrders refused from the cache were answered `400 out of stock` by the frontend from a \
         fresh cached quantity, without a hop to the leader. Only orders without an \
         Idempotency-Key take that path, and every buy of this load carries one (so that its \
         retries are safe): 0 here says the keyed path was untouched. The sell-out experiment \
         below measures the keyless path.\n",
    );
    out.push_str("\n![Cache hit ratio against p](hit_ratio.png)\n\n");
    if let Some(line) = observe::hit_ratio(sweep) {
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
    out.push_str("\n![Which toys were cached over time](cache_timeline.png)\n\n");
    for line in observe::replacement(r) {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

fn failover_section(out: &mut String, f: &Failover) {
    let _ = writeln!(out, "## Failover under load\n");
    let _ = writeln!(
        out,
        "{:.0} s of load at p = {} with the same client sessions. Replica {} led at the start; it was \
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
    for line in observe::failover(f) {
        let _ = writeln!(out, "- {line}");
    }
}

fn sold_out_section(out: &mut String, sold: &SoldOut) {
    let _ = writeln!(out, "\n## Out of stock from the cache\n");
    let _ = writeln!(
        out,
        "A second cluster whose toys start with {} each and never restock, so that they sell \
         out. The same sessions at p = {}, buying sold-out toys too (as a client whose page \
         predates the sell-out), in rounds that alternate buys with an Idempotency-Key (refused \
         by the catalog, through the leader) and without one (refused by the frontend itself \
         when its cached quantity is fresh and short). Keyless buys are sent once.\n",
        sold.stock, sold.p
    );
    out.push_str("| round | keys | buys | placed | refused | refused from the cache | refusal p50 / p90 / p99 ms | errors | verified |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (index, round) in sold.rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} of {} |",
            index + 1,
            if round.keyless { "none" } else { "every buy" },
            round.buy.count,
            round.orders,
            round.refused.count,
            round.refused_from_cache,
            percentiles(&round.refused),
            round.buy.errors,
            round.verified,
            round.orders,
        );
    }
    let (keyed, keyless) = (&sold.keyed_refusals, &sold.keyless_refusals);
    if keyed.count > 0 && keyless.count > 0 {
        let _ = writeln!(
            out,
            "\nOver every round, a keyed refusal took {:.2} ms at the median ({:.2} ms at p99, {} \
             refusals) and a keyless one {:.2} ms ({:.2} ms at p99, {}): {:.2} ms saved per \
             refused order at the median, and no leader or catalog work for it.",
            keyed.p50_ms,
            keyed.p99_ms,
            keyed.count,
            keyless.p50_ms,
            keyless.p99_ms,
            keyless.count,
            keyed.p50_ms - keyless.p50_ms,
        );
    }
}
