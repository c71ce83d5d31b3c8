//! A deterministic simulator of one broadcast overlay: Kadcast against flood and gossip.
//!
//! [`Overlay::new`] places `nodes` random [`OverlayId`]s and gives each a Kademlia-style
//! table: for every bucket, up to `bucket_size` peers drawn at random from the nodes that
//! really fall in it (so small buckets are complete, large ones sampled). [`run`] then
//! performs `broadcasts` broadcasts one after the other, each from a random online node and
//! each run until nothing is in flight. Before each broadcast a fresh `churn` fraction of
//! the nodes goes offline: they stay in everyone's tables but drop everything they
//! receive; with `liveness_hints` each node has learnt, with that probability per peer,
//! which of its peers are offline (and that the others are online); a `droppers` fraction
//! of online nodes acknowledges every copy and forwards nothing. Every link has a fixed base latency
//! drawn uniformly from `min_delay..=max_delay` ticks, and every message (copy or
//! acknowledgement) adds uniform jitter up to `jitter`. One seed gives one exact run.
//!
//! Kadcast runs the real [`Broadcaster`], kept across broadcasts (its seen-set and
//! responsiveness flags carry over). The baselines forward on first receipt: flood to every
//! table peer but the sender, gossip to `fanout` random table peers but the sender.
//!
//! ```
//! use zeropole_core::broadcast::sim::{run, Overlay, Protocol, SimConfig};
//! let config = SimConfig { nodes: 50, churn: 0.2, ..SimConfig::default() };
//! let overlay = Overlay::new(&config);
//! let report = run(&overlay, &config, Protocol::kadcast(1));
//! assert_eq!(report.min_coverage(), 1.0);
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::broadcaster::{Broadcaster, Config};
use super::id::{OverlayId, BUCKETS};
use super::table::RoutingTable;
use super::wire::{Message, Payload};
use crate::sim::SimRng;

/// Parameters of a simulated overlay and its broadcasts.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The seed: ids, tables, churn, delays and originators derive from it.
    pub seed: u64,
    /// Overlay members.
    pub nodes: usize,
    /// Peers kept per bucket (Kademlia's k).
    pub bucket_size: usize,
    /// Fraction of nodes offline during each broadcast.
    pub churn: f64,
    /// Probability that a node knows, before a broadcast, that a given peer of its table is
    /// offline (as the network layer learns from closed connections and failed dials, and
    /// passes on with [`RoutingTable::set_responsive`]). 0: only acknowledgements tell.
    pub liveness_hints: f64,
    /// Fraction of nodes that are online but byzantine in the quietest way: they
    /// acknowledge every copy and forward nothing (redrawn per broadcast). They are left
    /// out of the statistics, which describe the honest online nodes.
    pub droppers: f64,
    /// Smallest base latency of a link, ticks.
    pub min_delay: u64,
    /// Largest base latency of a link, ticks.
    pub max_delay: u64,
    /// Largest extra delay of one message over its link's base latency, ticks.
    pub jitter: u64,
    /// Kadcast's acknowledgement timeout, ticks (above the largest round trip).
    pub ack_timeout: u64,
    /// Broadcasts per run.
    pub broadcasts: usize,
}

impl Default for SimConfig {
    /// 100 nodes, k = 20, no churn, links of 10–100 ticks (read: ms) plus up to 10 of
    /// jitter, a 250-tick acknowledgement timeout (above the 220-tick worst round trip),
    /// 10 broadcasts.
    fn default() -> Self {
        SimConfig {
            seed: 1,
            nodes: 100,
            bucket_size: 20,
            churn: 0.0,
            liveness_hints: 0.0,
            droppers: 0.0,
            min_delay: 10,
            max_delay: 100,
            jitter: 10,
            ack_timeout: 250,
            broadcasts: 10,
        }
    }
}

