//! The POC layer's unit costs on this machine, with real Falcon-512 (fn-dsa): a block's
//! encode and decode, its owner-signature check, one witness answering an attestation
//! request for a valid `Send` (validation + lock + Falcon sign), and certificate assembly
//! and verification at the devnet (n = 7, q = 5) and security-sized (n = 79, q = 53)
//! committees. Certificate sizes are printed. Batched attestations: signing a batch (tree +
//! one Falcon signature) and verifying an n = 79 certificate of batch proofs without and
//! with a warm root cache (`batch` group). Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench -p zeropole-core --bench poc`

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use zeropole_core::crypto::Hash;
use zeropole_core::crypto::{hash_tagged, AccountId, Domain, KeyPair};
use zeropole_core::ledger::{AccountState, Block, BlockBody, DmappId, EpochRules, Op};
use zeropole_core::poc::batch::sign_batch;
use zeropole_core::poc::{
    quorum, security_bits, AttestReply, AttestRequest, Attestation, BatchAttestation, Certificate,
    Epoch, MemoryWitnessStore, Statement, VerifiedRoots, Witness, WitnessId, WitnessNode,
};
use zeropole_core::sim::{genesis_state, sim_key};

const COMMAND: &str = "cargo bench -p zeropole-core --bench poc";
const FUNDS: u64 = 1_000_000;

/// An epoch of `w` witnesses (keys `sim_key(0..w)`) with committee size `n`.
fn epoch(w: usize, n: usize) -> (Epoch, Vec<(Witness, KeyPair)>) {
    let members: Vec<(Witness, KeyPair)> = (0..w)
        .map(|i| {
            let keys = sim_key(i);
            let witness = Witness {
                id: WitnessId(keys.public_key().account_id().0),
                public_key: keys.public_key().clone(),
            };
            (witness, keys)
        })
        .collect();
    let rules = EpochRules {
        epoch: 0,
        min_amount: 10,
        dmapps: BTreeSet::new(),
    };
    let witnesses = members.iter().map(|(w, _)| w.clone()).collect();
    (Epoch::new(rules, [7; 32], n, witnesses), members)
}

/// The first `Send` of a genesis wallet holding [`FUNDS`].
fn first_send(keys: &mut KeyPair, state: &AccountState, to: AccountId) -> Block {
    BlockBody {
        account: keys.public_key().account_id(),
        height: state.head_height + 1,
        previous: state.head_hash,
        epoch: 0,
        op: Op::Send {
            to,
            amount: 100,
            memo: Vec::new(),
            prev_to: None,
        },
        balance: state.balance - 100,
        timestamp_ms: 1,
        dmapp: DmappId::WALLET,
    }
    .sign(keys)
    .expect("owner signs")
}

fn block(c: &mut Criterion) {
    let mut owner = sim_key(10_000);
    let state = genesis_state(&owner, FUNDS);
    let block = first_send(
        &mut owner,
        &state,
        sim_key(10_001).public_key().account_id(),
    );
    let bytes = block.encode();
    let public = owner.public_key().clone();
    println!(
        "a Send block (empty memo) encodes to {} bytes (DESIGN §11: ≤ 4 KB sent by the phone per transfer)",
        bytes.len()
    );
    let mut group = c.benchmark_group("block");
    group.bench_function("encode", |b| b.iter(|| black_box(&block).encode()));
    group.bench_function("decode", |b| {
        b.iter(|| Block::decode(black_box(&bytes)).expect("decodes"))
    });
    group.bench_function("verify owner signature", |b| {
        b.iter(|| assert!(black_box(&block).verify_signature(&public)))
    });
    group.finish();
}

fn attest(c: &mut Criterion) {
    let (epoch, members) = epoch(100, 79);
    let mut owner = sim_key(10_000);
    let account = owner.public_key().account_id();
    let state = genesis_state(&owner, FUNDS);
    let genesis = vec![(account, state.clone())];
    let block = first_send(
        &mut owner,
        &state,
        sim_key(10_001).public_key().account_id(),
    );
    let request = AttestRequest { block, send: None };
    let Some(member) = epoch.committee(&account).first().copied() else {
        panic!("the committee is not empty");
    };
    let Some((witness, keys)) = members.iter().find(|(w, _)| w.id == member) else {
        panic!("the committee member is a witness");
    };
    // A fresh witness per iteration (not timed): a second request for the same block would
    // take the "already locked" path and skip validation.
    c.bench_function(
        "witness handle_attest (valid Send: validate + lock + sign)",
        |b| {
            b.iter_batched(
                || {
                    WitnessNode::start(
                        witness.clone(),
                        keys.clone(),
                        epoch.clone(),
                        MemoryWitnessStore::default(),
                        &genesis,
                    )
                    .expect("memory store")
                },
                |mut node| {
                    let reply = node.handle_attest(black_box(&request));
                    assert!(matches!(reply, AttestReply::Attested(_)), "{reply:?}");
                    node
                },
                BatchSize::SmallInput,
            )
        },
    );
}

