//! Signed epoch records (DESIGN.md §4): `R_e = {e, root(W_e), seed_e, n, q, min_amount,
//! dmapp registry root, H(R_{e−1}), not_after}`, signed by `k` of the `m` admission
//! authorities of genesis. Genesis is `R_0` ([`EpochRecord::initial`], unsigned: the
//! genesis file is the trust anchor).
//!
//! The record also carries the seed's reveals (authority index and secret, see
//! [`super::seed`]), so anyone recomputes `seed_e` from `e`, `root(W_e)` and them; that the
//! commits came before `W_e` was frozen is what the `k` signing authorities vouch for (each
//! ran the ceremony). The hash `H(R_e)` and the signatures cover the unsigned encoding, under
//! `zeropole/epoch-record/v1`. Format (version [`RECORD_VERSION`], integers big-endian):
//! ```text
//! record = version:u8 epoch:u64 witness_root:[32] witness_count:u32 seed:[32] n:u32 q:u32
//!          min_amount:u64 registry_root:[32] previous:[32] not_after:opt(u64)
//!          reveals:u8(≤ 64) (authority:u8 secret:[32]) × reveals      (authority ascending)
//! signed = record signatures:u8(≤ 64) (authority:u8 signature:bytes(≤ 1024)) × signatures
//!                                                                      (authority ascending)
//! opt(x) = 0x00 | 0x01 x
//! ```
//! Decoding never panics and refuses trailing bytes, unknown tags, over-long lists and
//! authority indices out of order (so one authority cannot count twice).
//!
//! `R_0`'s `previous` is `H(0x00 ‖ genesis anchor)` — [`crate::genesis::Genesis::record0`]
//! anchors it to the genesis file's text — and a record encoding starts with its version
//! (`0x01`), so it can never collide with a record hash.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use super::seed::{derive_seed, SeedOutcome, MAX_AUTHORITIES};
use super::witness_set::WitnessSetTree;
use super::{quorum, Epoch, Witness};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{hash_tagged, CryptoError, Domain, Hash, KeyPair, PublicKey, Signature};
use crate::dmapp::Registry;
use crate::ledger::EpochRules;

/// Format version of epoch records.
pub const RECORD_VERSION: u8 = 1;
const MAX_SIGNATURE_LEN: usize = 1024;
/// Largest committee size a record may state (as genesis).
const MAX_N: usize = crate::genesis::MAX_COMMITTEE_SIZE;

/// The content of an epoch record (see the module docs). Build one with
/// [`EpochRecord::initial`] (genesis) or [`EpochRecord::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRecord {
    /// `e`.
    pub epoch: u64,
    /// Merkle root of `W_e` ([`WitnessSetTree`]).
    pub witness_root: Hash,
    /// `|W_e|` (bound into the root too; here so `q` can be checked without `W_e`).
    pub witness_count: u32,
    /// `seed_e`.
    pub seed: [u8; 32],
    /// Committee size `n`.
    pub n: u32,
    /// Quorum `q` of a committee of `min(n, |W_e|)`.
    pub q: u32,
    /// Smallest amount a `Send` may move.
    pub min_amount: u64,
    /// The dmapp registry's root for `e` ([`Registry::root`]).
    pub registry_root: Hash,
    /// `H(R_{e−1})`.
    pub previous: Hash,
    /// Milliseconds since the Unix epoch after which a phone re-bootstraps (`None`: open).
    pub not_after: Option<u64>,
    /// The reveals `seed_e` is derived from (empty in `R_0`, whose seed genesis states).
    pub reveals: BTreeMap<u8, [u8; 32]>,
}

/// An epoch record with its authorities' signatures, by authority index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEpochRecord {
    /// The record.
    pub record: EpochRecord,
    /// Signatures over [`EpochRecord::encode`], by index into genesis' admission
    /// authorities.
    pub signatures: BTreeMap<u8, Signature>,
}

