//! The FFI `Node`, `NodeConfigBuilder` and `LocalDevnet` as Kotlin and Swift see them,
//! driven from a plain executor (no tokio runtime of the caller's): typed errors with
//! their messages, a transfer, cancellation of an event wait, stop, platform signals and
//! `sync_once`, and events acknowledged across restarts.

use std::sync::Arc;

use futures::executor::block_on;
use zeropole_ffi::{
    AppState, Cancellation, ConfigError, DevnetError, LocalDevnet, NetworkKind, Node, NodeConfig,
    NodeConfigBuilder, NodeError, NodeEvent, Profile, PushPlatform, QueuedEvent, Wallet,
};

const FUNDS: u64 = 1_000_000;

fn phrases(dir: &std::path::Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            Wallet::create(dir.join(format!("w{i}.db")).display().to_string())
                .expect("wallet")
                .phrase()
        })
        .collect()
}

fn config(devnet: &LocalDevnet, dir: &std::path::Path) -> NodeConfig {
    NodeConfigBuilder::new(dir.display().to_string(), devnet.genesis_toml())
        .home_stations(devnet.station_addrs().into_iter().take(2).collect())
        .build()
        .expect("a valid configuration")
}

/// The first event for which `pred` holds, acknowledging every event before it (and not
/// the one returned).
async fn first_event(node: &Node, pred: impl Fn(&NodeEvent) -> bool) -> QueuedEvent {
    loop {
        let queued = node.next_event().await.expect("running");
        if pred(&queued.event) {
            return queued;
        }
        assert!(node.event_handled(queued.id));
    }
}

fn start(config: NodeConfig, phrase: &str) -> Result<Arc<Node>, NodeError> {
    Node::start(config, phrase.to_string())
}

#[test]
fn a_transfer_cancellation_and_stop_through_the_ffi() {
    let dir = tempfile::tempdir().expect("dir");
    let p = phrases(dir.path(), 2);
    let devnet = LocalDevnet::start(4, p.clone(), FUNDS).expect("devnet");
    let alice = start(config(&devnet, &dir.path().join("a")), &p[0]).expect("alice");
    let bob = start(config(&devnet, &dir.path().join("b")), &p[1]).expect("bob");
    block_on(async {
        let t = alice
            .send(bob.account_id(), 9_000)
            .await
            .expect("certified");
        assert_eq!((t.height, t.balance, t.amount), (1, FUNDS - 9_000, 9_000));
        assert_eq!(t.counterparty, bob.account_id());
        assert!(t.outgoing);
        let got = bob.receive_pending().await.expect("received");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].counterparty, alice.account_id());
        assert_eq!(bob.balance().await.expect("balance"), FUNDS + 9_000);

        // A cancelled wait returns None at once and takes nothing from the queue.
        let cancel = Cancellation::new();
        cancel.cancel();
        assert_eq!(alice.next_event_unless(cancel).await, None);
        let certified =
            first_event(&alice, |e| matches!(e, NodeEvent::TransferCertified { .. })).await;
        assert!(certified.durable);
        assert!(matches!(
            certified.event,
            NodeEvent::TransferCertified {
                height: 1,
                amount: 9_000,
                ..
            }
        ));
        // Not acknowledged: the same event again.
        assert_eq!(alice.next_event().await, Some(certified.clone()));
        assert!(alice.event_handled(certified.id));
        assert!(!alice.event_handled(certified.id), "acknowledged once");

        // Stop wakes a pending wait, is idempotent, and leaves typed errors behind.
        let ((), ()) = futures::future::join(
            async {
                while let Some(e) = alice.next_event().await {
                    alice.event_handled(e.id);
                }
            },
            async { alice.stop() },
        )
        .await;
        alice.stop();
        assert!(alice.is_stopped());
        assert_eq!(alice.next_event().await, None);
        let e = alice.balance().await.expect_err("stopped");
        assert!(
            matches!(&e, NodeError::NotRunning(m) if m.contains("stopped")),
            "{e}"
        );
        let e = alice
            .send(bob.account_id(), 1_000)
            .await
            .expect_err("stopped");
        assert!(matches!(e, NodeError::NotRunning(_)), "{e}");
    });
    bob.stop();
    devnet.stop();
    devnet.stop();
}

