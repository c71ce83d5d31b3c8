//! What byzantine witnesses of the simulator do beyond signing anything they are asked.

use super::SimRng;
use crate::crypto::{AccountId, KeyPair};
use crate::ledger::AccountState;
use crate::poc::{CertifiedAccount, Epoch, Handover, Witness};

/// What a byzantine old member answers a handover request with (if it was a member of the
/// account's committee in `epoch`): a validly signed stale report (the genesis state, no
/// lock: withholding everything since), a validly signed report with an inflated balance,
/// a report tampered with after signing, or a report impersonating another member.
pub(super) fn bogus_handover(
    epochs: &[Epoch],
    epoch: u64,
    account: AccountId,
    me: &Witness,
    keys: &mut KeyPair,
    genesis: Option<&AccountState>,
    rng: &mut SimRng,
) -> Option<Handover> {
    let committee = epochs.get(epoch as usize)?.committee(&account);
    if !committee.contains(&me.id) {
        return None;
    }
    let record = |extra: u64| {
        genesis.map(|s| {
            let mut state = s.clone();
            state.balance = state.balance.saturating_add(extra);
            CertifiedAccount { state, head: None }
        })
    };
    let sign = |record, keys: &mut KeyPair| {
        Handover::sign(epoch, account, me.id, record, None, None, vec![], keys).ok()
    };
    match rng.below(4) {
        0 => sign(record(0), keys),
        1 => sign(record(1_000_000), keys),
        2 => {
            let mut h = sign(record(0), keys)?;
            if let Some(r) = h.record.as_mut() {
                r.state.balance = r.state.balance.saturating_add(1);
            }
            Some(h)
        }
        _ => {
            let mut h = sign(record(0), keys)?;
            h.witness = *committee.iter().find(|w| **w != me.id)?;
            Some(h)
        }
    }
}
