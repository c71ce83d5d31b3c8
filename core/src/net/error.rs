//! Errors of the network layer.

use thiserror::Error;

/// Why a network operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The swarm could not be built or could not listen.
    #[error("network setup failed: {0}")]
    Setup(String),
    /// No home station is connected or reachable.
    #[error("no station reachable: {0}")]
    NoStation(String),
    /// The committee refused the block; the reason given by the station.
    #[error("refused: {0}")]
    Refused(String),
    /// A peer answered with an error or with something unexpected.
    #[error("peer error: {0}")]
    Peer(String),
    /// The request timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The network task has stopped.
    #[error("the network has stopped")]
    Stopped,
}
