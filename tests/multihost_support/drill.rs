//! The drill itself: its script of failures (a leader's crash, a partition from the web host, a
//! partition from its peers) while `tools::load` sessions place orders through the frontend, and
//! the checks that follow: no failed request, one converged log, every acknowledged order in it
//! exactly as acknowledged and read back through the frontend. Everything here runs on a thread
//! in the client's namespace, the only place the hosts' addresses are reachable from.

use super::firewall::Firewall;
use super::lab::Lab;
use super::netns::in_netns;
use super::poll::wait_for;
use super::{
    CLIENTS, CLIENT_TIMEOUT, CONVERGE_TIMEOUT, LOAD_LIMIT, ORDERS, ORDERS_PER_PHASE, PHASE_TIMEOUT,
    START_TIMEOUT, WEB,
};
use client::{ClientError, StoreClient};
use common::wire::Role;
use common::{Epoch, OrderEntry, ReplicaId, Shutdown};
use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use supervisor::{LocalCluster, Service};
use tools::load::{run_load_spread, verify_across, LoadConfig, LoadProgress, LoadReport};

/// The replica leading the highest epoch, with that epoch, once it is ready to serve.
async fn leader(cluster: &LocalCluster) -> Option<(ReplicaId, Epoch)> {
    let id = cluster.leader().await?;
    let health = cluster.replica_health(id).await?;
    (health.role == Role::Leader && health.ready).then_some((id, health.epoch))
}

/// A leader other than `old`, of an epoch after `epoch`.
async fn another_leader(
    cluster: &LocalCluster,
    old: ReplicaId,
    epoch: Epoch,
) -> Option<(ReplicaId, Epoch)> {
    leader(cluster)
        .await
        .filter(|(id, e)| *id != old && *e > epoch)
}

/// The drill's script, while the sessions place orders; `acked` counts their acknowledged orders.
async fn conduct(lab: &mut Lab, firewall: Firewall, acked: &AtomicUsize) {
    let acks = || acked.load(Ordering::Relaxed);
    let orders_go_on = |what: &'static str| {
        let from = acks();
        wait_for(what, PHASE_TIMEOUT, move || async move {
            (acks() >= from + ORDERS_PER_PHASE).then_some(())
        })
    };
    orders_go_on("orders before any failure").await;

    // 1. The leader's process dies.
    let (first, epoch) = wait_for("a leader", PHASE_TIMEOUT, || leader(&lab.cluster)).await;
    println!("leader is order-{first} (epoch {epoch}); killing its process");
    let victim = Service::Replica(first);
    lab.cluster.kill(victim).unwrap_or_else(|e| panic!("{e}"));
    orders_go_on("orders after the leader was killed").await;
    let (second, _) = wait_for("a new leader", PHASE_TIMEOUT, || {
        another_leader(&lab.cluster, first, epoch)
    })
    .await;
    println!("order-{second} leads now; restarting order-{first}");
    lab.start(victim);
    let ready = lab.cluster.wait_ready(victim, PHASE_TIMEOUT).await;
    ready.unwrap_or_else(|e| panic!("{e}"));

    // 2. The leader is cut off from the web host (frontend and catalog), not from its peers.
    let (leader_id, epoch) =
        wait_for("the current leader", PHASE_TIMEOUT, || leader(&lab.cluster)).await;
    let ns = lab.ns(ORDERS[leader_id as usize - 1].0).to_string();
    println!(
        "cutting order-{leader_id} (epoch {epoch}) off from {} with {firewall:?}",
        WEB.1
    );
    firewall.cut(&ns, WEB.1);
    let config = &lab.cluster.config;
    let web = [
        config.frontends[0].public,
        config.frontends[0].internal,
        config.catalog.internal,
    ];
    let peers: Vec<SocketAddr> = config
        .replicas
        .iter()
        .filter(|r| r.id != leader_id)
        .map(|r| r.internal)
        .collect();
    // The cut is real: from the leader's host the web host is unreachable, its peers are not.
    let (web_reachable, peers_reachable) = in_netns(&ns, || {
        (web.iter().any(reachable), peers.iter().all(reachable))
    });
    assert!(
        !web_reachable && peers_reachable,
        "partition: web reachable {web_reachable}, peers reachable {peers_reachable}"
    );
    orders_go_on("orders while the leader is partitioned").await;
    let (third, new_epoch) = wait_for("a leader outside the partition", PHASE_TIMEOUT, || {
        another_leader(&lab.cluster, leader_id, epoch)
    })
    .await;
    // Cut off from the frontend, the old leader still follows the new one through its peers.
    let committed = wait_for("the new leader's commit index", PHASE_TIMEOUT, || async {
        let health = lab.cluster.replica_health(third).await?;
        Some(health.commit_len)
    })
    .await;
    wait_for(
        "the partitioned replica to receive the new leader's entries",
        PHASE_TIMEOUT,
        || async {
            let health = lab.cluster.replica_health(leader_id).await?;
            (health.len >= committed).then_some(())
        },
    )
    .await;
    println!(
        "order-{third} leads epoch {new_epoch}; order-{leader_id} holds its {committed} \
         committed entries too; healing the partition"
    );
    firewall.heal(&ns, WEB.1);
    orders_go_on("orders after the partition healed").await;

    // 3. The leader is cut off from its peers, not from the web host (finding 4 of the protocol
    //    review): it must notice it lost its majority and step down, and another leads.
    let (leader_id, epoch) =
        wait_for("the current leader", PHASE_TIMEOUT, || leader(&lab.cluster)).await;
    let ns = lab.ns(ORDERS[leader_id as usize - 1].0).to_string();
    let peers: Vec<&str> = (1..)
        .zip(ORDERS)
        .filter(|(id, _)| *id != leader_id)
        .map(|(_, (_, ip))| ip)
        .collect();
    println!("cutting order-{leader_id} (epoch {epoch}) off from its peers {peers:?}");
    firewall.cut_all(&ns, &peers);
    let (fourth, newer) = wait_for("a leader among the peers", PHASE_TIMEOUT, || {
        another_leader(&lab.cluster, leader_id, epoch)
    })
    .await;
    orders_go_on("orders while the leader is cut off from its peers").await;
    println!("order-{fourth} leads epoch {newer}; healing");
    firewall.heal_all(&ns, &peers);
    orders_go_on("orders after the second partition healed").await;
}

