use std::sync::OnceLock;

use fn_dsa::SigningKey512;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::crypto::{Domain, FnDsa512, KeyPair, Signature};
use crate::dmapp::{DmappError, DmappManifest};
use crate::ledger::{validate_next, BlockBody, DmappId, Op};

const EXAMPLE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/devnet-genesis.example.toml"
);

/// A signer whose signatures are a function of its seed and the order of signing, so the
/// example file is reproducible (`KeyPair::sign` draws fresh randomness, as it must).
struct DeterministicSigner {
    public: PublicKey,
    secret: Box<SigningKey512>,
    rng: ChaCha20Rng,
}

impl DeterministicSigner {
    fn new(seed: [u8; 32]) -> Self {
        let (secret, _) = FnDsa512::keygen_from_seed(&seed);
        DeterministicSigner {
            public: KeyPair::from_seed(&seed)
                .expect("keygen")
                .public_key()
                .clone(),
            secret: FnDsa512::decode_signing_key(&secret).expect("decode"),
            rng: ChaCha20Rng::from_seed(*blake3::hash(&seed).as_bytes()),
        }
    }

    fn sign(&mut self, domain: Domain, message: &[u8]) -> Signature {
        let bytes = FnDsa512::sign(&mut self.secret, &mut self.rng, domain, message).expect("sign");
        let mut encoded = vec![0x01];
        encoded.extend_from_slice(&bytes);
        Signature::from_bytes(&encoded).expect("framing")
    }
}

fn public(seed: [u8; 32]) -> PublicKey {
    KeyPair::from_seed(&seed)
        .expect("keygen")
        .public_key()
        .clone()
}

/// The devnet example: every key from a fixed seed (listed in docs/genesis.md; devnet
/// only, these secrets are public).
fn generate_example() -> Genesis {
    let mut carrier = DeterministicSigner::new([0xA1; 32]);
    let mut reviewer = DeterministicSigner::new([0xB1; 32]);
    let mut builder = GenesisBuilder::new("zeropole-devnet")
        .min_amount(1_000)
        .committee(0.05, 50.0, Some(4))
        .seed(*blake3::hash(b"zeropole-devnet seed_0").as_bytes())
        .bootstrap("/ip4/127.0.0.1/udp/4001/quic-v1")
        .bootstrap("/ip4/127.0.0.1/tcp/4001")
        .admission_authority(&carrier.public.clone())
        .review_authority(&reviewer.public.clone());
    for (i, amount) in [(1u8, 1_000_000_000u64), (2, 500_000_000), (3, 250_000_000)] {
        builder = builder.allocation(&public([0xD0 + i; 32]), amount);
    }
    for i in 1..=4u8 {
        let cert = AdmissionCert::new(public([0xC0 + i; 32]), &format!("devnet-station-{i}"), 0)
            .expect("valid");
        let signature = carrier.sign(Domain::Admission, &cert.encode());
        builder = builder.signed_witness(&SignedAdmission::from_parts(
            cert,
            carrier.public.clone(),
            signature,
        ));
    }
    let manifest = DmappManifest::new(
        "Hello ZeroPole",
        public([0xE1; 32]),
        1,
        &["funds.receive", "funds.send"],
    )
    .expect("valid");
    let signature = reviewer.sign(Domain::DmappManifest, &manifest.encode());
    builder = builder.signed_dmapp(&crate::dmapp::SignedManifest::from_parts(
        manifest,
        reviewer.public.clone(),
        signature,
    ));
    builder.build().expect("the example is valid")
}

fn example() -> &'static (Genesis, String) {
    static EXAMPLE: OnceLock<(Genesis, String)> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let genesis = generate_example();
        let text = genesis.to_toml_string();
        (genesis, text)
    })
}

/// The example with `edit` applied to its TOML table, parsed again.
fn edited(edit: impl FnOnce(&mut toml::Table)) -> Result<Genesis, GenesisError> {
    let mut table: toml::Table = toml::from_str(&example().1).expect("toml");
    edit(&mut table);
    Genesis::from_toml_str(&toml::to_string(&table).expect("serialize"))
}

