//! Errors of genesis loading, witness admission and the builder.

use thiserror::Error;

use crate::codec::DecodeError;
use crate::crypto::CryptoError;
use crate::dmapp::DmappError;

/// Why a genesis file, or a witness admission, is refused.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GenesisError {
    /// The text is not TOML, or a field is missing, unknown or of the wrong type (the
    /// message names the key and position).
    #[error("genesis TOML: {0}")]
    Toml(String),
    /// A field's value is refused; `field` is its path, e.g. `allocations[2].public_key`.
    #[error("genesis field {field}: {problem}")]
    Field {
        /// Path of the offending field.
        field: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A witness admission certificate is refused.
    #[error("witness admission: {0}")]
    Admission(#[from] AdmissionError),
    /// An authority key failed to sign (a corrupt secret key; should never happen).
    #[error("signing failed: {0}")]
    Signing(#[from] CryptoError),
}

/// What is wrong with one genesis field.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Problem {
    /// Not hex, or not the expected number of bytes.
    #[error("{0}")]
    Hex(String),
    /// Not a valid public key.
    #[error("{0}")]
    Key(CryptoError),
    /// Not a valid encoding of the expected object.
    #[error("{0}")]
    Decode(DecodeError),
    /// A witness admission certificate that does not verify.
    #[error("{0}")]
    Admission(AdmissionError),
    /// A dmapp manifest that the registry refuses.
    #[error("{0}")]
    Dmapp(DmappError),
    /// The same key or id appears earlier in the file.
    #[error("duplicate of {first}")]
    Duplicate {
        /// Path of the first occurrence.
        first: String,
    },
    /// The sum of the allocations does not fit in a `u64`.
    #[error("the total supply does not fit in 64 bits")]
    SupplyOverflow,
    /// Outside its range or format (the text says which).
    #[error("{0}")]
    Invalid(String),
}

/// Why a witness admission certificate is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AdmissionError {
    /// The signer is not one of the admission authorities.
    #[error("the signer is not an admission authority")]
    UnknownAuthority,
    /// The admission authority's signature does not verify.
    #[error("the admission authority's signature does not verify")]
    BadSignature,
    /// A field is outside its limits (construction).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}