/// Why an epoch record, or the epoch built from it, is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// `k` must be in `1..=m`, `m ≤ 64`.
    #[error("threshold {k} of {m} authorities is not in 1..=m (m ≤ {MAX_AUTHORITIES})")]
    BadThreshold {
        /// `k`.
        k: usize,
        /// `m`.
        m: usize,
    },
    /// The record does not follow `R_{e−1}`'s number.
    #[error("the record is for epoch {found}, the next one is {expected}")]
    WrongEpoch {
        /// `e − 1 + 1`.
        expected: u64,
        /// The record's epoch.
        found: u64,
    },
    /// `previous` is not `H(R_{e−1})`.
    #[error("the record names {found} as the previous record, R_(e-1) hashes to {expected}")]
    WrongPrevious {
        /// `H(R_{e−1})`.
        expected: Hash,
        /// What the record names.
        found: Hash,
    },
    /// A field is outside its domain (the text says which).
    #[error("invalid record field {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Fewer than `k` valid reveals, or `seed_e` is not derived from them.
    #[error("the seed is not derived from at least {need} reveals ({have} given)")]
    BadSeed {
        /// Reveals given.
        have: usize,
        /// `k`.
        need: usize,
    },
    /// A signature's index names no authority.
    #[error("signature by authority {0}, which does not exist")]
    UnknownAuthority(u8),
    /// A signature does not verify.
    #[error("the signature of authority {0} does not verify")]
    BadSignature(u8),
    /// Fewer than `k` distinct authorities signed.
    #[error("signed by {have} authorities, {need} are needed")]
    NotEnoughSignatures {
        /// Distinct valid signers.
        have: usize,
        /// `k`.
        need: usize,
    },
    /// `W_e` given with the record is not the set its root commits to.
    #[error("the witness set does not match the record's root ({0})")]
    WitnessSetMismatch(String),
    /// The local dmapp registry disagrees with the record's registry root (this node lacks
    /// an admission or revocation the authorities sealed into `R_e`).
    #[error(
        "the local dmapp registry's root for epoch {epoch} is {local}, the record says {record}"
    )]
    RegistryMismatch {
        /// The epoch.
        epoch: u64,
        /// The local root.
        local: Hash,
        /// The record's root.
        record: Hash,
    },
    /// Malformed bytes.
    #[error("malformed epoch record: {0}")]
    Decode(#[from] DecodeError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Crypto(#[from] CryptoError),
}

fn field(field: &'static str, reason: impl Into<String>) -> RecordError {
    RecordError::Field {
        field,
        reason: reason.into(),
    }
}

fn check_threshold(authorities: &[PublicKey], k: usize) -> Result<(), RecordError> {
    let m = authorities.len();
    if k == 0 || k > m || m > MAX_AUTHORITIES {
        return Err(RecordError::BadThreshold { k, m });
    }
    Ok(())
}

impl EpochRecord {
    /// `R_0` of `epoch0` (genesis): no reveals (genesis states `seed_0`), `previous` =
    /// `H(0x00 ‖ anchor)` where `anchor` identifies the genesis (its file's hash).
    pub fn initial(epoch0: &Epoch, registry_root: Hash, anchor: &Hash) -> Self {
        let mut w = Writer::new();
        w.u8(0x00).fixed(&anchor.0);
        Self::describe(
            epoch0,
            registry_root,
            hash_tagged(Domain::EpochRecord, &w.finish()),
            BTreeMap::new(),
        )
    }

    /// The record of an epoch as it stands (its number, root, seed, `n`, `q`, rules,
    /// `not_after`) with the given registry root, previous hash and reveals.
    fn describe(
        epoch: &Epoch,
        registry_root: Hash,
        previous: Hash,
        reveals: BTreeMap<u8, [u8; 32]>,
    ) -> Self {
        let count = epoch.witnesses().count();
        EpochRecord {
            epoch: epoch.number(),
            witness_root: epoch.witness_root(),
            witness_count: u32::try_from(count).unwrap_or(u32::MAX),
            seed: epoch.seed,
            n: u32::try_from(epoch.n).unwrap_or(u32::MAX),
            q: u32::try_from(epoch.quorum()).unwrap_or(u32::MAX),
            min_amount: epoch.rules.min_amount,
            registry_root,
            previous,
            not_after: epoch.not_after,
            reveals,
        }
    }