/// The problem reported for `field`, or a panic naming what came instead.
fn problem_at(result: Result<Genesis, GenesisError>, expected_field: &str) -> Problem {
    match result {
        Err(GenesisError::Field { field, problem }) if field == expected_field => problem,
        other => panic!("expected an error at {expected_field}, got {other:?}"),
    }
}

fn array<'a>(table: &'a mut toml::Table, key: &str) -> &'a mut Vec<toml::Value> {
    table
        .get_mut(key)
        .and_then(toml::Value::as_array_mut)
        .expect("array")
}

fn entry<'a>(table: &'a mut toml::Table, key: &str, i: usize) -> &'a mut toml::Table {
    array(table, key)[i].as_table_mut().expect("table")
}

fn committee(table: &mut toml::Table) -> &mut toml::Table {
    table
        .get_mut("committee")
        .and_then(toml::Value::as_table_mut)
        .expect("committee")
}

fn hex_key(seed: u8) -> toml::Value {
    toml::Value::String(hex::encode(public([seed; 32]).to_bytes()))
}

#[test]
fn the_committed_example_is_what_the_generator_writes() {
    let (_, generated) = example();
    if std::env::var_os("ZEROPOLE_BLESS").is_some() {
        std::fs::write(EXAMPLE_PATH, generated).expect("write the example");
    }
    let committed = std::fs::read_to_string(EXAMPLE_PATH)
        .expect("scripts/devnet-genesis.example.toml exists (ZEROPOLE_BLESS=1 writes it)");
    assert!(
        committed == *generated,
        "scripts/devnet-genesis.example.toml is stale: run the genesis tests with ZEROPOLE_BLESS=1"
    );
}

#[test]
fn the_example_parses_into_the_devnet_epoch_zero() {
    let committed = std::fs::read_to_string(EXAMPLE_PATH).expect("example");
    let genesis = Genesis::from_toml_str(&committed).expect("the example is valid");
    assert_eq!(genesis.network(), "zeropole-devnet");
    assert_eq!(genesis.total_supply(), 1_750_000_000);
    let epoch = genesis.epoch0();
    assert_eq!(epoch.number(), 0);
    assert_eq!(epoch.n, 4);
    assert_eq!(epoch.seed, genesis.seed());
    assert_eq!(epoch.rules.min_amount, 1_000);
    assert_eq!(epoch.witnesses().count(), 4);
    for w in genesis.witnesses() {
        assert_eq!(epoch.witness(&w.id), Some(w));
    }
    let hello = DmappManifest::derive_id(&public([0xE1; 32]), "Hello ZeroPole");
    assert_eq!(epoch.rules.dmapps, [hello].into_iter().collect());
    assert_eq!(epoch.committee_len(), 4);
    assert_eq!(epoch.quorum(), 3);
    assert_eq!(genesis.registry().open_epoch(), 1);
    assert_eq!(genesis.bootstrap().len(), 2);
}

#[test]
fn a_genesis_round_trips_through_its_toml_text() {
    let (genesis, text) = example();
    let parsed = Genesis::from_toml_str(text).expect("parse");
    assert_eq!(&parsed, genesis);
    assert_eq!(&parsed.to_toml_string(), text);
}

#[test]
fn odd_bootstrap_strings_survive_the_round_trip() {
    let mut carrier = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let odd = "quote \" backslash \\ unicode ✓ # not a comment";
    let genesis = GenesisBuilder::new("odd")
        .admission_authority(&carrier.public_key().clone())
        .witness(&public([2; 32]), "op", &mut carrier)
        .bootstrap(odd)
        .build()
        .expect("valid");
    let parsed = Genesis::from_toml_str(&genesis.to_toml_string()).expect("parse");
    assert_eq!(parsed.bootstrap(), [odd]);
}

