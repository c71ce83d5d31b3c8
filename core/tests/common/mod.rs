//! Shared by the loopback network tests: start a devnet's stations as real libp2p nodes on
//! 127.0.0.1, each with its own SQLite witness store in a temporary directory.
#![allow(dead_code)]

use std::time::Duration;

use libp2p::{identity, multiaddr::Protocol, Multiaddr};
use zeropole_core::devnet::Devnet;
use zeropole_core::net::{NetConfig, NetHandle, Network, WitnessDuty};
use zeropole_core::poc::WitnessNode;
use zeropole_core::store::SqliteWitnessStore;

/// Running stations.
pub struct Stations {
    /// One handle per station (`None` once stopped).
    pub handles: Vec<Option<NetHandle>>,
    /// Their full addresses (with `/p2p/`).
    pub addrs: Vec<Multiaddr>,
    /// Keep the stores until the test ends.
    pub dirs: Vec<tempfile::TempDir>,
}

/// Milliseconds since the Unix epoch (block timestamps).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Polls `check` every 50 ms until it holds; panics after 20 s.
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts every station of `devnet` (QUIC for even, TCP for odd ones), each dialling the
/// ones before it, and waits until every station knows every witness's peer record.
pub async fn start_stations(devnet: &Devnet, configure: impl Fn(&mut NetConfig)) -> Stations {
    let epoch = devnet.genesis.epoch0();
    let states = devnet.genesis.genesis_states();
    let count = devnet.station_keys.len();
    let mut handles = Vec::new();
    let mut addrs: Vec<Multiaddr> = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..count {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteWitnessStore::open(dir.path().join("witness.sqlite")).expect("store");
        let witness = devnet.witness(i).expect("witness");
        let keys = devnet.station_keys[i].clone();
        let node = WitnessNode::start(witness, keys.clone(), epoch.clone(), store, &states)
            .expect("witness node");
        let listen: Multiaddr = if i % 2 == 0 {
            "/ip4/127.0.0.1/udp/0/quic-v1".parse().expect("addr")
        } else {
            "/ip4/127.0.0.1/tcp/0".parse().expect("addr")
        };
        let mut config = NetConfig::station(vec![listen], vec![]);
        config.bootstrap = addrs.clone();
        configure(&mut config);
        let key = identity::Keypair::generate_ed25519();
        let peer = key.public().to_peer_id();
        let handle = Network::start(config, key, epoch.clone(), Some(WitnessDuty { node, keys }))
            .expect("station");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let addr = loop {
            if let Some(a) = handle.status().await.expect("status").listen.first() {
                break a.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "no listen address");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        addrs.push(addr.with(Protocol::P2p(peer)));
        handles.push(Some(handle));
        dirs.push(dir);
    }
    for (i, s) in handles.iter().enumerate() {
        let s = s.clone().expect("station");
        wait_for(&format!("station {i} to know every witness"), || {
            let s = s.clone();
            async move { s.status().await.expect("status").known_witnesses == count }
        })
        .await;
    }
    Stations {
        handles,
        addrs,
        dirs,
    }
}
