//! The committee-sizing attack of DESIGN.md §4, run against the real witness state
//! machines.
//!
//! Accounts are free, so an adversary holding a fraction `p` of the witnesses generates
//! keys until one account's committee holds at least `2q − n` of its witnesses — enough
//! that two quorums can share only byzantine members. It then signs two different sends
//! at one height, shows each to half of the honest members and has its witnesses sign
//! both. With `n` sized by [`crate::poc::committee_size`] for `(p, λ)` the search fails
//! (each key succeeds with probability ≤ 2^−λ); with a too-small `n` it finds an account
//! within a few hundred keys and obtains two valid certificates at one height.

use std::collections::BTreeSet;

use super::{genesis_state, sim_key, sim_witnesses, SimRng};
use crate::crypto::AccountId;
use crate::ledger::{Block, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    quorum, AttestReply, AttestRequest, Attestation, Certificate, Epoch, MemoryWitnessStore,
    Statement, WitnessId, WitnessNode,
};

/// Parameters of one attack.
#[derive(Debug, Clone)]
pub struct AttackConfig {
    /// Seed (which witnesses are byzantine).
    pub seed: u64,
    /// Witnesses in `W_e`.
    pub witnesses: usize,
    /// Fraction of them the adversary holds.
    pub p: f64,
    /// Committee size.
    pub n: usize,
    /// Keys the adversary may generate looking for a weak committee.
    pub key_budget: usize,
}

/// What the attack achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackOutcome {
    /// Keys generated before a weak committee was found (or the whole budget).
    pub keys_tried: usize,
    /// Byzantine members needed in one committee: `2q − n`.
    pub needed: usize,
    /// The most byzantine members seen in any tried committee.
    pub best: usize,
    /// Whether two different blocks at one height both got a valid certificate.
    pub double_certified: bool,
}

/// Runs the attack.
pub fn sizing_attack(config: &AttackConfig) -> AttackOutcome {
    let mut rng = SimRng::new(config.seed);
    let (keys, witnesses) = sim_witnesses(config.witnesses);
    let mut order: Vec<usize> = (0..config.witnesses).collect();
    rng.shuffle(&mut order);
    let byzantine_count = (config.p * config.witnesses as f64).round() as usize;
    let byzantine: BTreeSet<WitnessId> = order[..byzantine_count]
        .iter()
        .map(|i| witnesses[*i].id)
        .collect();
    let rules = EpochRules {
        epoch: 0,
        min_amount: 1,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(rules, rng.bytes32(), config.n, witnesses.clone());
    let (_, q) = quorum(epoch.committee_len());
    let needed = (2 * q).saturating_sub(epoch.committee_len());

    let mut best = 0;
    // Adversary keys come after the witnesses' in the key pool.
    for tried in 1..=config.key_budget {
        let mut owner = sim_key(config.witnesses + tried);
        let account = owner.public_key().account_id();
        let committee = epoch.committee(&account);
        let held = committee.iter().filter(|w| byzantine.contains(w)).count();
        best = best.max(held);
        if held < needed {
            continue;
        }
        // A weak committee: try the double spend against the real witnesses.
        let state = genesis_state(&owner, 1_000);
        let send = |to: u8, owner: &mut crate::crypto::KeyPair| -> Option<Block> {
            BlockBody {
                account,
                height: 1,
                previous: state.head_hash,
                epoch: 0,
                op: Op::Send {
                    to: AccountId([to; 32]),
                    amount: 900,
                    memo: vec![],
                    prev_to: None,
                },
                balance: 100,
                timestamp_ms: 1,
                dmapp: DmappId::WALLET,
            }
            .sign(owner)
            .ok()
        };
        let (Some(a), Some(b)) = (send(1, &mut owner), send(2, &mut owner)) else {
            break;
        };
        let genesis = [(account, state.clone())];
        let (mut for_a, mut for_b) = (Vec::new(), Vec::new());
        let mut honest_seen = 0;
        for member in &committee {
            let Some(index) = witnesses.iter().position(|w| w.id == *member) else {
                continue;
            };
            if byzantine.contains(member) {
                for (block, list) in [(&a, &mut for_a), (&b, &mut for_b)] {
                    if let Ok(att) = Attestation::sign(
                        Statement::for_block(0, block),
                        *member,
                        &mut keys[index].clone(),
                    ) {
                        list.push(att);
                    }
                }
                continue;
            }
            let Ok(mut node) = WitnessNode::start(
                witnesses[index].clone(),
                keys[index].clone(),
                epoch.clone(),
                MemoryWitnessStore::default(),
                &genesis,
            ) else {
                continue;
            };
            // Honest members split: each sees only one of the two blocks.
            let (block, list) = if honest_seen % 2 == 0 {
                (&a, &mut for_a)
            } else {
                (&b, &mut for_b)
            };
            honest_seen += 1;
            if let AttestReply::Attested(att) = node.handle_attest(&AttestRequest {
                block: block.clone(),
                send: None,
            }) {
                list.push(att);
            }
        }
        let cert_a = Certificate::assemble(a, &epoch, &for_a);
        let cert_b = Certificate::assemble(b, &epoch, &for_b);
        let double_certified = cert_a.verify(&epoch).is_ok() && cert_b.verify(&epoch).is_ok();
        return AttackOutcome {
            keys_tried: tried,
            needed,
            best,
            double_certified,
        };
    }
    AttackOutcome {
        keys_tried: config.key_budget,
        needed,
        best,
        double_certified: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poc::{committee_size, security_bits};

    const P: f64 = 0.1;
    const LAMBDA: f64 = 20.0;

    #[test]
    fn the_attack_succeeds_against_a_too_small_committee() {
        let outcome = sizing_attack(&AttackConfig {
            seed: 1,
            witnesses: 400,
            p: P,
            n: 7,
            key_budget: 300,
        });
        assert!(security_bits(7, P) < 6.0);
        assert!(outcome.double_certified, "{outcome:?}");
    }

    #[test]
    fn the_attack_fails_against_a_security_sized_committee() {
        let n = committee_size(P, LAMBDA, 1_000).expect("p < 1/3");
        assert!(security_bits(n, P) >= LAMBDA);
        let outcome = sizing_attack(&AttackConfig {
            seed: 1,
            witnesses: 400,
            p: P,
            n,
            key_budget: 300,
        });
        assert!(!outcome.double_certified, "{outcome:?}");
        assert!(outcome.best < outcome.needed, "{outcome:?}");
    }
}
