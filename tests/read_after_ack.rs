//! Read after acknowledge (finding 3 of the protocol review): place an order, SIGKILL the leader
//! the moment the number comes back, and read the order at once through every frontend. Before
//! the read index, the new leader's lagging commit index answered most such reads with 404.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};

/// Rounds of place, kill the leader, read back; each round kills the leader of the moment.
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_reads_back_at_once_after_its_leader_is_killed() {
    let mut cluster = TestCluster::start(ClusterOptions {
        frontends: 2,
        ..ClusterOptions::default()
    })
    .await;
    for round in 0..ROUNDS {
        let leader = cluster.leader().await;
        let body = r#"{"name":"Tux","quantity":1}"#;
        let (status, placed) = cluster.public("POST", "/orders", Some(body)).await;
        assert_eq!(status, 200, "round {round}: {placed}");
        let number = placed["data"]["order_number"].as_u64().expect("a number");
        cluster.kill(Service::Replica(leader));
        for frontend in cluster.frontend_ids() {
            let path = format!("/orders/{number}");
            let (status, read) = cluster.public_via(frontend, "GET", &path, None).await;
            assert_eq!(
                (
                    status,
                    &read["data"]["number"],
                    read["data"]["name"].as_str()
                ),
                (200, &serde_json::json!(number), Some("Tux")),
                "round {round}: order {number} read through frontend {frontend} right after \
                 replica {leader} died: {read}"
            );
        }
        cluster.spawn(Service::Replica(leader));
        cluster.wait_replica(leader).await;
    }
}
