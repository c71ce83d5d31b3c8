//! The genesis file (TOML): network, allocations, epoch 0 and authorities (DESIGN.md §4).
//!
//! A [`Genesis`] is a validated genesis file: [`Genesis::from_toml_str`] checks every field
//! (hex, keys, admission certificates against the admission authorities, dmapp manifests
//! against the review authorities, duplicates, the total supply, the committee
//! parameters) and names the offending field in its error. It gives epoch 0 as the POC
//! layer sees it ([`Genesis::epoch0`]), the genesis account states
//! ([`Genesis::genesis_states`]) and the security level of its committee size
//! ([`Genesis::security_bits`]), which every tool prints.
//!
//! [`GenesisBuilder`] writes genesis files for tests, the simulator and the devnet; the
//! format, every field and the derivations are described in `docs/genesis.md`.

mod admission;
mod builder;
mod error;
mod file;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::codec::Writer;
use crate::crypto::{hash_tagged, AccountId, Domain, Hash, PublicKey};
use crate::dmapp::{Registry, SignedManifest};
use crate::ledger::{AccountState, EpochRules};
use crate::poc::{self, Epoch, Witness};

pub use admission::{
    AdmissionCert, SignedAdmission, ADMISSION_VERSION, MAX_OPERATOR_LEN, MAX_SIGNED_ADMISSION_LEN,
};
pub use builder::GenesisBuilder;
pub use error::{AdmissionError, GenesisError, Problem};

/// Largest committee size `n` a genesis may state, and the bound of the search for `n`
/// when it is derived from `p` and `λ`.
pub const MAX_COMMITTEE_SIZE: usize = 10_000;
/// Longest network name, in bytes.
pub const MAX_NETWORK_LEN: usize = 64;

/// The committee parameters as the genesis file states them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommitteeParams {
    /// The adversarial (byzantine or offline) fraction of witnesses the network is sized
    /// for, `0 < p < 1/3`.
    pub p: f64,
    /// The target security level `λ` in bits, `> 0`.
    pub lambda: f64,
    /// An explicit committee size, or `None` for the smallest `n` reaching `λ` at `p`.
    pub n: Option<usize>,
}

/// A genesis allocation: an account funded at height 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The owner's key; the account id is `BLAKE3(key)`.
    pub public_key: PublicKey,
    /// The initial balance, in base units.
    pub amount: u64,
}

impl Allocation {
    /// The funded account.
    pub fn account_id(&self) -> AccountId {
        self.public_key.account_id()
    }
}

/// A validated genesis: `R_0` and the initial state of the network.
#[derive(Debug, Clone, PartialEq)]
pub struct Genesis {
    network: String,
    min_amount: u64,
    retention: u64,
    attest_quota: u64,
    not_after: Option<u64>,
    authority_threshold: usize,
    committee: CommitteeParams,
    n: usize,
    seed: [u8; 32],
    admission_authorities: Vec<PublicKey>,
    review_authorities: Vec<PublicKey>,
    allocations: Vec<Allocation>,
    admissions: Vec<SignedAdmission>,
    witnesses: Vec<Witness>,
    dmapps: Vec<SignedManifest>,
    registry: Registry,
    bootstrap: Vec<String>,
    total_supply: u64,
}

impl Genesis {
    /// Parses and validates a genesis file.
    ///
    /// # Errors
    /// [`GenesisError::Toml`] for syntax, missing, unknown or mistyped keys;
    /// [`GenesisError::Field`] naming the field for every refused value.
    pub fn from_toml_str(text: &str) -> Result<Genesis, GenesisError> {
        file::parse(text)
    }

    /// The genesis file: parses back to an equal `Genesis` and is stable (the same genesis
    /// always gives the same text). Comments give ids, names and the security level.
    pub fn to_toml_string(&self) -> String {
        file::write(self)
    }

    /// The network's name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// `K`: epochs a closed epoch's records are kept and its certificates accepted
    /// (`retention_epochs`, default [`poc::DEFAULT_RETENTION`]).
    pub fn retention(&self) -> u64 {
        self.retention
    }

    /// Blocks a committee member attests per account per epoch (`attest_quota`, default
    /// [`poc::DEFAULT_ATTEST_QUOTA`]).
    pub fn attest_quota(&self) -> u64 {
        self.attest_quota
    }

    /// `k`: how many of the admission authorities must sign an epoch record
    /// (`authority_threshold`, default 1).
    pub fn authority_threshold(&self) -> usize {
        self.authority_threshold
    }

    /// `R_0`, the record every later one chains to: epoch 0's root, seed, `n`, `q`,
    /// `min_amount` and registry root, and as `previous` a hash of this genesis file's text
    /// ([`Genesis::to_toml_string`], stable), so the chain of records belongs to this
    /// genesis and no other.
    pub fn record0(&self) -> poc::EpochRecord {
        let anchor = Hash(*blake3::hash(self.to_toml_string().as_bytes()).as_bytes());
        poc::EpochRecord::initial(&self.epoch0(), self.registry.root(0), &anchor)
    }

