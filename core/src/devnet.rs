//! Deterministic development networks: one seed gives a genesis (R_0) with an admission
//! authority, `stations` station witnesses and `wallets` funded wallets, plus every key.
//!
//! Only for devnets, tests and demos: the witness keys are derived from the seed, which a
//! real witness must never do (DESIGN.md §4 — they are generated on the device).

use crate::crypto::{KeyPair, PublicKey};
use crate::genesis::{Genesis, GenesisBuilder, GenesisError};
use crate::poc::Witness;

/// Funds of each devnet wallet, in base units.
pub const WALLET_FUNDS: u64 = 1_000_000_000;
/// Smallest transfer on a devnet.
pub const MIN_AMOUNT: u64 = 1_000;

/// A devnet's genesis and keys.
pub struct Devnet {
    /// The genesis (R_0).
    pub genesis: Genesis,
    /// Each station's witness key, in station order.
    pub station_keys: Vec<KeyPair>,
    /// Each wallet's account key, in wallet order.
    pub wallet_keys: Vec<KeyPair>,
}

fn key(seed: u64, role: &str, index: usize) -> Result<KeyPair, GenesisError> {
    let mut input = seed.to_be_bytes().to_vec();
    input.extend_from_slice(role.as_bytes());
    input.extend_from_slice(&(index as u64).to_be_bytes());
    let derived = blake3::derive_key("zeropole/devnet/key/v1", &input);
    KeyPair::from_seed(&derived).map_err(GenesisError::from)
}

impl Devnet {
    /// Generates a devnet. `n` is the committee size (`None`: all stations, FastPay mode).
    pub fn generate(
        seed: u64,
        stations: usize,
        wallets: usize,
        n: Option<usize>,
    ) -> Result<Self, GenesisError> {
        let wallet_keys = (0..wallets)
            .map(|i| key(seed, "wallet", i))
            .collect::<Result<Vec<_>, _>>()?;
        let allocations: Vec<(PublicKey, u64)> = wallet_keys
            .iter()
            .map(|k| (k.public_key().clone(), WALLET_FUNDS))
            .collect();
        let mut devnet = Self::generate_for(seed, stations, &allocations, n)?;
        devnet.wallet_keys = wallet_keys;
        Ok(devnet)
    }

    /// Like [`generate`](Self::generate), but funds the given accounts (e.g. wallets
    /// derived from phrases by an SDK test) instead of generating wallet keys.
    pub fn generate_for(
        seed: u64,
        stations: usize,
        allocations: &[(PublicKey, u64)],
        n: Option<usize>,
    ) -> Result<Self, GenesisError> {
        let mut authority = key(seed, "admission-authority", 0)?;
        let reviewer = key(seed, "review-authority", 0)?;
        let station_keys = (0..stations)
            .map(|i| key(seed, "station", i))
            .collect::<Result<Vec<_>, _>>()?;
        let seed_0 = blake3::derive_key("zeropole/devnet/seed_0/v1", &seed.to_be_bytes());
        let mut builder = GenesisBuilder::new("zeropole-devnet")
            .min_amount(MIN_AMOUNT)
            .committee(0.05, 50.0, Some(n.unwrap_or(stations)))
            .seed(seed_0)
            .admission_authority(&authority.public_key().clone())
            .review_authority(reviewer.public_key());
        for (public_key, amount) in allocations {
            builder = builder.allocation(public_key, *amount);
        }
        for (i, s) in station_keys.iter().enumerate() {
            builder = builder.witness(
                s.public_key(),
                &format!("devnet-station-{i}"),
                &mut authority,
            );
        }
        Ok(Devnet {
            genesis: builder.build()?,
            station_keys,
            wallet_keys: Vec::new(),
        })
    }

    /// A devnet node's libp2p identity, derived from the devnet seed so that tests and
    /// scripts know every PeerId in advance (`role`: "station", "phone"...).
    pub fn transport_key(seed: u64, role: &str, index: usize) -> libp2p::identity::Keypair {
        let mut input = seed.to_be_bytes().to_vec();
        input.extend_from_slice(role.as_bytes());
        input.extend_from_slice(&(index as u64).to_be_bytes());
        let mut secret = blake3::derive_key("zeropole/devnet/transport-key/v1", &input);
        libp2p::identity::Keypair::ed25519_from_bytes(&mut secret)
            .unwrap_or_else(|_| unreachable!("any 32 bytes are an Ed25519 secret key"))
    }

