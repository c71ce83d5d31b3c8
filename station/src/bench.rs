//! `zeropole bench`: the POC layer's throughput and cost model, measured in-process on one
//! thread with real Falcon-512 (DESIGN.md §11).
//!
//! Every transfer goes through the real state machines, as a station would drive them:
//! the sender's phone signs a `Send` and sends it once to its station; the station asks
//! each member of the sender's committee (`WitnessNode::handle_attest`), assembles the first
//! `q` attestations into a certificate, verifies it and returns it to the phone; the
//! certificate is pushed to the sender's and the recipient's committees
//! (`WitnessNode::handle_certificate`) and to the recipient. The recipient's `Receive` then
//! goes the same way (its attestation requests carry the send's certificate) and its
//! certificate is pushed to the recipient's committee. There is no transport: a "message"
//! is one request, reply or push handed from one party to another (acknowledgements are
//! not counted), and "bytes" are the encoded objects without framing.
//!
//! Signatures and verifications are counted at the call sites, from what each call does:
//! an owner signs its block once; a member attesting a fresh block verifies the owner's
//! signature and signs, and for a `Receive` first verifies every signature of the send's
//! certificate; `Certificate::verify` and `handle_certificate` verify every signature the
//! certificate carries.
//!
//! `--scaling` grows the network (witnesses W, wallets ∝ W, transfers per wallet fixed, no
//! faults, fixed committee size) and reports the cost per certified block and per witness,
//! with the same driver, then with the simulator (`zeropole_core::sim`), whose wallets also
//! poll their committees, acknowledge pushes and retry.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use zeropole_core::crypto::{AccountId, KeyPair};
use zeropole_core::ledger::{
    apply_certified, AccountState, Block, BlockBody, DmappId, EpochRules, Op,
};
use zeropole_core::poc::{
    quorum, security_bits, AttestReply, AttestRequest, Certificate, CertificateOutcome, Epoch,
    MemoryWitnessStore, Witness, WitnessId, WitnessNode,
};
use zeropole_core::sim::{genesis_state, run as run_sim, sim_key, SimConfig, SimRng};

/// DESIGN.md §11: bytes a phone sends per transfer.
const PHONE_BYTES_TARGET: f64 = 4096.0;
/// DESIGN.md §11: unbatched attestations per core-second.
const ATTESTATIONS_TARGET: f64 = 3000.0;
const FUNDS: u64 = 1_000_000_000;
const AMOUNT: u64 = 100;

/// Options of `zeropole bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Witnesses in the epoch.
    #[arg(long, default_value_t = 100)]
    witnesses: usize,
    /// Committee sizes n to measure, comma-separated (one run each).
    #[arg(long, value_delimiter = ',', default_values_t = [79usize, 7])]
    committee: Vec<usize>,
    /// Transfers per run (a transfer = its Send certified + its Receive certified).
    #[arg(long, default_value_t = 200)]
    transfers: usize,
    /// Genesis wallets the transfers go between.
    #[arg(long, default_value_t = 20)]
    wallets: usize,
    /// Adversarial fraction p for the printed committee security level.
    #[arg(long, default_value_t = 0.05)]
    p: f64,
    /// Seed choosing the recipients.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the scaling table instead: cost per certified block and per witness as the
    /// network grows through --sizes.
    #[arg(long)]
    scaling: bool,
    /// Network sizes (witnesses) of --scaling, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 100, 1_000, 10_000])]
    sizes: Vec<usize>,
    /// Committee size n of --scaling (fixed across sizes).
    #[arg(long, default_value_t = 7)]
    scaling_committee: usize,
    /// Wallets per witness in --scaling (wallets ∝ witnesses).
    #[arg(long, default_value_t = 0.5)]
    wallets_per_witness: f64,
    /// Transfers each wallet starts in --scaling.
    #[arg(long, default_value_t = 2)]
    transfers_per_wallet: usize,
    /// Skip the simulator half of --scaling.
    #[arg(long)]
    no_sim: bool,
    /// Print the broadcast table instead: Kadcast against flood and gossip (with --sizes, --seed).
    #[arg(long)]
    broadcast: bool,
    /// Print the batched-attestation table instead: blocks per core-second, witness and
    /// verifier side, for each --committee n and --batch-sizes B (src/batch_bench.rs).
    #[arg(long)]
    batched: bool,
    /// Batch sizes B of --batched, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64, 256])]
    batch_sizes: Vec<usize>,
    /// Blocks attested (and certificates verified) per row of --batched.
    #[arg(long, default_value_t = 2048)]
    batch_blocks: usize,
    #[command(flatten)]
    broadcast_args: crate::broadcast_bench::BroadcastArgs,
}

