use super::*;
use crate::crypto::{hash_tagged, Domain};

fn account(byte: u8) -> AccountRecord {
    AccountRecord {
        account_id: AccountId([byte; 32]),
        account_index: 0,
        derivation: "test".into(),
        public_key: vec![byte; 4],
    }
}

fn record(account: &AccountRecord, height: u64, payload: &[u8]) -> SignOnceRecord {
    SignOnceRecord {
        account_id: account.account_id,
        height,
        payload_hash: hash_tagged(Domain::SignOnce, payload),
        payload: payload.to_vec(),
        signature: vec![0xAA; 8],
    }
}

#[test]
fn a_new_database_is_migrated_and_in_wal_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("nested/dir/z.db")).expect("open");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.journal_mode().expect("mode"), "wal");
}

#[test]
fn reopening_keeps_data_and_does_not_re_migrate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("z.db");
    let a = account(1);
    {
        let mut store = Store::open(&path).expect("open");
        store.put_account(&a).expect("put");
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.account(0).expect("read"), Some(a));
    assert_eq!(store.account(1).expect("read"), None);
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("z.db");
    {
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
    }
    match Store::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_slot_is_claimed_once_and_the_first_claim_wins_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("z.db");
    let a = account(2);
    let first = record(&a, 5, b"first");
    {
        let mut store = Store::open(&path).expect("open");
        store.put_account(&a).expect("put");
        assert_eq!(
            store.record_signature(&first).expect("claim"),
            SlotClaim::Recorded
        );
    }
    let mut store = Store::open(&path).expect("reopen");
    assert_eq!(
        store
            .record_signature(&record(&a, 5, b"second"))
            .expect("claim"),
        SlotClaim::Taken(first.clone())
    );
    assert_eq!(
        store.signature_at(&a.account_id, 5).expect("read"),
        Some(first)
    );
    assert_eq!(
        store
            .record_signature(&record(&a, 6, b"second"))
            .expect("claim"),
        SlotClaim::Recorded
    );
}

#[test]
fn sign_once_rows_need_a_known_account() {
    let mut store = Store::open_in_memory().expect("open");
    let unknown = account(3);
    assert!(matches!(
        store.record_signature(&record(&unknown, 0, b"x")),
        Err(StoreError::Sqlite(_))
    ));
}

#[test]
fn heights_beyond_sqlite_integers_are_refused_not_wrapped() {
    let mut store = Store::open_in_memory().expect("open");
    let a = account(4);
    store.put_account(&a).expect("put");
    assert!(matches!(
        store.record_signature(&record(&a, u64::MAX, b"x")),
        Err(StoreError::Corrupt(_))
    ));
}
