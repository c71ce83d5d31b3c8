use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::*;
use crate::crypto::{hash_tagged, Domain, KeyPair};
use crate::ledger::{apply_certified, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    AttestReply, AttestRequest, Attestation, CertificateOutcome, Epoch, Statement, Witness,
    WitnessId, WitnessNode,
};

const FUNDS: u64 = 1_000;
const RECIPIENT: AccountId = AccountId([0xEE; 32]);

fn witness(i: u8) -> (Witness, KeyPair) {
    let keys = KeyPair::from_seed(&[100 + i; 32]).expect("keygen");
    let id = WitnessId(*blake3::hash(&[i]).as_bytes());
    (
        Witness {
            id,
            public_key: keys.public_key().clone(),
        },
        keys,
    )
}

/// Four witnesses, committees of all four (FastPay mode, q = 3), one funded owner.
struct Fixture {
    epoch: Epoch,
    members: Vec<(Witness, KeyPair)>,
    owner: KeyPair,
    genesis: Vec<(AccountId, AccountState)>,
}

impl Fixture {
    fn new() -> Self {
        let members: Vec<_> = (0..4).map(witness).collect();
        let rules = EpochRules {
            epoch: 0,
            min_amount: 1,
            dmapps: BTreeSet::new(),
        };
        let epoch = Epoch::new(
            rules,
            [7; 32],
            4,
            members.iter().map(|(w, _)| w.clone()).collect(),
        );
        let owner = KeyPair::from_seed(&[1; 32]).expect("keygen");
        let genesis = vec![(owner.public_key().account_id(), genesis_state(&owner))];
        Fixture {
            epoch,
            members,
            owner,
            genesis,
        }
    }

    fn account(&self) -> AccountId {
        self.owner.public_key().account_id()
    }

    fn genesis_state(&self) -> AccountState {
        self.genesis[0].1.clone()
    }

    /// An owner-signed send of `amount` at height 1 (valid against genesis).
    fn send(&mut self, amount: u64) -> Block {
        let state = self.genesis_state();
        BlockBody {
            account: self.account(),
            height: 1,
            previous: state.head_hash,
            epoch: 0,
            op: Op::Send {
                to: RECIPIENT,
                amount,
                memo: vec![],
                prev_to: None,
            },
            balance: FUNDS - amount,
            timestamp_ms: 1,
            dmapp: DmappId::WALLET,
        }
        .sign(&mut self.owner)
        .expect("sign")
    }

    fn certify(&mut self, block: &Block) -> Certificate {
        let statement = Statement::for_block(self.epoch.number(), block);
        let attestations: Vec<_> = self
            .members
            .iter_mut()
            .take(3)
            .map(|(w, k)| Attestation::sign(statement, w.id, k).expect("sign"))
            .collect();
        let cert = Certificate::assemble(block.clone(), &self.epoch, &attestations);
        assert_eq!(cert.verify(&self.epoch), Ok(()));
        cert
    }

    /// Witness 0 started on the database at `path` (a fresh process each time).
    fn node(&self, path: &Path) -> WitnessNode<SqliteWitnessStore> {
        let (me, keys) = witness(0);
        let store = SqliteWitnessStore::open(path).expect("open witness store");
        WitnessNode::start(me, keys, self.epoch.clone(), store, &self.genesis).expect("start")
    }
}

/// Like `sim::genesis_state`: a genesis allocation, no Open block.
fn genesis_state(keys: &KeyPair) -> AccountState {
    let pk = keys.public_key();
    AccountState {
        public_key: pk.clone(),
        head_height: 0,
        head_hash: hash_tagged(Domain::Block, &pk.to_bytes()),
        balance: FUNDS,
        last_timestamp_ms: 0,
        last_sent_to: BTreeMap::new(),
        recv_cursor: BTreeMap::new(),
    }
}

fn entry(byte: u8, amount: u64) -> PendingEntry {
    PendingEntry {
        from: AccountId([byte; 32]),
        height: u64::from(byte) * 3,
        amount,
        send_hash: Hash([byte ^ 0x5A; 32]),
    }
}

fn reopen(path: &Path) -> SqliteWitnessStore {
    SqliteWitnessStore::open(path).expect("reopen")
}

fn raw(store: &SqliteWitnessStore) -> &rusqlite::Connection {
    &store.store.conn
}

