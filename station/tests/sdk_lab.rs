//! The SDK's `Node` in the namespace lab (DESIGN.md §7, issue 5): each phone is a
//! `zeropole lab-node --role sdk` process (the `Node` a phone app embeds, with its
//! mobile-life policy) alone in a host behind its own NAT, so its interface counters are
//! exactly its traffic. Four witness stations (n = 4, q = 3).
//!
//! - Active holds exactly one home-station connection, fails over to another station when
//!   that one is killed, and still gets transfers certified;
//! - Saver keeps nothing open and sends nothing while idle; `sync_once()` then receives a
//!   pending payment and closes the network again.
//!
//! Needs root, `ip` and `nft` (skipped otherwise, unless `ZEROPOLE_NETLAB_REQUIRED=1`).
//! Every wait is bounded; the lab kills its processes and deletes its namespaces on drop.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use zeropole::netlab::idle::{enter_profile, fresh_host, sdk_devlab, start_sdk_phone};
use zeropole::netlab::nodes::{field, start_stations, Devlab, LabNode};
use zeropole::netlab::{check_available, Host, Lab};

fn lab(name: &str, dir: &std::path::Path) -> Option<(Lab, Devlab)> {
    if let Err(why) = check_available() {
        if std::env::var("ZEROPOLE_NETLAB_REQUIRED").as_deref() == Ok("1") {
            panic!("netlab required (ZEROPOLE_NETLAB_REQUIRED=1) but unavailable: {why}");
        }
        let _ = writeln!(std::io::stderr(), "skipped: {name}: {why}");
        return None;
    }
    let lab = Lab::new(name).unwrap_or_else(|e| panic!("cannot build lab {name}: {e}"));
    let mut devlab = ok(sdk_devlab(7, 4, 2, dir));
    devlab.exe = PathBuf::from(env!("CARGO_BIN_EXE_zeropole"));
    Some((lab, devlab))
}

fn ok<T>(r: Result<T, zeropole::netlab::LabError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn phone_host(lab: &mut Lab, name: &str) -> Host {
    ok(fresh_host(lab, name))
}

fn phone(
    lab: &mut Lab,
    devlab: &Devlab,
    host: &Host,
    index: usize,
    stations: &[Host],
    dir: &std::path::Path,
) -> LabNode {
    let data = dir.join(format!("phone{index}"));
    ok(start_sdk_phone(lab, devlab, host, index, stations, &data))
}

#[test]
fn an_active_phone_holds_one_station_and_fails_over_when_it_dies() {
    let dir = tempfile::tempdir().expect("dir");
    let Some((mut lab, devlab)) = lab("sdkhold", dir.path()) else {
        return;
    };
    let (hosts, mut stations) = ok(start_stations(&mut lab, &devlab));
    let host = phone_host(&mut lab, "hold0");
    let mut alice = phone(&mut lab, &devlab, &host, 0, &hosts, dir.path());
    ok(enter_profile(&mut alice, "fg 100 0 0 cellular", "Active"));
    ok(alice.wait_status("stations=1 "));
    // One held connection out of four home stations, and it stays one.
    std::thread::sleep(Duration::from_secs(2));
    let status = ok(alice.ask("status", "STATUS"));
    assert!(status.contains("stations=1 "), "{status}");
    let line = ok(alice.ask("send 1 5000", "CERTIFIED"));
    assert_eq!(field(&line, "height"), Some(1), "{line}");

    // The held station is the first home station; kill it. The next transfer finds it
    // dead (its request fails), goes through another home station (q = 3 of the 3 live
    // stations), and the phone holds that one from then on: the events name the peers.
    let first = stations.remove(0);
    let _ = std::process::Command::new("kill")
        .args(["-9", &first.pid.to_string()])
        .status();
    let line = ok(alice.ask("send 1 5000", "CERTIFIED"));
    assert_eq!(field(&line, "height"), Some(2), "{line}");
    let gone = format!(
        "EVENT station peer={} connected=false",
        devlab.peer("station", 0)
    );
    ok(alice.expect_any_within(&[gone.as_str()], Duration::from_secs(60)));
    let others: Vec<String> = (1..4)
        .map(|i| {
            format!(
                "EVENT station peer={} connected=true",
                devlab.peer("station", i)
            )
        })
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    ok(alice.expect_any_within(&others, Duration::from_secs(60)));
    ok(alice.wait_status("stations=1 "));
}

#[test]
fn saver_sends_nothing_while_idle_and_sync_once_receives() {
    let dir = tempfile::tempdir().expect("dir");
    let Some((mut lab, devlab)) = lab("sdksaver", dir.path()) else {
        return;
    };
    let (hosts, _stations) = ok(start_stations(&mut lab, &devlab));
    let host = phone_host(&mut lab, "saver0");
    let mut alice = phone(&mut lab, &devlab, &host, 0, &hosts, dir.path());
    ok(alice.wait_status("stations=1 "));
    // The OS power saver: Saver at once, network closed.
    ok(enter_profile(&mut alice, "fg 80 0 1 wifi", "Saver"));
    let status = ok(alice.ask("status", "STATUS"));
    assert!(
        status.contains("online=false") && status.contains("stations=0 "),
        "{status}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let before = ok(host.sent_by_kind());
    std::thread::sleep(Duration::from_secs(4));
    let idle = ok(host.sent_by_kind()).since(&before);
    // Nothing from the node (UDP, TCP); the kernel may still answer an ARP.
    assert_eq!(idle.transport, 0, "Saver sent while idle: {idle:?}");

    // A payment arrives while alice is in Saver; sync_once() takes it.
    let payer_host = phone_host(&mut lab, "saver1");
    let mut bob = phone(&mut lab, &devlab, &payer_host, 1, &hosts, dir.path());
    ok(bob.wait_status("stations=1 "));
    ok(bob.ask("send 0 7000", "CERTIFIED"));
    let before = ok(host.sent_by_kind());
    let line = ok(alice.ask("sync", "SYNCED"));
    assert_eq!(field(&line, "received"), Some(1), "{line}");
    let cost = ok(host.sent_by_kind()).since(&before);
    assert!(cost.transport > 0, "a sync without traffic: {cost:?}");
    // And the network is closed again afterwards.
    let status = ok(alice.ask("status", "STATUS"));
    assert!(status.contains("online=false"), "{status}");
}
