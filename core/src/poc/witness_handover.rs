//! The witness's side of epoch handover (DESIGN.md §4): answering handover requests about
//! a closed epoch, and taking an account over from `q` such answers in the next one.
//! See [`super::super::takeover`] for the decision rule.

use super::super::takeover::Report;
use super::super::{Handover, HandoverError};
use super::{add_pending, CertifiedAccount, HandoverOutcome, WitnessNode, WitnessStore};
use crate::crypto::AccountId;
use crate::poc::quorum;

impl<S: WitnessStore> WitnessNode<S> {
    /// Answers a handover request: this member's signed report of what it holds for
    /// `account` in the closed epoch `epoch`. `closed(epoch)` is durable before any answer
    /// leaves (it is written again here if missing), and a member never attests in an epoch
    /// it has closed, so every report reflects everything it ever attested in `epoch`.
    /// Refused while `epoch` is still open here, for epochs no longer kept, for accounts
    /// whose committee this member was not in, and for accounts it never took over in
    /// `epoch` (it then needs the handovers of the epoch before).
    pub fn handle_handover_request(
        &mut self,
        account: &AccountId,
        epoch: u64,
    ) -> Result<Handover, HandoverError> {
        let Some(st) = self.epochs.get(&epoch) else {
            return Err(HandoverError::NotRetained(epoch));
        };
        if !st.closed {
            return Err(HandoverError::NotClosed(epoch));
        }
        if !st.serves(&self.me, account) {
            return Err(HandoverError::NotInCommittee(epoch));
        }
        let durable = self
            .store
            .closed(epoch)
            .map_err(|e| HandoverError::Storage(e.to_string()))?;
        if !durable {
            self.store
                .put_closed(epoch)
                .map_err(|e| HandoverError::Storage(e.to_string()))?;
        }
        let st = &self.epochs[&epoch];
        if !st.established(account) {
            return Err(HandoverError::NotTakenOver(epoch));
        }
        if let Some(h) = st.reports.get(account) {
            return Ok(h.clone());
        }
        let record = st.accounts.get(account).cloned();
        let next = record
            .as_ref()
            .map_or(0, |r| r.state.head_height.saturating_add(1));
        let frozen = st.frozen.get(account).cloned();
        let pending = st.pending.get(account).cloned().unwrap_or_default();
        let lock = self
            .store
            .lock(epoch, account, next)
            .map_err(|e| HandoverError::Storage(e.to_string()))?;
        let h = Handover::sign(
            epoch,
            *account,
            self.me.id,
            record,
            lock,
            frozen,
            pending,
            &mut self.keys,
        )?;
        if let Some(st) = self.epochs.get_mut(&epoch) {
            st.reports.insert(*account, h.clone());
        }
        Ok(h)
    }

    /// Takes in a handover report about `h.account` in epoch `h.epoch`, for serving the
    /// account in `h.epoch + 1` (the current epoch, or a closed one being taken over so
    /// that this member can report on it in turn). Forged, inconsistent or non-member
    /// reports are rejected and not counted. Once taken over, a late report can only add a
    /// lock at the next height (a lock it conflicts with freezes the account).
    pub fn handle_handover(&mut self, h: &Handover) -> HandoverOutcome {
        let old = h.epoch;
        let target = old.saturating_add(1);
        let Some(st) = self.epochs.get(&target) else {
            return HandoverOutcome::Rejected(HandoverError::NotRetained(target));
        };
        if !st.serves(&self.me, &h.account) {
            return HandoverOutcome::Rejected(HandoverError::NotNextMember(target));
        }
        let Some(old_state) = self.epochs.get(&old) else {
            return HandoverOutcome::Rejected(HandoverError::NotRetained(old));
        };
        if let Err(e) = h.verify(&old_state.epoch) {
            return HandoverOutcome::Rejected(e);
        }
        // The head certificate verifies against its epoch if still kept; an older one is
        // counted only through f + 1 identical reports (re-certification).
        let head_verified = match h.record.as_ref().and_then(|r| r.head.as_ref()) {
            None => true,
            Some(cert) => match self.verify_certificate(cert) {
                Ok(()) => true,
                Err(crate::poc::CertificateError::Expired { .. }) => false,
                Err(e) => {
                    return HandoverOutcome::Rejected(HandoverError::Inconsistent(format!(
                        "the head certificate does not verify: {e}"
                    )))
                }
            },
        };
        if self.epochs[&target].established(&h.account) {
            return self.merge_late_lock(target, h);
        }
        self.seed_own_report(target, &h.account);
        if let Some(st) = self.epochs.get_mut(&target) {
            st.takeovers.entry(h.account).or_default().add(Report {
                handover: h.clone(),
                head_verified,
            });
        }
        self.try_take_over(target, &h.account)
    }

    /// Whether `account` is established in the current epoch; if not, tries with this
    /// witness's own report (a member of both committees counts itself).
    pub(super) fn ensure_taken_over(&mut self, account: &AccountId) -> bool {
        let cur = self.current;
        if self.cur().established(account) {
            return true;
        }
        self.seed_own_report(cur, account);
        matches!(
            self.try_take_over(cur, account),
            HandoverOutcome::TookOver { .. }
        )
    }

