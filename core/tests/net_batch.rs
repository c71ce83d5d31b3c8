//! Batched attestations over the network (DESIGN.md §4): four stations (witnesses, n = 4,
//! q = 3) on loopback and one phone submitting blocks of 16 accounts at once. A member
//! answers the attestation requests that reach it in one wake-up as one batch (every lock
//! stored in one transaction, one Merkle-root signature), the collecting station checks
//! each root signature once, and the certificates carry batch proofs. Bounded in time.

use std::time::Duration;

use libp2p::identity;
use zeropole_core::devnet::Devnet;
use zeropole_core::ledger::{next_send, DmappId};
use zeropole_core::net::{NetConfig, Network};
use zeropole_core::poc::AttestRequest;
use zeropole_core::store::SqliteWitnessStore;

mod common;
use common::{now_ms, start_stations};

const WALLETS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_blocks_are_attested_in_batches_and_certified() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let devnet = Devnet::generate(21, 4, WALLETS, None).expect("devnet");
        let stations = start_stations(&devnet, |_| {}).await;
        let epoch = devnet.genesis.epoch0();
        let phone = Network::start::<SqliteWitnessStore>(
            NetConfig::phone(stations.addrs[..1].to_vec()),
            identity::Keypair::generate_ed25519(),
            epoch.clone(),
            None,
        )
        .expect("phone");
        let states = devnet.genesis.genesis_states();
        let mut submissions = Vec::new();
        for (i, keys) in devnet.wallet_keys.iter().enumerate() {
            let mut keys = keys.clone();
            let account = keys.public_key().account_id();
            let state = states
                .iter()
                .find(|(a, _)| *a == account)
                .map(|(_, s)| s.clone())
                .expect("funded");
            let to = devnet.wallet_keys[(i + 1) % WALLETS]
                .public_key()
                .account_id();
            let body =
                next_send(&state, 0, to, 1_000, vec![], now_ms(), DmappId::WALLET).expect("body");
            let block = body.sign(&mut keys).expect("signed");
            let phone = phone.clone();
            submissions.push(tokio::spawn(async move {
                phone
                    .submit(AttestRequest { block, send: None }, Vec::new())
                    .await
            }));
        }
        let mut batched_certificates = 0;
        for s in submissions {
            let cert = s.await.expect("task").expect("certified");
            assert!(cert.verify(&epoch).is_ok());
            if cert.proofs.iter().any(|p| p.is_batch()) {
                batched_certificates += 1;
            }
        }
        let mut batches = 0;
        let mut batched_requests = 0;
        for h in stations.handles.iter().flatten() {
            let m = h.status().await.expect("status").metrics;
            batches += m.attest_batches;
            batched_requests += m.attest_batched_requests;
        }
        assert!(batches > 0, "no member answered a batch");
        assert!(batched_requests >= 2 * batches);
        assert!(
            batched_certificates > 0,
            "{batches} batches, but no certificate carries a batch proof"
        );
    })
    .await
    .expect("bounded");
}
