//! Holding a connection open on purpose (DESIGN.md §7: an Active phone keeps one
//! connection to a home station).
//!
//! libp2p closes a connection once no behaviour needs it for the idle timeout, and ping
//! does not count (its stream is ignored for keep-alive). A phone that wants its home
//! station connection held opens one `/zeropole/hold/1` stream on it and keeps it; the
//! station accepts it and keeps it until the phone drops it. An open stream keeps the
//! connection alive on *both* sides, so neither swarm closes it for idleness, and the
//! held stream carries no bytes: the ping at the profile's interval is the only traffic.
//! Connections the phone does not hold close after the idle timeout as usual.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{AsyncReadExt, FutureExt};
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::core::Endpoint;
use libp2p::swarm::handler::{ConnectionEvent, FullyNegotiatedInbound, FullyNegotiatedOutbound};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, NotifyHandler, Stream, SubstreamProtocol, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, StreamProtocol};

/// The hold protocol.
pub const HOLD_PROTOCOL: StreamProtocol = StreamProtocol::new("/zeropole/hold/1");
/// Outbound hold streams a connection retries after the remote closed or refused them.
const MAX_OPEN_ATTEMPTS: u8 = 3;
/// Inbound hold streams kept per connection (a newer one replaces the oldest).
const MAX_INBOUND: usize = 2;

/// The behaviour: holds connections to the peers in its set, accepts holds from anyone.
#[derive(Default)]
pub struct Hold {
    held: HashSet<PeerId>,
    connections: HashMap<PeerId, Vec<ConnectionId>>,
    pending: VecDeque<ToSwarm<Infallible, bool>>,
}

impl Hold {
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
        HoldHandler::new(self.held.contains(&peer))
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
        _peer: PeerId,
        _id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.pending.pop_front() {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }
}

/// Resolves when the remote closes (or writes to) a held stream.
type Watch = BoxFuture<'static, ()>;

fn watch(mut stream: Stream) -> Watch {
    async move {
        let mut byte = [0u8; 1];
        // EOF, an error or a stray byte: the hold is over either way.
        let _ = stream.read(&mut byte).await;
    }
    .boxed()
}

/// One connection's side of the hold protocol.
pub struct HoldHandler {
    want: bool,
    requested: bool,
    attempts: u8,
    outbound: Option<Watch>,
    inbound: VecDeque<Watch>,
}

impl HoldHandler {
    fn new(want: bool) -> Self {
        HoldHandler {
            want,
            requested: false,
            attempts: 0,
            outbound: None,
            inbound: VecDeque::new(),
        }
    }
}

impl ConnectionHandler for HoldHandler {
    type FromBehaviour = bool;
    type ToBehaviour = Infallible;
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
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, (), Infallible>> {
        self.inbound.retain_mut(|w| w.poll_unpin(cx).is_pending());
        if let Some(w) = self.outbound.as_mut() {
            if w.poll_unpin(cx).is_ready() {
                self.outbound = None;
            }
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
                self.inbound.push_back(watch(stream));
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: stream,
                ..
            }) => {
                self.requested = false;
                if self.want {
                    self.outbound = Some(watch(stream));
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