/// The dissemination protocol under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// [`Broadcaster`] with redundancy `beta`; see [`Config`] for the other two switches.
    Kadcast {
        /// Redundancy β.
        beta: usize,
        /// β independent trees (`true`) or β delegates per bucket at every hop.
        independent_trees: bool,
        /// Acknowledge and replace silent delegates.
        reliable: bool,
    },
    /// Forward to every table peer once, on first receipt.
    Flood,
    /// Forward to `fanout` random table peers once, on first receipt (gossipsub's D = 6).
    Gossip {
        /// Peers per forward.
        fanout: usize,
    },
}

impl Protocol {
    /// Kadcast as [`Config::default`] runs it: `beta` independent trees, acknowledged.
    pub fn kadcast(beta: usize) -> Self {
        Protocol::Kadcast {
            beta,
            independent_trees: true,
            reliable: true,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protocol::Kadcast {
                beta,
                independent_trees,
                reliable,
            } => write!(
                f,
                "kadcast β={beta}{}{}",
                if *independent_trees { "" } else { " classic" },
                if *reliable { "" } else { " no-ack" }
            ),
            Protocol::Flood => f.write_str("flood"),
            Protocol::Gossip { fanout } => write!(f, "gossip k={fanout}"),
        }
    }
}

/// Node ids and routing tables, built once and shared by every protocol's run.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Node `i`'s id.
    pub ids: Vec<OverlayId>,
    /// Node `i`'s routing table.
    pub tables: Vec<RoutingTable>,
}

impl Overlay {
    /// Random ids and sampled Kademlia tables from `config.seed`.
    pub fn new(config: &SimConfig) -> Self {
        let mut rng = SimRng::new(config.seed ^ 0x6f76_6572_6c61_7900);
        let ids: Vec<OverlayId> = (0..config.nodes)
            .map(|_| OverlayId(rng.bytes32()))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        let tables = ids
            .iter()
            .map(|me| table_for(*me, &sorted, config.bucket_size, &mut rng))
            .collect();
        Overlay { ids, tables }
    }
}

/// `me`'s table: per bucket, up to `k` peers drawn from the members (`sorted` holds every
/// node, sorted). The nodes sharing `me`'s first `l` bits are one contiguous run of
/// `sorted`; bucket `255 − l` is that run minus the run sharing `l + 1` bits.
fn table_for(me: OverlayId, sorted: &[OverlayId], k: usize, rng: &mut SimRng) -> RoutingTable {
    let mut table = RoutingTable::new(me, k);
    let run = |l: usize| -> (usize, usize) {
        let same = |x: &OverlayId| common_prefix(&me, x) >= l;
        let lo = sorted.partition_point(|x| x < &me && !same(x));
        let hi = sorted.partition_point(|x| x <= &me || same(x));
        (lo, hi)
    };
    let (mut lo, mut hi) = (0, sorted.len());
    for l in 0..BUCKETS {
        if hi - lo <= 1 {
            break;
        }
        let (inner_lo, inner_hi) = run(l + 1);
        let members: Vec<&OverlayId> = sorted[lo..inner_lo]
            .iter()
            .chain(&sorted[inner_hi..hi])
            .collect();
        if members.len() <= k {
            for m in members {
                table.insert(*m);
            }
        } else {
            while table.bucket(BUCKETS - 1 - l).len() < k {
                let m = members[rng.below(members.len() as u64) as usize];
                table.insert(*m);
            }
        }
        (lo, hi) = (inner_lo, inner_hi);
    }
    table
}

/// SplitMix64's finaliser: a fixed, well-mixed hash of a link's endpoints.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn common_prefix(a: &OverlayId, b: &OverlayId) -> usize {
    a.bucket_of(b).map_or(BUCKETS, |i| BUCKETS - 1 - i)
}

