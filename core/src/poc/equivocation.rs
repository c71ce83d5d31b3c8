//! Equivocation proofs: two owner-signed blocks at one `(account, height)`. Such a proof
//! freezes only that account (DESIGN.md §4).

use crate::crypto::{AccountId, PublicKey};
use crate::ledger::Block;

/// Two different owner-signed blocks at the same `(account, height)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquivocationProof {
    /// One block.
    pub first: Block,
    /// Another block at the same account and height.
    pub second: Block,
}

impl EquivocationProof {
    /// The frozen account.
    pub fn account(&self) -> AccountId {
        self.first.body.account
    }

    /// Whether this proves equivocation by the owner of `key`: same account (the key's)
    /// and height, different hashes, both signatures valid.
    pub fn verify(&self, key: &PublicKey) -> bool {
        let (a, b) = (&self.first.body, &self.second.body);
        a.account == key.account_id()
            && b.account == a.account
            && a.height == b.height
            && self.first.hash() != self.second.hash()
            && self.first.verify_signature(key)
            && self.second.verify_signature(key)
    }
}
