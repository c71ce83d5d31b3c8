//! Probe programs and their driver.
//!
//! The programs run inside lab namespaces as `zeropole netlab probe <kind> …` (the
//! [`programs`] half); the [`Probe`] driver spawns them from a test or from
//! `zeropole netlab check` and parses what they print. Every program and every wait is
//! bounded in time.
//!
//! Wire protocol (UDP, one datagram each way; TCP: one line from the server):
//! - `OBS` → `SEEN <ip:port>`: the source address the server saw.
//! - `REG <id>` → `SEEN <ip:port>`, remembering `id` at that address (rendezvous).
//! - `GET <id>` → `PEER <ip:port>` or `NONE`.
//! - `PUNCH <id>`: sent peer to peer during hole punching.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use super::lab::Host;
use super::sys::wait_output;
use super::LabError;

pub mod programs;

/// How long a probe server lives if nobody kills it.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(120);

/// Spawns probe programs (from the `zeropole` executable `exe`) inside lab hosts.
#[derive(Debug, Clone)]
pub struct Probe {
    exe: PathBuf,
}

impl Probe {
    /// A driver for the `zeropole` executable at `exe` (in tests:
    /// `env!("CARGO_BIN_EXE_zeropole")`; in the binary: `std::env::current_exe()`).
    pub fn new(exe: impl Into<PathBuf>) -> Probe {
        Probe { exe: exe.into() }
    }

    fn command(&self, host: &Host, args: &[String]) -> Result<std::process::Command, LabError> {
        let mut cmd = host.command(&self.exe)?;
        cmd.arg("netlab").arg("probe").args(args);
        Ok(cmd)
    }

    fn server(&self, host: &Host, kind: &str, port: u16) -> Result<Child, LabError> {
        let args = [
            kind.to_string(),
            "--port".into(),
            port.to_string(),
            "--lifetime-ms".into(),
            SERVER_LIFETIME.as_millis().to_string(),
        ];
        let mut cmd = self.command(host, &args)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        cmd.spawn().map_err(|source| LabError::Spawn {
            command: format!("netlab probe {kind} in {}", host.name()),
            source,
        })
    }

    /// Starts a UDP observer/rendezvous server on `port` in `host` (answers `OBS`, `REG`,
    /// `GET`); hand it to [`super::Lab::adopt`] (or stop it with [`super::Lab::kill`]).
    pub fn udp_server(&self, host: &Host, port: u16) -> Result<Child, LabError> {
        self.server(host, "udp-server", port)
    }

    /// Starts a TCP observer server on `port` in `host` (writes `SEEN <ip:port>` and
    /// closes); hand it to [`super::Lab::adopt`] (or stop it with [`super::Lab::kill`]).
    pub fn tcp_server(&self, host: &Host, port: u16) -> Result<Child, LabError> {
        self.server(host, "tcp-server", port)
    }

