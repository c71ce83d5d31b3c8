//! A deterministic simulator: one seed gives one exact run (DESIGN.md §1, §4).
//!
//! It drives the real sans-IO state machines — [`crate::poc::WitnessNode`] and simulated
//! wallets ([`owner`]) — over a simulated network with message loss, delay, reordering,
//! partitions, witness crash-restart (state reloaded from the durable store only),
//! byzantine witnesses that sign anything (at most `f` per committee) and owners that
//! equivocate. With `epochs > 0` the epoch changes mid-run (during the faults): each
//! change replaces `churn` witnesses of the set by new ones, every running witness sees
//! the new record at once (a crashed one replays it on restart), and owners pull handovers
//! lazily ([`owner`]); byzantine old members answer handover requests with stale, inflated,
//! tampered or impersonated reports. After every delivered message it checks the safety
//! invariants of [`checker`] (across epochs); after the faults stop (the network heals) it
//! checks liveness: every honest wallet's transfers are certified and every certified send
//! to an honest wallet is received.
//!
//! With [`SimConfig::batch_attest`] (the default) an honest witness queues the attestation
//! requests delivered to it during a tick and answers them at the end of the tick with one
//! `WitnessNode::handle_attest_batch` call (one root signature); wallets collect the batch
//! attestations with `Collector::on_batch_attestation`, so certificates carry batch proofs
//! (and single ones from byzantine witnesses, which sign each request alone).
//!
//! ```
//! use zeropole_core::sim::{run, SimConfig};
//! let report = run(&SimConfig { seed: 7, ..SimConfig::small() }).expect("invariants hold");
//! assert!(report.certificates > 0);
//! ```

pub mod attack;
mod byzantine;
pub mod checker;
pub mod network;
pub mod owner;
pub mod records;
mod rng;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};

use checker::{Checker, Violation};
use network::{Faults, Msg, Network, NodeId};
use owner::{Directory, Owner, OwnerKind};
pub use rng::SimRng;

use crate::crypto::{hash_tagged, AccountId, Domain, KeyPair};
use crate::ledger::{AccountState, EpochRules};
use crate::poc::{
    quorum, AttestReply, AttestRequest, Attestation, BatchReply, CertificateOutcome, Epoch,
    MemoryWitnessStore, PendingReply, Statement, Witness, WitnessId, WitnessNode,
};

/// Parameters of one run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed: everything else random derives from it.
    pub seed: u64,
    /// Witnesses in `W_0`.
    pub witnesses: usize,
    /// Byzantine witnesses wanted (placed so no committee exceeds `f`; fewer if impossible).
    pub byzantine: usize,
    /// Place byzantine witnesses without the `f`-per-committee limit: outside the protocol's
    /// assumption, so safety may break (the checker must then say so).
    pub unlimited_byzantine: bool,
    /// Wallets.
    pub owners: usize,
    /// Wallets that equivocate once.
    pub equivocators: usize,
    /// Wallets that, after the first epoch change, sign a second block at a height already
    /// used in the previous epoch (see [`owner::OwnerKind::BoundaryEquivocator`]).
    pub boundary_equivocators: usize,
    /// Committee size `n`.
    pub n: usize,
    /// Transfers each wallet starts.
    pub transfers_per_owner: u32,
    /// Genesis balance of each wallet.
    pub funds: u64,
    /// Message loss probability while faults are on.
    pub loss: f64,
    /// Largest message delay in ticks.
    pub max_delay: u64,
    /// Per-tick probability that some honest witness crashes (faults on).
    pub crash_probability: f64,
    /// Per-tick probability that a partition starts (faults on).
    pub partition_probability: f64,
    /// Ticks with faults; afterwards the network heals and crashed witnesses restart.
    pub chaos_ticks: u64,
    /// Deadline: liveness must be reached by then.
    pub max_ticks: u64,
    /// Epoch changes during the faults (0: the witness set of epoch 0 serves throughout).
    pub epochs: u32,
    /// Witnesses that leave, and new ones that join, at each epoch change.
    pub churn: usize,
    /// Honest witnesses answer the attestation requests of a tick as one batch (one root
    /// signature) instead of one signature per request.
    pub batch_attest: bool,
}

