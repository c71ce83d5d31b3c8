//! The `Node` runtime against a real loopback devnet (4 stations, each a libp2p swarm
//! with its own SQLite witness store): two phrase wallets transfer, receive, see typed
//! errors on bad input, pause (sockets and SQLite closed) and resume, restart from their
//! data directory, and a block signed before a crash is certified after the restart. A
//! phone in Saver is woken by its station's push when it is paid.

use std::sync::Arc;
use std::time::Duration;

use zeropole_core::crypto::{KeyPair, SeedPhrase};
use zeropole_core::devnet::Devnet;
use zeropole_core::ledger::{next_send, DmappId};
use zeropole_core::net::push::{PushPlatform, PushSender, Pusher};
use zeropole_core::node::{
    AppState, Network, Node, NodeConfig, NodeError, NodeEvent, Power, Profile, Signals,
};
use zeropole_core::wallet::Wallet;

mod common;
use common::{start_stations, wait_for};

const FUNDS: u64 = 1_000_000;

fn phrase(i: u8) -> String {
    // Fixed, valid test phrases (entropy i, i, ..., checksum computed by bip39).
    let entropy = [i; 32];
    bip39::Mnemonic::from_entropy(&entropy)
        .expect("entropy")
        .to_string()
}

fn keys(phrase: &str) -> KeyPair {
    SeedPhrase::parse(phrase)
        .expect("phrase")
        .derive_key_pair(0)
        .expect("keys")
}

struct Net {
    genesis: String,
    home: Vec<String>,
    _stations: common::Stations,
}

impl Net {
    /// A network whose stations the test runs itself, reached through `home`.
    fn on(devnet: &Devnet, home: &[libp2p::Multiaddr]) -> Net {
        Net {
            genesis: devnet.genesis.to_toml_string(),
            home: home.iter().map(|a| a.to_string()).collect(),
            _stations: common::Stations {
                handles: Vec::new(),
                addrs: Vec::new(),
                dirs: Vec::new(),
            },
        }
    }
}

async fn devnet(phrases: &[&str]) -> Net {
    let allocations: Vec<_> = phrases
        .iter()
        .map(|p| (keys(p).public_key().clone(), FUNDS))
        .collect();
    let devnet = Devnet::generate_for(5, 4, &allocations, None).expect("devnet");
    let stations = start_stations(&devnet, |_| {}).await;
    Net {
        genesis: devnet.genesis.to_toml_string(),
        home: stations.addrs[..2].iter().map(|a| a.to_string()).collect(),
        _stations: stations,
    }
}

fn config(net: &Net, dir: &std::path::Path) -> NodeConfig {
    NodeConfig {
        data_dir: dir.to_path_buf(),
        genesis_toml: net.genesis.clone(),
        home_stations: net.home.clone(),
        dmapp: DmappId::WALLET,
        worker_threads: 1,
        preferences: Default::default(),
        policy: Default::default(),
    }
}

