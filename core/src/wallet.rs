//! The wallet: an account key derived from a seed phrase, and signing behind the
//! sign-once guard (DESIGN.md §3).
//!
//! The phrase is never written to disk. The database holds the account's public data and
//! the sign-once records; the app keeps the phrase (Android Keystore, iOS Keychain) and
//! reopens the wallet with [`Wallet::restore`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;

use crate::crypto::{
    hash_tagged, AccountId, CryptoError, Domain, Hash, KeyPair, PublicKey, SeedPhrase, Signature,
    DERIVATION_V1,
};
use crate::store::{AccountRecord, SignOnceRecord, SlotClaim, Store, StoreError};

/// The account index the wallet uses (one account per phrase for now).
pub const PRIMARY_ACCOUNT: u32 = 0;

/// Errors of the wallet.
#[derive(Debug, Error)]
pub enum WalletError {
    /// The phrase could not be used (word count, unknown word, checksum, ...).
    #[error(transparent)]
    Phrase(CryptoError),
    /// `create` was asked to write over an existing wallet database.
    #[error(
        "a wallet already exists at {0}: restore it with its phrase instead of creating a new one"
    )]
    AlreadyExists(PathBuf),
    /// The database belongs to another phrase.
    #[error("the database at {path} belongs to account {stored}, but this phrase opens account {derived}")]
    AccountMismatch {
        /// The database.
        path: PathBuf,
        /// The account found in the database.
        stored: AccountId,
        /// The account the phrase derives.
        derived: AccountId,
    },
    /// The sign-once guard refused: another payload was already signed at this height.
    #[error("height {height} is already signed for a different payload (hash {signed}); signing another would equivocate")]
    AlreadySigned {
        /// The slot.
        height: u64,
        /// Hash of the payload signed there.
        signed: Hash,
    },
    /// A key or signature could not be used.
    #[error(transparent)]
    Crypto(CryptoError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl From<CryptoError> for WalletError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongWordCount { .. }
            | CryptoError::UnknownWord { .. }
            | CryptoError::ChecksumMismatch
            | CryptoError::InvalidPhrase(_) => WalletError::Phrase(e),
            other => WalletError::Crypto(other),
        }
    }
}

/// A wallet: one account, its key and its sign-once store. `Send + Sync`; calls are
/// serialized internally (signing holds the lock across the durable write).
pub struct Wallet {
    phrase: SeedPhrase,
    public_key: PublicKey,
    account_id: AccountId,
    inner: Mutex<Inner>,
}

struct Inner {
    store: Store,
    keys: KeyPair,
}

impl Wallet {
    /// Creates a new wallet with a fresh 24-word phrase and a new database at `path`.
    /// Refuses to touch a database that already holds a wallet.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, WalletError> {
        let path = path.as_ref();
        let store = Store::open(path)?;
        if store.account(PRIMARY_ACCOUNT)?.is_some() {
            return Err(WalletError::AlreadyExists(path.to_path_buf()));
        }
        Self::with_store(store, SeedPhrase::generate(), path)
    }

    /// Opens the wallet of `phrase` at `path`: a new database is initialised (restore on a
    /// new phone), an existing one must belong to the same account.
    pub fn restore(path: impl AsRef<Path>, phrase: &str) -> Result<Self, WalletError> {
        let phrase = SeedPhrase::parse(phrase)?;
        let path = path.as_ref();
        Self::with_store(Store::open(path)?, phrase, path)
    }

    fn with_store(mut store: Store, phrase: SeedPhrase, path: &Path) -> Result<Self, WalletError> {
        let keys = phrase.derive_key_pair(PRIMARY_ACCOUNT)?;
        let public_key = keys.public_key().clone();
        let account_id = public_key.account_id();
        match store.account(PRIMARY_ACCOUNT)? {
            Some(stored) if stored.account_id != account_id => {
                return Err(WalletError::AccountMismatch {
                    path: path.to_path_buf(),
                    stored: stored.account_id,
                    derived: account_id,
                });
            }
            Some(_) => {}
            None => store.put_account(&AccountRecord {
                account_id,
                account_index: PRIMARY_ACCOUNT,
                derivation: DERIVATION_V1.to_string(),
                public_key: public_key.to_bytes(),
            })?,
        }
        log::info!("wallet: opened account {account_id}");
        Ok(Wallet {
            phrase,
            public_key,
            account_id,
            inner: Mutex::new(Inner { store, keys }),
        })
    }

    /// The account id.
    pub fn account_id(&self) -> AccountId {
        self.account_id
    }

    /// The account's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The seed phrase: the explicit, documented export of the wallet's secret.
    pub fn phrase(&self) -> &SeedPhrase {
        &self.phrase
    }

    /// Signs `payload` (a block body) at `height`, under the sign-once guard:
    /// - the first payload signed at a height is recorded durably *before* its signature is
    ///   returned;
    /// - the same payload again returns the recorded signature (a re-send after a crash);
    /// - a different payload at that height is refused with [`WalletError::AlreadySigned`].
    pub fn sign(&self, height: u64, payload: &[u8]) -> Result<Signature, WalletError> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let payload_hash = hash_tagged(Domain::SignOnce, payload);
        if let Some(existing) = inner.store.signature_at(&self.account_id, height)? {
            return Self::honour(existing, payload_hash, height);
        }
        let signature = inner.keys.sign(Domain::Block, payload)?;
        let record = SignOnceRecord {
            account_id: self.account_id,
            height,
            payload_hash,
            payload: payload.to_vec(),
            signature: signature.to_bytes(),
        };
        match inner.store.record_signature(&record)? {
            SlotClaim::Recorded => Ok(signature),
            SlotClaim::Taken(existing) => Self::honour(existing, payload_hash, height),
        }
    }

    fn honour(
        existing: SignOnceRecord,
        payload_hash: Hash,
        height: u64,
    ) -> Result<Signature, WalletError> {
        if existing.payload_hash == payload_hash {
            Ok(Signature::from_bytes(&existing.signature)?)
        } else {
            Err(WalletError::AlreadySigned {
                height,
                signed: existing.payload_hash,
            })
        }
    }

    /// What was signed at `height`, if anything (payload and signature, for re-sending).
    pub fn signed_at(&self, height: u64) -> Result<Option<SignOnceRecord>, WalletError> {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(inner.store.signature_at(&self.account_id, height)?)
    }

    /// Verifies a block signature of this wallet's account.
    pub fn verify(&self, payload: &[u8], signature: &Signature) -> bool {
        self.public_key.verify(Domain::Block, payload, signature)
    }
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wallet({})", self.account_id)
    }
}
