//! What a witness must keep across a crash, behind a trait: the attestation locks (written
//! *before* an attestation leaves), certified account states, frozen accounts, pending
//! receivables and which epochs it has closed. Every record is keyed by its epoch: a
//! witness keeps epoch `e`'s records (read-only once `closed(e)`) for `K` epochs after
//! `e` ends, to answer handover requests (DESIGN.md §4). `MemoryWitnessStore` is the
//! simulator's durable storage; a restart rebuilds the witness from it and nothing else.

use std::collections::{BTreeMap, BTreeSet};

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
/// Every record belongs to one epoch; records of different epochs never mix.
pub trait WitnessStore {
    /// The block locked in `epoch` at `(account, height)`, if any.
    fn lock(
        &self,
        epoch: u64,
        account: &AccountId,
        height: u64,
    ) -> Result<Option<Block>, StoreError>;
    /// Records a lock in `epoch`. Must be durable before the attestation is released.
    fn put_lock(&mut self, epoch: u64, block: &Block) -> Result<(), StoreError>;
    /// Records the locks of a batch in `epoch` (blocks at distinct `(account, height)`),
    /// all durable when this returns `Ok`, before the batch's root is signed. An
    /// implementation should write them in one transaction (all or none); this default
    /// writes them one by one, which is also safe: a lock without an attestation only
    /// makes the witness more conservative.
    fn put_locks(&mut self, epoch: u64, blocks: &[Block]) -> Result<(), StoreError> {
        blocks.iter().try_for_each(|b| self.put_lock(epoch, b))
    }
    /// Every certified account of `epoch`.
    fn accounts(&self, epoch: u64) -> Result<Vec<(AccountId, CertifiedAccount)>, StoreError>;
    /// Records an account's new certified head in `epoch`.
    fn put_account(
        &mut self,
        epoch: u64,
        account: AccountId,
        record: &CertifiedAccount,
    ) -> Result<(), StoreError>;
    /// Every account frozen in `epoch`, with its proof.
    fn frozen(&self, epoch: u64) -> Result<Vec<EquivocationProof>, StoreError>;
    /// Freezes an account in `epoch`.
    fn put_frozen(&mut self, epoch: u64, proof: &EquivocationProof) -> Result<(), StoreError>;
    /// Pending receivables of every recipient in `epoch`.
    fn pending(&self, epoch: u64) -> Result<Vec<(AccountId, Vec<PendingEntry>)>, StoreError>;
    /// Replaces a recipient's pending receivables in `epoch`.
    fn put_pending(
        &mut self,
        epoch: u64,
        recipient: AccountId,
        entries: &[PendingEntry],
    ) -> Result<(), StoreError>;
    /// Whether `closed(epoch)` is recorded: the witness never attests in that epoch again.
    /// Every epoch below the [pruning floor](Self::pruned_below) reads as closed.
    fn closed(&self, epoch: u64) -> Result<bool, StoreError>;
    /// Records `closed(epoch)`, durably, before any handover answer about it leaves.
    fn put_closed(&mut self, epoch: u64) -> Result<(), StoreError>;
    /// Locks held in `epoch` for `account` (one per height): the attestation quota's count,
    /// exact after a restart because it is derived from the durable locks.
    fn lock_count(&self, epoch: u64, account: &AccountId) -> Result<u64, StoreError>;
    /// Drops every record of the epochs before `epoch` — locks, accounts, freezes, pending
    /// lists and `closed` markers — in one atomic step, and raises the pruning floor to
    /// `epoch` (never lowers it). From then on those epochs read as closed and empty.
    fn prune_before(&mut self, epoch: u64) -> Result<(), StoreError>;
    /// The pruning floor: every epoch below it has been dropped (0: none).
    fn pruned_below(&self) -> Result<u64, StoreError>;
}

/// In-memory durable storage (the simulator's disk).
#[derive(Debug, Clone, Default)]
pub struct MemoryWitnessStore {
    locks: BTreeMap<(u64, AccountId, u64), Block>,
    accounts: BTreeMap<(u64, AccountId), CertifiedAccount>,
    frozen: BTreeMap<(u64, AccountId), EquivocationProof>,
    pending: BTreeMap<(u64, AccountId), Vec<PendingEntry>>,
    closed: BTreeSet<u64>,
    floor: u64,
}