    /// `R_{e+1}` after `prev`: `W_{e+1}` = `witnesses`, its seed from the ceremony
    /// (`seed` must be for epoch `e + 1` and over this very set's root), committee size
    /// `n`, `min_amount`, the registry's root for `e + 1` and `not_after`.
    #[allow(clippy::too_many_arguments)]
    pub fn next(
        prev: &EpochRecord,
        witnesses: &[Witness],
        n: usize,
        min_amount: u64,
        registry_root: Hash,
        seed: &SeedOutcome,
        not_after: Option<u64>,
    ) -> Result<Self, RecordError> {
        let epoch = prev
            .epoch
            .checked_add(1)
            .ok_or_else(|| field("epoch", "the epoch number overflows"))?;
        let mut sorted = witnesses.to_vec();
        sorted.sort_by_key(|w| w.id);
        sorted.dedup_by_key(|w| w.id);
        let tree = WitnessSetTree::new(&sorted)
            .ok_or_else(|| field("witness_count", "too many witnesses"))?;
        if seed.epoch != epoch || seed.witness_root != tree.root() {
            return Err(field(
                "seed",
                "the ceremony's epoch or frozen witness root is not this record's",
            ));
        }
        let committee = n.min(sorted.len());
        let record = EpochRecord {
            epoch,
            witness_root: tree.root(),
            witness_count: u32::try_from(sorted.len()).unwrap_or(u32::MAX),
            seed: seed.seed,
            n: u32::try_from(n).unwrap_or(u32::MAX),
            q: u32::try_from(quorum(committee).1).unwrap_or(u32::MAX),
            min_amount,
            registry_root,
            previous: prev.hash(),
            not_after,
            reveals: seed.reveals.clone(),
        };
        record.check_fields(prev)?;
        Ok(record)
    }

    /// `H(R_e)`: the hash of the unsigned encoding.
    pub fn hash(&self) -> Hash {
        hash_tagged(Domain::EpochRecord, &self.encode())
    }

    /// An admission authority's signature over the record (add it to a
    /// [`SignedEpochRecord`] under the authority's index).
    pub fn sign(&self, keys: &mut KeyPair) -> Result<Signature, CryptoError> {
        keys.sign(Domain::EpochRecord, &self.encode())
    }

