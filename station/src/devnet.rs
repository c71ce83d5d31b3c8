//! `zeropole devnet`: a complete network on loopback in one process, with real sockets.
//!
//! It starts 2 stations (witnesses with their own SQLite stores), `K` Full-profile phones
//! that opted into witness duty (they listen on 127.0.0.1 and keep their own SQLite
//! store) and `N` phones in the Active profile, one devnet wallet each. Every node is its
//! own libp2p swarm ([`Network::start`]) talking QUIC over 127.0.0.1. The phones send
//! transfers to random wallets for the given duration, receive what they are sent (in
//! order per sender) and keep their own account state; the run ends with a summary:
//! confirmation latency (submit → certificate), throughput, and two checks against the
//! network — the supply is conserved and every phone's state equals the head its
//! committee certified.
//!
//! Keys come from [`Devnet::generate`] (derived from `--seed`: for devnets only).

use std::collections::{BTreeMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use libp2p::multiaddr::Protocol;
use libp2p::{identity, Multiaddr};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use thiserror::Error;
use zeropole_core::crypto::{AccountId, Hash, KeyPair};
use zeropole_core::devnet::{Devnet, MIN_AMOUNT};
use zeropole_core::genesis::{Genesis, GenesisError};
use zeropole_core::ledger::{
    apply_certified, next_receive, next_send, AccountState, DmappId, Op, ValidationError,
};
use zeropole_core::net::{NetConfig, NetError, NetHandle, Network, WitnessDuty};
use zeropole_core::poc::{AttestRequest, Certificate, Epoch, WitnessNode};
use zeropole_core::store::{SqliteWitnessStore, StoreError};

/// Stations a devnet starts.
pub const STATIONS: usize = 2;
/// How long stragglers may take to be received after the sending phase.
const DRAIN: Duration = Duration::from_secs(10);
/// Bound on start-up steps (listening, learning peer records, connecting).
const STARTUP: Duration = Duration::from_secs(30);
/// Attempts to get one signed block certified before a phone gives up on it.
const ATTEMPTS: u32 = 5;

/// Options of `zeropole devnet`.
#[derive(Args, Debug, Clone)]
pub struct DevnetArgs {
    /// Phones (one funded wallet each) that send and receive transfers.
    #[arg(long, default_value_t = 20)]
    pub phones: usize,
    /// Full-profile phones that opted into witness duty (with the 2 stations: the
    /// witnesses).
    #[arg(long, default_value_t = 2)]
    pub phone_witnesses: usize,
    /// Committee size n (default: every witness, 2 + phone witnesses).
    #[arg(long)]
    pub committee: Option<usize>,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Seed of the keys, the genesis and the phones' choices of recipients and amounts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Mean pause of a phone between two of its operations, in milliseconds (each pause
    /// is uniform in [0, 2 × mean]); 0 sends back to back.
    #[arg(long, default_value_t = 100)]
    pub pause_ms: u64,
    /// Keep the data directory (genesis, witness stores) instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// Print the summary as JSON on standard output (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

impl Default for DevnetArgs {
    fn default() -> Self {
        DevnetArgs {
            phones: 20,
            phone_witnesses: 2,
            committee: None,
            duration: 20,
            seed: 1,
            pause_ms: 100,
            keep: false,
            json: false,
        }
    }
}

/// Why a devnet could not run.
#[derive(Debug, Error)]
pub enum DevnetError {
    /// An option is out of range.
    #[error("{0}")]
    Options(String),
    /// The devnet genesis could not be built.
    #[error("genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// A witness store could not be opened.
    #[error("witness store: {0}")]
    Store(#[from] StoreError),
    /// A node could not start.
    #[error("network: {0}")]
    Net(#[from] NetError),
    /// The data directory could not be created or written.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// A node did not get ready in time.
    #[error("start-up: {0}")]
    Startup(String),
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    fn of(samples: &[Duration]) -> Self {
        let mut s: Vec<Duration> = samples.to_vec();
        s.sort_unstable();
        let at = |q: f64| -> f64 {
            if s.is_empty() {
                return 0.0;
            }
            let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
            s[rank - 1].as_secs_f64() * 1000.0
        };
        Latency {
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// The outcome of a devnet run.
#[derive(Debug, Clone, Serialize)]
pub struct DevnetReport {
    /// Phones that sent and received.
    pub phones: usize,
    /// Witnesses (stations + phone witnesses).
    pub witnesses: usize,
    /// Committee size n.
    pub committee: usize,
    /// The genesis's security line.
    pub security: String,
    /// Seconds of sending.
    pub duration_s: f64,
    /// Sends certified.
    pub certified: u64,
    /// Receives certified.
    pub received: u64,
    /// Blocks the committee refused (a phone stops after one: its height may be locked).
    pub refused: u64,
    /// Submissions that failed without a refusal (retried with the same signed block).
    pub retries: u64,
    /// Confirmation latency of sends: submit → certificate.
    pub latency: Latency,
    /// Confirmation latency of receives.
    pub receive_latency: Latency,
    /// Certified sends per second over the sending phase.
    pub tps: f64,
    /// The genesis supply.
    pub supply_genesis: u64,
    /// Sum of every phone's certified balance.
    pub supply_balances: u64,
    /// Sum of certified sends not yet received.
    pub supply_in_flight: u64,
    /// `supply_balances + supply_in_flight == supply_genesis`.
    pub supply_ok: bool,
    /// Phones whose certified head (asked from the network) differs from their own state.
    pub head_mismatches: usize,
    /// The data directory, when kept.
    pub data_dir: Option<PathBuf>,
}

impl DevnetReport {
    /// Whether the run passed: something was certified, the supply holds, every head
    /// agrees.
    pub fn passed(&self) -> bool {
        self.certified > 0 && self.supply_ok && self.head_mismatches == 0
    }
}

/// Live counters shared by the phones and the progress printer.
#[derive(Default)]
struct Stats {
    certified: u64,
    received: u64,
    refused: u64,
    retries: u64,
    send_latency: Vec<Duration>,
    receive_latency: Vec<Duration>,
    /// Certified, not yet received sends: hash → amount.
    in_flight: BTreeMap<Hash, u64>,
}

/// A live progress sample (what the status line shows).
#[derive(Debug, Clone)]
pub struct Progress {
    /// Seconds since the sending phase started.
    pub elapsed_s: f64,
    /// Open connections of the stations, summed.
    pub station_peers: usize,
    /// Sends certified.
    pub certified: u64,
    /// Receives certified.
    pub received: u64,
    /// Refusals.
    pub refused: u64,
    /// Send latency so far.
    pub latency: Latency,
    /// Certified sends per second over the last sample interval.
    pub tps: f64,
}

impl Progress {
    /// The status line.
    pub fn line(&self) -> String {
        format!(
            "[{:5.1}s] peers {} | nat direct (loopback) | certified {} | received {} | p50 {:.1} ms p95 {:.1} ms | {:.0} tps | refused {}",
            self.elapsed_s,
            self.station_peers,
            self.certified,
            self.received,
            self.latency.p50_ms,
            self.latency.p95_ms,
            self.tps,
            self.refused
        )
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn quic_localhost() -> Multiaddr {
    Multiaddr::empty()
        .with(Protocol::Ip4([127, 0, 0, 1].into()))
        .with(Protocol::Udp(0))
        .with(Protocol::QuicV1)
}

async fn until<F, Fut>(what: &str, mut check: F) -> Result<(), DevnetError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, NetError>>,
{
    let deadline = tokio::time::Instant::now() + STARTUP;
    loop {
        if check().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(DevnetError::Startup(format!(
                "{what} within {} s",
                STARTUP.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A witness node: station or phone witness.
async fn start_witness(
    devnet: &Devnet,
    index: usize,
    dir: &std::path::Path,
    config: NetConfig,
    epoch: &Epoch,
) -> Result<(NetHandle, Multiaddr), DevnetError> {
    let witness = devnet
        .witness(index)
        .ok_or_else(|| DevnetError::Startup(format!("witness {index} is not in the genesis")))?;
    let store = SqliteWitnessStore::open(dir.join(format!("witness-{index}.sqlite")))?;
    let keys = devnet.station_keys[index].clone();
    let node = WitnessNode::start(
        witness,
        keys.clone(),
        epoch.clone(),
        store,
        &devnet.genesis.genesis_states(),
    )?;
    let key = identity::Keypair::generate_ed25519();
    let peer = key.public().to_peer_id();
    let handle = Network::start(config, key, epoch.clone(), Some(WitnessDuty { node, keys }))?;
    let deadline = tokio::time::Instant::now() + STARTUP;
    let addr = loop {
        if let Some(a) = handle.status().await?.listen.first() {
            break a.clone();
        }
        if tokio::time::Instant::now() > deadline {
            return Err(DevnetError::Startup(format!(
                "witness {index} is not listening"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let addr = addr.with(Protocol::P2p(peer));
    Ok((handle, addr))
}

/// One phone's wallet and its certified state.
struct Wallet {
    index: usize,
    keys: KeyPair,
    state: AccountState,
    last: Option<Certificate>,
    received: HashSet<Hash>,
    stuck: bool,
}

impl Wallet {
    fn account(&self) -> AccountId {
        self.state.public_key.account_id()
    }

    fn history(&self) -> Vec<Certificate> {
        self.last.iter().cloned().collect()
    }

    /// Gets one signed block certified, re-sending the same block after failures that
    /// are not refusals (sign-once makes it idempotent).
    async fn certify(
        &mut self,
        phone: &NetHandle,
        request: AttestRequest,
        stats: &Mutex<Stats>,
    ) -> Option<(Certificate, Duration)> {
        let started = Instant::now();
        for attempt in 0..ATTEMPTS {
            match phone.submit(request.clone(), self.history()).await {
                Ok(cert) => {
                    self.state = apply_certified(&self.state, &cert.block);
                    self.last = Some(cert.clone());
                    return Some((cert, started.elapsed()));
                }
                Err(NetError::Refused(reason)) => {
                    eprintln!("\nphone {}: refused: {reason}", self.index);
                    lock(stats).refused += 1;
                    self.stuck = true;
                    return None;
                }
                Err(e) => {
                    log::warn!("phone {}: attempt {attempt}: {e}", self.index);
                    lock(stats).retries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        eprintln!(
            "\nphone {}: gave up on a block after {ATTEMPTS} attempts",
            self.index
        );
        self.stuck = true;
        None
    }

    /// Receives every inbox entry that is next in its sender's order.
    async fn receive_all(&mut self, phone: &NetHandle, stats: &Mutex<Stats>) {
        let Ok(inbox) = phone.inbox(self.account()).await else {
            return;
        };
        let mut waiting: Vec<Certificate> = inbox
            .into_iter()
            .filter(|c| !self.received.contains(&c.block_hash()))
            .collect();
        loop {
            if self.stuck {
                return;
            }
            let next = waiting
                .iter()
                .position(|c| next_receive(&self.state, 0, c, now_ms(), DmappId::WALLET).is_ok());
            let Some(i) = next else {
                return;
            };
            let send = waiting.swap_remove(i);
            let body = match next_receive(&self.state, 0, &send, now_ms(), DmappId::WALLET) {
                Ok(b) => b,
                Err(_) => return,
            };
            let Ok(block) = body.sign(&mut self.keys) else {
                return;
            };
            let send_hash = send.block_hash();
            let request = AttestRequest {
                block,
                send: Some(send),
            };
            if let Some((_, latency)) = self.certify(phone, request, stats).await {
                self.received.insert(send_hash);
                let mut s = lock(stats);
                s.received += 1;
                s.receive_latency.push(latency);
                s.in_flight.remove(&send_hash);
            }
        }
    }

    /// Sends `amount` to `to`.
    async fn send(
        &mut self,
        phone: &NetHandle,
        to: AccountId,
        amount: u64,
        stats: &Mutex<Stats>,
    ) -> Result<(), ValidationError> {
        let body = next_send(
            &self.state,
            0,
            to,
            amount,
            Vec::new(),
            now_ms(),
            DmappId::WALLET,
        )?;
        let Ok(block) = body.sign(&mut self.keys) else {
            self.stuck = true;
            return Ok(());
        };
        let request = AttestRequest { block, send: None };
        if let Some((cert, latency)) = self.certify(phone, request, stats).await {
            let mut s = lock(stats);
            s.certified += 1;
            s.send_latency.push(latency);
            if let Op::Send { amount, .. } = &cert.block.body.op {
                s.in_flight.insert(cert.block_hash(), *amount);
            }
        }
        Ok(())
    }
}

fn lock(stats: &Mutex<Stats>) -> std::sync::MutexGuard<'_, Stats> {
    stats.lock().unwrap_or_else(|e| e.into_inner())
}

fn pause(rng: &mut ChaCha8Rng, mean_ms: u64) -> Duration {
    if mean_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rng.next_u64() % (2 * mean_ms + 1))
}

/// What every phone shares: the wallets to send to, the counters, the schedule.
#[derive(Clone)]
struct Plan {
    accounts: Arc<Vec<AccountId>>,
    stats: Arc<Mutex<Stats>>,
    seed: u64,
    pause_ms: u64,
    stop_sending: tokio::time::Instant,
    stop_receiving: tokio::time::Instant,
}

/// A phone's life: send to random wallets until `stop_sending`, receiving in between;
/// then receive until `stop_receiving` or until nothing is in flight.
async fn phone_loop(mut wallet: Wallet, phone: NetHandle, plan: Plan) -> Wallet {
    let Plan {
        accounts,
        stats,
        seed,
        pause_ms,
        stop_sending,
        stop_receiving,
    } = plan;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (wallet.index as u64).wrapping_mul(0x9e37_79b9));
    while tokio::time::Instant::now() < stop_sending && !wallet.stuck {
        wallet.receive_all(&phone, &stats).await;
        let to = loop {
            let i = (rng.next_u64() % accounts.len() as u64) as usize;
            if i != wallet.index {
                break accounts[i];
            }
        };
        let amount = MIN_AMOUNT + rng.next_u64() % (100 * MIN_AMOUNT);
        if wallet.state.balance >= amount {
            if let Err(e) = wallet.send(&phone, to, amount, &stats).await {
                eprintln!("\nphone {}: cannot build a send: {e}", wallet.index);
                wallet.stuck = true;
            }
        }
        tokio::time::sleep(pause(&mut rng, pause_ms)).await;
    }
    while tokio::time::Instant::now() < stop_receiving && !wallet.stuck {
        wallet.receive_all(&phone, &stats).await;
        if lock(&stats).in_flight.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wallet
}

/// Where progress goes.
pub enum ProgressSink {
    /// Nowhere (tests).
    Quiet,
    /// Standard error: one line redrawn with `\r` on a terminal, a line per second
    /// otherwise.
    Stderr,
}

impl ProgressSink {
    fn show(&self, p: &Progress, tty: bool) {
        if let ProgressSink::Stderr = self {
            let mut err = std::io::stderr().lock();
            if tty {
                let _ = write!(err, "\r{}\x1b[K", p.line());
            } else {
                let _ = writeln!(err, "{}", p.line());
            }
            let _ = err.flush();
        }
    }

    fn say(&self, line: &str) {
        if let ProgressSink::Stderr = self {
            eprintln!("{line}");
        }
    }
}

fn validate(args: &DevnetArgs) -> Result<usize, DevnetError> {
    if args.phones < 2 {
        return Err(DevnetError::Options(
            "--phones must be at least 2 (transfers go between wallets)".into(),
        ));
    }
    if args.duration == 0 {
        return Err(DevnetError::Options("--duration must be at least 1".into()));
    }
    let witnesses = STATIONS + args.phone_witnesses;
    let n = args.committee.unwrap_or(witnesses);
    if n == 0 || n > witnesses {
        return Err(DevnetError::Options(format!(
            "--committee must be between 1 and the number of witnesses ({witnesses} = {STATIONS} stations + {} phone witnesses)",
            args.phone_witnesses
        )));
    }
    Ok(n)
}

/// Runs a devnet on the current tokio runtime (multi-threaded) and returns its report.
pub async fn run_devnet(
    args: &DevnetArgs,
    progress: ProgressSink,
) -> Result<DevnetReport, DevnetError> {
    let n = validate(args)?;
    let witnesses = STATIONS + args.phone_witnesses;
    let dir = tempfile::Builder::new()
        .prefix("zeropole-devnet-")
        .tempdir()?;
    progress.say(&format!(
        "generating keys: {witnesses} witnesses ({STATIONS} stations + {} phone witnesses), {} wallets",
        args.phone_witnesses, args.phones
    ));
    let devnet = Devnet::generate(args.seed, witnesses, args.phones, Some(n))?;
    let genesis: Genesis = devnet.genesis.clone();
    std::fs::write(dir.path().join("genesis.toml"), genesis.to_toml_string())?;
    progress.say(&genesis.security_summary());
    let epoch = genesis.epoch0();

    // Stations: each bootstraps to the ones before it.
    let mut stations = Vec::new();
    let mut station_addrs: Vec<Multiaddr> = Vec::new();
    for i in 0..STATIONS {
        let mut config = NetConfig::station(vec![quic_localhost()], vec![]);
        config.bootstrap = station_addrs.clone();
        let (handle, addr) = start_witness(&devnet, i, dir.path(), config, &epoch).await?;
        progress.say(&format!("station {i}        {addr}"));
        stations.push(handle);
        station_addrs.push(addr);
    }
    // Full-profile phones with witness duty: listening on loopback, both stations home.
    let mut phone_witnesses = Vec::new();
    for j in 0..args.phone_witnesses {
        let mut config = NetConfig::phone(station_addrs.clone());
        config.listen = vec![quic_localhost()];
        let (handle, addr) =
            start_witness(&devnet, STATIONS + j, dir.path(), config, &epoch).await?;
        progress.say(&format!("phone witness {j}  {addr}"));
        phone_witnesses.push(handle);
    }
    for (i, s) in stations.iter().enumerate() {
        until(
            &format!("station {i} to learn every witness's peer record"),
            || {
                let s = s.clone();
                async move { Ok(s.status().await?.known_witnesses >= witnesses) }
            },
        )
        .await?;
    }

    // Phones: Active profile, both stations as home (alternating which one is first).
    let mut phones = Vec::new();
    for i in 0..args.phones {
        let home = vec![
            station_addrs[i % STATIONS].clone(),
            station_addrs[(i + 1) % STATIONS].clone(),
        ];
        let handle = Network::start::<SqliteWitnessStore>(
            NetConfig::phone(home),
            identity::Keypair::generate_ed25519(),
            epoch.clone(),
            None,
        )?;
        phones.push(handle);
    }
    for (i, p) in phones.iter().enumerate() {
        until(&format!("phone {i} to connect to a station"), || {
            let p = p.clone();
            async move { Ok(!p.status().await?.connected.is_empty()) }
        })
        .await?;
    }
    progress.say(&format!(
        "{} phones connected; sending for {} s",
        args.phones, args.duration
    ));

    let states: BTreeMap<AccountId, AccountState> = genesis.genesis_states().into_iter().collect();
    let accounts: Arc<Vec<AccountId>> = Arc::new(
        devnet
            .wallet_keys
            .iter()
            .map(|k| k.public_key().account_id())
            .collect(),
    );
    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = tokio::time::Instant::now();
    let stop_sending = started + Duration::from_secs(args.duration);
    let plan = Plan {
        accounts: accounts.clone(),
        stats: stats.clone(),
        seed: args.seed,
        pause_ms: args.pause_ms,
        stop_sending,
        stop_receiving: stop_sending + DRAIN,
    };
    let mut tasks = Vec::new();
    for (i, keys) in devnet.wallet_keys.iter().enumerate() {
        let state = states
            .get(&accounts[i])
            .cloned()
            .ok_or_else(|| DevnetError::Startup(format!("wallet {i} is not funded")))?;
        let wallet = Wallet {
            index: i,
            keys: keys.clone(),
            state,
            last: None,
            received: HashSet::new(),
            stuck: false,
        };
        tasks.push(tokio::spawn(phone_loop(
            wallet,
            phones[i].clone(),
            plan.clone(),
        )));
    }

    // Progress until every phone is done.
    let tty = std::io::stderr().is_terminal();
    let every = if tty {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(1)
    };
    let mut last = (started, 0u64);
    let mut tps = 0.0;
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(every).await;
        let mut peers = 0;
        for s in &stations {
            peers += s.status().await?.connected.len();
        }
        let now = tokio::time::Instant::now();
        let (certified, received, refused, latency) = {
            let s = lock(&stats);
            (
                s.certified,
                s.received,
                s.refused,
                Latency::of(&s.send_latency),
            )
        };
        let dt = now.duration_since(last.0).as_secs_f64();
        if dt >= 1.0 || !tty {
            tps = (certified - last.1) as f64 / dt.max(1e-3);
            last = (now, certified);
        }
        progress.show(
            &Progress {
                elapsed_s: now.duration_since(started).as_secs_f64(),
                station_peers: peers,
                certified,
                received,
                refused,
                latency,
                tps,
            },
            tty,
        );
    }
    if tty {
        progress.say("");
    }
    let mut wallets = Vec::new();
    for t in tasks {
        wallets.push(
            t.await
                .map_err(|e| DevnetError::Startup(format!("a phone task failed: {e}")))?,
        );
    }

    // Checks: the supply, and each phone's state against the head its committee holds.
    let mut head_mismatches = 0;
    for w in &wallets {
        if !head_agrees(&phones[w.index], w).await {
            eprintln!(
                "phone {}: its certified head on the network differs from its own state (height {})",
                w.index, w.state.head_height
            );
            head_mismatches += 1;
        }
    }
    let s = lock(&stats);
    let supply_balances: u64 = wallets.iter().map(|w| w.state.balance).sum();
    let supply_in_flight: u64 = s.in_flight.values().sum();
    let supply_genesis = genesis.total_supply();
    let duration_s = Duration::from_secs(args.duration).as_secs_f64();
    let data_dir = if args.keep {
        Some(dir.keep())
    } else {
        drop(dir);
        None
    };
    Ok(DevnetReport {
        phones: args.phones,
        witnesses,
        committee: n,
        security: genesis.security_summary(),
        duration_s,
        certified: s.certified,
        received: s.received,
        refused: s.refused,
        retries: s.retries,
        latency: Latency::of(&s.send_latency),
        receive_latency: Latency::of(&s.receive_latency),
        tps: s.certified as f64 / duration_s,
        supply_genesis,
        supply_balances,
        supply_in_flight,
        supply_ok: supply_balances.checked_add(supply_in_flight) == Some(supply_genesis),
        head_mismatches,
        data_dir,
    })
}

/// Whether the network's certified head of the wallet's account is the wallet's own
/// (asked a few times: certificate pushes to the committee may still be in flight).
async fn head_agrees(phone: &NetHandle, wallet: &Wallet) -> bool {
    let account = wallet.account();
    for _ in 0..20 {
        if let Ok(head) = phone.head(account).await {
            let agrees = match &head {
                None => wallet.state.head_height == 0,
                Some(c) => {
                    c.block.body.height == wallet.state.head_height
                        && c.block_hash() == wallet.state.head_hash
                        && c.block.body.balance == wallet.state.balance
                }
            };
            if agrees {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The human summary.
pub fn summary(r: &DevnetReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "devnet: {} phones, {} witnesses ({STATIONS} stations + {} phone witnesses), {}",
        r.phones,
        r.witnesses,
        r.witnesses - STATIONS,
        r.security
    ));
    line(format!(
        "transfers: {} certified, {} received, {} refused, {} retried submissions in {:.0} s: {:.1} transfers/s",
        r.certified, r.received, r.refused, r.retries, r.duration_s, r.tps
    ));
    line(format!(
        "confirmation latency (submit -> certificate): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        r.latency.p50_ms, r.latency.p95_ms, r.latency.p99_ms, r.latency.max_ms
    ));
    line(format!(
        "receive latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        r.receive_latency.p50_ms, r.receive_latency.p95_ms, r.receive_latency.p99_ms
    ));
    line(format!(
        "supply: {} in balances + {} certified but not received = {} (genesis {}): {}",
        r.supply_balances,
        r.supply_in_flight,
        r.supply_balances as u128 + r.supply_in_flight as u128,
        r.supply_genesis,
        if r.supply_ok { "ok" } else { "MISMATCH" }
    ));
    line(format!(
        "heads: {}",
        if r.head_mismatches == 0 {
            "every phone's state equals its certified head on the network".to_owned()
        } else {
            format!("{} phone(s) DIFFER from the network", r.head_mismatches)
        }
    ));
    if let Some(d) = &r.data_dir {
        line(format!("data kept in {}", d.display()));
    }
    out
}

/// Runs `zeropole devnet`: exit code 0 if transfers were certified and every check
/// passed, 1 otherwise (2 for bad options or a devnet that could not start).
pub fn run(args: DevnetArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run_devnet(&args, ProgressSink::Stderr));
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => eprintln!("error: cannot encode the summary: {e}"),
                }
            } else {
                print!("{}", summary(&report));
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                if report.certified == 0 {
                    eprintln!("error: no transfer was certified");
                }
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(&samples);
        assert_eq!(l.p50_ms, 50.0);
        assert_eq!(l.p95_ms, 95.0);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(l.max_ms, 100.0);
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn options_are_checked() {
        let bad = |a: DevnetArgs| validate(&a).is_err();
        assert!(bad(DevnetArgs {
            phones: 1,
            ..DevnetArgs::default()
        }));
        assert!(bad(DevnetArgs {
            committee: Some(5),
            ..DevnetArgs::default()
        }));
        assert!(bad(DevnetArgs {
            committee: Some(0),
            ..DevnetArgs::default()
        }));
        assert!(bad(DevnetArgs {
            duration: 0,
            ..DevnetArgs::default()
        }));
        assert_eq!(validate(&DevnetArgs::default()).unwrap(), 4);
    }
}
