//! Public keys, signatures and account ids, each tagged with an algorithm byte.

use std::fmt;
use std::str::FromStr;

use fn_dsa::SigningKey512;
use rand_core::OsRng;
use zeroize::Zeroizing;

use super::{CryptoError, Domain, FnDsa512};

/// Signature algorithms, identified on the wire by one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Algorithm {
    /// FN-DSA-512 as implemented by `fn-dsa` 0.4 (pre-FIPS 206 encoding).
    FnDsa512 = 0x01,
}

impl TryFrom<u8> for Algorithm {
    type Error = CryptoError;
    fn try_from(byte: u8) -> Result<Self, CryptoError> {
        match byte {
            0x01 => Ok(Algorithm::FnDsa512),
            other => Err(CryptoError::UnknownAlgorithm(other)),
        }
    }
}

/// A public (verifying) key. Encoded as the algorithm byte followed by the key bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: Algorithm,
    bytes: Vec<u8>,
}

impl PublicKey {
    /// Decodes `algorithm byte ‖ key`, validating the key.
    pub fn from_bytes(encoded: &[u8]) -> Result<Self, CryptoError> {
        let (&first, key) = encoded
            .split_first()
            .ok_or_else(|| CryptoError::InvalidPublicKey("empty".into()))?;
        let algorithm = Algorithm::try_from(first)?;
        match algorithm {
            Algorithm::FnDsa512 => FnDsa512::check_public_key(key)?,
        }
        Ok(PublicKey {
            algorithm,
            bytes: key.to_vec(),
        })
    }

    /// The encoding `algorithm byte ‖ key` (898 bytes for FN-DSA-512).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.bytes.len());
        out.push(self.algorithm as u8);
        out.extend_from_slice(&self.bytes);
        out
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// AccountId = BLAKE3(encoded public key).
    pub fn account_id(&self) -> AccountId {
        AccountId(*blake3::hash(&self.to_bytes()).as_bytes())
    }

    /// Verifies a signature made by the matching secret key under `domain`.
    /// A signature of another algorithm, or malformed, is simply invalid.
    pub fn verify(&self, domain: Domain, message: &[u8], signature: &Signature) -> bool {
        if signature.algorithm != self.algorithm {
            return false;
        }
        match self.algorithm {
            Algorithm::FnDsa512 => FnDsa512::verify(&self.bytes, domain, message, &signature.bytes),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey({:?}, account {})",
            self.algorithm,
            self.account_id()
        )
    }
}

/// A signature. Encoded as the algorithm byte followed by the signature bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    algorithm: Algorithm,
    bytes: Vec<u8>,
}

impl Signature {
    /// Decodes `algorithm byte ‖ signature`. Only the framing is checked here; validity is
    /// [`PublicKey::verify`]'s job.
    pub fn from_bytes(encoded: &[u8]) -> Result<Self, CryptoError> {
        let (&first, rest) = encoded
            .split_first()
            .ok_or(CryptoError::UnknownAlgorithm(0))?;
        Ok(Signature {
            algorithm: Algorithm::try_from(first)?,
            bytes: rest.to_vec(),
        })
    }

    /// The encoding `algorithm byte ‖ signature` (667 bytes for FN-DSA-512).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.bytes.len());
        out.push(self.algorithm as u8);
        out.extend_from_slice(&self.bytes);
        out
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature({:?}, {} bytes)",
            self.algorithm,
            self.bytes.len()
        )
    }
}

/// An account id: BLAKE3 of the account's encoded public key. Shown as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_hex())
    }
}

impl FromStr for AccountId {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, CryptoError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| {
            CryptoError::InvalidPublicKey("an account id is 64 hex characters".into())
        })?;
        Ok(AccountId(out))
    }
}

/// A key pair. The secret half is zeroized on drop (fn-dsa's signing key zeroizes itself)
/// and is never printed.
///
/// The expanded signing key is ~56 KiB: it lives on the heap so that moving a `KeyPair`
/// (or a wallet holding one) never copies it through the stack, whose size on a phone's
/// worker threads (JVM ~1 MiB, iOS secondary threads 512 KiB) we do not control.
pub struct KeyPair {
    public: PublicKey,
    secret: Box<SigningKey512>,
    /// The encoded secret key (zeroized on drop), kept so a key pair can be cloned by
    /// decoding (cheap) instead of regenerating (milliseconds).
    encoded_secret: Zeroizing<Vec<u8>>,
}

