//! Block validation: a pure function of (block, the account's certified state, the epoch's
//! parameters) — DESIGN.md §3. Nothing local (clock, a dmapp list not in the epoch record)
//! enters, so two honest witnesses always agree on a block's validity.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use super::{Block, DmappId, Op};
use crate::crypto::{AccountId, Hash, PublicKey};

/// What the epoch record `R_e` says that validation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRules {
    /// The current epoch: a block must name it.
    pub epoch: u64,
    /// Smallest amount a `Send` may move (no dust).
    pub min_amount: u64,
    /// Reviewed dmapps of this epoch's registry (the wallet dmapp is always allowed).
    pub dmapps: BTreeSet<DmappId>,
}

impl EpochRules {
    fn approves(&self, dmapp: &DmappId) -> bool {
        *dmapp == DmappId::WALLET || self.dmapps.contains(dmapp)
    }
}

/// The certified state of one account: what its committee members hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// The owner's key (from the `Open` block or genesis).
    pub public_key: PublicKey,
    /// Height of the last certified block.
    pub head_height: u64,
    /// Hash of the last certified block.
    pub head_hash: Hash,
    /// Balance after the last certified block.
    pub balance: u64,
    /// Timestamp of the last certified block.
    pub last_timestamp_ms: u64,
    /// For each recipient, the height of this account's last `Send` to it.
    pub last_sent_to: BTreeMap<AccountId, u64>,
    /// For each sender, the height of the last of its sends this account received.
    pub recv_cursor: BTreeMap<AccountId, u64>,
}

/// A `Send` proven by a verified certificate: what a `Receive` may claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedSend {
    /// Sending account.
    pub from: AccountId,
    /// Height of the send block.
    pub height: u64,
    /// Hash of the send block.
    pub hash: Hash,
    /// Recipient.
    pub to: AccountId,
    /// Amount sent.
    pub amount: u64,
    /// The send's receive cursor (`prev_to`).
    pub prev_to: Option<u64>,
}

impl CertifiedSend {
    /// The send described by a (certified) block, if it is a `Send`.
    pub fn from_block(block: &Block) -> Option<Self> {
        match &block.body.op {
            Op::Send {
                to,
                amount,
                prev_to,
                ..
            } => Some(CertifiedSend {
                from: block.body.account,
                height: block.body.height,
                hash: block.hash(),
                to: *to,
                amount: *amount,
                prev_to: *prev_to,
            }),
            _ => None,
        }
    }
}

