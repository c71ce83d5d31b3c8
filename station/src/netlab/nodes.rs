//! Real ZeroPole nodes in a lab: `zeropole lab-node` processes (stations on the public
//! segment, phones behind NAT routers) driven over stdin/stdout. Shared by the NAT lab
//! tests (`station/tests/nat_lab.rs`) and `zeropole netlab measure`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use zeropole_core::devnet::Devnet;

use super::{Host, Lab, LabError};

/// Port every station listens on (QUIC and TCP).
pub const STATION_PORT: u16 = 4001;
/// Default bound of one wait.
pub const WAIT: Duration = Duration::from_secs(30);

/// The devnet the lab's nodes belong to: its seed, its shape, the genesis file every node
/// reads (witness ids cover randomized admission signatures, so one file is shared) and
/// the `zeropole` executable.
pub struct Devlab {
    /// Devnet seed.
    pub seed: u64,
    /// Stations (all witnesses).
    pub stations: usize,
    /// Funded wallets.
    pub wallets: usize,
    /// The shared genesis TOML.
    pub genesis: PathBuf,
    /// The `zeropole` executable.
    pub exe: PathBuf,
    /// Where stations keep their witness stores (removed on drop).
    pub data: tempfile::TempDir,
}

impl Devlab {
    /// Generates the devnet and writes its genesis to `genesis`.
    pub fn new(
        seed: u64,
        stations: usize,
        wallets: usize,
        genesis: PathBuf,
        exe: PathBuf,
    ) -> Result<Devlab, LabError> {
        let devnet = Devnet::generate(seed, stations, wallets, None)
            .map_err(|e| LabError::Probe(format!("devnet: {e}")))?;
        std::fs::write(&genesis, devnet.genesis.to_toml_string())?;
        Ok(Devlab {
            seed,
            stations,
            wallets,
            genesis,
            exe,
            data: tempfile::tempdir()?,
        })
    }

    /// The PeerId of node `index` of `role` ("station" or "phone").
    pub fn peer(&self, role: &str, index: usize) -> PeerId {
        Devnet::transport_key(self.seed, role, index)
            .public()
            .to_peer_id()
    }

    /// A station's QUIC address.
    pub fn quic(&self, host: &Host, station: usize) -> String {
        format!(
            "/ip4/{}/udp/{STATION_PORT}/quic-v1/p2p/{}",
            host.ip(),
            self.peer("station", station)
        )
    }

    /// A station's TCP address.
    pub fn tcp(&self, host: &Host, station: usize) -> String {
        format!(
            "/ip4/{}/tcp/{STATION_PORT}/p2p/{}",
            host.ip(),
            self.peer("station", station)
        )
    }
}

impl Drop for Devlab {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.genesis);
    }
}

/// A running `zeropole lab-node`.
pub struct LabNode {
    /// A label for messages.
    pub name: String,
    /// Its process id (killed when the lab drops).
    pub pid: u32,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// `EVENT` lines read while waiting for something else (events race with answers).
    events: Vec<String>,
}

