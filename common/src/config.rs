//! The cluster file: one TOML file naming every service, its addresses, its data directory, the
//! cache size, the restock period and the cluster token. Relative paths in it are relative to the
//! file's own directory, so `data/cluster.toml` can say `data_root = "state"`.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::types::{FrontendId, ReplicaId};

/// Why a cluster file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read cluster file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad cluster file {}: {source}", path.display())]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    /// A cluster that makes no sense, even if it parses; `path` is the file when there is one.
    #[error("{}{problem}", path.as_ref().map(|p| format!("bad cluster file {}: ", p.display())).unwrap_or_default())]
    Invalid {
        path: Option<PathBuf>,
        problem: String,
    },
    #[error("no replica with id {id} in the cluster file (known: {known:?})")]
    UnknownReplica {
        id: ReplicaId,
        known: Vec<ReplicaId>,
    },
    #[error("no frontend with id {id} in the cluster file (known: {known:?})")]
    UnknownFrontend {
        id: FrontendId,
        known: Vec<FrontendId>,
    },
}

impl ConfigError {
    fn invalid(problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: None,
            problem: problem.into(),
        }
    }
}

/// Default restock period: every 10 seconds, sold-out toys come back.
pub const DEFAULT_RESTOCK_PERIOD_MS: u64 = 10_000;
/// Default cache capacity, in products.
pub const DEFAULT_CACHE_SIZE: usize = 64;
/// Default page cache of each sled database (the catalog's, each replica's), in MiB. Small, so
/// that memory stays bounded as the log grows: sled holds about four times its configured
/// capacity (a million entries: 70 MB of RSS at 4 MiB, 87 at 8, 179 at 32), and a catch-up
/// writes page by page, so it runs as fast with 8 MiB as with 32 (docs/performance.md).
pub const DEFAULT_CACHE_MB: u64 = 8;

/// The whole cluster, as every service sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Shared secret every internal request carries in `x-cluster-token`.
    pub token: String,
    /// Where each service keeps its state: `<data_root>/catalog`, `<data_root>/order-N`,
    /// `<data_root>/frontend-N`.
    pub data_root: PathBuf,
    /// The initial catalog (JSON list of `{name, price, quantity}`), read on the catalog's first start.
    pub products: PathBuf,
    /// Log level (error, warn, info, debug, trace); `RUST_LOG` overrides it.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Page cache of each sled database, in MiB: what bounds a replica's or the catalog's memory
    /// as its data grows.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
    /// What every listener allows its clients (timeouts, head size, connections); the `[http]`
    /// table, every key optional.
    #[serde(default)]
    pub http: crate::http::HttpLimits,
    /// Each service's `<service>.log` is rotated to `.log.1` past this many MiB.
    #[serde(default = "default_log_max_mb")]
    pub log_max_mb: u64,
    /// Rotated log files kept (`.log.1` .. `.log.N`); 0 keeps none.
    #[serde(default = "default_log_keep")]
    pub log_keep: u32,
    pub catalog: CatalogConfig,
    #[serde(rename = "frontend")]
    pub frontends: Vec<FrontendConfig>,
    #[serde(rename = "replica")]
    pub replicas: Vec<ReplicaConfig>,
}

/// The catalog service.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Internal listener (other services call it here).
    pub internal: SocketAddr,
    /// How often sold-out toys are restocked, in milliseconds.
    #[serde(default = "default_restock_period_ms")]
    pub restock_period_ms: u64,
}

/// One frontend.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontendConfig {
    pub id: FrontendId,
    /// Public REST listener, the only port clients use.
    pub public: SocketAddr,
    /// Internal listener (the catalog pushes invalidations here).
    pub internal: SocketAddr,
    /// Product-cache capacity in entries; 0 turns caching off.
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
}

/// One order replica.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaConfig {
    pub id: ReplicaId,
    /// Internal listener (frontend and peers call it here).
    pub internal: SocketAddr,
}

