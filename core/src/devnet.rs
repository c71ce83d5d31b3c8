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
