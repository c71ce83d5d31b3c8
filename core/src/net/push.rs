//! Wake-up pushes (DESIGN.md §7): a phone in Saver holds no connection, so its home
//! station wakes it with a content-free "sync" push (FCM on Android, APNs on iOS) when a
//! payment to it arrives; the app then runs `sync_once()`.
//!
//! - The phone registers its push token with a [`PushRegistration`] signed by its account
//!   key (only the owner of an account can ask to be told about its payments, which would
//!   otherwise leak when it is paid), sent to its home stations when it registers and
//!   again each time it goes to Saver.
//! - A station keeps the newest registration per account in memory (a restarted station
//!   learns it again the next time the phone goes to the background) and, when it learns
//!   a certificate of a payment to a registered account, hands the token to its
//!   [`PushSender`]. The sender is pluggable and off by default: a station operator
//!   configures a command that talks to FCM/APNs with their own credentials
//!   ([`CommandPushSender`]). The push carries nothing but "sync".

use std::fmt;
use std::sync::Arc;

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{AccountId, CryptoError, Domain, KeyPair, PublicKey, Signature};

const REGISTRATION_VERSION: u8 = 1;
/// Longest push token accepted (FCM tokens are ~160 characters, APNs tokens 64 hex).
pub const MAX_TOKEN_LEN: usize = 512;
/// Largest encoded registration.
pub const MAX_REGISTRATION_LEN: usize = 8 * 1024;
const MAX_KEY_LEN: usize = 2048;
const MAX_SIGNATURE_LEN: usize = 1024;

/// Which push service a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service (iOS).
    Apns,
}

impl PushPlatform {
    /// Its name as a push command receives it (`fcm`, `apns`).
    pub fn name(self) -> &'static str {
        match self {
            PushPlatform::Fcm => "fcm",
            PushPlatform::Apns => "apns",
        }
    }

    fn tag(self) -> u8 {
        match self {
            PushPlatform::Fcm => 1,
            PushPlatform::Apns => 2,
        }
    }
}

/// Why a registration is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PushError {
    /// The token is empty, too long or not printable ASCII.
    #[error("invalid push token: {0}")]
    InvalidToken(String),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// An account's request to be woken by a push when it is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRegistration {
    /// The account's public key (the account id is its hash).
    pub public_key: PublicKey,
    /// The push service.
    pub platform: PushPlatform,
    /// The device's token for that service; empty: unregister.
    pub token: String,
    /// When it was made (a newer registration replaces an older one).
    pub timestamp_ms: u64,
    /// The account key's signature over the fields above.
    pub signature: Signature,
}

fn check_token(token: &str) -> Result<(), PushError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(PushError::InvalidToken(format!(
            "{} bytes (at most {MAX_TOKEN_LEN})",
            token.len()
        )));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PushError::InvalidToken(
            "only printable ASCII without spaces".into(),
        ));
    }
    if token.starts_with('-') {
        // It is handed to the operator's push program as an argument.
        return Err(PushError::InvalidToken("must not start with '-'".into()));
    }
    Ok(())
}

fn body(key: &PublicKey, platform: PushPlatform, token: &str, timestamp_ms: u64) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(REGISTRATION_VERSION)
        .bytes(&key.to_bytes())
        .u8(platform.tag())
        .bytes(token.as_bytes())
        .u64(timestamp_ms);
    w.finish()
}

impl PushRegistration {
    /// Signs a registration of `token` (empty: unregister) with the account key.
    pub fn sign(
        keys: &mut KeyPair,
        platform: PushPlatform,
        token: &str,
        timestamp_ms: u64,
    ) -> Result<Self, PushError> {
        check_token(token)?;
        let public_key = keys.public_key().clone();
        let signature = keys.sign(
            Domain::PushToken,
            &body(&public_key, platform, token, timestamp_ms),
        )?;
        Ok(PushRegistration {
            public_key,
            platform,
            token: token.to_string(),
            timestamp_ms,
            signature,
        })
    }

    /// The account it is for.
    pub fn account(&self) -> AccountId {
        self.public_key.account_id()
    }

    /// Whether the account key signed it (and the token is well formed).
    pub fn verify(&self) -> bool {
        check_token(&self.token).is_ok()
            && self.public_key.verify(
                Domain::PushToken,
                &body(
                    &self.public_key,
                    self.platform,
                    &self.token,
                    self.timestamp_ms,
                ),
                &self.signature,
            )
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(REGISTRATION_VERSION)
            .bytes(&self.public_key.to_bytes())
            .u8(self.platform.tag())
            .bytes(self.token.as_bytes())
            .u64(self.timestamp_ms)
            .bytes(&self.signature.to_bytes());
        w.finish()
    }

