//! The witness: a sans-IO state machine that answers attestation requests, adopts
//! certificates and hands accounts over between epochs (DESIGN.md §4).
//!
//! Inputs (`handle_*`), each returning its reply for the caller to send:
//! - [`WitnessNode::handle_attest`] (one request, one signature) and
//!   [`WitnessNode::handle_attest_batch`] (many requests, one root signature; every lock of
//!   the batch is durable before the root is signed), [`WitnessNode::handle_certificate`],
//!   [`WitnessNode::handle_pending_query`], [`WitnessNode::handle_lock_query`];
//! - [`WitnessNode::advance_epoch`] when `R_{e+1}` is seen (persists `closed(e)` first);
//! - [`WitnessNode::handle_handover_request`] (an old member's report about an account)
//!   and [`WitnessNode::handle_handover`] (a new member collecting those reports).
//!
//! There are no sockets, clocks or randomness here (signing randomness comes from the OS
//! inside the Falcon signer and does not affect any decision). Every durable effect goes
//! through the [`WitnessStore`] before the reply is returned — in particular the lock on
//! `(epoch, account, height)` is stored before the attestation leaves, and `closed(e)` before
//! the first handover answer about `e` — so a crash between the two cannot make this witness
//! attest two different blocks at one height, nor attest in an epoch it reported on.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::store::{CertifiedAccount, WitnessStore};
use super::takeover::Takeover;
use super::{
    Attestation, Certificate, CertificateError, Epoch, EquivocationProof, Handover, Statement,
    VerifiedRoots, Witness,
};
use crate::crypto::{AccountId, Hash, KeyPair};
use crate::ledger::{
    apply_certified, state_from_open, validate_next, validate_open, AccountState, Block,
    CertifiedSend, EpochRules, Op, ValidationError,
};
use crate::store::StoreError;

#[path = "witness_messages.rs"]
mod messages;
pub use batch::BatchReply;
pub use messages::{
    AttestReply, AttestRequest, CertificateOutcome, EpochError, HandoverOutcome, PendingEntry,
    PendingReply,
};

/// What [`WitnessNode::admit`] decided about an attestable block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// Valid and not locked yet: the lock must be stored before the attestation leaves.
    NewLock,
    /// Already locked here (or certified): attest again, nothing to store.
    Locked,
}

/// Certificates remembered as verified (by digest of their whole encoding), so the send
/// certificate a `Receive` carries, already checked when it was pushed, is not checked again.
pub const VERIFIED_CACHE: usize = 4096;

/// Pending receivables kept per recipient (DESIGN.md §4 `P`); the smallest go first.
pub const MAX_PENDING_PER_RECIPIENT: usize = 64;

/// One epoch's working state. The records of the current epoch change; those of a closed
/// epoch only grow by certificates (final facts) and by being taken over, for handovers.
struct EpochState {
    epoch: Epoch,
    closed: bool,
    accounts: BTreeMap<AccountId, CertifiedAccount>,
    /// Accounts whose record is established in this epoch (taken over, or in epoch 0).
    taken: BTreeSet<AccountId>,
    frozen: BTreeMap<AccountId, EquivocationProof>,
    pending: BTreeMap<AccountId, Vec<PendingEntry>>,
    future: BTreeMap<(AccountId, u64), Certificate>,
    takeovers: BTreeMap<AccountId, Takeover>,
    /// Handovers this witness signed about accounts of this (closed) epoch.
    reports: BTreeMap<AccountId, Handover>,
}

impl EpochState {
    fn load<S: WitnessStore>(epoch: Epoch, store: &S) -> Result<Self, StoreError> {
        let e = epoch.number();
        let accounts: BTreeMap<_, _> = store.accounts(e)?.into_iter().collect();
        let frozen: BTreeMap<_, _> = store
            .frozen(e)?
            .into_iter()
            .map(|p| (p.account(), p))
            .collect();
        let taken = accounts.keys().chain(frozen.keys()).copied().collect();
        Ok(EpochState {
            closed: store.closed(e)?,
            pending: store.pending(e)?.into_iter().collect(),
            accounts,
            taken,
            frozen,
            epoch,
            future: BTreeMap::new(),
            takeovers: BTreeMap::new(),
            reports: BTreeMap::new(),
        })
    }

    fn serves(&self, me: &Witness, account: &AccountId) -> bool {
        self.epoch.committee(account).contains(&me.id)
    }

    /// Whether this epoch holds an established record of `account` (genesis epoch: always).
    fn established(&self, account: &AccountId) -> bool {
        self.epoch.number() == 0 || self.taken.contains(account)
    }
}

