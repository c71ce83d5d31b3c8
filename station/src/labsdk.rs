//! `zeropole lab-node --role sdk`: the SDK's `Node` (what a phone app embeds: its runtime,
//! its mobile-life policy, its SQLite stores) driven line by line over stdin/stdout in a
//! namespace-lab host, for the profile tests and the idle measurements
//! (`zeropole netlab idle`).
//!
//! The wallet is the devnet phrase `--index` (`Devnet::phrase`);
//! `--genesis` is required (the lab writes one funding those phrases).
//!
//! Output lines: `READY account=<hex>`, `EVENT <kind> ...`, and one answer per command.
//! Commands:
//! - `signals <fg|bg|suspended> <battery %> <charging 0|1> <power-saver 0|1> <none|wifi|cellular>`
//!   → `PROFILE <profile>` (the profile applied now; a debounced change follows as an event)
//! - `status` → `STATUS profile=<p> online=<bool> paused=<bool> stations=<n> balance=<n>`
//! - `send <phrase index> <amount>` → `CERTIFIED height=<h> ms=<latency>`
//! - `sync` → `SYNCED received=<n> balance=<n>` (`sync_once()`)
//! - `network-changed` → `CHANGING`
//!
//! Errors answer `ERROR <message>`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use zeropole_core::devnet::Devnet;
use zeropole_core::ledger::DmappId;
use zeropole_core::node::{AppState, Network, Node, NodeConfig, NodeEvent, Power, Signals};

use crate::labnode::{run_with, say, stdin_lines, LabNodeArgs};

/// Runs the SDK node until stdin closes.
pub fn run(args: &LabNodeArgs) -> ExitCode {
    // The lab-node's own runtime: one thread, idle between commands (the node has its own).
    run_with(
        &mut tokio::runtime::Builder::new_current_thread(),
        node(args),
    )
}

fn parse_signals(words: &[&str]) -> Result<Signals, String> {
    let usage = || {
        "usage: signals <fg|bg|suspended> <battery> <charging 0|1> <saver 0|1> <none|wifi|cellular>"
            .to_string()
    };
    let [app, battery, charging, saver, network] = words else {
        return Err(usage());
    };
    let app = match *app {
        "fg" => AppState::Foreground,
        "bg" => AppState::Background,
        "suspended" => AppState::Suspended,
        _ => return Err(usage()),
    };
    let battery_percent: u8 = battery.parse().map_err(|_| usage())?;
    let flag = |w: &str| match w {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(usage()),
    };
    let network = match *network {
        "none" => Network::NONE,
        "wifi" => Network::WIFI,
        "cellular" => Network::CELLULAR,
        _ => return Err(usage()),
    };
    Ok(Signals {
        app,
        power: Power {
            battery_percent,
            charging: flag(charging)?,
            power_saver: flag(saver)?,
        },
        network,
        epoch: 0,
    })
}

async fn node(args: &LabNodeArgs) -> Result<(), String> {
    let genesis = args.genesis.as_ref().ok_or("--role sdk needs --genesis")?;
    let genesis_toml = std::fs::read_to_string(genesis)
        .map_err(|e| format!("cannot read {}: {e}", genesis.display()))?;
    let mut _tmp = None;
    let data_dir = match &args.data {
        Some(d) => d.clone(),
        None => {
            let t = tempfile::tempdir().map_err(|e| e.to_string())?;
            let p = t.path().to_path_buf();
            _tmp = Some(t);
            p
        }
    };
    let config = NodeConfig {
        genesis_toml,
        data_dir,
        home_stations: args.peer.iter().map(|a| a.to_string()).collect(),
        dmapp: DmappId::WALLET,
        worker_threads: 1,
        preferences: Default::default(),
        policy: Default::default(),
    };
    let phrase = Devnet::phrase(args.seed, args.index);
    let node = Arc::new(Node::start(config, &phrase).map_err(|e| e.to_string())?);
    say(&format!("READY account={}", hex::encode(node.account().0)));
    let events = node.clone();
    tokio::spawn(async move {
        while let Some(event) = events.next_event().await {
            let line = match event {
                NodeEvent::ProfileChanged { from, to } => {
                    format!("EVENT profile from={from:?} to={to:?}")
                }
                NodeEvent::StationConnection { peer, connected } => {
                    format!("EVENT station peer={peer} connected={connected}")
                }
                NodeEvent::Reachable { after_ms } => format!("EVENT reachable ms={after_ms}"),
                NodeEvent::TransferReceived { height, amount, .. } => {
                    format!("EVENT received height={height} amount={amount}")
                }
                other => format!("EVENT other {other:?}"),
            };
            say(&line);
        }
    });

    let mut lines = stdin_lines();
    while let Some(line) = lines.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["signals", rest @ ..] => match parse_signals(rest) {
                Ok(signals) => node
                    .set_signals(signals)
                    .await
                    .map(|p| format!("PROFILE {p:?}"))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            },
            ["status"] => {
                let s = node.status().await;
                Ok(format!(
                    "STATUS profile={:?} online={} paused={} stations={} balance={}",
                    s.profile, s.online, s.paused, s.stations_connected, s.balance
                ))
            }
            ["send", to, amount] => match (to.parse::<usize>(), amount.parse::<u64>()) {
                (Ok(to), Ok(amount)) => {
                    let to = account_of(&Devnet::phrase(args.seed, to))?;
                    let started = Instant::now();
                    node.send(&to, amount)
                        .await
                        .map(|t| {
                            format!(
                                "CERTIFIED height={} ms={}",
                                t.height,
                                started.elapsed().as_millis()
                            )
                        })
                        .map_err(|e| e.to_string())
                }
                _ => Err("usage: send <phrase index> <amount>".into()),
            },
            ["sync"] => node
                .sync_once()
                .await
                .map(|r| {
                    let balance = r.last().map_or(0, |t| t.balance);
                    format!("SYNCED received={} balance={balance}", r.len())
                })
                .map_err(|e| e.to_string()),
            ["network-changed"] => node
                .network_changed()
                .await
                .map(|()| "CHANGING".to_string())
                .map_err(|e| e.to_string()),
            [] => continue,
            _ => Err(format!("unknown command: {line}")),
        };
        say(&answer.unwrap_or_else(|e| format!("ERROR {e}")));
    }
    if let Ok(node) = Arc::try_unwrap(node) {
        node.stop();
    }
    Ok(())
}

/// The account id (hex) of a phrase, as `Node::send` takes it.
fn account_of(phrase: &str) -> Result<String, String> {
    let keys = zeropole_core::crypto::SeedPhrase::parse(phrase)
        .and_then(|p| p.derive_key_pair(0))
        .map_err(|e| e.to_string())?;
    Ok(hex::encode(keys.public_key().account_id().0))
}
