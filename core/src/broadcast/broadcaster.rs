//! The Kadcast state machine of one overlay node.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::id::{OverlayId, BUCKETS};
use super::seen::{SeenSet, Sighting, DEFAULT_SEEN_CAPACITY};
use super::table::{Entry, RoutingTable};
use super::wire::{Message, MessageId, Payload, MAX_TREES};
use super::BroadcastError;

/// Parameters of a [`Broadcaster`]; every node of an overlay should use the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Redundancy (Kadcast's β, 1..=16): with [`independent_trees`](Self::independent_trees)
    /// the number of trees, otherwise the delegates per bucket at every hop.
    pub beta: usize,
    /// Spend β as β independent β = 1 trees (each node gets one copy per tree: β copies),
    /// instead of β delegates per bucket at every hop, whose copies compound with depth
    /// (measured: β = 3 gives 5.3 copies per node at 1,000 nodes and grows with the
    /// overlay; see `docs/broadcast.md`).
    pub independent_trees: bool,
    /// Acknowledge every copy received, and replace a delegate whose acknowledgement has
    /// not arrived `ack_timeout` ticks after it was sent. Off: fire and forget (an offline
    /// delegate then loses its whole subtree).
    pub reliable: bool,
    /// Ticks to wait for a delegate's acknowledgement: above the overlay's round-trip time,
    /// or slow delegates get replaced and their subtrees receive a second copy.
    pub ack_timeout: u64,
    /// Replacement delegates tried per (broadcast, tree, bucket) before giving it up.
    pub max_retries: usize,
    /// Broadcast ids remembered for duplicate suppression (see [`SeenSet`]).
    pub seen_capacity: usize,
    /// Delegates awaiting an acknowledgement, over all broadcasts. Beyond it new delegates
    /// are sent to without a retry timer, which bounds memory under a burst.
    pub max_pending: usize,
    /// Baseline for measurements, not for production: ignore the tree and send every new
    /// broadcast to every peer of the table (each node forwards once; no acknowledgements).
    pub flood: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            beta: 1,
            independent_trees: true,
            reliable: true,
            ack_timeout: 250,
            max_retries: 8,
            seen_capacity: DEFAULT_SEEN_CAPACITY,
            max_pending: 16_384,
            flood: false,
        }
    }
}

impl Config {
    /// `(trees, delegates per bucket per tree)`.
    fn shape(&self) -> (usize, usize) {
        let beta = self.beta.clamp(1, usize::from(MAX_TREES));
        if self.independent_trees {
            (beta, 1)
        } else {
            (1, beta)
        }
    }
}

/// A message for the caller to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient.
    pub to: OverlayId,
    /// What to send ([`Message::encode`] gives the bytes).
    pub message: Message,
}

/// A broadcast received for the first time: the caller verifies and applies the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The broadcast's identity.
    pub id: MessageId,
    /// The peer it came from (not necessarily the originator).
    pub from: OverlayId,
    /// What was broadcast.
    pub payload: Payload,
}

/// Delegates of one bucket for one broadcast on one tree, awaiting acknowledgements.
#[derive(Debug, Clone)]
struct Fanout {
    id: MessageId,
    tree: u8,
    bucket: usize,
    /// Every peer of the bucket this copy was handed to: never chosen twice.
    used: Vec<OverlayId>,
    /// Delegates not yet acknowledged, with their deadlines.
    waiting: Vec<(OverlayId, u64)>,
    retries: usize,
}