async fn next_matching(node: &Node, pred: impl Fn(&NodeEvent) -> bool) -> NodeEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(20), node.next_event())
            .await
            .expect("an event in time")
            .expect("node running");
        if std::env::var_os("ZP_EVENTS").is_some() {
            eprintln!("EVENT {e:?}");
        }
        if pred(&e) {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wallets_transfer_receive_and_survive_pause_and_restart() {
    tokio::time::timeout(Duration::from_secs(120), scenario())
        .await
        .expect("bounded");
}

async fn scenario() {
    let (pa, pb) = (phrase(1), phrase(2));
    let net = devnet(&[&pa, &pb]).await;
    let (da, db) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let alice = Node::start(config(&net, da.path()), &pa).expect("alice");
    let bob = Node::start(config(&net, db.path()), &pb).expect("bob");
    let bob_id = bob.account().to_hex();

    // A transfer, certified, with its event.
    let t = alice.send(&bob_id, 25_000).await.expect("certified");
    assert_eq!((t.height, t.balance), (1, FUNDS - 25_000));
    let e = next_matching(&alice, |e| matches!(e, NodeEvent::TransferCertified { .. })).await;
    assert!(matches!(
        e,
        NodeEvent::TransferCertified {
            height: 1,
            amount: 25_000,
            ..
        }
    ));

    // Bob receives it.
    let got = bob.receive_pending().await.expect("received");
    assert_eq!(got.len(), 1);
    assert_eq!(bob.balance().await, FUNDS + 25_000);
    let e = next_matching(&bob, |e| matches!(e, NodeEvent::TransferReceived { .. })).await;
    assert!(matches!(
        e,
        NodeEvent::TransferReceived { amount: 25_000, .. }
    ));
    let history = bob.history().await;
    assert_eq!(history.len(), 1);
    assert!(!history[0].outgoing);

    // Bad input: typed errors, nothing signed.
    assert!(matches!(
        alice.send("not-an-account", 5_000).await,
        Err(NodeError::InvalidAccount(_))
    ));
    assert!(matches!(
        alice.send(&bob_id, FUNDS * 10).await,
        Err(NodeError::InsufficientFunds { .. })
    ));
    assert!(matches!(
        alice.send(&bob_id, 1).await,
        Err(NodeError::BelowMinimum { .. })
    ));
    assert!(matches!(
        alice.send(&alice.account().to_hex(), 5_000).await,
        Err(NodeError::SendToSelf)
    ));

    // Pause closes the sockets and both databases: operations refuse until resume.
    alice.pause().await.expect("pause");
    assert!(alice.status().await.paused);
    assert!(matches!(
        alice.send(&bob_id, 5_000).await,
        Err(NodeError::NotRunning(_))
    ));
    alice.resume().await.expect("resume");
    let t = alice
        .send(&bob_id, 5_000)
        .await
        .expect("certified after resume");
    assert_eq!(t.height, 2);

    // Restart from the data directory: the chain is still there.
    alice.stop();
    let alice = Node::start(config(&net, da.path()), &pa).expect("alice again");
    assert_eq!(alice.balance().await, FUNDS - 30_000);
    assert_eq!(alice.history().await.len(), 2);

    alice.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_signed_before_a_crash_is_certified_after_restart() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let pa = phrase(3);
        let pb = phrase(4);
        let net = devnet(&[&pa, &pb]).await;
        let da = tempfile::tempdir().expect("dir");
        let bob = keys(&pb).public_key().account_id();
        // The "crash": the wallet signed the send at height 1, the node never submitted it.
        {
            let wallet = Wallet::restore(da.path().join("wallet.db"), &pa).expect("wallet");
            let genesis =
                zeropole_core::genesis::Genesis::from_toml_str(&net.genesis).expect("genesis");
            let state = genesis
                .genesis_states()
                .into_iter()
                .find(|(a, _)| *a == wallet.account_id())
                .map(|(_, s)| s)
                .expect("funded");
            let body = next_send(&state, 0, bob, 7_000, vec![], 1, DmappId::WALLET).expect("body");
            wallet.sign(1, &body.encode()).expect("signed once");
        }
        let alice = Node::start(config(&net, da.path()), &pa).expect("alice");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while alice.status().await.height < 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the signed block was not resubmitted"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(alice.balance().await, FUNDS - 7_000);
        // The recovered block is reported like any send: a durable event, until acknowledged.
        let certified = loop {
            let queued = tokio::time::timeout(Duration::from_secs(20), alice.wait_event())
                .await
                .expect("an event in time");
            if matches!(queued.event, NodeEvent::TransferCertified { .. }) {
                break queued;
            }
            assert!(alice.event_handled(queued.id));
        };
        assert!(certified.durable);
        assert!(
            matches!(
                certified.event,
                NodeEvent::TransferCertified {
                    height: 1,
                    amount: 7_000,
                    ..
                }
            ),
            "{certified:?}"
        );
        assert_eq!(alice.wait_event().await, certified, "peeked, not taken");
        assert!(alice.event_handled(certified.id));
        // A new send goes on at height 2, not in conflict with the resubmitted block.
        let t = alice.send(&bob.to_hex(), 1_000).await.expect("next send");
        assert_eq!(t.height, 2);
    })
    .await
    .expect("bounded");
}

