//! The POC request-response protocol on the wire (`/zeropole/poc/1`).
//!
//! Every message is one canonical encoding (see [`crate::codec`]): a version byte, a
//! one-byte tag, then the fields; decoding arbitrary bytes never panics and never
//! allocates past a field's maximum. The messages carry only objects the sans-IO layer
//! defines (blocks, certificates, attestations, equivocation proofs, peer records): the
//! network adds transport, not protocol.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{AccountId, Hash, Signature};
use crate::ledger::{Block, MAX_BLOCK_LEN};
use crate::poc::{
    AttestRequest, Attestation, BatchAttestation, BatchProof, Certificate, EquivocationProof,
    Handover, MemberAnswer, Statement, WitnessId,
};

use super::PeerRecord;

/// Version byte of every message.
pub const WIRE_VERSION: u8 = 1;
/// Largest message accepted, in bytes (64 certificates of a 79-member committee fit).
pub const MAX_MESSAGE_LEN: usize = 4 * 1024 * 1024;
/// Largest certificate encoding accepted inside a message.
pub const MAX_CERTIFICATE_LEN: usize = 256 * 1024;
/// Most certificates of history a submission may carry.
pub const MAX_HISTORY: usize = 8;
/// Most certificates an inbox answer carries (the pending-receivable bound `P`).
pub const MAX_INBOX: usize = crate::poc::MAX_PENDING_PER_RECIPIENT;
/// Most peer records in one message.
pub const MAX_RECORDS: usize = 1024;
/// Longest free-text reason.
pub const MAX_REASON_LEN: usize = 1024;
const MAX_SIGNATURE_LEN: usize = 1024;
/// Largest batch proof accepted (a signature and a path of at most 12 hashes).
const MAX_BATCH_PROOF_LEN: usize = 4096;
/// Largest handover report accepted (its head certificate, a locked block and up to `P`
/// pending entries).
pub const MAX_HANDOVER_LEN: usize = 2 * MAX_CERTIFICATE_LEN;

/// A request from one node to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Phone → home station: certify this block (the station collects the attestations).
    /// `history` holds the account's latest certificates for lagging members.
    Submit {
        /// The owner-signed block (and a `Receive`'s send certificate).
        request: AttestRequest,
        /// Certificates lagging members may need, lowest height first.
        history: Vec<Certificate>,
    },
    /// Collector → committee member: attest this block.
    Attest(AttestRequest),
    /// A certificate pushed to a committee member (or a recipient's station).
    Certificate(Box<Certificate>),
    /// Which certified sends to this account are not received yet (their certificates)?
    Inbox(AccountId),
    /// The certified head of an account, as its committee members know it.
    Head(AccountId),
    /// Station ↔ station: these are the peer records I know; send me yours.
    Records(Vec<PeerRecord>),
    /// Overlay member → overlay member: one routing-table broadcast message (a copy or an
    /// acknowledgement, [`crate::broadcast::Message`] encoded), answered with `Ack`.
    Broadcast(Vec<u8>),
    /// Phone → home station: wake me with a push when I am paid (answered with `Ack`).
    RegisterPush(Box<super::push::PushRegistration>),
    /// Collector → member of an account's committee in a closed epoch: your handover
    /// report about `account` in `epoch` (answered with `Handover`).
    HandoverRequest {
        /// The account.
        account: AccountId,
        /// The closed epoch.
        epoch: u64,
    },
    /// Collector → member of the account's committee in the next epoch: a handover report
    /// of the epoch before, toward its takeover (answered with `Ack`).
    Handover(Box<Handover>),
    /// Home station → member of the account's committee: the phone's signed push
    /// registration; send me the certificates of payments to this account, so that I can
    /// wake the phone (an empty token: stop). Answered with `Ack`.
    WatchPayments(Box<super::push::PushRegistration>),
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `Submit`: the block is certified.
    Certified(Box<Certificate>),
    /// `Submit`: the block cannot be certified, and why.
    Refused(String),
    /// `Attest`: the member's answer.
    Answer(MemberAnswer),
    /// `Certificate`: received.
    Ack,
    /// `Inbox`: certificates of sends not yet received by the account.
    Inbox(Vec<Certificate>),
    /// `Head`: the certificate of the highest certified block, if any is known.
    Head(Option<Box<Certificate>>),
    /// `Records`: the records the answering node knows.
    Records(Vec<PeerRecord>),
    /// `HandoverRequest`: the member's signed report.
    Handover(Box<Handover>),
    /// The request cannot be served by this node (not a station, not a member, busy...).
    Error(String),
}

