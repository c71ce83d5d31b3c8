//! The lab: namespaces, veths, bridges, addresses and NAT rules, removed on drop.

use std::net::Ipv4Addr;
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use super::names::{check_name, destroy_namespace, new_lab_prefix, sweep_stale};
use super::nat::{ruleset, NatKind};
use super::sys::{enter_netns, is_root, run, run_in, wait_status};
use super::LabError;

/// The public segment: routers' WAN addresses are `198.18.0.<n>`, public hosts'
/// `198.18.1.<n>`, all on one bridge (RFC 2544 benchmarking space, never routed outside).
pub const PUBLIC_PREFIX_LEN: u8 = 16;
/// A NAT router's LAN is `10.<router>.0.0/24`, the router being `.1`.
pub const LAN_PREFIX_LEN: u8 = 24;

/// A network-namespace lab: one "public" bridge segment (in its own namespace) joining
/// public hosts and NAT routers, with hosts behind the routers.
///
/// Nothing is created or changed in the root namespace: veths are made inside the lab's
/// namespaces (`ip -n`). Dropping the lab kills every process left in its namespaces and
/// deletes them; [`Lab::new`] first sweeps namespaces left by dead processes.
#[derive(Debug)]
pub struct Lab {
    name: String,
    prefix: String,
    ix: String,
    namespaces: Vec<String>,
    adopted: Vec<Child>,
    routers: u8,
    hosts: u8,
}

/// A network namespace with one interface `eth0`: a public host or a host behind a router.
#[derive(Debug, Clone)]
pub struct Host {
    name: String,
    ns: String,
    ip: Ipv4Addr,
    gateway: Option<Ipv4Addr>,
    behind: Option<String>,
}

/// The nftables counters of [`Host::count_sent`].
const COUNT_RULES: &str = r#"table inet zpcount {
    chain out {
        type filter hook output priority 0; policy accept;
        meta l4proto udp counter comment "udp"
        meta l4proto tcp counter comment "tcp"
        meta l4proto { icmp, ipv6-icmp } counter comment "icmp"
    }
}
table arp zpcount {
    chain out {
        type filter hook output priority 0; policy accept;
        counter comment "arp"
    }
}
"#;

/// Packets a host sent, by origin ([`Host::sent_by_kind`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SentByKind {
    /// UDP and TCP: what its processes sent.
    pub transport: u64,
    /// ICMP and ICMPv6: what its kernel sent (errors for packets to sockets that are
    /// gone; IPv6 neighbour discovery unless [`Host::disable_ipv6`]).
    pub icmp: u64,
    /// ARP: its kernel's neighbour lookups.
    pub arp: u64,
}

impl SentByKind {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &SentByKind) -> SentByKind {
        SentByKind {
            transport: self.transport.saturating_sub(earlier.transport),
            icmp: self.icmp.saturating_sub(earlier.icmp),
            arp: self.arp.saturating_sub(earlier.arp),
        }
    }
}

/// A host's interface counters ([`Host::link_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent (IP packets with their Ethernet headers).
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
}

impl LinkStats {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &LinkStats) -> LinkStats {
        LinkStats {
            tx_packets: self.tx_packets.saturating_sub(earlier.tx_packets),
            tx_bytes: self.tx_bytes.saturating_sub(earlier.tx_bytes),
            rx_packets: self.rx_packets.saturating_sub(earlier.rx_packets),
            rx_bytes: self.rx_bytes.saturating_sub(earlier.rx_bytes),
        }
    }
}

/// A NAT router: `wan` on the public segment, a `lan` bridge for its hosts.
#[derive(Debug, Clone)]
pub struct Router {
    name: String,
    ns: String,
    kind: NatKind,
    index: u8,
    public_ip: Ipv4Addr,
}

/// Checks that a lab can be built here: root, `ip` and `nft` runnable, namespaces present.
pub fn check_available() -> Result<(), LabError> {
    if !is_root() {
        return Err(LabError::Unavailable("not running as root".into()));
    }
    if !std::path::Path::new("/proc/self/ns/net").exists() {
        return Err(LabError::Unavailable(
            "no network namespaces in this kernel".into(),
        ));
    }
    for (tool, arg) in [("ip", "-V"), ("nft", "--version")] {
        run(tool, &[arg], None)
            .map_err(|e| LabError::Unavailable(format!("`{tool}` is not usable: {e}")))?;
    }
    Ok(())
}

