//! Ledger: one chain per account (DESIGN.md §3).
//!
//! This increment holds the block format: its canonical, versioned encoding with length
//! limits, its domain-tagged hash (over the unsigned body), and owner signatures. Validation
//! against an account's certified state and the POC layer build on it.

mod block;

pub use block::{Block, BlockBody, DmappId, Op, BLOCK_VERSION, MAX_BLOCK_LEN, MAX_MEMO_LEN};

mod next;
pub use next::{next_receive, next_send};
pub mod state_codec;
mod validate;

pub use validate::{
    apply_certified, state_from_open, validate_next, validate_open, AccountState, CertifiedSend,
    EpochRules, ValidationError,
};
