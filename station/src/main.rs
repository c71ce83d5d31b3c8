//! `zeropole`: the ZeroPole command line.
//!
//! `wallet new`, `wallet restore`, `station` (an operator's station), `devnet` (a whole
//! network on loopback), `sim` (the deterministic simulator) and `bench` (POC cost model
//! and scaling).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zeropole_core::wallet::{Wallet, WalletError};

mod batch_bench;
mod bench;
mod broadcast_bench;
mod labnode;
mod labsdk;
mod sim;

#[derive(Parser)]
#[command(
    name = "zeropole",
    version,
    about = "ZeroPole: a blockchain participant that fits in a phone"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Wallets: Falcon-512 accounts derived from a 24-word phrase.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Run a station (relay, kad, POC collection, witness duty if admitted) from a TOML
    /// configuration.
    Station(zeropole::station::StationArgs),
    /// A whole network on loopback: 2 stations, phone witnesses and phones sending real
    /// transfers; prints confirmation latency and checks the supply.
    Devnet(zeropole::devnet::DevnetArgs),
    /// Deterministic simulation of the ledger and POC with faults and byzantine actors.
    Sim(sim::SimArgs),
    /// POC throughput and cost model, in-process with real Falcon-512 (`--scaling`: the
    /// cost per certified block and per witness as the network grows).
    Bench(bench::BenchArgs),
    /// Network-namespace NAT lab for multi-node tests: `netlab check` (Linux, root).
    #[cfg(target_os = "linux")]
    Netlab(zeropole::netlab::cli::NetlabArgs),
    /// One devnet node driven over stdin/stdout (a test tool of the namespace lab).
    #[command(hide = true)]
    LabNode(labnode::LabNodeArgs),
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Create a wallet with a new phrase; prints the account id and the phrase to back up.
    New {
        /// The wallet database (created; an existing wallet is never overwritten).
        #[arg(long, default_value = "zeropole-data/wallet.db")]
        db: PathBuf,
    },
    /// Restore (or reopen) the wallet of a phrase read from standard input.
    Restore {
        /// The wallet database (created if absent; must belong to the same phrase if present).
        #[arg(long, default_value = "zeropole-data/wallet.db")]
        db: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A station logs what it does by default; the other commands print their own
    // output and log only when `ZEROPOLE_LOG` asks for it.
    let default_log = match cli.command {
        Command::Station(_) => log::LevelFilter::Info,
        _ => log::LevelFilter::Off,
    };
    zeropole::logging::init(default_log);
    let result = match cli.command {
        Command::Wallet(WalletCommand::New { db }) => wallet_new(db),
        Command::Wallet(WalletCommand::Restore { db }) => wallet_restore(db),
        Command::Station(args) => return zeropole::station::run(args),
        Command::Devnet(args) => return zeropole::devnet::run(args),
        Command::Sim(args) => return sim::run(args),
        Command::Bench(args) => return bench::run(args),
        #[cfg(target_os = "linux")]
        Command::Netlab(args) => return zeropole::netlab::cli::run(args),
        Command::LabNode(args) => return labnode::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn wallet_new(db: PathBuf) -> Result<(), String> {
    let wallet = Wallet::create(&db).map_err(|e| match e {
        WalletError::AlreadyExists(_) => {
            format!(
                "{e}\nhint: `zeropole wallet restore --db {}` or choose another --db",
                db.display()
            )
        }
        other => other.to_string(),
    })?;
    println!("account  {}", wallet.account_id());
    println!("database {}", db.display());
    println!();
    println!(
        "Seed phrase (the only way to restore this account; it is NOT stored in the database):"
    );
    println!("  {}", wallet.phrase().as_str());
    Ok(())
}

fn wallet_restore(db: PathBuf) -> Result<(), String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Enter the 24-word seed phrase: ");
        std::io::stderr().flush().map_err(|e| e.to_string())?;
    }
    let mut phrase = String::new();
    stdin
        .lock()
        .read_line(&mut phrase)
        .map_err(|e| format!("cannot read the phrase: {e}"))?;
    let wallet = Wallet::restore(&db, &phrase).map_err(|e| e.to_string())?;
    println!("account  {}", wallet.account_id());
    println!("database {}", db.display());
    Ok(())
}
