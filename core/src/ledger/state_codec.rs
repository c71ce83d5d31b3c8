//! The canonical, versioned encoding of an [`AccountState`] (what a witness stores as an
//! account's certified state).
//!
//! Format (version 1), all integers big-endian:
//! ```text
//! state = version:u8 public_key:bytes(≤ 1024) head_height:u64 head_hash:[32]
//!         balance:u64 last_timestamp_ms:u64 last_sent_to:map recv_cursor:map
//! map   = count:u32 (account:[32] height:u64){count}    accounts strictly ascending
//! ```
//! A map is a count-prefixed list sorted by account, with no duplicates: one state has one
//! encoding, and a decoder refuses unsorted or duplicate keys, counts above
//! [`MAX_STATE_MAP_LEN`] and trailing bytes. Decoding never panics and allocates only as
//! the input actually delivers entries.

use std::collections::BTreeMap;

use super::AccountState;
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{AccountId, Hash, PublicKey};

/// The account-state format version this build writes and reads.
pub const STATE_VERSION: u8 = 1;
/// Most entries a state's `last_sent_to` or `recv_cursor` may hold (each is one distinct
/// counterparty). [`AccountState::encode`] does not check it; [`AccountState::decode`]
/// refuses more, so writers must check [`AccountState::fits_encoding`] first.
pub const MAX_STATE_MAP_LEN: usize = 1 << 20;
/// Longest encoded public key accepted.
const MAX_PUBLIC_KEY_LEN: usize = 1024;

impl AccountState {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(STATE_VERSION)
            .bytes(&self.public_key.to_bytes())
            .u64(self.head_height)
            .fixed(&self.head_hash.0)
            .u64(self.balance)
            .u64(self.last_timestamp_ms);
        write_map(&mut w, &self.last_sent_to);
        write_map(&mut w, &self.recv_cursor);
        w.finish()
    }

    /// Whether [`decode`](Self::decode) accepts this state's encoding (its maps are within
    /// [`MAX_STATE_MAP_LEN`] and its key within the key limit).
    pub fn fits_encoding(&self) -> bool {
        self.last_sent_to.len() <= MAX_STATE_MAP_LEN
            && self.recv_cursor.len() <= MAX_STATE_MAP_LEN
            && self.public_key.to_bytes().len() <= MAX_PUBLIC_KEY_LEN
    }

    /// Decodes exactly one state; any other input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("state version")?;
        if version != STATE_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "account state",
                version,
            });
        }
        let public_key = PublicKey::from_bytes(r.bytes("public key", MAX_PUBLIC_KEY_LEN)?)
            .map_err(|e| DecodeError::Invalid {
                field: "public key",
                reason: e.to_string(),
            })?;
        let state = AccountState {
            public_key,
            head_height: r.u64("head height")?,
            head_hash: Hash(r.array("head hash")?),
            balance: r.u64("balance")?,
            last_timestamp_ms: r.u64("last timestamp")?,
            last_sent_to: read_map(&mut r, "last_sent_to")?,
            recv_cursor: read_map(&mut r, "recv_cursor")?,
        };
        r.finish()?;
        Ok(state)
    }
}

fn write_map(w: &mut Writer, map: &BTreeMap<AccountId, u64>) {
    w.u32(u32::try_from(map.len()).unwrap_or(u32::MAX));
    // A BTreeMap iterates in ascending key order: the canonical order.
    for (account, height) in map {
        w.fixed(&account.0).u64(*height);
    }
}

fn read_map(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<BTreeMap<AccountId, u64>, DecodeError> {
    let count = r.u32(field)? as usize;
    if count > MAX_STATE_MAP_LEN {
        return Err(DecodeError::TooLong {
            field,
            len: count,
            max: MAX_STATE_MAP_LEN,
        });
    }
    let mut map = BTreeMap::new();
    let mut last: Option<AccountId> = None;
    for _ in 0..count {
        let account = AccountId(r.array(field)?);
        let height = r.u64(field)?;
        if last.is_some_and(|l| l >= account) {
            return Err(DecodeError::Invalid {
                field,
                reason: "keys are not strictly ascending".into(),
            });
        }
        last = Some(account);
        map.insert(account, height);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyPair;

    fn state() -> AccountState {
        let keys = KeyPair::from_seed(&[9; 32]).expect("keygen");
        AccountState {
            public_key: keys.public_key().clone(),
            head_height: 7,
            head_hash: Hash([3; 32]),
            balance: 1_000,
            last_timestamp_ms: 55,
            last_sent_to: [(AccountId([2; 32]), 4), (AccountId([1; 32]), 6)]
                .into_iter()
                .collect(),
            recv_cursor: [(AccountId([5; 32]), 1)].into_iter().collect(),
        }
    }

    #[test]
    fn a_state_round_trips_and_its_maps_are_sorted() {
        let s = state();
        let bytes = s.encode();
        assert_eq!(AccountState::decode(&bytes), Ok(s.clone()));
        assert!(s.fits_encoding());
        // The first last_sent_to entry on the wire is the smaller account.
        let key_len = s.public_key.to_bytes().len();
        let map_at = 1 + 4 + key_len + 8 + 32 + 8 + 8;
        assert_eq!(&bytes[map_at..map_at + 4], &2u32.to_be_bytes());
        assert_eq!(bytes[map_at + 4], 1);
    }

    #[test]
    fn non_canonical_or_foreign_encodings_are_refused() {
        let s = state();
        let bytes = s.encode();
        let key_len = s.public_key.to_bytes().len();
        let map_at = 1 + 4 + key_len + 8 + 32 + 8 + 8;

        // Swap the two last_sent_to entries: unsorted.
        let mut swapped = bytes.clone();
        let (a, b) = (map_at + 4, map_at + 4 + 40);
        let first: Vec<u8> = swapped[a..a + 40].to_vec();
        let second: Vec<u8> = swapped[b..b + 40].to_vec();
        swapped[a..a + 40].copy_from_slice(&second);
        swapped[b..b + 40].copy_from_slice(&first);
        assert!(matches!(
            AccountState::decode(&swapped),
            Err(DecodeError::Invalid { .. })
        ));

        // A duplicate key.
        let mut dup = bytes.clone();
        dup[b..b + 40].copy_from_slice(&first);
        assert!(matches!(
            AccountState::decode(&dup),
            Err(DecodeError::Invalid { .. })
        ));

        // A huge count is refused before any entry is read.
        let mut huge = bytes.clone();
        huge[map_at..map_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            AccountState::decode(&huge),
            Err(DecodeError::TooLong { .. })
        ));

        let mut version = bytes.clone();
        version[0] = 2;
        assert!(matches!(
            AccountState::decode(&version),
            Err(DecodeError::UnsupportedVersion { .. })
        ));

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            AccountState::decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        );
        for cut in [0, 1, 5, map_at, bytes.len() - 1] {
            assert!(AccountState::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn decoding_garbage_never_panics() {
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 253) as u8).collect();
            let _ = AccountState::decode(&bytes);
        }
    }
}
