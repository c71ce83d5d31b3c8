//! Real libp2p nodes in the namespace NAT lab (DESIGN.md §6, issue 4): four stations on
//! the public segment (witnesses, n = 4, q = 3) and phones behind easy
//! (endpoint-independent) and hard (endpoint-dependent) NATs, each a `zeropole lab-node`
//! process in its own namespace with real sockets.
//!
//! - a NAT'd phone reaches the network through a station, holds reservations on two
//!   stations, stays a kad client, and gets a transfer certified;
//! - two easy-NAT phones connect through a relay circuit and DCUtR upgrades it to direct;
//! - two hard-NAT phones cannot hole-punch and keep working over the relay;
//! - a phone moved to another NAT (the Wi-Fi → cellular switch) is reachable again after
//!   `network_changed()` and completes a transfer;
//! - a station killed mid-run: the phone fails over to its other home station; when the
//!   station restarts, the phone holds its reservation there again.
//!
//! Needs root, `ip` and `nft` (see tests/netlab.rs for the skip rule). Every wait is
//! bounded; the lab kills its processes and deletes its namespaces on drop. Set
//! `ZEROPOLE_LAB_ECHO=1` to see every node's output.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use zeropole::netlab::nodes::{expect_either, field, start_phone, start_stations, Devlab, LabNode};
use zeropole::netlab::{check_available, Lab, NatKind};

fn lab(name: &str) -> Option<(Lab, Devlab)> {
    if let Err(why) = check_available() {
        if std::env::var("ZEROPOLE_NETLAB_REQUIRED").as_deref() == Ok("1") {
            panic!("netlab required (ZEROPOLE_NETLAB_REQUIRED=1) but unavailable: {why}");
        }
        let _ = writeln!(std::io::stderr(), "skipped: {name}: {why}");
        return None;
    }
    let lab = Lab::new(name).unwrap_or_else(|e| panic!("cannot build lab {name}: {e}"));
    // cargo's scratch directory for integration tests (under target/), one file per lab.
    let genesis = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("nat-lab-{name}-{}.toml", std::process::id()));
    let devlab = Devlab::new(
        42,
        4,
        4,
        genesis,
        PathBuf::from(env!("CARGO_BIN_EXE_zeropole")),
    )
    .expect("devnet");
    Some((lab, devlab))
}

