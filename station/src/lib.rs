//! The library half of the `zeropole` command line: what its integration tests (and later
//! the multi-node tests) share with the binary.
//!
//! - [`station`]: `zeropole station`, an operator's station from a TOML configuration.
//! - [`devnet`]: `zeropole devnet`, stations, phone witnesses and phones on loopback.
//! - [`logging`]: the stderr logger and its `ZEROPOLE_LOG` filter.
//! - [`netlab`] (Linux only): a network-namespace lab with public hosts and easy/hard NAT
//!   routers, for multi-node tests of the station and the phone node.

#[cfg(target_os = "linux")]
pub mod netlab;

pub mod devnet;
pub mod logging;
pub mod station;
