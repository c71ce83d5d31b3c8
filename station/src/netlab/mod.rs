//! A network-namespace NAT lab for multi-node tests (Linux, root).
//!
//! One "public" segment (a bridge in its own namespace, `198.18.0.0/16`) joins public hosts
//! (stations) and NAT routers; hosts (phones) sit behind routers on `10.<router>.0.0/24`.
//! [`NatKind::Easy`] maps endpoint-independently (hole punching works), [`NatKind::Hard`]
//! endpoint-dependently (it fails); both filter unsolicited inbound. Processes run inside a
//! host with [`Host::spawn`]. Everything lives in namespaces named `zpnl-<pid>-<seq>-…`:
//! dropping the [`Lab`] kills their processes and deletes them, and [`Lab::new`] sweeps
//! those of dead processes. See `docs/netlab.md`.
//!
//! ```no_run
//! use zeropole::netlab::{Lab, NatKind};
//! let mut lab = Lab::new("demo")?;
//! let station = lab.public_host("station")?;
//! let home = lab.nat_router("home", NatKind::Easy)?;
//! let phone = lab.host_behind(&home, "phone")?;
//! let mut cmd = std::process::Command::new("zeropole");
//! cmd.args(["station", "--listen", &format!("{}:4001", station.ip())]);
//! let child = station.spawn(cmd)?;
//! lab.kill(child)?;
//! # let _ = phone;
//! # Ok::<(), zeropole::netlab::LabError>(())
//! ```

mod check;
pub mod cli;
mod error;
pub mod idle;
mod lab;
mod measure;
mod names;
mod nat;
pub mod nodes;
mod probe;
mod sys;

pub use check::{survey, Behaviour, INBOUND_PORT, TCP_PORT, UDP_PORT};
pub use error::LabError;
pub use lab::{
    check_available, Host, Lab, LinkStats, Router, SentByKind, LAN_PREFIX_LEN, PUBLIC_PREFIX_LEN,
};
pub use names::{list_namespaces, sweep_stale, NS_PREFIX};
pub use nat::NatKind;
pub use probe::{Probe, PunchOutcome, PUNCH_PORT, SERVER_LIFETIME};
pub use sys::wait_output;