#[test]
fn a_new_database_has_the_witness_tables_at_full_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteWitnessStore::open(dir.path().join("w.db")).expect("open");
    assert_eq!(
        store.store().schema_version().expect("version"),
        super::super::SCHEMA_VERSION
    );
    let tables: Vec<String> = raw(&store)
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    for table in ["attest_locks", "frozen", "pending", "witness_accounts"] {
        assert!(tables.iter().any(|t| t == table), "{table} missing");
    }
    assert_eq!(store.store().journal_mode().expect("mode"), "wal");
    let sync: i64 = raw(&store)
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(sync, 2, "synchronous=FULL");
    assert!(store.accounts(0).expect("read").is_empty());
    assert!(store.frozen(0).expect("read").is_empty());
    assert!(store.pending(0).expect("read").is_empty());
    assert_eq!(store.check().ok(), Some(()));
}

#[test]
fn a_v1_database_is_migrated_and_keeps_its_wallet_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    {
        let mut store = Store::open(&path).expect("open");
        store
            .put_account(&super::super::AccountRecord {
                account_id: AccountId([1; 32]),
                account_index: 0,
                derivation: "test".into(),
                public_key: vec![1; 4],
            })
            .expect("put");
        // Roll the schema back to v1, as an older build left it.
        store
            .conn
            .execute_batch(
                "DROP TABLE attest_locks; DROP TABLE witness_accounts;
                 DROP TABLE frozen; DROP TABLE pending; DROP TABLE closed_epochs;
                 DROP TABLE chain_certificates; DROP TABLE witness_pruned; DROP TABLE chain_base;
                 DROP TABLE node_events;
                 PRAGMA user_version = 1;",
            )
            .expect("downgrade");
    }
    let store = SqliteWitnessStore::open(&path).expect("migrate");
    assert_eq!(
        store.store().schema_version().expect("version"),
        super::super::SCHEMA_VERSION
    );
    assert!(store.store().account(0).expect("read").is_some());
    assert!(store.accounts(0).expect("read").is_empty());
}

#[test]
fn locks_round_trip_through_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let mut f = Fixture::new();
    let block = f.send(10);
    {
        let mut store = reopen(&path);
        assert_eq!(store.lock(0, &f.account(), 1).expect("read"), None);
        store.put_lock(0, &block).expect("lock");
    }
    let store = reopen(&path);
    assert_eq!(store.lock(0, &f.account(), 1).expect("read"), Some(block));
    assert_eq!(store.lock(0, &f.account(), 2).expect("read"), None);
    assert_eq!(store.lock(0, &RECIPIENT, 1).expect("read"), None);
}

#[test]
fn a_different_block_at_a_locked_height_is_refused_and_the_first_lock_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let mut f = Fixture::new();
    let first = f.send(10);
    let second = f.send(20);
    {
        let mut store = reopen(&path);
        store.put_lock(0, &first).expect("lock");
        let err = store
            .put_lock(0, &second)
            .expect_err("a second block is refused");
        assert!(err.is_lock_conflict(), "{err}");
        assert_eq!(
            store.lock(0, &f.account(), 1).expect("read"),
            Some(first.clone())
        );
        // The same block again (re-signed: Falcon signatures differ) is accepted and the
        // stored copy is kept.
        let mut again = first.clone();
        again.signature = again
            .body
            .clone()
            .sign(&mut f.owner)
            .expect("sign")
            .signature;
        assert_ne!(again, first);
        store.put_lock(0, &again).expect("same block");
        assert_eq!(
            store.lock(0, &f.account(), 1).expect("read"),
            Some(first.clone())
        );
    }
    let mut store = reopen(&path);
    assert_eq!(store.lock(0, &f.account(), 1).expect("read"), Some(first));
    assert!(store
        .put_lock(0, &second)
        .expect_err("still refused after a reopen")
        .is_lock_conflict());
    let locks: i64 = raw(&store)
        .query_row("SELECT count(*) FROM attest_locks", [], |r| r.get(0))
        .expect("count");
    assert_eq!(locks, 1);
    // Other errors are not lock conflicts.
    assert!(!StoreError::Corrupt("x".into()).is_lock_conflict());
}

