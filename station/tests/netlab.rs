//! The network-namespace NAT lab behaves as the multi-node tests need: NAT'd hosts reach
//! public hosts and are seen as their router, unsolicited inbound fails, easy NAT maps
//! endpoint-independently and hole-punches, hard NAT does neither, hosts move between
//! routers, and nothing is left behind.
//!
//! Needs root, `ip` and `nft`; without them each test prints `skipped: <reason>` on stderr
//! and passes, unless `ZEROPOLE_NETLAB_REQUIRED=1` (set by scripts/test.sh), which turns a
//! skip into a failure. Every probe is bounded by a timeout (bounds only, never asserted).
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zeropole::netlab::{
    check_available, list_namespaces, wait_output, Host, Lab, NatKind, Probe, PunchOutcome,
    NS_PREFIX, TCP_PORT, UDP_PORT,
};

/// Bound for probes expected to succeed.
const OK: Duration = Duration::from_secs(5);
/// Bound for probes expected to get nothing back.
const NOTHING: Duration = Duration::from_millis(1500);

/// Whether labs can be built here; if not, says `skipped: <reason>` loudly (or fails when
/// `ZEROPOLE_NETLAB_REQUIRED=1`).
fn available(test: &str) -> bool {
    match check_available() {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("ZEROPOLE_NETLAB_REQUIRED").as_deref() == Ok("1") {
                panic!("netlab required (ZEROPOLE_NETLAB_REQUIRED=1) but unavailable: {why}");
            }
            // Straight to stderr, past the test harness's capture.
            let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
            false
        }
    }
}

/// A lab, or `None` (after a loud `skipped:`) where namespaces cannot be made.
fn lab(name: &str) -> Option<Lab> {
    if !available(name) {
        return None;
    }
    Some(Lab::new(name).unwrap_or_else(|e| panic!("cannot build lab {name}: {e}")))
}

fn probe() -> Probe {
    Probe::new(env!("CARGO_BIN_EXE_zeropole"))
}

