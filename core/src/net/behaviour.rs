//! The composed libp2p behaviour of a node.

use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    autonat, connection_limits, dcutr, identify, identity, kad, ping, relay, request_response,
    StreamProtocol,
};

use super::codec::{ByteCounter, PocCodec, POC_PROTOCOL};
use super::config::NetConfig;
use super::hold::Hold;

/// The kad protocol of ZeroPole networks (not the public IPFS DHT).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/zeropole/kad/1");
/// Identify's protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/zeropole/1";

/// Every behaviour a node runs; stations and phones differ by configuration only.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    pub(crate) autonat_client: Toggle<autonat::v2::client::Behaviour>,
    pub(crate) autonat_server: Toggle<autonat::v2::server::Behaviour>,
    pub(crate) relay_server: Toggle<relay::Behaviour>,
    pub(crate) relay_client: relay::client::Behaviour,
    pub(crate) dcutr: Toggle<dcutr::Behaviour>,
    pub(crate) hold: Hold,
    pub(crate) poc: request_response::Behaviour<PocCodec>,
}

impl Behaviour {
    /// Builds the behaviour for `config`.
    pub fn new(
        key: &identity::Keypair,
        relay_client: relay::client::Behaviour,
        config: &NetConfig,
        bytes: ByteCounter,
    ) -> Self {
        let peer_id = key.public().to_peer_id();
        let timers = &config.timers;
        let station = config.station.as_ref();

        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(station.map_or(64, |s| s.max_connections)))
            .with_max_established_per_peer(Some(4));

        let identify = identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                .with_agent_version(format!("zeropole/{}", env!("CARGO_PKG_VERSION")))
                .with_interval(timers.identify_interval)
                .with_push_listen_addr_updates(station.is_some()),
        );
        // Phones watch their held connections with the hold heartbeat at the profile's
        // keep-alive interval, so libp2p ping (whose first failure is silent) runs rarely
        // there; stations ping at their own (long) interval.
        let (ping_interval, heartbeat) = match station {
            Some(_) => (timers.ping_interval, None),
            None => (
                super::hold::PHONE_PING_INTERVAL.max(timers.ping_interval),
                Some(super::hold::Heartbeat::every(timers.ping_interval)),
            ),
        };
        let ping = ping::Behaviour::new(ping::Config::new().with_interval(ping_interval));

        let mut kad_config = kad::Config::new(KAD_PROTOCOL);
        if station.is_none() {
            // Phones keep only the stations they were given; bootstrap only where the
            // profile asks for it (Full), never on cellular.
            kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
        }
        // kad also bootstraps when a peer enters its table: phones add none unless
        // their profile bootstraps (the service adds the home stations then).
        kad_config.set_periodic_bootstrap_interval(config.kad_bootstrap);
        let mut kad =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
        // Pinned: a relayed address confirmed as external must never flip a phone to
        // server mode; only stations (configured, directly reachable) serve.
        kad.set_mode(Some(if station.is_some() {
            kad::Mode::Server
        } else {
            kad::Mode::Client
        }));

        let autonat_client = config.autonat_client.then(|| {
            autonat::v2::client::Behaviour::new(
                rand::make_rng::<rand::rngs::StdRng>(),
                autonat::v2::client::Config::default().with_probe_interval(config.autonat_probe),
            )
        });
        let autonat_server = station.map(|_| autonat::v2::server::Behaviour::default());
        let relay_server = station.map(|s| {
            let limits = &s.relay;
            relay::Behaviour::new(
                peer_id,
                relay::Config {
                    max_reservations: limits.max_reservations,
                    max_reservations_per_peer: limits.max_reservations_per_peer,
                    reservation_duration: limits.reservation_duration,
                    // Carrier NAT puts thousands of phones behind one address: no per-IP
                    // limiter (admission tokens will gate reservations instead).
                    reservation_rate_limiters: Vec::new(),
                    max_circuits: limits.max_circuits,
                    max_circuits_per_peer: limits.max_circuits_per_peer,
                    max_circuit_duration: limits.max_circuit_duration,
                    max_circuit_bytes: limits.max_circuit_bytes,
                    circuit_src_rate_limiters: Vec::new(),
                },
            )
        });
        let poc = request_response::Behaviour::with_codec(
            PocCodec::new(bytes),
            [(POC_PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(timers.request_timeout)
                .with_max_concurrent_streams(1024),
        );
        Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            identify,
            ping,
            kad,
            autonat_client: autonat_client.into(),
            autonat_server: autonat_server.into(),
            relay_server: relay_server.into(),
            relay_client,
            dcutr: config.dcutr.then(|| dcutr::Behaviour::new(peer_id)).into(),
            hold: Hold::new(heartbeat),
            poc,
        }
    }
}