#[test]
fn accounts_round_trip_through_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let mut f = Fixture::new();
    let other = KeyPair::from_seed(&[2; 32]).expect("keygen");
    let block = f.send(10);
    let cert = f.certify(&block);
    let mut state = f.genesis_state();
    state.recv_cursor.insert(AccountId([9; 32]), 4);
    let genesis_record = CertifiedAccount { state, head: None };
    let certified = CertifiedAccount {
        state: apply_certified(&genesis_record.state, &block),
        head: Some(cert),
    };
    let other_record = CertifiedAccount {
        state: genesis_state(&other),
        head: None,
    };
    let other_id = other.public_key().account_id();
    {
        let mut store = reopen(&path);
        store
            .put_account(0, f.account(), &genesis_record)
            .expect("put");
        store.put_account(0, other_id, &other_record).expect("put");
    }
    {
        let mut store = reopen(&path);
        let mut expected = vec![
            (f.account(), genesis_record.clone()),
            (other_id, other_record.clone()),
        ];
        expected.sort_by_key(|(a, _)| *a);
        assert_eq!(store.accounts(0).expect("read"), expected);
        // A new certified head replaces the record.
        store
            .put_account(0, f.account(), &certified)
            .expect("advance");
    }
    let store = reopen(&path);
    let accounts: BTreeMap<_, _> = store.accounts(0).expect("read").into_iter().collect();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[&f.account()], certified);
    assert_eq!(accounts[&other_id], other_record);
}

#[test]
fn inconsistent_account_records_are_not_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Fixture::new();
    let mut store = reopen(&dir.path().join("w.db"));
    let record = CertifiedAccount {
        state: f.genesis_state(),
        head: None,
    };
    // Under another account's id.
    assert!(matches!(
        store.put_account(0, RECIPIENT, &record),
        Err(StoreError::Corrupt(_))
    ));
    // With a head certificate that does not certify the state's head.
    let block = f.send(10);
    let cert = f.certify(&block);
    let stale = CertifiedAccount {
        state: f.genesis_state(),
        head: Some(cert),
    };
    assert!(matches!(
        store.put_account(0, f.account(), &stale),
        Err(StoreError::Corrupt(_))
    ));
    assert!(store.accounts(0).expect("read").is_empty());
}

#[test]
fn frozen_accounts_round_trip_and_keep_their_first_proof() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let mut f = Fixture::new();
    let (a, b) = (f.send(10), f.send(20));
    let proof = EquivocationProof {
        first: a.clone(),
        second: b.clone(),
    };
    {
        let mut store = reopen(&path);
        store.put_frozen(0, &proof).expect("freeze");
    }
    {
        let mut store = reopen(&path);
        assert_eq!(store.frozen(0).expect("read"), vec![proof.clone()]);
        let swapped = EquivocationProof {
            first: b,
            second: a,
        };
        store.put_frozen(0, &swapped).expect("freeze again");
    }
    let store = reopen(&path);
    assert_eq!(store.frozen(0).expect("read"), vec![proof]);
}

#[test]
fn pending_lists_round_trip_in_order_and_empty_lists_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let r1 = AccountId([1; 32]);
    let r2 = AccountId([2; 32]);
    let list1 = vec![entry(9, 50), entry(3, 70), entry(5, 10)];
    let list2 = vec![entry(4, 1)];
    {
        let mut store = reopen(&path);
        store.put_pending(0, r2, &list2).expect("put");
        store.put_pending(0, r1, &list1).expect("put");
    }
    {
        let mut store = reopen(&path);
        assert_eq!(
            store.pending(0).expect("read"),
            vec![(r1, list1.clone()), (r2, list2.clone())]
        );
        store.put_pending(0, r1, &list1[1..]).expect("replace");
        store.put_pending(0, r2, &[]).expect("clear");
    }
    let mut store = reopen(&path);
    assert_eq!(
        store.pending(0).expect("read"),
        vec![(r1, list1[1..].to_vec())]
    );
    let full: Vec<_> = (0..MAX_PENDING_PER_RECIPIENT as u64)
        .map(|i| PendingEntry {
            from: AccountId([7; 32]),
            height: i,
            amount: i,
            send_hash: Hash([7; 32]),
        })
        .collect();
    store.put_pending(0, r2, &full).expect("a full list");
    let too_many = vec![entry(1, 1); MAX_STORED_PENDING + 1];
    assert!(matches!(
        store.put_pending(0, r1, &too_many),
        Err(StoreError::Corrupt(_))
    ));
    let store = reopen(&path);
    assert_eq!(
        store.pending(0).expect("read"),
        vec![(r1, list1[1..].to_vec()), (r2, full)]
    );
}