/// Why a block is invalid. Every variant is deterministic: any honest member reaches it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ValidationError {
    /// The block names another account than the state it is checked against.
    #[error("the block is for account {found}, not {expected}")]
    WrongAccount {
        /// The state's account.
        expected: AccountId,
        /// The block's account.
        found: AccountId,
    },
    /// The owner's signature does not verify.
    #[error("the owner's signature does not verify")]
    BadSignature,
    /// Not the next height.
    #[error("expected height {expected}, found {found}")]
    WrongHeight {
        /// Head + 1.
        expected: u64,
        /// The block's height.
        found: u64,
    },
    /// `previous` is not the head's hash.
    #[error("the previous hash does not match the account's head")]
    WrongPrevious,
    /// The block names another epoch.
    #[error("the block names epoch {found}, the current epoch is {expected}")]
    WrongEpoch {
        /// Current epoch.
        expected: u64,
        /// The block's epoch.
        found: u64,
    },
    /// The dmapp is not in this epoch's registry.
    #[error("dmapp {0:?} is not reviewed in this epoch")]
    DmappNotApproved(DmappId),
    /// The timestamp goes backwards.
    #[error("timestamp {found} is before the previous block's {previous}")]
    TimestampBackwards {
        /// Previous block's timestamp.
        previous: u64,
        /// This block's.
        found: u64,
    },
    /// An `Open` anywhere but height 0, or a chain not starting with `Open`.
    #[error("an account chain starts with exactly one Open block at height 0")]
    MisplacedOpen,
    /// The `Open` key does not hash to the account id.
    #[error("the Open block's public key does not hash to the account id")]
    KeyDoesNotMatchAccount,
    /// An `Open` (outside genesis) must start at balance 0.
    #[error("an Open block must have balance 0, found {0}")]
    OpenWithBalance(u64),
    /// A send below the network's minimum.
    #[error("amount {amount} is below the minimum {min}")]
    BelowMinimum {
        /// Amount sent.
        amount: u64,
        /// The epoch's minimum.
        min: u64,
    },
    /// A send to the sending account itself.
    #[error("an account cannot send to itself")]
    SendToSelf,
    /// Not enough funds.
    #[error("balance {balance} cannot cover {amount}")]
    InsufficientFunds {
        /// Balance before.
        balance: u64,
        /// Amount sent.
        amount: u64,
    },
    /// The balance field is not the arithmetic result.
    #[error("the block states balance {found}, the arithmetic gives {expected}")]
    BalanceMismatch {
        /// Computed.
        expected: u64,
        /// Stated.
        found: u64,
    },
    /// A receive would overflow the balance.
    #[error("the balance would overflow")]
    Overflow,
    /// `prev_to` is not the height of the previous send to that recipient.
    #[error("prev_to is {found:?}, the previous send to this recipient is at {expected:?}")]
    WrongPrevTo {
        /// What the state says.
        expected: Option<u64>,
        /// What the block says.
        found: Option<u64>,
    },
    /// A `Receive` without the certified send it claims.
    #[error("a Receive needs the certificate of the send it claims")]
    MissingSend,
    /// The `Receive` does not describe the certified send.
    #[error("the Receive does not match the certified send")]
    ReceiveMismatch,
    /// The send is for another account.
    #[error("the certified send is addressed to another account")]
    NotAddressedHere,
    /// Sends from one sender are received in order, each once.
    #[error("receives from this sender must continue at {expected:?}, the send says {found:?} (already received, or out of order)")]
    ReceiveOutOfOrder {
        /// The account's cursor for that sender.
        expected: Option<u64>,
        /// The send's `prev_to`.
        found: Option<u64>,
    },
}

/// Validates an account's `Open` block (height 0) and returns the account's first state.
pub fn validate_open(block: &Block, rules: &EpochRules) -> Result<AccountState, ValidationError> {
    let body = &block.body;
    let Op::Open { public_key } = &body.op else {
        return Err(ValidationError::MisplacedOpen);
    };
    if body.height != 0 {
        return Err(ValidationError::MisplacedOpen);
    }
    if public_key.account_id() != body.account {
        return Err(ValidationError::KeyDoesNotMatchAccount);
    }
    check_common(block, rules, public_key)?;
    if body.previous != Hash([0; 32]) {
        return Err(ValidationError::WrongPrevious);
    }
    if body.balance != 0 {
        return Err(ValidationError::OpenWithBalance(body.balance));
    }
    state_from_open(block).ok_or(ValidationError::MisplacedOpen)
}

