//! Holding a connection open on purpose, and knowing when it died (DESIGN.md §7: an
//! Active phone keeps one connection to a home station, with a keep-alive every 25–30 s).
//!
//! libp2p closes a connection once no behaviour needs it for the idle timeout, and ping
//! does not count (its stream is ignored for keep-alive). A phone that wants its home
//! station connection held opens one `/zeropole/hold/2` stream on it and keeps it; the
//! station accepts it and keeps it until the phone drops it. An open stream keeps the
//! connection alive on *both* sides, so neither swarm closes it for idleness.
//!
//! The held stream is also the phone's heartbeat: every `interval` the phone writes one
//! byte and the station echoes it. An echo that does not come back within `timeout` means
//! the station (or the path to it) is gone, and the connection is closed at once, so the
//! phone fails over within `interval + timeout` instead of waiting for libp2p ping (whose
//! first failure is silent: about 80 s at a 25 s interval) or QUIC's idle timeout (90 s).
//! Phones therefore ping rarely ([`PHONE_PING_INTERVAL`]): the heartbeat is their one
//! periodic exchange. Connections the phone does not hold close after the idle timeout as
//! usual.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::core::Endpoint;
use libp2p::swarm::handler::{ConnectionEvent, FullyNegotiatedInbound, FullyNegotiatedOutbound};
use libp2p::swarm::{
    CloseConnection, ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId,
    FromSwarm, NetworkBehaviour, NotifyHandler, Stream, SubstreamProtocol, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, StreamProtocol};

/// The hold protocol (version 2: the held stream carries the heartbeat).
pub const HOLD_PROTOCOL: StreamProtocol = StreamProtocol::new("/zeropole/hold/2");
/// How often phones run libp2p ping: rarely, since the heartbeat watches held connections.
pub const PHONE_PING_INTERVAL: Duration = Duration::from_secs(3600);
/// Longest wait for a heartbeat's echo.
pub const MAX_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// Outbound hold streams a connection retries after the remote closed or refused them.
const MAX_OPEN_ATTEMPTS: u8 = 3;
/// Inbound hold streams kept per connection (a newer one replaces the oldest).
const MAX_INBOUND: usize = 2;

/// The heartbeat on held connections: one byte every `interval`, echoed within `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Time between two heartbeats (the profile's keep-alive).
    pub interval: Duration,
    /// Longest wait for the echo before the connection counts as dead.
    pub timeout: Duration,
}

impl Heartbeat {
    /// A heartbeat every `interval`, waiting at most half of it (and at most
    /// [`MAX_HEARTBEAT_TIMEOUT`]) for the echo.
    pub fn every(interval: Duration) -> Self {
        Heartbeat {
            interval,
            timeout: (interval / 2).min(MAX_HEARTBEAT_TIMEOUT),
        }
    }
}

/// The behaviour: holds connections to the peers in its set, accepts holds from anyone.
#[derive(Default)]
pub struct Hold {
    held: HashSet<PeerId>,
    heartbeat: Option<Heartbeat>,
    connections: HashMap<PeerId, Vec<ConnectionId>>,
    pending: VecDeque<ToSwarm<Infallible, bool>>,
}

impl Hold {
    /// Holds no connection yet; held connections get `heartbeat` (phones), or none
    /// (stations: they only answer their phones' heartbeats).
    pub fn new(heartbeat: Option<Heartbeat>) -> Self {
        Hold {
            heartbeat,
            ..Hold::default()
        }
    }

    /// Holds the connections to exactly `peers` from now on (releases the others).
    pub fn set_held(&mut self, peers: HashSet<PeerId>) {
        let changed: Vec<(PeerId, bool)> = self
            .held
            .symmetric_difference(&peers)
            .map(|p| (*p, peers.contains(p)))
            .collect();
        self.held = peers;
        for (peer, hold) in changed {
            for id in self.connections.get(&peer).into_iter().flatten() {
                self.pending.push_back(ToSwarm::NotifyHandler {
                    peer_id: peer,
                    handler: NotifyHandler::One(*id),
                    event: hold,
                });
            }
        }
    }

    /// The peers whose connections are held.
    pub fn held(&self) -> &HashSet<PeerId> {
        &self.held
    }

    fn handler(&mut self, peer: PeerId, id: ConnectionId) -> HoldHandler {
        self.connections.entry(peer).or_default().push(id);
        HoldHandler::new(self.held.contains(&peer), self.heartbeat)
    }
}

impl NetworkBehaviour for Hold {
    type ConnectionHandler = HoldHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer, id))
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer, id))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ConnectionClosed(closed) = event {
            if let Some(ids) = self.connections.get_mut(&closed.peer_id) {
                ids.retain(|c| *c != closed.connection_id);
                if ids.is_empty() {
                    self.connections.remove(&closed.peer_id);
                }
            }
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            HoldEvent::Unanswered => {
                log::info!("heartbeat to {peer} unanswered; closing that connection");
                self.pending.push_back(ToSwarm::CloseConnection {
                    peer_id: peer,
                    connection: CloseConnection::One(id),
                });
            }
        }
    }

    fn poll(&mut self, _cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.pending.pop_front() {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }
}

/// What a connection's hold handler reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEvent {
    /// A heartbeat's echo did not come back in time: the connection is dead.
    Unanswered,
}

/// The accepting side of a held stream: echoes every heartbeat byte; resolves when the
/// remote closes the stream (or it fails).
fn echo(mut stream: Stream) -> BoxFuture<'static, ()> {
    async move {
        let mut byte = [0u8; 1];
        loop {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if stream.write_all(&byte).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    .boxed()
}

/// The holding side without heartbeat: resolves when the remote closes (or writes to)
/// the stream.
fn watch(mut stream: Stream) -> BoxFuture<'static, ()> {
    async move {
        let mut byte = [0u8; 1];
        let _ = stream.read(&mut byte).await;
    }
    .boxed()
}

