//! `zeropole station --config station.toml`: an operator's station (DESIGN.md §6).
//!
//! A station is a relay server, a kad server and an AutoNAT server for phones, and it
//! collects certificates for the blocks phones submit. If its witness key is admitted in
//! the genesis it also has witness duty (attests, keeps the accounts it witnesses in a
//! SQLite store); otherwise it runs as a plain station and says so.
//!
//! Keys live in the data directory and are generated on first start, never derived from a
//! phrase and never printed (DESIGN.md §4):
//! - `witness.key`: the 32-byte seed of the Falcon-512 witness key (OS randomness, 0600);
//! - `transport.key`: the Ed25519 libp2p identity (protobuf encoding, 0600).
//!
//! `--print-identity` prints the PeerId and the witness public key (hex) for the admission
//! authority. The configuration format is described in `docs/station.md` and
//! `scripts/station.example.toml`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use libp2p::multiaddr::Protocol;
use libp2p::{identity, Multiaddr, PeerId};
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use thiserror::Error;
use zeropole_core::crypto::{CryptoError, KeyPair};
use zeropole_core::genesis::{Genesis, GenesisError};
use zeropole_core::net::{
    NetConfig, NetError, NetHandle, NetStatus, Network, RelayLimits, StationConfig, WitnessDuty,
};
use zeropole_core::poc::{Witness, WitnessNode};
use zeropole_core::store::{SqliteWitnessStore, StoreError};

/// File name of the witness key seed in the data directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";
/// File name of the libp2p transport key in the data directory.
pub const TRANSPORT_KEY_FILE: &str = "transport.key";
/// File name of the witness store in the data directory.
pub const WITNESS_STORE_FILE: &str = "witness.sqlite";
/// Default interval between two metrics lines, in seconds.
pub const DEFAULT_METRICS_INTERVAL_SECS: u64 = 60;
/// Default connection budget of a station.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 100_000;

/// Options of `zeropole station`.
#[derive(Args, Debug)]
pub struct StationArgs {
    /// The station's configuration file (see scripts/station.example.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Print the PeerId and the witness public key (generating the keys on first use),
    /// then exit.
    #[arg(long)]
    pub print_identity: bool,
}

