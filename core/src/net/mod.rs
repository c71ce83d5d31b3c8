//! The network (DESIGN.md §6): one rust-libp2p swarm per node that carries the POC
//! messages between phones, stations and witnesses.
//!
//! - Transports: QUIC and TCP + TLS 1.3 + yamux. Both handshakes run rustls on aws-lc-rs,
//!   whose first key-exchange group is the hybrid post-quantum X25519MLKEM768. No Noise.
//! - Behaviours: identify, ping, kad (server on stations, pinned client on phones),
//!   AutoNAT v2 (server on stations, client where configured), relay (server on stations,
//!   client everywhere), DCUtR, connection limits, `/zeropole/hold/2` (a phone holds its
//!   home-station connection on purpose and watches it with a heartbeat, [`hold`]) and
//!   `/zeropole/poc/1` request-response
//!   ([`wire`]).
//! - Protocol logic stays in the sans-IO layers: a station runs a [`crate::poc::Collector`]
//!   per submitted block and a [`crate::poc::WitnessNode`] for its witness duty; this
//!   module only moves their messages, keeps the witness ↔ peer directory
//!   ([`PeerRecord`]) and applies timeouts.
//!
//! Entry point: [`Network::start`] spawns the swarm on the current tokio runtime and
//! returns a [`NetHandle`].

mod behaviour;
pub mod codec;
mod config;
mod error;
pub mod hold;
mod peer_record;
pub mod push;
mod service;
pub mod wire;

pub use config::{NetConfig, RelayLimits, StationConfig, Timers};
pub use error::NetError;
pub use peer_record::PeerRecord;
pub use service::{peer_id_of, NetEvent, NetHandle, NetMetrics, NetStatus, Network, WitnessDuty};
