//! # zeropole-ffi
//!
//! The UniFFI surface of the ZeroPole core (DESIGN.md §9): the objects and functions that
//! Kotlin and Swift see. This crate only adapts types and errors; every rule lives in
//! `zeropole-core`.
//!
//! Panics: the phone build aborts on panic (`release-phone` profile), so nothing here may
//! panic on any input; every failure is a typed error. In unwinding builds (tests, JVM)
//! UniFFI would turn a stray panic into an `InternalException`.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

#[cfg(target_os = "android")]
mod android;
mod config;
mod devnet;
mod error;
mod logging;
mod node;
mod wallet;

pub use config::NodeConfigBuilder;
pub use devnet::LocalDevnet;
pub use error::{ConfigError, DevnetError, LogSinkError, NodeError, WalletError};
pub use logging::{
    clear_log_sink, enable_platform_log, log_message, set_log_sink, LogLevel, LogSink,
};
pub use node::{
    AppState, Cancellation, HistoryEntry, NetworkKind, Node, NodeConfig, NodeEvent, NodeStatus,
    Profile, PushPlatform, QueuedEvent, Transfer,
};
pub use wallet::Wallet;

uniffi::setup_scaffolding!("zeropole_ffi");

/// The version of the ZeroPole core inside this library.
#[uniffi::export]
pub fn core_version() -> String {
    zeropole_core::VERSION.to_string()
}

/// Checks a seed phrase (24 English BIP-39 words and their checksum) without opening
/// anything: use it to validate user input as it is typed.
#[uniffi::export]
pub fn validate_phrase(phrase: String) -> Result<(), WalletError> {
    zeropole_core::crypto::SeedPhrase::parse(&phrase)?;
    Ok(())
}

/// Verifies a block signature against an encoded public key (algorithm byte ‖ key).
/// Returns `false` for a wrong or malformed signature; a malformed key is an error.
#[uniffi::export]
pub fn verify_signature(
    public_key: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
) -> Result<bool, WalletError> {
    use zeropole_core::crypto::{Domain, PublicKey, Signature};
    let key = PublicKey::from_bytes(&public_key)?;
    Ok(match Signature::from_bytes(&signature) {
        Ok(signature) => key.verify(Domain::Block, &payload, &signature),
        Err(_) => false,
    })
}

/// The account id (64 hex characters) of an encoded public key.
#[uniffi::export]
pub fn account_id_of(public_key: Vec<u8>) -> Result<String, WalletError> {
    Ok(zeropole_core::crypto::PublicKey::from_bytes(&public_key)?
        .account_id()
        .to_hex())
}