impl SimConfig {
    /// A small, fast configuration with every fault enabled (what CI runs per seed).
    pub fn small() -> Self {
        SimConfig {
            seed: 0,
            witnesses: 24,
            byzantine: 4,
            unlimited_byzantine: false,
            owners: 10,
            equivocators: 1,
            boundary_equivocators: 1,
            n: 7,
            transfers_per_owner: 2,
            funds: 1_000_000,
            loss: 0.05,
            max_delay: 20,
            crash_probability: 0.02,
            partition_probability: 0.01,
            chaos_ticks: 400,
            max_ticks: 20_000,
            epochs: 1,
            churn: 3,
            batch_attest: true,
        }
    }
}

/// What a successful run measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Ticks until quiescence.
    pub ticks: u64,
    /// Certified blocks.
    pub certificates: usize,
    /// Messages handed to the network.
    pub messages: u64,
    /// Messages lost.
    pub dropped: u64,
    /// Byzantine witnesses placed.
    pub byzantine: usize,
    /// Accounts frozen by equivocation proofs.
    pub frozen: usize,
    /// Witness crashes.
    pub crashes: u64,
    /// Attestations signed by witnesses (honest and byzantine).
    pub attestations: u64,
    /// Messages delivered to a running witness (honest or byzantine): what the witnesses
    /// received in total.
    pub witness_messages: u64,
    /// The most messages delivered to any one witness.
    pub max_witness_messages: u64,
    /// Of `witness_messages`, the wallets' polls for pending receivables (`PendingQuery`),
    /// which wallets send on a timer, not per transfer.
    pub witness_polls: u64,
    /// Epoch changes that happened.
    pub epoch_changes: u64,
    /// Handover reports honest witnesses gave.
    pub handovers: u64,
    /// Root signatures honest witnesses made for batches (each covering ≥ 1 attestation).
    pub batches: u64,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimFailure {
    /// A safety invariant broke.
    Safety {
        /// The seed to replay.
        seed: u64,
        /// The tick.
        tick: u64,
        /// What broke.
        violation: String,
    },
    /// Liveness was not reached by the deadline.
    Liveness {
        /// The seed to replay.
        seed: u64,
        /// What was still outstanding.
        detail: String,
    },
}

impl std::fmt::Display for SimFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimFailure::Safety {
                seed,
                tick,
                violation,
            } => write!(f, "SAFETY seed={seed} tick={tick}: {violation}"),
            SimFailure::Liveness { seed, detail } => write!(f, "LIVENESS seed={seed}: {detail}"),
        }
    }
}

/// A deterministic key for simulated participant `index` (cached across runs: Falcon
/// key generation costs milliseconds, cloning microseconds).
pub fn sim_key(index: usize) -> KeyPair {
    static POOL: OnceLock<Mutex<Vec<KeyPair>>> = OnceLock::new();
    let pool = POOL.get_or_init(|| Mutex::new(Vec::new()));
    let mut keys = pool.lock().unwrap_or_else(|p| p.into_inner());
    while keys.len() <= index {
        let seed = blake3::derive_key("zeropole/sim/key/v1", &(keys.len() as u64).to_be_bytes());
        keys.push(
            KeyPair::from_seed(&seed)
                .unwrap_or_else(|_| unreachable!("derived seeds give valid keys")),
        );
    }
    keys[index].clone()
}

/// `count` simulated witnesses: keys from the pool (indices `0..count`), ids bound to the
/// keys (the simulator does not model admission certificates).
pub fn sim_witnesses(count: usize) -> (Vec<KeyPair>, Vec<Witness>) {
    sim_witnesses_at((0..count).collect())
}

/// Simulated witnesses with the pool keys at `indices`, each beside its key (tests and
/// benchmarks that sign as committee members).
pub fn sim_members(indices: impl IntoIterator<Item = usize>) -> Vec<(Witness, KeyPair)> {
    let (keys, witnesses) = sim_witnesses_at(indices.into_iter().collect());
    witnesses.into_iter().zip(keys).collect()
}

/// Simulated witnesses with the pool keys at `indices`.
pub fn sim_witnesses_at(indices: Vec<usize>) -> (Vec<KeyPair>, Vec<Witness>) {
    let keys: Vec<KeyPair> = indices.into_iter().map(sim_key).collect();
    let witnesses = keys
        .iter()
        .map(|k| Witness {
            id: WitnessId(blake3::derive_key(
                "zeropole/sim/witness-id/v1",
                &k.public_key().to_bytes(),
            )),
            public_key: k.public_key().clone(),
        })
        .collect();
    (keys, witnesses)
}