#[test]
fn bad_start_inputs_are_typed_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let devnet = Devnet::generate(6, 1, 1, None).expect("devnet");
    let base = NodeConfig {
        data_dir: dir.path().to_path_buf(),
        genesis_toml: devnet.genesis.to_toml_string(),
        home_stations: vec![
            "/ip4/127.0.0.1/udp/1/quic-v1/p2p/12D3KooWJ9GsAMTqQ7bum5hUWX6BdmPEVHknoarXqHMBqxWrGHt8"
                .into(),
        ],
        dmapp: DmappId::WALLET,
        worker_threads: 1,
        preferences: Default::default(),
        policy: Default::default(),
    };
    let p = phrase(9);
    let bad_phrase = Node::start(base.clone(), "not a phrase");
    assert!(matches!(bad_phrase, Err(NodeError::Wallet(_))));
    let unreviewed = Node::start(
        NodeConfig {
            dmapp: DmappId([7; 32]),
            ..base.clone()
        },
        &p,
    );
    assert!(matches!(unreviewed, Err(NodeError::UnreviewedDmapp(_))));
    let bad_genesis = Node::start(
        NodeConfig {
            genesis_toml: "network = 1".into(),
            ..base.clone()
        },
        &p,
    );
    assert!(matches!(bad_genesis, Err(NodeError::Config(_))));
    let no_home = Node::start(
        NodeConfig {
            home_stations: vec![],
            ..base.clone()
        },
        &p,
    );
    assert!(matches!(no_home, Err(NodeError::Config(_))));
    let bad_addr = Node::start(
        NodeConfig {
            home_stations: vec!["nonsense".into()],
            ..base
        },
        &p,
    );
    assert!(matches!(bad_addr, Err(NodeError::Config(_))));
}

/// What the Kotlin and Swift tests do through the FFI: a `LocalDevnet` started without any
/// async runtime of the caller's, and nodes driven by a plain executor (not tokio), so the
/// node's async methods need nothing from the caller's runtime.
#[test]
fn nodes_on_a_local_devnet_work_from_a_foreign_executor() {
    let (pa, pb) = (phrase(5), phrase(6));
    let allocations: Vec<_> = [&pa, &pb]
        .iter()
        .map(|p| (keys(p).public_key().clone(), FUNDS))
        .collect();
    let devnet = zeropole_core::devnet::LocalDevnet::start(9, 4, &allocations).expect("devnet");
    let (da, db) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let cfg = |dir: &std::path::Path| NodeConfig {
        data_dir: dir.to_path_buf(),
        genesis_toml: devnet.genesis_toml.clone(),
        home_stations: devnet.station_addrs[..2].to_vec(),
        dmapp: DmappId::WALLET,
        worker_threads: 1,
        preferences: Default::default(),
        policy: Default::default(),
    };
    let alice = Node::start(cfg(da.path()), &pa).expect("alice");
    let bob = Node::start(cfg(db.path()), &pb).expect("bob");
    futures::executor::block_on(async {
        let t = alice
            .send(&bob.account().to_hex(), 9_000)
            .await
            .expect("certified");
        assert_eq!(t.height, 1);
        let got = bob.receive_pending().await.expect("received");
        assert_eq!(got.len(), 1);
        assert_eq!(bob.balance().await, FUNDS + 9_000);
    });
}

/// The mobile-life profile applied (DESIGN.md §7): Saver closes the network (user actions
/// and `sync_once` open it on demand and close it again), Suspended also closes the
/// databases, and the foreground brings Active back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_close_and_reopen_the_network_and_sync_once_works_in_saver() {
    use zeropole_core::node::{AppState, Network, Power, Profile, Signals};
    tokio::time::timeout(Duration::from_secs(120), async {
        let (pa, pb) = (phrase(7), phrase(8));
        let net = devnet(&[&pa, &pb]).await;
        let (da, db) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let alice = Node::start(config(&net, da.path()), &pa).expect("alice");
        let bob = Node::start(config(&net, db.path()), &pb).expect("bob");
        let status = alice.status().await;
        assert_eq!((status.profile, status.online), (Profile::Active, true));

        let signals = |app, power_saver| Signals {
            app,
            power: Power {
                battery_percent: 80,
                charging: false,
                power_saver,
            },
            network: Network::CELLULAR,
            epoch: 0,
        };
        // Power saver: Saver at once; no connection is kept.
        let p = alice
            .set_signals(signals(AppState::Foreground, true))
            .await
            .expect("signals");
        assert_eq!(p, Profile::Saver);
        let status = alice.status().await;
        assert!(
            !status.online && status.stations_connected == 0,
            "{status:?}"
        );
        let e = next_matching(&alice, |e| matches!(e, NodeEvent::ProfileChanged { .. })).await;
        assert_eq!(
            e,
            NodeEvent::ProfileChanged {
                from: Profile::Active,
                to: Profile::Saver
            }
        );

        // A payment arrives; `sync_once` connects, receives it, disconnects.
        bob.send(&alice.account().to_hex(), 4_000)
            .await
            .expect("bob pays");
        let got = alice.sync_once().await.expect("sync");
        assert_eq!(got.len(), 1);
        assert!(!alice.status().await.online, "closed again after sync_once");
        // A user action in Saver opens the network for itself only.
        let t = alice
            .send(&bob.account().to_hex(), 2_000)
            .await
            .expect("send in Saver");
        assert_eq!(t.height, 2);
        assert!(!alice.status().await.online);

        // Suspended closes the databases too; the foreground brings Active back.
        let p = alice
            .set_signals(signals(AppState::Suspended, false))
            .await
            .expect("signals");
        assert_eq!(p, Profile::Suspended);
        assert!(alice.status().await.paused);
        let p = alice
            .set_signals(signals(AppState::Foreground, false))
            .await
            .expect("signals");
        assert_eq!(p, Profile::Active);
        let status = alice.status().await;
        assert!(status.online && !status.paused, "{status:?}");
        let t = alice
            .send(&bob.account().to_hex(), 1_000)
            .await
            .expect("send in Active");
        assert_eq!(t.height, 3);
    })
    .await
    .expect("bounded");
}