#[test]
fn n_is_derived_from_p_and_lambda_when_the_file_does_not_state_it() {
    let genesis = edited(|t| {
        committee(t).remove("n");
    })
    .expect("valid");
    assert_eq!(genesis.committee().n, None);
    assert_eq!(genesis.n(), 79);
    assert!(genesis.security_bits() >= 50.0);
    assert!(!genesis.security_summary().contains("BELOW"));
    let text = genesis.to_toml_string();
    assert!(text.contains("# n absent: derived from p and lambda, n = 79"));
    assert_eq!(Genesis::from_toml_str(&text).expect("parse"), genesis);
}

#[test]
fn the_security_level_is_reported_and_flagged_below_target() {
    let (genesis, text) = example();
    assert_eq!(genesis.security_bits(), crate::poc::security_bits(4, 0.05));
    let summary = genesis.security_summary();
    assert!(summary.starts_with("committee n = 4 (q = 3, f = 1) at p = 0.05: "));
    assert!(summary.contains("BELOW TARGET"), "{summary}");
    assert!(text.contains(&summary));
}

#[test]
fn a_lambda_written_as_an_integer_is_read_as_a_number_of_bits() {
    let genesis = edited(|t| {
        committee(t).insert("lambda".into(), toml::Value::Integer(40));
    });
    assert_eq!(genesis.expect("valid").committee().lambda, 40.0);
}

#[test]
fn genesis_states_fund_each_allocation_at_height_zero_with_a_unique_head_hash() {
    let (genesis, _) = example();
    let states = genesis.genesis_states();
    assert_eq!(states.len(), 3);
    let mut hashes = std::collections::BTreeSet::new();
    for ((id, state), allocation) in states.iter().zip(genesis.allocations()) {
        assert_eq!(*id, allocation.public_key.account_id());
        assert_eq!(state.public_key, allocation.public_key);
        assert_eq!(state.head_height, 0);
        assert_eq!(state.balance, allocation.amount);
        assert_eq!(state.head_hash, genesis.allocation_hash(allocation));
        assert!(state.last_sent_to.is_empty() && state.recv_cursor.is_empty());
        hashes.insert(state.head_hash);
    }
    assert_eq!(hashes.len(), 3);
    // Deterministic, and bound to the network and seed_0.
    assert_eq!(generate_example().genesis_states(), states);
    let other_network = edited(|t| {
        t.insert("network".into(), toml::Value::String("other".into()));
    })
    .expect("valid");
    let other_seed = edited(|t| {
        t.insert("seed".into(), toml::Value::String("11".repeat(32)));
    })
    .expect("valid");
    assert_ne!(
        other_network.genesis_states()[0].1.head_hash,
        states[0].1.head_hash
    );
    assert_ne!(
        other_seed.genesis_states()[0].1.head_hash,
        states[0].1.head_hash
    );
}

/// Pins the allocation hash construction: changing it changes every genesis account.
#[test]
fn the_allocation_hash_is_pinned() {
    let (genesis, _) = example();
    assert_eq!(
        genesis.allocation_hash(&genesis.allocations()[0]).to_hex(),
        "f213807331f20c683b2359a1c9730543f52a6661afbe3228bd6ced1e189844a9"
    );
}

#[test]
fn a_genesis_account_can_send_at_height_one() {
    let (genesis, _) = example();
    let (_, state) = genesis.genesis_states().swap_remove(0);
    let mut owner = KeyPair::from_seed(&[0xD1; 32]).expect("keygen");
    let to = public([0xD2; 32]).account_id();
    let block = BlockBody {
        account: state.public_key.account_id(),
        height: 1,
        previous: state.head_hash,
        epoch: 0,
        op: Op::Send {
            to,
            amount: 1_000,
            memo: Vec::new(),
            prev_to: None,
        },
        balance: state.balance - 1_000,
        timestamp_ms: 1,
        dmapp: DmappId::WALLET,
    }
    .sign(&mut owner)
    .expect("sign");
    let next = validate_next(&state, &block, &genesis.epoch0().rules, None).expect("valid");
    assert_eq!(next.balance, 1_000_000_000 - 1_000);
}

