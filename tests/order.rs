//! Order replicas: placing and reading orders, replication to followers, catch-up after a
//! restart, and refusal of `place` by a follower. Real processes throughout.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::replica_api::HEALTH;
use common::wire::{Health, PlaceRequest};
use common::{Error, RequestId};
use serde_json::json;

/// The leader the frontend elected (see `LocalCluster::leader`), as it reports itself.
async fn leader(cluster: &TestCluster) -> Health {
    let id = cluster.leader().await;
    let health = cluster.local.replica_health(id).await;
    health.unwrap_or_else(|| panic!("the leader, order-{id}, stopped answering"))
}

/// Some replica other than the leader.
fn a_follower(cluster: &TestCluster, leader: &Health) -> common::ReplicaId {
    cluster
        .replica_ids()
        .into_iter()
        .find(|&id| id != leader.id)
        .expect("three replicas")
}

/// Orders get dense numbers from 0, read back with what was ordered, and every follower holds
/// the same entries as the leader.
#[tokio::test]
async fn orders_are_dense_and_replicated_to_every_follower() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let toys = ["Tux", "Whale", "Lego", "Kite", "Fox"];
    for (i, toy) in toys.iter().enumerate() {
        let number = cluster.buy(toy, (i + 1) as u32).await;
        assert_eq!(number, i as u64, "numbers are dense from 0");
    }
    for (i, toy) in toys.iter().enumerate() {
        let (status, body) = cluster.public("GET", &format!("/orders/{i}"), None).await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"data": {"number": i, "name": toy, "quantity": i + 1}})
        );
    }
    let log = cluster.wait_converged(toys.len()).await;
    let names: Vec<&str> = log.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, toys);
    let leader = leader(&cluster).await;
    assert_eq!(leader.id, 3, "the highest ready id leads");
    assert!(
        log.iter().all(|e| e.epoch == leader.epoch),
        "entries carry the epoch that wrote them"
    );
}

/// A follower answers `place` with 409 "not leader", naming the leader.
#[tokio::test]
async fn a_follower_refuses_place() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let leader = leader(&cluster).await;
    let follower = a_follower(&cluster, &leader);
    let replica = cluster.replica(follower);
    let request = PlaceRequest {
        request_id: RequestId("r-1".into()),
        name: "Tux".into(),
        quantity: 1,
    };
    let refused = replica
        .place(&request)
        .await
        .expect_err("a follower places");
    assert_eq!(
        refused,
        Error::NotLeader {
            leader: Some(leader.id)
        },
        "a follower names the leader"
    );
    assert_eq!(refused.status(), 409);
    let refused = replica.order(0).await.expect_err("a follower reads");
    assert!(
        matches!(refused, Error::NotLeader { .. }),
        "a follower does not serve reads either: {refused:?}"
    );
}

/// A `place_batch` answers each request as a `place` of its own would: numbers for new orders,
/// the first number again for a retried key, 422 for a key reused with another order, and
/// "not leader" for every one of them on a follower. A batch over the limit is refused whole.
#[tokio::test]
async fn a_place_batch_answers_each_order_on_its_own() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let leader = leader(&cluster).await;
    let place = |key: &str, name: &str| PlaceRequest {
        request_id: RequestId(key.into()),
        name: name.into(),
        quantity: 1,
    };
    let batch = [
        place("b-1", "Tux"),
        place("b-2", "Whale"),
        place("b-1", "Tux"),
        place("b-2", "Lego"),
        place("b-3", "No such toy"),
    ];
    let outcomes = cluster
        .replica(leader.id)
        .place_batch(&batch)
        .await
        .expect("the leader answers the batch");
    let numbers: Vec<_> = outcomes
        .iter()
        .take(3)
        .map(|o| o.as_ref().map(|p| p.number))
        .collect();
    assert_eq!(numbers, [Ok(0), Ok(1), Ok(0)], "{outcomes:?}");
    assert_eq!(outcomes[3], Err(Error::IdempotencyConflict), "{outcomes:?}");
    assert!(
        matches!(outcomes[4], Err(Error::NotFound(_))),
        "{outcomes:?}"
    );
    assert_eq!(
        cluster.wait_converged(2).await.len(),
        2,
        "two orders, once each"
    );

    let follower = a_follower(&cluster, &leader);
    let refused = cluster
        .replica(follower)
        .place_batch(&batch[..2])
        .await
        .expect("a follower answers the batch");
    let expected = Err(Error::NotLeader {
        leader: Some(leader.id),
    });
    assert_eq!(
        refused.iter().filter(|o| **o == expected).count(),
        2,
        "{refused:?}"
    );

    let too_many = vec![place("b-4", "Tux"); common::replica_api::MAX_PLACE_BATCH + 1];
    let refused = cluster.replica(leader.id).place_batch(&too_many).await;
    assert!(matches!(refused, Err(Error::BadRequest(_))), "{refused:?}");
}

/// Internal endpoints answer 401 without the cluster token, and with a wrong one.
#[tokio::test]
async fn internal_api_needs_the_token() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let base = cluster.replica(1).base().to_string();
    for token in [None, Some("wrong")] {
        let mut request = cluster.http.get(format!("{base}{HEALTH}"));
        if let Some(token) = token {
            request = request.header(common::wire::TOKEN_HEADER, token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "token {token:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, json!("Unauthorized"));
    }
}

/// A replica stopped (SIGKILL) while orders are placed catches up after its restart: before it
/// reports ready it holds every committed order, and then the same log as the others.
#[tokio::test]
async fn a_restarted_replica_catches_up() {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    cluster.buy("Tux", 1).await;
    let leader = leader(&cluster).await;
    let follower = a_follower(&cluster, &leader);
    cluster.kill(Service::Replica(follower));
    for _ in 0..20 {
        cluster.buy("Lego", 1).await;
    }
    cluster.spawn(Service::Replica(follower));
    cluster.wait_replica(follower).await;
    let health = cluster.local.replica_health(follower).await.unwrap();
    assert!(
        health.commit_len >= 21 || health.len >= 21,
        "ready only after catching up: {health:?}"
    );
    let log = cluster.wait_converged(21).await;
    assert_eq!(log.iter().filter(|e| e.name == "Lego").count(), 20);
}

/// The same idempotency key twice: one order, one stock decrement, the same number back.
#[tokio::test]
async fn an_idempotency_key_gives_one_order() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let before = cluster.quantity("Kite").await;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let response = cluster
            .http
            .post(cluster.frontend_url("/orders"))
            .header("Idempotency-Key", "kite-once")
            .json(&json!({"name": "Kite", "quantity": 2}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        numbers.push(body["data"]["order_number"].as_u64().unwrap());
    }
    assert_eq!(numbers, vec![0, 0, 0]);
    assert_eq!(cluster.quantity("Kite").await, before - 2);
    cluster.wait_converged(1).await;
}