    /// The canonical unsigned encoding (what is hashed and signed).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut Writer) {
        w.u8(RECORD_VERSION)
            .u64(self.epoch)
            .fixed(&self.witness_root.0)
            .u32(self.witness_count)
            .fixed(&self.seed)
            .u32(self.n)
            .u32(self.q)
            .u64(self.min_amount)
            .fixed(&self.registry_root.0)
            .fixed(&self.previous.0);
        match self.not_after {
            None => w.u8(0),
            Some(t) => w.u8(1).u64(t),
        };
        // At most MAX_AUTHORITIES reveals are ever accepted (decode, verify).
        w.u8(self.reveals.len().min(u8::MAX as usize) as u8);
        for (i, secret) in self.reveals.iter().take(u8::MAX as usize) {
            w.u8(*i).fixed(secret);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("record version")?;
        if version != RECORD_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "epoch record",
                version,
            });
        }
        let epoch = r.u64("epoch")?;
        let witness_root = Hash(r.array("witness root")?);
        let witness_count = r.u32("witness count")?;
        let seed = r.array("seed")?;
        let n = r.u32("n")?;
        let q = r.u32("q")?;
        let min_amount = r.u64("min_amount")?;
        let registry_root = Hash(r.array("registry root")?);
        let previous = Hash(r.array("previous")?);
        let not_after = match r.u8("not_after tag")? {
            0 => None,
            1 => Some(r.u64("not_after")?),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "not_after",
                    tag,
                })
            }
        };
        let reveals = read_indexed(r, "reveals", |r| r.array("secret"))?;
        Ok(EpochRecord {
            epoch,
            witness_root,
            witness_count,
            seed,
            n,
            q,
            min_amount,
            registry_root,
            previous,
            not_after,
            reveals,
        })
    }

    /// Decodes exactly one unsigned record; malformed input is a typed error, never a
    /// panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = Self::read(&mut r)?;
        r.finish()?;
        Ok(record)
    }

    /// The checks of a record's own fields against `prev` (everything but signatures and
    /// the threshold of reveals).
    fn check_fields(&self, prev: &EpochRecord) -> Result<(), RecordError> {
        let expected = prev.epoch.checked_add(1);
        if expected != Some(self.epoch) {
            return Err(RecordError::WrongEpoch {
                expected: expected.unwrap_or(u64::MAX),
                found: self.epoch,
            });
        }
        if self.previous != prev.hash() {
            return Err(RecordError::WrongPrevious {
                expected: prev.hash(),
                found: self.previous,
            });
        }
        if self.witness_count == 0 {
            return Err(field("witness_count", "W_e is empty"));
        }
        let n = self.n as usize;
        if !(1..=MAX_N).contains(&n) {
            return Err(field("n", format!("{n} is not in 1..={MAX_N}")));
        }
        let q = quorum(n.min(self.witness_count as usize)).1;
        if self.q as usize != q {
            return Err(field(
                "q",
                format!("{} is not the quorum {q} of min(n, |W_e|)", self.q),
            ));
        }
        if self.min_amount == 0 {
            return Err(field("min_amount", "must be at least 1"));
        }
        if let (Some(before), Some(now)) = (prev.not_after, self.not_after) {
            if now < before {
                return Err(field(
                    "not_after",
                    format!("{now} is earlier than R_(e-1)'s {before}"),
                ));
            }
        }
        Ok(())
    }
}

impl SignedEpochRecord {
    /// A record without signatures yet.
    pub fn new(record: EpochRecord) -> Self {
        SignedEpochRecord {
            record,
            signatures: BTreeMap::new(),
        }
    }

    /// Adds authority `authority`'s signature (made with [`EpochRecord::sign`]).
    pub fn add_signature(&mut self, authority: u8, signature: Signature) {
        self.signatures.insert(authority, signature);
    }

    /// Signs as authority `authority` and adds the signature.
    pub fn sign_as(&mut self, authority: u8, keys: &mut KeyPair) -> Result<(), CryptoError> {
        let signature = self.record.sign(keys)?;
        self.add_signature(authority, signature);
        Ok(())
    }

    /// Checks `R_e` against `prev` (`R_{e−1}`, already trusted) and genesis'
    /// `authorities` with threshold `k`: the number follows, `previous = H(R_{e−1})`, the
    /// fields are in range (`W_e` not empty, `1 ≤ n`, `q` the quorum of `min(n, |W_e|)`,
    /// `min_amount ≥ 1`, `not_after` not earlier than `R_{e−1}`'s), `seed_e` is derived
    /// from at least `k` reveals by real authorities, and at least `k` distinct
    /// authorities signed — every signature present must verify.
    pub fn verify(
        &self,
        prev: &EpochRecord,
        authorities: &[PublicKey],
        k: usize,
    ) -> Result<(), RecordError> {
        check_threshold(authorities, k)?;
        let r = &self.record;
        r.check_fields(prev)?;
        let real = |i: &u8| (*i as usize) < authorities.len();
        if r.reveals.len() < k
            || !r.reveals.keys().all(real)
            || derive_seed(r.epoch, &r.witness_root, &r.reveals) != r.seed
        {
            return Err(RecordError::BadSeed {
                have: r.reveals.len(),
                need: k,
            });
        }
        let message = r.encode();
        let mut signers = BTreeSet::new();
        for (i, signature) in &self.signatures {
            let key = authorities
                .get(*i as usize)
                .ok_or(RecordError::UnknownAuthority(*i))?;
            if !key.verify(Domain::EpochRecord, &message, signature) {
                return Err(RecordError::BadSignature(*i));
            }
            signers.insert(*i);
        }
        if signers.len() < k {
            return Err(RecordError::NotEnoughSignatures {
                have: signers.len(),
                need: k,
            });
        }
        Ok(())
    }

