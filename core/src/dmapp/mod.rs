//! dmapp review (DESIGN.md §5): manifests and revocations signed by a review authority.
//!
//! A dmapp is admitted when a review authority named in genesis signs its
//! [`DmappManifest`]; blocks carry its [`DmappId`] and witnesses refuse blocks of dmapps
//! absent from the [`Registry`] of the current epoch. A [`DmappRevocation`] names the epoch
//! from which the dmapp is refused, never the current one, so the members of a committee
//! never disagree in the middle of an epoch.
//!
//! Ids cannot be squatted: a dmapp's id is derived from its publisher's key and its name
//! ([`DmappManifest::derive_id`]), and every verification checks the derivation.
//!
//! Wire formats (version 1, integers big-endian, `bytes(≤ m)` = `u32` length ‖ bytes):
//! ```text
//! manifest   = 0x01 id:[32] name:bytes(≤ 64) publisher_key:bytes(≤ 1024) version:u32
//!              count:u8(≤ 16) permission:bytes(≤ 32) × count    (strictly ascending)
//! signed     = manifest authority:bytes(≤ 1024) signature:bytes(≤ 1024)
//! revocation = 0x01 id:[32] reason:bytes(≤ 128) effective_epoch:u64
//! signed     = revocation authority:bytes(≤ 1024) signature:bytes(≤ 1024)
//! ```
//! A manifest is signed under `zeropole/dmapp-manifest/v1`, a revocation under
//! `zeropole/dmapp-revocation/v1`; the signature covers the unsigned encoding only.

mod manifest;
mod registry;
mod revocation;
pub(crate) mod wire;

use thiserror::Error;

use crate::codec::DecodeError;
pub use crate::ledger::DmappId;

pub use manifest::{
    DmappManifest, SignedManifest, MANIFEST_VERSION, MAX_NAME_LEN, MAX_PERMISSIONS,
    MAX_PERMISSION_LEN, MAX_SIGNED_MANIFEST_LEN,
};
pub use registry::Registry;
pub use revocation::{
    DmappRevocation, SignedRevocation, MAX_REASON_LEN, MAX_SIGNED_REVOCATION_LEN,
    REVOCATION_VERSION,
};

/// Why a manifest or revocation is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DmappError {
    /// The signer is not one of the review authorities.
    #[error("the signer is not a review authority")]
    UnknownAuthority,
    /// The review authority's signature does not verify.
    #[error("the review authority's signature does not verify")]
    BadSignature,
    /// The manifest's id is not derived from its publisher key and name.
    #[error(
        "the manifest claims id {}, its publisher key and name give {}",
        hex(found),
        hex(expected)
    )]
    IdMismatch {
        /// The id derived from the publisher key and name.
        expected: DmappId,
        /// The id the manifest states.
        found: DmappId,
    },
    /// The bytes are not a valid encoding.
    #[error("malformed encoding: {0}")]
    Decode(#[from] DecodeError),
    /// A field is outside its limits (construction).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The registry already holds this or a newer version of the dmapp.
    #[error(
        "dmapp {} is already admitted at version {current}, version {offered} is not newer",
        hex(id)
    )]
    StaleVersion {
        /// The dmapp.
        id: DmappId,
        /// The version in the registry.
        current: u32,
        /// The version offered.
        offered: u32,
    },
    /// The dmapp is revoked: a revoked id is never admitted again.
    #[error("dmapp {} is revoked", hex(.0))]
    Revoked(DmappId),
    /// A revocation names a dmapp the registry never admitted.
    #[error("dmapp {} is not in the registry", hex(.0))]
    UnknownDmapp(DmappId),
    /// A revocation would change an epoch whose registry is already sealed.
    #[error("a revocation effective at epoch {effective_epoch} is too early: epochs before {earliest} are sealed")]
    RevocationTooEarly {
        /// The revocation's epoch.
        effective_epoch: u64,
        /// The first epoch that may still change.
        earliest: u64,
    },
}

fn hex(id: &DmappId) -> String {
    ::hex::encode(id.0)
}
