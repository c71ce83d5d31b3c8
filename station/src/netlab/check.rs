//! `zeropole netlab check`: builds one lab, probes each NAT kind and prints a table of
//! what was observed next to what the kind should do.

use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;
use std::time::Duration;

use super::{Lab, LabError, NatKind, Probe};

/// UDP observer/rendezvous port on public hosts.
pub const UDP_PORT: u16 = 3478;
/// TCP observer port on public hosts.
pub const TCP_PORT: u16 = 8080;
/// A port a NAT'd host listens on, for the unsolicited-inbound probes.
pub const INBOUND_PORT: u16 = 4000;

const TIMEOUT: Duration = Duration::from_secs(3);
/// Bound for probes that are expected to fail (nothing should arrive).
const SHORT: Duration = Duration::from_millis(1500);

/// What one NAT kind did, as measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// The NAT kind measured.
    pub kind: NatKind,
    /// A host behind it reached a public host over UDP and TCP.
    pub outbound: bool,
    /// The public host saw the router's public address as the source.
    pub sees_router_ip: bool,
    /// Two observers saw the same external port from one socket.
    pub endpoint_independent_mapping: bool,
    /// Unsolicited UDP and TCP from a public host to the router's public address and the
    /// host's listening port did not arrive.
    pub inbound_blocked: bool,
    /// Two hosts behind two routers of this kind hole-punched UDP.
    pub hole_punch: bool,
}

impl Behaviour {
    /// What a kind should do.
    pub fn expected(kind: NatKind) -> Behaviour {
        let easy = kind == NatKind::Easy;
        Behaviour {
            kind,
            outbound: true,
            sees_router_ip: true,
            endpoint_independent_mapping: easy,
            inbound_blocked: true,
            hole_punch: easy,
        }
    }
}

/// Measures `kind` in `lab`: adds two routers of that kind with one host each, and two
/// public observers (the first also the rendezvous).
pub fn survey(lab: &mut Lab, probe: &Probe, kind: NatKind) -> Result<Behaviour, LabError> {
    let tag = kind.label();
    let obs1 = lab.public_host(&format!("{tag}obs1"))?;
    let obs2 = lab.public_host(&format!("{tag}obs2"))?;
    let r1 = lab.nat_router(&format!("{tag}r1"), kind)?;
    let r2 = lab.nat_router(&format!("{tag}r2"), kind)?;
    let h1 = lab.host_behind(&r1, &format!("{tag}h1"))?;
    let h2 = lab.host_behind(&r2, &format!("{tag}h2"))?;
    for server in [
        probe.udp_server(&obs1, UDP_PORT)?,
        probe.udp_server(&obs2, UDP_PORT)?,
        probe.tcp_server(&obs1, TCP_PORT)?,
        probe.udp_server(&h1, INBOUND_PORT)?,
        probe.tcp_server(&h1, INBOUND_PORT)?,
    ] {
        lab.adopt(server);
    }
    let at = |ip, port| SocketAddr::V4(SocketAddrV4::new(ip, port));
    let o1 = at(obs1.ip(), UDP_PORT);
    let o2 = at(obs2.ip(), UDP_PORT);
    let seen = probe.udp_observe(&h1, 40000, &[o1, o2], TIMEOUT)?;
    let tcp = probe.tcp_observe(&h1, at(obs1.ip(), TCP_PORT), TIMEOUT)?;
    let outbound = seen[0].is_some() && tcp.is_some();
    let sees_router_ip = [seen[0], tcp]
        .iter()
        .all(|s| s.is_some_and(|a| a.ip() == r1.public_ip()));
    let endpoint_independent_mapping = match (seen[0], seen[1]) {
        (Some(a), Some(b)) => a.port() == b.port(),
        _ => false,
    };
    let udp_in = probe.udp_observe(&obs2, 40001, &[at(r1.public_ip(), INBOUND_PORT)], SHORT)?;
    let tcp_in = probe.tcp_observe(&obs2, at(r1.public_ip(), INBOUND_PORT), SHORT)?;
    let inbound_blocked = udp_in[0].is_none() && tcp_in.is_none();
    let (a, b) = probe.punch(&h1, &h2, o1, Duration::from_secs(4))?;
    Ok(Behaviour {
        kind,
        outbound,
        sees_router_ip,
        endpoint_independent_mapping,
        inbound_blocked,
        hole_punch: a.punched.is_some() && b.punched.is_some(),
    })
}

/// Runs the check and prints the table; exit 1 if any behaviour differs from its kind's.
pub fn run() -> ExitCode {
    match run_inner() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(LabError::Unavailable(why)) => {
            println!("skipped: {why}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner() -> Result<bool, LabError> {
    let probe = Probe::new(std::env::current_exe()?);
    let mut lab = Lab::new("check")?;
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!(
        "{:<5} {:<9} {:<15} {:<8} {:<16} {:<11} ok",
        "nat", "outbound", "sees router ip", "mapping", "inbound blocked", "hole punch"
    );
    let mut all_ok = true;
    for kind in [NatKind::Easy, NatKind::Hard] {
        let got = survey(&mut lab, &probe, kind)?;
        let ok = got == Behaviour::expected(kind);
        all_ok &= ok;
        let mapping = if got.endpoint_independent_mapping {
            "EIM"
        } else {
            "EDM"
        };
        println!(
            "{:<5} {:<9} {:<15} {:<8} {:<16} {:<11} {}",
            kind.label(),
            yes(got.outbound),
            yes(got.sees_router_ip),
            mapping,
            yes(got.inbound_blocked),
            yes(got.hole_punch),
            if ok { "ok" } else { "UNEXPECTED" }
        );
    }
    Ok(all_ok)
}
