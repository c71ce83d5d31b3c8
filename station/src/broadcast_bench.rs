//! `zeropole bench --broadcast`: Kadcast against flood and gossip in the deterministic
//! broadcast simulator (`zeropole_core::broadcast::sim`), against DESIGN.md §11's row
//! "copies of a broadcast received per node ≤ β + 1, 100 % coverage at 20 % churn".
//!
//! For each size of `--sizes` it builds one overlay (random ids, Kademlia tables with
//! `--bucket-size` peers per bucket) and runs `--broadcasts` broadcasts of every protocol
//! at every `--churn` level; every number derives from `--seed`.

use std::time::Instant;

use clap::Args;
use zeropole_core::broadcast::sim::{run, Overlay, Protocol, Report, SimConfig};

/// Options of `zeropole bench --broadcast` (with `--sizes` and `--seed`).
#[derive(Args, Debug)]
pub struct BroadcastArgs {
    /// Fractions of nodes offline during each broadcast, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.2])]
    churn: Vec<f64>,
    /// Broadcasts per protocol, size and churn level.
    #[arg(long, default_value_t = 10)]
    broadcasts: usize,
    /// Kadcast β values, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 3])]
    betas: Vec<usize>,
    /// Peers per routing-table bucket (Kademlia's k).
    #[arg(long, default_value_t = 20)]
    bucket_size: usize,
    /// Gossip fan-out (gossipsub's D).
    #[arg(long, default_value_t = 6)]
    gossip_fanout: usize,
    /// Kadcast acknowledgement timeout, ticks.
    #[arg(long, default_value_t = 250)]
    ack_timeout: u64,
    /// With churn, also run Kadcast with liveness hints: the probability that a node
    /// knows a given offline peer is offline before the broadcast (0 skips these rows).
    #[arg(long, default_value_t = 0.9)]
    liveness_hints: f64,
    /// With churn, also run Kadcast and gossip with this fraction of silent droppers
    /// (online nodes that acknowledge and forward nothing; 0 skips these rows).
    #[arg(long, default_value_t = 0.05)]
    droppers: f64,
}

/// Runs the table and prints it; `Err` if an argument makes no run possible.
pub fn run_bench(args: &BroadcastArgs, sizes: &[usize], seed: u64) -> Result<(), String> {
    if sizes.iter().any(|&n| n < 2) || args.broadcasts == 0 || args.betas.contains(&0) {
        return Err("--sizes ≥ 2, --broadcasts ≥ 1 and --betas ≥ 1 are required".into());
    }
    if args.churn.iter().any(|c| !(0.0..1.0).contains(c)) {
        return Err("--churn values must be in [0, 1)".into());
    }
    if !(0.0..=1.0).contains(&args.liveness_hints) || !(0.0..1.0).contains(&args.droppers) {
        return Err("--liveness-hints must be in [0, 1] and --droppers in [0, 1)".into());
    }
    println!("SEED={seed}");
    let defaults = SimConfig::default();
    println!(
        "broadcasts={} bucket_size={} link latency={}..={} ticks + jitter ≤ {} ticks ack_timeout={} ticks gossip_fanout={} liveness_hints={} droppers={}",
        args.broadcasts,
        args.bucket_size,
        defaults.min_delay,
        defaults.max_delay,
        defaults.jitter,
        args.ack_timeout,
        args.gossip_fanout,
        args.liveness_hints,
        args.droppers
    );
    println!("target (DESIGN §11): copies per node ≤ β + 1, 100 % coverage at 20 % churn");
    println!();
    println!(
        "| nodes | churn | protocol | copies/node mean | copies/node max | coverage mean (min) | full | ticks to full (mean) | msgs/broadcast | acks/broadcast | target |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut protocols: Vec<Protocol> = Vec::new();
    for &beta in &args.betas {
        protocols.push(Protocol::kadcast(beta));
    }
    for &beta in args.betas.iter().filter(|&&b| b > 1) {
        protocols.push(Protocol::Kadcast {
            beta,
            independent_trees: false,
            reliable: true,
        });
    }
    protocols.push(Protocol::Kadcast {
        beta: 1,
        independent_trees: true,
        reliable: false,
    });
    protocols.push(Protocol::Gossip {
        fanout: args.gossip_fanout,
    });
    protocols.push(Protocol::Flood);
    let started = Instant::now();
    for &nodes in sizes {
        let base = SimConfig {
            seed,
            nodes,
            bucket_size: args.bucket_size,
            broadcasts: args.broadcasts,
            ack_timeout: args.ack_timeout,
            ..SimConfig::default()
        };
        let overlay = Overlay::new(&base);
        for &churn in &args.churn {
            let config = SimConfig {
                churn,
                ..base.clone()
            };
            for &p in &protocols {
                let report = run(&overlay, &config, p);
                println!("{}", row(nodes, churn, &report, args.broadcasts, ""));
            }
            if churn > 0.0 && args.liveness_hints > 0.0 {
                let hinted = SimConfig {
                    liveness_hints: args.liveness_hints,
                    ..config.clone()
                };
                let label = format!(" hints {:.0} %", args.liveness_hints * 100.0);
                for &beta in &args.betas {
                    let report = run(&overlay, &hinted, Protocol::kadcast(beta));
                    println!("{}", row(nodes, churn, &report, args.broadcasts, &label));
                }
            }
            if churn > 0.0 && args.droppers > 0.0 {
                let byzantine = SimConfig {
                    droppers: args.droppers,
                    ..config.clone()
                };
                let label = format!(" {:.0} % droppers", args.droppers * 100.0);
                let mut with_droppers: Vec<Protocol> =
                    args.betas.iter().map(|&b| Protocol::kadcast(b)).collect();
                with_droppers.push(Protocol::Gossip {
                    fanout: args.gossip_fanout,
                });
                for p in with_droppers {
                    let report = run(&overlay, &byzantine, p);
                    println!("{}", row(nodes, churn, &report, args.broadcasts, &label));
                }
            }
        }
    }
    println!();
    println!("wall time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn row(nodes: usize, churn: f64, r: &Report, broadcasts: usize, label: &str) -> String {
    let byzantine = label.contains("droppers");
    let target = match r.protocol {
        _ if byzantine => "outside §11 (byzantine)".to_string(),
        Protocol::Kadcast { beta, .. } => {
            let bound = beta as f64 + 1.0;
            let ok = r.mean_copies() <= bound && r.min_coverage() >= 1.0;
            format!(
                "{} ({:.2}× of β+1)",
                if ok { "met" } else { "missed" },
                r.mean_copies() / bound
            )
        }
        _ => "baseline".to_string(),
    };
    format!(
        "| {nodes} | {:.0} % | {}{label} | {:.2} | {} | {:.2} % ({:.2} %) | {}/{broadcasts} | {} | {:.0} | {:.0} | {target} |",
        churn * 100.0,
        r.protocol,
        r.mean_copies(),
        r.max_copies(),
        r.mean_coverage() * 100.0,
        r.min_coverage() * 100.0,
        r.full(),
        r.mean_ticks_to_full()
            .map_or("—".to_string(), |t| format!("{t:.0}")),
        r.mean_messages(),
        r.mean_acks(),
    )
}
