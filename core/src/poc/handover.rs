//! Handover objects (DESIGN.md §4 "Epochs and handover"): `Handover(m, a, e)` is member
//! `m`'s signed report, after it closed epoch `e`, of what it holds for account `a`: its
//! certified record (state and highest certificate), its lock at the next height (the
//! owner-signed block), its pending entries for `a` and, if `a` is frozen, the proof.
//!
//! The signature (domain `zeropole/handover/v1`) covers the canonical encoding of
//! everything but itself. Format (version [`HANDOVER_VERSION`], integers big-endian):
//! ```text
//! handover = version:u8 epoch:u64 account:[32] witness:[32]
//!            record:opt(state:bytes(≤ 4 MiB) head:opt(bytes(≤ 2 MiB)))
//!            lock:opt(bytes(≤ MAX_BLOCK_LEN))
//!            frozen:opt(bytes(≤ MAX_BLOCK_LEN) bytes(≤ MAX_BLOCK_LEN))
//!            pending:u32 (from:[32] height:u64 amount:u64 send_hash:[32]){≤ 1024}
//!            signature:bytes(≤ 1024)            (absent from the signed bytes)
//! opt(x)   = 0x00 | 0x01 x
//! ```
//! Decoding never panics and refuses trailing bytes, unknown tags and over-long fields.

use thiserror::Error;

use super::{Certificate, CertifiedAccount, Epoch, EquivocationProof, PendingEntry, WitnessId};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{AccountId, CryptoError, Domain, Hash, KeyPair, PublicKey, Signature};
use crate::ledger::{state_from_open, AccountState, Block, MAX_BLOCK_LEN};

/// Format version of handover objects.
pub const HANDOVER_VERSION: u8 = 1;
/// Most pending entries a handover may carry (a format limit).
pub const MAX_HANDOVER_PENDING: usize = 1024;
const MAX_STATE_LEN: usize = 4 << 20;
const MAX_CERTIFICATE_LEN: usize = 2 << 20;
const MAX_SIGNATURE_LEN: usize = 1024;

/// One member's signed handover report about one account (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The closed epoch `e` this report is about.
    pub epoch: u64,
    /// The account.
    pub account: AccountId,
    /// The reporting member of the account's epoch-`e` committee.
    pub witness: WitnessId,
    /// Its certified record of the account (`None`: the account is not opened).
    pub record: Option<CertifiedAccount>,
    /// Its lock at the height after `record`'s head (0 when `record` is `None`).
    pub lock: Option<Block>,
    /// The proof that froze the account, if it is frozen.
    pub frozen: Option<EquivocationProof>,
    /// Its pending entries for the account as a recipient.
    pub pending: Vec<PendingEntry>,
    /// The member's signature over [`Handover::signed_bytes`].
    pub signature: Signature,
}

/// Why a handover is refused (by the member asked for it, or by the one receiving it).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HandoverError {
    /// The epoch asked about is not closed here (no `R_{e+1}` seen yet).
    #[error("epoch {0} is not closed here")]
    NotClosed(u64),
    /// The epoch's records are not kept (older than `K` epochs, or never known).
    #[error("epoch {0} is not retained here")]
    NotRetained(u64),
    /// The reporting member is not in the account's committee of that epoch.
    #[error("witness is not in the account's committee of epoch {0}")]
    NotInCommittee(u64),
    /// The member never took the account over in that epoch, so it knows nothing to
    /// report: it needs the handovers of the epoch before.
    #[error("the account was never taken over in epoch {0}")]
    NotTakenOver(u64),
    /// The receiving member does not serve the account in the epoch after.
    #[error("not a member of the account's committee in epoch {0}")]
    NotNextMember(u64),
    /// The signature does not verify under the member's key of `W_e`.
    #[error("the handover signature does not verify")]
    BadSignature,
    /// The content is inconsistent (wrong account, a certificate that does not certify the
    /// state's head or does not verify, a lock that is not the owner's block at the next
    /// height, a bogus proof, too many pending entries).
    #[error("inconsistent handover: {0}")]
    Inconsistent(String),
    /// A storage failure.
    #[error("storage: {0}")]
    Storage(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Crypto(String),
}

impl From<CryptoError> for HandoverError {
    fn from(e: CryptoError) -> Self {
        HandoverError::Crypto(e.to_string())
    }
}