/// A witness: serves the current epoch, and keeps closed epochs' records for `K` epochs.
pub struct WitnessNode<S: WitnessStore> {
    me: Witness,
    keys: KeyPair,
    store: S,
    current: u64,
    epochs: BTreeMap<u64, EpochState>,
    verified: BTreeSet<Hash>,
    verified_order: VecDeque<Hash>,
    /// Batch roots verified in certificates (one Falcon verification per witness and root).
    roots: VerifiedRoots,
}

impl<S: WitnessStore> WitnessNode<S> {
    /// Starts a witness in `epoch`. In epoch 0, a store with no accounts is seeded with the
    /// genesis states of the accounts whose committee this witness is in; otherwise the
    /// store is loaded as is (a restart). A restart replays later epoch records with
    /// [`advance_epoch`](Self::advance_epoch). If `closed(epoch)` is already durable (a crash
    /// after closing), the witness never attests in it again.
    pub fn start(
        me: Witness,
        keys: KeyPair,
        epoch: Epoch,
        mut store: S,
        genesis: &[(AccountId, AccountState)],
    ) -> Result<Self, StoreError> {
        let e = epoch.number();
        // A pruned epoch 0 is long closed: its genesis records are not written again.
        if e == 0 && store.pruned_below()? == 0 && store.accounts(0)?.is_empty() {
            for (account, state) in genesis {
                if epoch.committee(account).contains(&me.id) {
                    store.put_account(
                        0,
                        *account,
                        &CertifiedAccount {
                            state: state.clone(),
                            head: None,
                        },
                    )?;
                }
            }
        }
        let state = EpochState::load(epoch, &store)?;
        Ok(WitnessNode {
            me,
            keys,
            store,
            current: e,
            epochs: BTreeMap::from([(e, state)]),
            verified: BTreeSet::new(),
            verified_order: VecDeque::new(),
            roots: VerifiedRoots::default(),
        })
    }

    /// Moves to `next` (`R_{e+1}`): persists `closed(e)` durably *first*, then stops
    /// attesting in `e` and starts `e+1` with no account state (each account is taken over
    /// by handover when next used). Epoch `e`'s records stay, read-only, for `K` epochs;
    /// older ones are dropped from the store ([`WitnessStore::prune_before`], one
    /// transaction) and from memory. Seeing a known record
    /// again is a no-op, so a restart can replay every record since genesis.
    pub fn advance_epoch(&mut self, next: Epoch) -> Result<(), EpochError> {
        let n = next.number();
        if self.epochs.contains_key(&n) && n <= self.current {
            return Ok(());
        }
        if n != self.current.saturating_add(1) {
            return Err(EpochError::NotNext {
                expected: self.current.saturating_add(1),
                found: n,
            });
        }
        self.store.put_closed(self.current)?;
        if let Some(old) = self.epochs.get_mut(&self.current) {
            old.closed = true;
            old.takeovers.clear();
        }
        // The epoch before stays whatever K says: handovers about it are needed now. Older
        // epochs go from the store (one transaction) and then from memory.
        let keep_from = n.saturating_sub(next.retention.max(1));
        self.store.prune_before(keep_from)?;
        let state = EpochState::load(next, &self.store)?;
        self.epochs.insert(n, state);
        self.current = n;
        self.epochs.retain(|e, _| *e >= keep_from);
        Ok(())
    }

    /// This witness.
    pub fn witness(&self) -> &Witness {
        &self.me
    }

    /// The current epoch's number.
    pub fn epoch(&self) -> u64 {
        self.current
    }

    fn cur(&self) -> &EpochState {
        // `current` is always a key of `epochs` (inserted before `current` moves).
        &self.epochs[&self.current]
    }

    fn cur_mut(&mut self) -> &mut EpochState {
        self.epochs
            .get_mut(&self.current)
            .unwrap_or_else(|| unreachable!("the current epoch is always present"))
    }

    /// The certified record of an account this witness serves in the current epoch.
    pub fn account(&self, account: &AccountId) -> Option<&CertifiedAccount> {
        self.cur().accounts.get(account)
    }

