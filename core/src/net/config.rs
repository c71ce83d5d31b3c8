//! How a node's swarm is configured. Every rust-libp2p timer that matters on a phone is
//! set here deliberately (DESIGN.md §7), not left at its default.

use std::time::Duration;

use libp2p::Multiaddr;

/// Timers of the swarm and its behaviours.
#[derive(Debug, Clone)]
pub struct Timers {
    /// Idle connections are closed after this (QUIC uses the smaller of both sides).
    pub idle_timeout: Duration,
    /// The keep-alive interval: a station's libp2p ping; a phone's hold heartbeat on its
    /// held connections ([`super::hold`]; phones then ping only hourly). QUIC's own
    /// keep-alive follows it.
    pub ping_interval: Duration,
    /// Identify re-run interval.
    pub identify_interval: Duration,
    /// How long one POC request may take.
    pub request_timeout: Duration,
    /// A station asks silent committee members again after this.
    pub collect_retry: Duration,
    /// A station gives up collecting a block after this.
    pub collect_deadline: Duration,
}

impl Timers {
    /// A station's timers: long idle timeout (≥ 90 s, DESIGN.md §6) and rare pings. A
    /// station answers the pings of its phones but does not probe them: every probe (and
    /// every QUIC keep-alive, which follows the ping interval) would wake an idle phone's
    /// radio on top of its own keep-alive, and DESIGN.md §11 allows an Active phone on
    /// cellular one wake-up per 30 s. Dead phones are caught by the QUIC idle timeout
    /// (their keep-alive stops), and by this ping over TCP.
    pub fn station() -> Self {
        Timers {
            idle_timeout: Duration::from_secs(120),
            ping_interval: Duration::from_secs(300),
            identify_interval: Duration::from_secs(300),
            request_timeout: Duration::from_secs(10),
            collect_retry: Duration::from_secs(2),
            collect_deadline: Duration::from_secs(30),
        }
    }

    /// An Active-profile phone's timers: keep-alive 25 s, identify hourly.
    pub fn phone_active() -> Self {
        Timers {
            idle_timeout: Duration::from_secs(90),
            ping_interval: Duration::from_secs(25),
            identify_interval: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(15),
            collect_retry: Duration::from_secs(2),
            collect_deadline: Duration::from_secs(30),
        }
    }
}

/// A relay server's limits, sized for carriers (far above libp2p's defaults of 128
/// reservations, 16 circuits, 2 min and 128 KiB per circuit).
#[derive(Debug, Clone)]
pub struct RelayLimits {
    /// Reservations held at once.
    pub max_reservations: usize,
    /// Reservations per peer.
    pub max_reservations_per_peer: usize,
    /// How long a reservation lasts before it must be renewed.
    pub reservation_duration: Duration,
    /// Circuits relayed at once.
    pub max_circuits: usize,
    /// Circuits per peer.
    pub max_circuits_per_peer: usize,
    /// Longest circuit.
    pub max_circuit_duration: Duration,
    /// Most bytes relayed per circuit.
    pub max_circuit_bytes: u64,
}