fn at(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// A public observer host running the UDP (rendezvous) and TCP observer servers.
fn observer(lab: &mut Lab, p: &Probe, name: &str) -> Host {
    let host = lab.public_host(name).expect("public host");
    lab.adopt(p.udp_server(&host, UDP_PORT).expect("udp server"));
    lab.adopt(p.tcp_server(&host, TCP_PORT).expect("tcp server"));
    host
}

#[test]
fn nat_hosts_reach_a_public_host_over_udp_and_tcp_and_are_seen_as_their_router() {
    let Some(mut lab) = lab("outbound") else {
        return;
    };
    let p = probe();
    let station = observer(&mut lab, &p, "station");
    for kind in [NatKind::Easy, NatKind::Hard] {
        let router = lab.nat_router(kind.label(), kind).unwrap();
        let phone = lab
            .host_behind(&router, &format!("{}phone", kind.label()))
            .unwrap();
        assert_ne!(phone.ip(), router.public_ip());

        let udp = p
            .udp_observe(&phone, 40000, &[at(station.ip(), UDP_PORT)], OK)
            .unwrap();
        let seen = udp[0].unwrap_or_else(|| panic!("{kind:?}: no UDP answer from the station"));
        assert_eq!(seen.ip(), router.public_ip(), "{kind:?} UDP source");

        let tcp = p
            .tcp_observe(&phone, at(station.ip(), TCP_PORT), OK)
            .unwrap();
        let seen = tcp.unwrap_or_else(|| panic!("{kind:?}: no TCP connection to the station"));
        assert_eq!(seen.ip(), router.public_ip(), "{kind:?} TCP source");
    }
}

#[test]
fn unsolicited_inbound_to_a_nat_host_does_not_arrive() {
    let Some(mut lab) = lab("inbound") else {
        return;
    };
    let p = probe();
    let outsider = lab.public_host("outsider").unwrap();
    for kind in [NatKind::Easy, NatKind::Hard] {
        let router = lab.nat_router(kind.label(), kind).unwrap();
        let phone = lab
            .host_behind(&router, &format!("{}phone", kind.label()))
            .unwrap();
        let neighbour = lab
            .host_behind(&router, &format!("{}nb", kind.label()))
            .unwrap();
        lab.adopt(p.udp_server(&phone, 4000).unwrap());
        lab.adopt(p.tcp_server(&phone, 4000).unwrap());

        // Control: the servers run and answer on the LAN.
        let lan = p
            .udp_observe(&neighbour, 40000, &[at(phone.ip(), 4000)], OK)
            .unwrap();
        assert_eq!(
            lan[0],
            Some(at(neighbour.ip(), 40000)),
            "{kind:?} LAN control"
        );
        let lan = p.tcp_observe(&neighbour, at(phone.ip(), 4000), OK).unwrap();
        assert!(lan.is_some(), "{kind:?} LAN TCP control");

        // From the public side: the router's public address, and the private one.
        let targets = [at(router.public_ip(), 4000), at(phone.ip(), 4000)];
        let udp = p.udp_observe(&outsider, 40000, &targets, NOTHING).unwrap();
        assert_eq!(udp, vec![None, None], "{kind:?}: unsolicited UDP arrived");
        for target in targets {
            let tcp = p.tcp_observe(&outsider, target, NOTHING).unwrap();
            assert_eq!(tcp, None, "{kind:?}: unsolicited TCP to {target} connected");
        }
    }
}

#[test]
fn easy_nat_maps_one_socket_to_the_same_external_port_for_every_destination() {
    let Some(mut lab) = lab("eim") else {
        return;
    };
    let p = probe();
    let a = observer(&mut lab, &p, "obsa");
    let b = observer(&mut lab, &p, "obsb");
    let router = lab.nat_router("home", NatKind::Easy).unwrap();
    let phone = lab.host_behind(&router, "phone").unwrap();
    let targets = [at(a.ip(), UDP_PORT), at(b.ip(), UDP_PORT)];
    let seen = p.udp_observe(&phone, 40000, &targets, OK).unwrap();
    let (sa, sb) = (seen[0].expect("observer a"), seen[1].expect("observer b"));
    assert_eq!(sa, sb, "easy NAT: both observers see one external address");
    assert_eq!(sa.ip(), router.public_ip());
}

#[test]
fn hard_nat_maps_each_destination_to_its_own_external_port() {
    let Some(mut lab) = lab("edm") else {
        return;
    };
    let p = probe();
    let a = observer(&mut lab, &p, "obsa");
    let b = observer(&mut lab, &p, "obsb");
    lab.adopt(p.udp_server(&a, UDP_PORT + 1).unwrap());
    let router = lab.nat_router("cgnat", NatKind::Hard).unwrap();
    let phone = lab.host_behind(&router, "phone").unwrap();
    // Three destinations: ports are drawn at random, so two of them could (1 in ~64k) be
    // equal; three all equal would be a broken NAT, not chance.
    let targets = [
        at(a.ip(), UDP_PORT),
        at(b.ip(), UDP_PORT),
        at(a.ip(), UDP_PORT + 1),
    ];
    let seen = p.udp_observe(&phone, 40000, &targets, OK).unwrap();
    let mut ports = BTreeSet::new();
    for (t, s) in targets.iter().zip(&seen) {
        let s = s.unwrap_or_else(|| panic!("no answer from {t}"));
        assert_eq!(s.ip(), router.public_ip());
        ports.insert(s.port());
    }
    assert!(
        ports.len() > 1,
        "hard NAT reused one port for every destination: {seen:?}"
    );
}

/// Two hosts behind two routers of `kind` try to hole-punch through a public rendezvous;
/// returns both outcomes and both routers' public addresses.
fn punch(kind: NatKind) -> Option<([PunchOutcome; 2], [Ipv4Addr; 2])> {
    let mut lab = lab(&format!("punch{}", kind.label()))?;
    let p = probe();
    let rendezvous = observer(&mut lab, &p, "rendezvous");
    let r1 = lab.nat_router("r1", kind).unwrap();
    let r2 = lab.nat_router("r2", kind).unwrap();
    let a = lab.host_behind(&r1, "alice").unwrap();
    let b = lab.host_behind(&r2, "bob").unwrap();
    let bound = if kind == NatKind::Easy {
        OK
    } else {
        NOTHING * 2
    };
    let (oa, ob) = p
        .punch(&a, &b, at(rendezvous.ip(), UDP_PORT), bound)
        .unwrap();
    Some(([oa, ob], [r1.public_ip(), r2.public_ip()]))
}

#[test]
fn two_easy_nat_hosts_hole_punch_udp() {
    let Some(([a, b], [ra, rb])) = punch(NatKind::Easy) else {
        return;
    };
    // Each learned the other's mapping from the rendezvous and heard from exactly there:
    // the mapping towards the rendezvous is the one towards the peer (EIM).
    let (ma, mb) = (
        a.mapped.expect("alice registered"),
        b.mapped.expect("bob registered"),
    );
    assert_eq!((ma.ip(), mb.ip()), (ra.into(), rb.into()));
    assert_eq!((a.peer, b.peer), (Some(mb), Some(ma)));
    assert_eq!(a.punched, Some(mb), "alice hears bob");
    assert_eq!(b.punched, Some(ma), "bob hears alice");
}

#[test]
fn two_hard_nat_hosts_cannot_hole_punch_udp() {
    let Some(([a, b], _)) = punch(NatKind::Hard) else {
        return;
    };
    // Both got as far as punching (so the failure is the NATs', not the rendezvous')...
    assert!(a.peer.is_some() && b.peer.is_some(), "{a:?} {b:?}");
    // ...and nothing got through.
    assert_eq!((a.punched, b.punched), (None, None));
}

#[test]
fn a_moved_host_has_a_new_address_and_reaches_the_public_host_again() {
    let Some(mut lab) = lab("move") else {
        return;
    };
    let p = probe();
    let station = observer(&mut lab, &p, "station");
    let wifi = lab.nat_router("wifi", NatKind::Easy).unwrap();
    let cell = lab.nat_router("cell", NatKind::Hard).unwrap();
    let mut phone = lab.host_behind(&wifi, "phone").unwrap();
    let target = at(station.ip(), UDP_PORT);
    let before = p.udp_observe(&phone, 40000, &[target], OK).unwrap()[0];
    assert_eq!(before.map(|s| s.ip()), Some(wifi.public_ip().into()));

    let old = phone.ip();
    lab.move_host(&mut phone, &cell).unwrap();
    assert_ne!(phone.ip(), old);
    assert_eq!(phone.behind(), Some("cell"));
    let addrs = phone.addresses().unwrap();
    assert!(addrs.contains(&phone.ip()), "{addrs:?}");
    assert!(!addrs.contains(&old), "old address still there: {addrs:?}");

    let after = p.udp_observe(&phone, 40000, &[target], OK).unwrap()[0];
    assert_eq!(after.map(|s| s.ip()), Some(cell.public_ip().into()));
    let tcp = p
        .tcp_observe(&phone, at(station.ip(), TCP_PORT), OK)
        .unwrap();
    assert_eq!(tcp.map(|s| s.ip()), Some(cell.public_ip().into()));
}

#[test]
fn link_down_cuts_a_host_off_and_link_up_restores_it() {
    let Some(mut lab) = lab("link") else {
        return;
    };
    let p = probe();
    let station = observer(&mut lab, &p, "station");
    let router = lab.nat_router("home", NatKind::Easy).unwrap();
    let phone = lab.host_behind(&router, "phone").unwrap();
    let target = [at(station.ip(), UDP_PORT)];
    assert!(p.udp_observe(&phone, 40000, &target, OK).unwrap()[0].is_some());
    phone.link_down().unwrap();
    assert_eq!(
        p.udp_observe(&phone, 40000, &target, NOTHING).unwrap()[0],
        None
    );
    phone.link_up().unwrap();
    assert!(p.udp_observe(&phone, 40000, &target, OK).unwrap()[0].is_some());
}

#[test]
fn dropping_the_lab_kills_its_processes_and_removes_every_namespace() {
    let Some(mut lab) = lab("cleanup") else {
        return;
    };
    let _station = lab.public_host("station").unwrap();
    let router = lab.nat_router("home", NatKind::Hard).unwrap();
    let phone = lab.host_behind(&router, "phone").unwrap();
    let mut sleeper = Command::new("sleep");
    sleeper.arg("600").stdin(Stdio::null());
    let mut child = phone.spawn(sleeper).unwrap();
    let prefix = lab.prefix().to_string();
    let ours = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    assert_eq!(
        ours(list_namespaces().unwrap()).len(),
        4,
        "ix, station, home, phone"
    );
    assert_eq!(child.try_wait().unwrap(), None, "the sleeper runs");

    drop(lab);
    assert_eq!(ours(list_namespaces().unwrap()), Vec::<String>::new());
    // The lab SIGKILLed the sleeper: it has exited (polled within a bound).
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the sleeper outlived the lab");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "killed, not finished: {status}");
}

#[test]
fn a_new_lab_sweeps_namespaces_of_dead_processes_only() {
    if !available("sweep") {
        return;
    }
    // A pid that is certainly dead: a child we already reaped.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let stale = format!("{NS_PREFIX}{dead_pid}-0-stale");
    let alive = format!("{NS_PREFIX}{}-999999-alive", std::process::id());
    for ns in [&stale, &alive] {
        let st = Command::new("ip")
            .args(["netns", "add", ns])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {ns}");
    }

    let lab = lab("sweeper").expect("available a moment ago");
    let names = list_namespaces().unwrap();
    assert!(
        !names.contains(&stale),
        "stale namespace survived: {names:?}"
    );
    assert!(
        names.contains(&alive),
        "a live process's namespace was swept"
    );
    drop(lab);
    let st = Command::new("ip")
        .args(["netns", "del", &alive])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn netlab_check_reports_each_nat_kind_as_expected() {
    if !available("check") {
        return;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_zeropole"))
        .args(["netlab", "check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, Duration::from_secs(120), "zeropole netlab check").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("easy  yes"), "{stdout}");
    assert!(stdout.contains("hard  yes"), "{stdout}");
    assert!(!stdout.contains("UNEXPECTED"), "{stdout}");
}
