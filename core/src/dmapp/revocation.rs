//! dmapp revocations: a review authority withdraws a dmapp from a given epoch on.

use super::wire::{self, Text, MAX_KEY_OR_SIGNATURE_LEN};
use super::{DmappError, DmappId};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{CryptoError, Domain, KeyPair, PublicKey, Signature};

/// The revocation format version this build writes and reads.
pub const REVOCATION_VERSION: u8 = 1;
/// Longest revocation reason, in bytes of UTF-8.
pub const MAX_REASON_LEN: usize = 128;
/// Longest encoded [`SignedRevocation`].
pub const MAX_SIGNED_REVOCATION_LEN: usize =
    1 + 32 + (4 + MAX_REASON_LEN) + 8 + 2 * (4 + MAX_KEY_OR_SIGNATURE_LEN);

/// "dmapp `id` is refused from epoch `effective_epoch` on, because `reason`."
///
/// It is broadcast at once (apps can warn their users) but only changes the registry of
/// epochs `≥ effective_epoch`, never the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmappRevocation {
    id: DmappId,
    reason: String,
    effective_epoch: u64,
}

impl DmappRevocation {
    /// A revocation of `id` from `effective_epoch` on; `reason` is at most
    /// [`MAX_REASON_LEN`] bytes without control characters (it may be empty).
    pub fn new(id: DmappId, reason: &str, effective_epoch: u64) -> Result<Self, DmappError> {
        wire::check_text(reason, Text::Free, MAX_REASON_LEN).map_err(|reason| {
            DmappError::Invalid {
                field: "reason",
                reason,
            }
        })?;
        Ok(DmappRevocation {
            id,
            reason: reason.to_owned(),
            effective_epoch,
        })
    }

    /// The revoked dmapp.
    pub fn id(&self) -> DmappId {
        self.id
    }

    /// Why, for people.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The first epoch whose registry no longer holds the dmapp.
    pub fn effective_epoch(&self) -> u64 {
        self.effective_epoch
    }

    /// The canonical encoding: what is signed.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    /// Signs the revocation as the review authority `authority`.
    pub fn sign(self, authority: &mut KeyPair) -> Result<SignedRevocation, CryptoError> {
        let signature = authority.sign(Domain::DmappRevocation, &self.encode())?;
        Ok(SignedRevocation {
            revocation: self,
            authority: authority.public_key().clone(),
            signature,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.u8(REVOCATION_VERSION)
            .fixed(&self.id.0)
            .bytes(self.reason.as_bytes())
            .u64(self.effective_epoch);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("revocation version")?;
        if version != REVOCATION_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "dmapp revocation",
                version,
            });
        }
        Ok(DmappRevocation {
            id: DmappId(r.array("dmapp id")?),
            reason: wire::read_text(r, "revocation reason", Text::Free, MAX_REASON_LEN)?,
            effective_epoch: r.u64("effective epoch")?,
        })
    }
}

/// A revocation signed by a review authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRevocation {
    revocation: DmappRevocation,
    authority: PublicKey,
    signature: Signature,
}

impl SignedRevocation {
    /// Assembles a revocation with a signature made elsewhere; [`Self::verify`] checks it.
    pub fn from_parts(
        revocation: DmappRevocation,
        authority: PublicKey,
        signature: Signature,
    ) -> Self {
        SignedRevocation {
            revocation,
            authority,
            signature,
        }
    }

    /// The revocation.
    pub fn revocation(&self) -> &DmappRevocation {
        &self.revocation
    }

    /// The review authority that signed it.
    pub fn authority(&self) -> &PublicKey {
        &self.authority
    }

    /// The review authority's signature over the revocation's encoding.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Checks that the signer is one of `review_authorities` and the signature verifies.
    pub fn verify(&self, review_authorities: &[PublicKey]) -> Result<(), DmappError> {
        if !review_authorities.contains(&self.authority) {
            return Err(DmappError::UnknownAuthority);
        }
        if !self.authority.verify(
            Domain::DmappRevocation,
            &self.revocation.encode(),
            &self.signature,
        ) {
            return Err(DmappError::BadSignature);
        }
        Ok(())
    }