/// Kadcast for one node: structured broadcast over a Kademlia-style routing table.
///
/// The originator hands a broadcast to a delegate in each of its buckets `i`, telling
/// each "height `i`"; a node receiving at height `h` does the same for its buckets
/// `0..h` only — exactly the subtree of the id space that the sender's bucket `h` stands
/// for. With complete buckets and no churn every node receives exactly one copy per tree.
/// Redundancy β runs β such trees (tree `t` delegates drawn independently, distinct at the
/// originator), so every node receives β copies over β mostly disjoint paths; see
/// [`Config::independent_trees`] for the classic variant.
///
/// Churn: with [`Config::reliable`], every receiver acknowledges each copy it gets, and a
/// delegate that stays silent for [`Config::ack_timeout`] ticks is flagged unresponsive
/// in the table and replaced by another peer of the same bucket, at the same height and
/// tree, so the subtree is still covered. Later broadcasts pick responsive peers first;
/// any message from a flagged peer clears its flag.
///
/// Inputs: [`originate`](Self::originate), [`handle`](Self::handle) (or
/// [`handle_bytes`](Self::handle_bytes)) and [`tick`](Self::tick); each returns the
/// messages to send now. Output for the event loop: [`poll_timeout`](Self::poll_timeout),
/// the tick at which `tick` must next be called. No clock, socket or global randomness:
/// `now` is an argument (any monotonic unit, the same as `ack_timeout`'s) and delegates
/// are drawn from a ChaCha8 stream seeded at construction.
///
/// ```
/// use zeropole_core::broadcast::{Broadcaster, Config, OverlayId, Payload, RoutingTable};
/// let (a, b) = (OverlayId([0; 32]), OverlayId([0xFF; 32]));
/// let mut table = RoutingTable::new(a, 20);
/// table.insert(b);
/// let mut alice = Broadcaster::new(table, Config::default(), 1);
/// let mut bob = Broadcaster::new(RoutingTable::new(b, 20), Config::default(), 2);
///
/// let out = alice.originate(Payload::Opaque(b"hello".to_vec()), 0).unwrap();
/// assert_eq!(out.len(), 1);
/// let (delivered, replies) = bob.handle(a, out[0].message.clone(), 10);
/// assert_eq!(delivered.unwrap().payload, Payload::Opaque(b"hello".to_vec()));
/// // Bob's only reply is the acknowledgement; once Alice has it, nothing is pending.
/// alice.handle(b, replies[0].message.clone(), 20);
/// assert_eq!(alice.poll_timeout(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Broadcaster {
    table: RoutingTable,
    config: Config,
    rng: ChaCha8Rng,
    seen: SeenSet,
    pending: Vec<Fanout>,
    /// Payloads of broadcasts that still have a fan-out pending (to re-send on retry).
    payloads: BTreeMap<MessageId, Payload>,
}

impl Broadcaster {
    /// A node with routing table `table` (its owner is the local node), drawing delegates
    /// from the ChaCha8 stream of `rng_seed`.
    pub fn new(table: RoutingTable, config: Config, rng_seed: u64) -> Self {
        let seen = SeenSet::new(config.seen_capacity);
        Broadcaster {
            table,
            config,
            rng: ChaCha8Rng::seed_from_u64(rng_seed),
            seen,
            pending: Vec::new(),
            payloads: BTreeMap::new(),
        }
    }

    /// The local node.
    pub fn me(&self) -> OverlayId {
        self.table.me()
    }

