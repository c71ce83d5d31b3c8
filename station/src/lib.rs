//! The library half of the `zeropole` command line: what its integration tests (and later
//! the multi-node tests) share with the binary.
//!
//! - [`netlab`] (Linux only): a network-namespace lab with public hosts and easy/hard NAT
//!   routers, for multi-node tests of the station and the phone node.

#[cfg(target_os = "linux")]
pub mod netlab;
