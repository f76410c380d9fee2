//! The drill itself: its script of failures (a leader's crash, a partition from the web host, a
//! partition from its peers) while the
//! clients place orders, and the checks that follow: no errors, one converged log, every
//! acknowledged order in it exactly as acknowledged.

use super::client::{Client, Seen};
use super::firewall::Firewall;
use super::lab::{Lab, Service};
use super::netns::in_netns;
use super::poll::{futures_catch, join_all, wait_for};
use super::{
    CLIENTS, CONVERGE_TIMEOUT, ORDERS, ORDERS_PER_PHASE, PHASE_TIMEOUT, START_TIMEOUT, WEB,
};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The drill's script, from the client namespace, while the clients place orders.
async fn conduct(
    lab: &RefCell<&mut Lab>,
    client: &Client,
    firewall: Firewall,
    seen: &RefCell<Seen>,
    stop: &Cell<bool>,
) {
    let acks = || seen.borrow().acks.len();
    let orders_go_on = |what: &'static str| {
        let from = acks();
        wait_for(what, PHASE_TIMEOUT, move || async move {
            (acks() >= from + ORDERS_PER_PHASE).then_some(())
        })
    };
    orders_go_on("orders before any failure").await;

    // 1. The leader's process dies.
    let (first, epoch) = wait_for("a leader", PHASE_TIMEOUT, || client.leader()).await;
    println!("leader is order-{first} (epoch {epoch}); killing its process");
    lab.borrow_mut().kill(Service::Replica(first));
    orders_go_on("orders after the leader was killed").await;
    let (second, _) = wait_for("a new leader", PHASE_TIMEOUT, || async {
        client
            .leader()
            .await
            .filter(|(id, e)| *id != first && *e > epoch)
    })
    .await;
    println!("order-{second} leads now; restarting order-{first}");
    lab.borrow_mut().start(Service::Replica(first));
    wait_for(
        "the restarted replica to be ready",
        PHASE_TIMEOUT,
        || async { client.health(first).await.filter(|h| h.ready).map(|_| ()) },
    )
    .await;

    // 2. The leader is cut off from the web host (frontend and catalog), not from its peers.
    let (leader, epoch) = wait_for("the current leader", PHASE_TIMEOUT, || client.leader()).await;
    let ns = lab.borrow().ns(ORDERS[leader as usize - 1].0).to_string();
    println!(
        "cutting order-{leader} (epoch {epoch}) off from {} with {firewall:?}",
        WEB.1
    );
    firewall.cut(&ns, WEB.1);
    // The cut is real: from the leader's host the web host is unreachable, its peers are not.
    let (web_reachable, peers_reachable) = in_netns(&ns, || {
        let reach = |ip: &str, port: u16| {
            let address = std::net::SocketAddr::new(ip.parse().expect("an IP"), port);
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
        };
        let peers = (1..)
            .zip(ORDERS)
            .filter(|(id, _)| *id != leader)
            .all(|(id, (_, ip))| reach(ip, 8300 + id as u16));
        (reach(WEB.1, 8080) || reach(WEB.1, 8200), peers)
    });
    assert!(
        !web_reachable && peers_reachable,
        "partition: web reachable {web_reachable}, peers reachable {peers_reachable}"
    );
    orders_go_on("orders while the leader is partitioned").await;
    let (third, new_epoch) = wait_for("a leader outside the partition", PHASE_TIMEOUT, || async {
        client
            .leader()
            .await
            .filter(|(id, e)| *id != leader && *e > epoch)
    })
    .await;
    // Cut off from the frontend, the old leader still follows the new one through its peers.
    let newest = seen
        .borrow()
        .acks
        .iter()
        .map(|a| a.number)
        .max()
        .unwrap_or(0);
    wait_for(
        "the partitioned replica to receive the new leader's entries",
        PHASE_TIMEOUT,
        || async {
            client
                .health(leader)
                .await
                .filter(|h| h.len > newest)
                .map(|_| ())
        },
    )
    .await;
    println!(
        "order-{third} leads epoch {new_epoch}; order-{leader} holds order {newest} too; \
         healing the partition"
    );
    firewall.heal(&ns, WEB.1);
    orders_go_on("orders after the partition healed").await;

    // 3. The leader is cut off from its peers, not from the web host (finding 4 of the protocol
    //    review): it must notice it lost its majority and step down, and another leads.
    let (leader, epoch) = wait_for("the current leader", PHASE_TIMEOUT, || client.leader()).await;
    let ns = lab.borrow().ns(ORDERS[leader as usize - 1].0).to_string();
    let peers: Vec<&str> = (1..)
        .zip(ORDERS)
        .filter(|(id, _)| *id != leader)
        .map(|(_, (_, ip))| ip)
        .collect();
    println!("cutting order-{leader} (epoch {epoch}) off from its peers {peers:?}");
    firewall.cut_all(&ns, &peers);
    let (fourth, newer) = wait_for("a leader among the peers", PHASE_TIMEOUT, || async {
        client
            .leader()
            .await
            .filter(|(id, e)| *id != leader && *e > epoch)
    })
    .await;
    orders_go_on("orders while the leader is cut off from its peers").await;
    println!("order-{fourth} leads epoch {newer}; healing");
    firewall.heal_all(&ns, &peers);
    orders_go_on("orders after the second partition healed").await;
    stop.set(true);
}

