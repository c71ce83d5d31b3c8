//! `zeropole station` as an operator runs it: four station processes on 127.0.0.1, each
//! with its own configuration file and data directory.
//!
//! The genesis is made the way a real network makes it: each station generates its keys
//! (`--print-identity`), and the test, acting as the admission authority, writes a
//! genesis (with `GenesisBuilder`) that admits the printed witness keys. The stations
//! then start with witness duty, find each other, and certify a transfer that an
//! in-test phone (`Network::start` with `NetConfig::phone`) submits; the recipient
//! receives it. One station is stopped with SIGTERM and must exit cleanly; bad
//! configurations exit with code 1 and a message naming the problem.
//!
//! Bounded: every wait has a deadline, children are killed when the test ends, data
//! lives in a temporary directory. Linux only (SIGTERM through `libc::kill`).

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libp2p::{identity, Multiaddr};
use zeropole_core::crypto::{KeyPair, PublicKey};
use zeropole_core::genesis::{Genesis, GenesisBuilder};
use zeropole_core::ledger::{apply_certified, next_receive, next_send, AccountState, DmappId};
use zeropole_core::net::{NetConfig, Network};
use zeropole_core::poc::AttestRequest;
use zeropole_core::store::SqliteWitnessStore;

const STATIONS: usize = 4;
const WAIT: Duration = Duration::from_secs(60);

fn zeropole() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zeropole"));
    // The default log levels, whatever the caller's environment says.
    command.env_remove("ZEROPOLE_LOG").env_remove("RUST_LOG");
    command
}

/// The station processes; killed when dropped.
struct Stations {
    children: Vec<Option<Child>>,
    lines: mpsc::Receiver<(usize, String)>,
    sender: mpsc::Sender<(usize, String)>,
    logs: Vec<Vec<String>>,
}

impl Drop for Stations {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Stations {
    fn new() -> Self {
        let (sender, lines) = mpsc::channel();
        Stations {
            children: Vec::new(),
            lines,
            sender,
            logs: vec![Vec::new(); STATIONS],
        }
    }

    fn spawn(&mut self, index: usize, config: &Path) {
        let mut child = zeropole()
            .args(["station", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zeropole station");
        let stdout = child.stdout.take().expect("stdout");
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send((index, line)).is_err() {
                    break;
                }
            }
        });
        // The log (standard error): kept as `log: <line>` among the output lines, and
        // echoed so a failing test shows it.
        let stderr = child.stderr.take().expect("stderr");
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("station {index}: {line}");
                if sender.send((index, format!("log: {line}"))).is_err() {
                    break;
                }
            }
        });
        self.children.push(Some(child));
    }

    /// Waits for a line of station `index` (any station for `None`) matching `pred`.
    fn wait_line(
        &mut self,
        index: Option<usize>,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + WAIT;
        // Lines already seen count too.
        for (i, log) in self.logs.iter().enumerate() {
            if index.is_none_or(|x| x == i) {
                if let Some(l) = log.iter().find(|l| pred(l)) {
                    return l.clone();
                }
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((i, line)) => {
                    self.logs[i].push(line.clone());
                    if index.is_none_or(|x| x == i) && pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; output so far: {:#?}",
                    self.logs
                ),
            }
        }
    }
}

