//! Witness admission certificates (DESIGN.md §4): an admission authority (a carrier)
//! vouches for a witness key generated on a device.
//!
//! Wire format (version 1, integers big-endian, `bytes(≤ m)` = `u32` length ‖ bytes):
//! ```text
//! cert   = 0x01 witness_key:bytes(≤ 1024) operator:bytes(≤ 64) first_epoch:u64
//! signed = cert authority:bytes(≤ 1024) signature:bytes(≤ 1024)
//! ```
//! The certificate is signed under `zeropole/admission/v1`.

use super::{AdmissionError, GenesisError};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{CryptoError, Domain, KeyPair, PublicKey, Signature};
use crate::dmapp::wire::{self, Text, MAX_KEY_OR_SIGNATURE_LEN};
use crate::poc::{Witness, WitnessId};

/// The admission certificate format version this build writes and reads.
pub const ADMISSION_VERSION: u8 = 1;
/// Longest operator name, in bytes of UTF-8.
pub const MAX_OPERATOR_LEN: usize = 64;
/// Longest encoded [`SignedAdmission`].
pub const MAX_SIGNED_ADMISSION_LEN: usize = 1
    + (4 + MAX_KEY_OR_SIGNATURE_LEN)
    + (4 + MAX_OPERATOR_LEN)
    + 8
    + 2 * (4 + MAX_KEY_OR_SIGNATURE_LEN);

/// "`witness_key`, run by `operator`, may witness from epoch `first_epoch` on."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionCert {
    witness_key: PublicKey,
    operator: String,
    first_epoch: u64,
}

impl AdmissionCert {
    /// A certificate for `witness_key`; `operator` is a non-empty name of at most
    /// [`MAX_OPERATOR_LEN`] bytes without control characters.
    pub fn new(
        witness_key: PublicKey,
        operator: &str,
        first_epoch: u64,
    ) -> Result<Self, AdmissionError> {
        wire::check_text(operator, Text::Label, MAX_OPERATOR_LEN).map_err(|reason| {
            AdmissionError::Invalid {
                field: "operator",
                reason,
            }
        })?;
        Ok(AdmissionCert {
            witness_key,
            operator: operator.to_owned(),
            first_epoch,
        })
    }

    /// The witness's (device-generated) key.
    pub fn witness_key(&self) -> &PublicKey {
        &self.witness_key
    }

    /// Who runs the witness (a carrier, a station operator).
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The first epoch the witness may serve.
    pub fn first_epoch(&self) -> u64 {
        self.first_epoch
    }

    /// The canonical encoding: what is signed.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    /// Signs the certificate as the admission authority `authority`.
    pub fn sign(self, authority: &mut KeyPair) -> Result<SignedAdmission, CryptoError> {
        let signature = authority.sign(Domain::Admission, &self.encode())?;
        Ok(SignedAdmission {
            cert: self,
            authority: authority.public_key().clone(),
            signature,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.u8(ADMISSION_VERSION)
            .bytes(&self.witness_key.to_bytes())
            .bytes(self.operator.as_bytes())
            .u64(self.first_epoch);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("admission version")?;
        if version != ADMISSION_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "admission certificate",
                version,
            });
        }
        Ok(AdmissionCert {
            witness_key: wire::read_key(r, "witness key")?,
            operator: wire::read_text(r, "operator", Text::Label, MAX_OPERATOR_LEN)?,
            first_epoch: r.u64("first epoch")?,
        })
    }
}

/// An admission certificate signed by an admission authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAdmission {
    cert: AdmissionCert,
    authority: PublicKey,
    signature: Signature,
}

impl SignedAdmission {
    /// Assembles a certificate with a signature made elsewhere; [`Self::verify`] checks it.
    pub fn from_parts(cert: AdmissionCert, authority: PublicKey, signature: Signature) -> Self {
        SignedAdmission {
            cert,
            authority,
            signature,
        }
    }

    /// The certificate.
    pub fn cert(&self) -> &AdmissionCert {
        &self.cert
    }

    /// The admission authority that signed it.
    pub fn authority(&self) -> &PublicKey {
        &self.authority
    }

