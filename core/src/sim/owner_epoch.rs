//! The owner across epoch changes: pulling and forwarding handovers, and the boundary
//! equivocator's second block (see the [`super`] module docs).

use super::{Directory, Msg, NodeId, Owner, RETRY_AFTER, WITHHELD_RECIPIENT};
use crate::ledger::{BlockBody, DmappId, Op};
use crate::poc::{AttestRequest, Epoch, Handover, WitnessId};

impl Owner {
    /// A boundary equivocator's second block (signed once, at the first tick of a later
    /// epoch), re-sent to the current committee every retry period.
    pub(super) fn boundary_twin(
        &mut self,
        now: u64,
        epoch: &Epoch,
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) {
        if self.twin.is_none() {
            let base = match (&self.in_flight, &self.before_head) {
                (Some(_), _) => Some(self.state.clone()),
                (None, Some(before)) => Some(before.clone()),
                (None, None) => None,
            };
            let Some(base) = base else { return };
            let to = WITHHELD_RECIPIENT;
            let amount = epoch.rules.min_amount.min(base.balance);
            let twin = BlockBody {
                account: self.account,
                height: base.head_height + 1,
                previous: base.head_hash,
                epoch: epoch.number(),
                op: Op::Send {
                    to,
                    amount,
                    memo: b"boundary twin".to_vec(),
                    prev_to: base.last_sent_to.get(&to).copied(),
                },
                balance: base.balance - amount,
                timestamp_ms: now,
                dmapp: DmappId::WALLET,
            }
            .sign(&mut self.keys);
            let Ok(twin) = twin else { return };
            self.twin = Some((twin, 0));
        }
        let Some((twin, last)) = &mut self.twin else {
            return;
        };
        if now < *last + RETRY_AFTER {
            return;
        }
        *last = now;
        for w in epoch.committee(&self.account) {
            if let Some(node) = dir.witness(&w) {
                out.push((
                    node,
                    Msg::AttestRequest(Box::new(AttestRequest {
                        block: twin.clone(),
                        send: None,
                    })),
                ));
            }
        }
    }

    /// `from` (a member of the account's committee in `epoch + 1`) needs the reports of
    /// `epoch`: give it those held, and ask the members of `epoch` that have not reported
    /// (at most once per retry period).
    pub(super) fn need_handover(
        &mut self,
        now: u64,
        from: NodeId,
        epoch: u64,
        epochs: &[Epoch],
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) {
        let Some(old) = epochs.get(epoch as usize) else {
            return;
        };
        for ((_, _), h) in self
            .handovers
            .range((epoch, WitnessId([0; 32]))..=(epoch, WitnessId([0xFF; 32])))
        {
            out.push((from, Msg::Handover(Box::new(h.clone()))));
        }
        let due = self
            .handovers_asked
            .get(&epoch)
            .is_none_or(|last| now >= last + RETRY_AFTER);
        if !due {
            return;
        }
        self.handovers_asked.insert(epoch, now);
        let best = self.best_reported_head(epoch);
        for w in old.committee(&self.account) {
            let stale = self
                .handovers
                .get(&(epoch, w))
                .is_none_or(|h| h.head_height() < best);
            if let (true, Some(node)) = (stale, dir.witness(&w)) {
                out.push((node, Msg::HandoverRequest(self.account, epoch)));
            }
        }
    }

    fn best_reported_head(&self, epoch: u64) -> Option<u64> {
        self.handovers
            .range((epoch, WitnessId([0; 32]))..=(epoch, WitnessId([0xFF; 32])))
            .map(|(_, h)| h.head_height())
            .max()
            .flatten()
    }

    /// A report from an old member: keep it, forward it to the committee of the epoch
    /// after, and send the reporter the certificates it lacks so its next report catches up.
    pub(super) fn on_handover(
        &mut self,
        from: NodeId,
        h: Handover,
        epochs: &[Epoch],
        dir: &Directory,
        out: &mut Vec<(NodeId, Msg)>,
    ) {
        let Some(next) = epochs.get(h.epoch as usize + 1) else {
            return;
        };
        let reported = h.head_height();
        let lagging_from = reported.map_or(0, |r| r + 1);
        for cert in self
            .certs
            .range(lagging_from..)
            .map(|(_, c)| c)
            .filter(|c| c.epoch <= h.epoch)
        {
            out.push((from, Msg::Certificate(Box::new(cert.clone()))));
        }
        for w in next.committee(&self.account) {
            if let Some(node) = dir.witness(&w) {
                out.push((node, Msg::Handover(Box::new(h.clone()))));
            }
        }
        let key = (h.epoch, h.witness);
        let better = self
            .handovers
            .get(&key)
            .is_none_or(|old| old.head_height() < reported);
        if better {
            self.handovers.insert(key, h);
        }
    }
}
