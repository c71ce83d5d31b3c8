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
//! - a station killed mid-run: the phone fails over to its other home station.
//!
//! Needs root, `ip` and `nft` (see tests/netlab.rs for the skip rule). Every wait is
//! bounded; the lab kills its processes and deletes its namespaces on drop.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use libp2p::PeerId;
use zeropole::netlab::{check_available, Host, Lab, NatKind};
use zeropole_core::devnet::Devnet;

const SEED: u64 = 42;
const STATIONS: usize = 4;
const WALLETS: usize = 4;
const PORT: u16 = 4001;
const WAIT: Duration = Duration::from_secs(30);

fn lab(name: &str) -> Option<Lab> {
    if let Err(why) = check_available() {
        if std::env::var("ZEROPOLE_NETLAB_REQUIRED").as_deref() == Ok("1") {
            panic!("netlab required (ZEROPOLE_NETLAB_REQUIRED=1) but unavailable: {why}");
        }
        let _ = writeln!(std::io::stderr(), "skipped: {name}: {why}");
        return None;
    }
    Some(Lab::new(name).unwrap_or_else(|e| panic!("cannot build lab {name}: {e}")))
}

fn peer(role: &str, index: usize) -> PeerId {
    Devnet::transport_key(SEED, role, index)
        .public()
        .to_peer_id()
}

/// The devnet's genesis, written once so every node shares it (witness ids cover the
/// randomized admission signatures, so each process must not build its own).
fn genesis_file() -> &'static std::path::Path {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let devnet = Devnet::generate(SEED, STATIONS, WALLETS, None).expect("devnet");
        // In cargo's per-target scratch directory (under target/), one per test process.
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("nat-lab-genesis-{}.toml", std::process::id()));
        std::fs::write(&path, devnet.genesis.to_toml_string()).expect("write genesis");
        path
    })
}

/// A running `zeropole lab-node`: its stdin, and its stdout lines.
struct Node {
    name: String,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// `EVENT` lines read while waiting for something else (events race with answers).
    events: Vec<String>,
    pid: u32,
}

impl Node {
    fn start(lab: &mut Lab, host: &Host, name: &str, args: &[String]) -> Node {
        let mut cmd: Command = host
            .command(env!("CARGO_BIN_EXE_zeropole"))
            .expect("command");
        cmd.arg("lab-node")
            .args(["--seed", &SEED.to_string()])
            .args(["--stations", &STATIONS.to_string()])
            .args(["--wallets", &WALLETS.to_string()])
            .arg("--genesis")
            .arg(genesis_file())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = host.spawn(cmd).expect("spawn lab-node");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        let label = name.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[{label}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = lab.adopt(child);
        let mut node = Node {
            name: name.to_string(),
            stdin,
            lines,
            events: Vec::new(),
            pid,
        };
        node.expect("READY");
        node
    }

    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("write command");
        self.stdin.flush().expect("flush");
    }

    /// The first line starting with `prefix` (earlier lines are skipped, events kept for
    /// later expectations), within `WAIT`.
    fn expect(&mut self, prefix: &str) -> String {
        self.expect_any(&[prefix])
    }

    /// Sends `command` and returns its answer line (one of `prefixes`).
    fn ask(&mut self, command: &str, answer: &str) -> String {
        self.send(command);
        let line = self.expect_any(&[answer, "ERROR"]);
        assert!(
            line.starts_with(answer),
            "{}: `{command}` → {line}",
            self.name
        );
        line
    }

    fn expect_any(&mut self, prefixes: &[&str]) -> String {
        self.expect_any_within(prefixes, WAIT)
    }

    fn expect_any_within(&mut self, prefixes: &[&str], bound: Duration) -> String {
        let wanted = |line: &str| prefixes.iter().any(|p| line.starts_with(p));
        if let Some(i) = self.events.iter().position(|l| wanted(l)) {
            return self.events.remove(i);
        }
        let deadline = std::time::Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(line) if line.starts_with("EVENT") => self.events.push(line),
                Ok(_) => continue,
                Err(_) => panic!("{}: none of {prefixes:?} within {bound:?}", self.name),
            }
        }
    }
}

fn quic(host: &Host, peer: PeerId) -> String {
    format!("/ip4/{}/udp/{PORT}/quic-v1/p2p/{peer}", host.ip())
}