    /// The canonical encoding: revocation, authority, signature.
    pub fn encode(&self) -> Vec<u8> {
        wire::encode_signed(
            |w| self.revocation.write(w),
            &self.authority,
            &self.signature,
        )
    }

    /// Decodes exactly one signed revocation (no signature check: see [`Self::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (revocation, authority, signature) = wire::decode_signed(
            bytes,
            "signed revocation",
            MAX_SIGNED_REVOCATION_LEN,
            DmappRevocation::read,
            "review authority",
            "revocation signature",
        )?;
        Ok(SignedRevocation {
            revocation,
            authority,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys(i: u8) -> KeyPair {
        KeyPair::from_seed(&[i; 32]).expect("keygen")
    }

    #[test]
    fn a_signed_revocation_round_trips_and_verifies_only_for_review_authorities() {
        let mut authority = keys(1);
        let signed = DmappRevocation::new(DmappId([5; 32]), "drains wallets", 7)
            .expect("valid")
            .sign(&mut authority)
            .expect("sign");
        let decoded = SignedRevocation::decode(&signed.encode()).expect("decode");
        assert_eq!(decoded, signed);
        assert_eq!(decoded.revocation().reason(), "drains wallets");
        assert_eq!(decoded.revocation().effective_epoch(), 7);
        assert_eq!(decoded.verify(&[authority.public_key().clone()]), Ok(()));
        assert_eq!(
            decoded.verify(&[keys(2).public_key().clone()]),
            Err(DmappError::UnknownAuthority)
        );
    }

    #[test]
    fn a_revocation_changed_after_signing_fails_the_signature_check() {
        let mut authority = keys(1);
        let mut signed = DmappRevocation::new(DmappId([5; 32]), "", 7)
            .expect("valid")
            .sign(&mut authority)
            .expect("sign");
        signed.revocation.effective_epoch = 70;
        assert_eq!(
            signed.verify(&[authority.public_key().clone()]),
            Err(DmappError::BadSignature)
        );
    }

    #[test]
    fn a_manifest_signature_does_not_verify_as_a_revocation() {
        // Both are signed by the same authority key: domain separation keeps them apart.
        let mut authority = keys(1);
        let revocation = DmappRevocation::new(DmappId([5; 32]), "", 7).expect("valid");
        let wrong = authority
            .sign(Domain::DmappManifest, &revocation.encode())
            .expect("sign");
        let signed =
            SignedRevocation::from_parts(revocation, authority.public_key().clone(), wrong);
        assert_eq!(
            signed.verify(&[authority.public_key().clone()]),
            Err(DmappError::BadSignature)
        );
    }

    #[test]
    fn reasons_outside_their_limits_are_refused() {
        assert!(matches!(
            DmappRevocation::new(DmappId([5; 32]), &"r".repeat(129), 1),
            Err(DmappError::Invalid {
                field: "reason",
                ..
            })
        ));
        assert!(matches!(
            DmappRevocation::new(DmappId([5; 32]), "line\nbreak", 1),
            Err(DmappError::Invalid {
                field: "reason",
                ..
            })
        ));
        assert!(DmappRevocation::new(DmappId([5; 32]), &"r".repeat(128), 1).is_ok());
    }

    #[test]
    fn every_truncation_of_a_valid_encoding_is_an_error() {
        let bytes = DmappRevocation::new(DmappId([5; 32]), "why", 7)
            .expect("valid")
            .sign(&mut keys(1))
            .expect("sign")
            .encode();
        for len in 0..bytes.len() {
            assert!(
                SignedRevocation::decode(&bytes[..len]).is_err(),
                "length {len}"
            );
        }
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = SignedRevocation::decode(&bytes);
        }
    }
}