    /// A devnet wallet's seed phrase (24 words), derived from the devnet seed so that a
    /// lab or a test knows every phrase (and account) of an SDK `Node` in advance. Test
    /// networks only: anyone who knows the seed knows the phrase.
    pub fn phrase(seed: u64, index: usize) -> String {
        let mut input = seed.to_be_bytes().to_vec();
        input.extend_from_slice(&(index as u64).to_be_bytes());
        let entropy = blake3::derive_key("zeropole/devnet/phrase/v1", &input);
        bip39::Mnemonic::from_entropy(&entropy)
            .map(|m| m.to_string())
            .unwrap_or_else(|_| unreachable!("32 bytes are valid BIP-39 entropy"))
    }

    /// The genesis witness of station `index`'s key.
    pub fn witness(&self, index: usize) -> Option<Witness> {
        let key: &PublicKey = self.station_keys.get(index)?.public_key();
        self.genesis
            .witnesses()
            .iter()
            .find(|w| &w.public_key == key)
            .cloned()
    }
}

/// A devnet's stations running in this process on 127.0.0.1 (each a libp2p swarm with its
/// own SQLite witness store in a temporary directory), for SDK tests and demos: Kotlin and
/// Swift tests start one through the FFI, then run real nodes against it. Dropping it
/// stops every station and removes the directories.
pub struct LocalDevnet {
    runtime: Option<tokio::runtime::Runtime>,
    handles: Vec<crate::net::NetHandle>,
    /// The genesis (TOML) every node of this devnet must use.
    pub genesis_toml: String,
    /// Every station's full address (`/p2p/` included), in station order.
    pub station_addrs: Vec<String>,
    _dirs: Vec<tempfile::TempDir>,
}

impl LocalDevnet {
    /// Starts `stations` witness stations (committee n = all of them) funding
    /// `allocations`; returns once every station knows every witness's peer record.
    pub fn start(
        seed: u64,
        stations: usize,
        allocations: &[(PublicKey, u64)],
    ) -> Result<LocalDevnet, String> {
        use crate::net::{NetConfig, Network, WitnessDuty};
        use crate::poc::WitnessNode;
        use crate::store::SqliteWitnessStore;
        use libp2p::multiaddr::Protocol;

        let devnet =
            Devnet::generate_for(seed, stations, allocations, None).map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zeropole-devnet")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let epoch = devnet.genesis.epoch0();
        let states = devnet.genesis.genesis_states();
        let mut handles = Vec::new();
        let mut addrs: Vec<libp2p::Multiaddr> = Vec::new();
        let mut dirs = Vec::new();
        for i in 0..stations {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let store = SqliteWitnessStore::open(dir.path().join("witness.sqlite"))
                .map_err(|e| e.to_string())?;
            let witness = devnet.witness(i).ok_or("missing witness")?;
            let keys = devnet.station_keys[i].clone();
            let node = WitnessNode::start(witness, keys.clone(), epoch.clone(), store, &states)
                .map_err(|e| e.to_string())?;
            let listen: libp2p::Multiaddr = "/ip4/127.0.0.1/udp/0/quic-v1"
                .parse()
                .map_err(|e: libp2p::multiaddr::Error| e.to_string())?;
            let mut config = NetConfig::station(vec![listen], vec![]);
            config.bootstrap = addrs.clone();
            let key = Devnet::transport_key(seed, "station", i);
            let peer = key.public().to_peer_id();
            let handle = {
                let _guard = runtime.enter();
                Network::start(config, key, epoch.clone(), Some(WitnessDuty { node, keys }))
                    .map_err(|e| e.to_string())?
            };
            let h = handle.clone();
            let addr = runtime.block_on(async move {
                for _ in 0..500 {
                    if let Ok(s) = h.status().await {
                        if let Some(a) = s.listen.first() {
                            return Some(a.clone());
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                None
            });
            let addr = addr.ok_or("a station did not start listening")?;
            addrs.push(addr.with(Protocol::P2p(peer)));
            handles.push(handle);
            dirs.push(dir);
        }
        for h in &handles {
            let h = h.clone();
            let ready = runtime.block_on(async move {
                for _ in 0..1000 {
                    if h.status()
                        .await
                        .is_ok_and(|s| s.known_witnesses == stations)
                    {
                        return true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                false
            });
            if !ready {
                return Err("stations did not learn each other's peer records in 20 s".into());
            }
        }
        Ok(LocalDevnet {
            runtime: Some(runtime),
            handles,
            genesis_toml: devnet.genesis.to_toml_string(),
            station_addrs: addrs.iter().map(|a| a.to_string()).collect(),
            _dirs: dirs,
        })
    }
}

impl Drop for LocalDevnet {
    fn drop(&mut self) {
        self.handles.clear();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
