//! Gathering a certificate for one block: the requester's side of POC (DESIGN.md §4).
//!
//! A [`Collector`] is what a station runs on behalf of a phone (or a full node for
//! itself): it asks every committee member to attest the block, feeds lagging members the
//! certificates they lack ("need h−1"), counts valid attestations and assembles the
//! certificate at `q`. It is sans-IO: the caller delivers the members' answers and sends
//! what the returned [`CollectorStep`]s say, over libp2p or in a test.
//!
//! Byzantine members cannot stall or fail a transfer on their own: a block is given up
//! only when more than `f` members refuse it (then no quorum of `q = n − f` can exist),
//! and attestations are checked against `W_e` before they count.
//!
//! Attestations come in either form: single ones in [`MemberAnswer::Attested`], batch ones
//! through [`Collector::on_batch_attestation`] with a [`VerifiedRoots`] cache the caller may
//! share across collectors (a station collecting many blocks of the same batches then pays
//! one Falcon verification per member and root).

use std::collections::BTreeMap;

use super::{
    AnyAttestation, AttestReply, AttestRequest, Attestation, BatchAttestation, Certificate, Epoch,
    EquivocationProof, Statement, VerifiedRoots, WitnessId,
};

/// One member's answer to an attestation request, in the form that crosses the network
/// (structured validation errors travel as their message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAnswer {
    /// The member attested.
    Attested(Attestation),
    /// The member attested as part of a batch (DESIGN.md §4: its root signature and the
    /// statement's path). The collector's driver should hand it to
    /// [`Collector::on_batch_attestation`] with its shared root cache.
    AttestedBatch(Box<BatchAttestation>),
    /// The member lacks the certificate at `height`: send it (and later ones), then ask
    /// again.
    NeedCertificate {
        /// The missing height.
        height: u64,
    },
    /// The member refuses the block (invalid, bad send certificate, not in committee).
    Rejected(String),
    /// The member holds a conflicting owner-signed block at this height (the account is
    /// frozen, or is now).
    Conflict(Box<EquivocationProof>),
    /// The member could not answer now (storage failure, unreachable): ask again later.
    Unavailable(String),
    /// The member serves the account in a new epoch and has not taken it over: it needs
    /// the handovers of `epoch` (the one before) from that epoch's committee. The
    /// collector asks again later; whoever drives it fetches the handovers.
    NeedHandover {
        /// The epoch whose handovers are needed.
        epoch: u64,
    },
}

impl From<&super::BatchReply> for MemberAnswer {
    fn from(reply: &super::BatchReply) -> Self {
        match reply {
            super::BatchReply::Attested(a) => MemberAnswer::AttestedBatch(Box::new(a.clone())),
            super::BatchReply::Refused(r) => MemberAnswer::from(r.as_ref()),
        }
    }
}

impl From<&AttestReply> for MemberAnswer {
    fn from(reply: &AttestReply) -> Self {
        match reply {
            AttestReply::Attested(a) => MemberAnswer::Attested(a.clone()),
            AttestReply::NeedCertificate { height, .. } => {
                MemberAnswer::NeedCertificate { height: *height }
            }
            // A member waiting for handovers cannot attest now; one that closed the epoch
            // never will.
            AttestReply::NeedHandover { epoch, .. } => MemberAnswer::NeedHandover { epoch: *epoch },
            AttestReply::EpochClosed { epoch } => {
                MemberAnswer::Rejected(format!("epoch {epoch} is closed"))
            }
            AttestReply::Invalid(e) => MemberAnswer::Rejected(format!("invalid block: {e}")),
            AttestReply::BadSendCertificate(e) => {
                MemberAnswer::Rejected(format!("bad send certificate: {e}"))
            }
            AttestReply::Equivocation(p) | AttestReply::Frozen(p) => {
                MemberAnswer::Conflict(Box::new(p.clone()))
            }
            AttestReply::NotInCommittee => {
                MemberAnswer::Rejected("not in the account's committee".into())
            }
            // A plain refusal (it counts towards the `f + 1` that give the block up in this
            // epoch, like any other), never a conflict: the block may be valid, and can be
            // attested again in the next epoch.
            AttestReply::QuotaExceeded { epoch, quota, .. } => MemberAnswer::Rejected(format!(
                "attestation quota of {quota} blocks for this account in epoch {epoch} is used up; \
                 submit it again in the next epoch"
            )),
            AttestReply::Storage(e) => MemberAnswer::Unavailable(format!("storage: {e}")),
        }
    }
}