fn ok<T>(r: Result<T, zeropole::netlab::LabError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn ready_phone(
    lab: &mut Lab,
    devlab: &Devlab,
    host: &zeropole::netlab::Host,
    index: usize,
    stations: &[zeropole::netlab::Host],
) -> LabNode {
    let mut phone = ok(start_phone(lab, devlab, host, index, stations));
    // Reservations on both home stations, and kad pinned to client mode although a
    // relayed address is now confirmed as external.
    let line = ok(phone.wait_status("reservations=2"));
    assert!(line.contains("kad_server=false"), "{line}");
    phone
}

#[test]
fn a_nat_phone_reaches_the_network_through_a_station_and_transfers() {
    let Some((mut lab, devlab)) = lab("natreach") else {
        return;
    };
    let (hosts, _stations) = ok(start_stations(&mut lab, &devlab));
    let router = ok(lab.nat_router("home", NatKind::Easy));
    let host = ok(lab.host_behind(&router, "ph0"));
    let mut alice = ready_phone(&mut lab, &devlab, &host, 0, &hosts);
    let line = ok(alice.ask("send 1 5000", "CERTIFIED"));
    assert_eq!(field(&line, "height"), Some(1), "{line}");
    // The recipient, behind a hard NAT, receives it.
    let hard = ok(lab.nat_router("cell", NatKind::Hard));
    let host_b = ok(lab.host_behind(&hard, "ph1"));
    let mut bob = ready_phone(&mut lab, &devlab, &host_b, 1, &hosts);
    let line = ok(bob.ask("receive", "RECEIVED"));
    assert_eq!(field(&line, "count"), Some(1), "{line}");
}

fn circuit_between(
    lab: &mut Lab,
    devlab: &Devlab,
    kind: NatKind,
    name: &str,
) -> (LabNode, LabNode, Vec<LabNode>) {
    let (hosts, stations) = ok(start_stations(lab, devlab));
    let ra = ok(lab.nat_router(&format!("{name}a"), kind));
    let rb = ok(lab.nat_router(&format!("{name}b"), kind));
    let ha = ok(lab.host_behind(&ra, "pa"));
    let hb = ok(lab.host_behind(&rb, "pb"));
    let mut a = ready_phone(lab, devlab, &ha, 0, &hosts);
    let b = ready_phone(lab, devlab, &hb, 1, &hosts);
    let circuit = format!(
        "{}/p2p-circuit/p2p/{}",
        devlab.quic(&hosts[0], 0),
        devlab.peer("phone", 1)
    );
    ok(a.ask(&format!("dial {circuit}"), "DIALING"));
    let line = ok(a.expect(&format!("EVENT connected peer={}", devlab.peer("phone", 1))));
    assert!(
        line.contains("relayed=true"),
        "first over the relay: {line}"
    );
    (a, b, stations)
}

const PUNCH: [&str; 2] = ["EVENT hole-punched", "EVENT hole-punch-failed"];
/// DCUtR tries three times before it gives up.
const PUNCH_BOUND: Duration = Duration::from_secs(120);

#[test]
fn two_easy_nat_phones_upgrade_a_relayed_connection_to_direct() {
    let Some((mut lab, devlab)) = lab("dcutreasy") else {
        return;
    };
    let (mut a, mut b, _stations) = circuit_between(&mut lab, &devlab, NatKind::Easy, "easy");
    let line = ok(expect_either(&mut a, &mut b, &PUNCH, PUNCH_BOUND));
    assert!(
        line.starts_with("EVENT hole-punched"),
        "easy NATs must hole-punch: {line}"
    );
    let direct = ok(a.expect(&format!("EVENT connected peer={}", devlab.peer("phone", 1))));
    assert!(direct.contains("relayed=false"), "{direct}");
}

#[test]
fn two_hard_nat_phones_cannot_punch_and_keep_working_over_the_relay() {
    let Some((mut lab, devlab)) = lab("dcuthard") else {
        return;
    };
    let (mut a, mut b, _stations) = circuit_between(&mut lab, &devlab, NatKind::Hard, "hard");
    let line = ok(expect_either(&mut a, &mut b, &PUNCH, PUNCH_BOUND));
    assert!(line.starts_with("EVENT hole-punch-failed"), "{line}");
    // Still on the relay, and the POC path (through home stations) keeps working.
    let line = ok(a.ask("send 1 7000", "CERTIFIED"));
    assert_eq!(field(&line, "height"), Some(1), "{line}");
    let line = ok(b.ask("receive", "RECEIVED"));
    assert_eq!(field(&line, "count"), Some(1), "{line}");
}

#[test]
fn a_phone_moved_to_another_nat_is_reachable_again_and_transfers() {
    let Some((mut lab, devlab)) = lab("natswitch") else {
        return;
    };
    let (hosts, _stations) = ok(start_stations(&mut lab, &devlab));
    let wifi = ok(lab.nat_router("wifi", NatKind::Easy));
    let cell = ok(lab.nat_router("cell", NatKind::Hard));
    let mut host = ok(lab.host_behind(&wifi, "ph0"));
    let mut alice = ready_phone(&mut lab, &devlab, &host, 0, &hosts);
    ok(alice.ask("send 1 5000", "CERTIFIED"));
    let mut recoveries = Vec::new();
    for (round, to) in [&cell, &wifi, &cell].into_iter().enumerate() {
        let before = host.ip();
        ok(lab.move_host(&mut host, to));
        assert_ne!(host.ip(), before, "the address changed");
        ok(alice.ask("network-changed", "CHANGING"));
        let line = ok(alice.expect("EVENT reachable"));
        recoveries.push(field(&line, "ms").unwrap_or_else(|| panic!("bad line {line}")));
        let line = ok(alice.ask(&format!("send 1 {}", 5000 + round), "CERTIFIED"));
        assert_eq!(field(&line, "height"), Some(round as u64 + 2), "{line}");
    }
    eprintln!("reachable again after a switch (ms): {recoveries:?}");
}

#[test]
fn a_phone_fails_over_when_its_station_is_killed() {
    let Some((mut lab, devlab)) = lab("failover") else {
        return;
    };
    let (hosts, stations) = ok(start_stations(&mut lab, &devlab));
    let router = ok(lab.nat_router("home", NatKind::Easy));
    let host = ok(lab.host_behind(&router, "ph0"));
    let mut alice = ready_phone(&mut lab, &devlab, &host, 0, &hosts);
    ok(alice.ask("send 1 5000", "CERTIFIED"));
    // Kill station 0: a home station and a committee member (q = 3 of the other three).
    let killed = std::process::Command::new("kill")
        .args(["-9", &stations[0].pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let line = ok(alice.ask("send 1 6000", "CERTIFIED"));
    assert_eq!(field(&line, "height"), Some(2), "{line}");
    // The dead station's reservation is dropped; the other one is kept.
    ok(alice.wait_status("reservations=1"));
    // The station restarts (same identity, same witness store): the phone redials it
    // and holds two reservations again.
    let peers: Vec<(usize, &zeropole::netlab::Host)> = hosts.iter().enumerate().skip(1).collect();
    let args = zeropole::netlab::nodes::station_args(&devlab, 0, &hosts[0], &peers);
    let _restarted = ok(LabNode::start(
        &mut lab,
        &devlab,
        &hosts[0],
        "station0-again",
        &args,
    ));
    ok(alice.wait_status("reservations=2"));
    let line = ok(alice.ask("send 1 7000", "CERTIFIED"));
    assert_eq!(field(&line, "height"), Some(3), "{line}");
}