#[test]
fn bad_inputs_are_typed_errors_with_messages() {
    let dir = tempfile::tempdir().expect("dir");
    let p = phrases(dir.path(), 1);
    let devnet = LocalDevnet::start(1, p.clone(), FUNDS).expect("devnet");
    let base = config(&devnet, &dir.path().join("node"));
    let e = start(base.clone(), "not a phrase")
        .err()
        .expect("bad phrase");
    assert!(
        matches!(&e, NodeError::InvalidPhrase(m) if !m.is_empty()),
        "{e}"
    );
    let unreviewed = NodeConfig {
        dmapp_id: "07".repeat(32),
        ..base.clone()
    };
    let e = start(unreviewed, &p[0]).err().expect("unreviewed");
    assert!(
        matches!(&e, NodeError::UnreviewedDmapp(m) if m.contains("not reviewed")),
        "{e}"
    );
    let bad_dmapp = NodeConfig {
        dmapp_id: "xyz".into(),
        ..base.clone()
    };
    let e = start(bad_dmapp, &p[0]).err().expect("bad dmapp");
    assert!(
        matches!(&e, NodeError::Config(m) if m.contains("dmapp id")),
        "{e}"
    );
    let node = start(base, &p[0]).expect("node");
    block_on(async {
        let e = node
            .send("nope".into(), 5_000)
            .await
            .expect_err("bad account");
        assert!(
            matches!(&e, NodeError::InvalidAccount(m) if m.contains("nope")),
            "{e}"
        );
        let e = node
            .send("ab".repeat(32), FUNDS * 2)
            .await
            .expect_err("too much");
        assert!(
            matches!(&e, NodeError::InsufficientFunds(m) if m.contains("insufficient funds")),
            "{e}"
        );
        let e = node.send("ab".repeat(32), 1).await.expect_err("too little");
        assert!(matches!(e, NodeError::BelowMinimum(_)), "{e}");
        let e = node.send(node.account_id(), 5_000).await.expect_err("self");
        assert!(matches!(e, NodeError::SendToSelf(_)), "{e}");
        let e = node
            .register_push_token(PushPlatform::Fcm, "not a token".into())
            .await
            .expect_err("bad token");
        assert!(
            matches!(&e, NodeError::InvalidPushToken(m) if m.contains("printable")),
            "{e}"
        );
        // A well-formed token is signed and taken by a home station.
        node.register_push_token(PushPlatform::Apns, "a1b2c3d4".into())
            .await
            .expect("registered");
    });
    node.stop();

    let e = LocalDevnet::start(0, vec![], FUNDS)
        .err()
        .expect("no station");
    assert!(matches!(e, DevnetError::Start(_)), "{e}");
    let e = LocalDevnet::start(1, vec!["not a phrase".into()], FUNDS)
        .err()
        .expect("phrase");
    assert!(matches!(e, DevnetError::InvalidPhrase(_)), "{e}");
}

#[test]
fn the_builder_names_the_wrong_field() {
    let dir = tempfile::tempdir().expect("dir");
    let p = phrases(dir.path(), 1);
    let devnet = LocalDevnet::start(1, p, FUNDS).expect("devnet");
    let data = dir.path().join("node").display().to_string();
    let builder = || NodeConfigBuilder::new(data.clone(), devnet.genesis_toml());
    let station = devnet.station_addrs()[0].clone();

    let ok = builder()
        .home_station(station.clone())
        .worker_threads(2)
        .full_in_background(true)
        .background_grace_ms(0)
        .battery_thresholds(30, 40)
        .build()
        .expect("valid");
    assert_eq!(ok.home_stations, vec![station.clone()]);
    assert_eq!((ok.worker_threads, ok.full_in_background), (2, true));
    assert_eq!(ok.background_grace_ms, Some(0));
    assert_eq!(
        (ok.low_battery_percent, ok.battery_recovered_percent),
        (Some(30), Some(40))
    );
    assert_eq!(ok.dmapp_id, "", "the built-in wallet");

    let err = |b: std::sync::Arc<NodeConfigBuilder>| b.build().expect_err("refused");
    let e = err(NodeConfigBuilder::new(
        "relative/dir".into(),
        devnet.genesis_toml(),
    ));
    assert!(
        matches!(&e, ConfigError::InvalidDataDir(m) if m.contains("absolute")),
        "{e}"
    );
    let file = dir.path().join("w0.db").display().to_string();
    let e = err(NodeConfigBuilder::new(file, devnet.genesis_toml()).home_station(station.clone()));
    assert!(matches!(e, ConfigError::InvalidDataDir(_)), "{e}");
    let e = err(NodeConfigBuilder::new(data.clone(), "network = 1".into()));
    assert!(
        matches!(&e, ConfigError::InvalidGenesis(m) if m.contains("genesis")),
        "{e}"
    );
    // The devnet's genesis lists no bootstrap station.
    let e = err(builder());
    assert!(matches!(e, ConfigError::NoHomeStation(_)), "{e}");
    let e = err(builder().home_station("not an address".into()));
    assert!(
        matches!(&e, ConfigError::InvalidHomeStation(m) if m.contains("not an address")),
        "{e}"
    );
    let e = err(builder().home_station("/ip4/127.0.0.1/udp/1/quic-v1".into()));
    assert!(
        matches!(&e, ConfigError::InvalidHomeStation(m) if m.contains("/p2p/")),
        "{e}"
    );
    let with_station = || builder().home_station(station.clone());
    let e = err(with_station().dmapp_id("xyz".into()));
    assert!(
        matches!(&e, ConfigError::InvalidDmapp(m) if m.contains("64 hex")),
        "{e}"
    );
    let e = err(with_station().dmapp_id("07".repeat(32)));
    assert!(
        matches!(&e, ConfigError::UnreviewedDmapp(m) if m.contains("not reviewed")),
        "{e}"
    );
    let e = err(with_station().dmapp_manifest(vec![1, 2, 3]));
    assert!(matches!(e, ConfigError::InvalidDmapp(_)), "{e}");
    // A well-formed manifest signed by a key that is no review authority of this genesis.
    let mut rogue = zeropole_core::crypto::KeyPair::from_seed(&[9; 32]).expect("key");
    let manifest =
        zeropole_core::dmapp::DmappManifest::new("game", rogue.public_key().clone(), 1, &[])
            .expect("manifest")
            .sign(&mut rogue)
            .expect("signed");
    let e = err(with_station().dmapp_manifest(manifest.encode()));
    assert!(matches!(e, ConfigError::InvalidDmapp(_)), "{e}");
    let e = err(with_station().worker_threads(0));
    assert!(
        matches!(&e, ConfigError::InvalidSetting(m) if m.contains("worker threads")),
        "{e}"
    );
    let e = err(with_station().battery_thresholds(30, 20));
    assert!(
        matches!(&e, ConfigError::InvalidSetting(m) if m.contains("below")),
        "{e}"
    );
    let e = err(with_station().battery_thresholds(50, 101));
    assert!(matches!(e, ConfigError::InvalidSetting(_)), "{e}");
}