    /// The routing table.
    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// The routing table, for the caller to add and remove peers as the overlay changes.
    pub fn table_mut(&mut self) -> &mut RoutingTable {
        &mut self.table
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts a broadcast of `payload` to the whole overlay: on every tree, a delegate in
    /// every bucket (distinct delegates for distinct trees where the bucket allows).
    pub fn originate(
        &mut self,
        payload: Payload,
        now: u64,
    ) -> Result<Vec<Outgoing>, BroadcastError> {
        payload.check_len()?;
        let id = payload.id();
        let (trees, per_tree) = self.config.shape();
        let mut out = Vec::new();
        if self.seen.contains(&id) {
            return Err(BroadcastError::AlreadySeen(id));
        }
        for tree in 0..trees as u8 {
            self.seen.insert(id, tree);
        }
        if self.config.flood {
            return Ok(self.flood_to_all(&payload, None));
        }
        for bucket in 0..BUCKETS {
            let picks = self.pick(bucket, &[], trees * per_tree);
            if picks.is_empty() {
                continue;
            }
            for tree in 0..trees {
                // Distinct delegates per tree while the bucket has enough peers; a smaller
                // bucket shares its peers among the trees.
                let mut chosen: Vec<OverlayId> = (0..per_tree)
                    .map(|k| picks[(tree * per_tree + k) % picks.len()])
                    .collect();
                chosen.sort();
                chosen.dedup();
                self.send_to(id, tree as u8, bucket, chosen, &payload, now, &mut out);
            }
        }
        Ok(out)
    }

    /// Handles a message from peer `from`: returns the payload if this is the first copy of
    /// a broadcast, and the messages to send (acknowledgement, re-broadcast in the subtree).
    pub fn handle(
        &mut self,
        from: OverlayId,
        message: Message,
        now: u64,
    ) -> (Option<Delivered>, Vec<Outgoing>) {
        // Any message proves the peer is online.
        self.table.set_responsive(&from, true);
        match message {
            Message::Ack { tree, id } => {
                self.acknowledged(id, tree, from);
                (None, Vec::new())
            }
            Message::Broadcast {
                tree,
                height,
                payload,
            } => {
                let id = payload.id();
                if self.config.flood {
                    if self.seen.insert(id, 0) == Sighting::Duplicate {
                        return (None, Vec::new());
                    }
                    let out = self.flood_to_all(&payload, Some(from));
                    return (Some(Delivered { id, from, payload }), out);
                }
                let mut out = Vec::new();
                if self.config.reliable {
                    // Duplicates are acknowledged too, or their sender would retry.
                    out.push(Outgoing {
                        to: from,
                        message: Message::Ack { tree, id },
                    });
                }
                let sighting = self.seen.insert(id, tree);
                if sighting == Sighting::Duplicate {
                    return (None, out);
                }
                let (_, per_tree) = self.config.shape();
                for bucket in 0..usize::from(height).min(BUCKETS) {
                    let delegates = self.pick(bucket, &[], per_tree);
                    self.send_to(id, tree, bucket, delegates, &payload, now, &mut out);
                }
                let delivered =
                    (sighting == Sighting::New).then_some(Delivered { id, from, payload });
                (delivered, out)
            }
        }
    }

    /// [`handle`](Self::handle) for bytes off the wire.
    pub fn handle_bytes(
        &mut self,
        from: OverlayId,
        bytes: &[u8],
        now: u64,
    ) -> Result<(Option<Delivered>, Vec<Outgoing>), BroadcastError> {
        let message = Message::decode(bytes)?;
        Ok(self.handle(from, message, now))
    }

    /// Replaces every delegate whose acknowledgement is overdue at `now` by another peer of
    /// its bucket; returns the messages to send.
    pub fn tick(&mut self, now: u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let mut pending = std::mem::take(&mut self.pending);
        for fanout in &mut pending {
            let (overdue, waiting): (Vec<_>, Vec<_>) = fanout
                .waiting
                .iter()
                .partition(|(_, deadline)| *deadline <= now);
            fanout.waiting = waiting;
            for (peer, _) in overdue {
                self.table.set_responsive(&peer, false);
                if fanout.retries >= self.config.max_retries {
                    continue;
                }
                let Some(next) = self.pick(fanout.bucket, &fanout.used, 1).pop() else {
                    continue;
                };
                let Some(payload) = self.payloads.get(&fanout.id) else {
                    continue;
                };
                fanout.retries += 1;
                fanout.used.push(next);
                fanout.waiting.push((next, now + self.config.ack_timeout));
                out.push(Outgoing {
                    to: next,
                    message: Message::Broadcast {
                        tree: fanout.tree,
                        height: fanout.bucket as u16,
                        payload: payload.clone(),
                    },
                });
            }
        }
        pending.retain(|f| !f.waiting.is_empty());
        self.pending = pending;
        self.forget_finished_payloads();
        out
    }

    /// The earliest tick at which [`tick`](Self::tick) has work, if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending
            .iter()
            .flat_map(|f| f.waiting.iter().map(|(_, d)| *d))
            .min()
    }

