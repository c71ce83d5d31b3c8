//! FN-DSA-512 (Falcon-512) through the pure-Rust `fn-dsa` crate.
//!
//! `fn-dsa` promises wire stability only from 1.0 and FIPS 206 is not final, so this is
//! algorithm `0x01` behind [`Algorithm`](super::Algorithm): a later encoding gets a new byte.

use fn_dsa::{
    sign_key_size, signature_size, vrfy_key_size, DomainContext, KeyPairGenerator,
    KeyPairGenerator512, SigningKey, SigningKey512, VerifyingKey, VerifyingKey512, FN_DSA_LOGN_512,
    HASH_ID_RAW,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use zeroize::Zeroizing;

use super::{CryptoError, Domain};

/// FN-DSA-512 parameters and operations.
pub struct FnDsa512;

impl FnDsa512 {
    /// Encoded verifying key length (897 bytes).
    pub const PUBLIC_KEY_LEN: usize = vrfy_key_size(FN_DSA_LOGN_512);
    /// Encoded signing key length (1,281 bytes).
    pub const SECRET_KEY_LEN: usize = sign_key_size(FN_DSA_LOGN_512);
    /// Signature length (666 bytes).
    pub const SIGNATURE_LEN: usize = signature_size(FN_DSA_LOGN_512);

    /// Deterministic key generation: the same 32-byte seed always gives the same key pair
    /// (a ChaCha20 stream seeded with it feeds the generator).
    pub fn keygen_from_seed(seed: &[u8; 32]) -> (Zeroizing<Vec<u8>>, Vec<u8>) {
        let mut rng = ChaCha20Rng::from_seed(*seed);
        // ~26 KiB of scratch space: on the heap, not on a phone thread's stack.
        let mut generator = Box::<KeyPairGenerator512>::default();
        let mut secret = Zeroizing::new(vec![0u8; Self::SECRET_KEY_LEN]);
        let mut public = vec![0u8; Self::PUBLIC_KEY_LEN];
        generator.keygen(FN_DSA_LOGN_512, &mut rng, &mut secret, &mut public);
        (secret, public)
    }

    /// Signs `message` under `domain` (FN-DSA's own context string carries the tag).
    /// Signatures are randomized: never use one as an identifier.
    pub fn sign<R: CryptoRng + RngCore>(
        key: &mut SigningKey512,
        rng: &mut R,
        domain: Domain,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut signature = vec![0u8; Self::SIGNATURE_LEN];
        key.sign(
            rng,
            &DomainContext(domain.tag().as_bytes()),
            &HASH_ID_RAW,
            message,
            &mut signature,
        )
        .ok_or(CryptoError::SigningFailed)?;
        Ok(signature)
    }

    /// Decodes a signing key produced by [`keygen_from_seed`](Self::keygen_from_seed).
    pub fn decode_signing_key(secret: &[u8]) -> Result<Box<SigningKey512>, CryptoError> {
        SigningKey512::decode(secret)
            .map(Box::new)
            .ok_or(CryptoError::SigningFailed)
    }

    /// Checks that `public` decodes as an FN-DSA-512 verifying key.
    pub fn check_public_key(public: &[u8]) -> Result<(), CryptoError> {
        if public.len() != Self::PUBLIC_KEY_LEN {
            return Err(CryptoError::InvalidPublicKey(format!(
                "FN-DSA-512 keys are {} bytes, got {}",
                Self::PUBLIC_KEY_LEN,
                public.len()
            )));
        }
        VerifyingKey512::decode(public)
            .map(|_| ())
            .ok_or_else(|| CryptoError::InvalidPublicKey("not an FN-DSA-512 key".into()))
    }

    /// Verifies `signature` on `message` under `domain`. Any malformed input is `false`.
    pub fn verify(public: &[u8], domain: Domain, message: &[u8], signature: &[u8]) -> bool {
        match VerifyingKey512::decode(public) {
            Some(key) => key.verify(
                signature,
                &DomainContext(domain.tag().as_bytes()),
                &HASH_ID_RAW,
                message,
            ),
            None => false,
        }
    }
}