/// Runs the benchmark and prints what it measured.
pub fn run(args: BenchArgs) -> ExitCode {
    let command: Vec<String> = std::env::args().collect();
    println!("command: {}", command.join(" "));
    println!(
        "(reproduce: cargo run --release -p zeropole -- {})",
        command
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    );
    let result = if let Err(e) = check(&args) {
        Err(e)
    } else if args.batched {
        crate::batch_bench::run_bench(
            &args.committee,
            &args.batch_sizes,
            args.batch_blocks,
            args.p,
        )
    } else if args.broadcast {
        crate::broadcast_bench::run_bench(&args.broadcast_args, &args.sizes, args.seed)
    } else if args.scaling {
        scaling(&args)
    } else {
        throughput(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Rejects options no run can use.
fn check(args: &BenchArgs) -> Result<(), String> {
    if args.witnesses == 0 || args.sizes.contains(&0) {
        return Err("a network needs at least one witness".into());
    }
    if args.committee.contains(&0) || args.scaling_committee == 0 {
        return Err("the committee size n must be at least 1".into());
    }
    if args.wallets < 2 {
        return Err("a transfer needs at least 2 wallets".into());
    }
    if !(0.0..1.0).contains(&args.p) {
        return Err("p is a fraction in [0, 1)".into());
    }
    if !(args.wallets_per_witness > 0.0 && args.wallets_per_witness.is_finite()) {
        return Err("--wallets-per-witness must be a positive number".into());
    }
    Ok(())
}

/// What one run counted. Durations are wall-clock on the one thread that does everything.
#[derive(Debug, Default)]
struct Counters {
    transfers: u64,
    certificates: u64,
    messages: u64,
    attestations: u64,
    /// Of `attestations`, those of `Receive` blocks.
    receive_attestations: u64,
    phone_signatures: u64,
    witness_signatures: u64,
    /// Owner signatures checked by members validating a block.
    verify_block: u64,
    /// Send-certificate signatures checked by members validating a `Receive`.
    verify_send_cert: u64,
    /// Certificate signatures checked by the station after assembly.
    verify_station: u64,
    /// Certificate signatures checked by members adopting a pushed certificate.
    verify_push: u64,
    send_block_bytes: u64,
    receive_block_bytes: u64,
    phone_received_bytes: u64,
    send_cert_bytes: u64,
    receive_cert_bytes: u64,
    station_witness_bytes: u64,
    t_phone: Duration,
    t_attest_send: Duration,
    t_attest_receive: Duration,
    t_station: Duration,
    t_push: Duration,
    t_loop: Duration,
    /// The loop's thread CPU time, where the OS reports it (Linux).
    cpu_loop: Option<Duration>,
}

impl Counters {
    fn verifications(&self) -> u64 {
        self.verify_block + self.verify_send_cert + self.verify_station + self.verify_push
    }
    fn signatures(&self) -> u64 {
        self.phone_signatures + self.witness_signatures
    }
}

struct Wallet {
    keys: KeyPair,
    account: AccountId,
    state: AccountState,
}

/// An epoch's witnesses and wallets, driven in-process.
struct Net {
    epoch: Epoch,
    nodes: Vec<WitnessNode<MemoryWitnessStore>>,
    index: BTreeMap<WitnessId, usize>,
    /// Messages each witness received.
    received: Vec<u64>,
    /// Time each witness spent in `handle_attest` and `handle_certificate`.
    busy: Vec<Duration>,
    wallets: Vec<Wallet>,
    c: Counters,
}

impl Net {
    /// `w` witnesses (keys `sim_key(0..w)`), `wallets` genesis wallets (the next keys),
    /// committee size `n`.
    fn new(w: usize, wallets: usize, n: usize) -> Result<Self, String> {
        let rules = EpochRules {
            epoch: 0,
            min_amount: 10,
            dmapps: BTreeSet::new(),
        };
        let witness_keys: Vec<KeyPair> = (0..w).map(sim_key).collect();
        let witnesses: Vec<Witness> = witness_keys
            .iter()
            .map(|k| Witness {
                id: WitnessId(k.public_key().account_id().0),
                public_key: k.public_key().clone(),
            })
            .collect();
        let epoch = Epoch::new(rules, [7; 32], n, witnesses.clone());
        let index: BTreeMap<WitnessId, usize> = witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| (w.id, i))
            .collect();
        let wallets: Vec<Wallet> = (0..wallets)
            .map(|i| {
                let keys = sim_key(w + i);
                let state = genesis_state(&keys, FUNDS);
                Wallet {
                    account: keys.public_key().account_id(),
                    keys,
                    state,
                }
            })
            .collect();
        // Each witness is seeded with the genesis accounts it serves: computing every
        // committee once here instead of once per (witness, account) in `start`.
        let mut serves: Vec<Vec<(AccountId, AccountState)>> = vec![Vec::new(); w];
        for wallet in &wallets {
            for id in epoch.committee(&wallet.account) {
                let i = *index
                    .get(&id)
                    .ok_or("a committee member is not a witness")?;
                serves[i].push((wallet.account, wallet.state.clone()));
            }
        }
        let nodes = witnesses
            .into_iter()
            .zip(witness_keys)
            .zip(&serves)
            .map(|((witness, keys), genesis)| {
                WitnessNode::start(
                    witness,
                    keys,
                    epoch.clone(),
                    MemoryWitnessStore::default(),
                    genesis,
                )
                .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Net {
            epoch,
            nodes,
            index,
            received: vec![0; w],
            busy: vec![Duration::ZERO; w],
            wallets,
            c: Counters::default(),
        })
    }

    fn witness(&self, id: &WitnessId) -> Result<usize, String> {
        self.index
            .get(id)
            .copied()
            .ok_or_else(|| "a committee member is not a witness".to_string())
    }

    /// One transfer from wallet `s` to wallet `r`: the Send certified and pushed, then the
    /// recipient's Receive certified and pushed.
    fn transfer(&mut self, s: usize, r: usize) -> Result<(), String> {
        let to = self.wallets.get(r).ok_or("no such recipient")?.account;
        let sender = self.wallets.get_mut(s).ok_or("no such sender")?;
        let account = sender.account;
        let prev_to = sender.state.last_sent_to.get(&to).copied();
        let balance = sender
            .state
            .balance
            .checked_sub(AMOUNT)
            .ok_or("the sender ran out of funds")?;
        let op = Op::Send {
            to,
            amount: AMOUNT,
            memo: Vec::new(),
            prev_to,
        };
        let block = sign(sender, op, balance, &mut self.c)?;
        self.c.send_block_bytes += block.encode().len() as u64;
        let send = self.certify(block, None)?;
        self.c.send_cert_bytes += send.1 as u64;
        if let Some(sender) = self.wallets.get_mut(s) {
            sender.state = apply_certified(&sender.state, &send.0.block);
        }
        let mut targets: BTreeSet<WitnessId> = self.epoch.committee(&account).into_iter().collect();
        targets.extend(self.epoch.committee(&to));
        self.push(&send, &targets)?;
        // The certificate to the recipient (its phone, or its station for it).
        self.c.messages += 1;
        self.c.phone_received_bytes += send.1 as u64;

        let recipient = self.wallets.get_mut(r).ok_or("no such recipient")?;
        let balance = recipient
            .state
            .balance
            .checked_add(AMOUNT)
            .ok_or("the recipient's balance overflows")?;
        let op = Op::Receive {
            from: account,
            send_height: send.0.block.body.height,
            send_hash: send.0.block_hash(),
            amount: AMOUNT,
        };
        let block = sign(recipient, op, balance, &mut self.c)?;
        self.c.receive_block_bytes += block.encode().len() as u64;
        let receive = self.certify(block, Some(&send))?;
        self.c.receive_cert_bytes += receive.1 as u64;
        if let Some(recipient) = self.wallets.get_mut(r) {
            recipient.state = apply_certified(&recipient.state, &receive.0.block);
        }
        let targets: BTreeSet<WitnessId> = self.epoch.committee(&to).into_iter().collect();
        self.push(&receive, &targets)?;
        self.c.transfers += 1;
        Ok(())
    }

    /// The station's part: fan the block (and a Receive's send certificate) out to the
    /// committee, assemble the first q attestations, verify, return the certificate (and its
    /// encoded size) to the phone.
    fn certify(
        &mut self,
        block: Block,
        send: Option<&(Certificate, usize)>,
    ) -> Result<(Certificate, usize), String> {
        let committee = self.epoch.committee(&block.body.account);
        let q = self.epoch.quorum();
        let request_bytes = (block.encode().len() + send.map_or(0, |s| s.1)) as u64;
        let send_signers = send.map_or(0, |s| s.0.signer_count()) as u64;
        let request = AttestRequest {
            block,
            send: send.map(|s| s.0.clone()),
        };
        let mut attestations = Vec::with_capacity(committee.len());
        for id in &committee {
            let i = self.witness(id)?;
            self.c.messages += 2; // request and reply
            self.received[i] += 1;
            self.c.station_witness_bytes += request_bytes;
            let started = Instant::now();
            let reply = self.nodes[i].handle_attest(&request);
            let spent = started.elapsed();
            self.busy[i] += spent;
            if send.is_some() {
                self.c.t_attest_receive += spent;
            } else {
                self.c.t_attest_send += spent;
            }
            let AttestReply::Attested(a) = reply else {
                return Err(format!("witness {i} did not attest: {reply:?}"));
            };
            self.c.attestations += 1;
            if send.is_some() {
                self.c.receive_attestations += 1;
            }
            self.c.witness_signatures += 1;
            self.c.verify_block += 1;
            self.c.verify_send_cert += send_signers;
            self.c.station_witness_bytes += (a.statement.encode().len()
                + a.witness.0.len()
                + a.signature.to_bytes().len()) as u64;
            attestations.push(a);
        }
        let started = Instant::now();
        let cert = Certificate::assemble(
            request.block,
            &self.epoch,
            &attestations[..q.min(attestations.len())],
        );
        cert.verify(&self.epoch)
            .map_err(|e| format!("the assembled certificate does not verify: {e}"))?;
        self.c.t_station += started.elapsed();
        self.c.verify_station += cert.signer_count() as u64;
        self.c.certificates += 1;
        // The certificate back to the phone.
        self.c.messages += 1;
        let bytes = cert.encode().len();
        self.c.phone_received_bytes += bytes as u64;
        Ok((cert, bytes))
    }

    /// Pushes a certificate to each target witness.
    fn push(
        &mut self,
        cert: &(Certificate, usize),
        targets: &BTreeSet<WitnessId>,
    ) -> Result<(), String> {
        for id in targets {
            let i = self.witness(id)?;
            self.c.messages += 1;
            self.received[i] += 1;
            self.c.station_witness_bytes += cert.1 as u64;
            let started = Instant::now();
            let outcome = self.nodes[i].handle_certificate(&cert.0);
            let spent = started.elapsed();
            self.busy[i] += spent;
            self.c.t_push += spent;
            match outcome {
                CertificateOutcome::Applied(_) | CertificateOutcome::Noted => {
                    self.c.verify_push += cert.0.signer_count() as u64;
                }
                other => {
                    return Err(format!(
                        "witness {i} did not adopt a certificate: {other:?}"
                    ))
                }
            }
        }
        Ok(())
    }

    /// Runs `transfers` transfers, sender round-robin, recipient drawn from `seed`.
    fn run(&mut self, transfers: usize, seed: u64) -> Result<(), String> {
        let wallets = self.wallets.len();
        if wallets < 2 {
            return Err("a transfer needs at least 2 wallets".into());
        }
        let mut rng = SimRng::new(seed);
        let pairs: Vec<(usize, usize)> = (0..transfers)
            .map(|t| {
                let s = t % wallets;
                let r = (s + 1 + rng.below(wallets as u64 - 1) as usize) % wallets;
                (s, r)
            })
            .collect();
        let cpu = thread_cpu();
        let started = Instant::now();
        for (s, r) in pairs {
            self.transfer(s, r)?;
        }
        self.c.t_loop = started.elapsed();
        self.c.cpu_loop = thread_cpu()
            .zip(cpu)
            .map(|(end, start)| end.saturating_sub(start));
        Ok(())
    }
}

/// This thread's CPU time so far: the first field of `/proc/thread-self/schedstat` (time on
/// a CPU, ns). `None` where that file does not exist. Read only around whole loops: it costs
/// a file read.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The owner's part: sign the next block of `wallet` (the phone).
fn sign(wallet: &mut Wallet, op: Op, balance: u64, c: &mut Counters) -> Result<Block, String> {
    let started = Instant::now();
    let block = BlockBody {
        account: wallet.account,
        height: wallet.state.head_height + 1,
        previous: wallet.state.head_hash,
        epoch: 0,
        op,
        balance,
        timestamp_ms: wallet.state.last_timestamp_ms + 1,
        dmapp: DmappId::WALLET,
    }
    .sign(&mut wallet.keys)
    .map_err(|e| format!("the owner cannot sign: {e}"))?;
    c.t_phone += started.elapsed();
    c.phone_signatures += 1;
    c.messages += 1; // the block, once, to the phone's station
    Ok(block)
}

fn throughput(args: &BenchArgs) -> Result<(), String> {
    for &n in &args.committee {
        let setup = Instant::now();
        let mut net = Net::new(args.witnesses, args.wallets, n)?;
        let setup = setup.elapsed();
        net.run(args.transfers, args.seed)?;
        report(&net, args, n, setup);
    }
    Ok(())
}

fn per(x: u64, t: u64) -> f64 {
    x as f64 / t.max(1) as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(net: &Net, args: &BenchArgs, n: usize, setup: Duration) {
    let c = &net.c;
    let t = c.transfers;
    let n_eff = net.epoch.committee_len();
    let (_, q) = quorum(n_eff);
    let secs = c.t_loop.as_secs_f64();
    println!();
    if n_eff < n {
        println!(
            "(n = {n} asked, W = {} < n: the committee is all of W, FastPay mode)",
            args.witnesses
        );
    }
    println!(
        "== n = {n_eff}, q = {q}: W = {} witnesses, {} wallets, {t} transfers, seed {} (setup {:.1} s, not timed)",
        args.witnesses, args.wallets, args.seed, setup.as_secs_f64()
    );
    println!(
        "committee security at p = {}: {:.1} bits (-log2 P[Binomial({n_eff}, p) >= f+1])",
        args.p,
        security_bits(n_eff, args.p)
    );
    println!(
        "loop: {:.2} s wall-clock (Instant) on one thread; {}",
        secs,
        match c.cpu_loop {
            Some(cpu) => format!(
                "thread CPU time {:.2} s (wall ÷ CPU = {:.3}: above ~1.02 the machine was busy and every rate below is understated by that factor)",
                cpu.as_secs_f64(),
                secs / cpu.as_secs_f64()
            ),
            None => "thread CPU time not available here".to_string(),
        }
    );
    println!(
        "confirmed transfers per core-second: {:.1} (each = Send certified + Receive certified)",
        t as f64 / secs
    );
    let attest_receive = c.receive_attestations;
    let attest_send = c.attestations - attest_receive;
    println!(
        "attestations per core-second: {:.0} end to end (every attestation, all work of the loop charged to them; DESIGN §11 target ≥ {ATTESTATIONS_TARGET:.0} unbatched: ratio {:.2})",
        c.attestations as f64 / secs,
        c.attestations as f64 / secs / ATTESTATIONS_TARGET
    );
    println!(
        "  handle_attest alone: Send {:.0}/s ({:.0} µs each: validate + lock + sign), Receive {:.0}/s ({:.0} µs each: also verifies the send's {q}-signature certificate)",
        attest_send as f64 / c.t_attest_send.as_secs_f64(),
        c.t_attest_send.as_secs_f64() * 1e6 / attest_send.max(1) as f64,
        attest_receive as f64 / c.t_attest_receive.as_secs_f64(),
        c.t_attest_receive.as_secs_f64() * 1e6 / attest_receive.max(1) as f64,
    );
    println!(
        "cost per transfer (signatures and verifications counted at the call sites: station/src/bench.rs says how):"
    );
    println!(
        "  signatures made        {:>9.1}  (phones {:.0}, witnesses {:.1})",
        per(c.signatures(), t),
        per(c.phone_signatures, t),
        per(c.witness_signatures, t)
    );
    println!(
        "  signature verifications{:>9.1}  (block signatures by members {:.1}, send certificate in Receive {:.1}, station after assembly {:.1}, pushed certificates {:.1})",
        per(c.verifications(), t),
        per(c.verify_block, t),
        per(c.verify_send_cert, t),
        per(c.verify_station, t),
        per(c.verify_push, t)
    );
    println!(
        "  messages               {:>9.1}  (requests, replies, pushes; 1 per hop; no acks)",
        per(c.messages, t)
    );
    let send_block = per(c.send_block_bytes, t);
    println!(
        "  bytes the sender's phone sends   {:>7.0}  (its Send block, once; DESIGN §11 ≤ 4 KB: ratio {:.2}); the recipient's phone sends {:.0} (its Receive block)",
        send_block,
        send_block / PHONE_BYTES_TARGET,
        per(c.receive_block_bytes, t)
    );
    println!(
        "  certificate bytes      {:>9.0}  (Send), {:.0} (Receive); phones receive {:.0} B per transfer in certificates",
        per(c.send_cert_bytes, t),
        per(c.receive_cert_bytes, t),
        per(c.phone_received_bytes, t)
    );
    println!(
        "  station <-> witness payload bytes {:.0}",
        per(c.station_witness_bytes, t)
    );
    println!(
        "  CPU per transfer {:.2} ms: phones signing {:.2}, handle_attest Send {:.2}, Receive {:.2}, station assemble+verify {:.2}, handle_certificate {:.2}, rest {:.2}",
        ms(c.t_loop) / t.max(1) as f64,
        ms(c.t_phone) / t.max(1) as f64,
        ms(c.t_attest_send) / t.max(1) as f64,
        ms(c.t_attest_receive) / t.max(1) as f64,
        ms(c.t_station) / t.max(1) as f64,
        ms(c.t_push) / t.max(1) as f64,
        ms(c.t_loop.saturating_sub(c.t_phone + c.t_attest_send + c.t_attest_receive + c.t_station + c.t_push)) / t.max(1) as f64,
    );
    let witness_time: Duration = net.busy.iter().sum();
    println!(
        "  witness CPU per attestation {:.0} µs (all handle_* time ÷ attestations) → {:.0} attestations per witness-core-second",
        witness_time.as_secs_f64() * 1e6 / c.attestations.max(1) as f64,
        c.attestations as f64 / witness_time.as_secs_f64()
    );
}

/// One row of the scaling table (driver half).
struct Row {
    witnesses: usize,
    wallets: usize,
    blocks: u64,
    setup: Duration,
    messages_per_block: f64,
    attestations_per_block: f64,
    /// Signatures and verifications by witnesses per certified block (exact counts).
    witness_crypto_per_block: (f64, f64),
    cpu_ms_per_block: f64,
    /// The same from the loop's thread CPU time (NaN if unavailable).
    thread_cpu_ms_per_block: f64,
    /// Mean and max over witnesses of (messages received) ÷ (certified blocks ÷ W).
    load_mean: f64,
    load_max: f64,
    /// Mean and max over witnesses of (µs in handle_*) ÷ (certified blocks ÷ W).
    cpu_mean_us: f64,
    cpu_max_us: f64,
}

fn wallets_for(args: &BenchArgs, w: usize) -> usize {
    ((w as f64 * args.wallets_per_witness).round() as usize).max(2)
}

fn scaling(args: &BenchArgs) -> Result<(), String> {
    let n = args.scaling_committee;
    let (_, q) = quorum(n);
    println!(
        "scaling: n = {n} fixed (q = {q}; committee security at p = {}: {:.1} bits), wallets = {} × W, {} transfer(s) per wallet, no faults, seed {}",
        args.p,
        security_bits(n, args.p),
        args.wallets_per_witness,
        args.transfers_per_wallet,
        args.seed
    );
    println!(
        "per-witness load = (what one witness received, or spent in handle_*) ÷ (certified blocks ÷ W): a witness's cost per \
         unit of network throughput. Its mean over witnesses staying flat as W grows = per-node cost per transfer flat = \
         capacity ∝ W; the max shows hot spots (random committee placement)."
    );
    println!();
    println!("driver (in-process station, real state machines; messages and crypto counted exactly, CPU timed per witness):");
    println!("| W | wallets | certified blocks | setup s | messages / block | attestations / block | witness signs / block | witness verifies / block | wall ms / block (one thread) | thread CPU ms / block | per-witness messages: mean | max | per-witness CPU µs: mean | max | Δ mean messages vs last row | Δ mean CPU vs last row |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for &w in &args.sizes {
        let wallets = wallets_for(args, w);
        let setup = Instant::now();
        let mut net = Net::new(w, wallets, n)?;
        let setup = setup.elapsed();
        net.run(wallets * args.transfers_per_wallet, args.seed)?;
        let c = &net.c;
        let blocks = c.certificates;
        let share = blocks as f64 / w as f64;
        let max_received = net.received.iter().copied().max().unwrap_or(0);
        let max_busy = net.busy.iter().copied().max().unwrap_or_default();
        let busy: Duration = net.busy.iter().sum();
        let received: u64 = net.received.iter().sum();
        rows.push(Row {
            witnesses: w,
            wallets,
            blocks,
            setup,
            messages_per_block: per(c.messages, blocks),
            attestations_per_block: per(c.attestations, blocks),
            witness_crypto_per_block: (
                per(c.witness_signatures, blocks),
                per(c.verify_block + c.verify_send_cert + c.verify_push, blocks),
            ),
            cpu_ms_per_block: ms(c.t_loop) / blocks.max(1) as f64,
            thread_cpu_ms_per_block: c
                .cpu_loop
                .map_or(f64::NAN, |d| ms(d) / blocks.max(1) as f64),
            load_mean: received as f64 / w as f64 / share,
            load_max: max_received as f64 / share,
            cpu_mean_us: busy.as_secs_f64() * 1e6 / w as f64 / share,
            cpu_max_us: max_busy.as_secs_f64() * 1e6 / share,
        });
    }
    let Some(last) = rows.last() else {
        return Err("--sizes is empty".into());
    };
    let delta = |v: f64, base: f64| format!("{:+.1} %", (v / base - 1.0) * 100.0);
    for row in &rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {} | {} |",
            row.witnesses,
            row.wallets,
            row.blocks,
            row.setup.as_secs_f64(),
            row.messages_per_block,
            row.attestations_per_block,
            row.witness_crypto_per_block.0,
            row.witness_crypto_per_block.1,
            row.cpu_ms_per_block,
            row.thread_cpu_ms_per_block,
            row.load_mean,
            row.load_max,
            row.cpu_mean_us,
            row.cpu_max_us,
            delta(row.load_mean, last.load_mean),
            delta(row.cpu_mean_us, last.cpu_mean_us),
        );
    }
    if args.no_sim {
        return Ok(());
    }
    println!();
    println!("simulator (zeropole_core::sim::run, faults off, max delay {} ticks; wallets also poll their committees on a timer, acknowledge pushes and retry; wall time includes setup):", SimConfig::small().max_delay);
    println!("| W | wallets | certified blocks | ticks | wall s | messages / block | witness-received / block | of which polls | attestations / block | wall-clock ms / block | per-witness messages: mean | max | per-witness messages without polls: mean |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &w in &args.sizes {
        let wallets = wallets_for(args, w);
        let config = SimConfig {
            seed: args.seed,
            witnesses: w,
            byzantine: 0,
            owners: wallets,
            equivocators: 0,
            n,
            transfers_per_owner: args.transfers_per_wallet as u32,
            loss: 0.0,
            crash_probability: 0.0,
            partition_probability: 0.0,
            chaos_ticks: 0,
            ..SimConfig::small()
        };
        let started = Instant::now();
        let report = run_sim(&config).map_err(|f| f.to_string())?;
        let wall = started.elapsed();
        let blocks = report.certificates as u64;
        let share = blocks as f64 / w as f64;
        println!(
            "| {w} | {wallets} | {blocks} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            report.ticks,
            wall.as_secs_f64(),
            per(report.messages, blocks),
            per(report.witness_messages, blocks),
            per(report.witness_polls, blocks),
            per(report.attestations, blocks),
            ms(wall) / blocks.max(1) as f64,
            report.witness_messages as f64 / w as f64 / share,
            report.max_witness_messages as f64 / share,
            (report.witness_messages - report.witness_polls) as f64 / w as f64 / share,
        );
    }
    Ok(())
}
