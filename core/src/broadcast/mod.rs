//! Routing-table broadcast (Kadcast-style) over the overlay of admitted kad servers
//! (DESIGN.md §6): every overlay member receives a broadcast with about β messages instead
//! of gossip's fan-out.
//!
//! Sans-IO, like `ledger` and `poc`: the [`Broadcaster`] takes messages, ticks and a seed,
//! and returns messages to send; the network layer maps them onto a libp2p protocol and
//! [`sim`] onto a deterministic simulated overlay (with flood and gossip baselines).
//!
//! - [`id`]: the 256-bit [`OverlayId`] (BLAKE3 of a PeerId) and the XOR bucket math.
//! - [`table`]: the [`RoutingTable`] the caller fills.
//! - [`wire`]: [`Message`], [`Payload`] and their canonical encoding.
//! - [`seen`]: the bounded duplicate-suppression set.
//! - [`Broadcaster`]: the per-node state machine.
//!
//! Run loop for the network layer: on every input call `originate`, `handle_bytes` or
//! `tick(now)`, send every returned [`Outgoing`], hand any [`Delivered`] payload to the
//! ledger or dmapp registry (which verify it), then arm a timer for `poll_timeout()`.
//! `docs/broadcast.md` describes the protocol and its measurements.

mod broadcaster;
pub mod id;
pub mod seen;
pub mod sim;
pub mod table;
pub mod wire;

pub use broadcaster::{Broadcaster, Config, Delivered, Outgoing};
pub use id::OverlayId;
pub use table::{Insert, RoutingTable};
pub use wire::{Message, MessageId, Payload};

use thiserror::Error;

use crate::codec::DecodeError;

/// Why the broadcast layer refused an input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BroadcastError {
    /// Bytes from the network that are not a broadcast message.
    #[error("cannot decode a broadcast message: {0}")]
    Decode(#[from] DecodeError),
    /// A payload larger than receivers accept.
    #[error("broadcast payload is {len} bytes long, the maximum is {max}")]
    PayloadTooLarge {
        /// Encoded length.
        len: usize,
        /// Maximum for its kind.
        max: usize,
    },
    /// This node already originated or received this broadcast.
    #[error("broadcast {0:?} was already seen")]
    AlreadySeen(MessageId),
}

#[cfg(test)]
mod tests;