#[test]
fn a_malformed_or_unknown_public_key_names_its_allocation() {
    let not_hex = edited(|t| {
        entry(t, "allocations", 1).insert("public_key".into(), "zz".into());
    });
    assert!(matches!(
        problem_at(not_hex, "allocations[1].public_key"),
        Problem::Hex(_)
    ));
    let not_a_key = edited(|t| {
        entry(t, "allocations", 2).insert("public_key".into(), "01abcd".into());
    });
    assert!(matches!(
        problem_at(not_a_key, "allocations[2].public_key"),
        Problem::Key(_)
    ));
}

#[test]
fn the_same_account_funded_twice_is_refused() {
    let result = edited(|t| {
        let first = entry(t, "allocations", 0)["public_key"].clone();
        entry(t, "allocations", 2).insert("public_key".into(), first);
    });
    assert_eq!(
        problem_at(result, "allocations[2].public_key"),
        Problem::Duplicate {
            first: "allocations[0].public_key".into()
        }
    );
}

#[test]
fn a_total_supply_beyond_u64_is_refused() {
    let result = edited(|t| {
        for i in 0..3 {
            entry(t, "allocations", i).insert("amount".into(), toml::Value::Integer(i64::MAX));
        }
    });
    assert_eq!(
        problem_at(result, "allocations[2].amount"),
        Problem::SupplyOverflow
    );
}

#[test]
fn allocations_below_min_amount_or_beyond_toml_integers_are_refused() {
    let result = edited(|t| {
        entry(t, "allocations", 0).insert("amount".into(), toml::Value::Integer(999));
    });
    assert!(matches!(
        problem_at(result, "allocations[0].amount"),
        Problem::Invalid(_)
    ));
    let huge = GenesisBuilder::new("net")
        .admission_authority(&public([1; 32]))
        .allocation(&public([2; 32]), u64::MAX)
        .build();
    assert!(matches!(
        problem_at(huge, "allocations[0].amount"),
        Problem::Invalid(_)
    ));
}

#[test]
fn min_amount_must_be_positive() {
    let result = edited(|t| {
        t.insert("min_amount".into(), toml::Value::Integer(0));
    });
    assert!(matches!(
        problem_at(result, "min_amount"),
        Problem::Invalid(_)
    ));
}

#[test]
fn p_outside_zero_to_one_third_is_refused() {
    for p in [0.0, -0.1, 1.0 / 3.0, 0.5, f64::NAN, f64::INFINITY] {
        let result = edited(|t| {
            committee(t).insert("p".into(), toml::Value::Float(p));
        });
        assert!(
            matches!(problem_at(result, "committee.p"), Problem::Invalid(_)),
            "p = {p}"
        );
    }
}

#[test]
fn lambda_must_be_a_positive_finite_number() {
    for lambda in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let result = edited(|t| {
            committee(t).insert("lambda".into(), toml::Value::Float(lambda));
        });
        assert!(
            matches!(problem_at(result, "committee.lambda"), Problem::Invalid(_)),
            "lambda = {lambda}"
        );
    }
}

#[test]
fn n_must_be_between_one_and_the_maximum() {
    for n in [0, 10_001, -1] {
        let result = edited(|t| {
            committee(t).insert("n".into(), toml::Value::Integer(n));
        });
        match n {
            // A negative integer is not a u64: the TOML layer refuses it.
            -1 => assert!(matches!(result, Err(GenesisError::Toml(_)))),
            _ => assert!(matches!(
                problem_at(result, "committee.n"),
                Problem::Invalid(_)
            )),
        }
    }
}

#[test]
fn an_unreachable_security_level_without_n_is_refused() {
    let result = edited(|t| {
        let c = committee(t);
        c.remove("n");
        c.insert("p".into(), toml::Value::Float(0.3));
        c.insert("lambda".into(), toml::Value::Float(200.0));
    });
    assert!(matches!(
        problem_at(result, "committee.lambda"),
        Problem::Invalid(_)
    ));
}

