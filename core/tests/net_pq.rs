//! The TCP+TLS handshake between two ZeroPole nodes uses the hybrid post-quantum key
//! exchange X25519MLKEM768 (DESIGN.md §2). Verified on the wire: a phone dials a station
//! through a recording TCP proxy on loopback, and the station's TLS 1.3 ServerHello (sent
//! in clear) carries a `key_share` extension (0x0033) for group 0x11EC
//! (X25519MLKEM768): a 1,088-byte ML-KEM-768 ciphertext and a 32-byte X25519 share.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libp2p::{identity, multiaddr::Protocol, Multiaddr};
use zeropole_core::devnet::Devnet;
use zeropole_core::net::{NetConfig, Network};
use zeropole_core::store::SqliteWitnessStore;

mod common;
use common::wait_for;

/// Copies `from` → `to`, appending what passes to `record`.
fn pump(mut from: TcpStream, mut to: TcpStream, record: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        if let Ok(mut r) = record.lock() {
            r.extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// The named group of the first TLS 1.3 ServerHello key_share in `bytes`, if any.
fn server_hello_group(bytes: &[u8]) -> Option<(u16, usize)> {
    // Handshake record (0x16, legacy version 0x0303), handshake type ServerHello (0x02).
    let start = bytes
        .windows(6)
        .position(|w| w[0] == 0x16 && w[1] == 0x03 && w[2] == 0x03 && w[5] == 0x02)?;
    let hello = &bytes[start + 5..];
    // type(1) len(3) version(2) random(32) session_id_len(1)+id cipher(2) compression(1)
    let sid_len = *hello.get(38)? as usize;
    let mut i = 39 + sid_len + 2 + 1;
    let ext_total = u16::from_be_bytes([*hello.get(i)?, *hello.get(i + 1)?]) as usize;
    i += 2;
    let end = i + ext_total;
    while i + 4 <= end {
        let ty = u16::from_be_bytes([hello[i], hello[i + 1]]);
        let len = u16::from_be_bytes([hello[i + 2], hello[i + 3]]) as usize;
        if ty == 0x0033 {
            let group = u16::from_be_bytes([*hello.get(i + 4)?, *hello.get(i + 5)?]);
            let share = u16::from_be_bytes([*hello.get(i + 6)?, *hello.get(i + 7)?]) as usize;
            return Some((group, share));
        }
        i += 4 + len;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_handshake_negotiates_x25519mlkem768() {
    tokio::time::timeout(Duration::from_secs(30), scenario())
        .await
        .expect("bounded");
}

async fn scenario() {
    let devnet = Devnet::generate(3, 1, 1, None).expect("devnet");
    let epoch = devnet.genesis.epoch0();
    let key = identity::Keypair::generate_ed25519();
    let station_peer = key.public().to_peer_id();
    let station = Network::start::<SqliteWitnessStore>(
        NetConfig::station(vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")], vec![]),
        key,
        epoch.clone(),
        None,
    )
    .expect("station");
    let mut station_addr: Option<Multiaddr> = None;
    while station_addr.is_none() {
        station_addr = station
            .status()
            .await
            .expect("status")
            .listen
            .first()
            .cloned();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let station_port = station_addr
        .expect("addr")
        .iter()
        .find_map(|p| match p {
            Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("tcp port");

    // The recording proxy.
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy_port = proxy.local_addr().expect("addr").port();
    let from_server = Arc::new(Mutex::new(Vec::new()));
    let record = from_server.clone();
    std::thread::spawn(move || {
        if let Ok((client, _)) = proxy.accept() {
            let server = TcpStream::connect(("127.0.0.1", station_port)).expect("connect");
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let sink = Arc::new(Mutex::new(Vec::new()));
            std::thread::spawn(move || pump(c2, s2, sink));
            pump(server, client, record);
        }
    });

    let phone_addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{proxy_port}/p2p/{station_peer}")
        .parse()
        .expect("addr");
    let phone = Network::start::<SqliteWitnessStore>(
        NetConfig::phone(vec![phone_addr]),
        identity::Keypair::generate_ed25519(),
        epoch,
        None,
    )
    .expect("phone");
    wait_for("the phone to connect through the proxy", || {
        let phone = phone.clone();
        async move { !phone.status().await.expect("status").connected.is_empty() }
    })
    .await;

    let bytes = from_server.lock().expect("record").clone();
    assert!(
        bytes.windows(10).any(|w| w == b"/tls/1.0.0"),
        "multistream-select negotiated TLS"
    );
    let (group, share) = server_hello_group(&bytes).expect("a ServerHello with a key_share");
    assert_eq!(
        group, 0x11EC,
        "X25519MLKEM768 (0x11EC) negotiated, found 0x{group:04X}"
    );
    assert_eq!(share, 1088 + 32, "ML-KEM-768 ciphertext + X25519 share");
    eprintln!("TLS ServerHello key_share: group 0x{group:04X} (X25519MLKEM768), {share} bytes");
}
