//! `zeropole lab-node`: one devnet node (station or phone) driven line by line over
//! stdin/stdout, for the multi-node tests of the namespace lab (`station/tests/nat_lab.rs`)
//! and for poking at a devnet by hand. Hidden from `--help`: a test tool, not a product.
//!
//! Every key comes from the devnet seed (`Devnet::generate`, `Devnet::transport_key`), so a
//! test knows every PeerId and account before it starts anything.
//!
//! Output lines (stdout, flushed): `READY peer=<id>`, `LISTEN <addr>`, `EVENT <kind> ...`,
//! and one answer per command. Commands (stdin):
//! - `send <wallet> <amount>` → `CERTIFIED height=<h> ms=<latency>` or `ERROR <message>`
//! - `receive` → `RECEIVED count=<n> balance=<b>` (inbox, then a `Receive` per send, in order)
//! - `dial <multiaddr>` → `DIALING` or `ERROR ...`
//! - `network-changed` → `CHANGING` (then `EVENT reachable ms=<n>`)
//! - `status` → `STATUS connected=<n> reservations=<n> kad_server=<bool> witnesses=<n>`

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use libp2p::Multiaddr;
use zeropole_core::devnet::Devnet;
use zeropole_core::ledger::{apply_certified, next_receive, next_send, AccountState, DmappId};
use zeropole_core::net::{NetConfig, NetEvent, NetHandle, Network, WitnessDuty};
use zeropole_core::poc::{AttestRequest, Certificate, WitnessNode};
use zeropole_core::store::SqliteWitnessStore;

/// What the node is.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Role {
    /// A station with witness duty (relay server, kad server).
    Station,
    /// A phone (kad client, home stations only).
    Phone,
    /// The SDK's `Node` (mobile-life profiles, its own runtime and stores): see
    /// `labsdk.rs`.
    Sdk,
}

/// `zeropole lab-node` options.
#[derive(Args, Debug)]
pub struct LabNodeArgs {
    /// Station or phone.
    #[arg(long, value_enum)]
    pub(crate) role: Role,
    /// Station index (its witness key) or wallet index (its account).
    #[arg(long)]
    pub(crate) index: usize,
    /// Devnet seed (keys, genesis).
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Stations (= witnesses) in the devnet.
    #[arg(long, default_value_t = 4)]
    pub(crate) stations: usize,
    /// Funded wallets in the devnet.
    #[arg(long, default_value_t = 4)]
    pub(crate) wallets: usize,
    /// Listen address (repeatable).
    #[arg(long)]
    pub(crate) listen: Vec<Multiaddr>,
    /// External address (stations; repeatable).
    #[arg(long)]
    pub(crate) external: Vec<Multiaddr>,
    /// Fellow station or home station, with `/p2p/` (repeatable).
    #[arg(long)]
    pub(crate) peer: Vec<Multiaddr>,
    /// Phones: hold relay reservations on the home stations.
    #[arg(long)]
    pub(crate) reserve: bool,
    /// Phones: most milliseconds to wait before redialling a lost home station.
    #[arg(long, default_value_t = 1000)]
    pub(crate) jitter_ms: u64,
    /// The genesis TOML every node of the devnet shares (written by the test from
    /// `Devnet::generate` with the same seed). Without it the node builds its own, which
    /// only matches itself: admission signatures are randomized, and witness ids cover them.
    #[arg(long)]
    pub(crate) genesis: Option<PathBuf>,
    /// Stations: directory of the witness store (a temporary one if absent).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
}

/// Writes one output line, flushed (the test reads it at once).
pub(crate) fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs `work` on a runtime from `builder`; errors are printed, exit code 1.
pub(crate) fn run_with(
    builder: &mut tokio::runtime::Builder,
    work: impl std::future::Future<Output = Result<(), String>>,
) -> ExitCode {
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Standard input, line by line, read on a thread of its own (blocking reads).
pub(crate) fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, lines) = tokio::sync::mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Runs the node until stdin closes.
pub fn run(args: LabNodeArgs) -> ExitCode {
    if matches!(args.role, Role::Sdk) {
        return crate::labsdk::run(&args);
    }
    run_with(
        tokio::runtime::Builder::new_multi_thread().worker_threads(2),
        node(args),
    )
}

