//! The witness: a sans-IO state machine that answers attestation requests and adopts
//! certificates for the accounts whose committee it is in (DESIGN.md §4).
//!
//! Inputs are [`WitnessNode::handle_attest`] and [`WitnessNode::handle_certificate`]; each
//! returns its reply, which the caller sends. There are no sockets, clocks or randomness
//! here (signing randomness comes from the OS inside the Falcon signer and does not affect
//! any decision). Every durable effect goes through the [`WitnessStore`] before the reply is
//! returned — in particular the lock on `(account, height)` is stored before the
//! attestation leaves — so a crash between the two cannot make this witness attest two
//! different blocks at one height.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::store::{CertifiedAccount, WitnessStore};
use super::{
    Attestation, Certificate, CertificateError, Epoch, EquivocationProof, Statement, Witness,
};
use crate::crypto::{AccountId, Hash, KeyPair};
use crate::ledger::{
    apply_certified, state_from_open, validate_next, validate_open, AccountState, Block,
    CertifiedSend, Op, ValidationError,
};

/// Certificates remembered as verified (by digest of their whole encoding), so the send
/// certificate a `Receive` carries, already checked when it was pushed, is not checked again.
pub const VERIFIED_CACHE: usize = 4096;

/// Pending receivables kept per recipient (DESIGN.md §4 `P`); the smallest go first.
pub const MAX_PENDING_PER_RECIPIENT: usize = 64;

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
    /// The witness could not store the lock, so it did not attest.
    Storage(String),
}

/// What [`WitnessNode::handle_certificate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateOutcome {
    /// The certificate advanced these heads (this witness's accounts).
    Applied(Vec<(AccountId, u64)>),
    /// Valid, ahead of the head: kept until the gap is filled.
    Buffered,
    /// Valid, already known or not an account this witness serves.
    Noted,
    /// Invalid.
    Invalid(CertificateError),
    /// A storage failure.
    Storage(String),
}

/// A witness serving one epoch.
pub struct WitnessNode<S: WitnessStore> {
    me: Witness,
    keys: KeyPair,
    epoch: Epoch,
    store: S,
    accounts: BTreeMap<AccountId, CertifiedAccount>,
    frozen: BTreeMap<AccountId, EquivocationProof>,
    pending: BTreeMap<AccountId, Vec<PendingEntry>>,
    future: BTreeMap<(AccountId, u64), Certificate>,
    verified: BTreeSet<Hash>,
    verified_order: VecDeque<Hash>,
}

impl<S: WitnessStore> WitnessNode<S> {
    /// Starts a witness. A store with no accounts is seeded with the genesis states of the
    /// accounts whose committee this witness is in; otherwise the store is loaded as is
    /// (a restart).
    pub fn start(
        me: Witness,
        keys: KeyPair,
        epoch: Epoch,
        mut store: S,
        genesis: &[(AccountId, AccountState)],
    ) -> Result<Self, crate::store::StoreError> {
        if store.accounts()?.is_empty() {
            for (account, state) in genesis {
                if epoch.committee(account).contains(&me.id) {
                    store.put_account(
                        *account,
                        &CertifiedAccount {
                            state: state.clone(),
                            head: None,
                        },
                    )?;
                }
            }
        }
        let accounts = store.accounts()?.into_iter().collect();
        let frozen = store
            .frozen()?
            .into_iter()
            .map(|p| (p.account(), p))
            .collect();
        let pending = store.pending()?.into_iter().collect();
        Ok(WitnessNode {
            me,
            keys,
            epoch,
            store,
            accounts,
            frozen,
            pending,
            future: BTreeMap::new(),
            verified: BTreeSet::new(),
            verified_order: VecDeque::new(),
        })
    }

    /// This witness.
    pub fn witness(&self) -> &Witness {
        &self.me
    }

    /// The certified record of an account this witness serves.
    pub fn account(&self, account: &AccountId) -> Option<&CertifiedAccount> {
        self.accounts.get(account)
    }