    /// Delegates currently awaiting an acknowledgement.
    pub fn pending_delegates(&self) -> usize {
        self.pending.iter().map(|f| f.waiting.len()).sum()
    }

    fn acknowledged(&mut self, id: MessageId, tree: u8, from: OverlayId) {
        for fanout in self
            .pending
            .iter_mut()
            .filter(|f| f.id == id && f.tree == tree)
        {
            fanout.waiting.retain(|(peer, _)| *peer != from);
        }
        self.pending.retain(|f| !f.waiting.is_empty());
        if !self.pending.iter().any(|f| f.id == id) {
            self.payloads.remove(&id);
        }
    }

    fn forget_finished_payloads(&mut self) {
        let pending = &self.pending;
        self.payloads
            .retain(|id, _| pending.iter().any(|f| f.id == *id));
    }

    /// Hands `payload` on `tree` to `delegates` of `bucket`, tagged with the bucket as the
    /// height they are responsible for, and arms their retry timer.
    #[allow(clippy::too_many_arguments)]
    fn send_to(
        &mut self,
        id: MessageId,
        tree: u8,
        bucket: usize,
        delegates: Vec<OverlayId>,
        payload: &Payload,
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        if delegates.is_empty() {
            return;
        }
        for &to in &delegates {
            out.push(Outgoing {
                to,
                message: Message::Broadcast {
                    tree,
                    height: bucket as u16,
                    payload: payload.clone(),
                },
            });
        }
        let tracked = self.pending_delegates() + delegates.len() <= self.config.max_pending;
        if self.config.reliable && tracked {
            let deadline = now + self.config.ack_timeout;
            self.pending.push(Fanout {
                id,
                tree,
                bucket,
                waiting: delegates.iter().map(|&d| (d, deadline)).collect(),
                used: delegates,
                retries: 0,
            });
            self.payloads.entry(id).or_insert_with(|| payload.clone());
        }
    }
    /// The flood baseline: one copy to every peer but `except`.
    fn flood_to_all(&self, payload: &Payload, except: Option<OverlayId>) -> Vec<Outgoing> {
        self.table
            .peers()
            .map(|e| e.id)
            .filter(|p| Some(*p) != except)
            .map(|to| Outgoing {
                to,
                message: Message::Broadcast {
                    tree: 0,
                    height: 0,
                    payload: payload.clone(),
                },
            })
            .collect()
    }

    /// Up to `n` distinct peers of `bucket` not in `exclude`, drawn uniformly among the
    /// responsive ones first, then among the flagged ones.
    fn pick(&mut self, bucket: usize, exclude: &[OverlayId], n: usize) -> Vec<OverlayId> {
        let entries = self.table.bucket(bucket);
        if entries.is_empty() || n == 0 {
            return Vec::new();
        }
        let free = |e: &&Entry| !exclude.contains(&e.id);
        let mut first: Vec<OverlayId> = entries
            .iter()
            .filter(free)
            .filter(|e| e.responsive)
            .map(|e| e.id)
            .collect();
        let mut second: Vec<OverlayId> = entries
            .iter()
            .filter(free)
            .filter(|e| !e.responsive)
            .map(|e| e.id)
            .collect();
        let mut chosen = Vec::with_capacity(n);
        for group in [&mut first, &mut second] {
            while chosen.len() < n && !group.is_empty() {
                let i = (self.rng.next_u64() % group.len() as u64) as usize;
                chosen.push(group.swap_remove(i));
            }
        }
        chosen
    }
}
