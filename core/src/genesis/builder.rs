//! A builder of genesis files for tests, the simulator and the devnet.

use super::file::{self, RawAllocation, RawCommittee, RawDmapp, RawGenesis, RawWitness};
use super::{AdmissionCert, Genesis, GenesisError, SignedAdmission};
use crate::crypto::{KeyPair, PublicKey};
use crate::dmapp::{DmappManifest, SignedManifest};

/// Builds a [`Genesis`] (and, through [`Genesis::to_toml_string`], its file), signing the
/// witnesses' admissions and the dmapps' manifests with the authorities' keys.
///
/// The result passes through exactly the checks of [`Genesis::from_toml_str`]. The first
/// error met while adding (e.g. an invalid operator name) is reported by
/// [`GenesisBuilder::build`]. Defaults, meant for tests: `min_amount = 1`,
/// `p = 0.05, λ = 50` with `n` derived (79), an all-zero seed.
///
/// ```
/// use zeropole_core::crypto::KeyPair;
/// use zeropole_core::genesis::GenesisBuilder;
/// let mut carrier = KeyPair::from_seed(&[1; 32]).unwrap();
/// let witness = KeyPair::from_seed(&[2; 32]).unwrap();
/// let alice = KeyPair::from_seed(&[3; 32]).unwrap();
/// let genesis = GenesisBuilder::new("doc-net")
///     .min_amount(10)
///     .committee(0.05, 50.0, Some(1))
///     .seed([7; 32])
///     .admission_authority(carrier.public_key())
///     .witness(witness.public_key(), "Carrier One", &mut carrier)
///     .allocation(alice.public_key(), 1_000)
///     .build()
///     .unwrap();
/// assert_eq!(genesis.epoch0().witnesses().count(), 1);
/// let text = genesis.to_toml_string();
/// assert_eq!(zeropole_core::genesis::Genesis::from_toml_str(&text).unwrap(), genesis);
/// ```
#[derive(Debug)]
pub struct GenesisBuilder {
    raw: RawGenesis,
    error: Option<GenesisError>,
}

impl GenesisBuilder {
    /// A builder for the network `network`.
    pub fn new(network: &str) -> Self {
        GenesisBuilder {
            raw: RawGenesis {
                network: network.to_owned(),
                min_amount: 1,
                retention_epochs: None,
                attest_quota: None,
                authority_threshold: None,
                not_after_ms: None,
                seed: hex::encode([0u8; 32]),
                admission_authorities: Vec::new(),
                review_authorities: Vec::new(),
                bootstrap: Vec::new(),
                committee: RawCommittee {
                    p: 0.05,
                    lambda: 50.0,
                    n: None,
                },
                allocations: Vec::new(),
                witnesses: Vec::new(),
                dmapps: Vec::new(),
            },
            error: None,
        }
    }

    /// Smallest amount a `Send` may move (and smallest allocation).
    pub fn min_amount(mut self, min_amount: u64) -> Self {
        self.raw.min_amount = min_amount;
        self
    }

    /// `K`: epochs a closed epoch's records are kept (default
    /// [`crate::poc::DEFAULT_RETENTION`]).
    pub fn retention_epochs(mut self, k: u64) -> Self {
        self.raw.retention_epochs = Some(k);
        self
    }

    /// `not_after` of `R_0` (milliseconds since the Unix epoch): phones past it must
    /// re-bootstrap (default: none).
    pub fn not_after(mut self, not_after_ms: u64) -> Self {
        self.raw.not_after_ms = Some(not_after_ms);
        self
    }

    /// Blocks a committee member attests per account per epoch (default
    /// [`crate::poc::DEFAULT_ATTEST_QUOTA`]).
    pub fn attest_quota(mut self, quota: u64) -> Self {
        self.raw.attest_quota = Some(quota);
        self
    }

    /// `k`: admission authorities that must sign each epoch record (default 1).
    pub fn authority_threshold(mut self, k: u64) -> Self {
        self.raw.authority_threshold = Some(k);
        self
    }

    /// Committee parameters: fraction `p`, security level `lambda`, and an explicit `n`
    /// (`None` derives the smallest `n` reaching `lambda` at `p`).
    pub fn committee(mut self, p: f64, lambda: f64, n: Option<usize>) -> Self {
        self.raw.committee = RawCommittee {
            p,
            lambda,
            n: n.map(|n| u64::try_from(n).unwrap_or(u64::MAX)),
        };
        self
    }

    /// `seed_0`.
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.raw.seed = hex::encode(seed);
        self
    }

    /// Adds an admission authority.
    pub fn admission_authority(mut self, authority: &PublicKey) -> Self {
        self.raw
            .admission_authorities
            .push(hex::encode(authority.to_bytes()));
        self
    }

    /// Adds a dmapp review authority.
    pub fn review_authority(mut self, authority: &PublicKey) -> Self {
        self.raw
            .review_authorities
            .push(hex::encode(authority.to_bytes()));
        self
    }

    /// Funds the account of `public_key` with `amount` at genesis.
    pub fn allocation(mut self, public_key: &PublicKey, amount: u64) -> Self {
        self.raw.allocations.push(RawAllocation {
            public_key: hex::encode(public_key.to_bytes()),
            amount,
        });
        self
    }

    /// Admits the witness key `witness_key` (generated by the caller, on its device), run
    /// by `operator`, from epoch 0: `authority` signs the certificate and must be added
    /// with [`Self::admission_authority`].
    pub fn witness(self, witness_key: &PublicKey, operator: &str, authority: &mut KeyPair) -> Self {
        let signed = AdmissionCert::new(witness_key.clone(), operator, 0)
            .map_err(GenesisError::from)
            .and_then(|cert| cert.sign(authority).map_err(GenesisError::from));
        match signed {
            Ok(admission) => self.signed_witness(&admission),
            Err(e) => self.fail(e),
        }
    }

    /// Adds a witness whose admission was signed elsewhere.
    pub fn signed_witness(mut self, admission: &SignedAdmission) -> Self {
        self.raw.witnesses.push(RawWitness {
            admission: hex::encode(admission.encode()),
        });
        self
    }

    /// Reviews `manifest`: `authority` signs it and must be added with
    /// [`Self::review_authority`].
    pub fn dmapp(self, manifest: DmappManifest, authority: &mut KeyPair) -> Self {
        match manifest.sign(authority) {
            Ok(signed) => self.signed_dmapp(&signed),
            Err(e) => self.fail(e.into()),
        }
    }

    /// Adds a dmapp whose manifest was signed elsewhere.
    pub fn signed_dmapp(mut self, manifest: &SignedManifest) -> Self {
        self.raw.dmapps.push(RawDmapp {
            manifest: hex::encode(manifest.encode()),
        });
        self
    }

    /// Adds a bootstrap station's multiaddr.
    pub fn bootstrap(mut self, multiaddr: &str) -> Self {
        self.raw.bootstrap.push(multiaddr.to_owned());
        self
    }

    /// The validated genesis, or the first error (a builder error, or the field error
    /// [`Genesis::from_toml_str`] would give for the same file).
    pub fn build(self) -> Result<Genesis, GenesisError> {
        match self.error {
            Some(e) => Err(e),
            None => file::validate(self.raw),
        }
    }

    fn fail(mut self, error: GenesisError) -> Self {
        self.error.get_or_insert(error);
        self
    }
}
