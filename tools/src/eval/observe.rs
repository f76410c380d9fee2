//! The observations of `report.md`: sentences computed from the measured numbers, so the prose
//! says what this run showed and nothing it did not.

use super::results::{Failover, Replacement, SweepRun};
use crate::load::RequestKind;

/// The sweep run with the cache `on` (or off) at `p`.
pub(crate) fn find(sweep: &[SweepRun], cache: bool, p: f64) -> Option<&SweepRun> {
    sweep.iter().find(|r| r.cache == cache && r.p == p)
}

/// Factor and direction of `a` against `b`: "3.2× faster" when `a` is the larger.
fn times(a: f64, b: f64, larger: &str, smaller: &str) -> String {
    if a <= 0.0 || b <= 0.0 {
        return "not comparable".into();
    }
    if a >= b {
        format!("{:.1}× {larger}", a / b)
    } else {
        format!("{:.1}× {smaller}", b / a)
    }
}

/// The buy probabilities of the sweep, in order.
fn ps(sweep: &[SweepRun]) -> Vec<f64> {
    sweep.iter().filter(|r| r.cache).map(|r| r.p).collect()
}

/// Sentences about latency and throughput across the sweep.
pub fn sweep(sweep: &[SweepRun]) -> Vec<String> {
    let mut lines = Vec::new();
    let ps = ps(sweep);
    let pairs: Vec<(f64, &SweepRun, &SweepRun)> = ps
        .iter()
        .filter_map(|&p| Some((p, find(sweep, true, p)?, find(sweep, false, p)?)))
        .collect();
    let medians: Vec<String> = pairs
        .iter()
        .map(|(p, on, off)| {
            format!(
                "{} at p = {p} ({:.2} ms on, {:.2} ms off)",
                times(off.query.p50_ms, on.query.p50_ms, "faster", "slower"),
                on.query.p50_ms,
                off.query.p50_ms
            )
        })
        .collect();
    if !medians.is_empty() {
        lines.push(format!(
            "With the cache on, the median query is {}.",
            medians.join("; ")
        ));
    }
    if let (Some(first), Some(last)) = (pairs.first(), pairs.last()) {
        lines.push(format!(
            "Tails: the query p99 is {:.2} ms with the cache and {:.2} ms without at p = {}, and \
             {:.2} ms against {:.2} ms at p = {}. With the cache on, the median query goes from \
             {:.2} ms at p = {} to {:.2} ms at p = {}, as more queries miss (next section) and \
             more buys run beside them on the same cores.",
            first.1.query.p99_ms,
            first.2.query.p99_ms,
            first.0,
            last.1.query.p99_ms,
            last.2.query.p99_ms,
            last.0,
            first.1.query.p50_ms,
            first.0,
            last.1.query.p50_ms,
            last.0
        ));
    }
    let range = |cache: bool| {
        let medians: Vec<f64> = sweep
            .iter()
            .filter(|r| r.cache == cache && r.buy.count > 0)
            .map(|r| r.buy.p50_ms)
            .collect();
        let lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = medians.iter().copied().fold(0.0, f64::max);
        (!medians.is_empty()).then_some((lo, hi))
    };
    if let (Some(on), Some(off)) = (range(true), range(false)) {
        let cached = pairs
            .iter()
            .map(|(_, on, _)| on.query.p50_ms)
            .fold(0.0, f64::max);
        lines.push(format!(
            "The median buy takes {:.2} to {:.2} ms with the cache on and {:.2} to {:.2} ms with \
             it off, at least {} than the slowest median cached query ({cached:.2} ms). A buy \
             is taken by the catalog and flushed, then flushed by a majority of the order \
             replicas, before it is acknowledged.",
            on.0,
            on.1,
            off.0,
            off.1,
            times(on.0.min(off.0), cached, "slower", "faster"),
        ));
    }
    let rate = |r: &SweepRun| r.iterations as f64 / r.seconds.max(f64::EPSILON);
    if let (Some(first), Some(last)) = (pairs.first(), pairs.last()) {
        lines.push(format!(
            "Steps per second (all sessions, cache on) fall from {:.0} at p = {} to {:.0} at \
             p = {}: sessions are closed loops, so every buy holds its session for a buy's latency.",
            rate(first.1),
            first.0,
            rate(last.1),
            last.0
        ));
    }
    lines.extend(outcomes(sweep));
    lines
}