#[test]
fn a_seed_must_be_32_bytes_of_hex() {
    for seed in ["00", "zz".repeat(32).as_str(), &"00".repeat(33)] {
        let seed = seed.to_owned();
        let result = edited(|t| {
            t.insert("seed".into(), toml::Value::String(seed));
        });
        assert!(matches!(problem_at(result, "seed"), Problem::Hex(_)));
    }
}

#[test]
fn network_names_are_short_and_plain() {
    for name in ["", "two words", "slash/net", &"n".repeat(65)] {
        let name = name.to_owned();
        let result = edited(|t| {
            t.insert("network".into(), toml::Value::String(name));
        });
        assert!(matches!(problem_at(result, "network"), Problem::Invalid(_)));
    }
}

#[test]
fn authorities_are_required_valid_and_distinct() {
    let none = edited(|t| array(t, "admission_authorities").clear());
    assert!(matches!(
        problem_at(none, "admission_authorities"),
        Problem::Invalid(_)
    ));
    let duplicate = edited(|t| {
        let reviewers = array(t, "review_authorities");
        let first = reviewers[0].clone();
        reviewers.push(first);
    });
    assert_eq!(
        problem_at(duplicate, "review_authorities[1]"),
        Problem::Duplicate {
            first: "review_authorities[0]".into()
        }
    );
    let bad = edited(|t| array(t, "admission_authorities").push("02".into()));
    assert!(matches!(
        problem_at(bad, "admission_authorities[1]"),
        Problem::Key(_)
    ));
}

#[test]
fn a_witness_admitted_by_an_unknown_authority_is_refused() {
    let result = edited(|t| {
        *array(t, "admission_authorities") = vec![hex_key(0x55)];
    });
    assert_eq!(
        problem_at(result, "witnesses[0].admission"),
        Problem::Admission(AdmissionError::UnknownAuthority)
    );
}

#[test]
fn a_witness_admission_with_a_broken_signature_is_refused() {
    let result = edited(|t| {
        let w = entry(t, "witnesses", 1);
        let mut bytes = hex::decode(w["admission"].as_str().expect("hex")).expect("hex");
        let last = bytes.len() - 10;
        bytes[last] ^= 0x01;
        w.insert("admission".into(), hex::encode(bytes).into());
    });
    assert_eq!(
        problem_at(result, "witnesses[1].admission"),
        Problem::Admission(AdmissionError::BadSignature)
    );
}

#[test]
fn a_witness_admission_that_is_not_an_encoding_is_refused() {
    let not_hex = edited(|t| {
        entry(t, "witnesses", 0).insert("admission".into(), "x".into());
    });
    assert!(matches!(
        problem_at(not_hex, "witnesses[0].admission"),
        Problem::Hex(_)
    ));
    let too_long = edited(|t| {
        entry(t, "witnesses", 2).insert("admission".into(), "00".repeat(1 << 20).into());
    });
    assert!(matches!(
        problem_at(too_long, "witnesses[2].admission"),
        Problem::Hex(_)
    ));
    let garbage = edited(|t| {
        entry(t, "witnesses", 3).insert("admission".into(), "0102030405".into());
    });
    assert!(matches!(
        problem_at(garbage, "witnesses[3].admission"),
        Problem::Decode(_)
    ));
}

#[test]
fn genesis_witnesses_are_required_distinct_and_admitted_from_epoch_zero() {
    let none = edited(|t| {
        t.remove("witnesses");
    });
    assert!(matches!(problem_at(none, "witnesses"), Problem::Invalid(_)));

    let mut carrier = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let base = || GenesisBuilder::new("net").admission_authority(&public([1; 32]));
    let twice = base()
        .witness(&public([2; 32]), "one", &mut carrier)
        .witness(&public([2; 32]), "two", &mut carrier)
        .build();
    assert_eq!(
        problem_at(twice, "witnesses[1].admission"),
        Problem::Duplicate {
            first: "witnesses[0].admission".into()
        }
    );
    let late = AdmissionCert::new(public([2; 32]), "late", 3)
        .expect("valid")
        .sign(&mut carrier)
        .expect("sign");
    let result = base().signed_witness(&late).build();
    assert!(matches!(
        problem_at(result, "witnesses[0].admission"),
        Problem::Invalid(_)
    ));
    let bad_operator = base().witness(&public([2; 32]), "", &mut carrier).build();
    assert!(matches!(
        bad_operator,
        Err(GenesisError::Admission(AdmissionError::Invalid {
            field: "operator",
            ..
        }))
    ));
}