/// A station push sender that records what it would send.
struct Recorder(std::sync::Mutex<Vec<(PushPlatform, String)>>);

impl PushSender for Recorder {
    fn send_sync(&self, platform: PushPlatform, token: &str) {
        if let Ok(mut sent) = self.0.lock() {
            sent.push((platform, token.to_string()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_in_saver_is_woken_by_a_push_when_it_is_paid() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (pa, pb) = (phrase(10), phrase(11));
        let allocations: Vec<_> = [&pa, &pb]
            .iter()
            .map(|p| (keys(p).public_key().clone(), FUNDS))
            .collect();
        let devnet = Devnet::generate_for(8, 4, &allocations, None).expect("devnet");
        let recorder = Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
        let r = recorder.clone();
        let stations = start_stations(&devnet, move |c| {
            if let Some(s) = c.station.as_mut() {
                s.push = Some(Pusher(r.clone()));
            }
        })
        .await;
        let net = Net {
            genesis: devnet.genesis.to_toml_string(),
            home: stations.addrs[..2].iter().map(|a| a.to_string()).collect(),
            _stations: stations,
        };
        let (da, db) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let alice = Node::start(config(&net, da.path()), &pa).expect("alice");
        let bob = Node::start(config(&net, db.path()), &pb).expect("bob");

        let bad = alice
            .register_push_token(PushPlatform::Fcm, "not a token")
            .await;
        assert!(
            matches!(bad, Err(NodeError::InvalidPushToken(_))),
            "{bad:?}"
        );
        alice
            .register_push_token(PushPlatform::Fcm, "alice-fcm-token")
            .await
            .expect("registered");
        assert!(da.path().join("push-token").exists());

        // The OS power saver: Saver, no connection; the token goes out again before.
        let saver = Signals {
            app: AppState::Foreground,
            power: Power {
                battery_percent: 80,
                charging: false,
                power_saver: true,
            },
            network: Network::WIFI,
            epoch: 0,
        };
        assert_eq!(
            alice.set_signals(saver).await.expect("saver"),
            Profile::Saver
        );
        assert!(!alice.status().await.online);

        let alice_id = keys(&pa).public_key().account_id();
        bob.send(&alice_id.to_hex(), 4_000).await.expect("bob pays");
        wait_for("the wake-up push", || {
            let recorder = recorder.clone();
            async move {
                recorder
                    .0
                    .lock()
                    .map(|s| s.contains(&(PushPlatform::Fcm, "alice-fcm-token".to_string())))
                    .unwrap_or(false)
            }
        })
        .await;
        // What the push makes the app do: one sync.
        let got = alice.sync_once().await.expect("sync");
        assert_eq!(got.len(), 1);
        assert_eq!(alice.balance().await, FUNDS + 4_000);

        // Unregistering removes the kept token.
        alice
            .register_push_token(PushPlatform::Fcm, "")
            .await
            .expect("unregistered");
        assert!(!da.path().join("push-token").exists());
        alice.stop();
        bob.stop();
    })
    .await
    .expect("bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_not_after_the_node_refuses_the_network_with_a_typed_error() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (pa, pb) = (phrase(12), phrase(13));
        let net = devnet(&[&pa, &pb]).await;
        // The same network, but its R_0 expired a long time ago (1 ms after 1970).
        let expired = Net {
            genesis: net
                .genesis
                .replacen("min_amount = ", "not_after_ms = 1\nmin_amount = ", 1),
            home: net.home.clone(),
            _stations: net._stations,
        };
        assert!(expired.genesis.contains("not_after_ms = 1"));
        let da = tempfile::tempdir().expect("dir");
        let alice = Node::start(config(&expired, da.path()), &pa).expect("starts offline");
        // What is stored stays readable; nothing goes to the network.
        assert_eq!(alice.balance().await, FUNDS);
        assert!(!alice.status().await.online);
        let bob = keys(&pb).public_key().account_id();
        let e = alice.send(&bob.to_hex(), 1_000).await.expect_err("expired");
        assert!(matches!(e, NodeError::EpochExpired(1)), "{e}");
        assert!(e.to_string().contains("re-bootstrap"), "{e}");
        let e = alice.sync_once().await.expect_err("expired");
        assert!(matches!(e, NodeError::EpochExpired(_)), "{e}");
        assert_eq!(alice.balance().await, FUNDS);
        alice.stop();
    })
    .await
    .expect("bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_reports_its_relay_reservations_and_background_failures_are_events() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let pa = phrase(14);
        let allocations = vec![(keys(&pa).public_key().clone(), FUNDS)];
        let devnet = Devnet::generate_for(9, 4, &allocations, None).expect("devnet");
        let mut stations = start_stations(&devnet, |_| {}).await;
        // Reservations carry the station's external addresses: declare the loopback ones.
        for (h, a) in stations.handles.iter().zip(&stations.addrs) {
            let external: libp2p::Multiaddr = a
                .iter()
                .filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
                .collect();
            h.as_ref()
                .expect("station")
                .add_external_address(external)
                .await
                .expect("external");
        }
        let net = Net::on(&devnet, &stations.addrs[..2]);
        let da = tempfile::tempdir().expect("dir");
        let mut cfg = config(&net, da.path());
        cfg.policy.full_entry_ms = 0;
        let alice = Node::start(cfg, &pa).expect("alice");
        // Charging on Wi-Fi: Full holds a reservation on both home stations.
        let full = Signals {
            app: AppState::Foreground,
            power: Power {
                battery_percent: 90,
                charging: true,
                power_saver: false,
            },
            network: Network::WIFI,
            epoch: 0,
        };
        assert_eq!(alice.set_signals(full).await.expect("full"), Profile::Full);
        for _ in 0..2 {
            next_matching(&alice, |e| {
                matches!(e, NodeEvent::RelayReservation { held: true, .. })
            })
            .await;
        }
        alice
            .register_push_token(PushPlatform::Fcm, "alice-token")
            .await
            .expect("registered");
        // Every station goes away; entering Saver cannot re-register the token, and the
        // node says so in an event instead of failing silently.
        for h in stations.handles.iter_mut() {
            h.take();
        }
        let saver = Signals {
            power: Power {
                battery_percent: 90,
                charging: false,
                power_saver: true,
            },
            ..full
        };
        assert_eq!(
            alice.set_signals(saver).await.expect("saver"),
            Profile::Saver
        );
        let e = next_matching(&alice, |e| matches!(e, NodeEvent::BackgroundError { .. })).await;
        let NodeEvent::BackgroundError { operation, .. } = e else {
            unreachable!()
        };
        assert!(operation.contains("push registration"), "{operation}");
        drop(stations);
        alice.stop();
    })
    .await
    .expect("bounded");
}

