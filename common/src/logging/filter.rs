//! The `RUST_LOG` syntax: a comma-separated list of `level` and `target=level` directives
//! (`order=debug,info`). A record is judged by the directive with the longest target that
//! prefixes its own, as env_logger does; a bare level is the default for every other target.

use log::{Level, LevelFilter};

use super::LoggingError;

/// Targets the store keeps quiet unless a directive names them: their per-request lines would
/// drown the services' own.
const QUIET_TARGETS: [&str; 4] = ["sled", "hyper", "reqwest", "warp"];

/// Which records are logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    default: LevelFilter,
    /// `(target, level)`, longest target first, one per target.
    targets: Vec<(String, LevelFilter)>,
}

impl Filter {
    /// The filter of `base` (the cluster file's `log_level`) with `overrides` (`RUST_LOG`, when
    /// set) applied on top: a directive of `overrides` replaces the one for the same target.
    ///
    /// # Errors
    /// A directive whose level is not a level name.
    pub fn parse(base: &str, overrides: Option<&str>) -> Result<Filter, LoggingError> {
        let mut filter = Filter {
            default: LevelFilter::Info,
            targets: QUIET_TARGETS
                .iter()
                .map(|t| (t.to_string(), LevelFilter::Off))
                .collect(),
        };
        for spec in std::iter::once(base).chain(overrides) {
            for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                filter.apply(directive)?;
            }
        }
        filter
            .targets
            .sort_by_key(|(target, _)| std::cmp::Reverse(target.len()));
        Ok(filter)
    }

    fn apply(&mut self, directive: &str) -> Result<(), LoggingError> {
        let bad = || LoggingError::BadDirective(directive.to_string());
        let (target, level) = match directive.split_once('=') {
            Some((target, level)) if !target.trim().is_empty() => (Some(target.trim()), level),
            Some(_) => return Err(bad()),
            None => (None, directive),
        };
        let level: LevelFilter = level.trim().parse().map_err(|_| bad())?;
        match target {
            None => self.default = level,
            Some(target) => {
                self.targets.retain(|(t, _)| t != target);
                self.targets.push((target.to_string(), level));
            }
        }
        Ok(())
    }

    /// Whether a record of `level` from `target` is logged.
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        level <= self.level_for(target)
    }

    fn level_for(&self, target: &str) -> LevelFilter {
        self.targets
            .iter()
            .find(|(t, _)| target.starts_with(t.as_str()))
            .map_or(self.default, |(_, level)| *level)
    }

    /// The most verbose level any target logs at, for [`log::set_max_level`].
    pub fn max_level(&self) -> LevelFilter {
        self.targets
            .iter()
            .map(|(_, level)| *level)
            .fold(self.default, Ord::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_directives_override_the_default() {
        let filter = Filter::parse("warn", Some("order=debug,info")).unwrap();
        assert!(filter.enabled("order::driver", Level::Debug));
        assert!(!filter.enabled("order::driver", Level::Trace));
        assert!(filter.enabled("catalog::api", Level::Info));
        assert!(!filter.enabled("catalog::api", Level::Debug));
        assert!(!filter.enabled("sled::tree", Level::Error));
        assert_eq!(filter.max_level(), LevelFilter::Debug);
    }

    #[test]
    fn the_longest_target_wins_and_quiet_targets_can_be_named() {
        let filter =
            Filter::parse("info", Some("order=warn,order::driver=trace,sled=info")).unwrap();
        assert!(filter.enabled("order::driver", Level::Trace));
        assert!(!filter.enabled("order::log", Level::Info));
        assert!(filter.enabled("sled::pagecache", Level::Info));
    }

    #[test]
    fn a_bare_level_sets_the_default() {
        let filter = Filter::parse("info", Some("DEBUG")).unwrap();
        assert!(filter.enabled("frontend", Level::Debug));
        assert!(!filter.enabled("hyper::proto", Level::Error));
    }

    #[test]
    fn bad_directives_are_refused_by_name() {
        for bad in ["loud", "order=loud", "=debug", "order=debug,x=1"] {
            let error = Filter::parse("info", Some(bad)).unwrap_err().to_string();
            assert!(error.contains("bad log directive"), "{bad}: {error}");
        }
    }
}
