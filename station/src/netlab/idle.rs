//! `zeropole netlab idle`: what an idle phone costs per mobile-life profile (DESIGN.md §7,
//! §11), measured on the SDK's real `Node` in a namespace lab.
//!
//! Two stations on the public segment; the phone (`zeropole lab-node --role sdk`) alone in
//! a fresh host behind its own easy NAT for each profile, so its `eth0` counters are exactly its traffic (QUIC
//! keep-alives and ACKs included) and its process's context switches are exactly its
//! wake-ups (every thread: the node's runtime, SQLite, the lab-node's stdin reader). Per
//! profile, the node is started, the profile's signals are set, the node settles, and
//! then nothing is asked of it for `--seconds`: what it sends and how often it wakes in
//! that window is what it does on its own. Then the cost of one `sync_once()` in Saver,
//! empty and with one pending payment.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use zeropole_core::devnet::Devnet;

use super::nodes::{genesis_path, start_stations, Devlab, LabNode};
use super::{Host, Lab, LabError, LinkStats, NatKind, SentByKind};

/// Options of `zeropole netlab idle`.
#[derive(clap::Args, Debug)]
pub struct IdleArgs {
    /// Idle window per profile, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Settling time after a profile is applied, before the window starts, in seconds.
    #[arg(long, default_value_t = 10)]
    settle: u64,
    /// Only the profiles whose label starts with this (e.g. `Saver`); all by default.
    #[arg(long)]
    only: Option<String>,
}

