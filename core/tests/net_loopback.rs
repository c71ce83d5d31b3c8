//! A real devnet on loopback: four stations (witnesses, n = 4, q = 3, each with its own
//! SQLite store) and two phones, every one a libp2p swarm with real sockets on
//! 127.0.0.1. A phone's transfer is certified through its home station, the recipient
//! finds it in its inbox and receives it, a bad block gets a typed refusal, and a phone
//! fails over when its first home station goes away. Bounded in time; temporary
//! directories and tasks are cleaned up when the test ends.

use std::time::Duration;

use libp2p::{identity, Multiaddr};
use zeropole_core::crypto::AccountId;
use zeropole_core::devnet::Devnet;
use zeropole_core::ledger::{apply_certified, next_receive, next_send, AccountState, DmappId};
use zeropole_core::net::{NetConfig, NetError, NetHandle, Network};
use zeropole_core::poc::{AttestRequest, Certificate};
use zeropole_core::store::SqliteWitnessStore;

const STATIONS: usize = 4;
const BOUND: Duration = Duration::from_secs(60);

mod common;
use common::{start_stations, wait_for};

struct Lab {
    stations: Vec<Option<NetHandle>>,
    station_addrs: Vec<Multiaddr>,
    devnet: Devnet,
    _dirs: Vec<tempfile::TempDir>,
}

async fn start_lab() -> Lab {
    let devnet = Devnet::generate(7, STATIONS, 2, None).expect("devnet");
    let stations = start_stations(&devnet, |_| {}).await;
    Lab {
        stations: stations.handles,
        station_addrs: stations.addrs,
        devnet,
        _dirs: stations.dirs,
    }
}

fn phone(home: Vec<Multiaddr>, lab: &Lab) -> NetHandle {
    Network::start::<SqliteWitnessStore>(
        NetConfig::phone(home),
        identity::Keypair::generate_ed25519(),
        lab.devnet.genesis.epoch0(),
        None,
    )
    .expect("phone")
}

fn state_of(lab: &Lab, wallet: usize) -> AccountState {
    let account = lab.devnet.wallet_keys[wallet].public_key().account_id();
    lab.devnet
        .genesis
        .genesis_states()
        .into_iter()
        .find(|(a, _)| *a == account)
        .map(|(_, s)| s)
        .expect("funded wallet")
}

fn account(lab: &Lab, wallet: usize) -> AccountId {
    lab.devnet.wallet_keys[wallet].public_key().account_id()
}

async fn send(
    lab: &mut Lab,
    handle: &NetHandle,
    state: &AccountState,
    from: usize,
    to: AccountId,
    amount: u64,
    history: Vec<Certificate>,
) -> Result<Certificate, NetError> {
    let body = next_send(state, 0, to, amount, vec![], 1, DmappId::WALLET).expect("send body");
    let block = body
        .sign(&mut lab.devnet.wallet_keys[from])
        .expect("signed");
    handle
        .submit(AttestRequest { block, send: None }, history)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_devnet_certifies_receives_refuses_and_fails_over() {
    tokio::time::timeout(BOUND, scenario())
        .await
        .expect("the loopback scenario finished in time");
}

async fn scenario() {
    let mut lab = start_lab().await;
    let alice = phone(
        vec![lab.station_addrs[0].clone(), lab.station_addrs[1].clone()],
        &lab,
    );
    let bob = phone(
        vec![lab.station_addrs[2].clone(), lab.station_addrs[3].clone()],
        &lab,
    );
    let (a, b) = (account(&lab, 0), account(&lab, 1));
    let mut alice_state = state_of(&lab, 0);
    let mut bob_state = state_of(&lab, 1);

    // 1. Alice → Bob, certified through Alice's home station.
    let cert = send(&mut lab, &alice, &alice_state, 0, b, 25_000, vec![])
        .await
        .expect("certified");
    assert_eq!(cert.block.body.account, a);
    assert!(cert.verify(&lab.devnet.genesis.epoch0()).is_ok());
    alice_state = apply_certified(&alice_state, &cert.block);

    // 2. Bob finds it in his inbox (through his own, different, home station) and
    //    receives it.
    let inbox = bob.inbox(b).await.expect("inbox");
    assert_eq!(inbox.len(), 1, "one certified send waits for Bob");
    assert_eq!(inbox[0].block_hash(), cert.block_hash());
    let body = next_receive(&bob_state, 0, &inbox[0], 2, DmappId::WALLET).expect("receive body");
    let block = body.sign(&mut lab.devnet.wallet_keys[1]).expect("signed");
    let received = bob
        .submit(
            AttestRequest {
                block,
                send: Some(inbox[0].clone()),
            },
            vec![],
        )
        .await
        .expect("receive certified");
    bob_state = apply_certified(&bob_state, &received.block);
    assert_eq!(bob_state.balance, 1_000_000_000 + 25_000);
    let head = bob.head(b).await.expect("head").expect("a head");
    assert_eq!(head.block_hash(), received.block_hash());
    wait_for("Bob's inbox to empty", || {
        let bob = bob.clone();
        async move { bob.inbox(b).await.expect("inbox").is_empty() }
    })
    .await;

    // 3. A block the committee must refuse (balance arithmetic wrong) gives a typed
    //    refusal, not a hang.
    let mut body = next_send(&alice_state, 0, b, 1_000, vec![], 3, DmappId::WALLET).expect("body");
    body.balance += 1;
    let block = body.sign(&mut lab.devnet.wallet_keys[0]).expect("signed");
    let refused = alice
        .submit(AttestRequest { block, send: None }, vec![cert.clone()])
        .await;
    assert!(
        matches!(&refused, Err(NetError::Refused(r)) if r.contains("balance")),
        "{refused:?}"
    );

    // An idle phone's network task sleeps: no timer of its own fires (it used to tick
    // four times a second).
    let before = bob.status().await.expect("status").metrics.timer_wakeups;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = bob.status().await.expect("status").metrics.timer_wakeups;
    assert_eq!(before, after, "an idle phone woke up for its own timers");

    // 4. Alice's first home station goes away: her next transfer goes through the second
    //    one, and the three remaining witnesses (q = 3) certify it.
    lab.stations[0] = None;
    let second = send(
        &mut lab,
        &alice,
        &alice_state,
        0,
        b,
        5_000,
        vec![cert.clone()],
    )
    .await
    .expect("certified through the second station");
    assert_eq!(second.block.body.height, 2);
}

/// Stations that only know the first station still learn every witness: peer records are
/// passed on (start_stations waits until every station knows all 6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_records_spread_through_a_star() {
    tokio::time::timeout(BOUND, async {
        let devnet = Devnet::generate(8, 6, 1, Some(4)).expect("devnet");
        let stations = start_stations(&devnet, |c| c.bootstrap.truncate(1)).await;
        assert_eq!(stations.handles.len(), 6);
    })
    .await
    .expect("bounded");
}