fn write_config(dir: &Path, index: usize, stations: &[Multiaddr]) -> PathBuf {
    // Both transports: QUIC for even stations, TCP for odd ones.
    let listen = if index.is_multiple_of(2) {
        "/ip4/127.0.0.1/udp/0/quic-v1"
    } else {
        "/ip4/127.0.0.1/tcp/0"
    };
    let stations: Vec<String> = stations
        .iter()
        .map(|a| format!("{:?}", a.to_string()))
        .collect();
    let text = format!(
        "genesis = \"genesis.toml\"\ndata_dir = \"data-{index}\"\nlisten = [\"{listen}\"]\nstations = [{}]\nmetrics_interval_secs = 1\n",
        stations.join(", ")
    );
    let path = dir.join(format!("station-{index}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// `--print-identity`: (peer id, witness key hex, the whole output).
fn print_identity(config: &Path) -> (String, String, String) {
    let out = zeropole()
        .args(["station", "--print-identity", "--config"])
        .arg(config)
        .output()
        .expect("run --print-identity");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    (field("peer_id"), field("witness_key"), text)
}

fn genesis(witness_keys: &[String], wallets: &[KeyPair]) -> Genesis {
    let mut authority = KeyPair::from_seed(&[11; 32]).expect("authority");
    let reviewer = KeyPair::from_seed(&[12; 32]).expect("reviewer");
    let mut builder = GenesisBuilder::new("station-cli-test")
        .min_amount(1_000)
        .committee(0.05, 50.0, Some(witness_keys.len()))
        .seed([5; 32])
        .admission_authority(&authority.public_key().clone())
        .review_authority(reviewer.public_key());
    for w in wallets {
        builder = builder.allocation(w.public_key(), 1_000_000);
    }
    for (i, hex_key) in witness_keys.iter().enumerate() {
        let key = PublicKey::from_bytes(&hex::decode(hex_key).expect("hex")).expect("key");
        builder = builder.witness(&key, &format!("operator-{i}"), &mut authority);
    }
    builder.build().expect("genesis")
}

fn metric(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

#[test]
fn four_station_processes_certify_a_phone_transfer() {
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. Each station generates its keys; the admission authority admits them.
    let mut identities = Vec::new();
    for i in 0..STATIONS {
        let config = write_config(dir.path(), i, &[]);
        let (peer, key, text) = print_identity(&config);
        assert!(!text.contains("admitted"), "no genesis yet: {text}");
        identities.push((peer, key));
    }
    let (again, _, _) = print_identity(&dir.path().join("station-0.toml"));
    assert_eq!(again, identities[0].0, "keys are reused, not regenerated");
    let mut wallets = vec![
        KeyPair::from_seed(&[21; 32]).expect("wallet"),
        KeyPair::from_seed(&[22; 32]).expect("wallet"),
    ];
    let keys: Vec<String> = identities.iter().map(|(_, k)| k.clone()).collect();
    let genesis = genesis(&keys, &wallets);
    std::fs::write(dir.path().join("genesis.toml"), genesis.to_toml_string()).expect("genesis");
    let (_, _, text) = print_identity(&dir.path().join("station-0.toml"));
    assert!(text.contains("admitted       yes"), "{text}");

    // 2. Start the stations one by one, each knowing the ones before it.
    let mut stations = Stations::new();
    let mut addrs: Vec<Multiaddr> = Vec::new();
    for (i, (peer, _)) in identities.iter().enumerate() {
        let config = write_config(dir.path(), i, &addrs);
        stations.spawn(i, &config);
        stations.wait_line(Some(i), "witness duty", |l| l.contains("witness duty"));
        let line = stations.wait_line(Some(i), "a listen address", |l| {
            l.starts_with("listening ") && l.ends_with(&format!("/p2p/{peer}"))
        });
        let addr: Multiaddr = line["listening ".len()..]
            .parse()
            .expect("printed multiaddr");
        addrs.push(addr);
    }
    for i in 0..STATIONS {
        stations.wait_line(Some(i), "every witness's record", |l| {
            metric(l, "witnesses_known") == Some(STATIONS as u64)
        });
    }

    // 3. A phone's transfer, certified through a station process; the recipient receives.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let states: Vec<AccountState> = genesis
        .genesis_states()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let (alice_state, bob_state) = (states[0].clone(), states[1].clone());
    let bob = wallets[1].public_key().account_id();
    let epoch = genesis.epoch0();
    runtime.block_on(async {
        tokio::time::timeout(WAIT, async {
            let phone = Network::start::<SqliteWitnessStore>(
                NetConfig::phone(vec![addrs[0].clone(), addrs[1].clone()]),
                identity::Keypair::generate_ed25519(),
                epoch.clone(),
                None,
            )
            .expect("phone");
            let body =
                next_send(&alice_state, 0, bob, 40_000, vec![], 1, DmappId::WALLET).expect("send");
            let block = body.sign(&mut wallets[0]).expect("signed");
            let cert = phone
                .submit(AttestRequest { block, send: None }, vec![])
                .await
                .expect("certified by the station processes");
            assert!(cert.verify(&epoch).is_ok());
            let alice_after = apply_certified(&alice_state, &cert.block);
            assert_eq!(alice_after.balance, 1_000_000 - 40_000);

            let inbox = loop {
                let inbox = phone.inbox(bob).await.expect("inbox");
                if !inbox.is_empty() {
                    break inbox;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(inbox[0].block_hash(), cert.block_hash());
            let body = next_receive(&bob_state, 0, &inbox[0], 2, DmappId::WALLET).expect("body");
            let block = body.sign(&mut wallets[1]).expect("signed");
            let received = phone
                .submit(
                    AttestRequest {
                        block,
                        send: Some(inbox[0].clone()),
                    },
                    vec![],
                )
                .await
                .expect("receive certified");
            assert_eq!(
                apply_certified(&bob_state, &received.block).balance,
                1_000_000 + 40_000
            );
        })
        .await
        .expect("the phone finished in time");
    });
    drop(runtime);
    let line = stations.wait_line(None, "a metrics line counting a certified block", |l| {
        metric(l, "certified").is_some_and(|c| c >= 1)
    });
    assert!(
        metric(&line, "poc_requests_out").is_some_and(|n| n > 0),
        "{line}"
    );

    // 4. SIGTERM stops a station cleanly (exit code 0, final metrics, "stopped").
    let mut child = stations.children[3].take().expect("station 3");
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("station 3 ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    stations.wait_line(Some(3), "stopped", |l| l == "stopped");
}

#[test]
fn bad_configurations_exit_1_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |config: &Path| {
        let out = zeropole()
            .args(["station", "--config"])
            .arg(config)
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let missing = dir.path().join("nope.toml");
    let (code, err) = run(&missing);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot read the configuration") && err.contains("nope.toml"),
        "{err}"
    );

    let bad_addr = dir.path().join("bad-addr.toml");
    std::fs::write(
        &bad_addr,
        "genesis = \"g.toml\"\ndata_dir = \"d\"\nlisten = [\"/ip4/1.2.3/tcp/1\"]\n",
    )
    .expect("write");
    let (code, err) = run(&bad_addr);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("listen[0]") && err.contains("bad multiaddr"),
        "{err}"
    );

    let no_genesis = dir.path().join("no-genesis.toml");
    std::fs::write(
        &no_genesis,
        "genesis = \"absent.toml\"\ndata_dir = \"d\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n",
    )
    .expect("write");
    let (code, err) = run(&no_genesis);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot read the genesis") && err.contains("absent.toml"),
        "{err}"
    );

    let bad_genesis = dir.path().join("bad-genesis.toml");
    std::fs::write(dir.path().join("g.toml"), "network = 3\n").expect("write");
    std::fs::write(
        &bad_genesis,
        "genesis = \"g.toml\"\ndata_dir = \"d\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n",
    )
    .expect("write");
    let (code, err) = run(&bad_genesis);
    assert_eq!(code, Some(1));
    assert!(err.contains("genesis") && err.contains("g.toml"), "{err}");
}

#[test]
fn a_station_not_admitted_runs_as_a_plain_station_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A genesis that admits some other key.
    let other = KeyPair::from_seed(&[9; 32]).expect("key");
    let wallet = KeyPair::from_seed(&[21; 32]).expect("wallet");
    let genesis = genesis(&[hex::encode(other.public_key().to_bytes())], &[wallet]);
    std::fs::write(dir.path().join("genesis.toml"), genesis.to_toml_string()).expect("genesis");
    let config = write_config(dir.path(), 0, &[]);
    let mut stations = Stations::new();
    stations.spawn(0, &config);
    stations.wait_line(Some(0), "plain station", |l| l.contains("plain station"));
    stations.wait_line(Some(0), "a listen address", |l| {
        l.starts_with("listening /ip4/127.0.0.1/")
    });
    stations.wait_line(Some(0), "a metrics line", |l| {
        l.starts_with("metrics peers=0")
    });
    // A station logs at info by default (no ZEROPOLE_LOG in the test's environment).
    stations.wait_line(Some(0), "an info log line", |l| {
        l.starts_with("log: ") && l.contains(" INFO zeropole_core::net::service: ")
    });
}