impl WitnessStore for MemoryWitnessStore {
    fn lock(
        &self,
        epoch: u64,
        account: &AccountId,
        height: u64,
    ) -> Result<Option<Block>, StoreError> {
        Ok(self.locks.get(&(epoch, *account, height)).cloned())
    }
    fn put_lock(&mut self, epoch: u64, block: &Block) -> Result<(), StoreError> {
        // Like the SQLite store: the first lock at a slot is never overwritten.
        let key = (epoch, block.body.account, block.body.height);
        match self.locks.get(&key) {
            Some(locked) if locked.hash() != block.hash() => Err(StoreError::Corrupt(format!(
                "account {} is already locked on another block at height {} in epoch {epoch}",
                block.body.account, block.body.height
            ))),
            Some(_) => Ok(()),
            None => {
                self.locks.insert(key, block.clone());
                Ok(())
            }
        }
    }
    fn accounts(&self, epoch: u64) -> Result<Vec<(AccountId, CertifiedAccount)>, StoreError> {
        Ok(self
            .accounts
            .range((epoch, AccountId([0; 32]))..=(epoch, AccountId([0xFF; 32])))
            .map(|((_, a), r)| (*a, r.clone()))
            .collect())
    }
    fn put_account(
        &mut self,
        epoch: u64,
        account: AccountId,
        record: &CertifiedAccount,
    ) -> Result<(), StoreError> {
        self.accounts.insert((epoch, account), record.clone());
        Ok(())
    }
    fn frozen(&self, epoch: u64) -> Result<Vec<EquivocationProof>, StoreError> {
        Ok(self
            .frozen
            .range((epoch, AccountId([0; 32]))..=(epoch, AccountId([0xFF; 32])))
            .map(|(_, p)| p.clone())
            .collect())
    }
    fn put_frozen(&mut self, epoch: u64, proof: &EquivocationProof) -> Result<(), StoreError> {
        self.frozen
            .entry((epoch, proof.account()))
            .or_insert_with(|| proof.clone());
        Ok(())
    }
    fn pending(&self, epoch: u64) -> Result<Vec<(AccountId, Vec<PendingEntry>)>, StoreError> {
        Ok(self
            .pending
            .range((epoch, AccountId([0; 32]))..=(epoch, AccountId([0xFF; 32])))
            .filter(|(_, e)| !e.is_empty())
            .map(|((_, a), e)| (*a, e.clone()))
            .collect())
    }
    fn put_pending(
        &mut self,
        epoch: u64,
        recipient: AccountId,
        entries: &[PendingEntry],
    ) -> Result<(), StoreError> {
        self.pending.insert((epoch, recipient), entries.to_vec());
        Ok(())
    }
    fn closed(&self, epoch: u64) -> Result<bool, StoreError> {
        Ok(epoch < self.floor || self.closed.contains(&epoch))
    }
    fn put_closed(&mut self, epoch: u64) -> Result<(), StoreError> {
        if epoch >= self.floor {
            self.closed.insert(epoch);
        }
        Ok(())
    }
    fn lock_count(&self, epoch: u64, account: &AccountId) -> Result<u64, StoreError> {
        Ok(self
            .locks
            .range((epoch, *account, 0)..=(epoch, *account, u64::MAX))
            .count() as u64)
    }
    fn prune_before(&mut self, epoch: u64) -> Result<(), StoreError> {
        if epoch <= self.floor {
            return Ok(());
        }
        self.locks.retain(|(e, _, _), _| *e >= epoch);
        self.accounts.retain(|(e, _), _| *e >= epoch);
        self.frozen.retain(|(e, _), _| *e >= epoch);
        self.pending.retain(|(e, _), _| *e >= epoch);
        self.closed.retain(|e| *e >= epoch);
        self.floor = epoch;
        Ok(())
    }
    fn pruned_below(&self) -> Result<u64, StoreError> {
        Ok(self.floor)
    }
}