/// Why a station cannot start or stopped with an error.
#[derive(Debug, Error)]
pub enum StationError {
    /// The configuration file cannot be read.
    #[error("cannot read the configuration {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for a station (syntax, unknown or missing
    /// key, wrong type).
    #[error("configuration {path}: {message}")]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the key and position).
        message: String,
    },
    /// A value of the configuration is refused.
    #[error("configuration field `{field}`: {problem}")]
    Invalid {
        /// The key, e.g. `listen[1]`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The genesis file cannot be read.
    #[error("cannot read the genesis {path}: {source}")]
    ReadGenesis {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The genesis file is refused.
    #[error("genesis {path}: {source}")]
    BadGenesis {
        /// The file.
        path: PathBuf,
        /// Why.
        source: GenesisError,
    },
    /// The data directory or a key file cannot be created or read.
    #[error("{path}: {problem}")]
    Key {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The witness key seed does not give a key.
    #[error("witness key: {0}")]
    WitnessKey(#[from] CryptoError),
    /// The witness store cannot be opened or loaded.
    #[error("witness store: {0}")]
    Store(#[from] StoreError),
    /// The network could not start or stopped.
    #[error("{0}")]
    Net(#[from] NetError),
    /// The async runtime or a signal handler could not be set up.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
}

/// The `[relay]` table: relay server limits, each defaulting to [`RelayLimits::default`].
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RelayFile {
    /// Reservations held at once.
    pub max_reservations: Option<usize>,
    /// Reservations per peer.
    pub max_reservations_per_peer: Option<usize>,
    /// Reservation lifetime, in seconds.
    pub reservation_duration_secs: Option<u64>,
    /// Circuits relayed at once.
    pub max_circuits: Option<usize>,
    /// Circuits per peer.
    pub max_circuits_per_peer: Option<usize>,
    /// Longest circuit, in seconds.
    pub max_circuit_duration_secs: Option<u64>,
    /// Most bytes relayed per circuit.
    pub max_circuit_bytes: Option<u64>,
}

/// The configuration file as written (`station.toml`). Relative paths are relative to
/// the directory of the configuration file.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StationFile {
    /// The genesis file (TOML).
    pub genesis: PathBuf,
    /// Where keys and the witness store live (created with mode 0700).
    pub data_dir: PathBuf,
    /// Addresses to listen on.
    pub listen: Vec<String>,
    /// Addresses this station is reachable at (its public addresses).
    #[serde(default)]
    pub external: Vec<String>,
    /// Fellow stations: full addresses ending in `/p2p/<peer id>`.
    #[serde(default)]
    pub stations: Vec<String>,
    /// Seconds between two metrics lines.
    #[serde(default)]
    pub metrics_interval_secs: Option<u64>,
    /// Most connections at once.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Relay server limits.
    #[serde(default)]
    pub relay: RelayFile,
    /// A program that sends a content-free "sync" push to a phone that registered a
    /// token, run as `<program> <fcm|apns> <token>` when a payment to it arrives (DESIGN
    /// §7). Absent (the default): no push is sent.
    #[serde(default)]
    pub push_command: Option<PathBuf>,
}

/// A validated station configuration.
#[derive(Debug, Clone)]
pub struct StationSettings {
    /// The genesis file (resolved).
    pub genesis: PathBuf,
    /// The data directory (resolved).
    pub data_dir: PathBuf,
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// External addresses.
    pub external: Vec<Multiaddr>,
    /// Fellow stations (each ends in `/p2p/<peer id>`).
    pub stations: Vec<Multiaddr>,
    /// Interval between two metrics lines.
    pub metrics_interval: Duration,
    /// Most connections at once.
    pub max_connections: u32,
    /// Relay server limits.
    pub relay: RelayLimits,
    /// The push program (resolved), if any.
    pub push_command: Option<PathBuf>,
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> StationError {
    StationError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

fn parse_addrs(
    field: &str,
    values: &[String],
    need_peer: bool,
) -> Result<Vec<Multiaddr>, StationError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let addr: Multiaddr = v
                .parse()
                .map_err(|e| invalid(format!("{field}[{i}]"), format!("bad multiaddr {v:?}: {e}")))?;
            let has_peer = addr.iter().any(|p| matches!(p, Protocol::P2p(_)));
            if need_peer && !has_peer {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    format!("{v:?} must end in /p2p/<peer id> (what `zeropole station --print-identity` prints)"),
                ));
            }
            if !need_peer && has_peer {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    format!("{v:?} must not contain /p2p/ (the station adds its own)"),
                ));
            }
            Ok(addr)
        })
        .collect()
}

