//! `zeropole bench --batched`: blocks per core-second with batched (Merkle-root)
//! attestations, real Falcon-512, one thread (DESIGN.md §4, §11 "≥ 20,000 blocks with
//! batched attestations").
//!
//! For each committee size n (W = n witnesses: every committee is all of W) and batch size
//! B, with B genesis wallets each signing one valid `Send` (the phones' signing is setup,
//! not timed):
//! - **witness side**: a fresh `WitnessNode` (started untimed, `MemoryWitnessStore`) answers
//!   the B requests with one `handle_attest_batch` call — every rule checked per block
//!   (committee, owner signature, validation), every lock stored, one Falcon signature over
//!   the root — timed with `Instant` around that call; repeated over fresh nodes until
//!   `--batch-blocks` blocks were attested. The "single" row answers the same blocks one by
//!   one with `handle_attest` (one signature each).
//! - **verifier side**: the first q committee members each attest the B blocks in one batch
//!   (untimed); the B certificates assembled from their attestations are verified with
//!   `Certificate::verify_with_cache` and a cache that starts *empty* for every batch (a
//!   verifier meeting these roots for the first time: q Falcon verifications, then path
//!   walks and lookups); repeated until `--batch-blocks` certificates were verified. The
//!   "single" row verifies single-form certificates with `Certificate::verify` (q Falcon
//!   verifications each).
//!
//! Each timed section is measured twice: wall-clock (`Instant`) and this thread's CPU time
//! (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, Linux). Rates per core-second are computed
//! from the CPU time, which is what a core spent whatever else the machine ran; the wall
//! rates are printed next to them (they agree on an idle machine).
//!
//! Certificate bytes are the canonical encodings (mean over the batch's certificates): v1
//! for the single form, v2 for batch proofs (their paths grow with log2 B).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use zeropole_core::crypto::{AccountId, KeyPair};
use zeropole_core::ledger::{AccountState, BlockBody, DmappId, EpochRules, Op};
use zeropole_core::poc::{
    quorum, security_bits, AttestReply, AttestRequest, BatchAttestation, BatchReply, Certificate,
    Epoch, MemoryWitnessStore, VerifiedRoots, Witness, WitnessNode,
};
use zeropole_core::sim::{genesis_state, sim_key, sim_members};

/// DESIGN.md §11: blocks per core-second with batched attestations.
const BATCHED_TARGET: f64 = 20_000.0;
const FUNDS: u64 = 1_000_000;

/// One epoch of `n` witnesses (keys `sim_key(0..n)`) and `wallets` genesis wallets (the
/// next keys), each with one signed `Send` at height 1.
struct Setup {
    epoch: Epoch,
    members: Vec<(Witness, KeyPair)>,
    genesis: Vec<(AccountId, AccountState)>,
    requests: Vec<AttestRequest>,
}

fn setup(n: usize, wallets: usize) -> Result<Setup, String> {
    let members = sim_members(0..n);
    let rules = EpochRules {
        epoch: 0,
        min_amount: 10,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(
        rules,
        [7; 32],
        n,
        members.iter().map(|(w, _)| w.clone()).collect(),
    );
    let mut genesis = Vec::with_capacity(wallets);
    let mut requests = Vec::with_capacity(wallets);
    for i in 0..wallets {
        let mut keys = sim_key(n + i);
        let state = genesis_state(&keys, FUNDS);
        let account = keys.public_key().account_id();
        let block = BlockBody {
            account,
            height: 1,
            previous: state.head_hash,
            epoch: 0,
            op: Op::Send {
                to: AccountId([0xEE; 32]),
                amount: 100,
                memo: Vec::new(),
                prev_to: None,
            },
            balance: FUNDS - 100,
            timestamp_ms: 1,
            dmapp: DmappId::WALLET,
        }
        .sign(&mut keys)
        .map_err(|e| format!("the owner cannot sign: {e}"))?;
        genesis.push((account, state));
        requests.push(AttestRequest { block, send: None });
    }
    Ok(Setup {
        epoch,
        members,
        genesis,
        requests,
    })
}

impl Setup {
    fn node(&self, member: usize) -> Result<WitnessNode<MemoryWitnessStore>, String> {
        let (w, k) = self.members.get(member).ok_or("no such committee member")?;
        WitnessNode::start(
            w.clone(),
            k.clone(),
            self.epoch.clone(),
            MemoryWitnessStore::default(),
            &self.genesis,
        )
        .map_err(|e| e.to_string())
    }

    /// The committee positions (indices into `members`) of the first q members of the
    /// committee of the first wallet (every committee is all of W here).
    fn signers(&self) -> Result<Vec<usize>, String> {
        let account = self
            .requests
            .first()
            .ok_or("no wallets")?
            .block
            .body
            .account;
        let q = self.epoch.quorum();
        self.epoch
            .committee(&account)
            .iter()
            .take(q)
            .map(|id| {
                self.members
                    .iter()
                    .position(|(w, _)| w.id == *id)
                    .ok_or_else(|| "a committee member is not a witness".to_string())
            })
            .collect()
    }
}

fn batch_attestations(replies: Vec<BatchReply>) -> Result<Vec<BatchAttestation>, String> {
    replies
        .into_iter()
        .map(|r| match r {
            BatchReply::Attested(a) => Ok(a),
            BatchReply::Refused(r) => Err(format!("a valid block was refused: {r:?}")),
        })
        .collect()
}

/// This thread's CPU time (precise: the kernel accounts the running slice on read).
#[cfg(target_os = "linux")]
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// Wall-clock and CPU time spent in timed sections.
#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    wall: Duration,
    /// `None` once any reading was unavailable.
    cpu: Option<Duration>,
    started: bool,
}