impl Lab {
    /// Creates an empty lab named `name` (1 to 16 of `[a-z0-9]`, for humans) with a unique
    /// namespace prefix, after sweeping stale namespaces of dead processes.
    pub fn new(name: &str) -> Result<Lab, LabError> {
        check_name(name)?;
        check_available()?;
        sweep_stale()?;
        let prefix = new_lab_prefix();
        let mut lab = Lab {
            name: name.to_string(),
            ix: format!("{prefix}ix"),
            prefix,
            namespaces: Vec::new(),
            adopted: Vec::new(),
            routers: 0,
            hosts: 0,
        };
        let ix = lab.add_namespace("ix")?;
        ip(&["-n", &ix, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &ix, "link", "set", "br0", "up"])?;
        Ok(lab)
    }

    /// The lab's human name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The prefix of every namespace of this lab (`zpnl-<pid>-<seq>-`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Adds a public host (e.g. a station): a routable `198.18.1.<n>/16` address on the
    /// public segment, no NAT, no default route beyond that segment.
    pub fn public_host(&mut self, name: &str) -> Result<Host, LabError> {
        let ns = self.add_namespace(name)?;
        let n = self.next_host()?;
        let ip4 = Ipv4Addr::new(198, 18, 1, n);
        let port = format!("p{n}");
        let ix = self.ix.clone();
        plug(&ix, &port, "br0", &ns, ip4, PUBLIC_PREFIX_LEN)?;
        Ok(Host {
            name: name.to_string(),
            ns,
            ip: ip4,
            gateway: None,
            behind: None,
        })
    }

    /// Adds a NAT router of `kind` with WAN address `198.18.0.<n>` and LAN `10.<n>.0.0/24`.
    /// It forwards its LAN's traffic out (masquerading) and drops unsolicited inbound.
    pub fn nat_router(&mut self, name: &str, kind: NatKind) -> Result<Router, LabError> {
        if self.routers >= 250 {
            return Err(LabError::Exhausted("at most 250 routers"));
        }
        let ns = self.add_namespace(name)?;
        self.routers += 1;
        let index = self.routers;
        let public_ip = Ipv4Addr::new(198, 18, 0, index);
        let ix = self.ix.clone();
        let port = format!("r{index}");
        ip(&[
            "-n", &ix, "link", "add", &port, "type", "veth", "peer", "name", "wan", "netns", &ns,
        ])?;
        ip(&["-n", &ix, "link", "set", &port, "master", "br0", "up"])?;
        let wan_cidr = format!("{public_ip}/{PUBLIC_PREFIX_LEN}");
        ip(&["-n", &ns, "addr", "add", &wan_cidr, "dev", "wan"])?;
        ip(&["-n", &ns, "link", "set", "wan", "up"])?;
        ip(&["-n", &ns, "link", "add", "lan", "type", "bridge"])?;
        let lan_cidr = format!("10.{index}.0.1/{LAN_PREFIX_LEN}");
        ip(&["-n", &ns, "addr", "add", &lan_cidr, "dev", "lan"])?;
        ip(&["-n", &ns, "link", "set", "lan", "up"])?;
        run_in(
            &ns,
            "sh",
            &["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"],
            None,
        )?;
        run_in(&ns, "nft", &["-f", "-"], Some(&ruleset(kind)))?;
        Ok(Router {
            name: name.to_string(),
            ns,
            kind,
            index,
            public_ip,
        })
    }

    /// Adds a host behind `router`: `10.<router>.0.<n>/24`, default route via the router.
    pub fn host_behind(&mut self, router: &Router, name: &str) -> Result<Host, LabError> {
        let ns = self.add_namespace(name)?;
        let (ip4, gateway) = self.attach(&ns, router)?;
        Ok(Host {
            name: name.to_string(),
            ns,
            ip: ip4,
            gateway: Some(gateway),
            behind: Some(router.name.clone()),
        })
    }

    /// Moves `host` behind `to` (a Wi-Fi to cellular switch): its interface is removed with
    /// its address and routes, and a new one comes up with a new address in `to`'s LAN and
    /// a default route via `to`. Processes in the host keep running; their sockets bound to
    /// the old address are stale, as on a phone.
    pub fn move_host(&mut self, host: &mut Host, to: &Router) -> Result<(), LabError> {
        ip(&["-n", &host.ns, "link", "del", "eth0"])?;
        let (ip4, gateway) = self.attach(&host.ns, to)?;
        host.ip = ip4;
        host.gateway = Some(gateway);
        host.behind = Some(to.name.clone());
        Ok(())
    }