#[test]
fn a_restarted_witness_never_attests_a_second_block_at_a_locked_height() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("witness.db");
    let mut f = Fixture::new();
    let first = f.send(10);
    let second = f.send(20);
    let request = |block: &Block| AttestRequest {
        block: block.clone(),
        send: None,
    };
    {
        let mut node = f.node(&path);
        assert!(matches!(
            node.handle_attest(&request(&first)),
            AttestReply::Attested(_)
        ));
        // Dropped here: the process dies right after the attestation left.
    }
    {
        let mut node = f.node(&path);
        // The restart loaded the accounts rather than re-seeding genesis.
        assert_eq!(
            node.account(&f.account()).map(|r| &r.state),
            Some(&f.genesis_state())
        );
        // The locked block itself may be attested again...
        assert!(matches!(
            node.handle_attest(&request(&first)),
            AttestReply::Attested(_)
        ));
        // ...but a different one at the same height proves equivocation.
        match node.handle_attest(&request(&second)) {
            AttestReply::Equivocation(proof) => {
                assert_eq!(proof.first, first);
                assert_eq!(proof.second, second);
            }
            other => panic!("expected an equivocation proof, got {other:?}"),
        }
    }
    let mut node = f.node(&path);
    assert!(node.frozen(&f.account()).is_some());
    for block in [&first, &second] {
        let reply = node.handle_attest(&request(block));
        assert!(matches!(reply, AttestReply::Frozen(_)), "{reply:?}");
    }
    let store = node.into_store();
    assert_eq!(store.lock(0, &f.account(), 1).expect("read"), Some(first));
}

#[test]
fn a_restarted_witness_refuses_a_block_not_signed_by_the_owner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("witness.db");
    let mut f = Fixture::new();
    let first = f.send(10);
    let mut forged = f.send(20);
    forged.signature = first.signature.clone();
    {
        let mut node = f.node(&path);
        let reply = node.handle_attest(&AttestRequest {
            block: first,
            send: None,
        });
        assert!(matches!(reply, AttestReply::Attested(_)));
    }
    let mut node = f.node(&path);
    let reply = node.handle_attest(&AttestRequest {
        block: forged,
        send: None,
    });
    assert!(matches!(reply, AttestReply::Invalid(_)), "{reply:?}");
    assert!(node.frozen(&f.account()).is_none());
}

#[test]
fn a_restarted_witness_keeps_certified_heads_and_pending_receivables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("witness.db");
    let mut f = Fixture::new();
    let block = f.send(10);
    let cert = f.certify(&block);
    {
        let mut node = f.node(&path);
        assert_eq!(
            node.handle_certificate(&cert),
            CertificateOutcome::Applied(vec![(f.account(), 1)])
        );
    }
    let mut node = f.node(&path);
    let record = node.account(&f.account()).expect("served");
    assert_eq!(record.head.as_ref(), Some(&cert));
    assert_eq!(record.state.head_height, 1);
    assert_eq!(record.state.balance, FUNDS - 10);
    assert_eq!(
        node.pending_for(&RECIPIENT),
        &[PendingEntry {
            from: f.account(),
            height: 1,
            amount: 10,
            send_hash: block.hash(),
        }]
    );
    // Height 1 is certified: another block there is refused.
    let other = f.send(20);
    let reply = node.handle_attest(&AttestRequest {
        block: other,
        send: None,
    });
    assert!(
        !matches!(reply, AttestReply::Attested(_)),
        "attested a second block at a certified height: {reply:?}"
    );
}

/// Writes a row straight into a table, as a damaged disk or a foreign writer would.
fn inject(path: &Path, sql: &str, values: &[&dyn rusqlite::ToSql]) {
    let store = Store::open(path).expect("open");
    store.conn.execute(sql, values).expect("inject");
}

