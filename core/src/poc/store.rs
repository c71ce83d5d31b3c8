//! What a witness must keep across a crash, behind a trait: the attestation locks (written
//! *before* an attestation leaves), certified account states, frozen accounts and pending
//! receivables. `MemoryWitnessStore` is the simulator's durable storage; a restart rebuilds
//! the witness from it and nothing else.

use std::collections::BTreeMap;

use super::{Certificate, EquivocationProof, PendingEntry};
use crate::crypto::AccountId;
use crate::ledger::{AccountState, Block};
use crate::store::StoreError;

/// The durable record of an account a witness serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedAccount {
    /// State after the highest certified block.
    pub state: AccountState,
    /// That block's certificate (`None` for genesis allocations).
    pub head: Option<Certificate>,
}

/// Durable storage of a witness. Every write is a write-through: when it returns `Ok`, the
/// data survives a crash. Reads fail with a typed error on a damaged store (never a
/// silently missing value: a lock that cannot be read must stop the witness attesting).
pub trait WitnessStore {
    /// The block locked at `(account, height)`, if any.
    fn lock(&self, account: &AccountId, height: u64) -> Result<Option<Block>, StoreError>;
    /// Records a lock. Must be durable before the attestation is released.
    fn put_lock(&mut self, block: &Block) -> Result<(), StoreError>;
    /// Every certified account.
    fn accounts(&self) -> Result<Vec<(AccountId, CertifiedAccount)>, StoreError>;
    /// Records an account's new certified head.
    fn put_account(
        &mut self,
        account: AccountId,
        record: &CertifiedAccount,
    ) -> Result<(), StoreError>;
    /// Every frozen account with its proof.
    fn frozen(&self) -> Result<Vec<EquivocationProof>, StoreError>;
    /// Freezes an account.
    fn put_frozen(&mut self, proof: &EquivocationProof) -> Result<(), StoreError>;
    /// Pending receivables of every recipient.
    fn pending(&self) -> Result<Vec<(AccountId, Vec<PendingEntry>)>, StoreError>;
    /// Replaces a recipient's pending receivables.
    fn put_pending(
        &mut self,
        recipient: AccountId,
        entries: &[PendingEntry],
    ) -> Result<(), StoreError>;
}

/// In-memory durable storage (the simulator's disk).
#[derive(Debug, Clone, Default)]
pub struct MemoryWitnessStore {
    locks: BTreeMap<(AccountId, u64), Block>,
    accounts: BTreeMap<AccountId, CertifiedAccount>,
    frozen: BTreeMap<AccountId, EquivocationProof>,
    pending: BTreeMap<AccountId, Vec<PendingEntry>>,
}

impl WitnessStore for MemoryWitnessStore {
    fn lock(&self, account: &AccountId, height: u64) -> Result<Option<Block>, StoreError> {
        Ok(self.locks.get(&(*account, height)).cloned())
    }
    fn put_lock(&mut self, block: &Block) -> Result<(), StoreError> {
        self.locks
            .insert((block.body.account, block.body.height), block.clone());
        Ok(())
    }
    fn accounts(&self) -> Result<Vec<(AccountId, CertifiedAccount)>, StoreError> {
        Ok(self.accounts.iter().map(|(a, r)| (*a, r.clone())).collect())
    }
    fn put_account(
        &mut self,
        account: AccountId,
        record: &CertifiedAccount,
    ) -> Result<(), StoreError> {
        self.accounts.insert(account, record.clone());
        Ok(())
    }
    fn frozen(&self) -> Result<Vec<EquivocationProof>, StoreError> {
        Ok(self.frozen.values().cloned().collect())
    }
    fn put_frozen(&mut self, proof: &EquivocationProof) -> Result<(), StoreError> {
        self.frozen.insert(proof.account(), proof.clone());
        Ok(())
    }
    fn pending(&self) -> Result<Vec<(AccountId, Vec<PendingEntry>)>, StoreError> {
        Ok(self.pending.iter().map(|(a, e)| (*a, e.clone())).collect())
    }
    fn put_pending(
        &mut self,
        recipient: AccountId,
        entries: &[PendingEntry],
    ) -> Result<(), StoreError> {
        self.pending.insert(recipient, entries.to_vec());
        Ok(())
    }
}
