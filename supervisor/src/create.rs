//! Making a new local cluster: its knobs, free loopback ports, and the cluster file written
//! under a (temporary) data root.

use common::config::{FrontendPorts, LocalPorts};
use common::ClusterConfig;
use common::FileError;
use std::net::TcpListener;
use std::path::Path;

use crate::cluster::{ChildOutput, LocalCluster};
use crate::error::SupervisorError;

/// Knobs for a cluster made by [`LocalCluster::create`].
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Frontends (ids 1..=N), at least 1. Each gets its own pair of ports; all share the
    /// replicas, so with several of them their elections meet.
    pub frontends: usize,
    /// Order replicas (ids 1..=N), at least 1; 3 or 5 so that a majority survives 1 or 2 crashes.
    pub replicas: usize,
    /// Product-cache capacity of every frontend; 0 turns caching off.
    pub cache_size: usize,
    /// The catalog's restock period.
    pub restock_period_ms: u64,
    /// The cluster token every internal request carries.
    pub token: String,
    /// Every listener's timeouts and limits.
    pub http: common::http::HttpLimits,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            frontends: 1,
            replicas: 3,
            cache_size: common::config::DEFAULT_CACHE_SIZE,
            restock_period_ms: common::config::DEFAULT_RESTOCK_PERIOD_MS,
            token: format!("local-{:032x}", rand::random::<u128>()),
            http: common::http::HttpLimits::default(),
        }
    }
}

/// Free loopback ports: bound to port 0 together, so none repeats, then released.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

impl LocalCluster {
    /// A new cluster on free loopback ports under `data_root` (a fresh temporary directory when
    /// `None`), with its cluster file written there. Starts nothing.
    ///
    /// # Errors
    /// No frontend or no replica asked for, no free ports, or the directory or file cannot be
    /// written.
    pub fn create(
        exe: &Path,
        data_root: Option<&Path>,
        products: &Path,
        options: &ClusterOptions,
    ) -> Result<LocalCluster, SupervisorError> {
        if options.frontends == 0 || options.replicas == 0 {
            return Err(SupervisorError::EmptyCluster {
                frontends: options.frontends,
                replicas: options.replicas,
            });
        }
        let (root, temp) = match data_root {
            Some(root) => (root.to_path_buf(), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("toystore-")
                    .tempdir()
                    .map_err(FileError::about(
                        "cannot make a temporary data root in",
                        &std::env::temp_dir(),
                    ))?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        std::fs::create_dir_all(&root).map_err(FileError::about("cannot create", &root))?;
        // Catalog first, then a public and an internal port per frontend, then the replicas.
        let frontend_ports = 2 * options.frontends;
        let ports =
            free_ports(1 + frontend_ports + options.replicas).map_err(SupervisorError::Ports)?;
        let ports = LocalPorts {
            catalog: ports[0],
            frontends: ports[1..=frontend_ports]
                .chunks(2)
                .map(|pair| FrontendPorts {
                    public: pair[0],
                    internal: pair[1],
                })
                .collect(),
            replicas: ports[1 + frontend_ports..].to_vec(),
        };
        let products = std::path::absolute(products)
            .map_err(FileError::about("bad products path", products))?;
        let mut config = ClusterConfig::local(root.join("state"), products, &options.token, &ports);
        for frontend in &mut config.frontends {
            frontend.cache_size = options.cache_size;
        }
        config.catalog.restock_period_ms = options.restock_period_ms;
        config.http = options.http;
        let config_path = root.join("cluster.toml");
        std::fs::write(&config_path, config.to_toml())
            .map_err(FileError::about("cannot write", &config_path))?;
        let mut cluster = LocalCluster::from_config(exe, &config_path, config, ChildOutput::Files);
        cluster._temp = temp;
        Ok(cluster)
    }
}