impl Default for RelayLimits {
    fn default() -> Self {
        RelayLimits {
            max_reservations: 50_000,
            max_reservations_per_peer: 4,
            reservation_duration: Duration::from_secs(3600),
            max_circuits: 10_000,
            max_circuits_per_peer: 16,
            max_circuit_duration: Duration::from_secs(30 * 60),
            max_circuit_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What makes a node a station.
#[derive(Debug, Clone, Default)]
pub struct StationConfig {
    /// Relay server limits.
    pub relay: RelayLimits,
    /// Most connections at once.
    pub max_connections: u32,
    /// Sends the wake-up pushes of phones that registered a token (DESIGN.md §7); `None`
    /// (the default): registrations are kept but nothing is sent.
    pub push: Option<super::push::Pusher>,
}

/// A node's network configuration.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Addresses to listen on (`/ip4/127.0.0.1/udp/0/quic-v1`, `/ip4/0.0.0.0/tcp/4001`...).
    pub listen: Vec<Multiaddr>,
    /// Addresses this node is reachable at, confirmed by configuration (stations: without
    /// them relay v2 never advertises HOP and kad never serves).
    pub external: Vec<Multiaddr>,
    /// Home stations (phones) or fellow stations: full addresses ending in `/p2p/<id>`.
    pub bootstrap: Vec<Multiaddr>,
    /// `Some` for a station (relay server, kad server, AutoNAT server).
    pub station: Option<StationConfig>,
    /// Run the AutoNAT v2 client (Full-profile phones; never on cellular).
    pub autonat_client: bool,
    /// Hold a relay reservation on every home station (a phone that must be reachable by
    /// other phones: circuits, then DCUtR). Reservations are renewed by libp2p and
    /// re-requested here when one is refused, lost, or its station restarts.
    pub reserve_relays: bool,
    /// A lost home station is redialled after a random delay in `[0, reconnect_jitter]`
    /// (DESIGN.md §6: 0–30 s, so a station restart is not hit by every phone at once).
    pub reconnect_jitter: Duration,
    /// `network_changed()` calls closer together than this are handled once.
    pub network_change_debounce: Duration,
    /// Routing-table broadcast (stations and witnesses, the overlay): redundancy β and
    /// the acknowledgement timeout.
    pub broadcast: crate::broadcast::Config,
    /// Also broadcast every certificate this node collects to the whole overlay (so every
    /// station can serve it); off, certificates go to the two committees only.
    pub broadcast_certificates: bool,
    /// Home stations a phone holds a connection to while idle (DESIGN.md §7: Active 1,
    /// Full 2, Saver 0 — a `sync_once()` then dials the first one for its request). The
    /// others are dialled to fail over when a held one is lost, or for a request.
    /// `usize::MAX`: all of them.
    pub home_connections: usize,
    /// DCUtR hole punching (phones: Wi-Fi profiles only).
    pub dcutr: bool,
    /// kad periodic bootstrap; `None`: never (phones outside Full).
    pub kad_bootstrap: Option<Duration>,
    /// A phone serves kad while AutoNAT confirms a direct (non-relayed) external address
    /// (the Full profile); otherwise phones are pinned to kad client mode.
    pub kad_server_if_reachable: bool,
    /// Period of the AutoNAT v2 client's probes when `autonat_client` is on (libp2p's
    /// default is 5 s).
    pub autonat_probe: Duration,
    /// Timers.
    pub timers: Timers,
}

impl NetConfig {
    /// A station listening on `listen`, reachable at `external`.
    pub fn station(listen: Vec<Multiaddr>, external: Vec<Multiaddr>) -> Self {
        NetConfig {
            listen,
            external,
            bootstrap: Vec::new(),
            station: Some(StationConfig {
                relay: RelayLimits::default(),
                max_connections: 100_000,
                push: None,
            }),
            autonat_client: false,
            reserve_relays: false,
            reconnect_jitter: Duration::from_secs(5),
            network_change_debounce: Duration::from_millis(300),
            broadcast: crate::broadcast::Config::default(),
            broadcast_certificates: false,
            home_connections: usize::MAX,
            dcutr: true,
            kad_bootstrap: Some(Duration::from_secs(5 * 60)),
            kad_server_if_reachable: false,
            autonat_probe: Duration::from_secs(120),
            timers: Timers::station(),
        }
    }

    /// A phone: no listening, a connection to every home station, kad client without
    /// bootstrap. The SDK's `Node` narrows it per mobile-life profile
    /// (`node::ProfileSettings::net_config`: Active holds one home connection).
    pub fn phone(home_stations: Vec<Multiaddr>) -> Self {
        NetConfig {
            listen: Vec::new(),
            external: Vec::new(),
            bootstrap: home_stations,
            station: None,
            autonat_client: false,
            reserve_relays: false,
            reconnect_jitter: Duration::from_secs(30),
            network_change_debounce: Duration::from_millis(300),
            broadcast: crate::broadcast::Config::default(),
            broadcast_certificates: false,
            home_connections: usize::MAX,
            dcutr: true,
            kad_bootstrap: None,
            kad_server_if_reachable: false,
            autonat_probe: Duration::from_secs(120),
            timers: Timers::phone_active(),
        }
    }
}
