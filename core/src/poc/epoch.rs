//! An epoch as the POC layer sees it: the witness set `W_e`, the seed `seed_e`, the
//! committee size `n` and the validation rules of `R_e` (DESIGN.md §4). Genesis is epoch 0.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{quorum, CommitteeIndex, WitnessId};
use crate::crypto::{AccountId, PublicKey};
use crate::ledger::EpochRules;

/// An admitted witness: its id and its (device-generated) Falcon key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// `BLAKE3(witness key ‖ admission certificate)`.
    pub id: WitnessId,
    /// The key its attestations are signed with.
    pub public_key: PublicKey,
}

/// Epochs a witness keeps a closed epoch's records (and accepts its certificates) after it
/// ends, unless the epoch record says otherwise (DESIGN.md §4 `K`).
pub const DEFAULT_RETENTION: u64 = 4;

/// Blocks a committee member locks (hence attests) per account per epoch unless genesis
/// says otherwise (DESIGN.md §4 "Each account has an attestation quota per epoch"): an
/// anti-spam bound on the signatures and lock rows one account can cost a member.
pub const DEFAULT_ATTEST_QUOTA: u64 = 10_000;

/// The epoch record's content that witnesses and verifiers need. Cloning is cheap (the
/// witness set is shared), so every witness of a node or simulation holds its own copy.
#[derive(Debug, Clone)]
pub struct Epoch {
    /// Validation rules (epoch number, min_amount, dmapp registry).
    pub rules: EpochRules,
    /// `seed_e`: committee positions depend on it.
    pub seed: [u8; 32],
    /// Committee size `n`.
    pub n: usize,
    /// `K`: a closed epoch's records are kept, and its certificates accepted, while the
    /// current epoch is at most `e + K`; older certificates must be re-certified.
    pub retention: u64,
    /// `not_after` (milliseconds since the Unix epoch): a phone past it re-bootstraps through
    /// another operator. `None`: open-ended (genesis without a deadline, devnets).
    pub not_after: Option<u64>,
    /// Distinct heights a member locks for one account in this epoch (see
    /// [`DEFAULT_ATTEST_QUOTA`]); beyond it the member answers
    /// [`super::AttestReply::QuotaExceeded`].
    pub attest_quota: u64,
    witnesses: Arc<BTreeMap<WitnessId, Witness>>,
    index: Arc<CommitteeIndex>,
}

impl Epoch {
    /// An epoch over `witnesses` (duplicates by id collapse to one).
    pub fn new(rules: EpochRules, seed: [u8; 32], n: usize, witnesses: Vec<Witness>) -> Self {
        let witnesses: BTreeMap<WitnessId, Witness> =
            witnesses.into_iter().map(|w| (w.id, w)).collect();
        let index = CommitteeIndex::new(witnesses.keys().copied(), seed);
        Epoch {
            rules,
            seed,
            n,
            retention: DEFAULT_RETENTION,
            not_after: None,
            attest_quota: DEFAULT_ATTEST_QUOTA,
            witnesses: Arc::new(witnesses),
            index: Arc::new(index),
        }
    }

    /// The same epoch with retention `K` (see [`Epoch::retention`]).
    pub fn with_retention(mut self, k: u64) -> Self {
        self.retention = k;
        self
    }

    /// The same epoch with an attestation quota (see [`Epoch::attest_quota`]).
    pub fn with_attest_quota(mut self, quota: u64) -> Self {
        self.attest_quota = quota;
        self
    }

    /// The same epoch with a `not_after` deadline (see [`Epoch::not_after`]).
    pub fn with_not_after(mut self, not_after_ms: u64) -> Self {
        self.not_after = Some(not_after_ms);
        self
    }

    /// Whether a phone whose clock reads `now_ms` is past this record's `not_after` and
    /// must re-bootstrap. A clock is local, so this never decides validity (DESIGN.md §3).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.not_after.is_some_and(|t| now_ms > t)
    }

    /// Whether a certificate of epoch `issued` is still accepted in this epoch: issued no
    /// later than now and no earlier than `e − K`.
    pub fn accepts_certificates_of(&self, issued: u64) -> bool {
        issued <= self.number() && issued.saturating_add(self.retention) >= self.number()
    }

    /// The epoch number.
    pub fn number(&self) -> u64 {
        self.rules.epoch
    }

    /// Every witness of `W_e`, ordered by id.
    pub fn witnesses(&self) -> impl Iterator<Item = &Witness> {
        self.witnesses.values()
    }

    /// A witness by id.
    pub fn witness(&self, id: &WitnessId) -> Option<&Witness> {
        self.witnesses.get(id)
    }

    /// The committee of `account`: `min(n, |W_e|)` witness ids, nearest first.
    pub fn committee(&self, account: &AccountId) -> Vec<WitnessId> {
        self.index.select(account, self.n)
    }

    /// The size of `account`'s committee (`n`, or `|W_e|` in FastPay mode).
    pub fn committee_len(&self) -> usize {
        self.n.min(self.index.len())
    }

    /// Attestations a certificate needs: `q = n − f` of the actual committee size.
    pub fn quorum(&self) -> usize {
        quorum(self.committee_len()).1
    }
}
