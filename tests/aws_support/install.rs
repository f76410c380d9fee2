//! What install.sh lays out on a host: the cluster file it writes, for either layout.

use common::ClusterConfig;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;

/// The cluster file install.sh wrote under `root` for `role` has mode 0640 (it holds the token)
/// and names the token, the paths and the addresses of the layout: everything on loopback
/// behind the web address for `single`, the hosts' private addresses otherwise.
pub fn assert_cluster_file(root: &Path, role: &str) {
    let config_path = root.join("etc/toystore/cluster.toml");
    let mode = fs::metadata(&config_path).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        mode.mode() & 0o777,
        0o640,
        "the cluster file holds the token"
    );
    let config = ClusterConfig::load(&config_path).expect("the written cluster file loads");
    assert_eq!(config.token, "Abc123TokenFromSecretsManager");
    assert_eq!(config.data_root, Path::new("/var/lib/toystore"));
    assert_eq!(config.products, Path::new("/etc/toystore/products.json"));
    let frontend = &config.frontends[0];
    assert_eq!(frontend.public, "10.20.1.10:8080".parse().unwrap());
    let replicas: Vec<SocketAddr> = config.replicas.iter().map(|r| r.internal).collect();
    if role == "single" {
        assert_eq!(frontend.internal, "127.0.0.1:8100".parse().unwrap());
        assert_eq!(config.catalog.internal, "127.0.0.1:8200".parse().unwrap());
        assert!(
            replicas.iter().all(|a| a.ip().is_loopback()),
            "{replicas:?}"
        );
    } else {
        assert_eq!(config.catalog.internal, "10.20.1.10:8200".parse().unwrap());
        let expected: Vec<SocketAddr> = ["10.20.1.11:8301", "10.20.2.12:8302", "10.20.3.13:8303"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(replicas, expected);
    }
}