    /// Kills `child` (SIGKILL) and reaps it, within a bound.
    pub fn kill(&self, mut child: Child) -> Result<ExitStatus, LabError> {
        // An already-exited child makes kill fail with InvalidInput; wait still reaps it.
        let _ = child.kill();
        wait_status(&mut child, Duration::from_secs(10))?.ok_or(LabError::Timeout {
            what: format!("killed process {}", child.id()),
            after: Duration::from_secs(10),
        })
    }

    /// Hands a background process (e.g. a probe server or a station) to the lab, which
    /// kills and reaps it when dropped; returns its pid.
    pub fn adopt(&mut self, child: Child) -> u32 {
        let pid = child.id();
        self.adopted.push(child);
        pid
    }

    fn next_host(&mut self) -> Result<u8, LabError> {
        if self.hosts >= 250 {
            return Err(LabError::Exhausted("at most 250 hosts"));
        }
        self.hosts += 1;
        Ok(self.hosts + 1)
    }

    /// Plugs namespace `ns` into `router`'s LAN with a fresh address; returns it and the
    /// gateway.
    fn attach(&mut self, ns: &str, router: &Router) -> Result<(Ipv4Addr, Ipv4Addr), LabError> {
        let n = self.next_host()?;
        let ip4 = Ipv4Addr::new(10, router.index, 0, n);
        let gateway = Ipv4Addr::new(10, router.index, 0, 1);
        plug(&router.ns, &format!("h{n}"), "lan", ns, ip4, LAN_PREFIX_LEN)?;
        ip(&[
            "-n",
            ns,
            "route",
            "replace",
            "default",
            "via",
            &gateway.to_string(),
        ])?;
        Ok((ip4, gateway))
    }

    fn add_namespace(&mut self, node: &str) -> Result<String, LabError> {
        check_name(node)?;
        let ns = format!("{}{node}", self.prefix);
        if self.namespaces.contains(&ns) {
            return Err(LabError::InvalidName(format!(
                "{node} (already in this lab)"
            )));
        }
        ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            destroy_namespace(ns);
        }
        for mut child in self.adopted.drain(..) {
            let _ = child.kill();
            let _ = wait_status(&mut child, Duration::from_secs(5));
        }
    }
}

/// Creates a veth `port` (in `bridge_ns`, enslaved to `bridge`) whose peer is `eth0` in
/// `host_ns` with `addr/len`, both up.
fn plug(
    bridge_ns: &str,
    port: &str,
    bridge: &str,
    host_ns: &str,
    addr: Ipv4Addr,
    len: u8,
) -> Result<(), LabError> {
    ip(&[
        "-n", bridge_ns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
        host_ns,
    ])?;
    ip(&["-n", bridge_ns, "link", "set", port, "master", bridge, "up"])?;
    let cidr = format!("{addr}/{len}");
    ip(&["-n", host_ns, "addr", "add", &cidr, "dev", "eth0"])?;
    ip(&["-n", host_ns, "link", "set", "eth0", "up"])?;
    Ok(())
}

fn ip(args: &[&str]) -> Result<String, LabError> {
    run("ip", args, None)
}

impl Host {
    /// The host's name in the lab.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its network namespace (`ip netns exec <ns> …` reaches it by hand).
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// Its current IPv4 address (changes with [`Lab::move_host`]).
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The router it is behind, by name (`None` for a public host).
    pub fn behind(&self) -> Option<&str> {
        self.behind.as_deref()
    }

