//! The swarm task: one tokio task owns the libp2p swarm, the node's witness duty and the
//! station's collectors, and serves commands from [`NetHandle`]s.
//!
//! Roles (DESIGN.md §4, §6):
//! - a **phone** submits its owner-signed block once to a home station and gets the
//!   certificate back; it asks the station for its inbox (certified sends to it not yet
//!   received) and for certified heads. If one home station fails it tries the other.
//! - a **station** runs a [`Collector`] per submitted block: it asks the committee members
//!   (itself locally, the others over `/zeropole/poc/1`), feeds lagging members the
//!   certificates they lack, and pushes the finished certificate to the sender's and the
//!   recipient's committees. With witness duty it answers attestation requests and
//!   certificate pushes through its [`WitnessNode`]. It answers a phone's inbox and head
//!   queries by asking the account's committee.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{FutureExt, StreamExt};
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::PeerCondition;
use libp2p::swarm::SwarmEvent;
use libp2p::{identity, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::codec::ByteCounter;
use super::config::NetConfig;
use super::wire::{Request, Response, MAX_INBOX};
use super::{NetError, PeerRecord};
use crate::crypto::{AccountId, Hash, KeyPair};
use crate::ledger::Op;
use crate::poc::{
    AttestRequest, Certificate, CertificateOutcome, Collector, CollectorStep, Epoch, MemberAnswer,
    WitnessId, WitnessNode, WitnessStore,
};

/// A station's witness duty: its witness state machine and its witness key (which also
/// signs its [`PeerRecord`]).
pub struct WitnessDuty<S: WitnessStore> {
    /// The witness.
    pub node: WitnessNode<S>,
    /// The witness key.
    pub keys: KeyPair,
}

/// A snapshot of the node's network state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetStatus {
    /// This node's libp2p identity.
    pub peer_id: PeerId,
    /// Addresses the node listens on.
    pub listen: Vec<Multiaddr>,
    /// Addresses confirmed as external.
    pub external: Vec<Multiaddr>,
    /// Peers with an open connection.
    pub connected: Vec<PeerId>,
    /// Witnesses whose peer record this node holds.
    pub known_witnesses: usize,
    /// Whether this node is a station.
    pub station: bool,
    /// Whether kad runs in server mode (stations; phones are pinned to client mode, except
    /// a Full-profile phone while a direct external address is confirmed).
    pub kad_server: bool,
    /// Stations holding a relay reservation for this node.
    pub reservations: Vec<PeerId>,
    /// Home stations whose connection this node holds open (the others are for
    /// failover; `NetConfig::home_connections`).
    pub held: Vec<PeerId>,
    /// Counters since start.
    pub metrics: NetMetrics,
}

/// Counters a node keeps since it started (a station prints them; DESIGN.md §6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetMetrics {
    /// Relay reservations held now (stations).
    pub reservations: u64,
    /// Relay reservations accepted since start.
    pub reservations_accepted: u64,
    /// Relay reservations denied since start.
    pub reservations_denied: u64,
    /// Relayed circuits open now (stations).
    pub circuits: u64,
    /// Relayed circuits accepted since start.
    pub circuits_accepted: u64,
    /// Relayed circuits denied since start.
    pub circuits_denied: u64,
    /// Connections opened since start.
    pub connections_opened: u64,
    /// POC requests received.
    pub requests_in: u64,
    /// POC requests sent.
    pub requests_out: u64,
    /// POC message bytes received (requests and responses, framing included).
    pub poc_bytes_in: u64,
    /// POC message bytes sent (requests and responses, framing included).
    pub poc_bytes_out: u64,
    /// Blocks this node collected a certificate for (stations).
    pub certified: u64,
    /// Blocks whose collection was refused or timed out (stations).
    pub refused: u64,
    /// Broadcast copies received (duplicates included; acknowledgements excluded).
    pub broadcast_copies_in: u64,
    /// Broadcasts delivered (first copies).
    pub broadcast_delivered: u64,
    /// Broadcast messages sent (copies and acknowledgements).
    pub broadcast_messages_out: u64,
    /// Times the network task woke up for a timer of its own (retries, redials,
    /// debounce, broadcast acknowledgements); an idle node has none.
    pub timer_wakeups: u64,
    /// Wake-up pushes handed to the push sender (stations).
    pub pushes_sent: u64,
    /// Handover reports asked of old committee members (stations, after an epoch change).
    pub handovers_requested: u64,
    /// Accounts whose payments this station sends on to their phone's home station.
    pub watched_accounts: u64,
    /// Certificates sent on to a watching home station.
    pub certificates_relayed: u64,
    /// Batches of attestation requests answered with one root signature (witnesses).
    pub attest_batches: u64,
    /// Requests answered in those batches.
    pub attest_batched_requests: u64,
}

/// What the network layer reports as it happens (subscribe with [`NetHandle::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A connection to `peer` opened (`relayed`: through a station's circuit).
    Connected {
        /// The peer.
        peer: PeerId,
        /// The remote address of the connection.
        address: Multiaddr,
        /// Whether it runs over a relay circuit.
        relayed: bool,
    },
    /// The last connection to `peer` closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A station accepted (or renewed) this node's relay reservation.
    ReservationAccepted {
        /// The station.
        relay: PeerId,
        /// A renewal of an existing reservation.
        renewal: bool,
    },
    /// A relay reservation ended (refused, station gone, network change); it is
    /// requested again.
    ReservationLost {
        /// The station.
        relay: PeerId,
        /// Why.
        reason: String,
    },
    /// DCUtR upgraded a relayed connection to `peer` to a direct one.
    HolePunched {
        /// The peer.
        peer: PeerId,
    },
    /// DCUtR could not upgrade the relayed connection to `peer` (it stays relayed).
    HolePunchFailed {
        /// The peer.
        peer: PeerId,
        /// libp2p's reason.
        error: String,
    },
    /// An address of this node was confirmed as external.
    ExternalAddressConfirmed(Multiaddr),
    /// An external address of this node was dropped.
    ExternalAddressExpired(Multiaddr),
    /// A network change was applied: connections closed, stale addresses dropped, home
    /// stations redialled.
    NetworkChangeApplied,
    /// A routing-table broadcast arrived here for the first time (and was applied: a
    /// certificate to the witness and archive; proofs and revocations are reported).
    BroadcastDelivered {
        /// The broadcast's id.
        id: crate::broadcast::MessageId,
        /// `certificate`, `equivocation`, `revocation` or `opaque`.
        kind: &'static str,
    },
    /// After a network change: a home station is connected again (and, with
    /// `reserve_relays`, a reservation is held), `after` the `network_changed()` call.
    Reachable {
        /// Time since `network_changed()` was called.
        after: Duration,
    },
}

enum Command {
    NetworkChanged,
    /// Close every connection and end the network task; answered once done.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    Broadcast {
        payload: crate::broadcast::Payload,
        reply: oneshot::Sender<Result<crate::broadcast::MessageId, NetError>>,
    },
    Dial {
        address: Multiaddr,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    AddExternal {
        address: Multiaddr,
    },
    Submit {
        request: Box<AttestRequest>,
        history: Vec<Certificate>,
        reply: oneshot::Sender<Result<Certificate, NetError>>,
    },
    Inbox {
        account: AccountId,
        reply: oneshot::Sender<Result<Vec<Certificate>, NetError>>,
    },
    Head {
        account: AccountId,
        reply: oneshot::Sender<Result<Option<Certificate>, NetError>>,
    },
    Status {
        reply: oneshot::Sender<NetStatus>,
    },
    RegisterPush {
        registration: Box<super::push::PushRegistration>,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    AdvanceEpoch {
        next: Box<Epoch>,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
}

/// A cheap, cloneable handle to a running network task. Dropping every handle stops it.
#[derive(Clone)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
    events: tokio::sync::broadcast::Sender<NetEvent>,
}

impl NetHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Gets `request` certified: through a home station (phone), or by collecting the
    /// attestations itself (station). `history` holds the account's latest certificates,
    /// for lagging committee members.
    pub async fn submit(
        &self,
        request: AttestRequest,
        history: Vec<Certificate>,
    ) -> Result<Certificate, NetError> {
        self.ask(|reply| Command::Submit {
            request: Box::new(request),
            history,
            reply,
        })
        .await?
    }

    /// Certified sends to `account` that its committee still lists as not received
    /// (verified certificates, at most 64).
    pub async fn inbox(&self, account: AccountId) -> Result<Vec<Certificate>, NetError> {
        self.ask(|reply| Command::Inbox { account, reply }).await?
    }

    /// The highest certificate of `account` its committee members report (verified).
    pub async fn head(&self, account: AccountId) -> Result<Option<Certificate>, NetError> {
        self.ask(|reply| Command::Head { account, reply }).await?
    }

    /// Moves this node to the next epoch (DESIGN.md §4). A witness durably closes the
    /// current epoch first; its collections then fetch handovers for members that need
    /// them. Every node of the network must be given the same epoch (the signed epoch
    /// record `R_{e+1}`); the epoch before stays known for `K` epochs.
    pub async fn advance_epoch(&self, next: Epoch) -> Result<(), NetError> {
        self.ask(|reply| Command::AdvanceEpoch {
            next: Box::new(next),
            reply,
        })
        .await?
    }

    /// Stops the network task: every connection is closed properly first (peers learn at
    /// once that this node left, instead of keeping it until their idle timeout; a dial
    /// still in its handshake is let finish and closed, up to one second). Returns once
    /// the task has ended; at once if it already has. Other handles then get
    /// [`NetError::Stopped`].
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self
            .commands
            .send(Command::Shutdown { reply })
            .await
            .is_ok()
        {
            let _ = done.await;
        }
    }

    /// Registers (or, with an empty token, removes) this account's push token at a home
    /// station, which then wakes the phone when it learns of a payment to it (DESIGN.md
    /// §7). Succeeds once a station accepted it.
    pub async fn register_push(
        &self,
        registration: super::push::PushRegistration,
    ) -> Result<(), NetError> {
        self.ask(|reply| Command::RegisterPush {
            registration: Box::new(registration),
            reply,
        })
        .await?
    }

    /// The node's network state.
    pub async fn status(&self) -> Result<NetStatus, NetError> {
        self.ask(|reply| Command::Status { reply }).await
    }

    /// The OS reports a network change (Wi-Fi ↔ cellular, new address): after a short
    /// debounce the node closes every connection, drops its external addresses and
    /// relay reservations, re-listens and redials its home stations (DESIGN.md §6 "IP
    /// switching"). Progress is reported as [`NetEvent`]s, ending in
    /// [`NetEvent::Reachable`].
    pub async fn network_changed(&self) -> Result<(), NetError> {
        self.commands
            .send(Command::NetworkChanged)
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Broadcasts `payload` to the overlay (stations and witnesses) with the
    /// routing-table broadcast; returns its id. Phones are not overlay members.
    pub async fn broadcast(
        &self,
        payload: crate::broadcast::Payload,
    ) -> Result<crate::broadcast::MessageId, NetError> {
        self.ask(|reply| Command::Broadcast { payload, reply })
            .await?
    }

    /// Dials `address` (e.g. `/p2p/<station>/p2p-circuit/p2p/<phone>` for a phone-to-phone
    /// session through a station; DCUtR then tries a direct connection).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), NetError> {
        self.ask(|reply| Command::Dial { address, reply }).await?
    }

    /// Declares an address this node is reachable at (a station learning its public
    /// address after it started, or a test station on loopback). Relay reservations
    /// handed to phones carry the external addresses.
    pub async fn add_external_address(&self, address: Multiaddr) -> Result<(), NetError> {
        self.commands
            .send(Command::AddExternal { address })
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Events from now on. A receiver that falls more than 256 events behind loses the
    /// oldest ones (it is told how many).
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<NetEvent> {
        self.events.subscribe()
    }
}

