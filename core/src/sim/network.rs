//! The simulated network: a priority queue of messages with loss, random delay (hence
//! reordering) and partitions, all drawn from the run's RNG.

use std::collections::{BTreeMap, BTreeSet};

use super::rng::SimRng;
use crate::crypto::AccountId;
use crate::poc::{
    AttestReply, AttestRequest, BatchAttestation, Certificate, Handover, HandoverError,
    PendingEntry,
};

/// A participant of the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    /// Witness `i`.
    Witness(usize),
    /// Account owner (wallet) `i`.
    Owner(usize),
}

/// What travels between nodes.
#[derive(Debug, Clone)]
pub enum Msg {
    /// Owner → witness.
    AttestRequest(Box<AttestRequest>),
    /// Witness → owner.
    AttestReply(Box<AttestReply>),
    /// Witness → owner: the request's attestation from a batch the witness signed at once.
    BatchAttested(Box<BatchAttestation>),
    /// Anyone → anyone: a certificate.
    Certificate(Box<Certificate>),
    /// Owner → witness: "what is pending for me?"
    PendingQuery(AccountId),
    /// Witness → owner.
    PendingReply(Vec<PendingEntry>),
    /// Owner → owner: "send me your certificate at this height".
    CertificateQuery(u64),
    /// Acknowledges a pushed certificate (by block hash), so the pusher stops retrying.
    CertificateAck(crate::crypto::Hash),
    /// Witness → owner: "I serve this account in a new epoch; send me handovers of this
    /// epoch" (the answer to a pending query; attest requests get `AttestReply::NeedHandover`).
    NeedHandover(AccountId, u64),
    /// Owner → old member: "your handover report about this account in this epoch".
    HandoverRequest(AccountId, u64),
    /// Old member → owner (the report), and owner → new member (forwarded).
    Handover(Box<Handover>),
    /// Old member → owner: no report.
    HandoverRefused(AccountId, u64, HandoverError),
}

/// A message in flight.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Sender.
    pub from: NodeId,
    /// Recipient.
    pub to: NodeId,
    /// Payload.
    pub msg: Msg,
}

/// Fault settings of the network.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Largest extra delay, in ticks (delays are uniform in 1..=max_delay).
    pub max_delay: u64,
}

/// The message queue.
pub struct Network {
    queue: BTreeMap<(u64, u64), Envelope>,
    seq: u64,
    /// Nodes cut off from everyone (both directions).
    pub isolated: BTreeSet<NodeId>,
    /// Messages handed to the network.
    pub sent: u64,
    /// Messages dropped by loss or partition.
    pub dropped: u64,
}

impl Network {
    /// An empty network.
    pub fn new() -> Self {
        Network {
            queue: BTreeMap::new(),
            seq: 0,
            isolated: BTreeSet::new(),
            sent: 0,
            dropped: 0,
        }
    }

    /// Sends `msg` at time `now` under `faults`.
    pub fn send(
        &mut self,
        now: u64,
        from: NodeId,
        to: NodeId,
        msg: Msg,
        faults: &Faults,
        rng: &mut SimRng,
    ) {
        self.sent += 1;
        if self.isolated.contains(&from) || self.isolated.contains(&to) || rng.chance(faults.loss) {
            self.dropped += 1;
            return;
        }
        let at = now + 1 + rng.below(faults.max_delay.max(1));
        self.seq += 1;
        self.queue
            .insert((at, self.seq), Envelope { from, to, msg });
    }

    /// The next message due at or before `now`, if any.
    pub fn next_due(&mut self, now: u64) -> Option<Envelope> {
        let key = *self.queue.keys().next()?;
        if key.0 > now {
            return None;
        }
        self.queue.remove(&key)
    }

    /// Messages still in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}