impl LabNode {
    /// Starts `zeropole lab-node <args>` in `host` and waits for its `READY`.
    pub fn start(
        lab: &mut Lab,
        devlab: &Devlab,
        host: &Host,
        name: &str,
        args: &[String],
    ) -> Result<LabNode, LabError> {
        let mut cmd: Command = host.command(&devlab.exe)?;
        cmd.arg("lab-node")
            .args(["--seed", &devlab.seed.to_string()])
            .args(["--stations", &devlab.stations.to_string()])
            .args(["--wallets", &devlab.wallets.to_string()])
            .arg("--genesis")
            .arg(&devlab.genesis)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = host.spawn(cmd)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(LabError::Probe("lab-node without pipes".into()));
        };
        let (tx, lines) = mpsc::channel();
        let label = name.to_string();
        let echo = std::env::var_os("ZEROPOLE_LAB_ECHO").is_some();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[{label}] {line}");
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = lab.adopt(child);
        let mut node = LabNode {
            name: name.to_string(),
            pid,
            stdin,
            lines,
            events: Vec::new(),
        };
        node.expect("READY")?;
        Ok(node)
    }

    /// Writes one command line.
    pub fn send(&mut self, command: &str) -> Result<(), LabError> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// The first line starting with `prefix`, within [`WAIT`].
    pub fn expect(&mut self, prefix: &str) -> Result<String, LabError> {
        self.expect_any_within(&[prefix], WAIT)
    }

    /// The first line starting with one of `prefixes`, within `bound`. Lines before it are
    /// skipped, except `EVENT` lines, which later expectations still see.
    pub fn expect_any_within(
        &mut self,
        prefixes: &[&str],
        bound: Duration,
    ) -> Result<String, LabError> {
        let wanted = |line: &str| prefixes.iter().any(|p| line.starts_with(p));
        if let Some(i) = self.events.iter().position(|l| wanted(l)) {
            return Ok(self.events.remove(i));
        }
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return Ok(line),
                Ok(line) if line.starts_with("EVENT") => self.events.push(line),
                Ok(_) => continue,
                Err(_) => {
                    return Err(LabError::Timeout {
                        what: format!("{}: a line starting with {prefixes:?}", self.name),
                        after: bound,
                    })
                }
            }
        }
    }

    /// Sends `command` and returns its answer, which must start with `answer` (an
    /// `ERROR ...` answer is an error).
    pub fn ask(&mut self, command: &str, answer: &str) -> Result<String, LabError> {
        self.send(command)?;
        let line = self.expect_any_within(&[answer, "ERROR"], WAIT)?;
        if line.starts_with(answer) {
            Ok(line)
        } else {
            Err(LabError::Probe(format!(
                "{}: `{command}` → {line}",
                self.name
            )))
        }
    }

    /// Polls `status` until it contains `needle`, within [`WAIT`]; returns that line.
    pub fn wait_status(&mut self, needle: &str) -> Result<String, LabError> {
        let deadline = Instant::now() + WAIT;
        loop {
            let line = self.ask("status", "STATUS")?;
            if line.contains(needle) {
                return Ok(line);
            }
            if Instant::now() > deadline {
                return Err(LabError::Timeout {
                    what: format!("{}: status with {needle} (last: {line})", self.name),
                    after: WAIT,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The first line starting with one of `prefixes` from either node (DCUtR reports on
/// one side or both), within `bound`.
pub fn expect_either(
    a: &mut LabNode,
    b: &mut LabNode,
    prefixes: &[&str],
    bound: Duration,
) -> Result<String, LabError> {
    let deadline = Instant::now() + bound;
    loop {
        for node in [&mut *a, &mut *b] {
            if let Ok(line) = node.expect_any_within(prefixes, Duration::from_millis(100)) {
                return Ok(line);
            }
        }
        if Instant::now() > deadline {
            return Err(LabError::Timeout {
                what: format!(
                    "{} or {}: a line starting with {prefixes:?}",
                    a.name, b.name
                ),
                after: bound,
            });
        }
    }
}

/// The arguments of station `index` at `host`, knowing the stations `peers` (index, host).
/// Its witness store lives in the devnet's data directory, so a restarted station keeps
/// its locks.
pub fn station_args(
    devlab: &Devlab,
    index: usize,
    host: &Host,
    peers: &[(usize, &Host)],
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--role".into(),
        "station".into(),
        "--index".into(),
        index.to_string(),
        "--data".into(),
        devlab
            .data
            .path()
            .join(format!("station{index}"))
            .display()
            .to_string(),
        "--listen".into(),
        format!("/ip4/0.0.0.0/udp/{STATION_PORT}/quic-v1"),
        "--listen".into(),
        format!("/ip4/0.0.0.0/tcp/{STATION_PORT}"),
        "--external".into(),
        format!("/ip4/{}/udp/{STATION_PORT}/quic-v1", host.ip()),
        "--external".into(),
        format!("/ip4/{}/tcp/{STATION_PORT}", host.ip()),
    ];
    for (j, h) in peers {
        args.push("--peer".into());
        args.push(devlab.quic(h, *j));
    }
    args
}

/// Starts every station on its own public host, each knowing the ones before it, and
/// waits until every station holds every witness's peer record.
pub fn start_stations(
    lab: &mut Lab,
    devlab: &Devlab,
) -> Result<(Vec<Host>, Vec<LabNode>), LabError> {
    let mut hosts: Vec<Host> = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..devlab.stations {
        let host = lab.public_host(&format!("st{i}"))?;
        let peers: Vec<(usize, &Host)> = hosts.iter().enumerate().collect();
        let args = station_args(devlab, i, &host, &peers);
        nodes.push(LabNode::start(
            lab,
            devlab,
            &host,
            &format!("station{i}"),
            &args,
        )?);
        hosts.push(host);
    }
    for node in &mut nodes {
        node.wait_status(&format!("witnesses={}", devlab.stations))?;
    }
    Ok((hosts, nodes))
}

/// Starts wallet `index`'s phone at `host`: home stations 0 (QUIC and TCP) and 1,
/// listening on UDP (a Full-profile phone on Wi-Fi), keeping relay reservations.
pub fn start_phone(
    lab: &mut Lab,
    devlab: &Devlab,
    host: &Host,
    index: usize,
    stations: &[Host],
) -> Result<LabNode, LabError> {
    let args: Vec<String> = vec![
        "--role".into(),
        "phone".into(),
        "--index".into(),
        index.to_string(),
        "--listen".into(),
        "/ip4/0.0.0.0/udp/0/quic-v1".into(),
        "--reserve".into(),
        "--peer".into(),
        devlab.quic(&stations[0], 0),
        "--peer".into(),
        devlab.tcp(&stations[0], 0),
        "--peer".into(),
        devlab.quic(&stations[1], 1),
    ];
    LabNode::start(lab, devlab, host, &format!("phone{index}"), &args)
}

/// The number after `key=` in `line`.
pub fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

/// A path for a lab's genesis in `dir`, unique per process.
pub fn genesis_path(dir: &Path) -> PathBuf {
    dir.join(format!("netlab-genesis-{}.toml", std::process::id()))
}
