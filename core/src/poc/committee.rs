//! Committees: who witnesses an account in an epoch, and how large a committee must be.
//!
//! - Selection: the `n` witnesses whose positions `BLAKE3(WitnessId ‖ seed_e)` are closest
//!   in XOR distance to `BLAKE3(account ‖ seed_e)`; all of `W_e` when `|W_e| ≤ n`.
//! - Sizing: accounts are free, so an adversary holding a fraction `p` of the witnesses uses
//!   whichever accounts drew a committee with ≥ f+1 of its members. `n` is the smallest
//!   value with `P[Binomial(n, p) ≥ f+1] ≤ 2^−λ`, with `f = ⌊(n−1)/3⌋` and `q = n − f`.

use crate::crypto::AccountId;

/// A witness id: `BLAKE3(witness key ‖ admission certificate)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WitnessId(pub [u8; 32]);

/// `(f, q)` for a committee of `n`: at most `f = ⌊(n−1)/3⌋` faulty members are tolerated
/// and a certificate needs `q = n − f` attestations (any two quorums share an honest member).
pub fn quorum(n: usize) -> (usize, usize) {
    let f = n.saturating_sub(1) / 3;
    (f, n - f)
}

/// The `n` witnesses closest to the account in this epoch, nearest first.
pub fn select_committee(
    witnesses: &[WitnessId],
    account: &AccountId,
    seed: &[u8; 32],
    n: usize,
) -> Vec<WitnessId> {
    let target = position(&account.0, seed);
    let mut ranked: Vec<([u8; 32], WitnessId)> = witnesses
        .iter()
        .map(|w| (xor(&position(&w.0, seed), &target), *w))
        .collect();
    // Ties are impossible between distinct witnesses (distinct positions); the id breaks
    // them anyway so the order is total.
    ranked.sort_unstable();
    ranked.dedup_by(|a, b| a.1 == b.1);
    ranked.into_iter().take(n).map(|(_, w)| w).collect()
}

/// The witness set of an epoch indexed by position, so that a committee costs
/// `O(256 · log |W|)` plus a sort of about `2n` candidates instead of a pass over `W`:
/// stations look up committees for every block they forward, and the simulator for
/// thousands of witnesses.
#[derive(Debug, Clone)]
pub struct CommitteeIndex {
    seed: [u8; 32],
    sorted: Vec<([u8; 32], WitnessId)>,
}

impl CommitteeIndex {
    /// Indexes `witnesses` (duplicates collapse) under `seed`.
    pub fn new(witnesses: impl IntoIterator<Item = WitnessId>, seed: [u8; 32]) -> Self {
        let mut sorted: Vec<([u8; 32], WitnessId)> = witnesses
            .into_iter()
            .map(|w| (position(&w.0, &seed), w))
            .collect();
        sorted.sort_unstable();
        sorted.dedup_by(|a, b| a.1 == b.1);
        CommitteeIndex { seed, sorted }
    }

    /// Number of witnesses.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether there are no witnesses.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The same committee as [`select_committee`], nearest first.
    pub fn select(&self, account: &AccountId, n: usize) -> Vec<WitnessId> {
        let target = position(&account.0, &self.seed);
        let (mut lo, mut hi) = (0, self.sorted.len());
        // Invariant: every position in lo..hi shares its first `bit` bits with the target,
        // and everything outside differs earlier, hence is farther than everything inside.
        // Narrow to the target's side while that side still holds n witnesses.
        for bit in 0..256 {
            let bit_of = |p: &[u8; 32]| (p[bit / 8] >> (7 - bit % 8)) & 1;
            let mid = lo + self.sorted[lo..hi].partition_point(|(p, _)| bit_of(p) == 0);
            let (side_lo, side_hi) = if bit_of(&target) == 0 {
                (lo, mid)
            } else {
                (mid, hi)
            };
            if side_hi - side_lo < n {
                break;
            }
            (lo, hi) = (side_lo, side_hi);
        }
        let mut candidates: Vec<([u8; 32], WitnessId)> = self.sorted[lo..hi]
            .iter()
            .map(|(p, w)| (xor(p, &target), *w))
            .collect();
        candidates.sort_unstable();
        candidates.into_iter().take(n).map(|(_, w)| w).collect()
    }
}

