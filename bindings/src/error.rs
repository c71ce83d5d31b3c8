//! Error definitions of the FFI and their conversions from the core's errors.
//!
//! Errors are "flat": each variant reaches Kotlin (`WalletException.X`) and Swift
//! (`WalletError.X(message:)`) with the core's human-readable message. The variant is the
//! stable kind apps switch on; the message is for people and logs.

use zeropole_core::crypto::CryptoError;
use zeropole_core::wallet::WalletError as CoreWalletError;

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum WalletError {
    /// The phrase is not 24 English BIP-39 words (wrong count or an unknown word).
    #[error("{0}")]
    InvalidPhrase(String),
    /// The words are valid but the checksum is not: a word is wrong or out of order.
    #[error("{0}")]
    PhraseChecksum(String),
    /// `create` would overwrite an existing wallet database.
    #[error("{0}")]
    AlreadyExists(String),
    /// The database belongs to a different phrase.
    #[error("{0}")]
    AccountMismatch(String),
    /// The sign-once guard refused a second, different payload at a height.
    #[error("{0}")]
    AlreadySigned(String),
    /// A public key or signature is malformed.
    #[error("{0}")]
    InvalidKey(String),
    /// The database failed (I/O, full disk, corruption, newer schema).
    #[error("{0}")]
    Storage(String),
    /// A failure that indicates a bug; please report it with the message.
    #[error("{0}")]
    Internal(String),
}

impl From<CryptoError> for WalletError {
    fn from(e: CryptoError) -> Self {
        let message = e.to_string();
        match e {
            CryptoError::ChecksumMismatch => WalletError::PhraseChecksum(message),
            CryptoError::WrongWordCount { .. }
            | CryptoError::UnknownWord { .. }
            | CryptoError::InvalidPhrase(_) => WalletError::InvalidPhrase(message),
            CryptoError::InvalidPublicKey(_) | CryptoError::UnknownAlgorithm(_) => {
                WalletError::InvalidKey(message)
            }
            CryptoError::SigningFailed => WalletError::Internal(message),
        }
    }
}

impl From<CoreWalletError> for WalletError {
    fn from(e: CoreWalletError) -> Self {
        let message = e.to_string();
        match e {
            CoreWalletError::Phrase(inner) | CoreWalletError::Crypto(inner) => inner.into(),
            CoreWalletError::AlreadyExists(_) => WalletError::AlreadyExists(message),
            CoreWalletError::AccountMismatch { .. } => WalletError::AccountMismatch(message),
            CoreWalletError::AlreadySigned { .. } => WalletError::AlreadySigned(message),
            CoreWalletError::Storage(_) => WalletError::Storage(message),
        }
    }
}