fn put_block(w: &mut Writer, b: &Block) {
    w.bytes(&b.encode());
}

fn get_block(r: &mut Reader<'_>) -> Result<Block, DecodeError> {
    Block::decode(r.bytes("block", MAX_BLOCK_LEN)?)
}

fn put_cert(w: &mut Writer, c: &Certificate) {
    w.bytes(&c.encode());
}

fn get_cert(r: &mut Reader<'_>) -> Result<Certificate, DecodeError> {
    Certificate::decode(r.bytes("certificate", MAX_CERTIFICATE_LEN)?)
}

fn put_certs(w: &mut Writer, certs: &[Certificate]) {
    w.u32(certs.len() as u32);
    for c in certs {
        put_cert(w, c);
    }
}

fn get_certs(r: &mut Reader<'_>, max: usize) -> Result<Vec<Certificate>, DecodeError> {
    let count = count(r, "certificates", max)?;
    (0..count).map(|_| get_cert(r)).collect()
}

fn count(r: &mut Reader<'_>, field: &'static str, max: usize) -> Result<usize, DecodeError> {
    let n = r.u32(field)? as usize;
    if n > max {
        return Err(DecodeError::TooLong { field, len: n, max });
    }
    Ok(n)
}

fn put_text(w: &mut Writer, s: &str) {
    let mut end = s.len().min(MAX_REASON_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    w.bytes(&s.as_bytes()[..end]);
}

fn get_text(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let bytes = r.bytes("reason", MAX_REASON_LEN)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid {
        field: "reason",
        reason: "not UTF-8".into(),
    })
}

fn put_attest_request(w: &mut Writer, a: &AttestRequest) {
    put_block(w, &a.block);
    match &a.send {
        None => {
            w.u8(0);
        }
        Some(c) => {
            w.u8(1);
            put_cert(w, c);
        }
    }
}

fn get_attest_request(r: &mut Reader<'_>) -> Result<AttestRequest, DecodeError> {
    let block = get_block(r)?;
    let send = match r.u8("send present")? {
        0 => None,
        1 => Some(get_cert(r)?),
        tag => {
            return Err(DecodeError::UnknownTag {
                what: "send present",
                tag,
            })
        }
    };
    Ok(AttestRequest { block, send })
}

fn put_signature(w: &mut Writer, s: &Signature) {
    w.bytes(&s.to_bytes());
}

fn get_signature(r: &mut Reader<'_>) -> Result<Signature, DecodeError> {
    Signature::from_bytes(r.bytes("signature", MAX_SIGNATURE_LEN)?).map_err(|e| {
        DecodeError::Invalid {
            field: "signature",
            reason: e.to_string(),
        }
    })
}

