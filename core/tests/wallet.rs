//! Wallet behaviour through the public API: create/restore, typed errors, and the
//! sign-once guard across a reopen and across a real crash (a child process that aborts
//! right after signing, without closing the database).

use std::process::Command;

use zeropole_core::crypto::{CryptoError, Domain, SeedPhrase};
use zeropole_core::wallet::{Wallet, WalletError};

#[test]
fn create_then_restore_on_a_new_device_gives_the_same_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wallet = Wallet::create(dir.path().join("phone-a.db")).expect("create");
    let phrase = wallet.phrase().as_str().to_string();
    assert_eq!(phrase.split(' ').count(), 24);
    let restored = Wallet::restore(dir.path().join("phone-b.db"), &phrase).expect("restore");
    assert_eq!(restored.account_id(), wallet.account_id());
    assert_eq!(restored.public_key(), wallet.public_key());
    // And reopening the original database with its phrase works too.
    drop(wallet);
    let reopened = Wallet::restore(dir.path().join("phone-a.db"), &phrase).expect("reopen");
    assert_eq!(reopened.account_id(), restored.account_id());
}

#[test]
fn create_refuses_to_overwrite_an_existing_wallet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let first = Wallet::create(&path).expect("create");
    let first_id = first.account_id();
    drop(first);
    assert!(matches!(
        Wallet::create(&path),
        Err(WalletError::AlreadyExists(_))
    ));
    // The original account is untouched.
    let phrase = SeedPhrase::generate();
    match Wallet::restore(&path, phrase.as_str()) {
        Err(WalletError::AccountMismatch {
            stored, derived, ..
        }) => {
            assert_eq!(stored, first_id);
            assert_ne!(derived, first_id);
        }
        other => panic!("expected AccountMismatch, got {other:?}"),
    }
}

#[test]
fn bad_phrases_are_typed_errors_and_create_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("never.db");
    let unknown = format!("{} zeropole", "abandon ".repeat(23).trim_end());
    assert!(matches!(
        Wallet::restore(&path, &unknown),
        Err(WalletError::Phrase(CryptoError::UnknownWord {
            position: 24
        }))
    ));
    assert!(matches!(
        Wallet::restore(&path, &"abandon ".repeat(24)),
        Err(WalletError::Phrase(CryptoError::ChecksumMismatch))
    ));
    assert!(
        !path.exists(),
        "a rejected phrase must not create a database"
    );
}

#[test]
fn the_sign_once_guard_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let wallet = Wallet::create(&path).expect("create");
    let phrase = wallet.phrase().as_str().to_string();
    let signature = wallet.sign(0, b"open").expect("sign");
    assert!(wallet.verify(b"open", &signature));
    // Idempotent for the same payload: the recorded signature comes back.
    assert_eq!(wallet.sign(0, b"open").expect("re-sign"), signature);
    drop(wallet);

    let wallet = Wallet::restore(&path, &phrase).expect("reopen");
    assert_eq!(
        wallet.sign(0, b"open").expect("re-send after reopen"),
        signature
    );
    match wallet.sign(0, b"a different block") {
        Err(WalletError::AlreadySigned { height: 0, .. }) => {}
        other => panic!("expected AlreadySigned, got {other:?}"),
    }
    assert!(wallet.sign(1, b"next").is_ok());
}

#[test]
fn signatures_are_domain_separated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wallet = Wallet::create(dir.path().join("w.db")).expect("create");
    let signature = wallet.sign(0, b"payload").expect("sign");
    assert!(wallet
        .public_key()
        .verify(Domain::Block, b"payload", &signature));
    assert!(!wallet
        .public_key()
        .verify(Domain::Attest, b"payload", &signature));
}

const CHILD_ENV: &str = "ZEROPOLE_TEST_CRASH_CHILD";

/// Runs in the child process: sign at height 7, print the signature, abort at once.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (path, phrase) = spec.split_once('|').expect("spec");
    let wallet = Wallet::restore(path, phrase).expect("restore");
    let signature = wallet.sign(7, b"block at 7").expect("sign");
    println!("SIGNATURE={}", hex::encode(signature.to_bytes()));
    std::process::abort();
}

#[test]
fn the_sign_once_guard_survives_a_crash_right_after_signing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let phrase = {
        let wallet = Wallet::create(&path).expect("create");
        wallet.phrase().as_str().to_string()
    };
    // Under an emulator (scripts/test-arm64.sh) the child needs the same runner.
    let runner = std::env::var("ZEROPOLE_TEST_RUNNER").unwrap_or_default();
    let mut argv: Vec<String> = runner.split_whitespace().map(str::to_string).collect();
    argv.push(
        std::env::current_exe()
            .expect("test binary")
            .display()
            .to_string(),
    );
    let output = Command::new(&argv[0])
        .args(&argv[1..])
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}|{}", path.display(), phrase))
        .output()
        .expect("run child");
    assert!(!output.status.success(), "the child must have aborted");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let released = stdout
        .lines()
        .find_map(|l| l.split_once("SIGNATURE=").map(|(_, hex)| hex.trim()))
        .unwrap_or_else(|| panic!("child printed no signature: {stdout}"));

    let wallet = Wallet::restore(&path, &phrase).expect("reopen after crash");
    // The released signature was durable before it was released: the same one comes back,
    // and a different block at height 7 is refused.
    assert_eq!(
        hex::encode(wallet.sign(7, b"block at 7").expect("re-send").to_bytes()),
        released
    );
    assert!(matches!(
        wallet.sign(7, b"other block at 7"),
        Err(WalletError::AlreadySigned { height: 7, .. })
    ));
}

/// Phone worker threads have small stacks (JVM threads ~1 MiB, iOS secondary threads
/// 512 KiB). The Falcon key material is large, so it must stay on the heap: every wallet
/// operation has to run on a 256 KiB stack, even in an unoptimised build.
#[test]
fn wallet_operations_fit_in_a_small_thread_stack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let wallet = Wallet::create(&path).expect("create");
            let phrase = wallet.phrase().as_str().to_string();
            let signature = wallet.sign(0, b"x").expect("sign");
            assert!(wallet.verify(b"x", &signature));
            drop(wallet);
            Wallet::restore(&path, &phrase).expect("restore");
        })
        .expect("spawn")
        .join()
        .expect("no panic");
}