/// Starts nodes.
pub struct Network;

impl Network {
    /// Builds the swarm for `config`, starts listening and spawns the network task on the
    /// current tokio runtime. Must be called from inside a tokio runtime.
    pub fn start<S: WitnessStore + Send + 'static>(
        config: NetConfig,
        key: identity::Keypair,
        epoch: Epoch,
        duty: Option<WitnessDuty<S>>,
    ) -> Result<NetHandle, NetError> {
        let bytes = ByteCounter::default();
        let swarm = build_swarm(&config, key, bytes.clone())?;
        let (tx, rx) = mpsc::channel(64);
        let (events, _) = tokio::sync::broadcast::channel(256);
        let mut service = Service::new(swarm, bytes, config, epoch, duty, events.clone())?;
        tokio::spawn(async move { service.run(rx).await });
        Ok(NetHandle {
            commands: tx,
            events,
        })
    }
}

fn build_swarm(
    config: &NetConfig,
    key: identity::Keypair,
    bytes: ByteCounter,
) -> Result<Swarm<Behaviour>, NetError> {
    let setup = |e: &dyn std::fmt::Display| NetError::Setup(e.to_string());
    let idle = config.timers.idle_timeout;
    // Phones keep their connections (and NAT mappings) alive with their heartbeat; a station
    // does not ping its phones, but its links to other stations must outlive QUIC's idle
    // timeout (a phone that pings more often never lets the station's connection idle,
    // so this wakes no phone).
    let keep_alive = if config.station.is_some() {
        (idle / 2).min(config.timers.ping_interval)
    } else {
        config.timers.ping_interval
    };
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::tls::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_quic_config(|mut q| {
            q.max_idle_timeout = idle.as_millis().min(u32::MAX as u128) as u32;
            // libp2p-quic keeps connections alive every 5 s by default: 12 wake-ups a
            // minute on a phone. The ping interval is the keep-alive we want.
            q.keep_alive_interval = keep_alive;
            q
        })
        .with_relay_client(libp2p::tls::Config::new, libp2p::yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_behaviour(|key, relay_client| Behaviour::new(key, relay_client, config, bytes))
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

enum Origin {
    Remote(ResponseChannel<Response>),
    Local(oneshot::Sender<Result<Certificate, NetError>>),
}

struct Collection {
    collector: Collector,
    origin: Origin,
    started: Instant,
    last_ask: Instant,
    catching_up: HashMap<WitnessId, usize>,
}

enum GatherKind {
    Inbox,
    Head,
}

enum GatherOrigin {
    Remote(ResponseChannel<Response>),
    LocalInbox(oneshot::Sender<Result<Vec<Certificate>, NetError>>),
    LocalHead(oneshot::Sender<Result<Option<Certificate>, NetError>>),
}

struct Gather {
    kind: GatherKind,
    account: AccountId,
    origin: GatherOrigin,
    waiting: usize,
    certs: BTreeMap<Hash, Certificate>,
    deadline: Instant,
}

enum Pending {
    Attest {
        collection: u64,
        member: WitnessId,
    },
    CatchUp {
        collection: u64,
        member: WitnessId,
    },
    Push,
    HandoverFetch {
        target: WitnessId,
    },
    Records,
    Submit {
        request: Box<Request>,
        reply: oneshot::Sender<Result<Certificate, NetError>>,
        tried: Tried,
    },
    PhoneQuery {
        request: Box<Request>,
        reply: PhoneReply,
        tried: Tried,
    },
    Gather {
        gather: u64,
    },
}

/// The home stations a phone's request went to, in order.
#[derive(Debug, Default)]
struct Tried {
    stations: Vec<PeerId>,
    /// Stations given a second chance after losing the connection that carried the
    /// request while another connection to them stayed up.
    again: Vec<PeerId>,
}

impl Tried {
    fn contains(&self, peer: &PeerId) -> bool {
        self.stations.contains(peer)
    }

    fn push(&mut self, peer: PeerId) {
        self.stations.push(peer);
    }

    fn len(&self) -> usize {
        self.stations.len()
    }

    /// Lets `peer` be tried once more, once per request: its connection closed under
    /// the request (the station replaced it by a newer one, say) but it is still
    /// connected, so it has not failed to answer.
    fn allow_again(&mut self, peer: PeerId) -> bool {
        if self.again.contains(&peer) {
            return false;
        }
        self.again.push(peer);
        self.stations.retain(|p| *p != peer);
        true
    }
}

enum PhoneReply {
    Inbox(oneshot::Sender<Result<Vec<Certificate>, NetError>>),
    Head(oneshot::Sender<Result<Option<Certificate>, NetError>>),
    Ack(oneshot::Sender<Result<(), NetError>>),
}

impl PhoneReply {
    fn fail(self, e: NetError) {
        match self {
            PhoneReply::Inbox(r) => {
                let _ = r.send(Err(e));
            }
            PhoneReply::Head(r) => {
                let _ = r.send(Err(e));
            }
            PhoneReply::Ack(r) => {
                let _ = r.send(Err(e));
            }
        }
    }
}

/// Certificates of sends, kept per recipient until the recipient's `Receive` is certified
/// (what a station serves from a phone's inbox).
#[derive(Default)]
struct Archive {
    by_recipient: HashMap<AccountId, BTreeMap<Hash, Certificate>>,
}

impl Archive {
    fn note(&mut self, cert: &Certificate) {
        match &cert.block.body.op {
            Op::Send { to, amount, .. } => {
                let entries = self.by_recipient.entry(*to).or_default();
                entries.insert(cert.block_hash(), cert.clone());
                if entries.len() > MAX_INBOX {
                    // The bound P: the smallest amount goes first (as pending entries).
                    let smallest = entries
                        .iter()
                        .min_by_key(|(_, c)| match &c.block.body.op {
                            Op::Send { amount, .. } => *amount,
                            _ => 0,
                        })
                        .map(|(h, _)| *h);
                    if let Some(h) = smallest {
                        entries.remove(&h);
                    }
                }
                let _ = amount;
            }
            Op::Receive { send_hash, .. } => {
                if let Some(entries) = self.by_recipient.get_mut(&cert.block.body.account) {
                    entries.remove(send_hash);
                }
            }
            Op::Open { .. } => {}
        }
    }

    fn for_recipient(&self, account: &AccountId) -> Vec<Certificate> {
        self.by_recipient
            .get(account)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// Swarm events handled in one wake-up before the queued attestation requests are
/// answered (bounds the latency a burst adds).
const MAX_READY_EVENTS: usize = 256;
/// (witness, root) signatures a collecting station remembers as verified.
const VERIFIED_ROOTS: usize = 4096;
/// Most handover fetches remembered (older ones are dropped first).
const MAX_HANDOVER_FETCHES: usize = 100_000;
/// Most push tokens a station keeps (at most ≈ 600 B each: 512 B of token).
const MAX_PUSH_TOKENS: usize = 1_000_000;
/// How far in the future a registration's time may be (phone clocks drift).
const PUSH_CLOCK_SKEW_MS: u64 = 10 * 60 * 1000;
/// Most certificate hashes remembered as pushed (then forgotten all at once).
const MAX_PUSHED: usize = 100_000;

struct Service<S: WitnessStore> {
    swarm: Swarm<Behaviour>,
    config: NetConfig,
    epoch: Epoch,
    duty: Option<WitnessDuty<S>>,
    records: HashMap<WitnessId, PeerRecord>,
    witness_of: HashMap<PeerId, WitnessId>,
    home: Vec<PeerId>,
    /// The home stations held now (a prefix of `home`'s rotation; all of them by default).
    held: Vec<PeerId>,
    /// Failovers since a held station last connected (the first is immediate, the next
    /// ones wait with jitter, so an unreachable set of stations is not dialled in a loop).
    failovers: u32,
    record_seq: u64,
    records_sent: HashSet<PeerId>,
    collections: HashMap<u64, Collection>,
    gathers: HashMap<u64, Gather>,
    next_id: u64,
    outbound: HashMap<OutboundRequestId, Pending>,
    archive: Archive,
    metrics: NetMetrics,
    bytes: ByteCounter,
    events: tokio::sync::broadcast::Sender<NetEvent>,
    listeners: Vec<ListenerId>,
    home_addrs: HashMap<PeerId, Vec<Multiaddr>>,
    relay_listeners: HashMap<ListenerId, PeerId>,
    reservations: HashSet<PeerId>,
    /// Reservations lost in a row per station (the retry backs off: 1 s, 2 s, … 256 s).
    reservation_failures: HashMap<PeerId, u32>,
    redial_at: HashMap<PeerId, Instant>,
    change_due: Option<Instant>,
    change_started: Option<Instant>,
    connections: HashMap<PeerId, Vec<libp2p::swarm::ConnectionId>>,
    /// Attestation requests waiting for the batch of this wake-up (witnesses).
    attest_queue: Vec<(AttestRequest, ResponseChannel<Response>)>,
    /// Verified (witness, root) signatures of batch attestations (collecting stations).
    roots: crate::poc::VerifiedRoots,
    /// Closed epochs still kept (`K`), by number.
    epochs: std::collections::BTreeMap<u64, Epoch>,
    /// Handover fetches started, by (account, closed epoch, member that needs them).
    handover_fetches: HashMap<(AccountId, u64, WitnessId), Instant>,
    /// Push tokens of the phones that registered here, with their registration time
    /// (stations).
    push_tokens: HashMap<AccountId, (u64, super::push::PushPlatform, String)>,
    /// Committee members: the home station to send each account's incoming payments to
    /// (from its phone's signed registration), with the registration's time.
    watchers: HashMap<AccountId, (u64, PeerId)>,
    /// Certificates already sent on to a watching home station (each goes once).
    relayed: HashSet<Hash>,
    /// Certificates already pushed for.
    pushed: HashSet<crate::crypto::Hash>,
    broadcaster: Option<crate::broadcast::Broadcaster>,
    overlay_peers: HashMap<crate::broadcast::OverlayId, PeerId>,
    started: Instant,
}

fn overlay_id(peer: &PeerId) -> crate::broadcast::OverlayId {
    crate::broadcast::OverlayId::from_peer_id_bytes(&peer.to_bytes())
}

/// The PeerId an address names (its `/p2p/<id>` part), if any.
pub fn peer_id_of(addr: &Multiaddr) -> Option<PeerId> {
    peer_of(addr)
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

impl<S: WitnessStore> Service<S> {
    fn new(
        mut swarm: Swarm<Behaviour>,
        bytes: ByteCounter,
        config: NetConfig,
        epoch: Epoch,
        duty: Option<WitnessDuty<S>>,
        events: tokio::sync::broadcast::Sender<NetEvent>,
    ) -> Result<Self, NetError> {
        let mut listeners = Vec::new();
        for addr in &config.listen {
            listeners.push(
                swarm
                    .listen_on(addr.clone())
                    .map_err(|e| NetError::Setup(format!("listen on {addr}: {e}")))?,
            );
        }
        for addr in &config.external {
            swarm.add_external_address(addr.clone());
        }
        let mut home = Vec::new();
        let mut home_addrs: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
        for addr in &config.bootstrap {
            let Some(peer) = peer_of(addr) else {
                return Err(NetError::Setup(format!(
                    "bootstrap address {addr} lacks /p2p/<peer id>"
                )));
            };
            swarm.add_peer_address(peer, addr.clone());
            if config.station.is_some() || config.kad_bootstrap.is_some() {
                swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
            }
            if !home.contains(&peer) {
                home.push(peer);
            }
            home_addrs.entry(peer).or_default().push(addr.clone());
        }
        // One dial per held station over all its addresses: the first transport to
        // connect wins (two parallel connections would make the station drop one).
        let held: Vec<PeerId> = home.iter().take(config.home_connections).copied().collect();
        swarm
            .behaviour_mut()
            .hold
            .set_held(held.iter().copied().collect());
        for peer in &held {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(*peer)
                .addresses(home_addrs.get(peer).cloned().unwrap_or_default())
                .build();
            if let Err(e) = swarm.dial(opts) {
                log::warn!("dial {peer}: {e}");
            }
        }
        // Stations and witnesses form the broadcast overlay.
        let broadcaster = (config.station.is_some() || duty.is_some()).then(|| {
            use rand_core::RngCore;
            let table = crate::broadcast::RoutingTable::new(overlay_id(swarm.local_peer_id()), 20);
            crate::broadcast::Broadcaster::new(
                table,
                config.broadcast.clone(),
                rand_core::OsRng.next_u64(),
            )
        });
        let record_seq = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Ok(Service {
            swarm,
            config,
            epoch,
            duty,
            records: HashMap::new(),
            witness_of: HashMap::new(),
            home,
            held,
            failovers: 0,
            record_seq,
            records_sent: HashSet::new(),
            collections: HashMap::new(),
            gathers: HashMap::new(),
            next_id: 0,
            outbound: HashMap::new(),
            archive: Archive::default(),
            metrics: NetMetrics::default(),
            bytes,
            events,
            listeners,
            home_addrs,
            relay_listeners: HashMap::new(),
            reservations: HashSet::new(),
            reservation_failures: HashMap::new(),
            redial_at: HashMap::new(),
            change_due: None,
            change_started: None,
            connections: HashMap::new(),
            attest_queue: Vec::new(),
            roots: crate::poc::VerifiedRoots::new(VERIFIED_ROOTS),
            epochs: std::collections::BTreeMap::new(),
            handover_fetches: HashMap::new(),
            push_tokens: HashMap::new(),
            watchers: HashMap::new(),
            relayed: HashSet::new(),
            pushed: HashSet::new(),
            broadcaster,
            overlay_peers: HashMap::new(),
            started: Instant::now(),
        })
    }

    fn send(&mut self, peer: &PeerId, request: Request) -> OutboundRequestId {
        self.metrics.requests_out += 1;
        self.swarm.behaviour_mut().poc.send_request(peer, request)
    }

    fn is_station(&self) -> bool {
        self.config.station.is_some()
    }

    fn me(&self) -> Option<WitnessId> {
        self.duty.as_ref().map(|d| d.node.witness().id)
    }

    async fn run(&mut self, mut commands: mpsc::Receiver<Command>) {
        let mut stopped_by = None;
        loop {
            // No periodic tick: the task sleeps until the next deadline it has (a retry,
            // a redial, a debounce, a broadcast acknowledgement), or until a socket or a
            // command wakes it. An idle phone wakes for nothing of ours (DESIGN.md §7).
            let next = self.next_deadline();
            let sleep = async move {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    self.on_swarm_event(event);
                    // Everything that is ready now is handled before the attestation
                    // requests that arrived meanwhile are answered as one batch.
                    for _ in 0..MAX_READY_EVENTS {
                        match self.swarm.select_next_some().now_or_never() {
                            Some(event) => self.on_swarm_event(event),
                            None => break,
                        }
                    }
                    self.answer_attests();
                }
                command = commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        stopped_by = Some(reply);
                        break;
                    }
                    Some(c) => self.on_command(c),
                    None => break,
                },
                _ = sleep => {
                    self.metrics.timer_wakeups += 1;
                    self.on_tick();
                }
            }
        }
        self.close_all().await;
        log::info!("network task of {} stopped", self.swarm.local_peer_id());
        if let Some(reply) = stopped_by {
            let _ = reply.send(());
        }
    }

    /// Closes every connection properly before the swarm goes away (a phone entering
    /// Saver or pausing): peers learn at once that it left, instead of sending keep-alives
    /// to a dead address (which a phone's kernel answers, waking the radio) until their
    /// idle timeout. Bounded to one second.
    async fn close_all(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        // A dial still in its handshake cannot be cancelled: let it finish and close it
        // too, or the station would keep retransmitting to a socket that is gone.
        let deadline = tokio::time::sleep(Duration::from_secs(1));
        tokio::pin!(deadline);
        while self.swarm.connected_peers().next().is_some()
            || self
                .swarm
                .network_info()
                .connection_counters()
                .num_pending()
                > 0
        {
            tokio::select! {
                _ = &mut deadline => break,
                event = self.swarm.select_next_some() => {
                    if let SwarmEvent::ConnectionEstablished { peer_id, .. } = event {
                        let _ = self.swarm.disconnect_peer_id(peer_id);
                    }
                }
            }
        }
    }

    /// The earliest moment [`on_tick`](Self::on_tick) has work, if any.
    fn next_deadline(&self) -> Option<Instant> {
        let timers = &self.config.timers;
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        for c in self.collections.values() {
            consider(c.started + timers.collect_deadline);
            if c.catching_up.is_empty() {
                consider(c.last_ask + timers.collect_retry);
            }
        }
        for g in self.gathers.values() {
            consider(g.deadline);
        }
        for at in self.redial_at.values() {
            consider(*at);
        }
        if let Some(due) = self.change_due {
            consider(due);
        }
        if let Some(ms) = self.broadcaster.as_ref().and_then(|b| b.poll_timeout()) {
            consider(self.started + Duration::from_millis(ms));
        }
        // Strictly later than the deadline itself, so a due item is due when we wake.
        next.map(|t| t + Duration::from_millis(1))
    }

    // ---- commands -------------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            // Ends the loop in `run`, which answers once every connection is closed.
            Command::Shutdown { .. } => {}
            Command::NetworkChanged => {
                let now = Instant::now();
                self.change_started.get_or_insert(now);
                self.change_due = Some(now + self.config.network_change_debounce);
            }
            Command::Broadcast { payload, reply } => {
                let id = payload.id();
                let now = self.now_ms();
                let result = match self.broadcaster.as_mut() {
                    None => Err(NetError::Peer(
                        "not a member of the broadcast overlay".into(),
                    )),
                    Some(b) => b
                        .originate(payload, now)
                        .map_err(|e| NetError::Peer(e.to_string())),
                };
                match result {
                    Ok(out) => {
                        self.send_broadcast(out);
                        let _ = reply.send(Ok(id));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::AddExternal { address } => {
                log::info!("external address {address}");
                self.swarm.add_external_address(address);
            }
            Command::Dial { address, reply } => {
                let result = self
                    .swarm
                    .dial(address.clone())
                    .map_err(|e| NetError::Peer(format!("dial {address}: {e}")));
                let _ = reply.send(result);
            }
            Command::Submit {
                request,
                history,
                reply,
            } => {
                if self.is_station() {
                    self.start_collection(*request, history, Origin::Local(reply));
                } else {
                    let request = Box::new(Request::Submit {
                        request: *request,
                        history,
                    });
                    self.send_submit(request, reply, Tried::default());
                }
            }
            Command::AdvanceEpoch { next, reply } => {
                let _ = reply.send(self.advance_epoch(*next));
            }
            Command::RegisterPush {
                registration,
                reply,
            } => {
                if self.is_station() {
                    let _ = reply.send(Err(NetError::Setup(
                        "a station does not register push tokens".into(),
                    )));
                } else {
                    self.send_phone_query(
                        Box::new(Request::RegisterPush(registration)),
                        PhoneReply::Ack(reply),
                        Tried::default(),
                    );
                }
            }
            Command::Inbox { account, reply } => {
                if self.is_station() {
                    self.start_gather(GatherKind::Inbox, account, GatherOrigin::LocalInbox(reply));
                } else {
                    self.send_phone_query(
                        Box::new(Request::Inbox(account)),
                        PhoneReply::Inbox(reply),
                        Tried::default(),
                    );
                }
            }
            Command::Head { account, reply } => {
                if self.is_station() {
                    self.start_gather(GatherKind::Head, account, GatherOrigin::LocalHead(reply));
                } else {
                    self.send_phone_query(
                        Box::new(Request::Head(account)),
                        PhoneReply::Head(reply),
                        Tried::default(),
                    );
                }
            }
            Command::Status { reply } => {
                let _ = reply.send(NetStatus {
                    peer_id: *self.swarm.local_peer_id(),
                    listen: self.swarm.listeners().cloned().collect(),
                    external: self.swarm.external_addresses().cloned().collect(),
                    connected: self.swarm.connected_peers().copied().collect(),
                    known_witnesses: self.records.len(),
                    station: self.is_station(),
                    kad_server: self.swarm.behaviour().kad.mode() == libp2p::kad::Mode::Server,
                    reservations: self.reservations.iter().copied().collect(),
                    held: self.held.clone(),
                    metrics: NetMetrics {
                        poc_bytes_in: self.bytes.bytes_in(),
                        poc_bytes_out: self.bytes.bytes_out(),
                        watched_accounts: self.watchers.len() as u64,
                        ..self.metrics
                    },
                });
            }
        }
    }

    /// The home station to use next: a connected one not tried yet, else any not tried.
    fn next_home(&self, tried: &Tried) -> Option<PeerId> {
        let untried = || self.home.iter().filter(|p| !tried.contains(p));
        untried()
            .find(|p| self.swarm.is_connected(p))
            .or_else(|| untried().next())
            .copied()
    }

    fn send_submit(
        &mut self,
        request: Box<Request>,
        reply: oneshot::Sender<Result<Certificate, NetError>>,
        mut tried: Tried,
    ) {
        let Some(station) = self.next_home(&tried) else {
            let _ = reply.send(Err(NetError::NoStation(format!(
                "tried {} home station(s)",
                tried.len()
            ))));
            return;
        };
        tried.push(station);
        let id = self.send(&station, (*request).clone());
        self.outbound.insert(
            id,
            Pending::Submit {
                request,
                reply,
                tried,
            },
        );
    }

    fn send_phone_query(&mut self, request: Box<Request>, reply: PhoneReply, mut tried: Tried) {
        let Some(station) = self.next_home(&tried) else {
            reply.fail(NetError::NoStation(format!(
                "tried {} home station(s)",
                tried.len()
            )));
            return;
        };
        tried.push(station);
        let id = self.send(&station, (*request).clone());
        self.outbound.insert(
            id,
            Pending::PhoneQuery {
                request,
                reply,
                tried,
            },
        );
    }

    // ---- collecting (stations) ------------------------------------------------------

    fn start_collection(
        &mut self,
        request: AttestRequest,
        history: Vec<Certificate>,
        origin: Origin,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        let mut collector = Collector::new(self.epoch.clone(), request, history);
        let steps = collector.start();
        let now = Instant::now();
        self.collections.insert(
            id,
            Collection {
                collector,
                origin,
                started: now,
                last_ask: now,
                catching_up: HashMap::new(),
            },
        );
        self.run_steps(id, steps);
    }

    fn run_steps(&mut self, id: u64, steps: Vec<CollectorStep>) {
        let me = self.me();
        let mut queue: VecDeque<CollectorStep> = steps.into();
        while let Some(step) = queue.pop_front() {
            let Some(collection) = self.collections.get_mut(&id) else {
                return;
            };
            // Requests to remote members, sent once `collection` is no longer borrowed.
            let mut sends: Vec<(PeerId, Request, Pending)> = Vec::new();
            let mut fetches: Vec<(AccountId, u64, WitnessId)> = Vec::new();
            match step {
                CollectorStep::Ask(members) => {
                    collection.last_ask = Instant::now();
                    for member in members {
                        if Some(member) == me {
                            let Some(duty) = self.duty.as_mut() else {
                                continue;
                            };
                            let reply = duty.node.handle_attest(collection.collector.request());
                            let answer = MemberAnswer::from(&reply);
                            if let MemberAnswer::NeedHandover { epoch } = answer {
                                let account = collection.collector.request().block.body.account;
                                fetches.push((account, epoch, member));
                            }
                            queue.extend(collection.collector.on_answer(member, answer));
                        } else if let Some(peer) = self.records.get(&member).map(|r| r.peer_id) {
                            let request = Request::Attest(collection.collector.request().clone());
                            let pending = Pending::Attest {
                                collection: id,
                                member,
                            };
                            sends.push((peer, request, pending));
                        } else {
                            log::debug!("no peer record yet for committee member {member:?}");
                        }
                    }
                }
                CollectorStep::CatchUp {
                    member,
                    certificates,
                } => {
                    if Some(member) == me {
                        if let Some(duty) = self.duty.as_mut() {
                            for c in &certificates {
                                duty.node.handle_certificate(c);
                            }
                        }
                        queue.push_back(CollectorStep::Ask(vec![member]));
                    } else if let Some(peer) = self.records.get(&member).map(|r| r.peer_id) {
                        collection.catching_up.insert(member, certificates.len());
                        for c in certificates {
                            let pending = Pending::CatchUp {
                                collection: id,
                                member,
                            };
                            sends.push((peer, Request::Certificate(Box::new(c)), pending));
                        }
                    }
                }
                CollectorStep::Certified(cert) => {
                    if let Some(c) = self.collections.remove(&id) {
                        self.metrics.certified += 1;
                        self.distribute(&cert);
                        if self.config.broadcast_certificates {
                            self.originate(crate::broadcast::Payload::Certificate(cert.clone()));
                        }
                        match c.origin {
                            Origin::Local(reply) => {
                                let _ = reply.send(Ok(*cert));
                            }
                            Origin::Remote(channel) => {
                                self.respond(channel, Response::Certified(cert))
                            }
                        }
                    }
                    return;
                }
                CollectorStep::Failed(failure) => {
                    if let Some(c) = self.collections.remove(&id) {
                        self.metrics.refused += 1;
                        if let crate::poc::CollectFailure::Conflict(proof) = &failure {
                            // Everyone must learn that this account is frozen.
                            self.originate(crate::broadcast::Payload::Equivocation(proof.clone()));
                        }
                        let reason = failure.to_string();
                        match c.origin {
                            Origin::Local(reply) => {
                                let _ = reply.send(Err(NetError::Refused(reason)));
                            }
                            Origin::Remote(channel) => {
                                self.respond(channel, Response::Refused(reason))
                            }
                        }
                    }
                    return;
                }
            }
            for (peer, request, pending) in sends {
                let rid = self.send(&peer, request);
                self.outbound.insert(rid, pending);
            }
            for (account, epoch, member) in fetches {
                self.fetch_handovers(account, epoch, member);
            }
        }
    }

    /// Answers the queued attestation requests (DESIGN.md §4): one alone is signed alone
    /// (the smaller certificate); several are validated one by one, all their locks stored
    /// in one transaction, and one Merkle-root signature covers them all.
    fn answer_attests(&mut self) {
        let queue = std::mem::take(&mut self.attest_queue);
        let Some(duty) = self.duty.as_mut() else {
            return;
        };
        let answers: Vec<MemberAnswer> = match queue.as_slice() {
            [] => return,
            [(request, _)] => vec![MemberAnswer::from(&duty.node.handle_attest(request))],
            many => {
                let requests: Vec<AttestRequest> = many.iter().map(|(r, _)| r.clone()).collect();
                self.metrics.attest_batches += 1;
                self.metrics.attest_batched_requests += requests.len() as u64;
                duty.node
                    .handle_attest_batch(&requests)
                    .iter()
                    .map(MemberAnswer::from)
                    .collect()
            }
        };
        for ((_, channel), answer) in queue.into_iter().zip(answers) {
            self.respond(channel, Response::Answer(answer));
        }
    }

    // ---- epochs and handover (DESIGN.md §4) -------------------------------------------

    /// The epoch `number`, if this node still keeps it.
    fn epoch_of(&self, number: u64) -> Option<&Epoch> {
        if number == self.epoch.number() {
            Some(&self.epoch)
        } else {
            self.epochs.get(&number)
        }
    }

    /// Checks a certificate against the epoch it names (the current one or one kept).
    fn verify_cert(&self, cert: &Certificate) -> Result<(), crate::poc::CertificateError> {
        match self.epoch_of(cert.epoch) {
            Some(epoch) if self.epoch.accepts_certificates_of(cert.epoch) => cert.verify(epoch),
            _ => cert.verify(&self.epoch),
        }
    }

    /// Moves to the next epoch: the witness durably closes the current one (it never
    /// attests in it again and answers handover requests about it), and the closed epoch
    /// is kept for `K` epochs to verify certificates and find its committees.
    fn advance_epoch(&mut self, next: Epoch) -> Result<(), NetError> {
        if let Some(duty) = self.duty.as_mut() {
            duty.node
                .advance_epoch(next.clone())
                .map_err(|e| NetError::Setup(format!("epoch {}: {e}", next.number())))?;
        } else if next.number() != self.epoch.number() + 1 {
            return Err(NetError::Setup(format!(
                "the next epoch must be {}, got {}",
                self.epoch.number() + 1,
                next.number()
            )));
        }
        let old = std::mem::replace(&mut self.epoch, next);
        log::info!("epoch {} → {}", old.number(), self.epoch.number());
        self.epochs.insert(old.number(), old);
        let current = self.epoch.number();
        self.epochs
            .retain(|n, _| self.epoch.accepts_certificates_of(*n) && *n < current);
        self.handover_fetches.clear();
        Ok(())
    }

    /// `target` (a member of `account`'s committee now) needs the handovers of `epoch`:
    /// ask that epoch's committee for their reports and pass each one on (at most once
    /// per retry period per target).
    fn fetch_handovers(&mut self, account: AccountId, epoch: u64, target: WitnessId) {
        let now = Instant::now();
        let retry = self.config.timers.collect_retry;
        if self
            .handover_fetches
            .get(&(account, epoch, target))
            .is_some_and(|at| now.duration_since(*at) < retry)
        {
            return;
        }
        if self.handover_fetches.len() >= MAX_HANDOVER_FETCHES {
            self.handover_fetches
                .retain(|_, at| now.duration_since(*at) < retry);
        }
        if epoch.checked_add(1) != Some(self.epoch.number()) {
            // Only the epoch just before is handed over through this node.
            log::debug!(
                "handovers of epoch {epoch} asked in epoch {}",
                self.epoch.number()
            );
            return;
        }
        self.handover_fetches.insert((account, epoch, target), now);
        let Some(old) = self.epochs.get(&epoch) else {
            log::warn!("handovers of epoch {epoch} needed, but it is not kept here");
            return;
        };
        let me = self.me();
        for member in old.committee(&account) {
            if Some(member) == me {
                let report = self
                    .duty
                    .as_mut()
                    .map(|d| d.node.handle_handover_request(&account, epoch));
                match report {
                    Some(Ok(h)) => self.forward_handover(target, h),
                    Some(Err(e)) => log::debug!("own handover of epoch {epoch}: {e}"),
                    None => {}
                }
            } else if let Some(peer) = self.records.get(&member).map(|r| r.peer_id) {
                self.metrics.handovers_requested += 1;
                let id = self.send(&peer, Request::HandoverRequest { account, epoch });
                self.outbound.insert(id, Pending::HandoverFetch { target });
            }
        }
    }

    /// Hands a report to `target` (this node's own witness, or a remote member).
    fn forward_handover(&mut self, target: WitnessId, h: crate::poc::Handover) {
        if Some(target) == self.me() {
            if let Some(duty) = self.duty.as_mut() {
                let outcome = duty.node.handle_handover(&h);
                log::debug!("handover for {:?}: {outcome:?}", h.account);
            }
        } else if let Some(peer) = self.records.get(&target).map(|r| r.peer_id) {
            let id = self.send(&peer, Request::Handover(Box::new(h)));
            self.outbound.insert(id, Pending::Push);
        }
    }

    /// Pushes a fresh certificate to the sender's committee and, for a send, to the
    /// recipient's committee (DESIGN.md §4 "Transfer").
    fn distribute(&mut self, cert: &Certificate) {
        self.note_certificate(cert);
        let mut targets: Vec<WitnessId> = self.epoch.committee(&cert.block.body.account);
        if let Op::Send { to, .. } = &cert.block.body.op {
            for w in self.epoch.committee(to) {
                if !targets.contains(&w) {
                    targets.push(w);
                }
            }
        }
        let me = self.me();
        for member in targets {
            if Some(member) == me {
                if let Some(duty) = self.duty.as_mut() {
                    duty.node.handle_certificate(cert);
                }
            } else if let Some(peer) = self.records.get(&member).map(|r| r.peer_id) {
                let rid = self.send(&peer, Request::Certificate(Box::new(cert.clone())));
                self.outbound.insert(rid, Pending::Push);
            }
        }
    }

    /// Keeps a certificate this station learned, and wakes its recipient's phone with a
    /// push if it registered one (once per certificate).
    fn note_certificate(&mut self, cert: &Certificate) {
        self.archive.note(cert);
        let Op::Send { to, .. } = &cert.block.body.op else {
            return;
        };
        self.relay_to_watcher(to, cert);
        let Some(pusher) = self.config.station.as_ref().and_then(|s| s.push.clone()) else {
            return;
        };
        let Some((_, platform, token)) = self.push_tokens.get(to).cloned() else {
            return;
        };
        if self.pushed.len() >= MAX_PUSHED {
            self.pushed.clear();
        }
        if self.pushed.insert(cert.block_hash()) {
            self.metrics.pushes_sent += 1;
            pusher.0.send_sync(platform, &token);
        }
    }

    /// A phone's push-token registration (stations): kept if signed by the account's key
    /// and newer than the one held.
    fn register_push(&mut self, reg: super::push::PushRegistration) -> Response {
        let account = reg.account();
        let held = self
            .push_tokens
            .get(&account)
            .map(|(time, platform, token)| {
                let same = (*platform, token.as_str()) == (reg.platform, reg.token.as_str());
                (*time, same)
            });
        if let Admission::Answer(answer) = self.admit_registration(&reg, held) {
            return answer;
        }
        if reg.token.is_empty() {
            self.push_tokens.remove(&account);
        } else {
            make_room(&mut self.push_tokens, &account);
            self.push_tokens
                .insert(account, (reg.timestamp_ms, reg.platform, reg.token.clone()));
        }
        self.watch_at_committee(&reg);
        Response::Ack
    }

    /// What registrations of both kinds pass (stations only, signed by the account's key,
    /// not from the future, newer than what is held, `held` being its time and whether it
    /// says the same).
    fn admit_registration(
        &self,
        reg: &super::push::PushRegistration,
        held: Option<(u64, bool)>,
    ) -> Admission {
        if !self.is_station() {
            return Admission::Answer(Response::Error("not a station".into()));
        }
        if let Err(refusal) = check_push_registration(reg) {
            return Admission::Answer(Response::Error(refusal));
        }
        match replaces(held, reg.timestamp_ms) {
            Err(refusal) => Admission::Answer(Response::Error(refusal)),
            Ok(false) => Admission::Answer(Response::Ack),
            Ok(true) => Admission::Apply,
        }
    }

    /// A phone's home station asks the account's committee members to send it the
    /// certificates of payments to the account: they learn every such payment (the
    /// collecting station distributes to the recipient's committee), the home station
    /// may not. Sent again with each new registration, so it follows epoch changes.
    fn watch_at_committee(&mut self, reg: &super::push::PushRegistration) {
        let me = self.me();
        for member in self.epoch.committee(&reg.account()) {
            if Some(member) == me {
                continue;
            }
            if let Some(peer) = self.records.get(&member).map(|r| r.peer_id) {
                let rid = self.send(&peer, Request::WatchPayments(Box::new(reg.clone())));
                self.outbound.insert(rid, Pending::Push);
            }
        }
    }

    /// A home station's watch request (committee members): kept if signed by the account's
    /// key and newer than the one held; an empty token stops the watch.
    fn watch_payments(&mut self, home: PeerId, reg: super::push::PushRegistration) -> Response {
        let account = reg.account();
        let held = self
            .watchers
            .get(&account)
            .map(|(time, peer)| (*time, *peer == home));
        if let Admission::Answer(answer) = self.admit_registration(&reg, held) {
            return answer;
        }
        if reg.token.is_empty() {
            self.watchers.remove(&account);
        } else {
            make_room(&mut self.watchers, &account);
            self.watchers.insert(account, (reg.timestamp_ms, home));
        }
        Response::Ack
    }

    /// Sends a payment's certificate to the home station watching its recipient (once).
    fn relay_to_watcher(&mut self, to: &AccountId, cert: &Certificate) {
        let Some((_, home)) = self.watchers.get(to).copied() else {
            return;
        };
        if home == *self.swarm.local_peer_id() {
            return;
        }
        if self.relayed.len() >= MAX_PUSHED {
            self.relayed.clear();
        }
        if !self.relayed.insert(cert.block_hash()) {
            return;
        }
        self.metrics.certificates_relayed += 1;
        let rid = self.send(&home, Request::Certificate(Box::new(cert.clone())));
        self.outbound.insert(rid, Pending::Push);
    }

    // ---- inbox and head queries (stations) --------------------------------------------

    fn local_inbox(&self, account: &AccountId) -> Vec<Certificate> {
        let archived = self.archive.for_recipient(account);
        match &self.duty {
            Some(duty) if duty.node.account(account).is_some() => {
                let pending: HashSet<Hash> = duty
                    .node
                    .pending_for(account)
                    .iter()
                    .map(|e| e.send_hash)
                    .collect();
                archived
                    .into_iter()
                    .filter(|c| pending.contains(&c.block_hash()))
                    .collect()
            }
            _ => archived,
        }
    }

    fn local_head(&self, account: &AccountId) -> Option<Certificate> {
        self.duty
            .as_ref()
            .and_then(|d| d.node.account(account))
            .and_then(|a| a.head.clone())
    }

    fn start_gather(&mut self, kind: GatherKind, account: AccountId, origin: GatherOrigin) {
        let id = self.next_id;
        self.next_id += 1;
        let mut certs = BTreeMap::new();
        let local = match kind {
            GatherKind::Inbox => self.local_inbox(&account),
            GatherKind::Head => self.local_head(&account).into_iter().collect(),
        };
        for c in local {
            certs.insert(c.block_hash(), c);
        }
        let me = self.me();
        let mut waiting = 0;
        for member in self.epoch.committee(&account) {
            if Some(member) == me {
                continue;
            }
            if let Some(peer) = self.records.get(&member).map(|r| r.peer_id) {
                let request = match kind {
                    GatherKind::Inbox => Request::Inbox(account),
                    GatherKind::Head => Request::Head(account),
                };
                let rid = self.send(&peer, request);
                self.outbound.insert(rid, Pending::Gather { gather: id });
                waiting += 1;
            }
        }
        self.gathers.insert(
            id,
            Gather {
                kind,
                account,
                origin,
                waiting,
                certs,
                deadline: Instant::now() + self.config.timers.request_timeout,
            },
        );
        if waiting == 0 {
            self.finish_gather(id);
        }
    }

    fn on_gather_answer(&mut self, id: u64, certs: Vec<Certificate>) {
        let Some(g) = self.gathers.get_mut(&id) else {
            return;
        };
        for c in certs {
            g.certs.insert(c.block_hash(), c);
        }
        g.waiting = g.waiting.saturating_sub(1);
        if g.waiting == 0 {
            self.finish_gather(id);
        }
    }

    fn finish_gather(&mut self, id: u64) {
        let Some(g) = self.gathers.remove(&id) else {
            return;
        };
        // Only certificates that verify against W_e and concern the account count.
        let verified: Vec<Certificate> = g
            .certs
            .into_values()
            .filter(|c| self.verify_cert(c).is_ok())
            .filter(|c| match g.kind {
                GatherKind::Inbox => {
                    matches!(&c.block.body.op, Op::Send { to, .. } if *to == g.account)
                }
                GatherKind::Head => c.block.body.account == g.account,
            })
            .collect();
        match (g.kind, g.origin) {
            (GatherKind::Inbox, GatherOrigin::Remote(ch)) => {
                let mut v = verified;
                v.truncate(MAX_INBOX);
                self.respond(ch, Response::Inbox(v));
            }
            (GatherKind::Head, GatherOrigin::Remote(ch)) => {
                let head = verified.into_iter().max_by_key(|c| c.block.body.height);
                self.respond(ch, Response::Head(head.map(Box::new)));
            }
            (_, GatherOrigin::LocalInbox(reply)) => {
                let _ = reply.send(Ok(verified));
            }
            (_, GatherOrigin::LocalHead(reply)) => {
                let head = verified.into_iter().max_by_key(|c| c.block.body.height);
                let _ = reply.send(Ok(head));
            }
        }
    }

    // ---- peer records -----------------------------------------------------------------

    fn refresh_own_record(&mut self) {
        let Some(duty) = self.duty.as_mut() else {
            return;
        };
        let addrs: Vec<Multiaddr> = if self.config.external.is_empty() {
            self.swarm.listeners().cloned().collect()
        } else {
            self.config.external.clone()
        };
        self.record_seq += 1;
        let id = duty.node.witness().id;
        match PeerRecord::sign(
            id,
            *self.swarm.local_peer_id(),
            addrs,
            self.record_seq,
            &mut duty.keys,
        ) {
            Ok(record) => {
                self.records.insert(id, record);
                // Connected peers learn the new record now.
                self.records_sent.clear();
                let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                for peer in peers {
                    self.send_records(peer);
                }
            }
            Err(e) => log::error!("cannot sign the peer record: {e}"),
        }
    }

    fn learn_records(&mut self, records: Vec<PeerRecord>) {
        let me = self.me();
        let mut fresh = Vec::new();
        for record in records {
            if Some(record.witness) == me || !record.verify(&self.epoch) {
                continue;
            }
            let newer = self
                .records
                .get(&record.witness)
                .is_none_or(|known| known.seq < record.seq);
            if !newer {
                continue;
            }
            for addr in &record.addrs {
                self.swarm.add_peer_address(record.peer_id, addr.clone());
                if self.is_station() {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&record.peer_id, addr.clone());
                }
            }
            self.witness_of.insert(record.peer_id, record.witness);
            if let Some(b) = self.broadcaster.as_mut() {
                let ov = overlay_id(&record.peer_id);
                b.table_mut().insert(ov);
                self.overlay_peers.insert(ov, record.peer_id);
            }
            fresh.push(record.clone());
            self.records.insert(record.witness, record);
        }
        // Pass new records on to the peers already exchanged with (each node forwards a
        // record version once, so this stops), so a witness that reached one station
        // becomes known to all of them.
        if fresh.is_empty() || (!self.is_station() && self.duty.is_none()) {
            return;
        }
        let peers: Vec<PeerId> = self
            .records_sent
            .iter()
            .filter(|p| self.swarm.is_connected(p))
            .copied()
            .collect();
        for peer in peers {
            let forward: Vec<PeerRecord> = fresh
                .iter()
                .filter(|r| r.peer_id != peer)
                .cloned()
                .collect();
            if !forward.is_empty() {
                let rid = self.send(&peer, Request::Records(forward));
                self.outbound.insert(rid, Pending::Records);
            }
        }
    }

    fn send_records(&mut self, peer: PeerId) {
        if (!self.is_station() && self.duty.is_none()) || !self.records_sent.insert(peer) {
            return;
        }
        let records: Vec<PeerRecord> = self.records.values().cloned().collect();
        let rid = self.send(&peer, Request::Records(records));
        self.outbound.insert(rid, Pending::Records);
    }

    // ---- inbound requests ---------------------------------------------------------------

    fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        if self
            .swarm
            .behaviour_mut()
            .poc
            .send_response(channel, response)
            .is_err()
        {
            log::debug!("a requester went away before its answer");
        }
    }

    fn on_request(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        self.metrics.requests_in += 1;
        let from_witness = self.witness_of.contains_key(&peer);
        match request {
            Request::Submit { request, history } => {
                if self.is_station() {
                    self.start_collection(request, history, Origin::Remote(channel));
                } else {
                    self.respond(channel, Response::Error("not a station".into()));
                }
            }
            Request::Attest(request) => {
                if self.duty.is_some() {
                    // Answered with the others that are ready (`answer_attests`).
                    self.attest_queue.push((request, channel));
                } else {
                    self.respond(channel, Response::Error("no witness duty".into()));
                }
            }
            Request::Certificate(cert) => {
                let response = match self.duty.as_mut().map(|d| d.node.handle_certificate(&cert)) {
                    Some(CertificateOutcome::Invalid(e)) => {
                        Response::Error(format!("invalid certificate: {e}"))
                    }
                    Some(CertificateOutcome::Storage(e)) => {
                        Response::Error(format!("storage: {e}"))
                    }
                    Some(_) => {
                        self.note_certificate(&cert);
                        Response::Ack
                    }
                    None => match self.verify_cert(&cert) {
                        Ok(()) => {
                            self.note_certificate(&cert);
                            Response::Ack
                        }
                        Err(e) => Response::Error(format!("invalid certificate: {e}")),
                    },
                };
                self.respond(channel, response);
            }
            Request::Inbox(account) => {
                if from_witness || !self.is_station() {
                    // A fellow station asks for this node's own view (no fan-out loops).
                    let certs = self.local_inbox(&account);
                    self.respond(channel, Response::Inbox(certs));
                } else {
                    self.start_gather(GatherKind::Inbox, account, GatherOrigin::Remote(channel));
                }
            }
            Request::Head(account) => {
                if from_witness || !self.is_station() {
                    let head = self.local_head(&account).map(Box::new);
                    self.respond(channel, Response::Head(head));
                } else {
                    self.start_gather(GatherKind::Head, account, GatherOrigin::Remote(channel));
                }
            }
            Request::Broadcast(bytes) => {
                let response = self.on_broadcast(peer, &bytes);
                self.respond(channel, response);
            }
            Request::HandoverRequest { account, epoch } => {
                let response = match self.duty.as_mut() {
                    Some(duty) => match duty.node.handle_handover_request(&account, epoch) {
                        Ok(h) => Response::Handover(Box::new(h)),
                        Err(e) => Response::Error(e.to_string()),
                    },
                    None => Response::Error("no witness duty".into()),
                };
                self.respond(channel, response);
            }
            Request::Handover(h) => {
                let response = match self.duty.as_mut() {
                    Some(duty) => match duty.node.handle_handover(&h) {
                        crate::poc::HandoverOutcome::Rejected(e) => Response::Error(e.to_string()),
                        _ => Response::Ack,
                    },
                    None => Response::Error("no witness duty".into()),
                };
                self.respond(channel, response);
            }
            Request::RegisterPush(registration) => {
                let response = self.register_push(*registration);
                self.respond(channel, response);
            }
            Request::WatchPayments(registration) => {
                let response = self.watch_payments(peer, *registration);
                self.respond(channel, response);
            }
            Request::Records(records) => {
                self.learn_records(records);
                let mine: Vec<PeerRecord> = self.records.values().cloned().collect();
                self.respond(channel, Response::Records(mine));
                self.send_records(peer);
            }
        }
    }

    // ---- outbound answers ---------------------------------------------------------------

    fn on_response(&mut self, peer: PeerId, id: OutboundRequestId, response: Response) {
        let Some(pending) = self.outbound.remove(&id) else {
            return;
        };
        match pending {
            Pending::Attest { collection, member } => {
                let answer = match response {
                    Response::Answer(a) => a,
                    other => MemberAnswer::Unavailable(format!("unexpected answer {other:?}")),
                };
                if let MemberAnswer::NeedHandover { epoch } = answer {
                    let account = self
                        .collections
                        .get(&collection)
                        .map(|c| c.collector.request().block.body.account);
                    if let Some(account) = account {
                        self.fetch_handovers(account, epoch, member);
                    }
                }
                if let MemberAnswer::AttestedBatch(att) = answer {
                    // Checked through the station's root cache: one Falcon verification
                    // per (member, root), however many blocks the batch held.
                    let steps = match self.collections.get_mut(&collection) {
                        Some(c) => c
                            .collector
                            .on_batch_attestation(member, *att, &mut self.roots),
                        None => return,
                    };
                    self.run_steps(collection, steps);
                    return;
                }
                let steps = match self.collections.get_mut(&collection) {
                    Some(c) => c.collector.on_answer(member, answer),
                    None => return,
                };
                self.run_steps(collection, steps);
            }
            Pending::CatchUp { collection, member } => {
                let Some(c) = self.collections.get_mut(&collection) else {
                    return;
                };
                let left = c.catching_up.entry(member).or_insert(1);
                *left = left.saturating_sub(1);
                if *left == 0 {
                    c.catching_up.remove(&member);
                    self.run_steps(collection, vec![CollectorStep::Ask(vec![member])]);
                }
            }
            Pending::HandoverFetch { target } => match response {
                Response::Handover(h) => self.forward_handover(target, *h),
                other => log::debug!("handover request to {peer}: {other:?}"),
            },
            Pending::Push => {
                if let Response::Error(e) = response {
                    log::warn!("certificate push to {peer} refused: {e}");
                }
            }
            Pending::Records => {
                if let Response::Records(records) = response {
                    self.learn_records(records);
                }
            }
            Pending::Submit {
                request,
                reply,
                tried,
            } => match response {
                Response::Certified(cert) => {
                    let result = match self.verify_cert(&cert) {
                        Ok(()) => Ok(*cert),
                        Err(e) => Err(NetError::Peer(format!(
                            "station {peer} returned an invalid certificate: {e}"
                        ))),
                    };
                    let _ = reply.send(result);
                }
                Response::Refused(reason) => {
                    let _ = reply.send(Err(NetError::Refused(reason)));
                }
                other => {
                    log::warn!("station {peer} could not take the block: {other:?}");
                    self.send_submit(request, reply, tried);
                }
            },
            Pending::PhoneQuery {
                request,
                reply,
                tried,
            } => match (response, reply) {
                (Response::Inbox(certs), PhoneReply::Inbox(reply)) => {
                    let verified = certs
                        .into_iter()
                        .filter(|c| self.verify_cert(c).is_ok())
                        .collect();
                    let _ = reply.send(Ok(verified));
                }
                (Response::Head(head), PhoneReply::Head(reply)) => {
                    let head = head.filter(|c| self.verify_cert(c).is_ok()).map(|c| *c);
                    let _ = reply.send(Ok(head));
                }
                (Response::Ack, PhoneReply::Ack(reply)) => {
                    let _ = reply.send(Ok(()));
                }
                (other, reply) => {
                    log::warn!("station {peer} could not answer: {other:?}");
                    self.send_phone_query(request, reply, tried);
                }
            },
            Pending::Gather { gather } => {
                let certs = match response {
                    Response::Inbox(certs) => certs,
                    Response::Head(head) => head.map(|c| vec![*c]).unwrap_or_default(),
                    _ => Vec::new(),
                };
                self.on_gather_answer(gather, certs);
            }
        }
    }

    fn on_outbound_failure(
        &mut self,
        peer: PeerId,
        id: OutboundRequestId,
        error: &request_response::OutboundFailure,
    ) {
        use request_response::OutboundFailure;
        let Some(pending) = self.outbound.remove(&id) else {
            return;
        };
        log::debug!("request to {peer} failed: {error}");
        let timed_out = matches!(error, OutboundFailure::Timeout);
        // The connection that carried the request closed under it; the peer may still
        // be connected over another one (a station keeps a phone's newest connection).
        let connection_lost = matches!(
            error,
            OutboundFailure::ConnectionClosed | OutboundFailure::Io(_)
        );
        if timed_out && self.home.contains(&peer) && self.swarm.is_connected(&peer) {
            // A home station that does not answer is treated as gone: its connections
            // (and the reservation riding on them) are closed and it is redialled later.
            // A closed connection is not a silent station: its other connections stay.
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let again = |tried: &mut Tried, connected: bool| {
            if connection_lost && connected && tried.allow_again(peer) {
                log::debug!("asking {peer} again over its other connection");
            }
        };
        let connected = self.swarm.is_connected(&peer);
        match pending {
            Pending::Attest { .. }
            | Pending::Push
            | Pending::Records
            | Pending::HandoverFetch { .. } => {
                // Silent members are asked again on the next retry tick.
            }
            Pending::CatchUp { collection, member } => {
                if let Some(c) = self.collections.get_mut(&collection) {
                    c.catching_up.remove(&member);
                }
            }
            Pending::Submit {
                request,
                reply,
                mut tried,
            } => {
                again(&mut tried, connected);
                self.send_submit(request, reply, tried)
            }
            Pending::PhoneQuery {
                request,
                reply,
                mut tried,
            } => {
                again(&mut tried, connected);
                self.send_phone_query(request, reply, tried)
            }
            Pending::Gather { gather } => self.on_gather_answer(gather, Vec::new()),
        }
    }

    // ---- timers ---------------------------------------------------------------------------

    fn on_tick(&mut self) {
        let now_ms = self.now_ms();
        if let Some(b) = self.broadcaster.as_mut() {
            let out = b.tick(now_ms);
            self.send_broadcast(out);
        }
        let now = Instant::now();
        if self.change_due.is_some_and(|due| now >= due) {
            self.apply_network_change();
        }
        let due: Vec<PeerId> = self
            .redial_at
            .iter()
            .filter(|(_, at)| now >= **at)
            .map(|(p, _)| *p)
            .collect();
        for station in due {
            self.redial_at.remove(&station);
            if !self.held.contains(&station) {
                continue;
            }
            if self.swarm.is_connected(&station) {
                self.reserve_on(station);
            } else {
                self.dial_home(station, PeerCondition::DisconnectedAndNotDialing);
            }
        }
        let timers = self.config.timers.clone();
        let ids: Vec<u64> = self.collections.keys().copied().collect();
        for id in ids {
            let Some(c) = self.collections.get_mut(&id) else {
                continue;
            };
            if now.duration_since(c.started) > timers.collect_deadline {
                let q = self.epoch.quorum();
                let reason = format!(
                    "timed out after {:?} with {} of {q} attestations",
                    timers.collect_deadline,
                    c.collector.attestation_count()
                );
                if let Some(c) = self.collections.remove(&id) {
                    self.metrics.refused += 1;
                    match c.origin {
                        Origin::Local(reply) => {
                            let _ = reply.send(Err(NetError::Timeout(reason)));
                        }
                        Origin::Remote(ch) => self.respond(ch, Response::Refused(reason)),
                    }
                }
            } else if now.duration_since(c.last_ask) > timers.collect_retry
                && c.catching_up.is_empty()
            {
                let steps = c.collector.retry();
                c.last_ask = now;
                self.run_steps(id, steps);
            }
        }
        let expired: Vec<u64> = self
            .gathers
            .iter()
            .filter(|(_, g)| now > g.deadline)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.finish_gather(id);
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn send_broadcast(&mut self, out: Vec<crate::broadcast::Outgoing>) {
        for o in out {
            let Some(peer) = self.overlay_peers.get(&o.to).copied() else {
                continue;
            };
            self.metrics.broadcast_messages_out += 1;
            let rid = self.send(&peer, Request::Broadcast(o.message.encode()));
            self.outbound.insert(rid, Pending::Push);
        }
    }

    /// Originates a broadcast of `payload` if this node is an overlay member.
    fn originate(&mut self, payload: crate::broadcast::Payload) {
        let now = self.now_ms();
        let Some(b) = self.broadcaster.as_mut() else {
            return;
        };
        match b.originate(payload, now) {
            Ok(out) => self.send_broadcast(out),
            Err(e) => log::debug!("not broadcast: {e}"),
        }
    }

    fn on_broadcast(&mut self, peer: PeerId, bytes: &[u8]) -> Response {
        let now = self.now_ms();
        let Some(b) = self.broadcaster.as_mut() else {
            return Response::Error("not a member of the broadcast overlay".into());
        };
        let message = match crate::broadcast::Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => return Response::Error(format!("bad broadcast message: {e}")),
        };
        if matches!(message, crate::broadcast::Message::Broadcast { .. }) {
            self.metrics.broadcast_copies_in += 1;
        }
        let (delivered, out) = b.handle(overlay_id(&peer), message, now);
        self.send_broadcast(out);
        if let Some(d) = delivered {
            self.metrics.broadcast_delivered += 1;
            let kind = match &d.payload {
                crate::broadcast::Payload::Certificate(cert) => {
                    if self.verify_cert(cert).is_ok() {
                        self.note_certificate(cert);
                        if let Some(duty) = self.duty.as_mut() {
                            duty.node.handle_certificate(cert);
                        }
                    }
                    "certificate"
                }
                crate::broadcast::Payload::Equivocation(_) => "equivocation",
                crate::broadcast::Payload::Revocation(_) => "revocation",
                crate::broadcast::Payload::Opaque(_) => "opaque",
            };
            self.emit(NetEvent::BroadcastDelivered { id: d.id, kind });
        }
        Response::Ack
    }

    fn emit(&self, event: NetEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    fn jitter(&self) -> Duration {
        use rand_core::RngCore;
        let max = self.config.reconnect_jitter.as_millis() as u64;
        if max == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand_core::OsRng.next_u64() % (max + 1))
    }

    /// Dials a home station on every address it is known by (QUIC and TCP race; the
    /// first to finish is kept), even if an old connection is still closing.
    /// Dials a home station over all its addresses. `condition` is
    /// `DisconnectedAndNotDialing` for a redial (one connection per station: a station
    /// keeps only a phone's newest connection, so a second parallel dial would cost the
    /// request riding on the first), and `Always` after a network change, when the old
    /// connections are still closing.
    fn dial_home(&mut self, station: PeerId, condition: PeerCondition) {
        let Some(addrs) = self.home_addrs.get(&station).cloned() else {
            return;
        };
        let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(station)
            .addresses(addrs)
            .condition(condition)
            .build();
        match self.swarm.dial(opts) {
            Ok(()) => {}
            Err(libp2p::swarm::DialError::DialPeerConditionFalse(_)) => {
                log::debug!("home station {station}: already connected or being dialled");
            }
            Err(e) => log::warn!("redial home station {station}: {e}"),
        }
    }

    /// A held home station was lost (closed, or a dial failed). With every station held
    /// it is redialled after `wait`; otherwise the next home station takes its place
    /// (at once the first time since a held station last connected, after `wait` again
    /// and again) and it is dialled only when its turn comes back.
    fn lost_held(&mut self, station: PeerId, wait: Duration) {
        if self.held.len() >= self.home.len() {
            let at = Instant::now() + wait;
            self.redial_at.entry(station).or_insert(at);
            return;
        }
        let Some(pos) = self.home.iter().position(|p| *p == station) else {
            return;
        };
        let Some(next) = (1..self.home.len())
            .map(|i| self.home[(pos + i) % self.home.len()])
            .find(|p| !self.held.contains(p))
        else {
            return;
        };
        self.held.retain(|p| *p != station);
        self.held.push(next);
        self.redial_at.remove(&station);
        self.swarm
            .behaviour_mut()
            .hold
            .set_held(self.held.iter().copied().collect());
        log::info!("home station {station} lost; failing over to {next}");
        if self.swarm.is_connected(&next) {
            self.failovers = 0;
            self.reserve_on(next);
            return;
        }
        let at = if self.failovers == 0 {
            Instant::now()
        } else {
            Instant::now() + wait
        };
        self.failovers = self.failovers.saturating_add(1);
        self.redial_at.insert(next, at);
    }

    /// A phone that may serve kad (Full) does while a direct external address is
    /// confirmed; a relayed one never counts.
    fn update_kad_mode(&mut self) {
        if self.is_station() || !self.config.kad_server_if_reachable {
            return;
        }
        let direct = self
            .swarm
            .external_addresses()
            .any(|a| !a.iter().any(|p| p == Protocol::P2pCircuit));
        let mode = if direct {
            libp2p::kad::Mode::Server
        } else {
            libp2p::kad::Mode::Client
        };
        if self.swarm.behaviour().kad.mode() != mode {
            log::info!("kad mode: {mode:?}");
            self.swarm.behaviour_mut().kad.set_mode(Some(mode));
        }
    }

    /// Asks `station` for a relay reservation by listening on its circuit address.
    fn reserve_on(&mut self, station: PeerId) {
        if !self.config.reserve_relays || self.relay_listeners.values().any(|p| *p == station) {
            return;
        }
        let Some(addr) = self
            .home_addrs
            .get(&station)
            .and_then(|a| a.first())
            .cloned()
        else {
            return;
        };
        match self.swarm.listen_on(addr.with(Protocol::P2pCircuit)) {
            Ok(id) => {
                self.relay_listeners.insert(id, station);
            }
            Err(e) => log::warn!("cannot ask {station} for a reservation: {e}"),
        }
    }

    /// After a network change: reports [`NetEvent::Reachable`] once a home station is
    /// connected again (and a reservation held, if the node keeps them).
    fn check_reachable(&mut self) {
        let Some(started) = self.change_started else {
            return;
        };
        if self.change_due.is_some() {
            return;
        }
        let connected = self.home.iter().any(|p| self.swarm.is_connected(p));
        let reserved = !self.config.reserve_relays || !self.reservations.is_empty();
        if connected && reserved {
            self.change_started = None;
            self.emit(NetEvent::Reachable {
                after: started.elapsed(),
            });
        }
    }

    /// The debounced part of `network_changed()`.
    fn apply_network_change(&mut self) {
        self.change_due = None;
        let stale: Vec<Multiaddr> = self
            .swarm
            .external_addresses()
            .filter(|a| !self.config.external.contains(a))
            .cloned()
            .collect();
        for addr in stale {
            self.swarm.remove_external_address(&addr);
            self.emit(NetEvent::ExternalAddressExpired(addr));
        }
        for id in std::mem::take(&mut self.relay_listeners).into_keys() {
            self.swarm.remove_listener(id);
        }
        for relay in std::mem::take(&mut self.reservations) {
            self.emit(NetEvent::ReservationLost {
                relay,
                reason: "network changed".into(),
            });
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        for id in std::mem::take(&mut self.listeners) {
            self.swarm.remove_listener(id);
        }
        for addr in self.config.listen.clone() {
            match self.swarm.listen_on(addr.clone()) {
                Ok(id) => self.listeners.push(id),
                Err(e) => log::warn!("re-listen on {addr}: {e}"),
            }
        }
        self.redial_at.clear();
        for station in self.held.clone() {
            self.dial_home(station, PeerCondition::Always);
        }
        if self.is_station() {
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        self.emit(NetEvent::NetworkChangeApplied);
    }

    fn on_relay_server(&mut self, event: libp2p::relay::Event) {
        use libp2p::relay::Event;
        let m = &mut self.metrics;
        match event {
            Event::ReservationReqAccepted { renewed, .. } => {
                m.reservations_accepted += 1;
                if !renewed {
                    m.reservations += 1;
                }
            }
            Event::ReservationReqDenied { .. } => m.reservations_denied += 1,
            Event::ReservationClosed { .. } | Event::ReservationTimedOut { .. } => {
                m.reservations = m.reservations.saturating_sub(1);
            }
            Event::CircuitReqAccepted { .. } => {
                m.circuits_accepted += 1;
                m.circuits += 1;
            }
            Event::CircuitReqDenied { .. } => m.circuits_denied += 1,
            Event::CircuitClosed { .. } => m.circuits = m.circuits.saturating_sub(1),
            _ => {}
        }
    }

    // ---- swarm events ---------------------------------------------------------------------

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                log::info!("{} listening on {address}", self.swarm.local_peer_id());
                self.refresh_own_record();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                let conns = self.connections.entry(peer_id).or_default();
                if self.config.station.is_some()
                    && endpoint.is_listener()
                    && !self.witness_of.contains_key(&peer_id)
                {
                    // A phone that dials again (new network, app restarted) leaves dead
                    // connections behind until their pings fail; the newest one wins, so
                    // they never fill the per-peer limit or hold its reservation.
                    for old in conns.drain(..) {
                        self.swarm.close_connection(old);
                    }
                }
                let conns = self.connections.entry(peer_id).or_default();
                conns.push(connection_id);
                log::debug!("connected to {peer_id}");
                self.metrics.connections_opened += 1;
                let address = endpoint.get_remote_address().clone();
                let relayed = endpoint.is_relayed();
                self.emit(NetEvent::Connected {
                    peer: peer_id,
                    address,
                    relayed,
                });
                self.send_records(peer_id);
                if let Some(b) = self.broadcaster.as_mut() {
                    b.table_mut().set_responsive(&overlay_id(&peer_id), true);
                }
                if self.home.contains(&peer_id) {
                    self.redial_at.remove(&peer_id);
                    if self.held.contains(&peer_id) {
                        self.failovers = 0;
                        self.reserve_on(peer_id);
                    }
                    self.check_reachable();
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                connection_id,
                ..
            } => {
                if let Some(conns) = self.connections.get_mut(&peer_id) {
                    conns.retain(|c| *c != connection_id);
                    if conns.is_empty() {
                        self.connections.remove(&peer_id);
                    }
                }
                if num_established == 0 {
                    self.records_sent.remove(&peer_id);
                    if let Some(b) = self.broadcaster.as_mut() {
                        b.table_mut().set_responsive(&overlay_id(&peer_id), false);
                    }
                    self.emit(NetEvent::Disconnected { peer: peer_id });
                    if self.held.contains(&peer_id) && self.change_due.is_none() {
                        self.lost_held(peer_id, self.jitter());
                    }
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(relay) = self.relay_listeners.remove(&listener_id) {
                    self.reservations.remove(&relay);
                    let reason = match reason {
                        Ok(()) => "closed".to_string(),
                        Err(e) => e.to_string(),
                    };
                    log::info!("reservation on {relay} ended: {reason}");
                    self.emit(NetEvent::ReservationLost { relay, reason });
                    // Asked again after a short pause (or when the station is back),
                    // doubling while the station keeps refusing: a misconfigured station
                    // must not keep a phone's radio busy.
                    let failures = self.reservation_failures.entry(relay).or_insert(0);
                    let backoff = Duration::from_secs(1u64 << (*failures).min(8));
                    *failures = failures.saturating_add(1);
                    let at = Instant::now() + backoff.max(self.jitter() / 10);
                    if self.swarm.is_connected(&relay) {
                        self.redial_at.insert(relay, at);
                    } else {
                        // The connection went too: keep the (jittered) redial it set.
                        self.redial_at.entry(relay).or_insert(at);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } if self.home.contains(&peer) && !self.swarm.is_connected(&peer) => {
                // A home station that cannot be reached now is tried again later (after
                // at least a second, with jitter), until it is back.
                log::debug!("home station {peer} unreachable: {error}");
                if self.change_due.is_none() && self.held.contains(&peer) {
                    let wait = self.jitter().max(Duration::from_secs(1));
                    self.lost_held(peer, wait);
                }
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                self.update_kad_mode();
                self.emit(NetEvent::ExternalAddressConfirmed(address));
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                self.update_kad_mode();
                self.emit(NetEvent::ExternalAddressExpired(address));
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                libp2p::relay::client::Event::ReservationReqAccepted {
                    relay_peer_id,
                    renewal,
                    ..
                },
            )) => {
                self.reservations.insert(relay_peer_id);
                self.reservation_failures.remove(&relay_peer_id);
                self.emit(NetEvent::ReservationAccepted {
                    relay: relay_peer_id,
                    renewal,
                });
                self.check_reachable();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(libp2p::ping::Event {
                peer,
                connection,
                result: Err(failure),
            })) => {
                // libp2p no longer closes a connection whose pings fail; a phone must not
                // keep trusting a dead home station (killed, or behind a dead NAT
                // mapping) until the transport's idle timeout.
                log::info!("ping to {peer} failed ({failure}); closing that connection");
                self.swarm.close_connection(connection);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(libp2p::dcutr::Event {
                remote_peer_id,
                result,
            })) => match result {
                Ok(_) => self.emit(NetEvent::HolePunched {
                    peer: remote_peer_id,
                }),
                Err(e) => self.emit(NetEvent::HolePunchFailed {
                    peer: remote_peer_id,
                    error: e.to_string(),
                }),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Poc(event)) => match event {
                request_response::Event::Message { peer, message, .. } => match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => self.on_request(peer, request, channel),
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => self.on_response(peer, request_id, response),
                },
                request_response::Event::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                } => self.on_outbound_failure(peer, request_id, &error),
                request_response::Event::InboundFailure { peer, error, .. } => {
                    log::debug!("inbound request from {peer} failed: {error}");
                }
                request_response::Event::ResponseSent { .. } => {}
            },
            SwarmEvent::Behaviour(BehaviourEvent::RelayServer(event)) => {
                self.on_relay_server(event)
            }
            other => log::trace!("swarm event: {other:?}"),
        }
    }
}

/// Whether a registration is to be applied, or answered at once.
enum Admission {
    /// Apply it.
    Apply,
    /// Answer this (a refusal, or `Ack` for a replay of what is held).
    Answer(Response),
}

/// A push registration's signature and clock; `Err` is why it is refused.
fn check_push_registration(reg: &super::push::PushRegistration) -> Result<(), String> {
    if !reg.verify() {
        return Err("push registration not signed by its account".into());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    if reg.timestamp_ms > now.saturating_add(PUSH_CLOCK_SKEW_MS) {
        return Err("push registration from the future: check the clock".into());
    }
    Ok(())
}

/// Whether a registration made at `time` replaces what is held (`held`: its time and
/// whether it says the same): `Ok(true)` it does, `Ok(false)` a replay of what is held
/// (harmless, acknowledged), `Err` an older change (refused, so the sender learns that it
/// did not take effect).
fn replaces(held: Option<(u64, bool)>, time: u64) -> Result<bool, String> {
    match held {
        Some((held_time, same)) if held_time >= time => {
            if same {
                Ok(false)
            } else {
                Err("a newer push registration is held".into())
            }
        }
        _ => Ok(true),
    }
}

/// Full maps of registrations make room for `account`, in constant time (a phone registers
/// again each time it goes to the background, so an evicted one comes back).
fn make_room<V>(map: &mut HashMap<AccountId, V>, account: &AccountId) {
    if map.len() >= MAX_PUSH_TOKENS && !map.contains_key(account) {
        let evicted = map.keys().next().copied();
        if let Some(evicted) = evicted {
            map.remove(&evicted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_station_that_lost_a_connection_is_asked_again_once_per_request() {
        let a = PeerId::random();
        let b = PeerId::random();
        let mut tried = Tried::default();
        tried.push(a);
        tried.push(b);
        assert!(tried.allow_again(a));
        assert!(!tried.contains(&a) && tried.contains(&b));
        assert_eq!(tried.len(), 1);
        tried.push(a);
        // A second lost connection to the same station moves the request on.
        assert!(!tried.allow_again(a));
        assert!(tried.contains(&a));
        assert_eq!(tried.len(), 2);
    }
}
