//! A simulated wallet: builds its blocks, collects attestations into certificates, pushes
//! certificates, learns of incoming sends from its committee's pending lists and claims
//! them in order. An honest owner never signs two blocks at one height (sign-once); an
//! equivocating one does so once, on purpose.
//!
//! Across an epoch change the owner pulls handovers lazily (DESIGN.md §4): when a member of
//! the new committee answers `NeedHandover { epoch }`, the owner asks the account's
//! committee of that epoch for their reports and forwards every report it receives to the
//! committee of the epoch after. A member that cannot report because it never took the
//! account over itself (`NotTakenOver`) is served the same way one epoch further back. An
//! old member whose report lags behind the owner's chain is sent the missing certificates.
//! A block in flight at the boundary is re-sent, unchanged, to the new committee.

use std::collections::{BTreeMap, BTreeSet};

use super::network::{Msg, NodeId};
use super::rng::SimRng;
use crate::crypto::{AccountId, Hash, KeyPair};
use crate::ledger::{AccountState, Block, BlockBody, DmappId, Op};
use crate::poc::{
    AttestReply, AttestRequest, BatchAttestation, Certificate, Collector, CollectorStep, Epoch,
    Handover, HandoverError, MemberAnswer, Statement, VerifiedRoots, WitnessId,
};

/// How an owner behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// Follows the protocol.
    Honest,
    /// Signs two different sends at its first new height and splits them across its
    /// committee.
    Equivocator,
    /// Withholds the certificates of its blocks (so its committee holds only the locks of
    /// its last block), and after the first epoch change signs a second block, naming the
    /// new epoch, at the height of its block in flight or else of its last certified block,
    /// and asks the new committee to attest it: a double spend across the boundary that
    /// only the locks carried by handover can stop.
    BoundaryEquivocator,
}

struct InFlight {
    block: Block,
    send_cert: Option<Certificate>,
    /// One collector per epoch the block is attested in (a quorum must come from one
    /// epoch): the same `poc::Collector` a station runs over libp2p.
    collectors: BTreeMap<u64, Collector>,
    last_sent: u64,
}

/// The epoch records so far, indexed by number (the last one is current).
fn current(epochs: &[Epoch]) -> &Epoch {
    epochs
        .last()
        .unwrap_or_else(|| unreachable!("the simulator always has epoch 0"))
}

/// One simulated account owner.
pub struct Owner {
    /// Index among owners.
    pub index: usize,
    /// Behaviour.
    pub kind: OwnerKind,
    keys: KeyPair,
    /// The account id.
    pub account: AccountId,
    /// Own certified state.
    pub state: AccountState,
    /// Own certificates by height.
    pub certs: BTreeMap<u64, Certificate>,
    /// Transfers still to start.
    pub planned: u32,
    /// Certified sends of others to this account, by (sender, height).
    incoming: BTreeMap<(AccountId, u64), Certificate>,
    in_flight: Option<InFlight>,
    /// Set when a witness reports the account frozen.
    pub frozen: bool,
    /// Certificates pushed and not yet acknowledged: (target, block hash) → (cert, last sent).
    pushes: BTreeMap<(NodeId, Hash), (Certificate, u64)>,
    next_poll: u64,
    /// Handover reports about this account, by (epoch, reporting member).
    handovers: BTreeMap<(u64, WitnessId), Handover>,
    /// When reports of an epoch were last asked for.
    handovers_asked: BTreeMap<u64, u64>,
    /// The state before the certified head (a boundary equivocator's twin builds on it).
    before_head: Option<AccountState>,
    /// A boundary equivocator's second block and when it was last sent.
    twin: Option<(Block, u64)>,
    /// Batch roots verified (what a station keeps across the blocks it collects).
    roots: VerifiedRoots,
}

/// The account a boundary equivocator pays (no wallet owns it).
const WITHHELD_RECIPIENT: AccountId = AccountId([0xEE; 32]);

#[path = "owner_epoch.rs"]
mod epoch;

/// Timing of an owner's retries, in ticks.
pub const RETRY_AFTER: u64 = 40;
const POLL_EVERY: u64 = 60;

impl Owner {
    /// An owner of `keys` starting from its genesis `state`, planning `planned` transfers.
    pub fn new(
        index: usize,
        kind: OwnerKind,
        keys: KeyPair,
        state: AccountState,
        planned: u32,
    ) -> Self {
        let account = keys.public_key().account_id();
        Owner {
            index,
            kind,
            keys,
            account,
            state,
            certs: BTreeMap::new(),
            planned,
            incoming: BTreeMap::new(),
            in_flight: None,
            frozen: false,
            pushes: BTreeMap::new(),
            next_poll: 0,
            handovers: BTreeMap::new(),
            handovers_asked: BTreeMap::new(),
            before_head: None,
            twin: None,
            roots: VerifiedRoots::new(256),
        }
    }