#[test]
fn a_dmapp_not_signed_by_a_review_authority_is_refused() {
    let result = edited(|t| {
        *array(t, "review_authorities") = vec![hex_key(0x56)];
    });
    assert_eq!(
        problem_at(result, "dmapps[0].manifest"),
        Problem::Dmapp(DmappError::UnknownAuthority)
    );
    let garbage = edited(|t| {
        entry(t, "dmapps", 0).insert("manifest".into(), "ff".into());
    });
    assert!(matches!(
        problem_at(garbage, "dmapps[0].manifest"),
        Problem::Decode(_)
    ));
}

#[test]
fn the_same_dmapp_twice_is_refused() {
    let result = edited(|t| {
        let dmapps = array(t, "dmapps");
        let first = dmapps[0].clone();
        dmapps.push(first);
    });
    assert_eq!(
        problem_at(result, "dmapps[1].manifest"),
        Problem::Duplicate {
            first: "dmapps[0].manifest".into()
        }
    );
}

#[test]
fn empty_bootstrap_addresses_are_refused() {
    let result = edited(|t| array(t, "bootstrap").push("".into()));
    assert!(matches!(
        problem_at(result, "bootstrap[2]"),
        Problem::Invalid(_)
    ));
}

#[test]
fn unknown_missing_and_mistyped_keys_are_toml_errors() {
    let unknown = edited(|t| {
        committee(t).insert("lamda".into(), toml::Value::Float(1.0));
    });
    assert!(matches!(unknown, Err(GenesisError::Toml(m)) if m.contains("lamda")));
    let missing = edited(|t| {
        t.remove("seed");
    });
    assert!(matches!(missing, Err(GenesisError::Toml(m)) if m.contains("seed")));
    let mistyped = edited(|t| {
        t.insert("min_amount".into(), "ten".into());
    });
    assert!(matches!(mistyped, Err(GenesisError::Toml(_))));
    assert!(matches!(
        Genesis::from_toml_str("this is = not [toml"),
        Err(GenesisError::Toml(_))
    ));
}

#[test]
fn retention_epochs_defaults_to_k_and_round_trips_when_set() {
    let mut carrier = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let mut base = || {
        GenesisBuilder::new("k")
            .admission_authority(&public([1; 32]))
            .witness(&public([2; 32]), "one", &mut carrier)
    };
    let default = base().build().expect("build");
    assert_eq!(default.retention(), crate::poc::DEFAULT_RETENTION);
    assert!(!default.to_toml_string().contains("retention_epochs"));
    assert_eq!(default.epoch0().retention, crate::poc::DEFAULT_RETENTION);
    let set = base().retention_epochs(9).build().expect("build");
    let text = set.to_toml_string();
    assert!(text.contains("retention_epochs = 9"), "{text}");
    let parsed = Genesis::from_toml_str(&text).expect("parse");
    assert_eq!(parsed, set);
    assert_eq!(parsed.epoch0().retention, 9);
    assert!(base().retention_epochs(0).build().is_err());
}

