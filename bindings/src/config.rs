//! `NodeConfigBuilder` (DESIGN.md §9 "NodeConfig (a builder)"): sets the fields of a
//! [`NodeConfig`] one at a time and checks all of them on [`NodeConfigBuilder::build`],
//! naming the wrong one with a typed [`ConfigError`].
//!
//! An object with interior mutability (like ldk-node's `ArcedNodeBuilder`): foreign code
//! holds shared handles, so each setter takes `self: Arc<Self>`, changes the draft and
//! returns the same builder, which lets Kotlin and Swift chain calls.

use std::path::Path;
use std::sync::{Arc, Mutex};

use zeropole_core::dmapp::SignedManifest;
use zeropole_core::genesis::Genesis;
use zeropole_core::ledger::DmappId;

use crate::{ConfigError, NodeConfig};

/// The most runtime threads a node may ask for (phones use 1–2).
const MAX_WORKER_THREADS: u32 = 16;

#[derive(Debug, Clone)]
enum Dmapp {
    Wallet,
    Id(String),
    Manifest(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Draft {
    data_dir: String,
    genesis_toml: String,
    home_stations: Vec<String>,
    dmapp: Dmapp,
    worker_threads: u32,
    full_in_background: bool,
    background_grace_ms: Option<u64>,
    full_entry_ms: Option<u64>,
    battery: Option<(u8, u8)>,
}

/// Builds a checked [`NodeConfig`]: the data directory and the genesis are required, the
/// rest has defaults (home stations: the genesis's bootstrap stations; dmapp: the built-in
/// wallet; one runtime thread; DESIGN.md §7's profile policy).
///
/// ```text
/// NodeConfigBuilder(dataDir, genesisToml)
///     .homeStation(addr1).homeStation(addr2)
///     .dmappManifest(signedManifestBytes)
///     .fullInBackground(true)
///     .build()            // NodeConfig, or a ConfigError naming the field
/// ```
#[derive(uniffi::Object)]
pub struct NodeConfigBuilder {
    draft: Mutex<Draft>,
}

impl NodeConfigBuilder {
    fn set(self: Arc<Self>, f: impl FnOnce(&mut Draft)) -> Arc<Self> {
        f(&mut self.draft.lock().unwrap_or_else(|p| p.into_inner()));
        self
    }
}

#[uniffi::export]
impl NodeConfigBuilder {
    /// A builder for a node keeping its data in `data_dir` (an absolute, app-private
    /// directory excluded from backups: Android `noBackupFilesDir`, iOS Application
    /// Support or the App Group container) on the network of `genesis_toml`.
    #[uniffi::constructor]
    pub fn new(data_dir: String, genesis_toml: String) -> Arc<Self> {
        Arc::new(NodeConfigBuilder {
            draft: Mutex::new(Draft {
                data_dir,
                genesis_toml,
                home_stations: Vec::new(),
                dmapp: Dmapp::Wallet,
                worker_threads: 1,
                full_in_background: false,
                background_grace_ms: None,
                full_entry_ms: None,
                battery: None,
            }),
        })
    }

    /// Adds a home station (a multiaddr ending in `/p2p/<peer id>`); two from different
    /// operators in production. Without any, the genesis's bootstrap stations are used.
    pub fn home_station(self: Arc<Self>, addr: String) -> Arc<Self> {
        self.set(|d| d.home_stations.push(addr))
    }

    /// Replaces the home stations with `addrs`.
    pub fn home_stations(self: Arc<Self>, addrs: Vec<String>) -> Arc<Self> {
        self.set(|d| d.home_stations = addrs)
    }

    /// The dmapp this app is, by id (64 hex characters); it must be reviewed in the
    /// genesis registry. Replaces an earlier `dmapp_manifest`.
    pub fn dmapp_id(self: Arc<Self>, id_hex: String) -> Arc<Self> {
        self.set(|d| d.dmapp = Dmapp::Id(id_hex))
    }

    /// The dmapp this app is, by its signed manifest (its canonical encoding, as the
    /// review authority published it, DESIGN.md §5): `build` checks its signature against
    /// the genesis's review authorities and that it is reviewed. Replaces `dmapp_id`.
    pub fn dmapp_manifest(self: Arc<Self>, signed_manifest: Vec<u8>) -> Arc<Self> {
        self.set(|d| d.dmapp = Dmapp::Manifest(signed_manifest))
    }

    /// Threads of the node's runtime, 1–16 (phones: 1–2). Default 1.
    pub fn worker_threads(self: Arc<Self>, threads: u32) -> Arc<Self> {
        self.set(|d| d.worker_threads = threads)
    }

    /// Profile override: Full may run in the background (the app runs a foreground
    /// service and the user allowed it). Default: Full only in the foreground.
    pub fn full_in_background(self: Arc<Self>, allowed: bool) -> Arc<Self> {
        self.set(|d| d.full_in_background = allowed)
    }

    /// Profile override: how long Active/Full waits after the app went to the background
    /// before Saver, in milliseconds (0: at once). Default 10 s.
    pub fn background_grace_ms(self: Arc<Self>, ms: u64) -> Arc<Self> {
        self.set(|d| d.background_grace_ms = Some(ms))
    }

    /// Profile override: how long the conditions of Full must hold before Full, in
    /// milliseconds. Default 60 s.
    pub fn full_entry_ms(self: Arc<Self>, ms: u64) -> Arc<Self> {
        self.set(|d| d.full_entry_ms = Some(ms))
    }

    /// Profile override: Saver below `low_percent` of battery (not charging), left again
    /// at `recovered_percent` (≥ `low_percent`, ≤ 100). Default 20 / 25.
    pub fn battery_thresholds(
        self: Arc<Self>,
        low_percent: u8,
        recovered_percent: u8,
    ) -> Arc<Self> {
        self.set(|d| d.battery = Some((low_percent, recovered_percent)))
    }

    /// Checks every field and returns the configuration for `Node.start`. Creates
    /// nothing on disk.
    ///
    /// Errors, by field: `InvalidDataDir`, `InvalidGenesis`, `NoHomeStation`,
    /// `InvalidHomeStation`, `InvalidDmapp`, `UnreviewedDmapp`, `InvalidSetting`.
    pub fn build(&self) -> Result<NodeConfig, ConfigError> {
        let d = self.draft.lock().unwrap_or_else(|p| p.into_inner()).clone();
        check_data_dir(&d.data_dir)?;
        let genesis = Genesis::from_toml_str(&d.genesis_toml)
            .map_err(|e| ConfigError::InvalidGenesis(format!("genesis: {e}")))?;
        let home_stations = if d.home_stations.is_empty() {
            genesis.bootstrap().to_vec()
        } else {
            d.home_stations.clone()
        };
        if home_stations.is_empty() {
            return Err(ConfigError::NoHomeStation(
                "no home station given, and the genesis lists no bootstrap station".into(),
            ));
        }
        for addr in &home_stations {
            check_station(addr)?;
        }
        let dmapp = dmapp_id(&d.dmapp, &genesis)?;
        if !(1..=MAX_WORKER_THREADS).contains(&d.worker_threads) {
            return Err(ConfigError::InvalidSetting(format!(
                "worker threads: {} is not in 1..={MAX_WORKER_THREADS}",
                d.worker_threads
            )));
        }
        let config = NodeConfig {
            data_dir: d.data_dir,
            genesis_toml: d.genesis_toml,
            home_stations,
            dmapp_id: if dmapp == DmappId::WALLET {
                String::new()
            } else {
                hex::encode(dmapp.0)
            },
            worker_threads: d.worker_threads,
            full_in_background: d.full_in_background,
            background_grace_ms: d.background_grace_ms,
            full_entry_ms: d.full_entry_ms,
            low_battery_percent: d.battery.map(|(low, _)| low),
            battery_recovered_percent: d.battery.map(|(_, recovered)| recovered),
        };
        config.policy().map_err(ConfigError::InvalidSetting)?;
        Ok(config)
    }
}

fn check_data_dir(dir: &str) -> Result<(), ConfigError> {
    let path = Path::new(dir);
    if dir.is_empty() || !path.is_absolute() {
        return Err(ConfigError::InvalidDataDir(format!(
            "data directory {dir:?} is not an absolute path"
        )));
    }
    if path.exists() && !path.is_dir() {
        return Err(ConfigError::InvalidDataDir(format!(
            "data directory {dir:?} exists and is not a directory"
        )));
    }
    Ok(())
}

fn check_station(addr: &str) -> Result<(), ConfigError> {
    let parsed: libp2p::Multiaddr = addr
        .parse()
        .map_err(|e| ConfigError::InvalidHomeStation(format!("home station {addr:?}: {e}")))?;
    if zeropole_core::net::peer_id_of(&parsed).is_none() {
        return Err(ConfigError::InvalidHomeStation(format!(
            "home station {addr:?} does not end in /p2p/<peer id>"
        )));
    }
    Ok(())
}

fn dmapp_id(dmapp: &Dmapp, genesis: &Genesis) -> Result<DmappId, ConfigError> {
    let id = match dmapp {
        Dmapp::Wallet => return Ok(DmappId::WALLET),
        Dmapp::Id(text) => hex::decode(text)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(DmappId)
            .ok_or_else(|| {
                ConfigError::InvalidDmapp(format!("dmapp id {text:?} is not 64 hex characters"))
            })?,
        Dmapp::Manifest(bytes) => {
            let signed = SignedManifest::decode(bytes)
                .map_err(|e| ConfigError::InvalidDmapp(format!("dmapp manifest: {e}")))?;
            signed
                .verify(genesis.review_authorities())
                .map_err(|e| ConfigError::InvalidDmapp(format!("dmapp manifest: {e}")))?;
            signed.manifest().id()
        }
    };
    if id != DmappId::WALLET && !genesis.epoch0().rules.dmapps.contains(&id) {
        return Err(ConfigError::UnreviewedDmapp(format!(
            "dmapp {} is not reviewed on this network: the SDK refuses to start for it",
            hex::encode(id.0)
        )));
    }
    Ok(id)
}