fn certificate(c: &mut Criterion) {
    for (w, n) in [(7, 7), (100, 79)] {
        let (epoch, members) = epoch(w, n);
        let mut owner = sim_key(10_000);
        let account = owner.public_key().account_id();
        let state = genesis_state(&owner, FUNDS);
        let block = first_send(
            &mut owner,
            &state,
            sim_key(10_001).public_key().account_id(),
        );
        let (_, q) = quorum(epoch.committee_len());
        let statement = Statement::for_block(0, &block);
        // The first q committee members' attestations: what a station assembles.
        let attestations: Vec<Attestation> = epoch
            .committee(&account)
            .iter()
            .take(q)
            .map(|id| {
                let Some((_, keys)) = members.iter().find(|(w, _)| w.id == *id) else {
                    panic!("committee members are witnesses");
                };
                Attestation::sign(statement, *id, &mut keys.clone()).expect("witness signs")
            })
            .collect();
        let cert = Certificate::assemble(block.clone(), &epoch, &attestations);
        cert.verify(&epoch).expect("a quorum of valid attestations");
        println!(
            "certificate at n = {n}, q = {q} (W = {w}): {} bytes encoded ({} signatures); committee security at p = 0.05: {:.1} bits",
            cert.encode().len(),
            cert.proofs.len(),
            security_bits(n, 0.05)
        );
        let mut group = c.benchmark_group(format!("certificate n={n} q={q}"));
        group.bench_function("assemble", |b| {
            b.iter(|| Certificate::assemble(block.clone(), &epoch, black_box(&attestations)))
        });
        group.bench_function("verify", |b| {
            b.iter(|| black_box(&cert).verify(&epoch).expect("valid"))
        });
        group.bench_function("assemble + verify", |b| {
            b.iter(|| {
                Certificate::assemble(block.clone(), &epoch, black_box(&attestations))
                    .verify(&epoch)
                    .expect("valid")
            })
        });
        group.bench_function("encode", |b| b.iter(|| black_box(&cert).encode()));
        group.finish();
    }
    println!("reproduce: {COMMAND}");
}

/// Committee lookup at W = 10,000 (a witness checks its membership on every request; a
/// station looks up the committee of every block it forwards). Selection needs only ids,
/// so the witnesses share one public key here.
fn committee(c: &mut Criterion) {
    let public_key = sim_key(0).public_key().clone();
    let witnesses: Vec<Witness> = (0..10_000u32)
        .map(|i| Witness {
            // Any distinct, spread-out ids will do.
            id: WitnessId(hash_tagged(Domain::Block, &i.to_be_bytes()).0),
            public_key: public_key.clone(),
        })
        .collect();
    let rules = EpochRules {
        epoch: 0,
        min_amount: 10,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(rules, [7; 32], 7, witnesses);
    let account = sim_key(10_000).public_key().account_id();
    c.bench_function("committee selection (W = 10,000, n = 7)", |b| {
        b.iter(|| epoch.committee(black_box(&account)))
    });
}

/// Batched attestations at n = 79 (q = 53): one batch of `b` statements (the benchmarked
/// block's first, the rest synthetic) signed by each of the first q members.
fn batch(c: &mut Criterion) {
    let (epoch, members) = epoch(100, 79);
    let mut owner = sim_key(10_000);
    let account = owner.public_key().account_id();
    let state = genesis_state(&owner, FUNDS);
    let block = first_send(
        &mut owner,
        &state,
        sim_key(10_001).public_key().account_id(),
    );
    let (_, q) = quorum(epoch.committee_len());
    let mut group = c.benchmark_group("batch n=79 q=53");
    for b in [16usize, 256] {
        let statements: Vec<Statement> = std::iter::once(Statement::for_block(0, &block))
            .chain((1..b as u64).map(|i| Statement {
                epoch: 0,
                account: AccountId([i as u8; 32]),
                height: i,
                block_hash: Hash([i as u8; 32]),
            }))
            .collect();
        let signers: Vec<(WitnessId, KeyPair)> = epoch
            .committee(&account)
            .iter()
            .take(q)
            .map(|id| {
                let Some((_, keys)) = members.iter().find(|(w, _)| w.id == *id) else {
                    panic!("committee members are witnesses");
                };
                (*id, keys.clone())
            })
            .collect();
        let attestations: Vec<BatchAttestation> = signers
            .iter()
            .map(|(id, keys)| {
                sign_batch(&statements, *id, &mut keys.clone()).expect("witness signs")[0].clone()
            })
            .collect();
        let cert = Certificate::assemble(block.clone(), &epoch, &attestations);
        cert.verify(&epoch)
            .expect("a quorum of valid batch attestations");
        println!(
            "batch certificate at n = 79, q = {q}, B = {b}: {} bytes encoded",
            cert.encode().len()
        );
        let (id, keys) = &signers[0];
        let mut keys = keys.clone();
        group.bench_function(
            format!("sign a batch of {b} (tree + one Falcon signature)"),
            |bch| bch.iter(|| sign_batch(black_box(&statements), *id, &mut keys).expect("signs")),
        );
        group.bench_function(format!("certificate verify, B = {b}, no cache"), |bch| {
            bch.iter(|| black_box(&cert).verify(&epoch).expect("valid"))
        });
        let mut cache = VerifiedRoots::default();
        cert.verify_with_cache(&epoch, &mut cache).expect("valid");
        group.bench_function(
            format!("certificate verify_with_cache, B = {b}, roots cached"),
            |bch| {
                bch.iter(|| {
                    black_box(&cert)
                        .verify_with_cache(&epoch, &mut cache)
                        .expect("valid")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, block, attest, certificate, committee, batch);
criterion_main!(benches);
