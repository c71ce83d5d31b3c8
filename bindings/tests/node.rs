//! The FFI `Node` and `LocalDevnet` as Kotlin and Swift see them, driven from a plain
//! executor (no tokio runtime of the caller's): typed errors with their messages, a
//! transfer, cancellation of an event wait, and stop.

use std::sync::Arc;

use futures::executor::block_on;
use zeropole_ffi::{
    Cancellation, DevnetError, LocalDevnet, Node, NodeConfig, NodeError, NodeEvent, Wallet,
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
    NodeConfig {
        data_dir: dir.display().to_string(),
        genesis_toml: devnet.genesis_toml(),
        home_stations: devnet.station_addrs().into_iter().take(2).collect(),
        dmapp_id: String::new(),
        worker_threads: 1,
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
        loop {
            match alice.next_event().await.expect("running") {
                NodeEvent::TransferCertified { height, amount, .. } => {
                    assert_eq!((height, amount), (1, 9_000));
                    break;
                }
                _ => continue,
            }
        }

        // Stop wakes a pending wait, is idempotent, and leaves typed errors behind.
        let ((), ()) = futures::future::join(
            async { while alice.next_event().await.is_some() {} },
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