    /// Adds this witness's own report about `account` in `target − 1`, if it was a member
    /// there with an established record.
    fn seed_own_report(&mut self, target: u64, account: &AccountId) {
        let Some(old) = target.checked_sub(1) else {
            return;
        };
        let mine = self
            .epochs
            .get(&target)
            .and_then(|s| s.takeovers.get(account))
            .is_some_and(|t| t.has(&self.me.id));
        if mine {
            return;
        }
        if let Ok(h) = self.handle_handover_request(account, old) {
            if let Some(st) = self.epochs.get_mut(&target) {
                st.takeovers.entry(*account).or_default().add(Report {
                    handover: h,
                    head_verified: true,
                });
            }
        }
    }

    fn try_take_over(&mut self, target: u64, account: &AccountId) -> HandoverOutcome {
        let old = target.saturating_sub(1);
        let Some(old_state) = self.epochs.get(&old) else {
            return HandoverOutcome::Rejected(HandoverError::NotRetained(old));
        };
        let (f, q) = quorum(old_state.epoch.committee_len());
        let Some(st) = self.epochs.get(&target) else {
            return HandoverOutcome::Rejected(HandoverError::NotRetained(target));
        };
        let Some(takeover) = st.takeovers.get(account) else {
            return HandoverOutcome::Collecting { have: 0, need: q };
        };
        let Some(decision) = takeover.decide(q, f) else {
            return HandoverOutcome::Collecting {
                have: takeover.count(),
                need: q,
            };
        };
        match self.commit_take_over(target, account, decision) {
            Ok(()) => HandoverOutcome::TookOver { epoch: target },
            Err(e) => HandoverOutcome::Rejected(HandoverError::Storage(e.to_string())),
        }
    }

    /// Writes the adopted record, the merged pending entries, the reported lock (or the
    /// freeze) durably, then marks the account established.
    fn commit_take_over(
        &mut self,
        target: u64,
        account: &AccountId,
        decision: crate::poc::takeover::Decision,
    ) -> Result<(), crate::store::StoreError> {
        if let Some(record) = &decision.record {
            self.store.put_account(target, *account, record)?;
        }
        // Pending: the union of the reports and what this epoch already gathered, minus
        // what the adopted state has already received.
        let received = |e: &crate::poc::PendingEntry| {
            decision.record.as_ref().is_some_and(|r| {
                r.state
                    .recv_cursor
                    .get(&e.from)
                    .is_some_and(|c| *c >= e.height)
            })
        };
        let mut list = self.epochs[&target]
            .pending
            .get(account)
            .cloned()
            .unwrap_or_default();
        let before = list.clone();
        list.retain(|e| !received(e));
        for e in decision.pending.iter().filter(|e| !received(e)) {
            add_pending(&mut list, *e);
        }
        if list != before {
            self.store.put_pending(target, *account, &list)?;
        }
        if let Some(st) = self.epochs.get_mut(&target) {
            if let Some(record) = decision.record.clone() {
                st.accounts.insert(*account, record);
            }
            st.pending.insert(*account, list);
            st.takeovers.remove(account);
            st.taken.insert(*account);
        }
        if let Some(proof) = &decision.frozen {
            self.freeze(target, proof)?;
        }
        match decision.locks.as_slice() {
            [] => {}
            [lock] => self.adopt_lock(target, lock)?,
            [first, second, ..] => {
                let proof = crate::poc::EquivocationProof {
                    first: first.clone(),
                    second: second.clone(),
                };
                self.freeze(target, &proof)?;
            }
        }
        Ok(())
    }

    /// Records a reported lock as this witness's own lock in `target`; a different block
    /// already locked there is an equivocation (both are owner-signed) and freezes.
    fn adopt_lock(
        &mut self,
        target: u64,
        lock: &crate::ledger::Block,
    ) -> Result<(), crate::store::StoreError> {
        let (account, height) = (lock.body.account, lock.body.height);
        match self.store.lock(target, &account, height)? {
            Some(mine) if mine.hash() == lock.hash() => Ok(()),
            Some(mine) => {
                let proof = crate::poc::EquivocationProof {
                    first: mine,
                    second: lock.clone(),
                };
                self.freeze(target, &proof)
            }
            None => {
                self.store.put_lock(target, lock)?;
                // A report already signed about `target` no longer tells the whole story.
                if let Some(st) = self.epochs.get_mut(&target) {
                    st.reports.remove(&account);
                }
                Ok(())
            }
        }
    }

    /// A report arriving after the takeover: its lock at the established head + 1, if any,
    /// becomes (or conflicts with) this witness's lock there.
    fn merge_late_lock(&mut self, target: u64, h: &Handover) -> HandoverOutcome {
        let next = self.epochs[&target]
            .accounts
            .get(&h.account)
            .map_or(0, |r: &CertifiedAccount| r.state.head_height + 1);
        if let Some(lock) = h.lock.as_ref().filter(|l| l.body.height == next) {
            if let Err(e) = self.adopt_lock(target, lock) {
                return HandoverOutcome::Rejected(HandoverError::Storage(e.to_string()));
            }
        }
        HandoverOutcome::Noted
    }
}
