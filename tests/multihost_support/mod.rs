//! Shared code of the multi-host drill (`tests/multihost.rs`): the hosts and addresses of the
//! test network, the bounds on every wait, and one module per concept. `command` runs `ip`, `nft`
//! and the like with a time limit; `netns` enters a namespace and sweeps up leftovers of killed
//! runs; `lab` builds the namespaces and runs the store's services in them; `firewall` cuts and
//! heals a partition; `client` places orders and asks the replicas how they are; `poll` holds the
//! small single-thread future helpers; `drill` is the drill's script and its checks.

pub mod client;
pub mod command;
pub mod drill;
pub mod firewall;
pub mod lab;
pub mod netns;
pub mod poll;

use std::time::Duration;

pub const TOKEN: &str = "multihost-test-token";
/// The hosts of the spread layout and the client, with their test addresses.
pub const WEB: (&str, &str) = ("web", "10.77.0.10");
pub const ORDERS: [(&str, &str); 3] = [
    ("order-1", "10.77.0.11"),
    ("order-2", "10.77.0.12"),
    ("order-3", "10.77.0.13"),
];
pub const CLIENT: (&str, &str) = ("client", "10.77.0.100");
/// Prefix of every namespace this test makes (then the test's pid), to find leftovers.
pub const PREFIX: &str = "tsmh";

/// Bounds on every wait, so that a broken store fails the test instead of hanging it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(60);
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Orders the clients must get acknowledged after each event to show that orders go on.
pub const ORDERS_PER_PHASE: usize = 25;
/// Most orders one client places; the drill needs far fewer.
pub const MAX_ORDERS_PER_CLIENT: usize = 3000;
/// Pause between two orders of one client, to stay well inside the catalog's stock.
pub const ORDER_PAUSE: Duration = Duration::from_millis(20);
pub const CLIENTS: usize = 2;

/// Why the test cannot run here. Under CI that is a failure, except for not being root.
pub fn unavailable(reason: &str, ci_must_fix: bool) {
    assert!(
        !(ci_must_fix && std::env::var_os("CI").is_some()),
        "multi-host drill cannot run, and CI is set: {reason}"
    );
    eprintln!("skipping the multi-host drill: {reason}");
}
