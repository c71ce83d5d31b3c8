//! Crypto: hashing with domain tags, the signature scheme behind an algorithm byte,
//! account ids, and BIP-39 seed phrases with hardened key derivation (DESIGN.md §2).

mod error;
mod falcon;
mod hash;
mod keys;
mod phrase;

pub use error::CryptoError;
pub use falcon::FnDsa512;
pub use hash::{hash_tagged, Domain, Hash};
pub use keys::{AccountId, Algorithm, KeyPair, PublicKey, Signature};
pub use phrase::{derive_account_seed, SeedPhrase, DERIVATION_V1, PHRASE_WORDS};