impl Handover {
    /// Signs a report as `witness` with `keys`.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        epoch: u64,
        account: AccountId,
        witness: WitnessId,
        record: Option<CertifiedAccount>,
        lock: Option<Block>,
        frozen: Option<EquivocationProof>,
        pending: Vec<PendingEntry>,
        keys: &mut KeyPair,
    ) -> Result<Self, HandoverError> {
        let body = Body {
            epoch,
            account: &account,
            witness: &witness,
            record: record.as_ref(),
            lock: lock.as_ref(),
            frozen: frozen.as_ref(),
            pending: &pending,
        };
        let signature = keys.sign(Domain::Handover, &body.bytes())?;
        Ok(Handover {
            epoch,
            account,
            witness,
            record,
            lock,
            frozen,
            pending,
            signature,
        })
    }

    /// The height the lock is reported at: the record's head + 1, or 0 (the `Open`) when
    /// the account has no record.
    pub fn next_height(&self) -> u64 {
        self.record
            .as_ref()
            .map_or(0, |r| r.state.head_height.saturating_add(1))
    }

    /// The record's head height (`None` when the account has no record).
    pub fn head_height(&self) -> Option<u64> {
        self.record.as_ref().map(|r| r.state.head_height)
    }

    /// The account owner's key, if this report reveals it (from the state, or from a
    /// reported `Open` lock).
    pub fn owner_key(&self) -> Option<PublicKey> {
        self.record
            .as_ref()
            .map(|r| r.state.public_key.clone())
            .or_else(|| {
                self.lock
                    .as_ref()
                    .and_then(state_from_open)
                    .map(|s| s.public_key)
            })
            .filter(|k| k.account_id() == self.account)
    }

    /// Checks everything that can be checked against epoch `e` alone: the reporter is in
    /// the account's epoch-`e` committee, its signature, and the content's consistency (a
    /// record of this account whose head certificate, if any, certifies the state's head;
    /// a lock that is the owner's signed block at [`next_height`](Self::next_height); a
    /// proof that verifies). The head certificate's own signatures are the caller's job
    /// (it may be from an older epoch).
    pub fn verify(&self, epoch: &Epoch) -> Result<(), HandoverError> {
        if epoch.number() != self.epoch {
            return Err(HandoverError::Inconsistent(format!(
                "a handover of epoch {} checked against epoch {}",
                self.epoch,
                epoch.number()
            )));
        }
        if !epoch.committee(&self.account).contains(&self.witness) {
            return Err(HandoverError::NotInCommittee(self.epoch));
        }
        let member = epoch
            .witness(&self.witness)
            .ok_or(HandoverError::NotInCommittee(self.epoch))?;
        if !member
            .public_key
            .verify(Domain::Handover, &self.signed_bytes(), &self.signature)
        {
            return Err(HandoverError::BadSignature);
        }
        let bad = |what: &str| Err(HandoverError::Inconsistent(what.to_string()));
        if self.pending.len() > MAX_HANDOVER_PENDING {
            return bad("too many pending entries");
        }
        if let Some(record) = &self.record {
            let state = &record.state;
            if state.public_key.account_id() != self.account {
                return bad("the state holds another account's key");
            }
            if let Some(cert) = &record.head {
                if cert.block.body.account != self.account
                    || cert.block.body.height != state.head_height
                    || cert.block_hash() != state.head_hash
                    || cert.block.body.balance != state.balance
                {
                    return bad("the head certificate does not certify the state's head");
                }
            }
        }
        let key = self.owner_key();
        if let Some(lock) = &self.lock {
            let genuine = lock.body.account == self.account
                && lock.body.height == self.next_height()
                && key.as_ref().is_some_and(|k| lock.verify_signature(k));
            if !genuine {
                return bad("the lock is not the owner's block at the next height");
            }
        }
        if let Some(proof) = &self.frozen {
            if !key.as_ref().is_some_and(|k| proof.verify(k)) {
                return bad("the equivocation proof does not verify");
            }
        }
        Ok(())
    }

    /// A digest of the reported record — the state and the hash of the head block, not the
    /// head certificate's bytes (two honest members may hold different certificates of one
    /// block) — to count identical reports.
    pub fn record_digest(&self) -> Hash {
        let mut w = Writer::new();
        match &self.record {
            None => {
                w.u8(0);
            }
            Some(r) => {
                w.u8(1).bytes(&r.state.encode());
                match &r.head {
                    None => w.u8(0),
                    Some(c) => w.u8(1).fixed(&c.block_hash().0),
                };
            }
        }
        Hash(*blake3::hash(&w.finish()).as_bytes())
    }

    /// The bytes the member signs: the encoding without the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.body().bytes()
    }

    fn body(&self) -> Body<'_> {
        Body {
            epoch: self.epoch,
            account: &self.account,
            witness: &self.witness,
            record: self.record.as_ref(),
            lock: self.lock.as_ref(),
            frozen: self.frozen.as_ref(),
            pending: &self.pending,
        }
    }

    /// Canonical encoding (what is sent and stored).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.body().write(&mut w);
        w.bytes(&self.signature.to_bytes());
        w.finish()
    }

    /// Decodes one handover (structure only; call [`verify`](Self::verify)).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("handover version")?;
        if version != HANDOVER_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "handover",
                version,
            });
        }
        let epoch = r.u64("epoch")?;
        let account = AccountId(r.array("account")?);
        let witness = WitnessId(r.array("witness")?);
        let record = if flag(&mut r, "record")? {
            let state = AccountState::decode(r.bytes("state", MAX_STATE_LEN)?)?;
            let head = if flag(&mut r, "head certificate")? {
                Some(Certificate::decode(
                    r.bytes("head certificate", MAX_CERTIFICATE_LEN)?,
                )?)
            } else {
                None
            };
            Some(CertifiedAccount { state, head })
        } else {
            None
        };
        let lock = if flag(&mut r, "lock")? {
            Some(Block::decode(r.bytes("lock", MAX_BLOCK_LEN)?)?)
        } else {
            None
        };
        let frozen = if flag(&mut r, "frozen")? {
            let first = Block::decode(r.bytes("first block", MAX_BLOCK_LEN)?)?;
            let second = Block::decode(r.bytes("second block", MAX_BLOCK_LEN)?)?;
            Some(EquivocationProof { first, second })
        } else {
            None
        };
        let count = r.u32("pending count")? as usize;
        if count > MAX_HANDOVER_PENDING {
            return Err(DecodeError::TooLong {
                field: "pending entries",
                len: count,
                max: MAX_HANDOVER_PENDING,
            });
        }
        let mut pending = Vec::with_capacity(count.min(bytes.len() / 80));
        for _ in 0..count {
            pending.push(PendingEntry {
                from: AccountId(r.array("pending from")?),
                height: r.u64("pending height")?,
                amount: r.u64("pending amount")?,
                send_hash: Hash(r.array("pending send hash")?),
            });
        }
        let signature =
            Signature::from_bytes(r.bytes("signature", MAX_SIGNATURE_LEN)?).map_err(|e| {
                DecodeError::Invalid {
                    field: "signature",
                    reason: e.to_string(),
                }
            })?;
        r.finish()?;
        Ok(Handover {
            epoch,
            account,
            witness,
            record,
            lock,
            frozen,
            pending,
            signature,
        })
    }
}