fn default_cache_mb() -> u64 {
    DEFAULT_CACHE_MB
}
const fn default_log_max_mb() -> u64 {
    64
}
const fn default_log_keep() -> u32 {
    3
}
fn default_log_level() -> String {
    "info".into()
}
fn default_restock_period_ms() -> u64 {
    DEFAULT_RESTOCK_PERIOD_MS
}
fn default_cache_size() -> usize {
    DEFAULT_CACHE_SIZE
}

impl ClusterConfig {
    /// Reads and checks a cluster file; relative paths become relative to the file's directory.
    ///
    /// # Errors
    /// A missing or unreadable file, bad TOML, or a cluster that makes no sense (see [`Self::validate`]).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: ClusterConfig =
            toml::from_str(&text).map_err(|source| ConfigError::Toml {
                path: path.to_path_buf(),
                source,
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.data_root = base.join(&config.data_root);
        config.products = base.join(&config.products);
        config.validate().map_err(|e| match e {
            ConfigError::Invalid { problem, .. } => ConfigError::Invalid {
                path: Some(path.to_path_buf()),
                problem,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Checks what TOML cannot: ids unique, at least one frontend and one replica, a token.
    ///
    /// # Errors
    /// The first problem found, in words.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.token.trim().is_empty() {
            return Err(ConfigError::invalid("token must not be empty"));
        }
        if self.replicas.is_empty() {
            return Err(ConfigError::invalid("at least one [[replica]] is needed"));
        }
        if self.frontends.is_empty() {
            return Err(ConfigError::invalid("at least one [[frontend]] is needed"));
        }
        if self.cache_mb == 0 || self.log_max_mb == 0 {
            return Err(ConfigError::invalid(
                "cache_mb and log_max_mb must be at least 1",
            ));
        }
        if let Some(problem) = self.http.problem() {
            return Err(ConfigError::invalid(problem));
        }
        if self.catalog.restock_period_ms == 0 {
            return Err(ConfigError::invalid(
                "catalog restock_period_ms must be at least 1",
            ));
        }
        let mut ids: Vec<_> = self.replicas.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::invalid(format!(
                "replica ids must be unique, got {ids:?}"
            )));
        }
        let mut ids: Vec<_> = self.frontends.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::invalid(format!(
                "frontend ids must be unique, got {ids:?}"
            )));
        }
        Ok(())
    }

    /// Writes the config as TOML (used by tests and tools that make clusters).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a cluster config always serializes")
    }

    /// The replica with this id.
    ///
    /// # Errors
    /// No such replica in the file.
    pub fn replica(&self, id: ReplicaId) -> Result<&ReplicaConfig, ConfigError> {
        self.replicas
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ConfigError::UnknownReplica {
                id,
                known: self.replicas.iter().map(|r| r.id).collect(),
            })
    }

    /// The frontend with this id.
    ///
    /// # Errors
    /// No such frontend in the file.
    pub fn frontend(&self, id: FrontendId) -> Result<&FrontendConfig, ConfigError> {
        self.frontends
            .iter()
            .find(|f| f.id == id)
            .ok_or_else(|| ConfigError::UnknownFrontend {
                id,
                known: self.frontends.iter().map(|f| f.id).collect(),
            })
    }

    /// How a service opens its sled database in `dir`: with the configured page cache.
    pub fn sled_config(&self, dir: &Path) -> sled::Config {
        sled::Config::new()
            .path(dir)
            .cache_capacity(self.cache_mb.saturating_mul(1024 * 1024))
    }

    /// Votes needed for a majority of the order replicas (2 of 3).
    pub fn majority(&self) -> usize {
        self.replicas.len() / 2 + 1
    }

    pub fn catalog_dir(&self) -> PathBuf {
        self.data_root.join("catalog")
    }
    pub fn replica_dir(&self, id: ReplicaId) -> PathBuf {
        self.data_root.join(format!("order-{id}"))
    }
    pub fn frontend_dir(&self, id: FrontendId) -> PathBuf {
        self.data_root.join(format!("frontend-{id}"))
    }

    /// A cluster of one catalog, one order replica per port of `ports.replicas` (ids 1, 2, ...)
    /// and one frontend per entry of `ports.frontends` (ids 1, 2, ...), all on loopback. Used by
    /// tests and tools; `up` reads a file instead.
    pub fn local(
        data_root: PathBuf,
        products: PathBuf,
        token: &str,
        ports: &LocalPorts,
    ) -> ClusterConfig {
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        ClusterConfig {
            token: token.into(),
            data_root,
            products,
            log_level: default_log_level(),
            cache_mb: DEFAULT_CACHE_MB,
            http: crate::http::HttpLimits::default(),
            log_max_mb: default_log_max_mb(),
            log_keep: default_log_keep(),
            catalog: CatalogConfig {
                internal: at(ports.catalog),
                restock_period_ms: DEFAULT_RESTOCK_PERIOD_MS,
            },
            frontends: ports
                .frontends
                .iter()
                .zip(1..)
                .map(|(f, id)| FrontendConfig {
                    id,
                    public: at(f.public),
                    internal: at(f.internal),
                    cache_size: DEFAULT_CACHE_SIZE,
                })
                .collect(),
            replicas: ports
                .replicas
                .iter()
                .zip(1..)
                .map(|(&port, id)| ReplicaConfig {
                    id,
                    internal: at(port),
                })
                .collect(),
        }
    }
}

