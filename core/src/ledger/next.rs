//! Building an owner's next block from its certified state: the arithmetic and cursors a
//! wallet must get right, checked here before anything is signed (the witnesses check
//! again with [`super::validate_next`]).

use super::{AccountState, BlockBody, DmappId, Op, ValidationError};
use crate::crypto::AccountId;
use crate::poc::Certificate;

/// The body of a send of `amount` from the account in `state` to `to`.
pub fn next_send(
    state: &AccountState,
    epoch: u64,
    to: AccountId,
    amount: u64,
    memo: Vec<u8>,
    timestamp_ms: u64,
    dmapp: DmappId,
) -> Result<BlockBody, ValidationError> {
    let account = state.public_key.account_id();
    if to == account {
        return Err(ValidationError::SendToSelf);
    }
    let balance = state
        .balance
        .checked_sub(amount)
        .ok_or(ValidationError::InsufficientFunds {
            balance: state.balance,
            amount,
        })?;
    Ok(BlockBody {
        account,
        height: state.head_height + 1,
        previous: state.head_hash,
        epoch,
        op: Op::Send {
            to,
            amount,
            memo,
            prev_to: state.last_sent_to.get(&to).copied(),
        },
        balance,
        timestamp_ms: timestamp_ms.max(state.last_timestamp_ms),
        dmapp,
    })
}

/// The body of the `Receive` of the certified send `send` by the account in `state`.
/// Sends from one sender must be received in order: the send's `prev_to` must be the
/// account's cursor for that sender.
pub fn next_receive(
    state: &AccountState,
    epoch: u64,
    send: &Certificate,
    timestamp_ms: u64,
    dmapp: DmappId,
) -> Result<BlockBody, ValidationError> {
    let account = state.public_key.account_id();
    let sender = send.block.body.account;
    let Op::Send {
        to,
        amount,
        prev_to,
        ..
    } = &send.block.body.op
    else {
        return Err(ValidationError::ReceiveMismatch);
    };
    if *to != account {
        return Err(ValidationError::NotAddressedHere);
    }
    let cursor = state.recv_cursor.get(&sender).copied();
    if *prev_to != cursor {
        return Err(ValidationError::ReceiveOutOfOrder {
            expected: cursor,
            found: *prev_to,
        });
    }
    let balance = state
        .balance
        .checked_add(*amount)
        .ok_or(ValidationError::Overflow)?;
    Ok(BlockBody {
        account,
        height: state.head_height + 1,
        previous: state.head_hash,
        epoch,
        op: Op::Receive {
            from: sender,
            send_height: send.block.body.height,
            send_hash: send.block_hash(),
            amount: *amount,
        },
        balance,
        timestamp_ms: timestamp_ms.max(state.last_timestamp_ms),
        dmapp,
    })
}