    /// Decodes a registration (the signature is not checked: see [`verify`](Self::verify)).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        match r.u8("version")? {
            REGISTRATION_VERSION => {}
            version => {
                return Err(DecodeError::UnsupportedVersion {
                    what: "push registration",
                    version,
                })
            }
        }
        let public_key =
            PublicKey::from_bytes(r.bytes("public key", MAX_KEY_LEN)?).map_err(|e| {
                DecodeError::Invalid {
                    field: "public key",
                    reason: e.to_string(),
                }
            })?;
        let platform = match r.u8("platform")? {
            1 => PushPlatform::Fcm,
            2 => PushPlatform::Apns,
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "platform",
                    tag,
                })
            }
        };
        let token = String::from_utf8(r.bytes("token", MAX_TOKEN_LEN)?.to_vec()).map_err(|_| {
            DecodeError::Invalid {
                field: "token",
                reason: "not UTF-8".into(),
            }
        })?;
        let timestamp_ms = r.u64("timestamp")?;
        let signature =
            Signature::from_bytes(r.bytes("signature", MAX_SIGNATURE_LEN)?).map_err(|e| {
                DecodeError::Invalid {
                    field: "signature",
                    reason: e.to_string(),
                }
            })?;
        r.finish()?;
        Ok(PushRegistration {
            public_key,
            platform,
            token,
            timestamp_ms,
            signature,
        })
    }
}

/// Sends a content-free "sync" push to a device. Called from the station's network task:
/// an implementation must not block (hand the work to a thread or a process).
pub trait PushSender: Send + Sync {
    /// Wakes the device of `token` on `platform`.
    fn send_sync(&self, platform: PushPlatform, token: &str);
}

/// A shareable push sender, as station configurations hold it.
#[derive(Clone)]
pub struct Pusher(pub Arc<dyn PushSender>);

impl fmt::Debug for Pusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pusher(..)")
    }
}

/// Runs an operator's program for every push: `<program> <fcm|apns> <token>`, detached,
/// its output discarded (the program talks to FCM or APNs with the operator's
/// credentials). Nothing else leaves the station.
#[derive(Debug, Clone)]
pub struct CommandPushSender {
    program: std::path::PathBuf,
}

impl CommandPushSender {
    /// A sender running `program`.
    pub fn new(program: impl Into<std::path::PathBuf>) -> Self {
        CommandPushSender {
            program: program.into(),
        }
    }
}

impl PushSender for CommandPushSender {
    fn send_sync(&self, platform: PushPlatform, token: &str) {
        let spawned = std::process::Command::new(&self.program)
            .arg(platform.name())
            .arg(token)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            // Reaped by a thread, so no zombie is left behind.
            Ok(mut child) => {
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
            }
            Err(e) => log::warn!("push command {}: {e}", self.program.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(seed: u8) -> KeyPair {
        KeyPair::from_seed(&[seed; 32]).expect("keys")
    }

    #[test]
    fn a_registration_verifies_and_round_trips() {
        let mut k = keys(1);
        let reg =
            PushRegistration::sign(&mut k, PushPlatform::Fcm, "fcm:token-1", 7).expect("sign");
        assert!(reg.verify());
        assert_eq!(reg.account(), k.public_key().account_id());
        let back = PushRegistration::decode(&reg.encode()).expect("decode");
        assert_eq!(back, reg);
        assert!(back.verify());
    }

    #[test]
    fn a_changed_field_or_another_key_fails() {
        let mut k = keys(2);
        let reg = PushRegistration::sign(&mut k, PushPlatform::Apns, "abc123", 9).expect("sign");
        let mut other = reg.clone();
        other.token = "attacker".into();
        assert!(!other.verify());
        let mut other = reg.clone();
        other.public_key = keys(3).public_key().clone();
        assert!(!other.verify());
        let mut other = reg;
        other.timestamp_ms += 1;
        assert!(!other.verify());
    }

    #[test]
    fn bad_tokens_are_refused() {
        let mut k = keys(4);
        assert!(matches!(
            PushRegistration::sign(&mut k, PushPlatform::Fcm, "has space", 1),
            Err(PushError::InvalidToken(_))
        ));
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        assert!(PushRegistration::sign(&mut k, PushPlatform::Fcm, &long, 1).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = PushRegistration::decode(&bytes);
        }
    }
}