fn tcp(host: &Host, peer: PeerId) -> String {
    format!("/ip4/{}/tcp/{PORT}/p2p/{peer}", host.ip())
}

/// Four stations on the public segment, each knowing the ones started before it.
fn stations(lab: &mut Lab) -> (Vec<Host>, Vec<Node>) {
    let mut hosts = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..STATIONS {
        let host = lab.public_host(&format!("st{i}")).expect("public host");
        let mut args: Vec<String> = vec![
            "--role".into(),
            "station".into(),
            "--index".into(),
            i.to_string(),
            "--listen".into(),
            format!("/ip4/0.0.0.0/udp/{PORT}/quic-v1"),
            "--listen".into(),
            format!("/ip4/0.0.0.0/tcp/{PORT}"),
            "--external".into(),
            format!("/ip4/{}/udp/{PORT}/quic-v1", host.ip()),
            "--external".into(),
            format!("/ip4/{}/tcp/{PORT}", host.ip()),
        ];
        for (j, h) in hosts.iter().enumerate() {
            args.push("--peer".into());
            args.push(quic(h, peer("station", j)));
        }
        let node = Node::start(lab, &host, &format!("station{i}"), &args);
        hosts.push(host);
        nodes.push(node);
    }
    for node in &mut nodes {
        // Every station learns every witness's record (bounded).
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let line = node.ask("status", "STATUS");
            if line.contains(&format!("witnesses={STATIONS}")) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: {line}",
                node.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    (hosts, nodes)
}

/// A phone (wallet `index`) at `host`, home stations 0 and 1, listening on UDP (Full
/// profile on Wi-Fi) and keeping reservations.
fn phone(lab: &mut Lab, host: &Host, index: usize, stations: &[Host]) -> Node {
    let args: Vec<String> = vec![
        "--role".into(),
        "phone".into(),
        "--index".into(),
        index.to_string(),
        "--listen".into(),
        "/ip4/0.0.0.0/udp/0/quic-v1".into(),
        "--reserve".into(),
        "--peer".into(),
        quic(&stations[0], peer("station", 0)),
        "--peer".into(),
        tcp(&stations[0], peer("station", 0)),
        "--peer".into(),
        quic(&stations[1], peer("station", 1)),
    ];
    Node::start(lab, host, &format!("phone{index}"), &args)
}

fn wait_reservations(node: &mut Node, n: usize) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let line = node.ask("status", "STATUS");
        if line.contains(&format!("reservations={n}")) {
            assert!(
                line.contains("kad_server=false"),
                "phones stay kad clients: {line}"
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}: {line}",
            node.name
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_nat_phone_reaches_the_network_through_a_station_and_transfers() {
    let Some(mut lab) = lab("natreach") else {
        return;
    };
    let (hosts, _stations) = stations(&mut lab);
    let router = lab.nat_router("home", NatKind::Easy).expect("router");
    let host = lab.host_behind(&router, "ph0").expect("phone host");
    let mut alice = phone(&mut lab, &host, 0, &hosts);
    wait_reservations(&mut alice, 2);
    let line = alice.ask("send 1 5000", "CERTIFIED");
    assert!(line.contains("height=1"), "{line}");
    // The recipient, behind a hard NAT, receives it.
    let hard = lab.nat_router("cell", NatKind::Hard).expect("router");
    let host_b = lab.host_behind(&hard, "ph1").expect("phone host");
    let mut bob = phone(&mut lab, &host_b, 1, &hosts);
    let line = bob.ask("receive", "RECEIVED");
    assert!(line.contains("count=1"), "{line}");
}

fn circuit_between(lab: &mut Lab, kind: NatKind, name: &str) -> (Node, Node, Vec<Node>) {
    let (hosts, stations) = stations(lab);
    let ra = lab.nat_router(&format!("{name}a"), kind).expect("router");
    let rb = lab.nat_router(&format!("{name}b"), kind).expect("router");
    let ha = lab.host_behind(&ra, "pa").expect("host");
    let hb = lab.host_behind(&rb, "pb").expect("host");
    let mut a = phone(lab, &ha, 0, &hosts);
    let mut b = phone(lab, &hb, 1, &hosts);
    wait_reservations(&mut a, 2);
    wait_reservations(&mut b, 2);
    let circuit = format!(
        "{}/p2p-circuit/p2p/{}",
        quic(&hosts[0], peer("station", 0)),
        peer("phone", 1)
    );
    a.ask(&format!("dial {circuit}"), "DIALING");
    let line = a.expect(&format!("EVENT connected peer={}", peer("phone", 1)));
    assert!(
        line.contains("relayed=true"),
        "first over the relay: {line}"
    );
    (a, b, stations)
}

#[test]
fn two_easy_nat_phones_upgrade_a_relayed_connection_to_direct() {
    let Some(mut lab) = lab("dcutreasy") else {
        return;
    };
    let (mut a, mut b, _stations) = circuit_between(&mut lab, NatKind::Easy, "easy");
    let line = b.expect_any(&["EVENT hole-punched", "EVENT hole-punch-failed"]);
    let other = a.expect_any(&["EVENT hole-punched", "EVENT hole-punch-failed"]);
    assert!(
        line.starts_with("EVENT hole-punched") || other.starts_with("EVENT hole-punched"),
        "easy NATs must hole-punch: {line} / {other}"
    );
    let direct = a.expect(&format!("EVENT connected peer={}", peer("phone", 1)));
    assert!(direct.contains("relayed=false"), "{direct}");
}

#[test]
fn two_hard_nat_phones_cannot_punch_and_keep_working_over_the_relay() {
    let Some(mut lab) = lab("dcuthard") else {
        return;
    };
    let (mut a, mut b, _stations) = circuit_between(&mut lab, NatKind::Hard, "hard");
    // DCUtR runs from the side that accepted the relayed connection (b) and makes three
    // attempts before it gives up.
    let line = b.expect_any_within(
        &["EVENT hole-punched", "EVENT hole-punch-failed"],
        Duration::from_secs(120),
    );
    assert!(line.starts_with("EVENT hole-punch-failed"), "{line}");
    // Still on the relay, and the POC path (through home stations) keeps working.
    let line = a.ask("send 1 7000", "CERTIFIED");
    assert!(line.contains("height=1"), "{line}");
    let line = b.ask("receive", "RECEIVED");
    assert!(line.contains("count=1"), "{line}");
}

#[test]
fn a_phone_moved_to_another_nat_is_reachable_again_and_transfers() {
    let Some(mut lab) = lab("natswitch") else {
        return;
    };
    let (hosts, _stations) = stations(&mut lab);
    let wifi = lab.nat_router("wifi", NatKind::Easy).expect("router");
    let cell = lab.nat_router("cell", NatKind::Hard).expect("router");
    let mut host = lab.host_behind(&wifi, "ph0").expect("host");
    let mut alice = phone(&mut lab, &host, 0, &hosts);
    wait_reservations(&mut alice, 2);
    alice.ask("send 1 5000", "CERTIFIED");
    let mut recoveries = Vec::new();
    for (round, to) in [&cell, &wifi, &cell].into_iter().enumerate() {
        let before = host.ip();
        lab.move_host(&mut host, to).expect("move");
        assert_ne!(host.ip(), before, "the address changed");
        alice.ask("network-changed", "CHANGING");
        let line = alice.expect("EVENT reachable");
        let ms: u64 = line
            .rsplit("ms=")
            .next()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("bad line {line}"));
        recoveries.push(ms);
        let line = alice.ask(&format!("send 1 {}", 5000 + round), "CERTIFIED");
        assert!(line.contains(&format!("height={}", round + 2)), "{line}");
    }
    eprintln!("reachable again after a switch (ms): {recoveries:?}");
}

#[test]
fn a_phone_fails_over_when_its_station_is_killed() {
    let Some(mut lab) = lab("failover") else {
        return;
    };
    let (hosts, stations) = stations(&mut lab);
    let router = lab.nat_router("home", NatKind::Easy).expect("router");
    let host = lab.host_behind(&router, "ph0").expect("host");
    let mut alice = phone(&mut lab, &host, 0, &hosts);
    wait_reservations(&mut alice, 2);
    alice.ask("send 1 5000", "CERTIFIED");
    // Kill station 0 (a home station and a committee member; q = 3 of the other three).
    let victim = stations[0].pid;
    // SAFETY-free: plain kill(2) of a process this test started.
    let rc = std::process::Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .expect("kill");
    assert!(rc.success());
    let line = alice.ask("send 1 6000", "CERTIFIED");
    assert!(line.contains("height=2"), "{line}");
    wait_reservations(&mut alice, 1);
}
