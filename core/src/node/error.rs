//! Errors of the node runtime: what an app sees, each with a stable kind and a message.

use thiserror::Error;

use crate::net::NetError;
use crate::store::StoreError;
use crate::wallet::WalletError;

/// Why a node operation failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The configuration cannot be used (genesis unreadable, no home station, bad address).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The seed phrase or the wallet database refused (see [`WalletError`]).
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The dmapp manifest is not reviewed in this network's registry (DESIGN.md §5).
    #[error("dmapp {0} is not reviewed on this network: the SDK refuses to start for it")]
    UnreviewedDmapp(String),
    /// The account id text is not 64 hex characters.
    #[error("not an account id: {0}")]
    InvalidAccount(String),
    /// The account has no funds on this network (no genesis allocation, nothing received).
    #[error("account {0} has no certified state on this network yet")]
    UnknownAccount(String),
    /// The balance cannot cover the amount.
    #[error("insufficient funds: balance {balance}, amount {amount}")]
    InsufficientFunds {
        /// Certified balance.
        balance: u64,
        /// Amount asked for.
        amount: u64,
    },
    /// Below the network's smallest transfer.
    #[error("amount {amount} is below the network minimum {min}")]
    BelowMinimum {
        /// Amount asked for.
        amount: u64,
        /// The minimum.
        min: u64,
    },
    /// Sending to one's own account.
    #[error("an account cannot send to itself")]
    SendToSelf,
    /// The committee refused the block (the reason the station reported).
    #[error("refused by the committee: {0}")]
    Refused(String),
    /// The network failed (no station reachable, timeout).
    #[error("network: {0}")]
    Network(#[from] NetError),
    /// Local storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// This network's epoch record (`not_after`, DESIGN.md §4) expired by this phone's
    /// clock: the app must re-bootstrap through another operator (a current genesis or
    /// epoch record) before it uses the network again.
    #[error(
        "the network's epoch record expired at {0} ms (Unix time): re-bootstrap through \
         another operator"
    )]
    EpochExpired(u64),
    /// The push token is empty, too long or not printable ASCII.
    #[error("invalid push token: {0}")]
    InvalidPushToken(String),
    /// The node is paused (call `resume` first) or stopped.
    #[error("the node is {0}")]
    NotRunning(&'static str),
}