/// Validates the block after `state`'s head and returns the state it leads to.
/// `send` is the certified send a `Receive` claims (ignored for other blocks).
pub fn validate_next(
    state: &AccountState,
    block: &Block,
    rules: &EpochRules,
    send: Option<&CertifiedSend>,
) -> Result<AccountState, ValidationError> {
    let body = &block.body;
    let account = state.public_key.account_id();
    if body.account != account {
        return Err(ValidationError::WrongAccount {
            expected: account,
            found: body.account,
        });
    }
    let expected_height = state
        .head_height
        .checked_add(1)
        .ok_or(ValidationError::Overflow)?;
    if body.height != expected_height {
        return Err(ValidationError::WrongHeight {
            expected: expected_height,
            found: body.height,
        });
    }
    if body.previous != state.head_hash {
        return Err(ValidationError::WrongPrevious);
    }
    check_common(block, rules, &state.public_key)?;
    if body.timestamp_ms < state.last_timestamp_ms {
        return Err(ValidationError::TimestampBackwards {
            previous: state.last_timestamp_ms,
            found: body.timestamp_ms,
        });
    }
    match &body.op {
        Op::Open { .. } => return Err(ValidationError::MisplacedOpen),
        Op::Send {
            to,
            amount,
            prev_to,
            ..
        } => {
            if *to == account {
                return Err(ValidationError::SendToSelf);
            }
            if *amount < rules.min_amount {
                return Err(ValidationError::BelowMinimum {
                    amount: *amount,
                    min: rules.min_amount,
                });
            }
            let expected_prev = state.last_sent_to.get(to).copied();
            if *prev_to != expected_prev {
                return Err(ValidationError::WrongPrevTo {
                    expected: expected_prev,
                    found: *prev_to,
                });
            }
            let balance =
                state
                    .balance
                    .checked_sub(*amount)
                    .ok_or(ValidationError::InsufficientFunds {
                        balance: state.balance,
                        amount: *amount,
                    })?;
            check_balance(balance, body.balance)?;
        }
        Op::Receive {
            from,
            send_height,
            send_hash,
            amount,
        } => {
            let send = send.ok_or(ValidationError::MissingSend)?;
            if send.from != *from
                || send.height != *send_height
                || send.hash != *send_hash
                || send.amount != *amount
            {
                return Err(ValidationError::ReceiveMismatch);
            }
            if send.to != account {
                return Err(ValidationError::NotAddressedHere);
            }
            let cursor = state.recv_cursor.get(from).copied();
            if send.prev_to != cursor {
                return Err(ValidationError::ReceiveOutOfOrder {
                    expected: cursor,
                    found: send.prev_to,
                });
            }
            let balance = state
                .balance
                .checked_add(*amount)
                .ok_or(ValidationError::Overflow)?;
            check_balance(balance, body.balance)?;
        }
    }
    Ok(apply_certified(state, block))
}

/// The state after `block`, which extends `state`'s head and is already valid or certified
/// (final: `q` members validated it). Only the transition, no checks: this is how a
/// lagging member adopts certified blocks, and the last step of [`validate_next`].
pub fn apply_certified(state: &AccountState, block: &Block) -> AccountState {
    let body = &block.body;
    let mut next = state.clone();
    match &body.op {
        Op::Open { public_key } => next.public_key = public_key.clone(),
        Op::Send { to, .. } => {
            next.last_sent_to.insert(*to, body.height);
        }
        Op::Receive {
            from, send_height, ..
        } => {
            next.recv_cursor.insert(*from, *send_height);
        }
    }
    next.head_height = body.height;
    next.head_hash = block.hash();
    next.balance = body.balance;
    next.last_timestamp_ms = body.timestamp_ms;
    next
}

/// The first state of an account from its (valid or certified) `Open` block.
pub fn state_from_open(block: &Block) -> Option<AccountState> {
    match &block.body.op {
        Op::Open { public_key } if block.body.height == 0 => Some(AccountState {
            public_key: public_key.clone(),
            head_height: 0,
            head_hash: block.hash(),
            balance: block.body.balance,
            last_timestamp_ms: block.body.timestamp_ms,
            last_sent_to: BTreeMap::new(),
            recv_cursor: BTreeMap::new(),
        }),
        _ => None,
    }
}

fn check_common(block: &Block, rules: &EpochRules, key: &PublicKey) -> Result<(), ValidationError> {
    if block.body.epoch != rules.epoch {
        return Err(ValidationError::WrongEpoch {
            expected: rules.epoch,
            found: block.body.epoch,
        });
    }
    if !rules.approves(&block.body.dmapp) {
        return Err(ValidationError::DmappNotApproved(block.body.dmapp));
    }
    // Last: the signature check is the expensive one.
    if !block.verify_signature(key) {
        return Err(ValidationError::BadSignature);
    }
    Ok(())
}

fn check_balance(expected: u64, found: u64) -> Result<(), ValidationError> {
    if expected == found {
        Ok(())
    } else {
        Err(ValidationError::BalanceMismatch { expected, found })
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