/// Sold-out toys, refusals, errors and the verification, over the whole sweep.
fn outcomes(sweep: &[SweepRun]) -> Vec<String> {
    let sum = |f: fn(&SweepRun) -> u64| sweep.iter().map(f).sum::<u64>();
    let steps = sum(|r| r.iterations as u64);
    let sold_out = sum(|r| r.sold_out as u64);
    let refused = sum(|r| r.buy.out_of_stock);
    let errors = sum(|r| r.query.errors + r.buy.errors + r.lookup.errors);
    let orders = sum(|r| r.orders as u64);
    let verified = sum(|r| r.verified as u64);
    let bad = sum(|r| (r.mismatches + r.lookup_failures) as u64);
    let mut stock = format!("Of {steps} steps, {sold_out} found their toy sold out");
    if refused > 0 {
        stock.push_str(&format!(
            " and {refused} buys were refused as out of stock (another session took the last \
             items between query and buy)"
        ));
    }
    let failed = match errors {
        0 => "no request failed".to_string(),
        n => format!("{n} requests failed"),
    };
    let checked = if bad == 0 && verified == orders {
        "every one matched".to_string()
    } else {
        format!("{bad} did not match or could not be read")
    };
    vec![
        format!("{stock}; {failed}."),
        format!("{orders} orders were acknowledged; {verified} were read back and {checked}."),
    ]
}

/// How the hit ratio moves with p, with the cache on.
pub fn hit_ratio(sweep: &[SweepRun]) -> Option<String> {
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
    // A step buys the toy it just queried with probability p, and a buy drops the toy from the
    // cache; so the next query of a toy hits about when its last step bought nothing: 1 - p.
    let off_by = on
        .iter()
        .map(|(p, r)| (r - (1.0 - p)).abs())
        .fold(0.0, f64::max);
    let model = if off_by <= 0.05 {
        format!(
            " It stays within {:.1} points of 1 − p, which this workload predicts: a step buys \
             the toy it just queried with probability p, the buy drops that toy from the cache \
             (the catalog's invalidation and the frontend's own), so a query hits about when \
             its toy's last step bought nothing.",
            off_by * 100.0
        )
    } else {
        format!(
            " It departs from 1 − p by up to {:.1} points. Every buy drops its toy from the \
             cache (the catalog's invalidation and the frontend's own), so the next query of \
             that toy misses.",
            off_by * 100.0
        )
    };
    Some(format!(
        "With the cache on, the hit ratio goes from {:.1}% at p = {} to {:.1}% at p = {} and \
         {trend}.{model} With the cache off every query is a miss.",
        first.1 * 100.0,
        first.0,
        last.1 * 100.0,
        last.0
    ))
}

/// Sentences about the replacement phases.
pub fn replacement(r: &Replacement) -> Vec<String> {
    let mut lines = Vec::new();
    let largest = r.snapshots.iter().map(|s| s.keys.len()).max().unwrap_or(0);
    lines.push(format!(
        "The cache never listed more than {largest} keys (capacity {}).",
        r.cache_size
    ));
    if let Some(second) = r.phases.get(1) {
        let new_toys = second.toys.len().max(1);
        let per_toy = second.cache_misses as f64 / new_toys as f64;
        let why = if per_toy > 1.0 {
            " More than one miss per new toy fits S3-FIFO: a newcomer enters a small probation \
             queue and can be pushed out by the next newcomer before its second read; it then \
             comes back, by the ghost list, straight into the main queue."
        } else {
            ""
        };
        lines.push(format!(
            "When the queried half changed ({}), its {} toys cost {} misses, {per_toy:.1} per \
             toy, and the cache made {} evictions.{why}",
            second.label, new_toys, second.cache_misses, second.evictions
        ));
    }
    if let Some(all) = r.phases.get(2) {
        let total = all.cache_hits + all.cache_misses;
        if total > 0 && !all.toys.is_empty() {
            lines.push(format!(
                "With all {} toys queried uniformly, the hit ratio was {:.1}%; a cache that \
                 always held the same {} of them would hit {:.1}% of uniform queries.",
                all.toys.len(),
                all.cache_hits as f64 / total as f64 * 100.0,
                r.cache_size.min(all.toys.len()),
                r.cache_size.min(all.toys.len()) as f64 / all.toys.len() as f64 * 100.0
            ));
        }
    }
    lines
}