fn position(id: &[u8; 32], seed: &[u8; 32]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(id);
    hasher.update(seed);
    *hasher.finalize().as_bytes()
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// `P[Binomial(n, p) ≥ f + 1]`: the chance that a committee of `n` drawn from witnesses of
/// which a fraction `p` is adversarial (or offline) holds more than `f` of them.
pub fn failure_probability(n: usize, p: f64) -> f64 {
    let (f, _) = quorum(n);
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    // Sum the pmf from k = f+1 upward, computed in log space to stay accurate for small p.
    let ln_p = p.ln();
    let ln_q = (1.0 - p).ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut total = 0.0;
    for k in 0..=n {
        if k > 0 {
            ln_choose += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        if k > f {
            total += (ln_choose + k as f64 * ln_p + (n - k) as f64 * ln_q).exp();
        }
    }
    total.min(1.0)
}

/// The security level `λ` (bits) of a committee of `n` at adversarial fraction `p`:
/// `−log2 P[Binomial(n, p) ≥ f+1]`.
pub fn security_bits(n: usize, p: f64) -> f64 {
    -failure_probability(n, p).log2()
}

/// The smallest committee size with failure probability ≤ `2^−λ` at fraction `p`, searched
/// up to `max_n`; `None` if no size up to `max_n` reaches it (e.g. `p ≥ 1/3`).
pub fn committee_size(p: f64, lambda: f64, max_n: usize) -> Option<usize> {
    let bound = (-lambda).exp2();
    (1..=max_n).find(|&n| failure_probability(n, p) <= bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_follow_n_minus_f() {
        assert_eq!(quorum(1), (0, 1));
        assert_eq!(quorum(4), (1, 3));
        assert_eq!(quorum(79), (26, 53));
        assert_eq!(quorum(0), (0, 0));
    }

    /// The sizes DESIGN.md §4 states for λ = 50.
    #[test]
    fn committee_sizes_match_the_design() {
        assert_eq!(committee_size(0.05, 50.0, 1_000), Some(79));
        assert_eq!(committee_size(0.02, 50.0, 1_000), Some(46));
        assert_eq!(committee_size(0.10, 50.0, 1_000), Some(157));
        assert_eq!(committee_size(0.34, 50.0, 1_000), None);
    }

    #[test]
    fn security_grows_with_n_and_falls_with_p() {
        assert!(security_bits(79, 0.05) >= 50.0);
        assert!(security_bits(10, 0.05) < 10.0);
        assert!(security_bits(79, 0.10) < security_bits(79, 0.05));
    }

    fn ids(count: u8) -> Vec<WitnessId> {
        (0..count)
            .map(|i| WitnessId(*blake3::hash(&[i]).as_bytes()))
            .collect()
    }

    #[test]
    fn selection_is_deterministic_sized_and_order_independent() {
        let witnesses = ids(50);
        let account = AccountId([3; 32]);
        let seed = [9; 32];
        let c = select_committee(&witnesses, &account, &seed, 7);
        assert_eq!(c.len(), 7);
        let mut reversed = witnesses.clone();
        reversed.reverse();
        assert_eq!(select_committee(&reversed, &account, &seed, 7), c);
        // A larger committee extends the smaller one (nearest first).
        assert_eq!(
            &select_committee(&witnesses, &account, &seed, 10)[..7],
            &c[..]
        );
    }

    #[test]
    fn the_index_selects_exactly_what_the_reference_selects() {
        for count in [1u8, 5, 20, 200] {
            let witnesses = ids(count);
            for seed_byte in 0..4u8 {
                let index = CommitteeIndex::new(witnesses.iter().copied(), [seed_byte; 32]);
                for account_byte in 0..20u8 {
                    let account = AccountId(*blake3::hash(&[account_byte, seed_byte]).as_bytes());
                    for n in [1, 4, 7, 50, 300] {
                        assert_eq!(
                            index.select(&account, n),
                            select_committee(&witnesses, &account, &[seed_byte; 32], n),
                            "count {count} n {n}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn small_witness_sets_give_everyone_fastpay_mode() {
        let witnesses = ids(5);
        let mut c = select_committee(&witnesses, &AccountId([1; 32]), &[0; 32], 7);
        c.sort();
        let mut all = witnesses.clone();
        all.sort();
        assert_eq!(c, all);
    }

    #[test]
    fn committees_differ_between_accounts_and_epochs() {
        let witnesses = ids(100);
        let a = select_committee(&witnesses, &AccountId([1; 32]), &[0; 32], 5);
        let b = select_committee(&witnesses, &AccountId([2; 32]), &[0; 32], 5);
        let a_next_epoch = select_committee(&witnesses, &AccountId([1; 32]), &[1; 32], 5);
        assert_ne!(a, b);
        assert_ne!(a, a_next_epoch);
    }
}
