//! Blocks: `{account, height, previous, epoch, op, balance, timestamp_ms, dmapp}` signed by
//! the account's owner.
//!
//! Wire format (version 1), all integers big-endian:
//! ```text
//! body  = version:u8 account:[32] height:u64 previous:[32] epoch:u64 op
//!         balance:u64 timestamp_ms:u64 dmapp:[32]
//! op    = 0x00 public_key:bytes(≤ 1024)                              Open
//!       | 0x01 to:[32] amount:u64 memo:bytes(≤ 128) prev_to:option   Send
//!       | 0x02 from:[32] send_height:u64 send_hash:[32] amount:u64     Receive
//! option = 0x00 | 0x01 u64
//! block = body signature:bytes(≤ 1024)
//! ```
//! A block's hash is `BLAKE3-derive_key("zeropole/block/v1", body)`: it covers the unsigned
//! body only, because Falcon signatures are randomized.
//!
//! `Receive` names the certified send it claims (sender, height, hash, amount) rather than
//! embedding the certificate, which at a security-sized committee is ≈ 35 KiB: the block a
//! phone signs and sends stays under the 4 KB budget of DESIGN.md §11, and the certificate
//! travels beside it to the witnesses, who check it against this reference.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::CryptoError;
use crate::crypto::{hash_tagged, AccountId, Domain, Hash, KeyPair, PublicKey, Signature};

/// The block format version this build writes and reads.
pub const BLOCK_VERSION: u8 = 1;
/// Longest memo, in bytes.
pub const MAX_MEMO_LEN: usize = 128;
/// Longest encoded public key or signature accepted by the decoder.
const MAX_KEY_OR_SIGNATURE_LEN: usize = 1024;
/// Longest encoded block (a bound for network framing and storage).
pub const MAX_BLOCK_LEN: usize = 1
    + 32
    + 8
    + 32
    + 8
    + (1 + 4 + MAX_KEY_OR_SIGNATURE_LEN)
    + 8
    + 8
    + 32
    + 4
    + MAX_KEY_OR_SIGNATURE_LEN;

/// A reviewed dmapp's id (DESIGN.md §5). All zeros is the built-in wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DmappId(pub [u8; 32]);

impl DmappId {
    /// The built-in wallet dmapp, which can always move funds.
    pub const WALLET: DmappId = DmappId([0u8; 32]);
}

/// What a block does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Height 0: opens the account and carries its public key, once.
    Open {
        /// The owner's key; the account id must be its hash.
        public_key: PublicKey,
    },
    /// Sends `amount` to `to`.
    Send {
        /// Recipient.
        to: AccountId,
        /// Amount in base units.
        amount: u64,
        /// Free text for the recipient, at most [`MAX_MEMO_LEN`] bytes.
        memo: Vec<u8>,
        /// Height of this account's previous `Send` to the same recipient (receive cursor).
        prev_to: Option<u64>,
    },
    /// Claims a certified `Send` addressed to this account.
    Receive {
        /// The sending account.
        from: AccountId,
        /// Height of the send block in the sender's chain.
        send_height: u64,
        /// Hash of that send block.
        send_hash: Hash,
        /// The amount it sent.
        amount: u64,
    },
}

/// The unsigned part of a block: what is hashed and signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockBody {
    /// The account whose chain this block extends.
    pub account: AccountId,
    /// Position in the chain; 0 is `Open`.
    pub height: u64,
    /// Hash of the block at `height − 1` (all zeros at height 0).
    pub previous: Hash,
    /// The epoch the block is submitted in.
    pub epoch: u64,
    /// What the block does.
    pub op: Op,
    /// The account's balance after this block.
    pub balance: u64,
    /// Owner's clock; no safety role, must not go backwards.
    pub timestamp_ms: u64,
    /// The dmapp that produced the block.
    pub dmapp: DmappId,
}

