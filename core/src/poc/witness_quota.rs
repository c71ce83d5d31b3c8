//! The attestation quota (DESIGN.md §4 "Each account has an attestation quota per epoch"):
//! a member locks at most [`Epoch::attest_quota`](crate::poc::Epoch::attest_quota)
//! distinct heights per account per epoch.
//!
//! The count is not a counter of its own: it is the number of locks the member holds for
//! the account in the epoch ([`WitnessStore::lock_count`]). Locks are durable before an
//! attestation leaves, so the count is exact after a restart and never needs a write of its
//! own. Re-attesting a block already locked, or already certified, takes no new lock and
//! costs nothing; a lock adopted from a handover report counts (it is a height this member
//! will attest). Refusing is a local anti-spam decision, identical at every honest member
//! since the quota comes from the epoch record, and it never touches validity: the
//! refused block stays attestable in the next epoch.

use super::{AttestReply, WitnessNode, WitnessStore};
use crate::crypto::AccountId;
use crate::store::StoreError;

impl<S: WitnessStore> WitnessNode<S> {
    /// The refusal to answer when locking one more height for `account` in the current
    /// epoch would exceed the quota (or the count cannot be read: never taken for zero).
    pub(super) fn quota_refusal(&self, account: &AccountId) -> Option<AttestReply> {
        let quota = self.cur().epoch.attest_quota;
        match self.store.lock_count(self.current, account) {
            Err(e) => Some(AttestReply::Storage(e.to_string())),
            Ok(used) if used >= quota => Some(AttestReply::QuotaExceeded {
                account: *account,
                epoch: self.current,
                quota,
            }),
            Ok(_) => None,
        }
    }

    /// How much of its attestation quota `account` has used here in the current epoch:
    /// the heights this member has locked for it.
    pub fn quota_used(&self, account: &AccountId) -> Result<u64, StoreError> {
        self.store.lock_count(self.current, account)
    }
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