/// Sentences about the failover run.
pub fn failover(f: &Failover) -> Vec<String> {
    let mut lines = Vec::new();
    let mut before: Vec<f64> = f
        .samples
        .iter()
        .filter(|s| s.kind == RequestKind::Buy && s.at.as_secs_f64() < f.kill_at_s)
        .map(|s| s.latency.as_secs_f64() * 1000.0)
        .collect();
    before.sort_by(f64::total_cmp);
    let worst = f
        .samples
        .iter()
        .filter(|s| (s.at + s.latency).as_secs_f64() >= f.kill_at_s)
        .max_by_key(|s| s.latency);
    if let (Some(median), Some(worst)) = (before.get(before.len() / 2), worst) {
        lines.push(format!(
            "Before the kill the median buy took {median:.2} ms. The slowest request that was \
             still running at the kill or sent after it was a {} sent at {:.2} s, which took \
             {:.0} ms.",
            worst.kind.name(),
            worst.at.as_secs_f64(),
            worst.latency.as_secs_f64() * 1000.0
        ));
    }
    if f.errors == 0 {
        lines.push("The client saw no error: the crash showed only as slower answers.".into());
    } else {
        lines.push(format!(
            "The client saw {} error(s), for example: {}.",
            f.errors,
            f.error_examples.join("; ")
        ));
    }
    lines.push(format!(
        "{} orders were acknowledged; {} were read back after the restart, {} differed and {} \
         could not be read.",
        f.orders, f.verified, f.mismatches, f.lookup_failures
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{new_histogram, KindSummary};
    use std::time::Duration;

    fn run(cache: bool, p: f64, hits: u64, misses: u64, orders: usize) -> SweepRun {
        let none = |kind| KindSummary::new(kind, &new_histogram(), 0, 0, Duration::from_secs(1));
        SweepRun {
            cache,
            cache_size: if cache { 64 } else { 0 },
            p,
            seconds: 1.0,
            iterations: 100,
            sold_out: 0,
            query: none(RequestKind::Query),
            buy: none(RequestKind::Buy),
            lookup: none(RequestKind::Lookup),
            orders,
            cache_hits: hits,
            cache_misses: misses,
            orders_refused_from_cache: 0,
            verified: orders,
            mismatches: 0,
            lookup_failures: 0,
        }
    }

    #[test]
    fn the_hit_ratio_sentence_follows_the_numbers() {
        let near_model = [run(true, 0.0, 99, 1, 0), run(true, 0.5, 52, 48, 50)];
        let text = hit_ratio(&near_model).expect("a sentence");
        assert!(
            text.contains("99.0% at p = 0 to 52.0% at p = 0.5"),
            "{text}"
        );
        assert!(text.contains("falls at every step"), "{text}");
        assert!(text.contains("within 2.0 points of 1 − p"), "{text}");
        let far = [run(true, 0.0, 50, 50, 0), run(true, 0.5, 60, 40, 50)];
        let text = hit_ratio(&far).expect("a sentence");
        assert!(text.contains("rises at every step"), "{text}");
        assert!(
            text.contains("departs from 1 − p by up to 50.0 points"),
            "{text}"
        );
    }

    #[test]
    fn outcomes_count_every_run_and_name_problems() {
        let mut bad = run(false, 0.2, 0, 100, 20);
        bad.verified = 19;
        bad.lookup_failures = 1;
        let lines = outcomes(&[run(true, 0.2, 80, 20, 20), bad]);
        assert_eq!(
            lines[0],
            "Of 200 steps, 0 found their toy sold out; no request failed."
        );
        assert_eq!(
            lines[1],
            "40 orders were acknowledged; 39 were read back and 1 did not match or could not be read."
        );
    }
}