    /// The pending receivables this witness keeps for `recipient` in the current epoch.
    pub fn pending_for(&self, recipient: &AccountId) -> &[PendingEntry] {
        self.cur()
            .pending
            .get(recipient)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The proof that froze `account` in the current epoch, if any.
    pub fn frozen(&self, account: &AccountId) -> Option<&EquivocationProof> {
        self.cur().frozen.get(account)
    }

    /// Whether this witness serves `account` in the current epoch with an established
    /// record (taken over, or epoch 0).
    pub fn has_taken_over(&self, account: &AccountId) -> bool {
        self.cur().established(account)
    }

    /// Stops the witness, returning its durable storage (what survives a crash).
    pub fn into_store(self) -> S {
        self.store
    }

    /// Answers a restored wallet's lock query at `(account, height)` in the current epoch
    /// (see [`super::RestoreCheck`]).
    pub fn handle_lock_query(&self, account: &AccountId, height: u64) -> super::LockReply {
        if !self.cur().serves(&self.me, account) {
            return super::LockReply::NotInCommittee;
        }
        // "Free" from a member that has not taken the account over would hide a lock of
        // the epoch before.
        if !self.cur().established(account) {
            return super::LockReply::NotTakenOver;
        }
        match self.store.lock(self.current, account, height) {
            Ok(Some(block)) => super::LockReply::Locked(Box::new(block)),
            Ok(None) => super::LockReply::Free,
            Err(e) => super::LockReply::Storage(e.to_string()),
        }
    }

    /// Answers "what is pending for `recipient`?". A member that has not taken the
    /// recipient over in this epoch asks for handovers first: its entries from the epoch
    /// before are in them.
    pub fn handle_pending_query(&mut self, recipient: &AccountId) -> PendingReply {
        if !self.cur().serves(&self.me, recipient) {
            return PendingReply::NotInCommittee;
        }
        if !self.ensure_taken_over(recipient) {
            return PendingReply::NeedHandover {
                account: *recipient,
                epoch: self.current.saturating_sub(1),
            };
        }
        PendingReply::Entries(self.pending_for(recipient).to_vec())
    }

    /// The rules a block naming `epoch` is validated under here: the current epoch's, or,
    /// for a block signed in a closed epoch still within `K` (a block in flight when the
    /// epoch changed), that epoch's own rules. `None`: not attestable now.
    fn rules_for_block(&self, epoch: u64) -> Option<EpochRules> {
        let cur = &self.cur().epoch;
        if epoch > self.current || !cur.accepts_certificates_of(epoch) {
            return None;
        }
        self.epochs.get(&epoch).map(|s| s.epoch.rules.clone())
    }

    /// Answers an attestation request.
    pub fn handle_attest(&mut self, request: &AttestRequest) -> AttestReply {
        match self.admit(request, &BTreeMap::new()) {
            Err(refusal) => refusal,
            Ok(admit) => {
                // The lock is durable before the attestation exists.
                if admit == Admit::NewLock {
                    if let Err(e) = self.store.put_lock(self.current, &request.block) {
                        return AttestReply::Storage(e.to_string());
                    }
                }
                self.sign(&request.block)
            }
        }
    }

    /// Decides whether `request` may be attested now, under every rule of DESIGN §4, and
    /// whether that needs a new lock. `batch` holds the blocks already admitted (not yet
    /// stored) earlier in the same batch, by `(account, height)`: they count as locks.
    /// Durable effects (freezing on equivocation) happen here; the lock does not.
    // The refusal is the caller's reply, returned as is: boxing it would only add an
    // allocation per refused request.
    #[allow(clippy::result_large_err)]
    fn admit(
        &mut self,
        request: &AttestRequest,
        batch: &BTreeMap<(AccountId, u64), Block>,
    ) -> Result<Admit, AttestReply> {
        let block = &request.block;
        let account = block.body.account;
        let height = block.body.height;
        let cur = self.current;
        if self.cur().closed {
            return Err(AttestReply::EpochClosed { epoch: cur });
        }
        if !self.cur().serves(&self.me, &account) {
            let was_member = block.body.epoch < cur
                && self
                    .epochs
                    .get(&block.body.epoch)
                    .is_some_and(|s| s.serves(&self.me, &account));
            return Err(if was_member {
                AttestReply::EpochClosed {
                    epoch: block.body.epoch,
                }
            } else {
                AttestReply::NotInCommittee
            });
        }
        if let Some(proof) = self.cur().frozen.get(&account) {
            return Err(AttestReply::Frozen(proof.clone()));
        }
        if !self.ensure_taken_over(&account) {
            return Err(AttestReply::NeedHandover {
                account,
                epoch: cur.saturating_sub(1),
            });
        }
        if let Some(proof) = self.cur().frozen.get(&account) {
            return Err(AttestReply::Frozen(proof.clone()));
        }
        let stored = match self.store.lock(cur, &account, height) {
            // A lock that cannot be read must not be taken for "no lock".
            Err(e) => return Err(AttestReply::Storage(e.to_string())),
            Ok(stored) => stored.or_else(|| batch.get(&(account, height)).cloned()),
        };
        let locked_here = match stored {
            Some(locked) if locked.hash() == block.hash() => true,
            Some(locked) => return Err(self.conflict(locked, block.clone())),
            None => false,
        };
        // A block of this epoch locked here was validated before it was locked.
        if locked_here && block.body.epoch == cur {
            return Ok(Admit::Locked);
        }
        // Otherwise validate: a block of this epoch, or one signed in a closed epoch within
        // `K` (reported as locked by the handover, or in flight at the boundary), under the
        // rules of the epoch it names.
        let Some(rules) = self.rules_for_block(block.body.epoch) else {
            return Err(AttestReply::Invalid(ValidationError::WrongEpoch {
                expected: cur,
                found: block.body.epoch,
            }));
        };
        // A Receive's send certificate must verify against its own epoch's witness set.
        let send = match (&block.body.op, &request.send) {
            (Op::Receive { .. }, Some(cert)) => {
                if let Err(e) = self.verify_certificate(cert) {
                    return Err(AttestReply::BadSendCertificate(e));
                }
                CertifiedSend::from_block(&cert.block)
            }
            _ => None,
        };
        let next = match self.cur().accounts.get(&account) {
            None if height == 0 => validate_open(block, &rules),
            None => return Err(AttestReply::NeedCertificate { account, height: 0 }),
            Some(record) => {
                let head = record.state.head_height;
                if height <= head {
                    let certified_here = record
                        .head
                        .as_ref()
                        .is_some_and(|c| c.block_hash() == block.hash());
                    return if certified_here {
                        Ok(Admit::Locked)
                    } else {
                        Err(AttestReply::Invalid(ValidationError::WrongHeight {
                            expected: head + 1,
                            found: height,
                        }))
                    };
                }
                if height > head + 1 {
                    return Err(AttestReply::NeedCertificate {
                        account,
                        height: head + 1,
                    });
                }
                validate_next(&record.state, block, &rules, send.as_ref())
            }
        };
        match next {
            Err(e) => Err(AttestReply::Invalid(e)),
            Ok(_) if locked_here => Ok(Admit::Locked),
            Ok(_) => match self.quota_refusal(&account) {
                // A new lock counts toward the account's quota in this epoch.
                Some(refusal) => Err(refusal),
                None => Ok(Admit::NewLock),
            },
        }
    }

    /// The epoch record a certificate of epoch `issued` is checked against: one this
    /// witness keeps, no older than `e − K` (older certificates are refused unless
    /// re-certified).
    fn epoch_for_certificate(&self, issued: u64) -> Result<&Epoch, CertificateError> {
        let cur = &self.cur().epoch;
        if issued <= self.current && !cur.accepts_certificates_of(issued) {
            return Err(CertificateError::Expired {
                issued,
                current: self.current,
            });
        }
        self.epochs
            .get(&issued)
            .map(|s| &s.epoch)
            .ok_or(CertificateError::WrongEpoch {
                expected: self.current,
                found: issued,
            })
    }

    /// Verifies a certificate against its epoch, remembering the ones that passed (the
    /// digest covers the whole encoding, signatures included, so a forged copy of a
    /// verified block is still checked). Batch proofs are checked through the witness's
    /// [`VerifiedRoots`], so certificates of blocks attested in the same batches cost one
    /// Falcon verification per (signer, root).
    pub(crate) fn verify_certificate(
        &mut self,
        cert: &Certificate,
    ) -> Result<(), CertificateError> {
        let digest = Hash(*blake3::hash(&cert.encode()).as_bytes());
        if self.verified.contains(&digest) {
            return Ok(());
        }
        // Batch roots go through the root cache (taken out for the call: the epoch record
        // is borrowed from `self` meanwhile).
        let mut roots = std::mem::take(&mut self.roots);
        let checked = self
            .epoch_for_certificate(cert.epoch)
            .and_then(|epoch| cert.verify_with_cache(epoch, &mut roots));
        self.roots = roots;
        checked?;
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
        let statement = Statement::for_block(self.current, block);
        match Attestation::sign(statement, self.me.id, &mut self.keys) {
            Ok(a) => AttestReply::Attested(a),
            Err(e) => AttestReply::Storage(e.to_string()),
        }
    }

    /// The owner's key of `account`, from a record of any kept epoch or an `Open` block.
    fn owner_key(&self, account: &AccountId, block: &Block) -> Option<crate::crypto::PublicKey> {
        self.epochs
            .values()
            .rev()
            .find_map(|s| s.accounts.get(account))
            .map(|r| r.state.public_key.clone())
            .or_else(|| state_from_open(block).map(|s| s.public_key))
            .filter(|k| k.account_id() == *account)
    }

    /// A different block at a locked height: if the owner really signed it, that is
    /// equivocation and freezes the account (in the current epoch).
    fn conflict(&mut self, locked: Block, other: Block) -> AttestReply {
        let key = self
            .owner_key(&locked.body.account, &locked)
            .or_else(|| self.owner_key(&other.body.account, &other));
        let proof = EquivocationProof {
            first: locked,
            second: other,
        };
        match key {
            Some(key) if proof.verify(&key) => match self.freeze(self.current, &proof) {
                Ok(()) => AttestReply::Equivocation(proof),
                Err(e) => AttestReply::Storage(e.to_string()),
            },
            _ => AttestReply::Invalid(ValidationError::BadSignature),
        }
    }

    fn freeze(&mut self, epoch: u64, proof: &EquivocationProof) -> Result<(), StoreError> {
        self.store.put_frozen(epoch, proof)?;
        if let Some(s) = self.epochs.get_mut(&epoch) {
            s.frozen
                .entry(proof.account())
                .or_insert_with(|| proof.clone());
            s.reports.remove(&proof.account());
        }
        Ok(())
    }

    /// Adopts a certificate (of the current epoch or a kept earlier one): advances the
    /// account's certified head in the current epoch (and any buffered successors), keeps
    /// or clears pending receivables of recipients it serves, and also advances the
    /// account's record in closed epochs this witness served it in — certificates are
    /// final, and a record that catches up makes a better handover.
    pub fn handle_certificate(&mut self, cert: &Certificate) -> CertificateOutcome {
        if let Err(e) = self.verify_certificate(cert) {
            return CertificateOutcome::Invalid(e);
        }
        if let Err(e) = self.track_pending(cert) {
            return CertificateOutcome::Storage(e.to_string());
        }
        let account = cert.block.body.account;
        let closed: Vec<u64> = self
            .epochs
            .iter()
            .filter(|(e, s)| {
                **e != self.current
                    && s.serves(&self.me, &account)
                    && s.established(&account)
                    && !s.frozen.contains_key(&account)
            })
            .map(|(e, _)| *e)
            .collect();
        for e in closed {
            if let CertificateOutcome::Storage(err) = self.apply_in(e, cert) {
                return CertificateOutcome::Storage(err);
            }
        }
        let cur = self.cur();
        if !cur.serves(&self.me, &account) || !cur.established(&account) {
            return CertificateOutcome::Noted;
        }
        self.apply_in(self.current, cert)
    }

    /// Applies `cert` to the account's record of epoch `e` (buffering it if ahead).
    fn apply_in(&mut self, e: u64, cert: &Certificate) -> CertificateOutcome {
        let account = cert.block.body.account;
        let Some(st) = self.epochs.get_mut(&e) else {
            return CertificateOutcome::Noted;
        };
        let head = st.accounts.get(&account).map(|r| r.state.head_height);
        let height = cert.block.body.height;
        let is_next = match head {
            None => height == 0,
            Some(h) => height == h + 1,
        };
        if !is_next {
            if head.is_none_or(|h| height > h + 1) {
                st.future.insert((account, height), cert.clone());
                return CertificateOutcome::Buffered;
            }
            return CertificateOutcome::Noted;
        }
        let mut applied = Vec::new();
        let mut next = Some(cert.clone());
        while let Some(cert) = next {
            let height = cert.block.body.height;
            let state = match st.accounts.get(&account) {
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
            if let Err(err) = self.store.put_account(e, account, &record) {
                return CertificateOutcome::Storage(err.to_string());
            }
            st.accounts.insert(account, record);
            st.taken.insert(account);
            st.reports.remove(&account);
            applied.push((account, height));
            next = st.future.remove(&(account, height + 1));
        }
        CertificateOutcome::Applied(applied)
    }

    fn track_pending(&mut self, cert: &Certificate) -> Result<(), StoreError> {
        let body = &cert.block.body;
        let recipient = match &body.op {
            Op::Send { to, .. } => *to,
            Op::Receive { .. } => body.account,
            Op::Open { .. } => return Ok(()),
        };
        let e = self.current;
        if !self.cur().serves(&self.me, &recipient) {
            return Ok(());
        }
        let list = self.cur_mut().pending.entry(recipient).or_default();
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
            let list = list.clone();
            self.store.put_pending(e, recipient, &list)?;
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

#[path = "witness_handover.rs"]
mod handover;

#[path = "witness_quota.rs"]
mod quota;

#[path = "witness_batch.rs"]
mod batch;

#[cfg(test)]
#[path = "witness_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "epoch_tests.rs"]
mod epoch_tests;

#[cfg(test)]
#[path = "prune_tests.rs"]
mod prune_tests;