    /// The canonical encoding (record, then signatures).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.record.write(&mut w);
        // At most MAX_AUTHORITIES signatures are ever accepted (decode).
        w.u8(self.signatures.len().min(u8::MAX as usize) as u8);
        for (i, s) in self.signatures.iter().take(u8::MAX as usize) {
            w.u8(*i).bytes(&s.to_bytes());
        }
        w.finish()
    }

    /// Decodes exactly one signed record (no check: see [`Self::verify`]); malformed input
    /// is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = EpochRecord::read(&mut r)?;
        let signatures = read_indexed(&mut r, "signatures", |r| {
            Signature::from_bytes(r.bytes("signature", MAX_SIGNATURE_LEN)?).map_err(|e| {
                DecodeError::Invalid {
                    field: "signature",
                    reason: e.to_string(),
                }
            })
        })?;
        r.finish()?;
        Ok(SignedEpochRecord { record, signatures })
    }
}

/// Reads `count:u8 (index:u8 value) × count` with indices strictly ascending.
fn read_indexed<T>(
    r: &mut Reader<'_>,
    what: &'static str,
    mut value: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<BTreeMap<u8, T>, DecodeError> {
    let count = r.u8(what)? as usize;
    if count > MAX_AUTHORITIES {
        return Err(DecodeError::TooLong {
            field: what,
            len: count,
            max: MAX_AUTHORITIES,
        });
    }
    let mut out = BTreeMap::new();
    for _ in 0..count {
        let i = r.u8("authority")?;
        if out.last_key_value().is_some_and(|(last, _)| *last >= i) {
            return Err(DecodeError::Invalid {
                field: what,
                reason: "authority indices must be strictly ascending".into(),
            });
        }
        let v = value(r)?;
        out.insert(i, v);
    }
    Ok(out)
}

impl Epoch {
    /// The runtime epoch of a *verified* record `R_e`: `W_e` = `witnesses`, checked against
    /// the record's root; the dmapps approved in `e` by the local `registry`, checked
    /// against the record's registry root (so a revocation takes effect exactly at the
    /// epoch whose record seals it, never mid-epoch); seed, `n`, `min_amount` and
    /// `not_after` from the record; `K` and the attestation quota (genesis parameters, not
    /// in the record) carried over from `prev` (`R_{e−1}`'s epoch).
    pub fn from_record(
        record: &EpochRecord,
        witnesses: Vec<Witness>,
        registry: &Registry,
        prev: &Epoch,
    ) -> Result<Epoch, RecordError> {
        let e = record.epoch;
        let local = registry.root(e);
        if local != record.registry_root {
            return Err(RecordError::RegistryMismatch {
                epoch: e,
                local,
                record: record.registry_root,
            });
        }
        let given = witnesses.len();
        let rules = EpochRules {
            epoch: e,
            min_amount: record.min_amount,
            dmapps: registry.rules_for_epoch(e),
        };
        let mut epoch = Epoch::new(rules, record.seed, record.n as usize, witnesses)
            .with_retention(prev.retention)
            .with_attest_quota(prev.attest_quota);
        epoch.not_after = record.not_after;
        let count = epoch.witnesses().count();
        if count != given || count != record.witness_count as usize {
            return Err(RecordError::WitnessSetMismatch(format!(
                "{given} witnesses given ({count} distinct), the record has {}",
                record.witness_count
            )));
        }
        if epoch.witness_root() != record.witness_root {
            return Err(RecordError::WitnessSetMismatch(
                "the Merkle root differs".into(),
            ));
        }
        Ok(epoch)
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