impl Spent {
    /// Runs `f`, adding its wall-clock and CPU time.
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let cpu = thread_cpu();
        let wall = Instant::now();
        let out = f();
        let wall = wall.elapsed();
        let cpu = thread_cpu().zip(cpu).map(|(b, a)| b.saturating_sub(a));
        self.wall += wall;
        self.cpu = match (self.started, self.cpu, cpu) {
            (false, _, c) => c,
            (true, Some(total), Some(c)) => Some(total + c),
            _ => None,
        };
        self.started = true;
        out
    }

    /// Microseconds per item: (CPU, wall).
    fn per(&self, items: usize) -> (Option<f64>, f64) {
        let n = items.max(1) as f64;
        (
            self.cpu.map(|c| c.as_secs_f64() * 1e6 / n),
            self.wall.as_secs_f64() * 1e6 / n,
        )
    }
}

/// One row of the table: µs per block as (CPU, wall).
struct Row {
    label: String,
    witness_us: (Option<f64>, f64),
    verify_us: (Option<f64>, f64),
    falcon_verifies_per_block: f64,
    cert_bytes: usize,
}

/// Blocks per core-second from CPU µs per block (wall if CPU time is unavailable).
fn rate(us: (Option<f64>, f64)) -> f64 {
    1e6 / us.0.unwrap_or(us.1)
}

/// Runs `zeropole bench --batched` for each n of `committees` and each B of `sizes`,
/// measuring at least `blocks` blocks per row on each side.
pub fn run_bench(
    committees: &[usize],
    sizes: &[usize],
    blocks: usize,
    p: f64,
) -> Result<(), String> {
    if sizes.is_empty() || sizes.contains(&0) {
        return Err("--batch-sizes needs sizes of at least 1".into());
    }
    if let Some(b) = sizes.iter().find(|b| **b > zeropole_core::poc::MAX_BATCH) {
        return Err(format!(
            "a batch holds at most {} blocks, not {b}",
            zeropole_core::poc::MAX_BATCH
        ));
    }
    let blocks = blocks.max(1);
    let wallets = sizes.iter().copied().max().unwrap_or(1);
    let cpu_start = thread_cpu();
    let wall_start = Instant::now();
    for &n in committees {
        let started = Instant::now();
        let s = setup(n, wallets)?;
        let (_, q) = quorum(n);
        println!();
        println!(
            "== n = {n}, q = {q} (W = {n}: every committee is all of W); committee security at p = {p}: {:.1} bits; setup {:.1} s (not timed)",
            security_bits(n, p),
            started.elapsed().as_secs_f64()
        );
        let mut rows = vec![single_row(&s, blocks, wallets)?];
        for &b in sizes {
            rows.push(batch_row(&s, b, blocks)?);
        }
        println!("| form | witness CPU µs / block (validate + lock + sign) | witness blocks / core-s | (wall µs) | verifier CPU µs / certificate (cold root cache per batch) | verifier blocks / core-s | (wall µs) | Falcon verifications / certificate | certificate bytes |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let us = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        for r in &rows {
            println!(
                "| {} | {} | {:.0} | {:.1} | {} | {:.0} | {:.1} | {:.2} | {} |",
                r.label,
                us(r.witness_us.0),
                rate(r.witness_us),
                r.witness_us.1,
                us(r.verify_us.0),
                rate(r.verify_us),
                r.verify_us.1,
                r.falcon_verifies_per_block,
                r.cert_bytes
            );
        }
        if let Some(best) = rows.last() {
            let witness = rate(best.witness_us);
            let verifier = rate(best.verify_us);
            println!(
                "DESIGN §11 \"≥ {BATCHED_TARGET:.0} blocks with batched attestations\" at n = {n}, {}: witness {witness:.0} /core-s (ratio {:.2}), verifier {verifier:.0} /core-s (ratio {:.2})",
                best.label,
                witness / BATCHED_TARGET,
                verifier / BATCHED_TARGET
            );
        }
    }
    let wall = wall_start.elapsed();
    match thread_cpu()
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start))
    {
        Some(cpu) => println!(
            "\nwhole run: {:.2} s wall, {:.2} s thread CPU (wall ÷ CPU = {:.3}: above ~1.02 the machine was busy; the rates above come from CPU time, the wall µs columns are inflated by about that factor)",
            wall.as_secs_f64(),
            cpu.as_secs_f64(),
            wall.as_secs_f64() / cpu.as_secs_f64()
        ),
        None => println!("\nwhole run: {:.2} s wall (thread CPU time not available here)", wall.as_secs_f64()),
    }
    Ok(())
}