    /// A command for `program` that will run inside this host's namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Result<Command, LabError> {
        let mut cmd = Command::new(program);
        enter_netns(&mut cmd, &self.ns)?;
        Ok(cmd)
    }

    /// Spawns `cmd` (arguments, environment, stdio as configured) inside this host's
    /// namespace. The lab kills it, if still running, when dropped.
    pub fn spawn(&self, mut cmd: Command) -> Result<Child, LabError> {
        enter_netns(&mut cmd, &self.ns)?;
        let command = format!("{:?}", cmd.get_program());
        cmd.spawn()
            .map_err(|source| LabError::Spawn { command, source })
    }

    /// Its IPv4 addresses as the kernel lists them now (`ip -4 addr`), for assertions.
    pub fn addresses(&self) -> Result<Vec<Ipv4Addr>, LabError> {
        let out = ip(&["-n", &self.ns, "-4", "-o", "addr", "show"])?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                words.find(|w| *w == "inet")?;
                words.next()?.split('/').next()?.parse().ok()
            })
            .collect())
    }

    /// The counters of its `eth0` now: every byte the host sent or received, whatever
    /// the protocol (QUIC keep-alives and ACKs included).
    pub fn link_stats(&self) -> Result<LinkStats, LabError> {
        let out = run(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns,
                "cat",
                "/sys/class/net/eth0/statistics/tx_packets",
                "/sys/class/net/eth0/statistics/tx_bytes",
                "/sys/class/net/eth0/statistics/rx_packets",
                "/sys/class/net/eth0/statistics/rx_bytes",
            ],
            None,
        )?;
        let values: Vec<u64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
        match values.as_slice() {
            [tx_packets, tx_bytes, rx_packets, rx_bytes] => Ok(LinkStats {
                tx_packets: *tx_packets,
                tx_bytes: *tx_bytes,
                rx_packets: *rx_packets,
                rx_bytes: *rx_bytes,
            }),
            _ => Err(LabError::Probe(format!(
                "{}: unexpected link statistics {out:?}",
                self.name
            ))),
        }
    }

    /// Turns IPv6 off on the host (the lab is IPv4): its link-local address, router
    /// solicitations and multicast listener reports would otherwise count as traffic.
    pub fn disable_ipv6(&self) -> Result<(), LabError> {
        disable_ipv6_in(&self.ns)
    }

    /// Starts counting what the host sends by kind (nftables counters on its output
    /// hook): UDP and TCP (its processes), ICMP and ARP (its kernel, e.g. answering
    /// packets for a socket that is gone). See [`Host::sent_by_kind`].
    pub fn count_sent(&self) -> Result<(), LabError> {
        run_in(&self.ns, "nft", &["-f", "-"], Some(COUNT_RULES)).map(drop)
    }

    /// Packets sent per kind since [`Host::count_sent`].
    pub fn sent_by_kind(&self) -> Result<SentByKind, LabError> {
        let out = run_in(&self.ns, "nft", &["list", "ruleset"], None)?;
        let mut sent = SentByKind::default();
        for line in out.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let value = |key: &str| {
                words
                    .iter()
                    .position(|w| *w == key)
                    .and_then(|i| words.get(i + 1))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let Some(packets) = value("packets") else {
                continue;
            };
            match words.last().map(|w| w.trim_matches('"')) {
                Some("udp" | "tcp") => sent.transport += packets,
                Some("icmp") => sent.icmp += packets,
                Some("arp") => sent.arp += packets,
                _ => {}
            }
        }
        Ok(sent)
    }

    /// Takes `eth0` down (radio off): addresses stay, routes through it go.
    pub fn link_down(&self) -> Result<(), LabError> {
        ip(&["-n", &self.ns, "link", "set", "eth0", "down"]).map(drop)
    }

    /// Brings `eth0` back up and restores the default route (radio on).
    pub fn link_up(&self) -> Result<(), LabError> {
        ip(&["-n", &self.ns, "link", "set", "eth0", "up"])?;
        if let Some(gw) = self.gateway {
            ip(&[
                "-n",
                &self.ns,
                "route",
                "replace",
                "default",
                "via",
                &gw.to_string(),
            ])?;
        }
        Ok(())
    }
}

/// Turns IPv6 off on every interface of namespace `ns`.
fn disable_ipv6_in(ns: &str) -> Result<(), LabError> {
    run_in(
        ns,
        "sysctl",
        &[
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ],
        None,
    )
    .map(drop)
}

impl Router {
    /// Turns IPv6 off on the router (see [`Host::disable_ipv6`]).
    pub fn disable_ipv6(&self) -> Result<(), LabError> {
        disable_ipv6_in(&self.ns)
    }

    /// The router's name in the lab.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its network namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// Its NAT kind.
    pub fn kind(&self) -> NatKind {
        self.kind
    }

    /// Its address on the public segment: what public hosts see as the source of its hosts.
    pub fn public_ip(&self) -> Ipv4Addr {
        self.public_ip
    }
}