/// The peers a station is connected to, stations included.
async fn station_peers(stations: &common::Stations, i: usize) -> usize {
    stations.handles[i]
        .as_ref()
        .expect("station")
        .status()
        .await
        .expect("status")
        .connected
        .len()
}

/// Waits up to 3 s (far below the station's idle timeout of 120 s and ping of 300 s) for
/// station `i` to be connected to exactly `peers` peers.
async fn station_sees(stations: &common::Stations, i: usize, peers: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let now = station_peers(stations, i).await;
        if now == peers {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: station {i} still has {now} peers, expected {peers}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_stop_close_the_connection_at_once() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let pa = phrase(15);
        let allocations = vec![(keys(&pa).public_key().clone(), FUNDS)];
        let devnet = Devnet::generate_for(10, 4, &allocations, None).expect("devnet");
        let stations = start_stations(&devnet, |_| {}).await;
        let net = Net::on(&devnet, &stations.addrs[..2]);
        let alone = station_peers(&stations, 0).await;
        let da = tempfile::tempdir().expect("dir");
        // Active holds its first home station, station 0.
        let alice = Node::start(config(&net, da.path()), &pa).expect("alice");
        wait_for("alice held by station 0", || async {
            station_peers(&stations, 0).await == alone + 1
        })
        .await;
        alice.pause().await.expect("pause");
        station_sees(&stations, 0, alone, "after pause").await;
        alice.resume().await.expect("resume");
        wait_for("alice back on station 0", || async {
            station_peers(&stations, 0).await == alone + 1
        })
        .await;
        // `stop` from async code (the test's runtime): it still waits for the close.
        alice.stop();
        station_sees(&stations, 0, alone, "after stop").await;
    })
    .await
    .expect("within 90 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_station_outside_both_committees_still_wakes_its_phone() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (pa, pb) = (phrase(16), phrase(17));
        let (alice_id, bob_id) = (
            keys(&pa).public_key().account_id(),
            keys(&pb).public_key().account_id(),
        );
        let allocations: Vec<_> = [&pa, &pb]
            .iter()
            .map(|p| (keys(p).public_key().clone(), FUNDS))
            .collect();
        // Six stations, committees of four: find a devnet where some station serves
        // neither account, so it learns of a payment to alice only if told.
        let (devnet, home) = (40..200u64)
            .find_map(|seed| {
                let devnet = Devnet::generate_for(seed, 6, &allocations, Some(4)).ok()?;
                let epoch = devnet.genesis.epoch0();
                let (ca, cb) = (epoch.committee(&alice_id), epoch.committee(&bob_id));
                let outside = (0..6).find(|&i| {
                    let id = devnet.witness(i).expect("witness").id;
                    !ca.contains(&id) && !cb.contains(&id)
                })?;
                Some((devnet, outside))
            })
            .expect("a devnet with a station outside both committees");
        let recorders: Vec<Arc<Recorder>> = (0..6)
            .map(|_| Arc::new(Recorder(std::sync::Mutex::new(Vec::new()))))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let given = recorders.clone();
        let stations = start_stations(&devnet, move |c| {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(s) = c.station.as_mut() {
                s.push = Some(Pusher(given[i].clone()));
            }
        })
        .await;
        let payer_home = (home + 1) % 6;
        let net = |i: usize| Net::on(&devnet, &stations.addrs[i..=i]);
        let (da, db) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let alice = Node::start(config(&net(home), da.path()), &pa).expect("alice");
        let bob = Node::start(config(&net(payer_home), db.path()), &pb).expect("bob");
        alice
            .register_push_token(PushPlatform::Fcm, "alice-token")
            .await
            .expect("registered");
        // The home station asks alice's committee to watch her payments for it.
        let members: Vec<usize> = (0..6)
            .filter(|&i| {
                let id = devnet.witness(i).expect("witness").id;
                devnet.genesis.epoch0().committee(&alice_id).contains(&id)
            })
            .collect();
        let watching = |i: usize| {
            let handle = stations.handles[i].clone().expect("station");
            async move {
                handle
                    .status()
                    .await
                    .expect("status")
                    .metrics
                    .watched_accounts
            }
        };
        wait_for("alice's committee watching for her home station", || {
            let members = members.clone();
            let watching = &watching;
            async move {
                for i in members {
                    if watching(i).await != 1 {
                        return false;
                    }
                }
                true
            }
        })
        .await;

        bob.send(&alice_id.to_hex(), 3_000).await.expect("bob pays");
        let pushed = |i: usize| recorders[i].0.lock().map(|s| s.clone()).unwrap_or_default();
        wait_for("the push from alice's home station", || {
            let got = pushed(home);
            async move { !got.is_empty() }
        })
        .await;
        // Every member sends the certificate on; the home station pushes once, and no
        // other station holds the token.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            pushed(home),
            vec![(PushPlatform::Fcm, "alice-token".to_string())]
        );
        for i in (0..6).filter(|&i| i != home) {
            assert!(pushed(i).is_empty(), "station {i} pushed");
        }
        alice.stop();
        bob.stop();
    })
    .await
    .expect("bounded");
}