impl StationFile {
    /// Parses the text of a configuration file (`path` is only used in messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self, StationError> {
        toml::from_str(text).map_err(|e| StationError::ParseConfig {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// Checks every value; relative paths are resolved against `base` (the directory of
    /// the configuration file).
    pub fn validate(self, base: &Path) -> Result<StationSettings, StationError> {
        let resolve = |p: &Path| {
            if p.is_relative() {
                base.join(p)
            } else {
                p.to_owned()
            }
        };
        if self.listen.is_empty() {
            return Err(invalid("listen", "at least one listen address is needed"));
        }
        let listen = parse_addrs("listen", &self.listen, false)?;
        let external = parse_addrs("external", &self.external, false)?;
        let stations = parse_addrs("stations", &self.stations, true)?;
        let secs = self
            .metrics_interval_secs
            .unwrap_or(DEFAULT_METRICS_INTERVAL_SECS);
        if secs == 0 {
            return Err(invalid("metrics_interval_secs", "must be at least 1"));
        }
        let max_connections = self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        let d = RelayLimits::default();
        let r = self.relay;
        let relay = RelayLimits {
            max_reservations: r.max_reservations.unwrap_or(d.max_reservations),
            max_reservations_per_peer: r
                .max_reservations_per_peer
                .unwrap_or(d.max_reservations_per_peer),
            reservation_duration: r
                .reservation_duration_secs
                .map_or(d.reservation_duration, Duration::from_secs),
            max_circuits: r.max_circuits.unwrap_or(d.max_circuits),
            max_circuits_per_peer: r.max_circuits_per_peer.unwrap_or(d.max_circuits_per_peer),
            max_circuit_duration: r
                .max_circuit_duration_secs
                .map_or(d.max_circuit_duration, Duration::from_secs),
            max_circuit_bytes: r.max_circuit_bytes.unwrap_or(d.max_circuit_bytes),
        };
        Ok(StationSettings {
            genesis: resolve(&self.genesis),
            data_dir: resolve(&self.data_dir),
            listen,
            external,
            stations,
            metrics_interval: Duration::from_secs(secs),
            max_connections,
            relay,
            push_command: self.push_command.as_deref().map(resolve),
        })
    }
}

impl StationSettings {
    /// Reads and validates the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Self, StationError> {
        let text = fs::read_to_string(path).map_err(|source| StationError::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        StationFile::parse(&text, path)?.validate(base)
    }

    /// Reads and validates the genesis file.
    pub fn load_genesis(&self) -> Result<Genesis, StationError> {
        let text =
            fs::read_to_string(&self.genesis).map_err(|source| StationError::ReadGenesis {
                path: self.genesis.clone(),
                source,
            })?;
        Genesis::from_toml_str(&text).map_err(|source| StationError::BadGenesis {
            path: self.genesis.clone(),
            source,
        })
    }

    /// The network configuration of this station.
    pub fn net_config(&self) -> NetConfig {
        let mut config = NetConfig::station(self.listen.clone(), self.external.clone());
        config.bootstrap = self.stations.clone();
        config.station = Some(StationConfig {
            relay: self.relay.clone(),
            max_connections: self.max_connections,
            push: self.push_command.as_ref().map(|program| {
                zeropole_core::net::push::Pusher(std::sync::Arc::new(
                    zeropole_core::net::push::CommandPushSender::new(program),
                ))
            }),
        });
        config
    }
}

/// A station's keys, loaded from (or generated into) its data directory.
pub struct StationIdentity {
    /// The libp2p transport key.
    pub transport: identity::Keypair,
    /// The Falcon-512 witness key.
    pub witness: KeyPair,
}

impl StationIdentity {
    /// The station's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.transport.public().to_peer_id()
    }

    /// The witness public key, hex (what an admission authority admits).
    pub fn witness_public_hex(&self) -> String {
        hex::encode(self.witness.public_key().to_bytes())
    }

    /// The genesis witness whose key is this station's witness key, if admitted.
    pub fn admitted_in(&self, genesis: &Genesis) -> Option<Witness> {
        genesis
            .witnesses()
            .iter()
            .find(|w| &w.public_key == self.witness.public_key())
            .cloned()
    }

    /// Loads the keys of `data_dir`, generating each missing one (and the directory).
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, StationError> {
        create_private_dir(data_dir)?;
        let witness_path = data_dir.join(WITNESS_KEY_FILE);
        let seed = match read_key_file(&witness_path)? {
            Some(bytes) => {
                let seed: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| StationError::Key {
                        path: witness_path.clone(),
                        problem: format!("holds {} bytes, a witness key seed is 32", bytes.len()),
                    })?;
                seed
            }
            None => {
                let mut seed = [0u8; 32];
                OsRng.fill_bytes(&mut seed);
                write_key_file(&witness_path, &seed)?;
                seed
            }
        };
        let witness = KeyPair::from_seed(&seed)?;
        let transport_path = data_dir.join(TRANSPORT_KEY_FILE);
        let transport = match read_key_file(&transport_path)? {
            Some(bytes) => identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
                StationError::Key {
                    path: transport_path.clone(),
                    problem: format!("not a libp2p key (protobuf encoding): {e}"),
                }
            })?,
            None => {
                let key = identity::Keypair::generate_ed25519();
                let bytes = key.to_protobuf_encoding().map_err(|e| StationError::Key {
                    path: transport_path.clone(),
                    problem: format!("cannot encode the new key: {e}"),
                })?;
                write_key_file(&transport_path, &bytes)?;
                key
            }
        };
        Ok(StationIdentity { transport, witness })
    }
}

fn key_error(path: &Path, what: &str, e: std::io::Error) -> StationError {
    StationError::Key {
        path: path.to_owned(),
        problem: format!("cannot {what}: {e}"),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StationError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| key_error(dir, "create the data directory", e))
}