    /// The pending receivables this witness keeps for `recipient`.
    pub fn pending_for(&self, recipient: &AccountId) -> &[PendingEntry] {
        self.pending
            .get(recipient)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The proof that froze `account`, if any.
    pub fn frozen(&self, account: &AccountId) -> Option<&EquivocationProof> {
        self.frozen.get(account)
    }

    /// Stops the witness, returning its durable storage (what survives a crash).
    pub fn into_store(self) -> S {
        self.store
    }

    /// Answers a restored wallet's lock query at `(account, height)` (see
    /// [`super::RestoreCheck`]).
    pub fn handle_lock_query(&self, account: &AccountId, height: u64) -> super::LockReply {
        if !self.epoch.committee(account).contains(&self.me.id) {
            return super::LockReply::NotInCommittee;
        }
        match self.store.lock(account, height) {
            Ok(Some(block)) => super::LockReply::Locked(Box::new(block)),
            Ok(None) => super::LockReply::Free,
            Err(e) => super::LockReply::Storage(e.to_string()),
        }
    }

    /// Answers an attestation request.
    pub fn handle_attest(&mut self, request: &AttestRequest) -> AttestReply {
        let block = &request.block;
        let account = block.body.account;
        let height = block.body.height;
        if !self.epoch.committee(&account).contains(&self.me.id) {
            return AttestReply::NotInCommittee;
        }
        if let Some(proof) = self.frozen.get(&account) {
            return AttestReply::Frozen(proof.clone());
        }
        match self.store.lock(&account, height) {
            // A lock that cannot be read must not be taken for "no lock".
            Err(e) => return AttestReply::Storage(e.to_string()),
            Ok(Some(locked)) if locked.hash() == block.hash() => return self.sign(block),
            Ok(Some(locked)) => return self.conflict(locked, block.clone()),
            Ok(None) => {}
        }
        // A Receive's send certificate must verify against this epoch's witness set.
        let send = match (&block.body.op, &request.send) {
            (Op::Receive { .. }, Some(cert)) => {
                if let Err(e) = self.verify_certificate(cert) {
                    return AttestReply::BadSendCertificate(e);
                }
                CertifiedSend::from_block(&cert.block)
            }
            _ => None,
        };
        let next = match self.accounts.get(&account) {
            None if height == 0 => validate_open(block, &self.epoch.rules),
            None => return AttestReply::NeedCertificate { account, height: 0 },
            Some(record) => {
                let head = record.state.head_height;
                if height <= head {
                    let certified_here = record
                        .head
                        .as_ref()
                        .is_some_and(|c| c.block_hash() == block.hash());
                    return if certified_here {
                        self.sign(block)
                    } else {
                        AttestReply::Invalid(ValidationError::WrongHeight {
                            expected: head + 1,
                            found: height,
                        })
                    };
                }
                if height > head + 1 {
                    return AttestReply::NeedCertificate {
                        account,
                        height: head + 1,
                    };
                }
                validate_next(&record.state, block, &self.epoch.rules, send.as_ref())
            }
        };
        match next {
            Err(e) => AttestReply::Invalid(e),
            Ok(_) => {
                // The lock is durable before the attestation exists.
                if let Err(e) = self.store.put_lock(block) {
                    return AttestReply::Storage(e.to_string());
                }
                self.sign(block)
            }
        }
    }

    /// Verifies a certificate against this epoch, remembering the ones that passed (the
    /// digest covers the whole encoding, signatures included, so a forged copy of a
    /// verified block is still checked).
    fn verify_certificate(&mut self, cert: &Certificate) -> Result<(), CertificateError> {
        let digest = Hash(*blake3::hash(&cert.encode()).as_bytes());
        if self.verified.contains(&digest) {
            return Ok(());
        }
        cert.verify(&self.epoch)?;
        if self.verified_order.len() >= VERIFIED_CACHE {
            if let Some(oldest) = self.verified_order.pop_front() {
                self.verified.remove(&oldest);
            }
        }
        self.verified_order.push_back(digest);
        self.verified.insert(digest);
        Ok(())
    }

    fn sign(&mut self, block: &Block) -> AttestReply {
        let statement = Statement::for_block(self.epoch.number(), block);
        match Attestation::sign(statement, self.me.id, &mut self.keys) {
            Ok(a) => AttestReply::Attested(a),
            Err(e) => AttestReply::Storage(e.to_string()),
        }
    }

    /// A different block at a locked height: if the owner really signed it, that is
    /// equivocation and freezes the account.
    fn conflict(&mut self, locked: Block, other: Block) -> AttestReply {
        let key = self
            .accounts
            .get(&locked.body.account)
            .map(|r| r.state.public_key.clone())
            .or_else(|| state_from_open(&locked).map(|s| s.public_key));
        let proof = EquivocationProof {
            first: locked,
            second: other,
        };
        match key {
            Some(key) if proof.verify(&key) => {
                if let Err(e) = self.store.put_frozen(&proof) {
                    return AttestReply::Storage(e.to_string());
                }
                self.frozen.insert(proof.account(), proof.clone());
                AttestReply::Equivocation(proof)
            }
            _ => AttestReply::Invalid(ValidationError::BadSignature),
        }
    }

    /// Adopts a certificate: advances the account's certified head (and any buffered
    /// successors), and keeps or clears pending receivables of recipients it serves.
    pub fn handle_certificate(&mut self, cert: &Certificate) -> CertificateOutcome {
        if let Err(e) = self.verify_certificate(cert) {
            return CertificateOutcome::Invalid(e);
        }
        if let Err(e) = self.track_pending(cert) {
            return CertificateOutcome::Storage(e.to_string());
        }
        let account = cert.block.body.account;
        if !self.epoch.committee(&account).contains(&self.me.id) {
            return CertificateOutcome::Noted;
        }
        let head = self.accounts.get(&account).map(|r| r.state.head_height);
        let height = cert.block.body.height;
        let is_next = match head {
            None => height == 0,
            Some(h) => height == h + 1,
        };
        if !is_next {
            if head.is_none_or(|h| height > h + 1) {
                self.future.insert((account, height), cert.clone());
                return CertificateOutcome::Buffered;
            }
            return CertificateOutcome::Noted;
        }
        let mut applied = Vec::new();
        let mut next = Some(cert.clone());
        while let Some(cert) = next {
            let height = cert.block.body.height;
            let state = match self.accounts.get(&account) {
                Some(record) => apply_certified(&record.state, &cert.block),
                None => match state_from_open(&cert.block) {
                    Some(s) => s,
                    None => break,
                },
            };
            let record = CertifiedAccount {
                state,
                head: Some(cert),
            };
            if let Err(e) = self.store.put_account(account, &record) {
                return CertificateOutcome::Storage(e.to_string());
            }
            self.accounts.insert(account, record);
            applied.push((account, height));
            next = self.future.remove(&(account, height + 1));
        }
        CertificateOutcome::Applied(applied)
    }

    fn track_pending(&mut self, cert: &Certificate) -> Result<(), crate::store::StoreError> {
        let body = &cert.block.body;
        let recipient = match &body.op {
            Op::Send { to, .. } => *to,
            Op::Receive { .. } => body.account,
            Op::Open { .. } => return Ok(()),
        };
        if !self.epoch.committee(&recipient).contains(&self.me.id) {
            return Ok(());
        }
        let list = self.pending.entry(recipient).or_default();
        let changed = match &body.op {
            Op::Send { amount, .. } => add_pending(
                list,
                PendingEntry {
                    from: body.account,
                    height: body.height,
                    amount: *amount,
                    send_hash: cert.block_hash(),
                },
            ),
            Op::Receive {
                from, send_height, ..
            } => {
                let before = list.len();
                list.retain(|e| !(e.from == *from && e.height == *send_height));
                list.len() != before
            }
            Op::Open { .. } => false,
        };
        if changed {
            self.store.put_pending(recipient, list)?;
        }
        Ok(())
    }
}

/// Adds `entry` unless present, keeping at most [`MAX_PENDING_PER_RECIPIENT`] entries by
/// dropping the smallest amount first (DESIGN.md §4). Returns whether the list changed.
fn add_pending(list: &mut Vec<PendingEntry>, entry: PendingEntry) -> bool {
    if list.contains(&entry) {
        return false;
    }
    list.push(entry);
    if list.len() > MAX_PENDING_PER_RECIPIENT {
        if let Some(i) = list
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| (e.amount, e.height))
            .map(|(i, _)| i)
        {
            list.remove(i);
        }
    }
    true
}

#[cfg(test)]
#[path = "witness_tests.rs"]
mod tests;
