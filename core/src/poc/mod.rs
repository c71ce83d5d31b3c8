//! POC — proof of consistency (DESIGN.md §4).
//!
//! Committee sizing and selection, attestations and certificates, the witness state
//! machine (locks, pending receivables, equivocation proofs), its durable store, and epoch
//! transitions with handover (`closed(e)`, signed [`Handover`] reports, takeover by `q`),
//! signed epoch records ([`SignedEpochRecord`]) with a commit–reveal seed
//! ([`SeedCeremony`]) and Merkle proofs of membership in `W_e` ([`WitnessSetTree`]),
//! and batched (Merkle-root) attestations with their verifier cache ([`batch`],
//! [`VerifiedRoots`]).

mod attestation;
pub mod batch;
mod collector;
mod committee;
mod epoch;
mod equivocation;
mod handover;
mod record;
mod restore;
mod seed;
mod store;
mod takeover;
mod verified_roots;
mod witness;
mod witness_set;

pub use attestation::{
    Attestation, AttestationProof, Certificate, CertificateError, Statement, ATTESTATION_VERSION,
    CERTIFICATE_VERSION, MAX_COMMITTEE,
};
pub use batch::{AnyAttestation, AttestationForm, BatchAttestation, BatchProof, MAX_BATCH};
pub use collector::{CollectFailure, Collector, CollectorStep, MemberAnswer};
pub use committee::{
    committee_size, failure_probability, quorum, security_bits, select_committee, CommitteeIndex,
    WitnessId,
};
pub use epoch::{Epoch, Witness, DEFAULT_ATTEST_QUOTA, DEFAULT_RETENTION};
pub use equivocation::EquivocationProof;
pub use handover::{Handover, HandoverError, HANDOVER_VERSION, MAX_HANDOVER_PENDING};
pub use record::{EpochRecord, RecordError, SignedEpochRecord, RECORD_VERSION};
pub use restore::{LockReply, RestoreCheck, RestoreDecision};
pub use seed::{
    commitment, derive_seed, SeedCeremony, SeedContribution, SeedError, SeedOutcome, SeedPoll,
    SeedReveal, SignedCommit, MAX_AUTHORITIES, SEED_COMMIT_VERSION,
};
pub use store::{CertifiedAccount, MemoryWitnessStore, WitnessStore};
pub use verified_roots::{VerifiedRoots, DEFAULT_VERIFIED_ROOTS};
pub use witness::{
    AttestReply, AttestRequest, BatchReply, CertificateOutcome, EpochError, HandoverOutcome,
    PendingEntry, PendingReply, WitnessNode, MAX_PENDING_PER_RECIPIENT,
};
pub use witness_set::{MembershipProof, WitnessSetTree, MAX_WITNESS_SET, MEMBERSHIP_PROOF_VERSION};
