//! Push-token registrations at a station (DESIGN.md §7) over loopback: a station takes
//! a registration signed by the account's key, refuses an older change (so the phone
//! learns it did not take effect) and one dated in the future, acknowledges a replay of
//! what it holds, and takes a removal. Bounded in time.

use std::time::Duration;

use libp2p::identity;
use zeropole_core::crypto::KeyPair;
use zeropole_core::devnet::Devnet;
use zeropole_core::net::push::{PushPlatform, PushRegistration};
use zeropole_core::net::{NetConfig, NetError, Network};
use zeropole_core::store::SqliteWitnessStore;

mod common;
use common::{now_ms, start_stations};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_keeps_the_newest_signed_registration_and_says_when_it_refuses() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let devnet = Devnet::generate(31, 1, 1, None).expect("devnet");
        let stations = start_stations(&devnet, |_| {}).await;
        let phone = Network::start::<SqliteWitnessStore>(
            NetConfig::phone(stations.addrs.clone()),
            identity::Keypair::generate_ed25519(),
            devnet.genesis.epoch0(),
            None,
        )
        .expect("phone");
        let mut keys: KeyPair = devnet.wallet_keys[0].clone();
        let t = now_ms();
        let reg = |keys: &mut KeyPair, token: &str, at: u64| {
            PushRegistration::sign(keys, PushPlatform::Fcm, token, at).expect("signed")
        };
        let first = reg(&mut keys, "token-a", t);
        phone.register_push(first.clone()).await.expect("taken");
        // The same registration again (a replay, or a retry): acknowledged.
        phone
            .register_push(first)
            .await
            .expect("replay acknowledged");
        // An older change: refused, the phone must not believe it took effect.
        let older = phone
            .register_push(reg(&mut keys, "token-b", t - 1_000))
            .await;
        assert!(
            matches!(older, Err(NetError::Peer(_)) | Err(NetError::NoStation(_))),
            "{older:?}"
        );
        // Dated an hour ahead: refused.
        let future = phone
            .register_push(reg(&mut keys, "token-c", t + 3_600_000))
            .await;
        assert!(future.is_err(), "{future:?}");
        // A newer change and a removal are taken.
        phone
            .register_push(reg(&mut keys, "token-d", t + 1))
            .await
            .expect("newer taken");
        phone
            .register_push(reg(&mut keys, "", t + 2))
            .await
            .expect("removal taken");
        // Signed by another key for this account: the signature does not verify.
        let mut forged = reg(&mut keys, "token-e", t + 3);
        forged.public_key = KeyPair::from_seed(&[9; 32])
            .expect("keys")
            .public_key()
            .clone();
        assert!(phone.register_push(forged).await.is_err());
    })
    .await
    .expect("bounded");
}