/// The signed part of a handover, borrowed.
struct Body<'a> {
    epoch: u64,
    account: &'a AccountId,
    witness: &'a WitnessId,
    record: Option<&'a CertifiedAccount>,
    lock: Option<&'a Block>,
    frozen: Option<&'a EquivocationProof>,
    pending: &'a [PendingEntry],
}

impl Body<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut Writer) {
        w.u8(HANDOVER_VERSION)
            .u64(self.epoch)
            .fixed(&self.account.0)
            .fixed(&self.witness.0);
        write_record(w, self.record);
        match self.lock {
            None => w.u8(0),
            Some(b) => w.u8(1).bytes(&b.encode()),
        };
        match self.frozen {
            None => w.u8(0),
            Some(p) => w.u8(1).bytes(&p.first.encode()).bytes(&p.second.encode()),
        };
        w.u32(u32::try_from(self.pending.len()).unwrap_or(u32::MAX));
        for e in self.pending {
            w.fixed(&e.from.0)
                .u64(e.height)
                .u64(e.amount)
                .fixed(&e.send_hash.0);
        }
    }
}

fn write_record(w: &mut Writer, record: Option<&CertifiedAccount>) {
    match record {
        None => {
            w.u8(0);
        }
        Some(r) => {
            w.u8(1).bytes(&r.state.encode());
            match &r.head {
                None => w.u8(0),
                Some(c) => w.u8(1).bytes(&c.encode()),
            };
        }
    }
}

fn flag(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        tag => Err(DecodeError::UnknownTag { what, tag }),
    }
}
