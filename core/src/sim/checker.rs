//! The invariants, checked after every step of a run (DESIGN.md §3–§4):
//! 1. never two certifiable blocks at one `(account, height)`, across epochs — counted over
//!    *every* attestation any committee member produced, honest or byzantine, not just over
//!    the certificates someone happened to assemble; a block is certifiable once `q` members
//!    of the account's committee attested it in one epoch (each epoch with its own `q`; the
//!    simulator passes only attestations by members of the statement's committee);
//! 2. total supply is conserved: certified balances plus certified-but-unreceived sends
//!    equal the genesis supply;
//! 3. no send is received twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::crypto::{AccountId, Hash};
use crate::ledger::Op;
use crate::poc::{Attestation, Certificate, Statement, WitnessId};

/// The witnesses that attested one block, per epoch.
type AttestersByEpoch = BTreeMap<u64, BTreeSet<WitnessId>>;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

/// Tracks what the run produced and checks the invariants incrementally.
pub struct Checker {
    quorum: usize,
    quorums: BTreeMap<u64, usize>,
    supply: u128,
    genesis: BTreeMap<AccountId, u64>,
    /// Per (account, height): per block hash, per epoch, the attesters.
    attesters: BTreeMap<(AccountId, u64), BTreeMap<Hash, AttestersByEpoch>>,
    certified: BTreeMap<(AccountId, u64), Certificate>,
    claimed: BTreeMap<(AccountId, u64), AccountId>,
    /// Per account: height and balance of its highest certified block.
    heads: BTreeMap<AccountId, (u64, u64)>,
    balances: u128,
    unreceived: u128,
    /// Per recipient: certified sends not yet received (kept incrementally: liveness is
    /// asked for every wallet on every tick).
    unreceived_by_recipient: BTreeMap<AccountId, usize>,
}

impl Checker {
    /// A checker for a network with these genesis balances and quorum.
    pub fn new(genesis: BTreeMap<AccountId, u64>, quorum: usize) -> Self {
        let supply = genesis.values().map(|v| *v as u128).sum();
        Checker {
            quorum,
            quorums: BTreeMap::new(),
            supply,
            genesis,
            attesters: BTreeMap::new(),
            certified: BTreeMap::new(),
            claimed: BTreeMap::new(),
            heads: BTreeMap::new(),
            balances: supply,
            unreceived: 0,
            unreceived_by_recipient: BTreeMap::new(),
        }
    }

    /// Sets the quorum of `epoch` (epochs not set use the one given to [`Checker::new`]).
    pub fn set_quorum(&mut self, epoch: u64, quorum: usize) {
        self.quorums.insert(epoch, quorum);
    }

    /// Records an attestation some witness released.
    pub fn attestation(&mut self, a: &Attestation) -> Result<(), Violation> {
        self.attested(&a.statement, a.witness)
    }

    /// Records that `witness` released an attestation of `s`, in either form (a batch
    /// attestation counts for each statement of the batch it was released for).
    pub fn attested(&mut self, s: &Statement, witness: WitnessId) -> Result<(), Violation> {
        let by_hash = self.attesters.entry((s.account, s.height)).or_default();
        by_hash
            .entry(s.block_hash)
            .or_default()
            .entry(s.epoch)
            .or_default()
            .insert(witness);
        let (quorums, default) = (&self.quorums, self.quorum);
        let certifiable = by_hash
            .values()
            .filter(|by_epoch| {
                by_epoch
                    .iter()
                    .any(|(e, w)| w.len() >= quorums.get(e).copied().unwrap_or(default))
            })
            .count();
        if certifiable > 1 {
            return Err(Violation(format!(
                "two different blocks at account {} height {} each have a quorum of attestations (in some epoch)",
                s.account, s.height
            )));
        }
        Ok(())
    }

    /// Records a certificate someone assembled (already verified by them).
    pub fn certificate(&mut self, cert: &Certificate) -> Result<(), Violation> {
        let key = (cert.block.body.account, cert.block.body.height);
        if let Some(existing) = self.certified.get(&key) {
            if existing.block_hash() != cert.block_hash() {
                return Err(Violation(format!(
                    "two certified blocks at account {} height {}",
                    key.0, key.1
                )));
            }
            return Ok(());
        }
        match &cert.block.body.op {
            Op::Receive {
                from,
                send_height,
                amount,
                ..
            } => {
                if let Some(first) = self.claimed.insert((*from, *send_height), key.0) {
                    return Err(Violation(format!(
                        "send {}@{} received twice (by {} and {})",
                        from, send_height, first, key.0
                    )));
                }
                if !self.certified.contains_key(&(*from, *send_height)) {
                    return Err(Violation(format!(
                        "a receive claims {from}@{send_height}, which is not certified"
                    )));
                }
                self.unreceived = self.unreceived.saturating_sub(*amount as u128);
                if let Some(count) = self.unreceived_by_recipient.get_mut(&key.0) {
                    *count = count.saturating_sub(1);
                }
            }
            Op::Send { amount, to, .. } => {
                self.unreceived += *amount as u128;
                *self.unreceived_by_recipient.entry(*to).or_default() += 1;
            }
            Op::Open { .. } => {}
        }
        // The account's balance is that of its highest certified block.
        let (old_height, old_balance) = self
            .heads
            .get(&key.0)
            .copied()
            .unwrap_or((0, self.genesis.get(&key.0).copied().unwrap_or(0)));
        if key.1 >= old_height {
            self.balances = self.balances - old_balance as u128 + cert.block.body.balance as u128;
            self.heads.insert(key.0, (key.1, cert.block.body.balance));
        }
        self.certified.insert(key, cert.clone());
        if self.balances + self.unreceived != self.supply {
            return Err(Violation(format!(
                "supply not conserved: balances {} + unreceived sends {} ≠ genesis {}",
                self.balances, self.unreceived, self.supply
            )));
        }
        Ok(())
    }

    /// Certified sends to `recipient` not yet received.
    pub fn unreceived_to(&self, recipient: &AccountId) -> usize {
        self.unreceived_by_recipient
            .get(recipient)
            .copied()
            .unwrap_or(0)
    }

    /// Certificates recorded.
    pub fn certificates(&self) -> usize {
        self.certified.len()
    }
}