#[test]
fn corrupt_rows_are_typed_errors_and_never_panics() {
    let mut f = Fixture::new();
    let block = f.send(10);
    let account = f.account();
    let state = f.genesis_state().encode();
    let cases: Vec<(&str, Vec<Box<dyn rusqlite::ToSql>>)> = vec![
        (
            "INSERT INTO attest_locks VALUES (0, ?1, ?2, ?3)",
            vec![
                Box::new(account.0.to_vec()),
                Box::new(1i64),
                Box::new(vec![1u8, 2, 3]),
            ],
        ),
        // A valid block under the wrong height.
        (
            "INSERT INTO attest_locks VALUES (0, ?1, ?2, ?3)",
            vec![
                Box::new(account.0.to_vec()),
                Box::new(2i64),
                Box::new(block.encode()),
            ],
        ),
        (
            "INSERT INTO witness_accounts VALUES (0, ?1, ?2, NULL)",
            vec![Box::new(account.0.to_vec()), Box::new(state[..50].to_vec())],
        ),
        (
            "INSERT INTO witness_accounts VALUES (0, ?1, ?2, ?3)",
            vec![
                Box::new(account.0.to_vec()),
                Box::new(state.clone()),
                Box::new(vec![0xFFu8; 40]),
            ],
        ),
        // A valid state under another account.
        (
            "INSERT INTO witness_accounts VALUES (0, ?1, ?2, NULL)",
            vec![Box::new(RECIPIENT.0.to_vec()), Box::new(state.clone())],
        ),
        (
            "INSERT INTO frozen VALUES (0, ?1, ?2)",
            vec![Box::new(account.0.to_vec()), Box::new(vec![1u8])],
        ),
        (
            "INSERT INTO pending VALUES (0, ?1, ?2)",
            vec![
                Box::new(RECIPIENT.0.to_vec()),
                Box::new(vec![1u8, 0xFF, 0xFF, 0xFF, 0xFF]),
            ],
        ),
        (
            "INSERT INTO pending VALUES (0, ?1, ?2)",
            vec![
                Box::new(RECIPIENT.0.to_vec()),
                Box::new(vec![2u8, 0, 0, 0, 0]),
            ],
        ),
    ];
    for (i, (sql, values)) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        inject(&path, sql, &refs);
        match SqliteWitnessStore::open(&path) {
            Err(StoreError::Corrupt(_)) => {}
            Err(e) => panic!("case {i}: expected Corrupt, got {e}"),
            Ok(_) => panic!("case {i}: a corrupt database was accepted"),
        }
    }
}