/// A devnet for SDK nodes: `stations` witness stations, and allocations for the devnet
/// phrases `0..phrases` ([`Devnet::phrase`]), written to one shared genesis file.
pub fn sdk_devlab(
    seed: u64,
    stations: usize,
    phrases: usize,
    dir: &Path,
) -> Result<Devlab, LabError> {
    let exe = std::env::current_exe()?;
    let devlab = Devlab::new(seed, stations, 0, genesis_path(dir), exe)?;
    let allocations = (0..phrases)
        .map(|i| {
            zeropole_core::crypto::SeedPhrase::parse(&Devnet::phrase(seed, i))
                .and_then(|p| p.derive_key_pair(0))
                .map(|k| (k.public_key().clone(), 1_000_000))
                .map_err(|e| LabError::Probe(format!("devnet phrase {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let devnet = Devnet::generate_for(seed, stations, &allocations, None)
        .map_err(|e| LabError::Probe(format!("devnet: {e}")))?;
    std::fs::write(&devlab.genesis, devnet.genesis.to_toml_string())?;
    Ok(devlab)
}

/// Starts the SDK node of devnet phrase `index` at `host`, with every station as a home
/// station (QUIC) and its data in `data`.
pub fn start_sdk_phone(
    lab: &mut Lab,
    devlab: &Devlab,
    host: &Host,
    index: usize,
    stations: &[Host],
    data: &Path,
) -> Result<LabNode, LabError> {
    let mut args: Vec<String> = vec![
        "--role".into(),
        "sdk".into(),
        "--index".into(),
        index.to_string(),
        "--data".into(),
        data.display().to_string(),
    ];
    for (i, s) in stations.iter().enumerate() {
        args.push("--peer".into());
        args.push(devlab.quic(s, i));
    }
    LabNode::start(lab, devlab, host, &format!("sdk{index}"), &args)
}

/// Context switches of every thread of process `pid` so far: each one is the process
/// waking up (or being preempted, which an idle process never is).
pub fn wakeups(pid: u32) -> Result<u64, LabError> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let status = std::fs::read_to_string(task?.path().join("status"))?;
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(total)
}

/// One profile's idle costs.
struct Idle {
    label: &'static str,
    link: LinkStats,
    sent: SentByKind,
    wakeups: u64,
    model_wakeups_per_hour: u64,
}

struct Scenario {
    label: &'static str,
    signals: &'static str,
    profile: &'static str,
    settings: zeropole_core::node::ProfileSettings,
}

fn scenarios() -> Vec<Scenario> {
    use zeropole_core::node::{Network, Profile, ProfileSettings};
    vec![
        Scenario {
            label: "Full (charging, Wi-Fi)",
            signals: "fg 100 1 0 wifi",
            profile: "Full",
            settings: ProfileSettings::for_profile(Profile::Full, Network::WIFI, false),
        },
        Scenario {
            label: "Active, Wi-Fi",
            signals: "fg 100 0 0 wifi",
            profile: "Active",
            settings: ProfileSettings::for_profile(Profile::Active, Network::WIFI, false),
        },
        Scenario {
            label: "Active, cellular",
            signals: "fg 100 0 0 cellular",
            profile: "Active",
            settings: ProfileSettings::for_profile(Profile::Active, Network::CELLULAR, false),
        },
        Scenario {
            label: "Saver (power saver)",
            signals: "fg 100 0 1 wifi",
            profile: "Saver",
            settings: ProfileSettings::for_profile(Profile::Saver, Network::WIFI, false),
        },
        Scenario {
            label: "Suspended",
            signals: "suspended 100 0 0 wifi",
            profile: "Suspended",
            settings: ProfileSettings::for_profile(Profile::Suspended, Network::WIFI, false),
        },
    ]
}

/// Sets `signals` and waits until `profile` is applied (entering Full is debounced by a
/// minute, so this may take that long).
pub fn enter_profile(node: &mut LabNode, signals: &str, profile: &str) -> Result<(), LabError> {
    let line = node.ask(&format!("signals {signals}"), "PROFILE")?;
    if line.trim() == format!("PROFILE {profile}") {
        return Ok(());
    }
    enter_wait(node, profile)
}

fn enter_wait(node: &mut LabNode, profile: &str) -> Result<(), LabError> {
    let wanted = format!("profile={profile} ");
    for _ in 0..900 {
        if node.ask("status", "STATUS")?.contains(&wanted) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(LabError::Probe(format!(
        "{}: never reached {profile}",
        node.name
    )))
}

/// A fresh host behind its own easy NAT, IPv4 only, counting what it sends by kind
/// ([`Host::sent_by_kind`]): traffic meant for an earlier phone never lands on it.
pub fn fresh_host(lab: &mut Lab, name: &str) -> Result<Host, LabError> {
    let router = lab.nat_router(&format!("{name}r"), NatKind::Easy)?;
    router.disable_ipv6()?;
    let host = lab.host_behind(&router, name)?;
    host.disable_ipv6()?;
    host.count_sent()?;
    Ok(host)
}

fn idle_once(
    lab: &mut Lab,
    devlab: &Devlab,
    index: usize,
    stations: &[Host],
    scenario: &Scenario,
    data: &Path,
    args: &IdleArgs,
) -> Result<Idle, LabError> {
    let host = fresh_host(lab, &format!("idle{index}"))?;
    let mut node = start_sdk_phone(lab, devlab, &host, 0, stations, data)?;
    enter_profile(&mut node, scenario.signals, scenario.profile)?;
    let held = usize::from(scenario.settings.home_connections);
    if held > 0 {
        node.wait_status(&format!("stations={held}"))?;
    }
    std::thread::sleep(Duration::from_secs(args.settle));
    let (link0, sent0, wake0) = (host.link_stats()?, host.sent_by_kind()?, wakeups(node.pid)?);
    std::thread::sleep(Duration::from_secs(args.seconds));
    let (link1, sent1, wake1) = (host.link_stats()?, host.sent_by_kind()?, wakeups(node.pid)?);
    // Still in the profile, with its connections, at the end of the window.
    let status = node.ask("status", "STATUS")?;
    if !status.contains(&format!("profile={} ", scenario.profile)) {
        return Err(LabError::Probe(format!(
            "{}: left the profile during the window: {status}",
            scenario.label
        )));
    }
    stop(node);
    Ok(Idle {
        label: scenario.label,
        link: link1.since(&link0),
        sent: sent1.since(&sent0),
        wakeups: wake1.saturating_sub(wake0),
        model_wakeups_per_hour: scenario.settings.idle_wakeups_per_hour(),
    })
}

/// Closes the node's stdin: the lab node exits (a fresh host is used for the next
/// profile, so whatever the stations still send to the old address lands nowhere).
fn stop(node: LabNode) {
    drop(node);
    std::thread::sleep(Duration::from_millis(500));
}

fn per_minute(value: u64, seconds: u64) -> f64 {
    value as f64 * 60.0 / seconds.max(1) as f64
}

/// The cost of one `sync_once()` in Saver (bytes sent and received by the phone).
fn sync_cost(
    lab: &mut Lab,
    devlab: &Devlab,
    stations: &[Host],
    dir: &Path,
) -> Result<(LinkStats, LinkStats, String), LabError> {
    let host = fresh_host(lab, "sync0")?;
    let payer_host = fresh_host(lab, "sync1")?;
    let mut phone = start_sdk_phone(lab, devlab, &host, 0, stations, &dir.join("sync0"))?;
    enter_profile(&mut phone, "fg 100 0 1 wifi", "Saver")?;
    std::thread::sleep(Duration::from_secs(2));
    let before = host.link_stats()?;
    phone.ask("sync", "SYNCED")?;
    let empty = host.link_stats()?.since(&before);
    let mut payer = start_sdk_phone(lab, devlab, &payer_host, 1, stations, &dir.join("sync1"))?;
    payer.wait_status("stations=1")?;
    payer.ask("send 0 1000", "CERTIFIED")?;
    std::thread::sleep(Duration::from_secs(1));
    let before = host.link_stats()?;
    let synced = phone.ask("sync", "SYNCED")?;
    let one = host.link_stats()?.since(&before);
    stop(payer);
    stop(phone);
    Ok((empty, one, synced))
}

fn measure(args: &IdleArgs) -> Result<(), LabError> {
    let mut lab = Lab::new("idle")?;
    let dir = tempfile::tempdir()?;
    let devlab = sdk_devlab(42, 2, 2, dir.path())?;
    let (stations, _station_nodes) = start_stations(&mut lab, &devlab)?;
    println!(
        "netlab idle: the SDK Node per profile, {} s idle after {} s settling; 2 stations, \
         the phone alone behind an easy NAT",
        args.seconds, args.settle
    );
    println!();
    println!(
        "| profile | packets sent / min: by the node (UDP, TCP) | ICMP | ARP | \
         bytes sent / min | bytes received / min | process wake-ups / min | \
         model: timer wake-ups / h |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut results = Vec::new();
    for (i, scenario) in scenarios().iter().enumerate() {
        if args
            .only
            .as_ref()
            .is_some_and(|only| !scenario.label.starts_with(only.as_str()))
        {
            continue;
        }
        let data: PathBuf = dir.path().join(format!("phone-{i}"));
        let r = idle_once(&mut lab, &devlab, i, &stations, scenario, &data, args)?;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} | {:.1} | {} |",
            r.label,
            per_minute(r.sent.transport, args.seconds),
            per_minute(r.sent.icmp, args.seconds),
            per_minute(r.sent.arp, args.seconds),
            per_minute(r.link.tx_bytes, args.seconds),
            per_minute(r.link.rx_bytes, args.seconds),
            per_minute(r.wakeups, args.seconds),
            r.model_wakeups_per_hour
        );
        results.push(r);
    }
    let find = |label: &str| results.iter().find(|r| r.label.starts_with(label));
    if let (Some(active), Some(saver)) = (find("Active, Wi-Fi"), find("Saver")) {
        let ratio = |a: u64, s: u64| {
            if s == 0 {
                format!("∞ ({a} against 0)")
            } else {
                format!("{:.1}×", a as f64 / s as f64)
            }
        };
        println!();
        println!(
            "Saver against Active (Wi-Fi): bytes sent {}, process wake-ups {}",
            ratio(active.link.tx_bytes, saver.link.tx_bytes),
            ratio(active.wakeups, saver.wakeups)
        );
    }
    let (empty, one, synced) = sync_cost(&mut lab, &devlab, &stations, dir.path())?;
    println!();
    println!(
        "sync_once() in Saver: nothing pending {} B sent + {} B received; one payment \
         pending ({}) {} B sent + {} B received",
        empty.tx_bytes,
        empty.rx_bytes,
        synced.trim(),
        one.tx_bytes,
        one.rx_bytes
    );
    Ok(())
}

/// Runs `zeropole netlab idle`.
pub fn run(args: IdleArgs) -> ExitCode {
    match measure(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netlab idle: {e}");
            ExitCode::FAILURE
        }
    }
}