/// How one heartbeat ended.
enum Beat {
    /// Echoed: the stream, for the next one.
    Answered(Stream),
    /// The remote closed the stream (it let go of the hold, or restarted it).
    Closed,
    /// No echo in time.
    Unanswered,
}

/// Waits `interval`, writes one byte and waits at most `timeout` for its echo.
fn beat(mut stream: Stream, heartbeat: Heartbeat) -> BoxFuture<'static, Beat> {
    async move {
        tokio::time::sleep(heartbeat.interval).await;
        let mut byte = [1u8; 1];
        let exchange = async {
            stream.write_all(&byte).await?;
            stream.flush().await?;
            stream.read(&mut byte).await
        };
        match tokio::time::timeout(heartbeat.timeout, exchange).await {
            Ok(Ok(1)) => Beat::Answered(stream),
            // The stream ended or was reset: the hold is over, not the connection (a
            // connection that is gone takes its handler with it).
            Ok(Ok(_)) | Ok(Err(_)) => Beat::Closed,
            // Silence: the connection is dead (a dead QUIC path buffers the write and
            // never answers).
            Err(_) => Beat::Unanswered,
        }
    }
    .boxed()
}

/// The outbound (holding) side of one connection.
enum Outbound {
    /// Held without heartbeat: resolves when the remote lets go.
    Watching(BoxFuture<'static, ()>),
    /// Held with heartbeat: the next beat in progress.
    Beating(BoxFuture<'static, Beat>),
}

/// One connection's side of the hold protocol.
pub struct HoldHandler {
    want: bool,
    heartbeat: Option<Heartbeat>,
    requested: bool,
    attempts: u8,
    outbound: Option<Outbound>,
    inbound: VecDeque<BoxFuture<'static, ()>>,
    events: VecDeque<HoldEvent>,
}

impl HoldHandler {
    fn new(want: bool, heartbeat: Option<Heartbeat>) -> Self {
        HoldHandler {
            want,
            heartbeat,
            requested: false,
            attempts: 0,
            outbound: None,
            inbound: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    fn hold(&self, stream: Stream) -> Outbound {
        match self.heartbeat {
            Some(heartbeat) => Outbound::Beating(beat(stream, heartbeat)),
            None => Outbound::Watching(watch(stream)),
        }
    }

    /// Drives the held stream: the next heartbeat, or the end of the hold.
    fn poll_outbound(&mut self, cx: &mut Context<'_>) {
        loop {
            match self.outbound.as_mut() {
                None => return,
                Some(Outbound::Watching(w)) => {
                    if w.poll_unpin(cx).is_ready() {
                        self.outbound = None;
                    }
                    return;
                }
                Some(Outbound::Beating(b)) => match b.poll_unpin(cx) {
                    Poll::Pending => return,
                    Poll::Ready(Beat::Answered(stream)) => {
                        self.attempts = 0;
                        self.outbound = Some(self.hold(stream));
                    }
                    Poll::Ready(Beat::Closed) => {
                        self.outbound = None;
                        return;
                    }
                    Poll::Ready(Beat::Unanswered) => {
                        self.outbound = None;
                        // No more holding on a dead connection: it is being closed.
                        self.attempts = MAX_OPEN_ATTEMPTS;
                        self.events.push_back(HoldEvent::Unanswered);
                        return;
                    }
                },
            }
        }
    }
}

impl ConnectionHandler for HoldHandler {
    type FromBehaviour = bool;
    type ToBehaviour = HoldEvent;
    type InboundProtocol = ReadyUpgrade<StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol> {
        SubstreamProtocol::new(ReadyUpgrade::new(HOLD_PROTOCOL), ())
    }

    fn on_behaviour_event(&mut self, hold: bool) {
        self.want = hold;
        if hold {
            self.attempts = 0;
        } else {
            // Dropping the stream releases the connection on both sides.
            self.outbound = None;
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, (), HoldEvent>> {
        self.inbound.retain_mut(|w| w.poll_unpin(cx).is_pending());
        self.poll_outbound(cx);
        if let Some(event) = self.events.pop_front() {
            return Poll::Ready(ConnectionHandlerEvent::NotifyBehaviour(event));
        }
        if self.want
            && self.outbound.is_none()
            && !self.requested
            && self.attempts < MAX_OPEN_ATTEMPTS
        {
            self.requested = true;
            self.attempts += 1;
            return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                protocol: SubstreamProtocol::new(ReadyUpgrade::new(HOLD_PROTOCOL), ()),
            });
        }
        Poll::Pending
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol>,
    ) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: stream,
                ..
            }) => {
                if self.inbound.len() >= MAX_INBOUND {
                    self.inbound.pop_front();
                }
                self.inbound.push_back(echo(stream));
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: stream,
                ..
            }) => {
                self.requested = false;
                if self.want {
                    self.outbound = Some(self.hold(stream));
                }
            }
            ConnectionEvent::DialUpgradeError(e) => {
                self.requested = false;
                if matches!(
                    e.error,
                    libp2p::swarm::StreamUpgradeError::NegotiationFailed
                ) {
                    // The remote does not speak the protocol: the connection then lives by
                    // the idle timeout, as any other.
                    self.attempts = MAX_OPEN_ATTEMPTS;
                }
                // A timeout or an I/O error: tried again (up to the attempts left).
            }
            _ => {}
        }
    }
}
