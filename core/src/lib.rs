//! # ZeroPole core
//!
//! The Rust core of the ZeroPole mobile blockchain SDK. This crate is the walking skeleton's
//! core: post-quantum account keys derived from a BIP-39 phrase ([`crypto`]), the SQLite
//! store with its sign-once guard ([`store`]), and the [`wallet`] that joins them.
//! The ledger, POC, broadcast, network and node layers described in `DESIGN.md` are built
//! on these in later increments.
//!
//! ```
//! use zeropole_core::wallet::Wallet;
//! # let dir = tempfile::tempdir().unwrap();
//! let wallet = Wallet::create(dir.path().join("wallet.db")).unwrap();
//! let signature = wallet.sign(0, b"block body").unwrap();
//! assert!(wallet.public_key().verify(zeropole_core::crypto::Domain::Block, b"block body", &signature));
//!
//! // The same phrase on another device gives the same account.
//! let phrase = wallet.phrase().as_str().to_string();
//! let restored = Wallet::restore(dir.path().join("other.db"), &phrase).unwrap();
//! assert_eq!(wallet.account_id(), restored.account_id());
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod broadcast;
pub mod codec;
pub mod crypto;
pub mod devnet;
pub mod dmapp;
pub mod genesis;
pub mod ledger;
pub mod net;
pub mod node;
pub mod poc;
pub mod sim;
pub mod store;
pub mod wallet;

/// The version of this crate, as the FFI reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
