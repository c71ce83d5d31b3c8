//! `zeropole netlab measure`: the network numbers of BENCHMARKS.md, measured with real
//! nodes in a namespace lab (4 stations on the public segment, phones behind NATs):
//! time to the first relayed phone-to-phone connection, DCUtR hole-punch success per NAT
//! pair, and the time until a phone moved to another NAT is reachable again (from the
//! `network_changed()` call to a home-station connection plus a relay reservation).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::nodes::{
    expect_either, field, genesis_path, start_phone, start_stations, Devlab, LabNode,
};
use super::{Host, Lab, LabError, NatKind};

/// Options of `zeropole netlab measure`.
#[derive(clap::Args, Debug)]
pub struct MeasureArgs {
    /// Phone pairs per NAT combination (relayed connection time, hole punching).
    #[arg(long, default_value_t = 3)]
    pairs: usize,
    /// Address switches of one phone (recovery time).
    #[arg(long, default_value_t = 20)]
    switches: usize,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn kill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

struct PairResult {
    relayed_ms: u64,
    punched: bool,
}

fn pair(
    lab: &mut Lab,
    devlab: &Devlab,
    stations: &[Host],
    kinds: (NatKind, NatKind),
    round: usize,
) -> Result<PairResult, LabError> {
    let tag = |k: NatKind| match k {
        NatKind::Easy => "e",
        NatKind::Hard => "h",
    };
    let ra = lab.nat_router(&format!("r{}{round}a", tag(kinds.0)), kinds.0)?;
    let rb = lab.nat_router(&format!("r{}{round}b", tag(kinds.1)), kinds.1)?;
    let ha = lab.host_behind(&ra, &format!("pa{round}"))?;
    let hb = lab.host_behind(&rb, &format!("pb{round}"))?;
    let mut a = start_phone(lab, devlab, &ha, 0, stations)?;
    let mut b = start_phone(lab, devlab, &hb, 1, stations)?;
    a.wait_status("reservations=2")?;
    b.wait_status("reservations=2")?;
    let circuit = format!(
        "{}/p2p-circuit/p2p/{}",
        devlab.quic(&stations[0], 0),
        devlab.peer("phone", 1)
    );
    let started = Instant::now();
    a.ask(&format!("dial {circuit}"), "DIALING")?;
    a.expect(&format!("EVENT connected peer={}", devlab.peer("phone", 1)))?;
    let relayed_ms = started.elapsed().as_millis() as u64;
    let outcome = expect_either(
        &mut a,
        &mut b,
        &["EVENT hole-punched", "EVENT hole-punch-failed"],
        Duration::from_secs(120),
    )?;
    kill(a.pid);
    kill(b.pid);
    Ok(PairResult {
        relayed_ms,
        punched: outcome.starts_with("EVENT hole-punched"),
    })
}

fn switches(
    lab: &mut Lab,
    devlab: &Devlab,
    stations: &[Host],
    runs: usize,
) -> Result<Vec<u64>, LabError> {
    let wifi = lab.nat_router("swwifi", NatKind::Easy)?;
    let cell = lab.nat_router("swcell", NatKind::Hard)?;
    let mut host = lab.host_behind(&wifi, "swphone")?;
    let mut phone: LabNode = start_phone(lab, devlab, &host, 2, stations)?;
    phone.wait_status("reservations=2")?;
    let mut times = Vec::new();
    for i in 0..runs {
        let to = if i % 2 == 0 { &cell } else { &wifi };
        lab.move_host(&mut host, to)?;
        phone.ask("network-changed", "CHANGING")?;
        let line = phone.expect("EVENT reachable")?;
        times.push(field(&line, "ms").unwrap_or(u64::MAX));
    }
    kill(phone.pid);
    Ok(times)
}

fn measure(args: &MeasureArgs) -> Result<(), LabError> {
    let mut lab = Lab::new("measure")?;
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let devlab = Devlab::new(42, 4, 4, genesis_path(dir.path()), exe)?;
    let (stations, _station_nodes) = start_stations(&mut lab, &devlab)?;
    println!("netlab measure: 4 stations (witnesses, n = 4), phones behind namespace NATs");
    println!();
    println!(
        "| NAT pair | pairs | first relayed connection p50 (ms) | max (ms) | DCUtR hole punch |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut round = 0;
    for kinds in [
        (NatKind::Easy, NatKind::Easy),
        (NatKind::Easy, NatKind::Hard),
        (NatKind::Hard, NatKind::Hard),
    ] {
        let mut relayed = Vec::new();
        let mut punched = 0;
        for _ in 0..args.pairs {
            round += 1;
            let r = pair(&mut lab, &devlab, &stations, kinds, round)?;
            relayed.push(r.relayed_ms);
            punched += usize::from(r.punched);
        }
        relayed.sort_unstable();
        println!(
            "| {} ↔ {} | {} | {} | {} | {punched}/{} |",
            kinds.0.label(),
            kinds.1.label(),
            args.pairs,
            percentile(&relayed, 0.5),
            relayed.last().copied().unwrap_or(0),
            args.pairs
        );
    }
    let mut times = switches(&mut lab, &devlab, &stations, args.switches)?;
    times.sort_unstable();
    println!();
    println!(
        "address switch (easy ↔ hard NAT), {} runs: reachable again p50 {} ms, p95 {} ms, max {} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.last().copied().unwrap_or(0)
    );
    Ok(())
}

/// Runs `zeropole netlab measure`.
pub fn run(args: MeasureArgs) -> ExitCode {
    match measure(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netlab measure: {e}");
            ExitCode::FAILURE
        }
    }
}
