use thiserror::Error;

/// Errors of the crypto layer. Messages never contain secret material.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The phrase does not have the required number of words.
    #[error("a ZeroPole seed phrase has {expected} words, this one has {found}")]
    WrongWordCount {
        /// Words required.
        expected: usize,
        /// Words found.
        found: usize,
    },
    /// A word is not in the BIP-39 English word list.
    #[error("word {position} of the seed phrase is not a BIP-39 English word")]
    UnknownWord {
        /// 1-based position of the offending word (the word itself is not echoed).
        position: usize,
    },
    /// All words are valid but the phrase's checksum does not match: a word was mistyped
    /// or the order is wrong.
    #[error("the seed phrase checksum does not match: a word is wrong or out of order")]
    ChecksumMismatch,
    /// The phrase could not be parsed for another reason.
    #[error("the seed phrase is invalid: {0}")]
    InvalidPhrase(String),
    /// A public key's bytes are not a valid key of the named algorithm.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// The algorithm byte is not one this build knows.
    #[error("unknown signature algorithm 0x{0:02x}")]
    UnknownAlgorithm(u8),
    /// The signer failed: the secret key is corrupt (should never happen for a derived key).
    #[error("signing failed: the secret key is invalid")]
    SigningFailed,
}