/// Loopback ports for [`ClusterConfig::local`].
#[derive(Clone, Debug)]
pub struct LocalPorts {
    /// One pair per frontend, in id order from 1.
    pub frontends: Vec<FrontendPorts>,
    /// The catalog's internal port.
    pub catalog: u16,
    /// One internal port per order replica, in id order from 1.
    pub replicas: Vec<u16>,
}

/// The two loopback ports of one frontend in [`LocalPorts`].
#[derive(Clone, Copy, Debug)]
pub struct FrontendPorts {
    /// Public REST port.
    pub public: u16,
    /// Internal port (invalidations from the catalog).
    pub internal: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_relative_paths_and_refuses_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let ports = LocalPorts {
            frontends: vec![
                FrontendPorts {
                    public: 8080,
                    internal: 8081,
                },
                FrontendPorts {
                    public: 8090,
                    internal: 8091,
                },
            ],
            catalog: 8082,
            replicas: vec![8083, 8084, 8085],
        };
        let config = ClusterConfig::local("state".into(), "products.json".into(), "t", &ports);
        let path = dir.path().join("cluster.toml");
        std::fs::write(&path, config.to_toml()).unwrap();
        let loaded = ClusterConfig::load(&path).unwrap();
        assert_eq!(loaded.data_root, dir.path().join("state"));
        assert_eq!(loaded.replica_dir(2), dir.path().join("state/order-2"));
        assert_eq!(loaded.majority(), 2);
        let ids: Vec<_> = loaded.frontends.iter().map(|f| f.id).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(loaded.frontend(2).unwrap().public.port(), 8090);

        let mut dup = config.clone();
        dup.replicas[1].id = 1;
        std::fs::write(&path, dup.to_toml()).unwrap();
        let err = ClusterConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with("bad cluster file") && err.contains("replica ids must be unique"),
            "{err}"
        );
        std::fs::write(&path, "token = 3").unwrap();
        assert!(ClusterConfig::load(&path)
            .unwrap_err()
            .to_string()
            .contains("bad cluster file"));
    }

    /// The shipped cluster file sets the sled cache; a file without the key gets the small
    /// default, and 0 is refused rather than handed to sled.
    #[test]
    fn the_sled_cache_has_a_small_default_and_no_zero() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/cluster.toml");
        let config = ClusterConfig::load(&shipped).expect("data/cluster.toml loads");
        assert_eq!(config.cache_mb, DEFAULT_CACHE_MB);
        let text = std::fs::read_to_string(&shipped).unwrap();
        let without: String = text
            .lines()
            .filter(|l| !l.starts_with("cache_mb"))
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed: ClusterConfig = toml::from_str(&without).unwrap();
        assert_eq!(parsed.cache_mb, DEFAULT_CACHE_MB);
        let zero = ClusterConfig {
            cache_mb: 0,
            ..parsed
        };
        let error = zero.validate().unwrap_err().to_string();
        assert!(error.contains("cache_mb"), "{error}");
    }
}