#[test]
fn signals_pick_the_profile_sync_once_receives_in_saver_and_events_outlive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let p = phrases(dir.path(), 2);
    let devnet = LocalDevnet::start(4, p.clone(), FUNDS).expect("devnet");
    let alice_dir = dir.path().join("a");
    let alice = start(config(&devnet, &alice_dir), &p[0]).expect("alice");
    let bob = start(config(&devnet, &dir.path().join("b")), &p[1]).expect("bob");
    let received_id = block_on(async {
        assert_eq!(
            alice.status().await.expect("status").profile,
            Profile::Active
        );
        let e = alice.set_power(101, false, false).await.expect_err("101 %");
        assert!(
            matches!(&e, NodeError::InvalidSignal(m) if m.contains("101")),
            "{e}"
        );
        // Power saver: Saver at once, the network closed, and the change is an event.
        let profile = alice.set_power(80, false, true).await.expect("power");
        assert_eq!(profile, Profile::Saver);
        let status = alice.status().await.expect("status");
        assert_eq!((status.profile, status.online), (Profile::Saver, false));
        let changed = first_event(&alice, |e| matches!(e, NodeEvent::ProfileChanged { .. })).await;
        assert_eq!(
            changed.event,
            NodeEvent::ProfileChanged {
                from: Profile::Active,
                to: Profile::Saver
            }
        );
        assert!(!changed.durable);
        assert!(alice.event_handled(changed.id));
        // The other signals are kept: a network report keeps the power saver, so Saver.
        let profile = alice
            .network_changed(NetworkKind::Cellular, false)
            .await
            .expect("network");
        assert_eq!(profile, Profile::Saver);

        // A payment waits; sync_once connects, receives it, and closes again.
        bob.send(alice.account_id(), 7_000).await.expect("bob pays");
        let got = alice.sync_once().await.expect("sync");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].amount, got[0].outgoing), (7_000, false));
        assert!(!alice.status().await.expect("status").online);
        let received =
            first_event(&alice, |e| matches!(e, NodeEvent::TransferReceived { .. })).await;
        assert!(received.durable);
        assert_eq!(
            received.event,
            NodeEvent::TransferReceived {
                height: 1,
                from: bob.account_id(),
                amount: 7_000
            }
        );
        received.id
    });
    // Stopped without acknowledging: the payment's event comes back after a restart.
    alice.stop();
    drop(alice);
    let alice = start(config(&devnet, &alice_dir), &p[0]).expect("alice again");
    block_on(async {
        let again = alice.next_event().await.expect("running");
        assert_eq!(again.id, received_id);
        assert!(matches!(
            again.event,
            NodeEvent::TransferReceived { amount: 7_000, .. }
        ));
        assert!(alice.event_handled(again.id));
    });
    alice.stop();
    drop(alice);
    // Acknowledged: gone after the next restart. The first event is then the new one.
    let alice = start(config(&devnet, &alice_dir), &p[0]).expect("alice, third start");
    block_on(async {
        let profile = alice
            .set_app_state(AppState::Suspended)
            .await
            .expect("suspended");
        assert_eq!(profile, Profile::Suspended);
        // Suspending pauses the node (`Paused`), then reports the profile.
        let not_station = |e: &NodeEvent| !matches!(e, NodeEvent::StationConnection { .. });
        let first = first_event(&alice, not_station).await;
        assert_eq!(first.event, NodeEvent::Paused);
        assert!(first.id > received_id, "numbered above the stored events");
        assert!(alice.event_handled(first.id));
        let next = first_event(&alice, not_station).await;
        assert_eq!(
            next.event,
            NodeEvent::ProfileChanged {
                from: Profile::Active,
                to: Profile::Suspended
            }
        );
        let profile = alice
            .set_app_state(AppState::Foreground)
            .await
            .expect("foreground");
        assert_eq!(profile, Profile::Active);
        assert_eq!(alice.balance().await.expect("balance"), FUNDS + 7_000);
    });
    alice.stop();
    bob.stop();
}
