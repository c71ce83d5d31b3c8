//! The hold heartbeat (DESIGN.md §7): a phone holding its home station's connection
//! notices within one heartbeat that the station went silent (killed, or the path died
//! without a word), closes the connection and fails over, instead of trusting it until
//! QUIC's 90 s idle timeout. The phone reaches the station through a UDP relay on
//! loopback that the test can cut. Bounded in time; every task ends with the test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{identity, Multiaddr};
use tokio::net::UdpSocket;
use zeropole_core::devnet::Devnet;
use zeropole_core::net::{NetConfig, NetEvent, Network};
use zeropole_core::store::SqliteWitnessStore;

mod common;
use common::start_stations;

/// Forwards UDP between one client and `target` until `cut` is set; then drops
/// everything, both ways, like a dead path. Returns the address clients use.
async fn udp_relay(target: SocketAddr, cut: Arc<AtomicBool>) -> SocketAddr {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("front"));
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("back"));
    let addr = front.local_addr().expect("addr");
    let client = Arc::new(tokio::sync::Mutex::new(None::<SocketAddr>));
    {
        let (front, back, client, cut) = (front.clone(), back.clone(), client.clone(), cut.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = front.recv_from(&mut buf).await {
                *client.lock().await = Some(from);
                if !cut.load(Ordering::SeqCst) {
                    let _ = back.send_to(&buf[..n], target).await;
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, _)) = back.recv_from(&mut buf).await {
            let to = *client.lock().await;
            if let (Some(to), false) = (to, cut.load(Ordering::SeqCst)) {
                let _ = front.send_to(&buf[..n], to).await;
            }
        }
    });
    addr
}

/// The UDP port and peer id of a station's QUIC address.
fn quic_target(addr: &Multiaddr) -> (SocketAddr, Multiaddr) {
    let mut port = None;
    let mut peer = None;
    for p in addr.iter() {
        match p {
            Protocol::Udp(p) => port = Some(p),
            Protocol::P2p(id) => peer = Some(id),
            _ => {}
        }
    }
    let port = port.expect("a QUIC station");
    let peer = peer.expect("peer id");
    (
        SocketAddr::from(([127, 0, 0, 1], port)),
        Multiaddr::empty().with(Protocol::P2p(peer)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_home_station_is_dropped_within_a_heartbeat() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let devnet = Devnet::generate(12, 1, 0, None).expect("devnet");
        let stations = start_stations(&devnet, |_| {}).await;
        // Station 0 listens on QUIC.
        let (target, p2p) = quic_target(&stations.addrs[0]);
        let station = match p2p.iter().next() {
            Some(Protocol::P2p(id)) => id,
            _ => unreachable!(),
        };
        let cut = Arc::new(AtomicBool::new(false));
        let relay = udp_relay(target, cut.clone()).await;
        let home: Multiaddr = format!("/ip4/127.0.0.1/udp/{}/quic-v1/p2p/{station}", relay.port())
            .parse()
            .expect("addr");
        let mut config = NetConfig::phone(vec![home]);
        // A heartbeat every second (echo awaited half a second); QUIC's idle timeout stays
        // at the phone's 90 s.
        config.timers.ping_interval = Duration::from_secs(1);
        let phone = Network::start::<SqliteWitnessStore>(
            config,
            identity::Keypair::generate_ed25519(),
            devnet.genesis.epoch0(),
            None,
        )
        .expect("phone");
        let mut events = phone.events();
        loop {
            match events.recv().await.expect("events") {
                NetEvent::Connected { peer, .. } if peer == station => break,
                _ => {}
            }
        }
        // Answered heartbeats keep it: still held after several of them.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let status = phone.status().await.expect("status");
        assert!(status.connected.contains(&station), "{status:?}");

        // The path dies without a word: the next unanswered heartbeat closes it.
        cut.store(true, Ordering::SeqCst);
        let cut_at = tokio::time::Instant::now();
        loop {
            match tokio::time::timeout(Duration::from_secs(15), events.recv()).await {
                Ok(Ok(NetEvent::Disconnected { peer })) if peer == station => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("events: {e}"),
                Err(_) => panic!(
                    "still connected {:?} after the path died: the heartbeat did not notice",
                    cut_at.elapsed()
                ),
            }
        }
    })
    .await
    .expect("within 60 s");
}