/// The genesis state of a wallet holding `funds`.
pub fn genesis_state(keys: &KeyPair, funds: u64) -> AccountState {
    let pk = keys.public_key();
    AccountState {
        public_key: pk.clone(),
        head_height: 0,
        head_hash: hash_tagged(Domain::Block, &pk.to_bytes()),
        balance: funds,
        last_timestamp_ms: 0,
        last_sent_to: BTreeMap::new(),
        recv_cursor: BTreeMap::new(),
    }
}

enum Slot {
    Up(Box<WitnessNode<MemoryWitnessStore>>),
    Down {
        store: MemoryWitnessStore,
        until: u64,
    },
}

/// Runs one simulation.
pub fn run(config: &SimConfig) -> Result<SimReport, SimFailure> {
    let mut rng = SimRng::new(config.seed);
    let rules = EpochRules {
        epoch: 0,
        min_amount: 10,
        dmapps: BTreeSet::new(),
    };

    // Witness slots: W_0, then `churn` joiners per epoch change (their keys come after the
    // wallets', so the wallets' keys do not depend on the epoch options).
    let joiners = config.epochs as usize * config.churn;
    let slots_total = config.witnesses + joiners;
    let (witness_keys, witnesses) = sim_witnesses_at(
        (0..config.witnesses)
            .chain((0..joiners).map(|j| config.witnesses + config.owners + j))
            .collect(),
    );
    let epoch = Epoch::new(
        rules,
        rng.bytes32(),
        config.n,
        witnesses[..config.witnesses].to_vec(),
    );
    let q = epoch.quorum();
    // The epoch records of the run, and the tick each one is seen. Each later epoch comes
    // out of a commit–reveal and a record signed by k of the authorities, verified.
    let mut authorities =
        records::Authorities::new(slots_total + config.owners, &epoch, config.seed);
    let mut history: Vec<Epoch> = vec![epoch.clone()];
    let mut changes: Vec<u64> = Vec::new();
    let mut members: Vec<usize> = (0..config.witnesses).collect();
    for k in 1..=u64::from(config.epochs) {
        for _ in 0..config.churn.min(members.len()) {
            let leaving = rng.below(members.len() as u64) as usize;
            members.remove(leaving);
        }
        let first_joiner = config.witnesses + (k as usize - 1) * config.churn;
        members.extend(first_joiner..first_joiner + config.churn);
        let set = members.iter().map(|i| witnesses[*i].clone()).collect();
        let (next, _) = authorities
            .next(&history[history.len() - 1], set, &mut rng)
            .map_err(|violation| SimFailure::Safety {
                seed: config.seed,
                tick: 0,
                violation,
            })?;
        history.push(next);
        changes.push(config.chaos_ticks * k / (u64::from(config.epochs) + 1) + rng.below(40));
    }
    let mut cur = 0usize;

    // Wallets: keys after the witnesses'.
    let mut dir = Directory::default();
    for (i, w) in witnesses.iter().enumerate() {
        dir.add_witness(w.id, i);
    }
    let mut owners: Vec<Owner> = (0..config.owners)
        .map(|i| {
            let keys = sim_key(config.witnesses + i);
            let kind = if i < config.equivocators {
                OwnerKind::Equivocator
            } else if i < config.equivocators + config.boundary_equivocators {
                OwnerKind::BoundaryEquivocator
            } else {
                OwnerKind::Honest
            };
            let state = genesis_state(&keys, config.funds);
            Owner::new(i, kind, keys, state, config.transfers_per_owner)
        })
        .collect();
    for o in &owners {
        dir.add_owner(o.account, o.index);
    }
    let genesis: Vec<(AccountId, AccountState)> = owners
        .iter()
        .map(|o| (o.account, o.state.clone()))
        .collect();

    // Byzantine witnesses: as many as wanted while no wallet's committee, in any epoch of
    // the run, exceeds its f.
    let committees: Vec<(usize, Vec<WitnessId>)> = history
        .iter()
        .flat_map(|e| {
            let f = quorum(e.committee_len()).0;
            owners.iter().map(move |o| (f, e.committee(&o.account)))
        })
        .collect();
    let mut byzantine: BTreeSet<usize> = BTreeSet::new();
    let mut order: Vec<usize> = (0..slots_total).collect();
    rng.shuffle(&mut order);
    for i in order {
        if byzantine.len() >= config.byzantine {
            break;
        }
        let id = witnesses[i].id;
        let fits = config.unlimited_byzantine
            || committees.iter().all(|(f, c)| {
                !c.contains(&id)
                    || c.iter()
                        .filter(|w| byzantine.iter().any(|b| witnesses[*b].id == **w))
                        .count()
                        < *f
            });
        if fits {
            byzantine.insert(i);
        }
    }
    let genesis_records: BTreeMap<AccountId, AccountState> = genesis.iter().cloned().collect();

    let mut slots: Vec<Option<Slot>> = Vec::with_capacity(slots_total);
    for (i, w) in witnesses.iter().enumerate() {
        if byzantine.contains(&i) {
            slots.push(None);
            continue;
        }
        let node = WitnessNode::start(
            w.clone(),
            witness_keys[i].clone(),
            epoch.clone(),
            MemoryWitnessStore::default(),
            &genesis,
        )
        .map_err(|e| SimFailure::Safety {
            seed: config.seed,
            tick: 0,
            violation: e.to_string(),
        })?;
        slots.push(Some(Slot::Up(Box::new(node))));
    }
    let mut byzantine_keys: BTreeMap<usize, KeyPair> = byzantine
        .iter()
        .map(|i| (*i, witness_keys[*i].clone()))
        .collect();

    let mut checker = Checker::new(genesis.iter().map(|(a, s)| (*a, s.balance)).collect(), q);
    for e in &history[1..] {
        checker.set_quorum(e.number(), e.quorum());
    }
    let (mut epoch_changes, mut handovers) = (0u64, 0u64);
    let mut net = Network::new();
    let mut faults = Faults {
        loss: config.loss,
        max_delay: config.max_delay,
    };
    let mut isolated_until: BTreeMap<NodeId, u64> = BTreeMap::new();
    let (mut crashes, mut attestations) = (0u64, 0u64);
    let mut received = vec![0u64; slots_total];
    let mut witness_polls = 0u64;
    let mut batches = 0u64;
    // Attestation requests queued per honest witness during a tick (batch mode).
    let mut queued: BTreeMap<usize, Vec<(NodeId, AttestRequest)>> = BTreeMap::new();
    let safety = |tick: u64, v: Violation| SimFailure::Safety {
        seed: config.seed,
        tick,
        violation: v.0,
    };
    let mut out: Vec<(NodeId, Msg)> = Vec::new();

    let mut tick = 0u64;
    while tick < config.max_ticks {
        // The next epoch record, seen by every running witness at once.
        if changes.get(cur) == Some(&tick) {
            cur += 1;
            epoch_changes += 1;
            for slot in slots.iter_mut() {
                if let Some(Slot::Up(node)) = slot {
                    node.advance_epoch(history[cur].clone())
                        .map_err(|e| safety(tick, Violation(e.to_string())))?;
                }
            }
        }
        let epochs = &history[..=cur];
        // Faults, then healing.
        if tick < config.chaos_ticks {
            if rng.chance(config.crash_probability) {
                let i = rng.below(slots_total as u64) as usize;
                if let Some(Slot::Up(_)) = &slots[i] {
                    if let Some(Slot::Up(node)) = slots[i].take() {
                        crashes += 1;
                        slots[i] = Some(Slot::Down {
                            store: node.into_store(),
                            until: tick + 20 + rng.below(100),
                        });
                    }
                }
            }
            if rng.chance(config.partition_probability) {
                let until = tick + 20 + rng.below(100);
                for _ in 0..1 + rng.below(4) {
                    let node = if rng.chance(0.5) {
                        NodeId::Witness(rng.below(slots_total as u64) as usize)
                    } else {
                        NodeId::Owner(rng.below(config.owners as u64) as usize)
                    };
                    isolated_until.insert(node, until);
                }
            }
        } else if tick == config.chaos_ticks {
            faults.loss = 0.0;
            isolated_until.clear();
        }
        isolated_until.retain(|_, until| *until > tick);
        net.isolated = isolated_until.keys().copied().collect();
        for (i, slot) in slots.iter_mut().enumerate() {
            let restart = matches!(slot, Some(Slot::Down { until, .. }) if *until <= tick || tick >= config.chaos_ticks);
            if restart {
                if let Some(Slot::Down { store, .. }) = slot.take() {
                    // A restart: the durable store, then every epoch record since genesis.
                    let mut node = WitnessNode::start(
                        witnesses[i].clone(),
                        witness_keys[i].clone(),
                        epoch.clone(),
                        store,
                        &genesis,
                    )
                    .map_err(|e| safety(tick, Violation(e.to_string())))?;
                    for e in &epochs[1..] {
                        node.advance_epoch(e.clone())
                            .map_err(|e| safety(tick, Violation(e.to_string())))?;
                    }
                    *slot = Some(Slot::Up(Box::new(node)));
                }
            }
        }

        // Wallets act.
        for o in owners.iter_mut() {
            o.tick(tick, epochs, &dir, &mut rng, &mut out);
            for (to, msg) in out.drain(..) {
                net.send(tick, NodeId::Owner(o.index), to, msg, &faults, &mut rng);
            }
        }

        // Deliver everything due.
        while let Some(env) = net.next_due(tick) {
            if net.isolated.contains(&env.from) || net.isolated.contains(&env.to) {
                net.dropped += 1;
                continue;
            }
            match env.to {
                NodeId::Witness(i) => {
                    if byzantine_keys.contains_key(&i) || matches!(slots[i], Some(Slot::Up(_))) {
                        received[i] += 1;
                        if matches!(env.msg, Msg::PendingQuery(_)) {
                            witness_polls += 1;
                        }
                    }
                    if let Some(keys) = byzantine_keys.get_mut(&i) {
                        // Byzantine: attest anything asked, never lock, never check. It does
                        // acknowledge pushed certificates (a witness that never acks only
                        // makes pushers retry, which a real pusher caps).
                        if let Msg::Certificate(cert) = &env.msg {
                            out.push((env.from, Msg::CertificateAck(cert.block_hash())));
                        }
                        if let Msg::AttestRequest(req) = env.msg {
                            let statement = Statement::for_block(cur as u64, &req.block);
                            if let Ok(a) = Attestation::sign(statement, witnesses[i].id, keys) {
                                attestations += 1;
                                if in_committee(&history, &a.statement, &a.witness) {
                                    checker.attestation(&a).map_err(|v| safety(tick, v))?;
                                }
                                out.push((
                                    env.from,
                                    Msg::AttestReply(Box::new(AttestReply::Attested(a))),
                                ));
                            }
                        } else if let Msg::HandoverRequest(account, e) = env.msg {
                            let bogus = byzantine::bogus_handover(
                                epochs,
                                e,
                                account,
                                &witnesses[i],
                                keys,
                                genesis_records.get(&account),
                                &mut rng,
                            );
                            if let Some(h) = bogus {
                                out.push((env.from, Msg::Handover(Box::new(h))));
                            }
                        }
                    } else if let Some(Slot::Up(node)) = &mut slots[i] {
                        match env.msg {
                            Msg::AttestRequest(req) if config.batch_attest => {
                                queued.entry(i).or_default().push((env.from, *req));
                            }
                            Msg::AttestRequest(req) => {
                                let reply = node.handle_attest(&req);
                                if let AttestReply::Attested(a) = &reply {
                                    attestations += 1;
                                    if in_committee(&history, &a.statement, &a.witness) {
                                        checker.attestation(a).map_err(|v| safety(tick, v))?;
                                    }
                                }
                                out.push((env.from, Msg::AttestReply(Box::new(reply))));
                            }
                            Msg::Certificate(cert) => {
                                let outcome = node.handle_certificate(&cert);
                                if !matches!(
                                    outcome,
                                    CertificateOutcome::Invalid(_) | CertificateOutcome::Storage(_)
                                ) {
                                    out.push((env.from, Msg::CertificateAck(cert.block_hash())));
                                }
                            }
                            Msg::PendingQuery(account) => {
                                match node.handle_pending_query(&account) {
                                    PendingReply::Entries(entries) => {
                                        out.push((env.from, Msg::PendingReply(entries)));
                                    }
                                    PendingReply::NeedHandover { account, epoch } => {
                                        out.push((env.from, Msg::NeedHandover(account, epoch)));
                                    }
                                    PendingReply::NotInCommittee => {}
                                }
                            }
                            Msg::HandoverRequest(account, e) => {
                                match node.handle_handover_request(&account, e) {
                                    Ok(h) => {
                                        handovers += 1;
                                        out.push((env.from, Msg::Handover(Box::new(h))));
                                    }
                                    Err(err) => {
                                        out.push((env.from, Msg::HandoverRefused(account, e, err)));
                                    }
                                }
                            }
                            Msg::Handover(h) => {
                                node.handle_handover(&h);
                            }
                            _ => {}
                        }
                    }
                    for (to, msg) in out.drain(..) {
                        net.send(tick, env.to, to, msg, &faults, &mut rng);
                    }
                }
                NodeId::Owner(j) => {
                    if let Some(cert) =
                        owners[j].handle(tick, env.from, env.msg, epochs, &dir, &mut out)
                    {
                        checker.certificate(&cert).map_err(|v| safety(tick, v))?;
                    }
                    for (to, msg) in out.drain(..) {
                        net.send(tick, env.to, to, msg, &faults, &mut rng);
                    }
                }
            }
        }

        // Batch mode: each witness answers the requests it got this tick with one root
        // signature (nothing crashes between delivery and here).
        for (i, requests) in std::mem::take(&mut queued) {
            let Some(Slot::Up(node)) = &mut slots[i] else {
                continue;
            };
            let (from, requests): (Vec<NodeId>, Vec<AttestRequest>) = requests.into_iter().unzip();
            let replies = node.handle_attest_batch(&requests);
            let mut signed = false;
            for (to, reply) in from.into_iter().zip(replies) {
                let msg = match reply {
                    BatchReply::Attested(a) => {
                        signed = true;
                        attestations += 1;
                        if in_committee(&history, &a.statement, &a.witness) {
                            checker
                                .attested(&a.statement, a.witness)
                                .map_err(|v| safety(tick, v))?;
                        }
                        Msg::BatchAttested(Box::new(a))
                    }
                    BatchReply::Refused(reply) => Msg::AttestReply(reply),
                };
                net.send(tick, NodeId::Witness(i), to, msg, &faults, &mut rng);
            }
            batches += u64::from(signed);
        }

        if tick >= config.chaos_ticks && outstanding(&owners, &checker).is_none() {
            break;
        }
        tick += 1;
    }

    if let Some(detail) = outstanding(&owners, &checker) {
        return Err(SimFailure::Liveness {
            seed: config.seed,
            detail,
        });
    }
    Ok(SimReport {
        seed: config.seed,
        ticks: tick,
        certificates: checker.certificates(),
        messages: net.sent,
        dropped: net.dropped,
        byzantine: byzantine.len(),
        frozen: owners.iter().filter(|o| o.frozen).count(),
        crashes,
        attestations,
        witness_messages: received.iter().sum(),
        max_witness_messages: received.iter().copied().max().unwrap_or(0),
        witness_polls,
        epoch_changes,
        handovers,
        batches,
    })
}

/// Whether `witness` is in the committee of the statement's account in the statement's
/// epoch. Only such attestations are given to the checker: a certificate counts committee
/// members only (`Certificate::verify` reads the signer bitmap over the committee), and a
/// byzantine witness that signs a request it got as a member of the epoch before (a request
/// in flight across the epoch change), naming the new epoch where it is not a member, adds
/// nothing any certificate could use. Counting it would report a quorum that cannot exist.
fn in_committee(history: &[Epoch], s: &Statement, witness: &WitnessId) -> bool {
    history
        .get(s.epoch as usize)
        .is_some_and(|e| e.committee(&s.account).contains(witness))
}

/// What honest, unfrozen wallets still wait for, if anything.
fn outstanding(owners: &[Owner], checker: &Checker) -> Option<String> {
    for o in owners
        .iter()
        .filter(|o| o.kind == OwnerKind::Honest && !o.frozen)
    {
        if !o.idle() {
            return Some(format!(
                "wallet {} still has work (planned {}, busy {})",
                o.index,
                o.planned,
                o.busy()
            ));
        }
        let unreceived = checker.unreceived_to(&o.account);
        if unreceived > 0 {
            return Some(format!(
                "wallet {} has {unreceived} certified sends not received",
                o.index
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests;
