//! Failover: the leader dies (SIGKILL) while clients place orders in a loop. No request fails,
//! every acknowledged order reads back, and once the dead replica is back all logs are identical.
//! The same holds with two frontends sharing the clients, and with five replicas losing two.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::{FrontendId, ReplicaId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// The toys the load buys, one unit at a time (100 of each in stock, restocked every 10 s).
const TOYS: [&str; 4] = ["Tux", "Whale", "Elephant", "Dolphin"];
/// The longest a whole load may take, kills and elections included; a hung request fails the
/// test here rather than hanging it.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Acknowledged orders: number → (toy, frontend that acknowledged it).
type Acked = Arc<Mutex<BTreeMap<u64, (String, FrontendId)>>>;

/// Starts `clients` concurrent clients, client `c` ordering through the `c % n`-th of the
/// cluster's `n` frontends, each placing `orders_per_client` orders of one unit; every order
/// must succeed. Returns the acknowledged orders as they come and the clients' tasks.
fn start_order_load(
    cluster: &TestCluster,
    clients: usize,
    orders_per_client: usize,
) -> (Acked, Vec<JoinHandle<()>>) {
    let acknowledged: Acked = Arc::default();
    let frontends = cluster.frontend_ids();
    let tasks = (0..clients)
        .map(|client| {
            let http = cluster.http.clone();
            let frontend = frontends[client % frontends.len()];
            let url = cluster.frontend_url_of(frontend, "/orders");
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for i in 0..orders_per_client {
                    let toy = TOYS[(client + i) % TOYS.len()];
                    let body = serde_json::json!({"name": toy, "quantity": 1});
                    let response = http.post(&url).json(&body).send().await;
                    let response = response.unwrap_or_else(|e| {
                        panic!("client {client} order {i}: frontend {frontend} unreachable: {e}")
                    });
                    let status = response.status().as_u16();
                    let answer: serde_json::Value = response.json().await.expect("json body");
                    assert_eq!(
                        status, 200,
                        "client {client} order {i} via frontend {frontend} failed: {answer}"
                    );
                    let number = answer["data"]["order_number"].as_u64().expect("number");
                    let previous = acknowledged
                        .lock()
                        .await
                        .insert(number, (toy.to_string(), frontend));
                    assert!(previous.is_none(), "order number {number} given twice");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    (acknowledged, tasks)
}

/// Waits for every client of [`start_order_load`] (a failed order fails the test here) and
/// returns what was acknowledged, checked dense from 0.
async fn finish_order_load(acked: &Acked, tasks: Vec<JoinHandle<()>>, expected: usize) -> Acked {
    let all = async {
        for task in tasks {
            task.await.expect("client task");
        }
    };
    tokio::time::timeout(LOAD_TIMEOUT, all)
        .await
        .unwrap_or_else(|_| panic!("the order load did not finish within {LOAD_TIMEOUT:?}"));
    let acknowledged = acked.lock().await;
    assert_eq!(acknowledged.len(), expected);
    let numbers: Vec<u64> = acknowledged.keys().copied().collect();
    let dense: Vec<u64> = (0..numbers.len() as u64).collect();
    assert_eq!(numbers, dense, "acknowledged numbers are dense from 0");
    acked.clone()
}

/// Reads every acknowledged order back through each frontend of `via`.
async fn assert_read_back(cluster: &TestCluster, acked: &Acked, via: &[FrontendId]) {
    for (number, (toy, placed_by)) in acked.lock().await.iter() {
        for &frontend in via {
            let (status, body) = cluster
                .public_via(frontend, "GET", &format!("/orders/{number}"), None)
                .await;
            assert_eq!(
                status, 200,
                "order {number} (placed via frontend {placed_by}) read via frontend {frontend}: {body}"
            );
            assert_eq!(body["data"]["name"], toy.as_str(), "order {number}");
        }
    }
}

/// Restarts `replicas`, waits until every log holds exactly the acknowledged orders.
async fn restart_and_converge(cluster: &mut TestCluster, replicas: &[ReplicaId], acked: &Acked) {
    for &id in replicas {
        cluster.spawn(Service::Replica(id));
    }
    for &id in replicas {
        cluster.wait_replica(id).await;
    }
    let acknowledged = acked.lock().await.clone();
    let log = cluster.wait_converged(acknowledged.len()).await;
    for entry in &log {
        let toy = acknowledged.get(&entry.number).map(|(toy, _)| toy);
        assert_eq!(toy, Some(&entry.name), "entry {}", entry.number);
    }
}

/// Orders placed by concurrent clients while the leader is killed all succeed and survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_load_loses_nothing_and_fails_no_request() {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    let (acked, tasks) = start_order_load(&cluster, 4, 40);
    // Let the load run, then kill the leader (replica 3, the highest id) in its middle.
    cluster
        .wait_until("some orders placed", || async {
            acked.lock().await.len() >= 30
        })
        .await;
    cluster.kill(Service::Replica(3));
    let acked = finish_order_load(&acked, tasks, 160).await;
    assert_read_back(&cluster, &acked, &[1]).await;
    restart_and_converge(&mut cluster, &[3], &acked).await;
}

/// Two frontends share the clients while the leader is killed once: no order fails, every
/// acknowledged order reads back through both frontends (read after acknowledge from every
/// frontend), and the two frontends' elections settle quietly (the epoch grows by at most 5).
/// Regression (finding 6 of the protocol review): before frontends followed a live leader, the
/// epoch grew by 13 to 52 for this one kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_frontends_share_the_load_through_a_leader_kill() {
    let mut cluster = TestCluster::start(ClusterOptions {
        frontends: 2,
        ..ClusterOptions::default()
    })
    .await;
    let epoch_before = cluster.max_epoch().await;
    let (acked, tasks) = start_order_load(&cluster, 4, 40);
    cluster
        .wait_until("some orders placed", || async {
            acked.lock().await.len() >= 30
        })
        .await;
    let leader = cluster.leader().await;
    cluster.kill(Service::Replica(leader));
    let acked = finish_order_load(&acked, tasks, 160).await;
    let placers: std::collections::BTreeSet<FrontendId> =
        acked.lock().await.values().map(|(_, f)| *f).collect();
    assert_eq!(placers.len(), 2, "both frontends placed orders");
    assert_read_back(&cluster, &acked, &[1, 2]).await;
    restart_and_converge(&mut cluster, &[leader], &acked).await;
    let epoch_after = cluster.max_epoch().await;
    assert!(
        epoch_after <= epoch_before + 5,
        "epoch went from {epoch_before} to {epoch_after} for one leader kill: elections fought\n{}",
        cluster.stderr_tail()
    );
}

/// Five replicas lose two at once, the leader among them, in the middle of the load: a
/// majority (3 of 5) is left, so every order still succeeds and reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_replicas_lose_two_leader_included_and_keep_taking_orders() {
    let mut cluster = TestCluster::start(ClusterOptions {
        replicas: 5,
        ..ClusterOptions::default()
    })
    .await;
    let (acked, tasks) = start_order_load(&cluster, 4, 30);
    cluster
        .wait_until("some orders placed", || async {
            acked.lock().await.len() >= 20
        })
        .await;
    let leader = cluster.leader().await;
    let follower = cluster
        .replica_ids()
        .into_iter()
        .find(|&id| id != leader)
        .expect("a follower");
    cluster.kill(Service::Replica(leader));
    cluster.kill(Service::Replica(follower));
    let acked = finish_order_load(&acked, tasks, 120).await;
    assert_read_back(&cluster, &acked, &[1]).await;
    restart_and_converge(&mut cluster, &[leader, follower], &acked).await;
}
