//! What keeps a frontend from doing its job, for `GET /ready`: it serves products only while the
//! catalog answers, and orders only while a majority of the order replicas does, each with this
//! frontend's cluster token.
//!
//! A refused token is named as such for each service that refused it, and a replica address
//! that answers with another replica's id likewise, because each is a configuration mistake to
//! fix, not an outage to wait out. Such a replica is not counted towards the majority.

use common::Error;

use crate::server::Frontend;

/// Every reason the frontend is not ready; empty when it is.
pub(crate) async fn problems(frontend: &Frontend) -> Vec<String> {
    let (catalog, replicas) = tokio::join!(frontend.catalog.health(), frontend.orders.ask_health());
    let mut problems = Vec::new();
    match catalog {
        Ok(_) => {}
        Err(Error::Unauthorized) => problems.push("the catalog refused the cluster token".into()),
        Err(e) => problems.push(format!("the catalog does not answer ({e})")),
    }
    let total = frontend.orders.replica_count();
    let majority = total / 2 + 1;
    let mut answering = 0;
    let mut refused = Vec::new();
    let mut silent = Vec::new();
    let mut misaddressed = Vec::new();
    for (id, health) in replicas {
        match health {
            Ok(health) if health.id == id => answering += 1,
            // Two entries of the cluster file on one replica would count it twice.
            Ok(health) => misaddressed.push(format!(
                "order-{id}'s address answers as order-{}: check the cluster file",
                health.id
            )),
            Err(Error::Unauthorized) => refused.push(format!("order-{id}")),
            Err(_) => silent.push(format!("order-{id}")),
        }
    }
    if answering >= majority {
        return problems;
    }
    problems.extend(misaddressed);
    problems.extend(
        refused
            .iter()
            .map(|replica| format!("{replica} refused the cluster token")),
    );
    // Only when the token is not what keeps the majority away is the outage the reason.
    if answering + refused.len() < majority {
        problems.push(format!(
            "fewer than a majority of order replicas are up: {answering} of {total} answer, \
             {majority} needed ({} silent)",
            silent.join(", ")
        ));
    }
    problems
}