fn put_answer(w: &mut Writer, a: &MemberAnswer) {
    match a {
        MemberAnswer::Attested(att) => {
            let s = &att.statement;
            w.u8(1)
                .u64(s.epoch)
                .fixed(&s.account.0)
                .u64(s.height)
                .fixed(&s.block_hash.0)
                .fixed(&att.witness.0);
            put_signature(w, &att.signature);
        }
        MemberAnswer::NeedCertificate { height } => {
            w.u8(2).u64(*height);
        }
        MemberAnswer::Rejected(reason) => {
            w.u8(3);
            put_text(w, reason);
        }
        MemberAnswer::Conflict(proof) => {
            w.u8(4);
            put_block(w, &proof.first);
            put_block(w, &proof.second);
        }
        MemberAnswer::Unavailable(reason) => {
            w.u8(5);
            put_text(w, reason);
        }
        MemberAnswer::NeedHandover { epoch } => {
            w.u8(6).u64(*epoch);
        }
        MemberAnswer::AttestedBatch(att) => {
            let s = &att.statement;
            w.u8(7)
                .u64(s.epoch)
                .fixed(&s.account.0)
                .u64(s.height)
                .fixed(&s.block_hash.0)
                .fixed(&att.witness.0)
                .bytes(&att.proof.encode());
        }
    }
}

fn get_answer(r: &mut Reader<'_>) -> Result<MemberAnswer, DecodeError> {
    Ok(match r.u8("answer")? {
        1 => {
            let statement = Statement {
                epoch: r.u64("epoch")?,
                account: AccountId(r.array("account")?),
                height: r.u64("height")?,
                block_hash: Hash(r.array("block hash")?),
            };
            let witness = WitnessId(r.array("witness")?);
            let signature = get_signature(r)?;
            MemberAnswer::Attested(Attestation {
                statement,
                witness,
                signature,
            })
        }
        2 => MemberAnswer::NeedCertificate {
            height: r.u64("height")?,
        },
        3 => MemberAnswer::Rejected(get_text(r)?),
        4 => MemberAnswer::Conflict(Box::new(EquivocationProof {
            first: get_block(r)?,
            second: get_block(r)?,
        })),
        5 => MemberAnswer::Unavailable(get_text(r)?),
        6 => MemberAnswer::NeedHandover {
            epoch: r.u64("epoch")?,
        },
        7 => {
            let statement = Statement {
                epoch: r.u64("epoch")?,
                account: AccountId(r.array("account")?),
                height: r.u64("height")?,
                block_hash: Hash(r.array("block hash")?),
            };
            let witness = WitnessId(r.array("witness")?);
            let proof = BatchProof::decode(r.bytes("batch proof", MAX_BATCH_PROOF_LEN)?)?;
            MemberAnswer::AttestedBatch(Box::new(BatchAttestation {
                statement,
                witness,
                proof,
            }))
        }
        tag => {
            return Err(DecodeError::UnknownTag {
                what: "answer",
                tag,
            })
        }
    })
}

fn put_records(w: &mut Writer, records: &[PeerRecord]) {
    w.u32(records.len() as u32);
    for rec in records {
        w.bytes(&rec.encode());
    }
}

fn get_records(r: &mut Reader<'_>) -> Result<Vec<PeerRecord>, DecodeError> {
    let n = count(r, "records", MAX_RECORDS)?;
    (0..n)
        .map(|_| PeerRecord::decode(r.bytes("record", super::peer_record::MAX_RECORD_LEN)?))
        .collect()
}

fn check_version(r: &mut Reader<'_>, what: &'static str) -> Result<(), DecodeError> {
    match r.u8("version")? {
        WIRE_VERSION => Ok(()),
        version => Err(DecodeError::UnsupportedVersion { what, version }),
    }
}