    /// Runs a client probe to completion (bounded by its own timeout plus a margin) and
    /// returns its stdout lines.
    fn client(
        &self,
        host: &Host,
        args: &[String],
        timeout: Duration,
    ) -> Result<Vec<String>, LabError> {
        let mut cmd = self.command(host, args)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!("netlab probe {} in {}", args[0], host.name());
        let child = cmd.spawn().map_err(|source| LabError::Spawn {
            command: what.clone(),
            source,
        })?;
        let out = wait_output(child, timeout * 2 + Duration::from_secs(10), &what)?;
        if !out.status.success() {
            return Err(LabError::Probe(format!(
                "{what} exited {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// From one UDP socket bound to `bind_port` in `host`, asks each target which source
    /// address it sees; `None` for a target that did not answer within `timeout`.
    pub fn udp_observe(
        &self,
        host: &Host,
        bind_port: u16,
        targets: &[SocketAddr],
        timeout: Duration,
    ) -> Result<Vec<Option<SocketAddr>>, LabError> {
        let mut args = vec![
            "udp-observe".to_string(),
            "--bind".into(),
            bind_port.to_string(),
            "--timeout-ms".into(),
            timeout.as_millis().to_string(),
        ];
        for t in targets {
            args.push("--to".into());
            args.push(t.to_string());
        }
        let lines = self.client(host, &args, timeout * targets.len() as u32)?;
        targets.iter().map(|t| find_answer(&lines, t)).collect()
    }

    /// Connects over TCP from `host` to `target` and returns the source address the server
    /// saw, or `None` if no connection was made within `timeout`.
    pub fn tcp_observe(
        &self,
        host: &Host,
        target: SocketAddr,
        timeout: Duration,
    ) -> Result<Option<SocketAddr>, LabError> {
        let args = [
            "tcp-observe".to_string(),
            "--to".into(),
            target.to_string(),
            "--timeout-ms".into(),
            timeout.as_millis().to_string(),
        ];
        let lines = self.client(host, &args, timeout)?;
        find_answer(&lines, &target)
    }

    /// UDP hole punching between `a` and `b`: each registers with the `rendezvous` server,
    /// learns the other's mapped address there, then both send to each other at once.
    /// Returns what each side (`a`, then `b`) got to within `timeout`.
    pub fn punch(
        &self,
        a: &Host,
        b: &Host,
        rendezvous: SocketAddr,
        timeout: Duration,
    ) -> Result<(PunchOutcome, PunchOutcome), LabError> {
        let args = |me: &Host, peer: &Host| {
            vec![
                "punch".to_string(),
                "--bind".into(),
                PUNCH_PORT.to_string(),
                "--rendezvous".into(),
                rendezvous.to_string(),
                "--id".into(),
                me.name().to_string(),
                "--peer".into(),
                peer.name().to_string(),
                "--timeout-ms".into(),
                timeout.as_millis().to_string(),
            ]
        };
        // Both sides run at once: `b` on a thread, `a` here.
        let probe = self.clone();
        let (b2, b_args) = (b.clone(), args(b, a));
        let other = std::thread::spawn(move || probe.client(&b2, &b_args, timeout));
        let mine = self.client(a, &args(a, b), timeout);
        let theirs = other
            .join()
            .map_err(|_| LabError::Probe("punch thread panicked".into()))?;
        Ok((PunchOutcome::parse(&mine?), PunchOutcome::parse(&theirs?)))
    }
}

/// How far one side of [`Probe::punch`] got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PunchOutcome {
    /// Its own address as the rendezvous saw it (its mapping towards the rendezvous).
    pub mapped: Option<SocketAddr>,
    /// The peer's address as the rendezvous reported it (where it sent its punches).
    pub peer: Option<SocketAddr>,
    /// The address the peer's punches arrived from, if any did.
    pub punched: Option<SocketAddr>,
}

impl PunchOutcome {
    fn parse(lines: &[String]) -> PunchOutcome {
        let mut out = PunchOutcome::default();
        for line in lines {
            let mut words = line.split_whitespace();
            let (Some(word), Some(addr)) = (words.next(), words.next()) else {
                continue;
            };
            let addr = addr.parse().ok();
            match word {
                "mapped" => out.mapped = addr,
                "peer" => out.peer = addr,
                "punched" => out.punched = addr,
                _ => {}
            }
        }
        out
    }
}

/// The UDP port both sides of [`Probe::punch`] bind.
pub const PUNCH_PORT: u16 = 41641;

/// Finds `reply <target> <seen>` / `noreply <target>` in a client's output.
fn find_answer(lines: &[String], target: &SocketAddr) -> Result<Option<SocketAddr>, LabError> {
    let t = target.to_string();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["reply", to, seen] if *to == t => {
                return seen
                    .parse()
                    .map(Some)
                    .map_err(|_| LabError::Probe(format!("bad address in {line:?}")))
            }
            ["noreply", to] if *to == t => return Ok(None),
            _ => {}
        }
    }
    Err(LabError::Probe(format!("no answer for {t} in {lines:?}")))
}
