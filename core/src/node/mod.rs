//! The node runtime a phone app embeds (DESIGN.md §1, §7, §9): one small tokio runtime,
//! commands in, events out.
//!
//! - [`Node`]: wallet (sign-once SQLite), own certified chain (SQLite), libp2p swarm;
//!   `send`, `receive_pending`, `balance`, `history`, `status`, `next_event`, `pause`,
//!   `resume`, `network_changed`, `stop`.

mod error;
mod runtime;

pub use error::NodeError;
pub use runtime::{HistoryEntry, Node, NodeConfig, NodeEvent, NodeStatus, Transfer};