impl BlockBody {
    /// The canonical encoding of the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut Writer) {
        w.u8(BLOCK_VERSION)
            .fixed(&self.account.0)
            .u64(self.height)
            .fixed(&self.previous.0)
            .u64(self.epoch);
        match &self.op {
            Op::Open { public_key } => {
                w.u8(0).bytes(&public_key.to_bytes());
            }
            Op::Send {
                to,
                amount,
                memo,
                prev_to,
            } => {
                w.u8(1).fixed(&to.0).u64(*amount).bytes(memo);
                match prev_to {
                    None => w.u8(0),
                    Some(h) => w.u8(1).u64(*h),
                };
            }
            Op::Receive {
                from,
                send_height,
                send_hash,
                amount,
            } => {
                w.u8(2)
                    .fixed(&from.0)
                    .u64(*send_height)
                    .fixed(&send_hash.0)
                    .u64(*amount);
            }
        }
        w.u64(self.balance)
            .u64(self.timestamp_ms)
            .fixed(&self.dmapp.0);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("block version")?;
        if version != BLOCK_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "block",
                version,
            });
        }
        let account = AccountId(r.array("account")?);
        let height = r.u64("height")?;
        let previous = Hash(r.array("previous")?);
        let epoch = r.u64("epoch")?;
        let op = match r.u8("op")? {
            0 => {
                let bytes = r.bytes("public key", MAX_KEY_OR_SIGNATURE_LEN)?;
                let public_key =
                    PublicKey::from_bytes(bytes).map_err(|e| invalid("public key", e))?;
                Op::Open { public_key }
            }
            1 => {
                let to = AccountId(r.array("to")?);
                let amount = r.u64("amount")?;
                let memo = r.bytes("memo", MAX_MEMO_LEN)?.to_vec();
                let prev_to = match r.u8("prev_to")? {
                    0 => None,
                    1 => Some(r.u64("prev_to")?),
                    tag => {
                        return Err(DecodeError::UnknownTag {
                            what: "option",
                            tag,
                        })
                    }
                };
                Op::Send {
                    to,
                    amount,
                    memo,
                    prev_to,
                }
            }
            2 => Op::Receive {
                from: AccountId(r.array("from")?),
                send_height: r.u64("send height")?,
                send_hash: Hash(r.array("send hash")?),
                amount: r.u64("amount")?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "op", tag }),
        };
        Ok(BlockBody {
            account,
            height,
            previous,
            epoch,
            op,
            balance: r.u64("balance")?,
            timestamp_ms: r.u64("timestamp")?,
            dmapp: DmappId(r.array("dmapp")?),
        })
    }

    /// The block hash: domain-tagged BLAKE3 of the encoded body.
    pub fn hash(&self) -> Hash {
        hash_tagged(Domain::Block, &self.encode())
    }

    /// Signs the body with the owner's key.
    pub fn sign(self, keys: &mut KeyPair) -> Result<Block, CryptoError> {
        let signature = keys.sign(Domain::Block, &self.encode())?;
        Ok(Block {
            body: self,
            signature,
        })
    }
}

impl BlockBody {
    /// Decodes exactly one body (what a wallet's sign-once record keeps as the payload).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_BLOCK_LEN {
            return Err(DecodeError::TooLong {
                field: "block body",
                len: bytes.len(),
                max: MAX_BLOCK_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        let body = BlockBody::read(&mut r)?;
        r.finish()?;
        Ok(body)
    }
}

/// A signed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// What was signed.
    pub body: BlockBody,
    /// The owner's signature over the encoded body.
    pub signature: Signature,
}

impl Block {
    /// The canonical encoding (body, then signature).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.body.write(&mut w);
        w.bytes(&self.signature.to_bytes());
        w.finish()
    }

    /// Decodes exactly one block; any other input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_BLOCK_LEN {
            return Err(DecodeError::TooLong {
                field: "block",
                len: bytes.len(),
                max: MAX_BLOCK_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        let body = BlockBody::read(&mut r)?;
        let signature = Signature::from_bytes(r.bytes("signature", MAX_KEY_OR_SIGNATURE_LEN)?)
            .map_err(|e| invalid("signature", e))?;
        r.finish()?;
        Ok(Block { body, signature })
    }

    /// The block hash (of the body; the signature is not covered).
    pub fn hash(&self) -> Hash {
        self.body.hash()
    }

    /// Whether `signer` signed this block's body.
    pub fn verify_signature(&self, signer: &PublicKey) -> bool {
        signer.verify(Domain::Block, &self.body.encode(), &self.signature)
    }
}

fn invalid(field: &'static str, e: CryptoError) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