    /// Smallest amount a `Send` may move.
    pub fn min_amount(&self) -> u64 {
        self.min_amount
    }

    /// The committee parameters as stated.
    pub fn committee(&self) -> CommitteeParams {
        self.committee
    }

    /// The committee size `n` (stated, or derived from `p` and `λ`).
    pub fn n(&self) -> usize {
        self.n
    }

    /// `seed_0`.
    pub fn seed(&self) -> [u8; 32] {
        self.seed
    }

    /// Keys of the admission authorities (witness admission, epoch records).
    pub fn admission_authorities(&self) -> &[PublicKey] {
        &self.admission_authorities
    }

    /// Keys of the dmapp review authorities.
    pub fn review_authorities(&self) -> &[PublicKey] {
        &self.review_authorities
    }

    /// The allocations, in file order.
    pub fn allocations(&self) -> &[Allocation] {
        &self.allocations
    }

    /// The witnesses' signed admissions, in file order.
    pub fn admissions(&self) -> &[SignedAdmission] {
        &self.admissions
    }

    /// The witnesses of `W_0`, in file order.
    pub fn witnesses(&self) -> &[Witness] {
        &self.witnesses
    }

    /// The reviewed dmapps' signed manifests, in file order.
    pub fn dmapps(&self) -> &[SignedManifest] {
        &self.dmapps
    }

    /// The dmapp registry: the genesis dmapps, sealed through epoch 0 (a later admission
    /// takes effect at epoch 1 at the earliest). Its `root(0)` belongs in `R_0`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Bootstrap stations' multiaddrs (not parsed here).
    pub fn bootstrap(&self) -> &[String] {
        &self.bootstrap
    }

    /// The sum of the allocations (checked at load: it fits in a `u64`).
    pub fn total_supply(&self) -> u64 {
        self.total_supply
    }

    /// The security level in bits of committees of `n` at fraction `p`:
    /// `−log2 P[Binomial(n, p) ≥ f+1]` ([`poc::security_bits`]).
    pub fn security_bits(&self) -> f64 {
        poc::security_bits(self.n, self.committee.p)
    }

    /// One line for tools to print, e.g. `committee n = 79 (q = 53, f = 26) at p = 0.05:
    /// 50.3 bits of security (target λ = 50)`, flagged when below the target.
    pub fn security_summary(&self) -> String {
        let (f, q) = poc::quorum(self.n);
        let bits = self.security_bits();
        let mut line = format!(
            "committee n = {} (q = {q}, f = {f}) at p = {}: {bits:.1} bits of security (target λ = {})",
            self.n, self.committee.p, self.committee.lambda
        );
        if bits < self.committee.lambda {
            line.push_str(" — BELOW TARGET, not for value-bearing networks");
        }
        line
    }

    /// Epoch 0 as the POC layer sees it: rules (epoch 0, `min_amount`, the dmapps approved
    /// at epoch 0), `seed_0`, `n`, `W_0`, `K` and the attestation quota.
    pub fn epoch0(&self) -> Epoch {
        let rules = EpochRules {
            epoch: 0,
            min_amount: self.min_amount,
            dmapps: self.registry.rules_for_epoch(0),
        };
        let epoch = Epoch::new(rules, self.seed, self.n, self.witnesses.clone())
            .with_retention(self.retention)
            .with_attest_quota(self.attest_quota);
        match self.not_after {
            Some(t) => epoch.with_not_after(t),
            None => epoch,
        }
    }

    /// The state of a funded account at genesis: height 0, the allocation as balance, no
    /// sends or receives, and [`Genesis::allocation_hash`] as its head hash.
    pub fn genesis_states(&self) -> Vec<(AccountId, AccountState)> {
        self.allocations
            .iter()
            .map(|a| {
                let state = AccountState {
                    public_key: a.public_key.clone(),
                    head_height: 0,
                    head_hash: self.allocation_hash(a),
                    balance: a.amount,
                    last_timestamp_ms: 0,
                    last_sent_to: BTreeMap::new(),
                    recv_cursor: BTreeMap::new(),
                };
                (a.account_id(), state)
            })
            .collect()
    }

    /// The head hash of a genesis account, which its block at height 1 names as
    /// `previous`: `BLAKE3-derive_key("zeropole/block/v1", 0x00 ‖ bytes(network) ‖ seed_0 ‖
    /// bytes(public key) ‖ amount:u64)`. It lives among block hashes (a genesis account's
    /// height 0 stands in for an `Open` block) but cannot collide with one, since a block
    /// body starts with its version, never 0; it differs per network and per seed, so a
    /// block signed for one network is refused on another.
    pub fn allocation_hash(&self, allocation: &Allocation) -> Hash {
        let mut w = Writer::new();
        w.u8(0)
            .bytes(self.network.as_bytes())
            .fixed(&self.seed)
            .bytes(&allocation.public_key.to_bytes())
            .u64(allocation.amount);
        hash_tagged(Domain::Block, &w.finish())
    }
}
