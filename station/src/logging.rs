//! The command line's log output: the `log` records of the core and of the binary, one
//! line each on standard error, filtered by `ZEROPOLE_LOG` (or `RUST_LOG` when that is
//! unset).
//!
//! The filter is a comma-separated list of `level` (the default for every target) and
//! `target=level` (for a target and everything under it, the longest prefix wins), for
//! example `ZEROPOLE_LOG=warn,zeropole_core::net=debug`. Levels: `off`, `error`, `warn`,
//! `info`, `debug`, `trace`. Each line is `<seconds since start> <LEVEL> <target>: <text>`.

use std::io::Write;
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};

/// A parsed `ZEROPOLE_LOG` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    default: LevelFilter,
    /// `(target prefix, level)`, longest prefix first.
    targets: Vec<(String, LevelFilter)>,
}

/// A filter that could not be read; names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid log filter part `{0}`: expected `level` or `target=level` (levels: off, error, warn, info, debug, trace)")]
pub struct FilterError(pub String);

impl Filter {
    /// Parses a filter; `default` applies when the filter names no default level.
    pub fn parse(spec: &str, default: LevelFilter) -> Result<Filter, FilterError> {
        let mut filter = Filter {
            default,
            targets: Vec::new(),
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let level = |text: &str| {
                text.trim()
                    .parse::<LevelFilter>()
                    .map_err(|_| FilterError(part.to_string()))
            };
            match part.split_once('=') {
                Some((target, lvl)) if !target.trim().is_empty() => {
                    filter
                        .targets
                        .push((target.trim().to_string(), level(lvl)?));
                }
                Some(_) => return Err(FilterError(part.to_string())),
                None => filter.default = level(part)?,
            }
        }
        filter
            .targets
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(filter)
    }

    /// The level that applies to `target`.
    pub fn level_for(&self, target: &str) -> LevelFilter {
        self.targets
            .iter()
            .find(|(prefix, _)| {
                target == prefix
                    || target
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with("::"))
            })
            .map(|(_, level)| *level)
            .unwrap_or(self.default)
    }

    /// The most verbose level any target gets.
    pub fn max_level(&self) -> LevelFilter {
        self.targets
            .iter()
            .map(|(_, level)| *level)
            .fold(self.default, |a, b| a.max(b))
    }
}

struct StderrLogger {
    filter: Filter,
    started: Instant,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.filter.level_for(metadata.target())
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!(
            "{:.3} {} {}: {}\n",
            self.started.elapsed().as_secs_f64(),
            record.level(),
            record.target(),
            record.args()
        );
        // One write per line, so lines of several threads do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Installs the stderr logger with `ZEROPOLE_LOG` (else `RUST_LOG`, else `default`).
/// An invalid filter is reported on stderr and `default` is used.
pub fn init(default: LevelFilter) {
    let spec = std::env::var("ZEROPOLE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let filter = Filter::parse(&spec, default).unwrap_or_else(|e| {
        eprintln!("warning: {e}; logging at {default}");
        Filter {
            default,
            targets: Vec::new(),
        }
    });
    let max = filter.max_level();
    let logger = StderrLogger {
        filter,
        started: Instant::now(),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_target_prefix_wins() {
        let f = Filter::parse(
            "warn,zeropole_core=info,zeropole_core::net=debug",
            LevelFilter::Off,
        )
        .expect("valid");
        assert_eq!(
            f.level_for("zeropole_core::net::service"),
            LevelFilter::Debug
        );
        assert_eq!(f.level_for("zeropole_core::net"), LevelFilter::Debug);
        assert_eq!(f.level_for("zeropole_core::node"), LevelFilter::Info);
        // A prefix matches whole path segments only.
        assert_eq!(f.level_for("zeropole_core_extra"), LevelFilter::Warn);
        assert_eq!(f.level_for("libp2p_quic"), LevelFilter::Warn);
        assert_eq!(f.max_level(), LevelFilter::Debug);
    }

    #[test]
    fn an_empty_filter_keeps_the_default() {
        let f = Filter::parse("", LevelFilter::Info).expect("valid");
        assert_eq!(f.level_for("anything"), LevelFilter::Info);
        assert_eq!(f.max_level(), LevelFilter::Info);
    }

    #[test]
    fn bad_parts_are_named() {
        assert_eq!(
            Filter::parse("info,net=loud", LevelFilter::Off),
            Err(FilterError("net=loud".into()))
        );
        assert_eq!(
            Filter::parse("=debug", LevelFilter::Off),
            Err(FilterError("=debug".into()))
        );
        assert_eq!(
            Filter::parse("chatty", LevelFilter::Off),
            Err(FilterError("chatty".into()))
        );
    }
}