/// Why a block cannot be certified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectFailure {
    /// More than `f` members refused it; their reasons, one per member.
    Rejected(Vec<String>),
    /// More than `f` members hold a conflicting block at this height: the owner
    /// equivocated. One of the proofs.
    Conflict(Box<EquivocationProof>),
}

impl std::fmt::Display for CollectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CollectFailure::Rejected(reasons) => {
                let mut distinct: Vec<&String> = reasons.iter().collect();
                distinct.sort();
                distinct.dedup();
                write!(
                    f,
                    "refused by {} committee members: {}",
                    reasons.len(),
                    distinct
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
            CollectFailure::Conflict(_) => write!(
                f,
                "the account signed another block at this height (equivocation); it is frozen"
            ),
        }
    }
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectorStep {
    /// Send the attestation request ([`Collector::request`]) to these members.
    Ask(Vec<WitnessId>),
    /// Push these certificates, in order, to `member`, then ask it again.
    CatchUp {
        /// The lagging member.
        member: WitnessId,
        /// The certificates it lacks, lowest height first.
        certificates: Vec<Certificate>,
    },
    /// The block is certified.
    Certified(Box<Certificate>),
    /// The block cannot be certified.
    Failed(CollectFailure),
}

/// Gathers attestations for one block until it is certified or cannot be.
#[derive(Debug)]
pub struct Collector {
    epoch: Epoch,
    request: AttestRequest,
    history: BTreeMap<u64, Certificate>,
    committee: Vec<WitnessId>,
    statement: Statement,
    attestations: BTreeMap<WitnessId, AnyAttestation>,
    /// The cache of single-form answers' calls: a quorum completed by a single-form answer
    /// checks the batch proofs already in again (correct, and rare: one form per member).
    roots: VerifiedRoots,
    refused: BTreeMap<WitnessId, MemberAnswer>,
    finished: bool,
}

impl Collector {
    /// A collector for `request` in `epoch`. `history` holds the account's certificates
    /// that lagging members may need (typically the certified head; more is harmless).
    pub fn new(epoch: Epoch, request: AttestRequest, history: Vec<Certificate>) -> Self {
        let account = request.block.body.account;
        let committee = epoch.committee(&account);
        let committee_len = committee.len();
        let statement = Statement::for_block(epoch.number(), &request.block);
        let history = history
            .into_iter()
            .filter(|c| c.block.body.account == account)
            .map(|c| (c.block.body.height, c))
            .collect();
        Collector {
            epoch,
            request,
            history,
            committee,
            statement,
            attestations: BTreeMap::new(),
            roots: VerifiedRoots::new(committee_len),
            refused: BTreeMap::new(),
            finished: false,
        }
    }

    /// The request to send to members.
    pub fn request(&self) -> &AttestRequest {
        &self.request
    }

    /// The account's committee, nearest first.
    pub fn committee(&self) -> &[WitnessId] {
        &self.committee
    }

    /// Whether the collector has reached a final step (certified or failed).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether `member`'s valid attestation is in.
    pub fn has_attested(&self, member: &WitnessId) -> bool {
        self.attestations.contains_key(member)
    }

    /// Valid attestations gathered so far.
    pub fn attestation_count(&self) -> usize {
        self.attestations.len()
    }

    /// The first step: ask every member.
    pub fn start(&mut self) -> Vec<CollectorStep> {
        vec![CollectorStep::Ask(self.committee.clone())]
    }

    /// Asks again every member that has neither attested nor refused (after a timeout).
    pub fn retry(&mut self) -> Vec<CollectorStep> {
        if self.finished {
            return Vec::new();
        }
        let silent: Vec<WitnessId> = self
            .committee
            .iter()
            .filter(|w| !self.attestations.contains_key(w) && !self.refused.contains_key(w))
            .copied()
            .collect();
        if silent.is_empty() {
            Vec::new()
        } else {
            vec![CollectorStep::Ask(silent)]
        }
    }

