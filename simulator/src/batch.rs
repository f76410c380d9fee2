//! Many seeds at once: [`run_seeds`] spreads a range of seeds over threads, each seed a whole
//! simulated run of its own, and gives the reports back in seed order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::config::{run, Config, Report};

/// Runs the seeds `start..start + count` on `jobs` threads, the configuration of each made by
/// `config`; `done` hears every report as it comes (from any thread). A panic in the protocol
/// code is already a violation in its report, so every seed gives one.
pub fn run_seeds(
    start: u64,
    count: u64,
    jobs: usize,
    config: impl Fn(u64) -> Config + Sync,
    done: impl Fn(&Report) + Sync,
) -> Vec<Report> {
    let next = AtomicU64::new(0);
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let report = run(&config(start + i));
                done(&report);
                common::sync::lock(&reports).push(report);
            });
        }
    });
    let mut reports = reports.into_inner().expect("every thread is done");
    reports.sort_by_key(|r| r.seed);
    reports
}
