//! The `Wallet` object of the FFI.

use std::sync::Arc;

use zeropole_core::crypto::Signature;
use zeropole_core::wallet::Wallet as CoreWallet;

use crate::WalletError;

/// A ZeroPole wallet: one Falcon-512 account derived from a 24-word phrase, with a SQLite
/// database holding its public data and sign-once records. The phrase itself is never
/// stored: keep it in the platform's secure storage and reopen with `restore`.
///
/// Calls block on SQLite (`synchronous=FULL` writes in `sign`): call them off the UI thread.
#[derive(uniffi::Object)]
pub struct Wallet {
    inner: CoreWallet,
}

#[uniffi::export]
impl Wallet {
    /// Creates a wallet with a new random phrase and a new database at `db_path`.
    /// Fails with `AlreadyExists` rather than replace an existing wallet.
    #[uniffi::constructor]
    pub fn create(db_path: String) -> Result<Arc<Self>, WalletError> {
        Ok(Arc::new(Wallet {
            inner: CoreWallet::create(db_path)?,
        }))
    }

    /// Opens the wallet of `phrase` with its database at `db_path` (created if absent).
    #[uniffi::constructor]
    pub fn restore(db_path: String, phrase: String) -> Result<Arc<Self>, WalletError> {
        Ok(Arc::new(Wallet {
            inner: CoreWallet::restore(db_path, &phrase)?,
        }))
    }

    /// The account id: 64 lowercase hex characters.
    pub fn account_id(&self) -> String {
        self.inner.account_id().to_hex()
    }

    /// The encoded public key (algorithm byte ‖ key, 898 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_bytes()
    }

    /// Exports the 24-word phrase. This is the wallet's secret: show it to the user only
    /// when they ask to back it up.
    pub fn phrase(&self) -> String {
        self.inner.phrase().as_str().to_string()
    }

    /// Signs a block body at `height` behind the sign-once guard: the same payload again
    /// returns the recorded signature; a different one fails with `AlreadySigned`.
    pub fn sign(&self, height: u64, payload: Vec<u8>) -> Result<Vec<u8>, WalletError> {
        Ok(self.inner.sign(height, &payload)?.to_bytes())
    }

    /// Verifies a block signature made by this wallet's account.
    pub fn verify(&self, payload: Vec<u8>, signature: Vec<u8>) -> bool {
        match Signature::from_bytes(&signature) {
            Ok(signature) => self.inner.verify(&payload, &signature),
            Err(_) => false,
        }
    }
}
