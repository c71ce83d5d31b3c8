//! What a [`crate::poc::WitnessNode`] takes in and answers: requests, replies and outcomes.

use thiserror::Error;

use crate::crypto::{AccountId, Hash};
use crate::ledger::{Block, ValidationError};
use crate::poc::{Attestation, Certificate, CertificateError, EquivocationProof};
use crate::store::StoreError;

/// A certified send that its recipient has not received yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PendingEntry {
    /// Sending account.
    pub from: AccountId,
    /// Height of the send.
    pub height: u64,
    /// Amount.
    pub amount: u64,
    /// Hash of the send block (its certificate is held by the sender and stations).
    pub send_hash: Hash,
}

/// A request to attest a block. A `Receive` carries the certificate of the send it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestRequest {
    /// The owner-signed block.
    pub block: Block,
    /// For a `Receive`: the send's certificate.
    pub send: Option<Certificate>,
}

/// A witness's answer to an [`AttestRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestReply {
    /// The block is valid and locked: here is the attestation.
    Attested(Attestation),
    /// This witness lacks the certificate at `height` (send it, then ask again).
    NeedCertificate {
        /// The account.
        account: AccountId,
        /// The height whose certificate is missing.
        height: u64,
    },
    /// This witness serves the account in a new epoch and has not taken it over yet: send
    /// it handovers of `epoch` (the epoch before) from the account's committee there.
    NeedHandover {
        /// The account.
        account: AccountId,
        /// The epoch whose handovers are needed.
        epoch: u64,
    },
    /// This witness closed `epoch` and never attests in it again.
    EpochClosed {
        /// The closed epoch.
        epoch: u64,
    },
    /// The block is invalid.
    Invalid(ValidationError),
    /// The `Receive`'s send certificate does not verify.
    BadSendCertificate(CertificateError),
    /// The block conflicts with the one locked at its height: the owner equivocated; the
    /// account is now frozen.
    Equivocation(EquivocationProof),
    /// The account is frozen.
    Frozen(EquivocationProof),
    /// This witness is not in the account's committee.
    NotInCommittee,
    /// The account used its attestation quota of this epoch here: this member already
    /// holds `quota` locks for it in `epoch` and locks no new height until the next epoch
    /// (anti-spam, DESIGN.md §4). Says nothing about the block's validity: the same signed
    /// block can be attested in the next epoch (a block of a closed epoch within `K` is).
    QuotaExceeded {
        /// The account.
        account: AccountId,
        /// The epoch whose quota is used up.
        epoch: u64,
        /// The quota.
        quota: u64,
    },
    /// The witness could not store the lock, so it did not attest.
    Storage(String),
}

/// What [`WitnessNode::handle_certificate`](super::WitnessNode::handle_certificate) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateOutcome {
    /// The certificate advanced these heads (this witness's accounts).
    Applied(Vec<(AccountId, u64)>),
    /// Valid, ahead of the head: kept until the gap is filled.
    Buffered,
    /// Valid, already known or not an account this witness serves (yet).
    Noted,
    /// Invalid.
    Invalid(CertificateError),
    /// A storage failure.
    Storage(String),
}

/// A witness's answer to "what is pending for this recipient?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingReply {
    /// The pending entries.
    Entries(Vec<PendingEntry>),
    /// Not taken over yet in this epoch: send handovers of `epoch` first.
    NeedHandover {
        /// The recipient.
        account: AccountId,
        /// The epoch whose handovers are needed.
        epoch: u64,
    },
    /// Not in the recipient's committee.
    NotInCommittee,
}

/// What [`WitnessNode::handle_handover`](super::WitnessNode::handle_handover) did with a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverOutcome {
    /// Kept; `have` distinct members reported so far, at least `need` are required (and
    /// `f + 1` identical records reaching the highest certificate).
    Collecting {
        /// Distinct members heard from.
        have: usize,
        /// The quorum `q` of the old epoch.
        need: usize,
    },
    /// The account is taken over: this witness serves it in `epoch`.
    TookOver {
        /// The epoch it now serves the account in.
        epoch: u64,
    },
    /// Already taken over; a lock reported late was merged if new.
    Noted,
    /// Refused (forged, inconsistent, from a non-member, ...).
    Rejected(crate::poc::HandoverError),
}

/// Why [`WitnessNode::advance_epoch`](super::WitnessNode::advance_epoch) failed.
#[derive(Debug, Error)]
pub enum EpochError {
    /// Epoch records must come in order, one at a time.
    #[error("the next epoch must be {expected}, got {found}")]
    NotNext {
        /// `current + 1`.
        expected: u64,
        /// The record's epoch.
        found: u64,
    },
    /// Storage failed (`closed(e)` may not be durable: the witness must not go on).
    #[error(transparent)]
    Store(#[from] StoreError),
}