    /// The authority's signature over the certificate's encoding.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// `WitnessId = BLAKE3(witness key ‖ encoded signed admission)` (DESIGN.md §4), the key
    /// in its `algorithm byte ‖ key` encoding. The signature is covered, so re-signing a
    /// certificate gives a new id: genesis therefore refuses a witness key admitted twice.
    pub fn witness_id(&self) -> WitnessId {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.cert.witness_key.to_bytes());
        hasher.update(&self.encode());
        WitnessId(*hasher.finalize().as_bytes())
    }

    /// Checks that the signer is one of `admission_authorities` and that the signature
    /// verifies; returns the admitted witness. (Whether the witness may serve a given
    /// epoch, `first_epoch`, is the caller's check.)
    pub fn verify(&self, admission_authorities: &[PublicKey]) -> Result<Witness, GenesisError> {
        if !admission_authorities.contains(&self.authority) {
            return Err(AdmissionError::UnknownAuthority.into());
        }
        if !self
            .authority
            .verify(Domain::Admission, &self.cert.encode(), &self.signature)
        {
            return Err(AdmissionError::BadSignature.into());
        }
        Ok(Witness {
            id: self.witness_id(),
            public_key: self.cert.witness_key.clone(),
        })
    }

    /// The canonical encoding: certificate, authority, signature.
    pub fn encode(&self) -> Vec<u8> {
        wire::encode_signed(|w| self.cert.write(w), &self.authority, &self.signature)
    }

    /// Decodes exactly one signed admission (no signature check: see [`Self::verify`]).
    /// Any malformed input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (cert, authority, signature) = wire::decode_signed(
            bytes,
            "signed admission",
            MAX_SIGNED_ADMISSION_LEN,
            AdmissionCert::read,
            "admission authority",
            "admission signature",
        )?;
        Ok(SignedAdmission {
            cert,
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

    fn signed(authority: &mut KeyPair) -> SignedAdmission {
        AdmissionCert::new(keys(20).public_key().clone(), "Carrier One", 0)
            .expect("valid")
            .sign(authority)
            .expect("sign")
    }

    #[test]
    fn an_admission_round_trips_and_verifies_to_a_witness_with_the_designed_id() {
        let mut authority = keys(1);
        let admission = signed(&mut authority);
        let bytes = admission.encode();
        assert!(bytes.len() <= MAX_SIGNED_ADMISSION_LEN);
        let decoded = SignedAdmission::decode(&bytes).expect("decode");
        assert_eq!(decoded, admission);
        let witness = decoded
            .verify(&[keys(9).public_key().clone(), authority.public_key().clone()])
            .expect("valid");
        let mut preimage = keys(20).public_key().to_bytes();
        preimage.extend_from_slice(&bytes);
        assert_eq!(witness.id, WitnessId(*blake3::hash(&preimage).as_bytes()));
        assert_eq!(&witness.public_key, keys(20).public_key());
        assert_eq!(decoded.cert().operator(), "Carrier One");
    }

    #[test]
    fn an_admission_signed_by_a_key_that_is_not_an_admission_authority_is_refused() {
        let admission = signed(&mut keys(1));
        assert_eq!(
            admission.verify(&[keys(2).public_key().clone()]),
            Err(GenesisError::Admission(AdmissionError::UnknownAuthority))
        );
    }

    #[test]
    fn an_admission_changed_after_signing_fails_the_signature_check() {
        let mut authority = keys(1);
        let mut admission = signed(&mut authority);
        admission.cert.witness_key = keys(21).public_key().clone();
        assert_eq!(
            admission.verify(&[authority.public_key().clone()]),
            Err(GenesisError::Admission(AdmissionError::BadSignature))
        );
    }

    #[test]
    fn a_signature_from_another_domain_does_not_admit() {
        let mut authority = keys(1);
        let cert = AdmissionCert::new(keys(20).public_key().clone(), "op", 0).expect("valid");
        let wrong = authority.sign(Domain::Block, &cert.encode()).expect("sign");
        let admission = SignedAdmission::from_parts(cert, authority.public_key().clone(), wrong);
        assert_eq!(
            admission.verify(&[authority.public_key().clone()]),
            Err(GenesisError::Admission(AdmissionError::BadSignature))
        );
    }

    #[test]
    fn operators_outside_their_limits_are_refused() {
        let key = keys(20).public_key().clone();
        for bad in ["", "line\nbreak"] {
            assert!(matches!(
                AdmissionCert::new(key.clone(), bad, 0),
                Err(AdmissionError::Invalid {
                    field: "operator",
                    ..
                })
            ));
        }
        assert!(AdmissionCert::new(key.clone(), &"o".repeat(65), 0).is_err());
        assert!(AdmissionCert::new(key, &"o".repeat(64), 0).is_ok());
    }

    #[test]
    fn every_truncation_of_a_valid_encoding_is_an_error() {
        let bytes = signed(&mut keys(1)).encode();
        for len in 0..bytes.len() {
            assert!(
                SignedAdmission::decode(&bytes[..len]).is_err(),
                "length {len}"
            );
        }
        let mut longer = bytes;
        longer.push(7);
        assert_eq!(
            SignedAdmission::decode(&longer),
            Err(DecodeError::TrailingBytes(1))
        );
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = SignedAdmission::decode(&bytes);
        }
    }
}