/// What one broadcast did.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastStats {
    /// Honest online nodes other than the originator.
    pub online: usize,
    /// Of these, how many received the broadcast.
    pub covered: usize,
    /// Copies received per online node (mean over the `online` nodes).
    pub mean_copies: f64,
    /// Most copies any online node received.
    pub max_copies: u32,
    /// Ticks from origination until the last online node received it; `None` if some never
    /// did.
    pub ticks_to_full: Option<u64>,
    /// Broadcast copies sent, including those lost to offline nodes.
    pub messages: u64,
    /// Acknowledgements sent.
    pub acks: u64,
}

impl BroadcastStats {
    /// Fraction of online nodes reached (1 when there is nobody else online).
    pub fn coverage(&self) -> f64 {
        if self.online == 0 {
            1.0
        } else {
            self.covered as f64 / self.online as f64
        }
    }
}

/// Every broadcast of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The protocol.
    pub protocol: Protocol,
    /// One entry per broadcast, in order.
    pub broadcasts: Vec<BroadcastStats>,
}

impl Report {
    fn mean(&self, f: impl Fn(&BroadcastStats) -> f64) -> f64 {
        let n = self.broadcasts.len().max(1) as f64;
        self.broadcasts.iter().map(f).sum::<f64>() / n
    }

    /// Mean over broadcasts of the mean copies per online node.
    pub fn mean_copies(&self) -> f64 {
        self.mean(|b| b.mean_copies)
    }

    /// Most copies any online node received in any broadcast.
    pub fn max_copies(&self) -> u32 {
        self.broadcasts
            .iter()
            .map(|b| b.max_copies)
            .max()
            .unwrap_or(0)
    }

    /// Worst coverage of any broadcast.
    pub fn min_coverage(&self) -> f64 {
        self.broadcasts
            .iter()
            .map(BroadcastStats::coverage)
            .fold(1.0, f64::min)
    }

    /// Mean coverage.
    pub fn mean_coverage(&self) -> f64 {
        self.mean(BroadcastStats::coverage)
    }

    /// Broadcasts that reached every online node.
    pub fn full(&self) -> usize {
        self.broadcasts
            .iter()
            .filter(|b| b.ticks_to_full.is_some())
            .count()
    }

    /// Mean ticks to full coverage, over the broadcasts that reached it.
    pub fn mean_ticks_to_full(&self) -> Option<f64> {
        let t: Vec<u64> = self
            .broadcasts
            .iter()
            .filter_map(|b| b.ticks_to_full)
            .collect();
        (!t.is_empty()).then(|| t.iter().sum::<u64>() as f64 / t.len() as f64)
    }

    /// Mean broadcast copies sent per broadcast.
    pub fn mean_messages(&self) -> f64 {
        self.mean(|b| b.messages as f64)
    }

    /// Mean acknowledgements per broadcast.
    pub fn mean_acks(&self) -> f64 {
        self.mean(|b| b.acks as f64)
    }
}

/// An event in flight: a copy (`height`), an acknowledgement, or a node's timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `(tree, height)`.
    Copy(u8, u16),
    /// `tree`.
    Ack(u8),
    Timer,
}

/// `(time, sequence, to, from, kind)`: the sequence number makes the order total and
/// deterministic.
type Event = (u64, u64, u32, u32, Kind);

struct Run<'a> {
    overlay: &'a Overlay,
    config: &'a SimConfig,
    protocol: Protocol,
    rng: SimRng,
    index: std::collections::HashMap<OverlayId, u32>,
    queue: BinaryHeap<Reverse<Event>>,
    seq: u64,
    kad: Vec<Broadcaster>,
    armed: Vec<Option<u64>>,
}

