//! The routing-table broadcast on a real loopback devnet: 16 stations (libp2p swarms with
//! real sockets, SQLite witness stores) form the overlay from their peer records. A
//! broadcast reaches every station once, and after 3 of
//! the 16 (~20 %) go away it still reaches every online station; at most β + 1 copies
//! each (exactly β without churn). Prints copies per node and time
//! to full coverage; asserts only counts.

use std::time::{Duration, Instant};

use zeropole_core::broadcast::Payload;
use zeropole_core::devnet::Devnet;
use zeropole_core::net::NetHandle;

mod common;
use common::{start_stations, wait_for};

const STATIONS: usize = 16;
const BETA: u64 = 1;

async fn delivered(handles: &[NetHandle]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for h in handles {
        let m = h.status().await.expect("status").metrics;
        out.push((m.broadcast_delivered, m.broadcast_copies_in));
    }
    out
}

async fn broadcast_and_wait(
    from: &NetHandle,
    others: &[NetHandle],
    payload: &[u8],
    before: &[(u64, u64)],
) -> (Vec<u64>, Duration) {
    let started = Instant::now();
    from.broadcast(Payload::Opaque(payload.to_vec()))
        .await
        .expect("broadcast");
    wait_for("every online station to deliver the broadcast", || async {
        let now = delivered(others).await;
        now.iter().zip(before).all(|((d, _), (d0, _))| *d == d0 + 1)
    })
    .await;
    let elapsed = started.elapsed();
    // Late duplicates (retries) would show up within a few ack timeouts: let them land.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let after = delivered(others).await;
    for ((d, _), (d0, _)) in after.iter().zip(before) {
        assert_eq!(*d, d0 + 1, "delivered exactly once");
    }
    let copies = after
        .iter()
        .zip(before)
        .map(|((_, c), (_, c0))| c - c0)
        .collect();
    (copies, elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_covers_the_loopback_overlay_with_beta_copies_even_under_churn() {
    tokio::time::timeout(Duration::from_secs(90), scenario())
        .await
        .expect("bounded");
}

async fn scenario() {
    let devnet = Devnet::generate(21, STATIONS, 2, Some(4)).expect("devnet");
    // A generous acknowledgement timeout: this test is about copies and coverage, and a
    // loaded CI machine must not turn slow acks into retries (the simulator measures
    // the timeout's cost).
    let mut stations = start_stations(&devnet, |c| {
        c.broadcast.beta = BETA as usize;
        c.broadcast.ack_timeout = 3_000;
    })
    .await;
    let all: Vec<NetHandle> = stations.handles.iter().flatten().cloned().collect();

    // No churn: every other station gets exactly β copies.
    let others = &all[1..];
    let before = delivered(others).await;
    let (copies, elapsed) = broadcast_and_wait(&all[0], others, b"hello overlay", &before).await;
    eprintln!("loopback broadcast, {STATIONS} stations, no churn: copies per node {copies:?}, full coverage in {elapsed:?}");
    // β copies each when every acknowledgement arrives within its timeout; a slow one
    // (a loaded machine) makes the sender try another delegate: still ≤ β + 1 (§11).
    assert!(
        copies.iter().all(|c| *c >= 1 && *c <= BETA + 1),
        "{copies:?}"
    );

    // 3 of 16 stations go away (their swarms stop; the others' tables still list them).
    for i in [5, 9, 13] {
        stations.handles[i] = None;
    }
    let online: Vec<NetHandle> = stations
        .handles
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .filter_map(|(_, h)| h.clone())
        .collect();
    let sender = stations.handles[1].clone().expect("station 1");
    let before = delivered(&online).await;
    let (copies, elapsed) =
        broadcast_and_wait(&sender, &online, b"hello again, with churn", &before).await;
    eprintln!("loopback broadcast, 3 of {STATIONS} offline: copies per node {copies:?}, full coverage in {elapsed:?}");
    assert!(
        copies.iter().all(|c| *c >= 1 && *c <= BETA + 1),
        "{copies:?}"
    );
}

/// The baseline on the same loopback overlay: flooding (every node forwards every new
/// broadcast to every peer once) also covers everyone, at the cost of a copy from
/// (almost) every other station.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_baseline_on_the_same_loopback_overlay() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let devnet = Devnet::generate(22, STATIONS, 2, Some(4)).expect("devnet");
        let stations = start_stations(&devnet, |c| {
            c.broadcast.flood = true;
            c.broadcast.reliable = false;
        })
        .await;
        let all: Vec<NetHandle> = stations.handles.iter().flatten().cloned().collect();
        let others = &all[1..];
        let before = delivered(others).await;
        let (copies, elapsed) = broadcast_and_wait(&all[0], others, b"flood", &before).await;
        eprintln!("loopback flood, {STATIONS} stations: copies per node {copies:?}, full coverage in {elapsed:?}");
        let mean = copies.iter().sum::<u64>() as f64 / copies.len() as f64;
        assert!(mean > (BETA + 1) as f64, "flooding costs more than Kadcast: {copies:?}");
    })
    .await
    .expect("bounded");
}
