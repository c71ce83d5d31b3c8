//! Falcon-512 on this machine: `fn-dsa` (shipped) against `pqcrypto-falcon` (PQClean,
//! dev-dependency only), so the choice in DESIGN.md §2 stays justified by numbers.
//!
//! Run: `cargo bench -p zeropole-core --bench falcon` (results go to BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion};
use pqcrypto_traits::sign::DetachedSignature as _;
use std::hint::black_box;
use zeropole_core::crypto::{Domain, KeyPair, SeedPhrase};

fn fn_dsa(c: &mut Criterion) {
    let mut group = c.benchmark_group("fn-dsa-512");
    let mut seed = [7u8; 32];
    group.bench_function("keygen (seeded)", |b| {
        b.iter(|| {
            seed[0] = seed[0].wrapping_add(1);
            black_box(KeyPair::from_seed(&seed).expect("keygen"))
        })
    });
    let mut keys = KeyPair::from_seed(&[1u8; 32]).expect("keygen");
    let message = [0x5Au8; 200];
    group.bench_function("sign", |b| {
        b.iter(|| black_box(keys.sign(Domain::Block, &message).expect("sign")))
    });
    let signature = keys.sign(Domain::Block, &message).expect("sign");
    let public = keys.public_key().clone();
    group.bench_function("verify", |b| {
        b.iter(|| assert!(public.verify(Domain::Block, black_box(&message), &signature)))
    });
    group.finish();

    let phrase = SeedPhrase::generate();
    c.bench_function("phrase -> account key (PBKDF2 + BLAKE3 + keygen)", |b| {
        b.iter(|| black_box(phrase.derive_key_pair(0).expect("derive")))
    });
}

fn pqclean(c: &mut Criterion) {
    use pqcrypto_falcon::falcon512;
    let mut group = c.benchmark_group("pqcrypto-falcon-512");
    group.bench_function("keygen (OS random; no seeded keygen)", |b| {
        b.iter(|| black_box(falcon512::keypair()))
    });
    let (pk, sk) = falcon512::keypair();
    let message = [0x5Au8; 200];
    group.bench_function("sign", |b| {
        b.iter(|| black_box(falcon512::detached_sign(&message, &sk)))
    });
    let signature = falcon512::detached_sign(&message, &sk);
    group.bench_function("verify", |b| {
        b.iter(|| {
            assert!(
                falcon512::verify_detached_signature(&signature, black_box(&message), &pk).is_ok()
            )
        })
    });
    group.finish();
    println!(
        "pqcrypto-falcon-512 signature: {} bytes (variable, ≤ 752)",
        signature.as_bytes().len()
    );
}

criterion_group!(benches, fn_dsa, pqclean);
criterion_main!(benches);
