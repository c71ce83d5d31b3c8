//! The lab's typed error.

use std::io;
use std::time::Duration;

/// Everything that can go wrong while building, changing or probing a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Namespaces cannot be made here (not root, no `ip`/`nft`): tests skip on this.
    #[error("network lab unavailable: {0}")]
    Unavailable(String),
    /// A command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the reader.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A command could not be started at all.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line, for the reader.
        command: String,
        /// Why it did not start.
        source: io::Error,
    },
    /// A lab, host or router name that cannot be part of a namespace name.
    #[error("invalid name {0:?}: use 1 to 16 characters of [a-z0-9]")]
    InvalidName(String),
    /// More routers or hosts than the address plan holds.
    #[error("the lab's address plan is full: {0}")]
    Exhausted(&'static str),
    /// A bounded wait ran out.
    #[error("{what} did not finish within {after:?}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The bound.
        after: Duration,
    },
    /// A probe program answered something unexpected.
    #[error("probe: {0}")]
    Probe(String),
    /// Any other I/O failure.
    #[error(transparent)]
    Io(#[from] io::Error),
}