async fn node(args: LabNodeArgs) -> Result<(), String> {
    let mut devnet = Devnet::generate(args.seed, args.stations, args.wallets, None)
        .map_err(|e| e.to_string())?;
    if let Some(path) = &args.genesis {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        devnet.genesis = zeropole_core::genesis::Genesis::from_toml_str(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let epoch = devnet.genesis.epoch0();
    let (role_name, mut config) = match args.role {
        Role::Station => (
            "station",
            NetConfig::station(args.listen.clone(), args.external),
        ),
        Role::Phone | Role::Sdk => {
            let mut c = NetConfig::phone(args.peer.clone());
            c.listen = args.listen.clone();
            c.reserve_relays = args.reserve;
            c.reconnect_jitter = std::time::Duration::from_millis(args.jitter_ms);
            ("phone", c)
        }
    };
    let key = Devnet::transport_key(args.seed, role_name, args.index);
    let peer_id = key.public().to_peer_id();
    let mut _tmp = None;
    let handle = match args.role {
        Role::Station => {
            config.bootstrap = args.peer;
            let dir = match args.data {
                Some(d) => d,
                None => {
                    let t = tempfile::tempdir().map_err(|e| e.to_string())?;
                    let p = t.path().to_path_buf();
                    _tmp = Some(t);
                    p
                }
            };
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let store =
                SqliteWitnessStore::open(dir.join("witness.sqlite")).map_err(|e| e.to_string())?;
            let witness = devnet
                .witness(args.index)
                .ok_or_else(|| format!("no station {} in this devnet", args.index))?;
            let keys = devnet.station_keys[args.index].clone();
            let node = WitnessNode::start(
                witness,
                keys.clone(),
                epoch.clone(),
                store,
                &devnet.genesis.genesis_states(),
            )
            .map_err(|e| e.to_string())?;
            Network::start(config, key, epoch.clone(), Some(WitnessDuty { node, keys }))
        }
        Role::Phone | Role::Sdk => {
            Network::start::<SqliteWitnessStore>(config, key, epoch.clone(), None)
        }
    }
    .map_err(|e| e.to_string())?;
    say(&format!("READY peer={peer_id}"));
    tokio::spawn(report_events(handle.clone()));
    if !args.listen.is_empty() {
        // Report listen addresses once they exist.
        for _ in 0..100 {
            let status = handle.status().await.map_err(|e| e.to_string())?;
            if !status.listen.is_empty() {
                for a in status.listen {
                    say(&format!("LISTEN {a}"));
                }
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    let mut wallet = Wallet::new(&devnet, args.index);
    let mut lines = stdin_lines();
    while let Some(line) = lines.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["send", to, amount] => {
                let answer = match (to.parse::<usize>(), amount.parse::<u64>()) {
                    (Ok(to), Ok(amount)) => wallet.send(&handle, &devnet, to, amount).await,
                    _ => Err("usage: send <wallet> <amount>".into()),
                };
                say(&answer.unwrap_or_else(|e| format!("ERROR {e}")));
            }
            ["receive"] => {
                let answer = wallet.receive(&handle).await;
                say(&answer.unwrap_or_else(|e| format!("ERROR {e}")));
            }
            ["dial", addr] => match addr.parse::<Multiaddr>() {
                Ok(a) => match handle.dial(a).await {
                    Ok(()) => say("DIALING"),
                    Err(e) => say(&format!("ERROR {e}")),
                },
                Err(e) => say(&format!("ERROR bad address: {e}")),
            },
            ["network-changed"] => match handle.network_changed().await {
                Ok(()) => say("CHANGING"),
                Err(e) => say(&format!("ERROR {e}")),
            },
            ["status"] => match handle.status().await {
                Ok(s) => say(&format!(
                    "STATUS connected={} reservations={} kad_server={} witnesses={}",
                    s.connected.len(),
                    s.reservations.len(),
                    s.kad_server,
                    s.known_witnesses
                )),
                Err(e) => say(&format!("ERROR {e}")),
            },
            [] => {}
            _ => say(&format!("ERROR unknown command: {line}")),
        }
    }
    Ok(())
}

async fn report_events(handle: NetHandle) {
    let mut events = handle.events();
    loop {
        let line = match events.recv().await {
            Ok(NetEvent::Connected {
                peer,
                address,
                relayed,
            }) => format!("EVENT connected peer={peer} relayed={relayed} address={address}"),
            Ok(NetEvent::Disconnected { peer }) => format!("EVENT disconnected peer={peer}"),
            Ok(NetEvent::ReservationAccepted { relay, renewal }) => {
                format!("EVENT reservation relay={relay} renewal={renewal}")
            }
            Ok(NetEvent::ReservationLost { relay, reason }) => {
                format!("EVENT reservation-lost relay={relay} reason={reason}")
            }
            Ok(NetEvent::HolePunched { peer }) => format!("EVENT hole-punched peer={peer}"),
            Ok(NetEvent::HolePunchFailed { peer, error }) => {
                format!("EVENT hole-punch-failed peer={peer} error={error}")
            }
            Ok(NetEvent::ExternalAddressConfirmed(a)) => format!("EVENT external-confirmed {a}"),
            Ok(NetEvent::ExternalAddressExpired(a)) => format!("EVENT external-expired {a}"),
            Ok(NetEvent::NetworkChangeApplied) => "EVENT network-change-applied".into(),
            Ok(NetEvent::BroadcastDelivered { id, kind }) => {
                format!("EVENT broadcast kind={kind} id={}", hex::encode(&id.0[..8]))
            }
            Ok(NetEvent::Reachable { after }) => {
                format!("EVENT reachable ms={}", after.as_millis())
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                format!("EVENT lagged missed={n}")
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        say(&line);
    }
}

/// A phone's own chain, in memory (the Node runtime keeps it in SQLite).
struct Wallet {
    keys: zeropole_core::crypto::KeyPair,
    state: Option<AccountState>,
    head: Option<Certificate>,
}

impl Wallet {
    fn new(devnet: &Devnet, index: usize) -> Self {
        let keys = devnet
            .wallet_keys
            .get(index)
            .cloned()
            .unwrap_or_else(|| devnet.station_keys[0].clone());
        let account = keys.public_key().account_id();
        let state = devnet
            .genesis
            .genesis_states()
            .into_iter()
            .find(|(a, _)| *a == account)
            .map(|(_, s)| s);
        Wallet {
            keys,
            state,
            head: None,
        }
    }

    async fn submit(
        &mut self,
        handle: &NetHandle,
        request: AttestRequest,
    ) -> Result<Certificate, String> {
        let history = self.head.iter().cloned().collect();
        let cert = handle
            .submit(request, history)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(state) = &self.state {
            self.state = Some(apply_certified(state, &cert.block));
        }
        self.head = Some(cert.clone());
        Ok(cert)
    }

    async fn send(
        &mut self,
        handle: &NetHandle,
        devnet: &Devnet,
        to: usize,
        amount: u64,
    ) -> Result<String, String> {
        let state = self
            .state
            .as_ref()
            .ok_or("this node has no funded wallet")?;
        let to = devnet
            .wallet_keys
            .get(to)
            .ok_or("no such wallet")?
            .public_key()
            .account_id();
        let body = next_send(state, 0, to, amount, vec![], now_ms(), DmappId::WALLET)
            .map_err(|e| e.to_string())?;
        let block = body.sign(&mut self.keys).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let cert = self
            .submit(handle, AttestRequest { block, send: None })
            .await?;
        Ok(format!(
            "CERTIFIED height={} ms={}",
            cert.block.body.height,
            started.elapsed().as_millis()
        ))
    }

    async fn receive(&mut self, handle: &NetHandle) -> Result<String, String> {
        let account = self.keys.public_key().account_id();
        let mut inbox = handle.inbox(account).await.map_err(|e| e.to_string())?;
        let mut count = 0;
        // Receive in order per sender: each send's prev_to must match the cursor.
        loop {
            let state = self
                .state
                .as_ref()
                .ok_or("this node has no funded wallet")?;
            let Some(i) = inbox
                .iter()
                .position(|c| next_receive(state, 0, c, now_ms(), DmappId::WALLET).is_ok())
            else {
                break;
            };
            let send = inbox.remove(i);
            let body = next_receive(state, 0, &send, now_ms(), DmappId::WALLET)
                .map_err(|e| e.to_string())?;
            let block = body.sign(&mut self.keys).map_err(|e| e.to_string())?;
            self.submit(
                handle,
                AttestRequest {
                    block,
                    send: Some(send),
                },
            )
            .await?;
            count += 1;
        }
        let balance = self.state.as_ref().map_or(0, |s| s.balance);
        Ok(format!("RECEIVED count={count} balance={balance}"))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
