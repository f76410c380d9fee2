//! The replication protocol at its hard moments, with crash points armed through
//! `TOYSTORE_FAULT` (see `order::faults`): the armed process kills itself with SIGKILL exactly
//! there. Each test then checks what a client saw and what the replicas hold.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::OrderEntry;
use std::collections::HashSet;

/// Places `count` orders one after another with idempotency keys `{prefix}-{i}`; every one must
/// succeed. Returns the acknowledged numbers.
async fn place_in_order(cluster: &TestCluster, prefix: &str, count: usize) -> Vec<u64> {
    let mut numbers = Vec::new();
    for i in 0..count {
        let response = cluster
            .http
            .post(cluster.frontend_url("/orders"))
            .header("Idempotency-Key", format!("{prefix}-{i}"))
            .json(&serde_json::json!({"name": "Tux", "quantity": 1}))
            .send()
            .await
            .expect("frontend reachable");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            status, 200,
            "order {prefix}-{i}: a replica crash must not reach the client: {body}"
        );
        numbers.push(body["data"]["order_number"].as_u64().expect("number"));
    }
    numbers
}

/// The armed service killed itself (SIGKILL) rather than being killed by the test.
fn assert_fault_fired(cluster: &mut TestCluster, service: Service) {
    assert_exited_by(cluster, service, libc::SIGKILL);
}

/// `service` has exited, by `signal`.
fn assert_exited_by(cluster: &mut TestCluster, service: Service, signal: i32) {
    let exited = cluster.local.reap_exited();
    let status = exited
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, status)| status);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.and_then(|s| s.signal()),
        Some(signal),
        "{service} should have died at its fault: {exited:?}"
    );
}

/// Every request id at most once, numbers dense.
fn assert_exactly_once(log: &[OrderEntry]) {
    let ids: HashSet<_> = log.iter().map(|e| &e.request_id).collect();
    assert_eq!(
        ids.len(),
        log.len(),
        "a request id appears twice in {log:#?}"
    );
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry.number, i as u64, "numbers are dense");
    }
}

/// The leader dies right after writing a batch locally, before any of it has left (its own copy
/// may or may not have reached its disk). The client still gets an answer (the frontend retries
/// at the new leader); when the old leader restarts, whatever tail it kept is uncommitted, the
/// new leader overwrote it, and it adopts the new entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_dies_after_local_write_and_its_tail_is_overwritten() {
    let mut cluster = TestCluster::start_with_faults(
        ClusterOptions::default(),
        &[(Service::Replica(3), "leader-after-local-write:3")],
    )
    .await;
    let numbers = place_in_order(&cluster, "flush", 6).await;
    assert_eq!(
        numbers,
        (0..6).collect::<Vec<u64>>(),
        "one order per request, dense numbers"
    );
    assert_fault_fired(&mut cluster, Service::Replica(3));
    cluster.spawn(Service::Replica(3));
    cluster.wait_replica(3).await;
    let log = cluster.wait_converged(6).await;
    assert_exactly_once(&log);
    let first_epoch = log[0].epoch;
    assert!(
        log[2..].iter().all(|e| e.epoch > first_epoch),
        "orders from the crash on were written by the new leader: {log:#?}"
    );
}

/// The leader dies once a majority has an order but before the client got its number. The
/// frontend retries the same request id at the new leader, which must answer with the number
/// the old leader committed: no second order, no second stock decrement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_dies_after_commit_and_the_retry_gets_the_same_number() {
    let mut cluster = TestCluster::start_with_faults(
        ClusterOptions::default(),
        &[(Service::Replica(3), "leader-after-commit:3")],
    )
    .await;
    let before = cluster.quantity("Tux").await;
    let numbers = place_in_order(&cluster, "commit", 5).await;
    assert_eq!(numbers, (0..5).collect::<Vec<u64>>());
    assert_eq!(
        cluster.quantity("Tux").await,
        before - 5,
        "one stock decrement per order"
    );
    assert_fault_fired(&mut cluster, Service::Replica(3));
    cluster.spawn(Service::Replica(3));
    cluster.wait_replica(3).await;
    let log = cluster.wait_converged(5).await;
    assert_exactly_once(&log);
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry.request_id.0, format!("k-commit-{i}"), "entry {i}");
    }
}

/// A follower dies after writing an append but before flushing or answering it. Orders go on
/// with the other two; the follower catches up after its restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_dies_mid_append_and_catches_up() {
    let mut cluster = TestCluster::start_with_faults(
        ClusterOptions::default(),
        &[(Service::Replica(2), "follower-mid-append:4")],
    )
    .await;
    let numbers = place_in_order(&cluster, "mid", 8).await;
    assert_eq!(numbers, (0..8).collect::<Vec<u64>>());
    assert_fault_fired(&mut cluster, Service::Replica(2));
    cluster.spawn(Service::Replica(2));
    cluster.wait_replica(2).await;
    let log = cluster.wait_converged(8).await;
    assert_exactly_once(&log);
}

/// A bug in a replica (here a panic inside its driver task, where every decision is taken) stops
/// the whole process, with the panic on its stderr, instead of leaving its listener up in front
/// of a dead task. The other two go on; the restarted replica recovers from its disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_panics_aborts_instead_of_limping_on() {
    let mut cluster = TestCluster::start_with_faults(
        ClusterOptions::default(),
        &[(Service::Replica(3), "leader-after-commit:2:panic")],
    )
    .await;
    let numbers = place_in_order(&cluster, "panic", 4).await;
    assert_eq!(numbers, (0..4).collect::<Vec<u64>>());
    assert_exited_by(&mut cluster, Service::Replica(3), libc::SIGABRT);
    let stderr = std::fs::read_to_string(cluster.local.stderr_path(Service::Replica(3)))
        .expect("the replica's stderr file");
    assert!(
        stderr.contains("panicked") && stderr.contains("leader-after-commit"),
        "the panic is on stderr: {stderr}"
    );
    cluster.spawn(Service::Replica(3));
    cluster.wait_replica(3).await;
    let log = cluster.wait_converged(4).await;
    assert_exactly_once(&log);
}