    /// Handles `member`'s answer. Answers from non-members, and attestations that do not
    /// verify against `W_e` or attest something else, are ignored.
    pub fn on_answer(&mut self, member: WitnessId, answer: MemberAnswer) -> Vec<CollectorStep> {
        if self.finished || !self.committee.contains(&member) {
            return Vec::new();
        }
        match answer {
            MemberAnswer::Attested(a) => {
                // The collector's own cache holds the roots of batch attestations already
                // in (taken out for the call).
                let mut roots = std::mem::take(&mut self.roots);
                let steps = self.attested(member, AnyAttestation::Single(a), &mut roots);
                self.roots = roots;
                steps
            }
            MemberAnswer::NeedCertificate { height } => {
                let certificates: Vec<Certificate> = self
                    .history
                    .range(height..self.request.block.body.height)
                    .map(|(_, c)| c.clone())
                    .collect();
                if certificates.first().map(|c| c.block.body.height) != Some(height) {
                    return self.refuse(
                        member,
                        MemberAnswer::Rejected(format!(
                            "lags behind and needs the certificate at height {height}, \
                             which the submitter did not provide"
                        )),
                    );
                }
                vec![CollectorStep::CatchUp {
                    member,
                    certificates,
                }]
            }
            refusal @ (MemberAnswer::Rejected(_) | MemberAnswer::Conflict(_)) => {
                self.refuse(member, refusal)
            }
            MemberAnswer::AttestedBatch(a) => {
                let mut roots = std::mem::take(&mut self.roots);
                let steps = self.attested(member, AnyAttestation::Batch(*a), &mut roots);
                self.roots = roots;
                steps
            }
            MemberAnswer::Unavailable(_) | MemberAnswer::NeedHandover { .. } => Vec::new(),
        }
    }

    /// Handles `member`'s batch attestation (what
    /// [`WitnessNode::handle_attest_batch`](super::WitnessNode::handle_attest_batch)
    /// returns), checking its root signature through `roots`. Like an
    /// [`MemberAnswer::Attested`] answer otherwise.
    pub fn on_batch_attestation(
        &mut self,
        member: WitnessId,
        attestation: BatchAttestation,
        roots: &mut VerifiedRoots,
    ) -> Vec<CollectorStep> {
        if self.finished || !self.committee.contains(&member) {
            return Vec::new();
        }
        self.attested(member, AnyAttestation::Batch(attestation), roots)
    }

    fn attested(
        &mut self,
        member: WitnessId,
        a: AnyAttestation,
        roots: &mut VerifiedRoots,
    ) -> Vec<CollectorStep> {
        let valid = super::AttestationForm::witness(&a) == member
            && *super::AttestationForm::statement(&a) == self.statement
            && self
                .epoch
                .witness(&member)
                .is_some_and(|w| a.verify_cached(w, roots));
        if !valid {
            return self.refuse(
                member,
                MemberAnswer::Rejected("sent an invalid attestation".into()),
            );
        }
        self.refused.remove(&member);
        self.attestations.insert(member, a);
        if self.attestations.len() >= self.epoch.quorum() {
            let attestations: Vec<AnyAttestation> = self.attestations.values().cloned().collect();
            let cert =
                Certificate::assemble(self.request.block.clone(), &self.epoch, &attestations);
            if cert.verify_with_cache(&self.epoch, roots).is_ok() {
                self.finished = true;
                return vec![CollectorStep::Certified(Box::new(cert))];
            }
        }
        Vec::new()
    }

    fn refuse(&mut self, member: WitnessId, answer: MemberAnswer) -> Vec<CollectorStep> {
        if self.attestations.contains_key(&member) {
            return Vec::new();
        }
        self.refused.insert(member, answer);
        let f = self.committee.len() - self.epoch.quorum();
        if self.refused.len() <= f {
            return Vec::new();
        }
        self.finished = true;
        let conflicts: Vec<&EquivocationProof> = self
            .refused
            .values()
            .filter_map(|a| match a {
                MemberAnswer::Conflict(p) => Some(p.as_ref()),
                _ => None,
            })
            .collect();
        if conflicts.len() > f {
            return vec![CollectorStep::Failed(CollectFailure::Conflict(Box::new(
                conflicts[0].clone(),
            )))];
        }
        let reasons = self
            .refused
            .values()
            .map(|a| match a {
                MemberAnswer::Rejected(r) => r.clone(),
                MemberAnswer::Conflict(_) => "holds a conflicting block at this height".into(),
                _ => "refused".into(),
            })
            .collect();
        vec![CollectorStep::Failed(CollectFailure::Rejected(reasons))]
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