/// Starts the load, runs the script, then checks every invariant; `Err` carries what broke.
pub async fn drill(
    lab: &RefCell<&mut Lab>,
    firewall: Firewall,
    toys: &[String],
) -> Result<(), String> {
    let client = Client::new();
    let seen = RefCell::new(Seen::default());
    let stop = Cell::new(false);

    // The store serves orders through the frontend's address.
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let ok = client
            .http
            .get(format!("{}/health", client.frontend))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false);
        if ok && client.leader().await.is_some() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the store did not serve within {START_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let script = async {
        let result = std::panic::AssertUnwindSafe(conduct(lab, &client, firewall, &seen, &stop));
        let result = futures_catch(result).await;
        stop.set(true);
        result
    };
    let loads = async {
        let mut all = Vec::new();
        for c in 0..CLIENTS {
            all.push(client.load(c, toys, &seen, &stop));
        }
        join_all(all).await;
    };
    let (script, ()) = tokio::join!(script, loads);
    script?;

    let seen = seen.into_inner();
    println!(
        "{} orders acknowledged, {} refused for stock, {} failed attempts",
        seen.acks.len(),
        seen.out_of_stock,
        seen.errors.len()
    );
    if !seen.errors.is_empty() {
        return Err(format!(
            "clients saw errors while a majority was up: {:#?}",
            seen.errors
        ));
    }

    // Every replica converges on one log.
    let highest = seen.acks.iter().map(|a| a.number).max().unwrap_or(0);
    let logs = {
        let deadline = Instant::now() + CONVERGE_TIMEOUT;
        loop {
            let mut logs = Vec::new();
            for id in 1..=3 {
                logs.push(client.log(id).await.unwrap_or_default());
            }
            let same = logs.windows(2).all(|w| w[0] == w[1]);
            if same && logs[0].len() as u64 > highest {
                break logs;
            }
            if Instant::now() > deadline {
                let lengths: Vec<usize> = logs.iter().map(Vec::len).collect();
                return Err(format!(
                    "replicas did not converge within {CONVERGE_TIMEOUT:?}: lengths {lengths:?}, \
                     highest acknowledged {highest}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let log = &logs[0];

    // Dense, exactly once, and every acknowledged order is there as acknowledged.
    for (i, entry) in log.iter().enumerate() {
        if entry.number != i as u64 {
            return Err(format!(
                "log not dense: entry {i} is number {}",
                entry.number
            ));
        }
    }
    let request_ids: BTreeSet<_> = log.iter().map(|e| e.request_id.clone()).collect();
    if request_ids.len() != log.len() {
        return Err("a request id appears twice in the log".into());
    }
    let mut numbers = BTreeSet::new();
    for ack in &seen.acks {
        if !numbers.insert(ack.number) {
            return Err(format!("order number {} acknowledged twice", ack.number));
        }
        let entry = &log[ack.number as usize];
        if entry.name != ack.name || entry.quantity != ack.quantity {
            return Err(format!("acknowledged {ack:?} but the log holds {entry:?}"));
        }
        // And the frontend reads it back.
        let response = client
            .http
            .get(format!("{}/orders/{}", client.frontend, ack.number))
            .send()
            .await
            .map_err(|e| format!("GET /orders/{}: {e}", ack.number))?;
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if body["data"]["name"] != ack.name.as_str() || body["data"]["quantity"] != ack.quantity {
            return Err(format!(
                "GET /orders/{} gave {body}, wanted {ack:?}",
                ack.number
            ));
        }
    }
    println!(
        "{} replicas hold the same {} entries; every acknowledged order is among them",
        logs.len(),
        log.len()
    );
    Ok(())
}