impl Clone for KeyPair {
    fn clone(&self) -> Self {
        // The bytes decoded successfully when this pair was made, so they decode again.
        let secret = FnDsa512::decode_signing_key(&self.encoded_secret)
            .unwrap_or_else(|_| unreachable!("a key pair's own secret key decodes"));
        KeyPair {
            public: self.public.clone(),
            secret,
            encoded_secret: self.encoded_secret.clone(),
        }
    }
}

impl KeyPair {
    /// Deterministic FN-DSA-512 key pair from a 32-byte derivation seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, CryptoError> {
        let (secret_bytes, public_bytes) = FnDsa512::keygen_from_seed(seed);
        let secret = FnDsa512::decode_signing_key(&secret_bytes)?;
        Ok(KeyPair {
            public: PublicKey {
                algorithm: Algorithm::FnDsa512,
                bytes: public_bytes,
            },
            secret,
            encoded_secret: secret_bytes,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs under `domain` with fresh randomness from the operating system.
    pub fn sign(&mut self, domain: Domain, message: &[u8]) -> Result<Signature, CryptoError> {
        let bytes = FnDsa512::sign(&mut self.secret, &mut OsRng, domain, message)?;
        Ok(Signature {
            algorithm: Algorithm::FnDsa512,
            bytes,
        })
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({:?}, secret: <redacted>)", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(byte: u8) -> KeyPair {
        KeyPair::from_seed(&[byte; 32]).expect("derived keys are valid")
    }

    #[test]
    fn same_seed_same_key_and_sizes_match_the_design() {
        let a = pair(7);
        let b = pair(7);
        assert_eq!(a.public_key(), b.public_key());
        assert_ne!(a.public_key(), pair(8).public_key());
        assert_eq!(a.public_key().to_bytes().len(), 1 + 897);
    }

    #[test]
    fn signatures_verify_only_in_their_domain_and_for_their_message() {
        let mut a = pair(1);
        let sig = a.sign(Domain::Block, b"hello").expect("sign");
        assert_eq!(sig.to_bytes().len(), 1 + 666);
        let pk = a.public_key().clone();
        assert!(pk.verify(Domain::Block, b"hello", &sig));
        assert!(!pk.verify(Domain::Attest, b"hello", &sig));
        assert!(!pk.verify(Domain::Block, b"hellO", &sig));
        assert!(!pair(2).public_key().verify(Domain::Block, b"hello", &sig));
    }

    #[test]
    fn encodings_round_trip_and_garbage_is_rejected() {
        let mut a = pair(3);
        let pk = PublicKey::from_bytes(&a.public_key().to_bytes()).expect("round trip");
        assert_eq!(&pk, a.public_key());
        let sig = a.sign(Domain::Block, b"m").expect("sign");
        let sig2 = Signature::from_bytes(&sig.to_bytes()).expect("round trip");
        assert!(pk.verify(Domain::Block, b"m", &sig2));

        assert!(matches!(
            PublicKey::from_bytes(&[]),
            Err(CryptoError::InvalidPublicKey(_))
        ));
        assert!(matches!(
            PublicKey::from_bytes(&[9, 1, 2]),
            Err(CryptoError::UnknownAlgorithm(9))
        ));
        assert!(matches!(
            PublicKey::from_bytes(&[1, 1, 2]),
            Err(CryptoError::InvalidPublicKey(_))
        ));
        let mut truncated = sig.to_bytes();
        truncated.truncate(100);
        let truncated = Signature::from_bytes(&truncated).expect("framing only");
        assert!(!pk.verify(Domain::Block, b"m", &truncated));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let a = pair(4);
        let shown = format!("{a:?}");
        assert!(shown.contains("<redacted>"));
        assert!(shown.len() < 200);
    }

    #[test]
    fn account_id_parses_from_its_hex() {
        let id = pair(5).public_key().account_id();
        assert_eq!(id.to_hex().parse::<AccountId>().expect("hex"), id);
        assert!("zz".parse::<AccountId>().is_err());
    }
}