/// Rounds needed so that `per_round` blocks per round reach `blocks`.
fn rounds(blocks: usize, per_round: usize) -> usize {
    blocks.div_ceil(per_round.max(1)).max(1)
}

/// Today's form: `handle_attest` per block, `Certificate::verify` per certificate.
fn single_row(s: &Setup, blocks: usize, wallets: usize) -> Result<Row, String> {
    let per_round = wallets.min(blocks);
    let mut witness = Spent::default();
    let mut attested = 0usize;
    for _ in 0..rounds(blocks, per_round) {
        let mut node = s.node(0)?;
        let replies: Vec<AttestReply> = witness.time(|| {
            s.requests[..per_round]
                .iter()
                .map(|r| node.handle_attest(r))
                .collect()
        });
        for reply in replies {
            if !matches!(reply, AttestReply::Attested(_)) {
                return Err(format!("a valid block was refused: {reply:?}"));
            }
            attested += 1;
        }
    }
    let request = s.requests.first().ok_or("no wallets")?;
    let mut attestations = Vec::new();
    for m in s.signers()? {
        match s.node(m)?.handle_attest(request) {
            AttestReply::Attested(a) => attestations.push(a),
            other => return Err(format!("a valid block was refused: {other:?}")),
        }
    }
    let cert = Certificate::assemble(request.block.clone(), &s.epoch, &attestations);
    let checks = rounds(blocks, 1).min(2_000);
    let mut verify = Spent::default();
    verify.time(|| {
        (0..checks).try_for_each(|_| {
            cert.verify(&s.epoch)
                .map_err(|e| format!("a single-form certificate does not verify: {e}"))
        })
    })?;
    Ok(Row {
        label: "single (today)".into(),
        witness_us: witness.per(attested),
        verify_us: verify.per(checks),
        falcon_verifies_per_block: cert.signer_count() as f64,
        cert_bytes: cert.encode().len(),
    })
}

/// Batches of `b` blocks.
fn batch_row(s: &Setup, b: usize, blocks: usize) -> Result<Row, String> {
    let requests = &s.requests[..b];
    let mut witness = Spent::default();
    let mut attested = 0usize;
    for _ in 0..rounds(blocks, b) {
        let mut node = s.node(0)?;
        let replies = witness.time(|| node.handle_attest_batch(requests));
        attested += batch_attestations(replies)?.len();
    }
    // The first q members' batches (untimed), then the b certificates.
    let mut per_member = Vec::new();
    for m in s.signers()? {
        per_member.push(batch_attestations(
            s.node(m)?.handle_attest_batch(requests),
        )?);
    }
    let certs: Vec<Certificate> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mine: Vec<BatchAttestation> =
                per_member.iter().map(|atts| atts[i].clone()).collect();
            Certificate::assemble(r.block.clone(), &s.epoch, &mine)
        })
        .collect();
    let mut verify = Spent::default();
    let (mut checked, mut falcon) = (0usize, 0u64);
    for _ in 0..rounds(blocks, b) {
        let mut cache = VerifiedRoots::default();
        verify.time(|| {
            certs.iter().try_for_each(|cert| {
                cert.verify_with_cache(&s.epoch, &mut cache)
                    .map_err(|e| format!("a batch certificate does not verify: {e}"))
            })
        })?;
        checked += certs.len();
        falcon += cache.stats().1;
    }
    // Paths differ by one hash at most between leaves: the mean size.
    let cert_bytes = certs.iter().map(|c| c.encode().len()).sum::<usize>() / certs.len().max(1);
    Ok(Row {
        label: format!("batch B = {b}"),
        witness_us: witness.per(attested),
        verify_us: verify.per(checked),
        falcon_verifies_per_block: falcon as f64 / checked.max(1) as f64,
        cert_bytes,
    })
}
