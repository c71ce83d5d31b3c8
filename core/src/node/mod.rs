//! The node (DESIGN.md §1, §7): what runs a participant on a phone or a station around the
//! network layer. [`policy`] is the mobile-life policy: platform signals in, a profile and
//! its swarm settings out, pure and deterministic.

pub mod policy;

pub use policy::{
    decide, AppState, Decision, KadMode, Network, NetworkKind, PolicyConfig, PolicyState, Power,
    Preferences, Profile, ProfileChange, ProfileSettings, Reason, Signals, SyncMode, WitnessOptIn,
    WitnessStatus,
};
