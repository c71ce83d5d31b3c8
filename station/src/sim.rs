//! `zeropole sim`: runs the deterministic simulator over many seeds and prints the seeds
//! that fail, so any failure replays with `zeropole sim --seed N`.
//!
//! Exit codes: 0 all seeds passed, 2 a safety invariant broke, 3 liveness failed.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use zeropole_core::poc::security_bits;
use zeropole_core::sim::{run as run_one, SimConfig, SimFailure};

/// Options of `zeropole sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Number of seeds to run (from --seed upward).
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed (alone with --seeds 1: replay one run).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Witnesses (the "nodes" of the network).
    #[arg(long, default_value_t = 24)]
    nodes: usize,
    /// Wallets.
    #[arg(long, default_value_t = 10)]
    wallets: usize,
    /// Committee size n.
    #[arg(long, default_value_t = 7)]
    committee: usize,
    /// Byzantine witnesses (at most f per committee).
    #[arg(long, default_value_t = 4)]
    byzantine: usize,
    /// Equivocating wallets.
    #[arg(long, default_value_t = 1)]
    equivocators: usize,
    /// Transfers each wallet starts.
    #[arg(long, default_value_t = 2)]
    transfers: u32,
    /// Message loss probability during the chaos phase.
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Epoch changes during the chaos phase (each hands every used account over to a new
    /// committee); 0 keeps the witness set of epoch 0 throughout.
    #[arg(long, default_value_t = 1)]
    epochs: u32,
    /// Witnesses that leave, and new ones that join, at each epoch change.
    #[arg(long, default_value_t = 3)]
    churn: usize,
    /// Honest witnesses sign each attestation alone instead of answering a tick's requests
    /// as one batch (one root signature).
    #[arg(long)]
    single_attest: bool,
}

/// Runs the seeds and reports.
pub fn run(args: SimArgs) -> ExitCode {
    let base = SimConfig {
        witnesses: args.nodes,
        owners: args.wallets,
        n: args.committee,
        byzantine: args.byzantine,
        equivocators: args.equivocators,
        transfers_per_owner: args.transfers,
        loss: args.loss,
        epochs: args.epochs,
        churn: args.churn,
        batch_attest: !args.single_attest,
        ..SimConfig::small()
    };
    let p = args.byzantine as f64 / args.nodes.max(1) as f64;
    println!(
        "SEED={} seeds={} nodes={} wallets={} n={} byzantine={} (p={p:.3}, security at this n: {:.1} bits) equivocators={} transfers={} loss={} epochs={} churn={} attest={}",
        args.seed, args.seeds, args.nodes, args.wallets, args.committee, args.byzantine,
        security_bits(args.committee, p), args.equivocators, args.transfers, args.loss,
        args.epochs, args.churn, if args.single_attest { "single" } else { "batched" }
    );
    let started = Instant::now();
    let (mut passed, mut safety, mut liveness) = (0u64, 0u64, 0u64);
    let (mut certificates, mut messages) = (0usize, 0u64);
    let (mut attestations, mut batches) = (0u64, 0u64);
    for seed in args.seed..args.seed.saturating_add(args.seeds) {
        match run_one(&SimConfig {
            seed,
            ..base.clone()
        }) {
            Ok(report) => {
                passed += 1;
                certificates += report.certificates;
                messages += report.messages;
                attestations += report.attestations;
                batches += report.batches;
                if args.seeds == 1 {
                    println!("{report:?}");
                }
            }
            Err(failure) => {
                match failure {
                    SimFailure::Safety { .. } => safety += 1,
                    SimFailure::Liveness { .. } => liveness += 1,
                }
                println!("FAILED {failure}  (replay: zeropole sim --seeds 1 --seed {seed} ...same options)");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{passed} passed, {} failed ({safety} safety, {liveness} liveness) in {secs:.1} s; {certificates} certificates, {:.1} messages per certificate; {attestations} attestations, {batches} batch root signatures",
        safety + liveness,
        messages as f64 / certificates.max(1) as f64
    );
    if safety > 0 {
        ExitCode::from(2)
    } else if liveness > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}