#[test]
fn corrupt_rows_found_after_opening_are_typed_errors_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let mut f = Fixture::new();
    let block = f.send(10);
    let account = f.account();
    let mut store = reopen(&path);
    store
        .put_account(
            0,
            account,
            &CertifiedAccount {
                state: f.genesis_state(),
                head: None,
            },
        )
        .expect("put");
    store
        .put_pending(0, RECIPIENT, &[entry(1, 5)])
        .expect("put");
    // The disk goes bad under a running witness.
    raw(&store)
        .execute(
            "INSERT INTO attest_locks VALUES (0, ?1, 1, X'00')",
            params![&account.0[..]],
        )
        .expect("inject");
    raw(&store)
        .execute("UPDATE witness_accounts SET state = X'01'", [])
        .expect("inject");
    raw(&store)
        .execute("UPDATE pending SET entries = X'0100'", [])
        .expect("inject");

    assert!(matches!(
        store.lock(0, &account, 1),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(store.accounts(0), Err(StoreError::Corrupt(_))));
    assert!(matches!(store.pending(0), Err(StoreError::Corrupt(_))));
    // The unreadable lock still holds its slot: nothing is attested over it.
    assert!(matches!(
        store.put_lock(0, &block),
        Err(StoreError::Corrupt(_))
    ));
    let kept: Vec<u8> = raw(&store)
        .query_row("SELECT block FROM attest_locks", [], |r| r.get(0))
        .expect("row");
    assert_eq!(kept, vec![0]);
    assert!(matches!(store.check(), Err(StoreError::Corrupt(_))));
    drop(store);
    assert!(matches!(
        SqliteWitnessStore::open(&path),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn stored_value_formats_refuse_garbage_and_foreign_versions() {
    let mut f = Fixture::new();
    let proof = EquivocationProof {
        first: f.send(10),
        second: f.send(20),
    };
    let bytes = encode_proof(&proof);
    assert_eq!(decode_proof(&bytes), Ok(proof));
    let mut version = bytes.clone();
    version[0] = 9;
    assert!(matches!(
        decode_proof(&version),
        Err(DecodeError::UnsupportedVersion { .. })
    ));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(decode_proof(&trailing), Err(DecodeError::TrailingBytes(1)));

    let list = vec![entry(1, 2), entry(3, 4)];
    let bytes = encode_pending(&list).expect("encode");
    assert_eq!(bytes.len(), 1 + 4 + 2 * PENDING_ENTRY_LEN);
    assert_eq!(decode_pending(&bytes), Ok(list));
    assert!(decode_pending(&bytes[..bytes.len() - 1]).is_err());
    let mut huge = bytes.clone();
    huge[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_pending(&huge),
        Err(DecodeError::TooLong { .. })
    ));

    for len in 0..300usize {
        let garbage: Vec<u8> = (0..len).map(|i| (i * 41 % 251) as u8).collect();
        let _ = decode_proof(&garbage);
        let _ = decode_pending(&garbage);
        let mut versioned = garbage.clone();
        versioned.insert(0, WITNESS_RECORD_VERSION);
        let _ = decode_proof(&versioned);
        let _ = decode_pending(&versioned);
    }
}

#[test]
fn a_v2_database_is_migrated_to_epoch_zero_and_keeps_its_witness_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let mut f = Fixture::new();
    let block = f.send(10);
    {
        let store = Store::open(&path).expect("open");
        // Rebuild the v2 witness tables, as a v2 build left them, with one row each.
        store
            .conn
            .execute_batch(
                "DROP TABLE attest_locks; DROP TABLE witness_accounts;
                 DROP TABLE frozen; DROP TABLE pending; DROP TABLE closed_epochs;
                 DROP TABLE chain_certificates; DROP TABLE witness_pruned; DROP TABLE chain_base;
                 DROP TABLE node_events;
                 CREATE TABLE attest_locks (account BLOB NOT NULL, height INTEGER NOT NULL,
                     block BLOB NOT NULL, PRIMARY KEY (account, height)) STRICT;
                 CREATE TABLE witness_accounts (account BLOB NOT NULL PRIMARY KEY,
                     state BLOB NOT NULL, head_cert BLOB) STRICT;
                 CREATE TABLE frozen (account BLOB NOT NULL PRIMARY KEY,
                     proof BLOB NOT NULL) STRICT;
                 CREATE TABLE pending (recipient BLOB NOT NULL PRIMARY KEY,
                     entries BLOB NOT NULL) STRICT;
                 PRAGMA user_version = 2;",
            )
            .expect("downgrade");
        store
            .conn
            .execute(
                "INSERT INTO attest_locks VALUES (?1, 1, ?2)",
                rusqlite::params![&f.account().0[..], block.encode()],
            )
            .expect("lock row");
        store
            .conn
            .execute(
                "INSERT INTO witness_accounts VALUES (?1, ?2, NULL)",
                rusqlite::params![&f.account().0[..], f.genesis_state().encode()],
            )
            .expect("account row");
    }
    let mut store = SqliteWitnessStore::open(&path).expect("migrate");
    assert_eq!(
        store.store().schema_version().expect("version"),
        super::super::SCHEMA_VERSION
    );
    assert_eq!(store.lock(0, &f.account(), 1).expect("read"), Some(block));
    assert_eq!(store.lock(1, &f.account(), 1).expect("read"), None);
    assert_eq!(store.accounts(0).expect("read").len(), 1);
    assert!(store.accounts(1).expect("read").is_empty());
    assert!(!store.closed(0).expect("read"));
    store.put_closed(0).expect("close");
    drop(store);
    let store = reopen(&path);
    assert!(store.closed(0).expect("read"), "closed(e) is durable");
    assert!(!store.closed(1).expect("read"));
}

#[test]
fn records_of_different_epochs_never_mix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Fixture::new();
    let first = f.send(10);
    let second = f.send(11);
    let mut store = SqliteWitnessStore::open(dir.path().join("w.db")).expect("open");
    store.put_lock(0, &first).expect("lock in 0");
    // Another epoch's slot is separate: a different block may be locked there.
    store.put_lock(1, &second).expect("lock in 1");
    assert!(store
        .put_lock(1, &first)
        .expect_err("conflict")
        .is_lock_conflict());
    assert_eq!(store.lock(0, &f.account(), 1).expect("read"), Some(first));
    assert_eq!(store.lock(1, &f.account(), 1).expect("read"), Some(second));
    store
        .put_pending(1, RECIPIENT, &[entry(1, 5)])
        .expect("put");
    assert!(store.pending(0).expect("read").is_empty());
    assert_eq!(store.pending(1).expect("read").len(), 1);
}
