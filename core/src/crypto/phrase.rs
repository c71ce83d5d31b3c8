//! 24-word BIP-39 seed phrases and the hardened derivation of account keys from them.
//!
//! `phrase → BIP-39 seed (64 B, PBKDF2, empty passphrase) → BLAKE3 derive_key(
//! "zeropole/fn-dsa-512/v1", seed ‖ account index) → ChaCha20 → FN-DSA-512 keygen`.
//! Every account index is derived from the secret seed (hardened only): knowing one
//! account's keys reveals nothing about another's.

use std::fmt;

use bip39::{Language, Mnemonic};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::{CryptoError, KeyPair};

/// Words in a ZeroPole phrase (256 bits of entropy + 8 checksum bits).
pub const PHRASE_WORDS: usize = 24;

/// The derivation version stored with every account, so a future scheme can coexist.
pub const DERIVATION_V1: &str = "zeropole/fn-dsa-512/v1";

/// A validated 24-word English BIP-39 phrase. Zeroized on drop; `Debug` never shows it.
pub struct SeedPhrase {
    mnemonic: Mnemonic,
    text: Zeroizing<String>,
}

impl SeedPhrase {
    /// A new phrase from 256 bits of operating-system randomness.
    pub fn generate() -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(entropy.as_mut());
        // 32 bytes is always a valid BIP-39 entropy length.
        let mnemonic = Mnemonic::from_entropy_in(Language::English, entropy.as_ref())
            .unwrap_or_else(|_| unreachable!("32 bytes of entropy is valid for BIP-39"));
        Self::from_mnemonic(mnemonic)
    }

    /// Parses a phrase typed by a user: case and extra whitespace are forgiven, the word
    /// count, the words and the checksum are not.
    pub fn parse(input: &str) -> Result<Self, CryptoError> {
        let normalized = Zeroizing::new(
            input
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" "),
        );
        let found = normalized.split(' ').filter(|w| !w.is_empty()).count();
        if found != PHRASE_WORDS {
            return Err(CryptoError::WrongWordCount {
                expected: PHRASE_WORDS,
                found,
            });
        }
        let mnemonic =
            Mnemonic::parse_in(Language::English, normalized.as_str()).map_err(|e| match e {
                bip39::Error::UnknownWord(index) => CryptoError::UnknownWord {
                    position: index + 1,
                },
                bip39::Error::InvalidChecksum => CryptoError::ChecksumMismatch,
                bip39::Error::BadWordCount(found) => CryptoError::WrongWordCount {
                    expected: PHRASE_WORDS,
                    found,
                },
                other => CryptoError::InvalidPhrase(other.to_string()),
            })?;
        Ok(Self::from_mnemonic(mnemonic))
    }

    fn from_mnemonic(mnemonic: Mnemonic) -> Self {
        let text = Zeroizing::new(mnemonic.words().collect::<Vec<_>>().join(" "));
        SeedPhrase { mnemonic, text }
    }

    /// The 24 words separated by single spaces. This is the secret: show it only on an
    /// explicit export.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The account key pair at `account_index` (derivation [`DERIVATION_V1`]).
    pub fn derive_key_pair(&self, account_index: u32) -> Result<KeyPair, CryptoError> {
        let seed = Zeroizing::new(self.mnemonic.to_seed(""));
        let account_seed = derive_account_seed(&seed, account_index);
        KeyPair::from_seed(&account_seed)
    }
}

/// The 32-byte keygen seed of `account_index` from a 64-byte BIP-39 seed.
pub fn derive_account_seed(bip39_seed: &[u8; 64], account_index: u32) -> Zeroizing<[u8; 32]> {
    let mut material = Zeroizing::new([0u8; 68]);
    material[..64].copy_from_slice(bip39_seed);
    material[64..].copy_from_slice(&account_index.to_be_bytes());
    Zeroizing::new(blake3::derive_key(DERIVATION_V1, material.as_ref()))
}

impl fmt::Debug for SeedPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeedPhrase(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The BIP-39 test vector for 32 zero bytes of entropy.
    const ZERO_ENTROPY: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
        abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
        abandon abandon abandon abandon art";

    #[test]
    fn generated_phrases_have_24_words_and_parse_back() {
        let phrase = SeedPhrase::generate();
        assert_eq!(phrase.as_str().split(' ').count(), PHRASE_WORDS);
        let again = SeedPhrase::parse(phrase.as_str()).expect("own phrase parses");
        assert_eq!(again.as_str(), phrase.as_str());
        assert_ne!(SeedPhrase::generate().as_str(), phrase.as_str());
    }

    #[test]
    fn case_and_whitespace_are_forgiven() {
        let messy = format!("  {}\n", ZERO_ENTROPY.to_uppercase().replace(' ', "   "));
        assert_eq!(
            SeedPhrase::parse(&messy).expect("parses").as_str(),
            SeedPhrase::parse(ZERO_ENTROPY).expect("parses").as_str()
        );
    }

    #[test]
    fn bad_phrases_get_precise_errors() {
        let twelve = "abandon ".repeat(11) + "about";
        assert_eq!(
            SeedPhrase::parse(&twelve).unwrap_err(),
            CryptoError::WrongWordCount {
                expected: 24,
                found: 12
            }
        );
        let unknown = ZERO_ENTROPY.replacen("abandon abandon", "abandon zeropole", 1);
        assert_eq!(
            SeedPhrase::parse(&unknown).unwrap_err(),
            CryptoError::UnknownWord { position: 2 }
        );
        let all_abandon = "abandon ".repeat(24);
        assert_eq!(
            SeedPhrase::parse(&all_abandon).unwrap_err(),
            CryptoError::ChecksumMismatch
        );
        assert_eq!(
            SeedPhrase::parse("").unwrap_err(),
            CryptoError::WrongWordCount {
                expected: 24,
                found: 0
            }
        );
    }

    #[test]
    fn derivation_is_deterministic_per_index_and_pinned() {
        let phrase = SeedPhrase::parse(ZERO_ENTROPY).expect("test vector");
        let a0 = phrase.derive_key_pair(0).expect("derive");
        let a0_again = SeedPhrase::parse(ZERO_ENTROPY)
            .expect("vector")
            .derive_key_pair(0)
            .expect("derive");
        let a1 = phrase.derive_key_pair(1).expect("derive");
        assert_eq!(a0.public_key(), a0_again.public_key());
        assert_ne!(a0.public_key(), a1.public_key());
        // Pins the whole derivation (BIP-39 seed, BLAKE3 KDF, ChaCha20, fn-dsa 0.4 keygen):
        // if this changes, restored wallets would open different accounts.
        assert_eq!(a0.public_key().account_id().to_hex(), PINNED_ACCOUNT_0);
    }

    const PINNED_ACCOUNT_0: &str =
        "d618cf8a10ee30e76ba115f6c97276b92a81ca3769df3ee0390a23e0fac7152b";

    #[test]
    fn debug_never_shows_words() {
        let phrase = SeedPhrase::parse(ZERO_ENTROPY).expect("vector");
        assert_eq!(format!("{phrase:?}"), "SeedPhrase(<redacted>)");
    }
}
