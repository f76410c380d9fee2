//! Failover: the leader dies (SIGKILL) while a client places orders in a loop. No request fails,
//! every acknowledged order reads back, and once the dead replica is back all logs are identical.

mod cluster;

use cluster::{Options, Service, TestCluster};
use std::collections::BTreeMap;
use std::time::Duration;

/// Orders placed by concurrent clients while the leader is killed all succeed and survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_load_loses_nothing_and_fails_no_request() {
    let mut cluster = TestCluster::start(Options::default()).await;
    let toys = ["Tux", "Whale", "Elephant", "Dolphin"];
    let clients = 4;
    let orders_per_client = 40;
    let acknowledged = std::sync::Arc::new(tokio::sync::Mutex::new(BTreeMap::new()));
    let mut tasks = Vec::new();
    for client in 0..clients {
        let http = cluster.http.clone();
        let url = cluster.frontend_url("/orders");
        let acknowledged = acknowledged.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..orders_per_client {
                let toy = toys[(client + i) % toys.len()];
                let body = serde_json::json!({"name": toy, "quantity": 1});
                let response = http
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .expect("frontend reachable");
                let status = response.status().as_u16();
                let answer: serde_json::Value = response.json().await.expect("json body");
                assert_eq!(status, 200, "client {client} order {i} failed: {answer}");
                let number = answer["data"]["order_number"].as_u64().expect("number");
                let previous = acknowledged.lock().await.insert(number, toy.to_string());
                assert!(previous.is_none(), "order number {number} given twice");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    // Let the load run, then kill the leader (replica 3, the highest id) in its middle.
    cluster
        .wait_until("some orders placed", || async {
            acknowledged.lock().await.len() >= 30
        })
        .await;
    cluster.kill(Service::Replica(3));
    for task in tasks {
        task.await.expect("client task");
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert_eq!(acknowledged.len(), clients * orders_per_client);
    for (number, toy) in &acknowledged {
        let (status, body) = cluster
            .public("GET", &format!("/orders/{number}"), None)
            .await;
        assert_eq!(status, 200, "order {number}: {body}");
        assert_eq!(body["data"]["name"], toy.as_str(), "order {number}");
    }
    let numbers: Vec<u64> = acknowledged.keys().copied().collect();
    let dense: Vec<u64> = (0..numbers.len() as u64).collect();
    assert_eq!(numbers, dense, "acknowledged numbers are dense from 0");

    cluster.spawn(Service::Replica(3));
    cluster.wait_replica(3).await;
    let log = cluster.wait_converged(acknowledged.len()).await;
    for entry in &log {
        assert_eq!(
            acknowledged.get(&entry.number),
            Some(&entry.name),
            "entry {}",
            entry.number
        );
    }
}