impl Request {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(WIRE_VERSION);
        match self {
            Request::Submit { request, history } => {
                w.u8(1);
                put_attest_request(&mut w, request);
                put_certs(&mut w, history);
            }
            Request::Attest(a) => {
                w.u8(2);
                put_attest_request(&mut w, a);
            }
            Request::Certificate(c) => {
                w.u8(3);
                put_cert(&mut w, c);
            }
            Request::Inbox(a) => {
                w.u8(4).fixed(&a.0);
            }
            Request::Head(a) => {
                w.u8(5).fixed(&a.0);
            }
            Request::Records(records) => {
                w.u8(6);
                put_records(&mut w, records);
            }
            Request::Broadcast(bytes) => {
                w.u8(7).bytes(bytes);
            }
            Request::RegisterPush(reg) => {
                w.u8(8).bytes(&reg.encode());
            }
            Request::HandoverRequest { account, epoch } => {
                w.u8(9).fixed(&account.0).u64(*epoch);
            }
            Request::Handover(h) => {
                w.u8(10).bytes(&h.encode());
            }
            Request::WatchPayments(reg) => {
                w.u8(11).bytes(&reg.encode());
            }
        }
        w.finish()
    }

    /// Decodes one request.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        check_version(&mut r, "request")?;
        let request = match r.u8("request")? {
            1 => Request::Submit {
                request: get_attest_request(&mut r)?,
                history: get_certs(&mut r, MAX_HISTORY)?,
            },
            2 => Request::Attest(get_attest_request(&mut r)?),
            3 => Request::Certificate(Box::new(get_cert(&mut r)?)),
            4 => Request::Inbox(AccountId(r.array("account")?)),
            5 => Request::Head(AccountId(r.array("account")?)),
            6 => Request::Records(get_records(&mut r)?),
            7 => Request::Broadcast(
                r.bytes("broadcast", crate::broadcast::wire::MAX_MESSAGE_LEN)?
                    .to_vec(),
            ),
            8 => Request::RegisterPush(Box::new(super::push::PushRegistration::decode(
                r.bytes("push registration", super::push::MAX_REGISTRATION_LEN)?,
            )?)),
            9 => Request::HandoverRequest {
                account: AccountId(r.array("account")?),
                epoch: r.u64("epoch")?,
            },
            10 => Request::Handover(Box::new(Handover::decode(
                r.bytes("handover", MAX_HANDOVER_LEN)?,
            )?)),
            11 => Request::WatchPayments(Box::new(super::push::PushRegistration::decode(
                r.bytes("push registration", super::push::MAX_REGISTRATION_LEN)?,
            )?)),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "request",
                    tag,
                })
            }
        };
        r.finish()?;
        Ok(request)
    }
}

impl Response {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(WIRE_VERSION);
        match self {
            Response::Certified(c) => {
                w.u8(1);
                put_cert(&mut w, c);
            }
            Response::Refused(reason) => {
                w.u8(2);
                put_text(&mut w, reason);
            }
            Response::Answer(a) => {
                w.u8(3);
                put_answer(&mut w, a);
            }
            Response::Ack => {
                w.u8(4);
            }
            Response::Inbox(certs) => {
                w.u8(5);
                put_certs(&mut w, certs);
            }
            Response::Head(head) => {
                w.u8(6);
                match head {
                    None => {
                        w.u8(0);
                    }
                    Some(c) => {
                        w.u8(1);
                        put_cert(&mut w, c);
                    }
                }
            }
            Response::Records(records) => {
                w.u8(7);
                put_records(&mut w, records);
            }
            Response::Error(reason) => {
                w.u8(8);
                put_text(&mut w, reason);
            }
            Response::Handover(h) => {
                w.u8(9).bytes(&h.encode());
            }
        }
        w.finish()
    }

    /// Decodes one response.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        check_version(&mut r, "response")?;
        let response = match r.u8("response")? {
            1 => Response::Certified(Box::new(get_cert(&mut r)?)),
            2 => Response::Refused(get_text(&mut r)?),
            3 => Response::Answer(get_answer(&mut r)?),
            4 => Response::Ack,
            5 => Response::Inbox(get_certs(&mut r, MAX_INBOX)?),
            6 => Response::Head(match r.u8("head present")? {
                0 => None,
                1 => Some(Box::new(get_cert(&mut r)?)),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "head present",
                        tag,
                    })
                }
            }),
            7 => Response::Records(get_records(&mut r)?),
            8 => Response::Error(get_text(&mut r)?),
            9 => Response::Handover(Box::new(Handover::decode(
                r.bytes("handover", MAX_HANDOVER_LEN)?,
            )?)),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "response",
                    tag,
                })
            }
        };
        r.finish()?;
        Ok(response)
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