fn read_key_file(path: &Path) -> Result<Option<Vec<u8>>, StationError> {
    match fs::read(path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = fs::metadata(path) {
                    if meta.permissions().mode() & 0o077 != 0 {
                        eprintln!(
                            "warning: {} is readable by others (mode {:o}); chmod 600 it",
                            path.display(),
                            meta.permissions().mode() & 0o777
                        );
                    }
                }
            }
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(key_error(path, "read the key", e)),
    }
}

fn write_key_file(path: &Path, bytes: &[u8]) -> Result<(), StationError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| key_error(path, "create the key", e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| key_error(path, "write the key", e))
}

/// One metrics line (what the station prints every interval).
pub fn metrics_line(status: &NetStatus) -> String {
    let m = &status.metrics;
    format!(
        "metrics peers={} witnesses_known={} reservations={} circuits={} poc_requests_in={} poc_requests_out={} poc_bytes_in={} poc_bytes_out={} certified={} refused={} pushes={} handovers_requested={} watched_accounts={} certificates_relayed={}",
        status.connected.len(),
        status.known_witnesses,
        m.reservations,
        m.circuits,
        m.requests_in,
        m.requests_out,
        m.poc_bytes_in,
        m.poc_bytes_out,
        m.certified,
        m.refused,
        m.pushes_sent,
        m.handovers_requested,
        m.watched_accounts,
        m.certificates_relayed
    )
}

/// Runs `zeropole station`; errors are printed, exit code 1.
pub fn run(args: StationArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: StationArgs) -> Result<(), StationError> {
    let settings = StationSettings::load(&args.config)?;
    if args.print_identity {
        let identity = StationIdentity::load_or_generate(&settings.data_dir)?;
        println!("peer_id        {}", identity.peer_id());
        println!("witness_key    {}", identity.witness_public_hex());
        // Informative only: the genesis may not exist yet when a station is being admitted.
        if let Ok(genesis) = settings.load_genesis() {
            let admitted = identity.admitted_in(&genesis).is_some();
            println!(
                "admitted       {} (genesis of network {})",
                if admitted { "yes" } else { "no" },
                genesis.network()
            );
        }
        return Ok(());
    }
    let genesis = settings.load_genesis()?;
    let identity = StationIdentity::load_or_generate(&settings.data_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(StationError::Runtime)?;
    let result = runtime.block_on(serve(settings, genesis, identity));
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn serve(
    settings: StationSettings,
    genesis: Genesis,
    identity: StationIdentity,
) -> Result<(), StationError> {
    let epoch = genesis.epoch0();
    let peer_id = identity.peer_id();
    println!("{}", genesis.security_summary());
    let duty = match identity.admitted_in(&genesis) {
        Some(witness) => {
            let store = SqliteWitnessStore::open(settings.data_dir.join(WITNESS_STORE_FILE))?;
            println!(
                "station {peer_id}: witness duty as witness {} in network {}",
                hex::encode(witness.id.0),
                genesis.network()
            );
            let node = WitnessNode::start(
                witness,
                identity.witness.clone(),
                epoch.clone(),
                store,
                &genesis.genesis_states(),
            )?;
            Some(WitnessDuty {
                node,
                keys: identity.witness,
            })
        }
        None => {
            println!(
                "station {peer_id}: plain station (relay, kad, collecting): its witness key is not admitted in the genesis of network {}",
                genesis.network()
            );
            None
        }
    };
    let handle = Network::start(settings.net_config(), identity.transport, epoch, duty)?;
    print_addresses(&handle, &settings, peer_id).await?;

    let mut interval = tokio::time::interval(settings.metrics_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    let stop = shutdown_signal()?;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            signal = &mut stop => {
                println!("{signal}: stopping");
                break;
            }
            _ = interval.tick() => {
                let status = handle.status().await?;
                println!("{}", metrics_line(&status));
            }
        }
    }
    let status = handle.status().await?;
    println!("{}", metrics_line(&status));
    drop(handle);
    println!("stopped");
    Ok(())
}

/// Waits (at most 5 s) until every configured listener reports an address, then prints
/// the full addresses, `/p2p/` included.
async fn print_addresses(
    handle: &NetHandle,
    settings: &StationSettings,
    peer_id: PeerId,
) -> Result<(), StationError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut status = handle.status().await?;
    while status.listen.len() < settings.listen.len() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = handle.status().await?;
    }
    if status.listen.is_empty() {
        eprintln!("warning: no listen address is up yet");
    }
    for addr in &status.listen {
        println!("listening {}", addr.clone().with(Protocol::P2p(peer_id)));
    }
    for addr in &settings.external {
        println!("external  {}", addr.clone().with(Protocol::P2p(peer_id)));
    }
    Ok(())
}