    /// Whether the owner is done: nothing in flight, nothing planned, nothing claimable.
    pub fn idle(&self) -> bool {
        self.in_flight.is_none()
            && (self.planned == 0 || self.frozen)
            && self.claimable().is_none()
            && self.pushes.is_empty()
    }

    /// Whether a transfer is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    fn claimable(&self) -> Option<&Certificate> {
        self.incoming.iter().find_map(|((from, _), cert)| {
            let cursor = self.state.recv_cursor.get(from).copied();
            match &cert.block.body.op {
                Op::Send { prev_to, .. } if *prev_to == cursor => Some(cert),
                _ => None,
            }
        })
    }

    /// Called every tick: starts the next block, retries, or polls for pending sends.
    pub fn tick(
        &mut self,
        now: u64,
        epochs: &[Epoch],
        dir: &Directory,
        rng: &mut SimRng,
        out: &mut Vec<(NodeId, Msg)>,
    ) {
        let accounts = dir.accounts();
        // Pushes are retried until acknowledged, frozen or not: certified blocks are final
        // and their recipients must learn of them.
        for ((to, _), (cert, last)) in self.pushes.iter_mut() {
            if now >= *last + RETRY_AFTER {
                *last = now;
                out.push((*to, Msg::Certificate(Box::new(cert.clone()))));
            }
        }
        if self.frozen {
            return;
        }
        let epoch = current(epochs);
        let committee = epoch.committee(&self.account);
        if self.kind == OwnerKind::BoundaryEquivocator && epoch.number() > 0 {
            self.boundary_twin(now, epoch, dir, out);
        }
        if let Some(flight) = &mut self.in_flight {
            if now >= flight.last_sent + RETRY_AFTER {
                flight.last_sent = now;
                let request = AttestRequest {
                    block: flight.block.clone(),
                    send: flight.send_cert.clone(),
                };
                for w in committee.iter().filter(|w| {
                    !flight
                        .collectors
                        .get(&epoch.number())
                        .is_some_and(|c| c.has_attested(w))
                }) {
                    if let Some(node) = dir.witness(w) {
                        out.push((node, Msg::AttestRequest(Box::new(request.clone()))));
                    }
                }
            }
            return;
        }
        if now >= self.next_poll {
            self.next_poll = now + POLL_EVERY;
            for w in &committee {
                if let Some(node) = dir.witness(w) {
                    out.push((node, Msg::PendingQuery(self.account)));
                }
            }
        }
        if let Some(cert) = self.claimable().cloned() {
            let Op::Send { amount, .. } = cert.block.body.op else {
                return;
            };
            let op = Op::Receive {
                from: cert.block.body.account,
                send_height: cert.block.body.height,
                send_hash: cert.block_hash(),
                amount,
            };
            let Some(balance) = self.state.balance.checked_add(amount) else {
                return;
            };
            self.start(now, epoch, dir, op, balance, Some(cert), None, out);
            return;
        }
        if self.planned == 0 || self.state.balance < epoch.rules.min_amount || accounts.len() < 2 {
            return;
        }
        let mut to = accounts[rng.below(accounts.len() as u64) as usize];
        if to == self.account {
            to = accounts
                [(accounts.iter().position(|a| *a == to).unwrap_or(0) + 1) % accounts.len()];
        }
        if self.kind == OwnerKind::BoundaryEquivocator {
            // It withholds its certificates, so it pays no honest wallet (whose liveness
            // would then depend on it).
            to = WITHHELD_RECIPIENT;
        }
        let min = epoch.rules.min_amount;
        let amount = min + rng.below((self.state.balance / 4).saturating_sub(min).max(1));
        let amount = amount.min(self.state.balance);
        let prev_to = self.state.last_sent_to.get(&to).copied();
        let op = Op::Send {
            to,
            amount,
            memo: vec![],
            prev_to,
        };
        let twin = (self.kind == OwnerKind::Equivocator).then(|| {
            // Same height, another recipient amount: a double spend attempt.
            Op::Send {
                to,
                amount: amount.saturating_add(1).min(self.state.balance),
                memo: b"twin".to_vec(),
                prev_to,
            }
        });
        self.planned -= 1;
        self.start(
            now,
            epoch,
            dir,
            op,
            self.state.balance - amount,
            None,
            twin,
            out,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        now: u64,
        epoch: &Epoch,
        dir: &Directory,
        op: Op,
        balance: u64,
        send_cert: Option<Certificate>,
        twin: Option<Op>,
        out: &mut Vec<(NodeId, Msg)>,
    ) {
        let body = |op: Op, balance: u64, state: &AccountState, account: AccountId| BlockBody {
            account,
            height: state.head_height + 1,
            previous: state.head_hash,
            epoch: epoch.number(),
            op,
            balance,
            timestamp_ms: now,
            dmapp: DmappId::WALLET,
        };
        let Ok(block) = body(op, balance, &self.state, self.account).sign(&mut self.keys) else {
            return;
        };
        let twin_block = twin.and_then(|op| {
            let twin_balance = match &op {
                Op::Send { amount, .. } => self.state.balance.checked_sub(*amount)?,
                _ => return None,
            };
            body(op, twin_balance, &self.state, self.account)
                .sign(&mut self.keys)
                .ok()
        });
        let committee = epoch.committee(&self.account);
        for w in &committee {
            let Some(node) = dir.witness(w) else { continue };
            out.push((
                node,
                Msg::AttestRequest(Box::new(AttestRequest {
                    block: block.clone(),
                    send: send_cert.clone(),
                })),
            ));
            // An equivocator sends its twin to every member too: whichever block an honest
            // member sees first is the one it locks; byzantine members sign both.
            if let Some(twin) = &twin_block {
                out.push((
                    node,
                    Msg::AttestRequest(Box::new(AttestRequest {
                        block: twin.clone(),
                        send: send_cert.clone(),
                    })),
                ));
            }
        }
        self.in_flight = Some(InFlight {
            block,
            send_cert,
            collectors: BTreeMap::new(),
            last_sent: now,
        });
    }

    /// Handles a message addressed to this owner. Returns a certificate it completed.
    pub fn handle(
        &mut self,
        now: u64,
        from: NodeId,
        msg: Msg,
        epochs: &[Epoch],
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) -> Option<Certificate> {
        match msg {
            Msg::AttestReply(reply) => return self.on_reply(now, from, *reply, epochs, dir, out),
            Msg::BatchAttested(a) => return self.on_batch_attestation(now, *a, epochs, dir, out),
            Msg::NeedHandover(account, epoch) if account == self.account => {
                self.need_handover(now, from, epoch, epochs, dir, out);
            }
            Msg::Handover(h) if h.account == self.account => {
                self.on_handover(from, *h, epochs, dir, out);
            }
            Msg::HandoverRefused(account, epoch, HandoverError::NotTakenOver(_))
                if account == self.account && epoch > 0 =>
            {
                // That member needs the reports of the epoch before to report on `epoch`.
                self.need_handover(now, from, epoch - 1, epochs, dir, out);
            }
            Msg::CertificateAck(hash) => {
                self.pushes.remove(&(from, hash));
            }
            Msg::Certificate(cert) => {
                out.push((from, Msg::CertificateAck(cert.block_hash())));
                if let Op::Send { to, .. } = cert.block.body.op {
                    let key = (cert.block.body.account, cert.block.body.height);
                    let genuine = epochs
                        .get(cert.epoch as usize)
                        .is_some_and(|e| cert.verify_with_cache(e, &mut self.roots).is_ok());
                    if to == self.account && genuine {
                        let already = self
                            .state
                            .recv_cursor
                            .get(&key.0)
                            .is_some_and(|c| *c >= key.1);
                        if !already {
                            self.incoming.insert(key, *cert);
                        }
                    }
                }
            }
            Msg::PendingReply(entries) => {
                for e in entries {
                    let key = (e.from, e.height);
                    let received = self
                        .state
                        .recv_cursor
                        .get(&e.from)
                        .is_some_and(|c| *c >= e.height);
                    if !received && !self.incoming.contains_key(&key) {
                        // Ask the sender (in production: its station) for the certificate;
                        // again on every poll until it arrives.
                        if let Some(owner) = dir.owner(&e.from) {
                            out.push((owner, Msg::CertificateQuery(e.height)));
                        }
                    }
                }
            }
            Msg::CertificateQuery(height) => {
                if let (NodeId::Owner(_), Some(cert)) = (from, self.certs.get(&height)) {
                    out.push((from, Msg::Certificate(Box::new(cert.clone()))));
                }
            }
            _ => {}
        }
        None
    }

    fn on_reply(
        &mut self,
        now: u64,
        from: NodeId,
        reply: AttestReply,
        epochs: &[Epoch],
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) -> Option<Certificate> {
        if let AttestReply::NeedHandover { account, epoch } = reply {
            if account == self.account {
                self.need_handover(now, from, epoch, epochs, dir, out);
            }
            return None;
        }
        let flight = self.in_flight.as_mut()?;
        match reply {
            AttestReply::Attested(a) => {
                let epoch = epochs.get(a.statement.epoch as usize)?;
                // Late answers about an earlier block are not this block's refusals.
                if a.statement != Statement::for_block(epoch.number(), &flight.block) {
                    return None;
                }
                let collector = flight.collectors.entry(epoch.number()).or_insert_with(|| {
                    Collector::new(
                        epoch.clone(),
                        AttestRequest {
                            block: flight.block.clone(),
                            send: flight.send_cert.clone(),
                        },
                        Vec::new(),
                    )
                });
                let member = a.witness;
                for step in collector.on_answer(member, MemberAnswer::Attested(a)) {
                    if let CollectorStep::Certified(cert) = step {
                        self.in_flight = None;
                        self.adopt(now, &cert, current(epochs), dir, out);
                        return Some(*cert);
                    }
                }
            }
            AttestReply::NeedCertificate { height, .. } => {
                for cert in self.certs.range(height..).map(|(_, c)| c.clone()) {
                    out.push((from, Msg::Certificate(Box::new(cert))));
                }
            }
            AttestReply::Equivocation(_) | AttestReply::Frozen(_) => {
                self.frozen = true;
            }
            _ => {}
        }
        None
    }

    /// A batch attestation: counted by the collector of its epoch like a single one.
    fn on_batch_attestation(
        &mut self,
        now: u64,
        a: BatchAttestation,
        epochs: &[Epoch],
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) -> Option<Certificate> {
        let flight = self.in_flight.as_mut()?;
        let epoch = epochs.get(a.statement.epoch as usize)?;
        // Late answers about an earlier block are not this block's.
        if a.statement != Statement::for_block(epoch.number(), &flight.block) {
            return None;
        }
        let collector = flight.collectors.entry(epoch.number()).or_insert_with(|| {
            Collector::new(
                epoch.clone(),
                AttestRequest {
                    block: flight.block.clone(),
                    send: flight.send_cert.clone(),
                },
                Vec::new(),
            )
        });
        let member = a.witness;
        for step in collector.on_batch_attestation(member, a, &mut self.roots) {
            if let CollectorStep::Certified(cert) = step {
                self.in_flight = None;
                self.adopt(now, &cert, current(epochs), dir, out);
                return Some(*cert);
            }
        }
        None
    }

    fn adopt(
        &mut self,
        now: u64,
        cert: &Certificate,
        epoch: &Epoch,
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) {
        self.before_head = Some(self.state.clone());
        self.state = crate::ledger::apply_certified(&self.state, &cert.block);
        self.certs.insert(cert.block.body.height, cert.clone());
        if self.kind == OwnerKind::BoundaryEquivocator {
            // Withholds the certificate: its committee keeps only the locks (and learns the
            // certificate only if a later request makes a member ask for it).
            return;
        }
        let mut targets: BTreeSet<WitnessId> = epoch.committee(&self.account).into_iter().collect();
        match &cert.block.body.op {
            Op::Send { to, .. } => {
                targets.extend(epoch.committee(to));
                if let Some(owner) = dir.owner(to) {
                    self.push(owner, cert, now, out);
                }
            }
            Op::Receive {
                from, send_height, ..
            } => {
                self.incoming.remove(&(*from, *send_height));
            }
            Op::Open { .. } => {}
        }
        for w in targets {
            if let Some(node) = dir.witness(&w) {
                self.push(node, cert, now, out);
            }
        }
    }

    fn push(&mut self, to: NodeId, cert: &Certificate, now: u64, out: &mut Vec<(NodeId, Msg)>) {
        self.pushes
            .insert((to, cert.block_hash()), (cert.clone(), now));
        out.push((to, Msg::Certificate(Box::new(cert.clone()))));
    }
}

/// Who is who: maps protocol identities to simulator nodes.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    witnesses: BTreeMap<WitnessId, usize>,
    owners: BTreeMap<AccountId, usize>,
    accounts: Vec<AccountId>,
}

impl Directory {
    /// Registers witness `index`.
    pub fn add_witness(&mut self, id: WitnessId, index: usize) {
        self.witnesses.insert(id, index);
    }

    /// Registers owner `index`.
    pub fn add_owner(&mut self, account: AccountId, index: usize) {
        self.owners.insert(account, index);
        self.accounts.push(account);
    }

    /// The node of a witness.
    pub fn witness(&self, id: &WitnessId) -> Option<NodeId> {
        self.witnesses.get(id).map(|i| NodeId::Witness(*i))
    }

    /// The node of an account's owner.
    pub fn owner(&self, account: &AccountId) -> Option<NodeId> {
        self.owners.get(account).map(|i| NodeId::Owner(*i))
    }

    /// Every account, in owner order.
    pub fn accounts(&self) -> &[AccountId] {
        &self.accounts
    }
}
