//! An epoch change driven over the network (DESIGN.md §4): six stations (witnesses,
//! n = 4, q = 3) on loopback certify a transfer in epoch 0, all move to epoch 1 (a new
//! seed, so new committees), and the account's next block is certified in epoch 1: its
//! new committee members answer "need handover", the collecting station fetches the
//! reports of the old committee over `/zeropole/poc/1` and hands them on, and the members
//! take the account over and attest. Bounded in time; everything is cleaned up at the end.

use std::time::Duration;

use libp2p::identity;
use zeropole_core::devnet::Devnet;
use zeropole_core::ledger::{apply_certified, next_send, DmappId};
use zeropole_core::net::{NetConfig, Network};
use zeropole_core::poc::{AttestRequest, Epoch};
use zeropole_core::store::SqliteWitnessStore;

mod common;
use common::{now_ms, start_stations};

/// Epoch 1 over the same witnesses with a seed that gives `account` another committee.
fn next_epoch(e0: &Epoch, account: &zeropole_core::crypto::AccountId) -> Epoch {
    let witnesses: Vec<_> = e0.witnesses().cloned().collect();
    let mut rules = e0.rules.clone();
    rules.epoch = 1;
    (0u8..=255)
        .map(|i| Epoch::new(rules.clone(), [i; 32], e0.n, witnesses.clone()))
        .find(|e1| {
            let (old, new) = (e0.committee(account), e1.committee(account));
            new.iter().filter(|w| !old.contains(w)).count() >= 2
        })
        .expect("a seed that moves the committee")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_after_an_epoch_change_is_certified_through_handovers() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let devnet = Devnet::generate(11, 6, 2, Some(4)).expect("devnet");
        let stations = start_stations(&devnet, |_| {}).await;
        let e0 = devnet.genesis.epoch0();
        let phone = Network::start::<SqliteWitnessStore>(
            NetConfig::phone(stations.addrs[..2].to_vec()),
            identity::Keypair::generate_ed25519(),
            e0.clone(),
            None,
        )
        .expect("phone");
        let mut keys = devnet.wallet_keys[0].clone();
        let account = keys.public_key().account_id();
        let to = devnet.wallet_keys[1].public_key().account_id();
        let mut state = devnet
            .genesis
            .genesis_states()
            .into_iter()
            .find(|(a, _)| *a == account)
            .map(|(_, s)| s)
            .expect("funded");

        // Epoch 0.
        let body =
            next_send(&state, 0, to, 1_000, vec![], now_ms(), DmappId::WALLET).expect("body");
        let block = body.sign(&mut keys).expect("signed");
        let cert0 = phone
            .submit(AttestRequest { block, send: None }, Vec::new())
            .await
            .expect("certified in epoch 0");
        assert_eq!(cert0.epoch, 0);
        state = apply_certified(&state, &cert0.block);

        // Every node moves to epoch 1.
        let e1 = next_epoch(&e0, &account);
        for handle in stations.handles.iter().flatten() {
            handle
                .advance_epoch(e1.clone())
                .await
                .expect("station advances");
        }
        phone
            .advance_epoch(e1.clone())
            .await
            .expect("phone advances");
        // Epochs only move forward, one at a time.
        assert!(phone.advance_epoch(e1.clone()).await.is_err());

        // Epoch 1: the new members need the old committee's handovers first.
        let body =
            next_send(&state, 1, to, 2_000, vec![], now_ms(), DmappId::WALLET).expect("body");
        let block = body.sign(&mut keys).expect("signed");
        let cert1 = phone
            .submit(AttestRequest { block, send: None }, vec![cert0.clone()])
            .await
            .expect("certified in epoch 1");
        assert_eq!((cert1.epoch, cert1.block.body.height), (1, 2));
        assert!(cert1.verify(&e1).is_ok());
        let mut requested = 0;
        for handle in stations.handles.iter().flatten() {
            requested += handle
                .status()
                .await
                .expect("status")
                .metrics
                .handovers_requested;
        }
        assert!(requested > 0, "the certificate came without any handover");
        // The head the new committee serves is the epoch-1 block, built on the epoch-0
        // certificate it took over.
        assert_eq!(
            phone
                .head(account)
                .await
                .expect("head")
                .map(|c| c.block.body.height),
            Some(2)
        );
    })
    .await
    .expect("bounded");
}