fn reachable(address: &SocketAddr) -> bool {
    TcpStream::connect_timeout(address, Duration::from_secs(1)).is_ok()
}

/// Waits for the store to serve, runs the script under load, then checks every invariant;
/// panics with what broke.
pub async fn drill(lab: &mut Lab, firewall: Firewall, toys: Vec<String>) {
    for service in lab.cluster.services() {
        let ready = lab.cluster.wait_ready(service, START_TIMEOUT).await;
        ready.unwrap_or_else(|e| panic!("{e}"));
    }
    let served = lab.cluster.wait_orders_served(START_TIMEOUT).await;
    served.unwrap_or_else(|e| panic!("{e}"));

    let stores = [StoreClient::with_timeout(
        lab.cluster.frontend_url(),
        CLIENT_TIMEOUT,
    )];
    // Every step buys one unit of a toy in stock, so orders come as fast as the store takes them.
    let config = LoadConfig {
        sessions: CLIENTS,
        iterations: None,
        duration: Some(LOAD_LIMIT),
        p: 1.0,
        max_quantity: 1,
        seed: None,
        toys,
        rate: None,
        keyless: false,
        buy_sold_out: false,
    };
    let acked = AtomicUsize::new(0);
    let (stop_load, stop) = Shutdown::new();
    let progress = |p: &LoadProgress| acked.store(p.orders, Ordering::Relaxed);
    let load = run_load_spread(&stores, &config, progress, stop);
    // A panic in the script unwinds through the join and drops the load with it.
    let script = async {
        conduct(lab, firewall, &acked).await;
        stop_load.fire();
    };
    let (report, ()) = tokio::join!(load, script);
    check(&lab.cluster, &stores, &report).await;
}

/// What the sessions saw, the replicas' logs and the frontend's answers agree.
async fn check(cluster: &LocalCluster, stores: &[StoreClient], report: &LoadReport) {
    let (refused, failed): (Vec<_>, Vec<_>) = report
        .failures
        .iter()
        .partition(|f| f.error == ClientError::OutOfStock);
    println!(
        "{} orders acknowledged in {:.1?}, {} steps found their toy sold out, {} buys refused \
         for stock, {} failed requests",
        report.orders.len(),
        report.elapsed,
        report.sold_out,
        refused.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "clients saw errors while a majority was up: {failed:#?}"
    );

    let highest = report.orders.iter().map(|o| o.number).max().unwrap_or(0);
    let logs = converged_logs(cluster, highest).await;
    let log = &logs[0];
    // Dense, exactly once, and every acknowledged order is there as acknowledged.
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry.number, i as u64, "log not dense at entry {i}");
    }
    let request_ids: BTreeSet<_> = log.iter().map(|e| &e.request_id).collect();
    assert_eq!(request_ids.len(), log.len(), "a request id appears twice");
    for order in &report.orders {
        let entry = &log[order.number as usize];
        assert!(
            entry.name == order.name && entry.quantity == order.quantity,
            "acknowledged {order:?} but the log holds {entry:?}"
        );
    }
    // And the frontend reads every one back.
    let verification = verify_across(stores, &report.orders).await;
    assert!(
        verification.is_ok(),
        "orders not read back as acknowledged: {:#?} {:#?}",
        verification.mismatches,
        verification.lookup_failures
    );
    println!(
        "{} replicas hold the same {} entries; every acknowledged order is among them and reads \
         back through the frontend",
        logs.len(),
        log.len()
    );
}

/// Every replica's log, once they are all the same and hold order `highest`.
async fn converged_logs(cluster: &LocalCluster, highest: u64) -> Vec<Vec<OrderEntry>> {
    let deadline = Instant::now() + CONVERGE_TIMEOUT;
    loop {
        let mut logs = Vec::new();
        for replica in &cluster.config.replicas {
            let log = cluster.replica_log(replica.id).await;
            logs.push(log.map(|(_, entries)| entries).unwrap_or_default());
        }
        let same = logs.windows(2).all(|w| w[0] == w[1]);
        if same && logs[0].len() as u64 > highest {
            return logs;
        }
        let lengths: Vec<usize> = logs.iter().map(Vec::len).collect();
        assert!(
            Instant::now() < deadline,
            "replicas did not converge within {CONVERGE_TIMEOUT:?}: lengths {lengths:?}, \
             highest acknowledged {highest}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
