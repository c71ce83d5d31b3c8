//! POC — proof of consistency (DESIGN.md §4).
//!
//! Committee sizing and selection, attestations and certificates, the witness state
//! machine (locks, pending receivables, equivocation proofs) and its durable store.
//! Epoch transitions and handover are not implemented yet.

mod attestation;
mod collector;
mod committee;
mod epoch;
mod equivocation;
mod restore;
mod store;
mod witness;

pub use attestation::{
    Attestation, Certificate, CertificateError, Statement, ATTESTATION_VERSION, MAX_COMMITTEE,
};
pub use collector::{CollectFailure, Collector, CollectorStep, MemberAnswer};
pub use committee::{
    committee_size, failure_probability, quorum, security_bits, select_committee, CommitteeIndex,
    WitnessId,
};
pub use epoch::{Epoch, Witness};
pub use equivocation::EquivocationProof;
pub use restore::{LockReply, RestoreCheck, RestoreDecision};
pub use store::{CertifiedAccount, MemoryWitnessStore, WitnessStore};
pub use witness::{
    AttestReply, AttestRequest, CertificateOutcome, PendingEntry, WitnessNode,
    MAX_PENDING_PER_RECIPIENT,
};