/// Runs `config.broadcasts` broadcasts of `protocol` over `overlay`.
pub fn run(overlay: &Overlay, config: &SimConfig, protocol: Protocol) -> Report {
    let mut seed_rng = SimRng::new(config.seed);
    let kad = match protocol {
        Protocol::Kadcast {
            beta,
            independent_trees,
            reliable,
        } => overlay
            .tables
            .iter()
            .map(|t| {
                let c = Config {
                    beta,
                    independent_trees,
                    reliable,
                    ack_timeout: config.ack_timeout,
                    ..Config::default()
                };
                Broadcaster::new(t.clone(), c, seed_rng.below(u64::MAX))
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut sim = Run {
        overlay,
        config,
        protocol,
        rng: seed_rng,
        index: overlay
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect(),
        queue: BinaryHeap::new(),
        seq: 0,
        armed: vec![None; overlay.ids.len()],
        kad,
    };
    let broadcasts = (0..config.broadcasts).map(|b| sim.broadcast(b)).collect();
    Report {
        protocol,
        broadcasts,
    }
}

impl Run<'_> {
    fn broadcast(&mut self, number: usize) -> BroadcastStats {
        let n = self.overlay.ids.len();
        let mut order: Vec<usize> = (0..n).collect();
        self.rng.shuffle(&mut order);
        let down = ((n as f64) * self.config.churn).round() as usize;
        let down = down.min(n.saturating_sub(1));
        let mut offline = vec![false; n];
        for &i in &order[..down] {
            offline[i] = true;
        }
        let silent = ((n as f64) * self.config.droppers).round() as usize;
        let silent = silent.min(n.saturating_sub(down + 1));
        let mut dropper = vec![false; n];
        for &i in &order[down..down + silent] {
            dropper[i] = true;
        }
        if self.config.liveness_hints > 0.0 {
            self.give_hints(&offline);
        }
        let honest = &order[down + silent..];
        let pick = self.rng.below(honest.len() as u64) as usize;
        let origin = honest.get(pick).copied().unwrap_or(0);
        let mut body = self.config.seed.to_be_bytes().to_vec();
        body.extend_from_slice(&(number as u64).to_be_bytes());
        let payload = Payload::Opaque(body);
        let id = payload.id();

        let mut copies = vec![0u32; n];
        let mut first_at: Vec<Option<u64>> = vec![None; n];
        first_at[origin] = Some(0);
        let (mut messages, mut acks) = (0u64, 0u64);

        // Originate.
        match self.protocol {
            Protocol::Kadcast { .. } => {
                let out = self.kad[origin].originate(payload.clone(), 0);
                let out = out.unwrap_or_default();
                self.send_kad(origin, out, 0, &mut messages, &mut acks);
                self.arm(origin, 0);
            }
            _ => self.forward(origin, None, 0, &mut messages),
        }

        while let Some(Reverse((now, _, to, from, kind))) = self.queue.pop() {
            let (to, from) = (to as usize, from as usize);
            if kind == Kind::Timer {
                if self.armed[to] == Some(now) {
                    self.armed[to] = None;
                    let out = self.kad[to].tick(now);
                    self.send_kad(to, out, now, &mut messages, &mut acks);
                    self.arm(to, now);
                }
                continue;
            }
            if offline[to] {
                continue;
            }
            if let Kind::Copy(..) = kind {
                copies[to] += 1;
                if first_at[to].is_none() {
                    first_at[to] = Some(now);
                }
            }
            if dropper[to] {
                // Acknowledges, so its sender sees nothing wrong, and forwards nothing.
                if let (Kind::Copy(tree, _), Protocol::Kadcast { reliable: true, .. }) =
                    (kind, self.protocol)
                {
                    acks += 1;
                    let at = now + self.delay(to, from);
                    self.push(at, from, to, Kind::Ack(tree));
                }
                continue;
            }
            match self.protocol {
                Protocol::Kadcast { .. } => {
                    let message = match kind {
                        Kind::Copy(tree, height) => Message::Broadcast {
                            tree,
                            height,
                            payload: payload.clone(),
                        },
                        Kind::Ack(tree) => Message::Ack { tree, id },
                        Kind::Timer => continue,
                    };
                    let (_, out) = self.kad[to].handle(self.overlay.ids[from], message, now);
                    self.send_kad(to, out, now, &mut messages, &mut acks);
                    self.arm(to, now);
                }
                _ => {
                    if copies[to] == 1 {
                        self.forward(to, Some(from), now, &mut messages);
                    }
                }
            }
        }

        let others = (0..n).filter(|&i| !offline[i] && !dropper[i] && i != origin);
        let online = others.clone().count();
        let covered = others.clone().filter(|&i| first_at[i].is_some()).count();
        let total: u64 = others.clone().map(|i| u64::from(copies[i])).sum();
        let max_copies = others.clone().map(|i| copies[i]).max().unwrap_or(0);
        let ticks_to_full =
            (covered == online).then(|| others.filter_map(|i| first_at[i]).max().unwrap_or(0));
        BroadcastStats {
            online,
            covered,
            mean_copies: total as f64 / online.max(1) as f64,
            max_copies,
            ticks_to_full,
            messages,
            acks,
        }
    }

    fn push(&mut self, at: u64, to: usize, from: usize, kind: Kind) {
        self.seq += 1;
        self.queue
            .push(Reverse((at, self.seq, to as u32, from as u32, kind)));
    }

    /// What the network layer would tell each Kadcast node from its connection state.
    fn give_hints(&mut self, offline: &[bool]) {
        for i in 0..self.kad.len() {
            let peers: Vec<OverlayId> = self.overlay.tables[i].peers().map(|e| e.id).collect();
            for p in peers {
                let Some(&j) = self.index.get(&p) else {
                    continue;
                };
                let down = offline[j as usize];
                if !down || self.rng.chance(self.config.liveness_hints) {
                    self.kad[i].table_mut().set_responsive(&p, !down);
                }
            }
        }
    }

    /// The delay of one message from `a` to `b`: the link's base latency (symmetric, fixed
    /// for the run) plus uniform jitter.
    fn delay(&mut self, a: usize, b: usize) -> u64 {
        let (lo, hi) = (a.min(b) as u64, a.max(b) as u64);
        let link = splitmix64(self.config.seed ^ splitmix64((lo << 32) | hi));
        let span = self.config.max_delay.saturating_sub(self.config.min_delay) + 1;
        self.config.min_delay + link % span + self.rng.below(self.config.jitter + 1)
    }

    fn send_kad(
        &mut self,
        from: usize,
        out: Vec<super::Outgoing>,
        now: u64,
        messages: &mut u64,
        acks: &mut u64,
    ) {
        for o in out {
            let Some(&to) = self.index.get(&o.to) else {
                continue;
            };
            let kind = match o.message {
                Message::Broadcast { tree, height, .. } => {
                    *messages += 1;
                    Kind::Copy(tree, height)
                }
                Message::Ack { tree, .. } => {
                    *acks += 1;
                    Kind::Ack(tree)
                }
            };
            let at = now + self.delay(from, to as usize);
            self.push(at, to as usize, from, kind);
        }
    }

    /// Schedules node `i`'s next timer if it moved earlier.
    fn arm(&mut self, i: usize, now: u64) {
        if let Some(t) = self.kad[i].poll_timeout() {
            let t = t.max(now);
            if self.armed[i].is_none_or(|a| t < a) {
                self.armed[i] = Some(t);
                self.push(t, i, i, Kind::Timer);
            }
        }
    }

    /// Baselines: node `i` forwards to its flood or gossip targets.
    fn forward(&mut self, i: usize, sender: Option<usize>, now: u64, messages: &mut u64) {
        let sender = sender.map(|s| self.overlay.ids[s]);
        let mut peers: Vec<OverlayId> = self.overlay.tables[i]
            .peers()
            .map(|e| e.id)
            .filter(|p| Some(*p) != sender)
            .collect();
        if let Protocol::Gossip { fanout } = self.protocol {
            self.rng.shuffle(&mut peers);
            peers.truncate(fanout);
        }
        for p in peers {
            if let Some(&to) = self.index.get(&p) {
                *messages += 1;
                let at = now + self.delay(i, to as usize);
                self.push(at, to as usize, i, Kind::Copy(0, 0));
            }
        }
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
