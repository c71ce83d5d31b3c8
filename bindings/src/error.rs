//! Error definitions of the FFI and their conversions from the core's errors.
//!
//! Errors are "flat": each variant reaches Kotlin (`WalletException.X`) and Swift
//! (`WalletError.X(message:)`) with the core's human-readable message. The variant is the
//! stable kind apps switch on; the message is for people and logs.

use zeropole_core::crypto::CryptoError;
use zeropole_core::node::NodeError as CoreNodeError;
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

/// Why a node operation failed. The variant is the stable kind apps switch on; every
/// variant reaches Kotlin (`NodeException.X`, `message`) and Swift
/// (`NodeError.X(message:)`) with the core's human-readable message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum NodeError {
    /// The configuration cannot be used: genesis unreadable, no home station, a bad
    /// station address, a bad dmapp id, an unusable data directory.
    #[error("{0}")]
    Config(String),
    /// The phrase is not 24 English BIP-39 words (wrong count or an unknown word).
    #[error("{0}")]
    InvalidPhrase(String),
    /// The words are valid but the checksum is not: a word is wrong or out of order.
    #[error("{0}")]
    PhraseChecksum(String),
    /// The data directory holds the wallet of another phrase.
    #[error("{0}")]
    AccountMismatch(String),
    /// The sign-once guard refused a second, different block at a height.
    #[error("{0}")]
    AlreadySigned(String),
    /// The dmapp is not reviewed in this network's registry: the SDK refuses to start.
    #[error("{0}")]
    UnreviewedDmapp(String),
    /// The account id text is not 64 hex characters.
    #[error("{0}")]
    InvalidAccount(String),
    /// The account has no certified state on this network.
    #[error("{0}")]
    UnknownAccount(String),
    /// The certified balance cannot cover the amount.
    #[error("{0}")]
    InsufficientFunds(String),
    /// The amount is below the network's smallest transfer.
    #[error("{0}")]
    BelowMinimum(String),
    /// Sending to one's own account.
    #[error("{0}")]
    SendToSelf(String),
    /// The committee refused the block (the reason the station reported).
    #[error("{0}")]
    Refused(String),
    /// No station reachable, a timeout, a peer error.
    #[error("{0}")]
    Network(String),
    /// Local storage failed (I/O, full disk, corruption, newer schema).
    #[error("{0}")]
    Storage(String),
    /// A platform signal is out of range (e.g. a battery level above 100 %); nothing was
    /// changed.
    #[error("{0}")]
    InvalidSignal(String),
    /// The network's epoch record expired (`not_after`): re-bootstrap through another
    /// operator (a current genesis) before using the network.
    #[error("{0}")]
    EpochExpired(String),
    /// The push token is empty where one is needed, too long, or not printable ASCII;
    /// nothing was stored or sent.
    #[error("{0}")]
    InvalidPushToken(String),
    /// The node is paused (call `resume`) or stopped (start a new one).
    #[error("{0}")]
    NotRunning(String),
    /// A failure that indicates a bug; please report it with the message.
    #[error("{0}")]
    Internal(String),
}

impl NodeError {
    /// What every call on a stopped node returns.
    pub(crate) fn stopped() -> Self {
        NodeError::NotRunning("the node is stopped".into())
    }
}

impl From<CoreNodeError> for NodeError {
    fn from(e: CoreNodeError) -> Self {
        let message = e.to_string();
        match e {
            CoreNodeError::Config(_) => NodeError::Config(message),
            CoreNodeError::Wallet(inner) => match WalletError::from(inner) {
                WalletError::InvalidPhrase(m) => NodeError::InvalidPhrase(m),
                WalletError::PhraseChecksum(m) => NodeError::PhraseChecksum(m),
                WalletError::AccountMismatch(m) => NodeError::AccountMismatch(m),
                WalletError::AlreadySigned(m) => NodeError::AlreadySigned(m),
                WalletError::Storage(m) => NodeError::Storage(m),
                WalletError::AlreadyExists(m)
                | WalletError::InvalidKey(m)
                | WalletError::Internal(m) => NodeError::Internal(m),
            },
            CoreNodeError::UnreviewedDmapp(_) => NodeError::UnreviewedDmapp(message),
            CoreNodeError::InvalidAccount(_) => NodeError::InvalidAccount(message),
            CoreNodeError::UnknownAccount(_) => NodeError::UnknownAccount(message),
            CoreNodeError::InsufficientFunds { .. } => NodeError::InsufficientFunds(message),
            CoreNodeError::BelowMinimum { .. } => NodeError::BelowMinimum(message),
            CoreNodeError::SendToSelf => NodeError::SendToSelf(message),
            CoreNodeError::Refused(_) => NodeError::Refused(message),
            CoreNodeError::Network(_) => NodeError::Network(message),
            CoreNodeError::Storage(_) => NodeError::Storage(message),
            CoreNodeError::NotRunning(_) => NodeError::NotRunning(message),
            CoreNodeError::InvalidPushToken(_) => NodeError::InvalidPushToken(message),
            CoreNodeError::EpochExpired(_) => NodeError::EpochExpired(message),
        }
    }
}

/// Why [`NodeConfigBuilder::build`](crate::NodeConfigBuilder::build) refused the
/// configuration. The variant names the field; the message says what is wrong with it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum ConfigError {
    /// The data directory is empty, relative, or an existing file.
    #[error("{0}")]
    InvalidDataDir(String),
    /// The genesis TOML does not parse or does not validate.
    #[error("{0}")]
    InvalidGenesis(String),
    /// No home station was given and the genesis lists no bootstrap station.
    #[error("{0}")]
    NoHomeStation(String),
    /// A home station is not a multiaddr ending in `/p2p/<peer id>`.
    #[error("{0}")]
    InvalidHomeStation(String),
    /// The dmapp id is not 64 hex characters, or the manifest does not decode or is not
    /// signed by a review authority of this genesis.
    #[error("{0}")]
    InvalidDmapp(String),
    /// The dmapp is not reviewed in this network's registry: the SDK refuses to start.
    #[error("{0}")]
    UnreviewedDmapp(String),
    /// A numeric setting is out of range (worker threads, a profile override).
    #[error("{0}")]
    InvalidSetting(String),
}

/// Why a [`LocalDevnet`](crate::LocalDevnet) could not start.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum DevnetError {
    /// One of the phrases to fund is not a valid 24-word phrase.
    #[error("{0}")]
    InvalidPhrase(String),
    /// The stations could not start (no station asked for, sockets, a timeout).
    #[error("{0}")]
    Start(String),
}

/// A [`LogSink`](crate::LogSink) implementation failed; the record is dropped.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum LogSinkError {
    /// The foreign sink threw.
    #[error("{0}")]
    Failed(String),
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LogSinkError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        LogSinkError::Failed(e.reason)
    }
}
