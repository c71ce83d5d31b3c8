//! POC — proof of consistency (DESIGN.md §4).
//!
//! This increment holds committee sizing and selection. Attestations, certificates,
//! pending receivables, equivocation proofs and epochs build on it.

mod committee;

pub use committee::{
    committee_size, failure_probability, quorum, security_bits, select_committee, WitnessId,
};
