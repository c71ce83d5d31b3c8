//! `zeropole netlab …`: `check` (build a lab, probe it, print a table) and the hidden
//! `probe` programs that labs run inside their namespaces.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::probe::programs;

/// Options of `zeropole netlab`.
#[derive(Args, Debug)]
pub struct NetlabArgs {
    #[command(subcommand)]
    command: NetlabCommand,
}

#[derive(Subcommand, Debug)]
enum NetlabCommand {
    /// Build a lab (public hosts, easy and hard NAT routers), probe it and print what each
    /// NAT kind does (needs root, `ip` and `nft`).
    Check,
    /// Start real nodes (4 stations, phones behind easy and hard NATs) and measure the
    /// time to a relayed connection, hole-punch success per NAT pair and the recovery
    /// time after an address switch (needs root; a few minutes).
    Measure(super::measure::MeasureArgs),
    /// Measure an idle SDK phone per mobile-life profile: packets, bytes and wake-ups per
    /// idle minute, and the cost of one `sync_once()` (root; the numbers of BENCHMARKS.md).
    Idle(super::idle::IdleArgs),
    /// A probe program, run by the lab inside a namespace.
    #[command(subcommand, hide = true)]
    Probe(ProbeCommand),
}

#[derive(Subcommand, Debug)]
enum ProbeCommand {
    /// UDP observer and rendezvous server.
    UdpServer {
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = 120_000)]
        lifetime_ms: u64,
    },
    /// TCP observer server.
    TcpServer {
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = 120_000)]
        lifetime_ms: u64,
    },
    /// Ask UDP observers which source address they see, from one socket.
    UdpObserve {
        #[arg(long)]
        bind: u16,
        #[arg(long = "to", required = true)]
        targets: Vec<SocketAddr>,
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
    /// Ask a TCP observer which source address it sees.
    TcpObserve {
        #[arg(long = "to")]
        target: SocketAddr,
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
    /// UDP hole punching through a rendezvous server.
    Punch {
        #[arg(long)]
        bind: u16,
        #[arg(long)]
        rendezvous: SocketAddr,
        #[arg(long)]
        id: String,
        #[arg(long)]
        peer: String,
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
    },
}

/// Runs `zeropole netlab …`.
pub fn run(args: NetlabArgs) -> ExitCode {
    let ms = Duration::from_millis;
    let result = match args.command {
        NetlabCommand::Check => return super::check::run(),
        NetlabCommand::Measure(a) => return super::measure::run(a),
        NetlabCommand::Idle(a) => return super::idle::run(a),
        NetlabCommand::Probe(p) => match p {
            ProbeCommand::UdpServer { port, lifetime_ms } => {
                programs::udp_server(port, ms(lifetime_ms))
            }
            ProbeCommand::TcpServer { port, lifetime_ms } => {
                programs::tcp_server(port, ms(lifetime_ms))
            }
            ProbeCommand::UdpObserve {
                bind,
                targets,
                timeout_ms,
            } => programs::udp_observe(bind, &targets, ms(timeout_ms)),
            ProbeCommand::TcpObserve { target, timeout_ms } => {
                programs::tcp_observe(target, ms(timeout_ms))
            }
            ProbeCommand::Punch {
                bind,
                rendezvous,
                id,
                peer,
                timeout_ms,
            } => programs::punch(bind, rendezvous, &id, &peer, ms(timeout_ms)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netlab probe: {e}");
            ExitCode::FAILURE
        }
    }
}
