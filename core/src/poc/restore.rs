//! The restore-time lock query (DESIGN.md §3): a wallet restored on a new phone, with no
//! sign-once record for `(account, height)`, asks `q` committee members for their lock
//! there before it signs anything. If one of them holds an owner-signed block, the wallet
//! re-sends that block verbatim; only if none does may it sign a new one.
//!
//! Why `q` answers suffice: a block that could still be certified at that height needs `q`
//! locks, and any two sets of `q` members of a committee share at least one honest member,
//! who reports it. Answers are checked against the owner's own key, so a byzantine member
//! can neither invent a lock nor hide one held by the honest members.
//!
//! Sans-IO: feed replies with [`RestoreCheck::handle_reply`]; the witness side is
//! [`super::WitnessNode::handle_lock_query`].

use std::collections::{BTreeMap, BTreeSet};

use super::{Epoch, EquivocationProof, WitnessId};
use crate::crypto::{AccountId, PublicKey};
use crate::ledger::Block;

/// A witness's answer to "what is locked at `(account, height)`?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockReply {
    /// This owner-signed block is locked there.
    Locked(Box<Block>),
    /// Nothing is locked there.
    Free,
    /// The witness is not in the account's committee.
    NotInCommittee,
    /// The witness serves the account in a new epoch but has not taken it over yet, so it
    /// cannot know the locks of the epoch before (ask again after a handover).
    NotTakenOver,
    /// The witness could not read its store.
    Storage(String),
}

/// What the restored wallet may do at the queried height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreDecision {
    /// Fewer than `q` committee members have answered.
    Pending,
    /// Re-send this block, signed earlier by this account (on another device).
    Resend(Box<Block>),
    /// No member holds a lock: the wallet may sign a new block here.
    FreeToSign,
    /// Two different owner-signed blocks are locked there: the account equivocated (two
    /// devices were active at once) and will be frozen.
    Equivocated(Box<EquivocationProof>),
}

/// Collects lock answers for one `(account, height)`.
#[derive(Debug, Clone)]
pub struct RestoreCheck {
    owner: PublicKey,
    height: u64,
    quorum: usize,
    committee: BTreeSet<WitnessId>,
    answered: BTreeSet<WitnessId>,
    locked: BTreeMap<crate::crypto::Hash, Block>,
}

impl RestoreCheck {
    /// A check of the owner's lock at `height` in `epoch`.
    pub fn new(epoch: &Epoch, owner: PublicKey, height: u64) -> Self {
        let account: AccountId = owner.account_id();
        RestoreCheck {
            committee: epoch.committee(&account).into_iter().collect(),
            quorum: epoch.quorum(),
            owner,
            height,
            answered: BTreeSet::new(),
            locked: BTreeMap::new(),
        }
    }

    /// The members to ask (the account's committee).
    pub fn committee(&self) -> impl Iterator<Item = &WitnessId> {
        self.committee.iter()
    }

    /// Takes one member's reply and says what the wallet may do so far. Replies from
    /// outside the committee, repeated replies, failures and locks that are not this
    /// owner's block at this height are ignored.
    pub fn handle_reply(&mut self, from: WitnessId, reply: LockReply) -> RestoreDecision {
        if self.committee.contains(&from) && !self.answered.contains(&from) {
            match reply {
                LockReply::Locked(block) => {
                    let genuine = block.body.account == self.owner.account_id()
                        && block.body.height == self.height
                        && block.verify_signature(&self.owner);
                    if genuine {
                        self.answered.insert(from);
                        self.locked.insert(block.hash(), *block);
                    }
                }
                LockReply::Free => {
                    self.answered.insert(from);
                }
                LockReply::NotInCommittee | LockReply::NotTakenOver | LockReply::Storage(_) => {}
            }
        }
        self.decision()
    }

    /// The decision with the answers so far.
    pub fn decision(&self) -> RestoreDecision {
        let mut locks = self.locked.values();
        match (locks.next(), locks.next()) {
            (Some(first), Some(second)) => {
                return RestoreDecision::Equivocated(Box::new(EquivocationProof {
                    first: first.clone(),
                    second: second.clone(),
                }))
            }
            (Some(only), None) => return RestoreDecision::Resend(Box::new(only.clone())),
            _ => {}
        }
        if self.answered.len() >= self.quorum {
            RestoreDecision::FreeToSign
        } else {
            RestoreDecision::Pending
        }
    }
}
