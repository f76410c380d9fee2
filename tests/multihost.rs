//! The multi-host drill: the `spread` layout of the AWS deployment, run across Linux network
//! namespaces on this machine. One namespace per host of that layout (`web` with the frontend
//! and the catalog, `order-1`, `order-2`, `order-3`), plus one for the client, all joined by a
//! bridge that lives in a namespace of its own, on the private test subnet 10.77.0.0/24. The
//! cluster file is the one `aws/cluster-config.sh` writes on EC2, with these addresses.
//!
//! While two clients place orders through the frontend's address, the drill kills the leader's
//! process (SIGKILL), restarts it, then cuts the new leader off from the web host with a firewall
//! rule inside the leader's namespace (it still reaches its peers): orders go on through another
//! leader; then it cuts the leader off from its peers but not from the web host, and the leader
//! steps down for want of a majority while another takes over. No acknowledged order is lost,
//! and once the partitions heal every replica holds the same log.
//!
//! All traffic stays inside these namespaces: none of them has a route out, and the bridge is
//! not in this machine's own namespace. Needs Linux, root, `ip` (iproute2), and `nft` (nftables)
//! or `iptables`; without root it is skipped, and a missing tool fails it under CI (`.ci/run`
//! must install it) and skips it otherwise, saying why. The namespaces and processes are
//! removed when the test ends, failed or not.

#![cfg(target_os = "linux")]

mod multihost_support;

use multihost_support::command::runs;
use multihost_support::drill::drill;
use multihost_support::firewall::Firewall;
use multihost_support::lab::Lab;
use multihost_support::netns::in_netns;
use multihost_support::{unavailable, CLIENT};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Instant;

#[test]
fn spread_layout_across_namespaces_survives_a_leader_crash_and_a_partition() {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return unavailable("it needs root, to make network namespaces", false);
    }
    if !runs("ip", &["-V"]) {
        return unavailable("`ip` (iproute2) is not installed", true);
    }
    let Some(firewall) = Firewall::find() else {
        return unavailable("neither `nft` (nftables) nor `iptables` is installed", true);
    };
    let started = Instant::now();
    let mut lab = match Lab::build() {
        Ok(lab) => lab,
        Err(e) => return unavailable(&format!("cannot make network namespaces: {e}"), true),
    };
    if !firewall.works_in(lab.ns(CLIENT.0)) {
        return unavailable(
            &format!("{firewall:?} does not work inside a network namespace here"),
            true,
        );
    }
    let products = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/products.json");
    let toys = tools::load::toy_names(&products).unwrap_or_else(|e| panic!("{e}"));
    lab.start_all();

    let client_ns = lab.ns(CLIENT.0).to_string();
    let drilled = std::panic::catch_unwind(AssertUnwindSafe(|| {
        in_netns(&client_ns, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(drill(&mut lab, firewall, toys))
        })
    }));
    if let Err(panic) = drilled {
        // The panic's message is out already; what the services said comes after it.
        eprintln!("{}", lab.logs());
        std::panic::resume_unwind(panic);
    }
    println!("multi-host drill passed in {:?}", started.elapsed());
}
