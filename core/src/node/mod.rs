//! The node (DESIGN.md §1, §7, §9): what runs a participant on a phone around the network
//! layer — one small tokio runtime, commands in, events out.
//!
//! - [`Node`]: wallet (sign-once SQLite), own certified chain (SQLite), libp2p swarm;
//!   `send`, `receive_pending`, `balance`, `history`, `status`, `next_event`, `pause`,
//!   `resume`, `network_changed`, `stop`.
//! - [`policy`]: the mobile-life policy: platform signals in, a profile and its swarm
//!   settings out, pure and deterministic (not applied by [`Node`] yet).

mod error;
mod events;
pub mod policy;
mod runtime;

pub use error::NodeError;
pub use events::QueuedEvent;
pub use policy::{
    decide, AppState, Decision, KadMode, Network, NetworkKind, PolicyConfig, PolicyState, Power,
    Preferences, Profile, ProfileChange, ProfileSettings, Reason, Signals, SyncMode, WitnessOptIn,
    WitnessStatus,
};
pub use runtime::{HistoryEntry, Node, NodeConfig, NodeEvent, NodeStatus, Transfer};