/// Resolves with the name of the first of Ctrl-C or SIGTERM.
fn shutdown_signal() -> Result<impl std::future::Future<Output = &'static str>, StationError> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(StationError::Runtime)?;
    Ok(async move {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupt",
                _ = term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupt"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_parses_and_validates() {
        let text = include_str!("../../scripts/station.example.toml");
        let path = Path::new("station.example.toml");
        let settings = StationFile::parse(text, path)
            .expect("parses")
            .validate(Path::new("/etc/zeropole"))
            .expect("validates");
        assert!(!settings.listen.is_empty());
        assert!(settings.genesis.is_absolute());
        assert!(settings.data_dir.is_absolute());
        assert_eq!(
            settings.relay.max_circuits,
            RelayLimits::default().max_circuits
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory_and_relay_overrides() {
        let text = r#"
            genesis = "genesis.toml"
            data_dir = "data"
            listen = ["/ip4/127.0.0.1/tcp/0"]
            metrics_interval_secs = 5
            [relay]
            max_reservations = 7
        "#;
        let s = StationFile::parse(text, Path::new("x"))
            .unwrap()
            .validate(Path::new("/srv/st"))
            .unwrap();
        assert_eq!(s.genesis, PathBuf::from("/srv/st/genesis.toml"));
        assert_eq!(s.data_dir, PathBuf::from("/srv/st/data"));
        assert_eq!(s.metrics_interval, Duration::from_secs(5));
        assert_eq!(s.relay.max_reservations, 7);
        assert_eq!(
            s.relay.max_circuit_bytes,
            RelayLimits::default().max_circuit_bytes
        );
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let base = Path::new("/");
        let p = Path::new("station.toml");
        let bad_addr = r#"genesis = "g"
data_dir = "d"
listen = ["/ip4/127.0.0.1/tcp/notaport"]"#;
        let e = StationFile::parse(bad_addr, p)
            .unwrap()
            .validate(base)
            .unwrap_err();
        assert!(e.to_string().contains("listen[0]"), "{e}");

        let no_peer = r#"genesis = "g"
data_dir = "d"
listen = ["/ip4/127.0.0.1/tcp/0"]
stations = ["/ip4/10.0.0.1/tcp/4001"]"#;
        let e = StationFile::parse(no_peer, p)
            .unwrap()
            .validate(base)
            .unwrap_err();
        assert!(e.to_string().contains("stations[0]"), "{e}");
        assert!(e.to_string().contains("/p2p/"), "{e}");

        let unknown = "genesis = \"g\"\ndata_dir = \"d\"\nlisten = []\nlisen = 1\n";
        let e = StationFile::parse(unknown, p).unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");

        let missing = "data_dir = \"d\"\nlisten = []\n";
        let e = StationFile::parse(missing, p).unwrap_err();
        assert!(e.to_string().contains("genesis"), "{e}");

        let empty = "genesis = \"g\"\ndata_dir = \"d\"\nlisten = []\n";
        let e = StationFile::parse(empty, p)
            .unwrap()
            .validate(base)
            .unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");
    }

    #[test]
    fn keys_are_generated_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = StationIdentity::load_or_generate(&data).unwrap();
        let again = StationIdentity::load_or_generate(&data).unwrap();
        assert_eq!(first.peer_id(), again.peer_id());
        assert_eq!(first.witness_public_hex(), again.witness_public_hex());
        let other = StationIdentity::load_or_generate(&dir.path().join("other")).unwrap();
        assert_ne!(first.witness_public_hex(), other.witness_public_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [WITNESS_KEY_FILE, TRANSPORT_KEY_FILE] {
                let mode = fs::metadata(data.join(f)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
        fs::write(data.join(WITNESS_KEY_FILE), [1u8; 5]).unwrap();
        let e = StationIdentity::load_or_generate(&data)
            .err()
            .expect("refused");
        assert!(e.to_string().contains("32"), "{e}");
    }
}