#[test]
fn the_attest_quota_has_a_default_a_range_and_round_trips_when_set() {
    let mut carrier = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let mut base = || {
        GenesisBuilder::new("quota")
            .admission_authority(&public([1; 32]))
            .witness(&public([2; 32]), "one", &mut carrier)
    };
    let default = base().build().expect("build");
    assert_eq!(default.attest_quota(), crate::poc::DEFAULT_ATTEST_QUOTA);
    assert!(!default.to_toml_string().contains("attest_quota"));
    assert_eq!(
        default.epoch0().attest_quota,
        crate::poc::DEFAULT_ATTEST_QUOTA
    );
    let set = base().attest_quota(25).build().expect("build");
    let text = set.to_toml_string();
    assert!(text.contains("attest_quota = 25"), "{text}");
    let parsed = Genesis::from_toml_str(&text).expect("parse");
    assert_eq!(parsed, set);
    assert_eq!(parsed.epoch0().attest_quota, 25);
    for bad in [0, 1_000_000_001] {
        assert!(matches!(
            problem_at(base().attest_quota(bad).build(), "attest_quota"),
            Problem::Invalid(_)
        ));
    }
}

#[test]
fn the_authority_threshold_defaults_to_one_and_is_at_most_the_authority_count() {
    let mut carrier = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let mut base = || {
        GenesisBuilder::new("k-of-m")
            .admission_authority(&public([1; 32]))
            .admission_authority(&public([3; 32]))
            .admission_authority(&public([4; 32]))
            .witness(&public([2; 32]), "one", &mut carrier)
    };
    let default = base().build().expect("build");
    assert_eq!(default.authority_threshold(), 1);
    assert!(!default.to_toml_string().contains("authority_threshold"));
    let two = base().authority_threshold(2).build().expect("build");
    let text = two.to_toml_string();
    assert!(text.contains("authority_threshold = 2"), "{text}");
    assert_eq!(Genesis::from_toml_str(&text).expect("parse"), two);
    for bad in [0, 4] {
        assert!(matches!(
            problem_at(
                base().authority_threshold(bad).build(),
                "authority_threshold"
            ),
            Problem::Invalid(_)
        ));
    }
}

#[test]
fn record_zero_describes_epoch_zero_and_is_bound_to_this_genesis() {
    let (genesis, _) = example();
    let r0 = genesis.record0();
    let e0 = genesis.epoch0();
    assert_eq!(r0.epoch, 0);
    assert_eq!(r0.witness_root, e0.witness_root());
    assert_eq!(r0.witness_count as usize, genesis.witnesses().len());
    assert_eq!(r0.seed, genesis.seed());
    assert_eq!(r0.n as usize, genesis.n());
    assert_eq!(r0.q as usize, e0.quorum());
    assert_eq!(r0.min_amount, genesis.min_amount());
    assert_eq!(r0.registry_root, genesis.registry().root(0));
    assert!(r0.reveals.is_empty());
    assert_eq!(genesis.record0(), r0, "stable");
    // A genesis differing only outside the record's fields still has another R_0.
    let other = edited(|t| {
        t.insert(
            "network".into(),
            toml::Value::String("zeropole-devnet-2".into()),
        );
    })
    .expect("valid");
    assert_eq!(other.record0().witness_root, r0.witness_root);
    assert_ne!(other.record0().previous, r0.previous);
    assert_ne!(other.record0().hash(), r0.hash());
}

#[test]
fn not_after_is_optional_and_round_trips_into_epoch_0() {
    let mut carrier = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let mut base = || {
        GenesisBuilder::new("deadline")
            .admission_authority(&public([1; 32]))
            .witness(&public([2; 32]), "one", &mut carrier)
    };
    let open = base().build().expect("build");
    assert!(!open.to_toml_string().contains("not_after_ms"));
    assert_eq!(open.epoch0().not_after, None);
    let set = base().not_after(1_900_000_000_000).build().expect("build");
    let text = set.to_toml_string();
    assert!(text.contains("not_after_ms = 1900000000000"), "{text}");
    let parsed = Genesis::from_toml_str(&text).expect("parse");
    assert_eq!(parsed, set);
    let epoch = parsed.epoch0();
    assert_eq!(epoch.not_after, Some(1_900_000_000_000));
    assert!(!epoch.is_expired(1_800_000_000_000));
    assert!(epoch.is_expired(1_900_000_000_001));
}
