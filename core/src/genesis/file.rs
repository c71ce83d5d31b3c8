//! The genesis file format: TOML read with serde, checked field by field, and written by
//! hand so the output is stable, readable and commented.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use super::{
    Allocation, CommitteeParams, Genesis, GenesisError, Problem, SignedAdmission,
    MAX_COMMITTEE_SIZE, MAX_NETWORK_LEN, MAX_SIGNED_ADMISSION_LEN,
};
use crate::crypto::PublicKey;
use crate::dmapp::wire::{check_text, Text, MAX_KEY_OR_SIGNATURE_LEN};
use crate::dmapp::{Registry, SignedManifest, MAX_SIGNED_MANIFEST_LEN};
use crate::poc;

/// Largest integer a TOML file can hold (TOML integers are signed 64-bit).
const TOML_MAX_INT: u64 = i64::MAX as u64;
/// Most epochs a closed epoch's records may be kept (`K`).
const MAX_RETENTION_EPOCHS: u64 = 1024;
/// Largest attestation quota (blocks per account per epoch).
const MAX_ATTEST_QUOTA: u64 = 1_000_000_000;
/// Longest bootstrap address, in bytes.
const MAX_BOOTSTRAP_LEN: usize = 256;

/// The file as written: strings not yet decoded, nothing checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGenesis {
    pub network: String,
    pub min_amount: u64,
    /// `K` (DESIGN.md §4); absent: [`poc::DEFAULT_RETENTION`].
    #[serde(default)]
    pub retention_epochs: Option<u64>,
    /// Blocks a member attests per account per epoch; absent:
    /// [`poc::DEFAULT_ATTEST_QUOTA`].
    #[serde(default)]
    pub attest_quota: Option<u64>,
    /// `k`: admission authorities that must sign an epoch record; absent: 1.
    #[serde(default)]
    pub authority_threshold: Option<u64>,
    /// `not_after` of `R_0`, in milliseconds since the Unix epoch: a phone past it
    /// re-bootstraps through another operator (DESIGN.md §4); absent: open-ended.
    #[serde(default)]
    pub not_after_ms: Option<u64>,
    pub seed: String,
    pub admission_authorities: Vec<String>,
    #[serde(default)]
    pub review_authorities: Vec<String>,
    #[serde(default)]
    pub bootstrap: Vec<String>,
    pub committee: RawCommittee,
    #[serde(default)]
    pub allocations: Vec<RawAllocation>,
    #[serde(default)]
    pub witnesses: Vec<RawWitness>,
    #[serde(default)]
    pub dmapps: Vec<RawDmapp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCommittee {
    pub p: f64,
    pub lambda: f64,
    pub n: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllocation {
    pub public_key: String,
    pub amount: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWitness {
    pub admission: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDmapp {
    pub manifest: String,
}

/// Parses and validates the text of a genesis file.
pub(super) fn parse(text: &str) -> Result<Genesis, GenesisError> {
    let raw: RawGenesis = toml::from_str(text).map_err(|e| GenesisError::Toml(e.to_string()))?;
    validate(raw)
}

fn field(field: impl Into<String>, problem: Problem) -> GenesisError {
    GenesisError::Field {
        field: field.into(),
        problem,
    }
}

fn invalid(name: impl Into<String>, reason: impl Into<String>) -> GenesisError {
    field(name, Problem::Invalid(reason.into()))
}

/// Decodes hex of at most `max` bytes (longer text is refused before decoding).
fn decode_hex(name: &str, text: &str, max: usize) -> Result<Vec<u8>, GenesisError> {
    if text.len() > 2 * max {
        return Err(field(
            name,
            Problem::Hex(format!("longer than the maximum of {max} bytes")),
        ));
    }
    hex::decode(text).map_err(|e| field(name, Problem::Hex(format!("not hex: {e}"))))
}

fn decode_key(name: &str, text: &str) -> Result<PublicKey, GenesisError> {
    PublicKey::from_bytes(&decode_hex(name, text, MAX_KEY_OR_SIGNATURE_LEN)?)
        .map_err(|e| field(name, Problem::Key(e)))
}

/// Decodes a list of keys, refusing duplicates.
fn decode_keys(list: &str, texts: &[String]) -> Result<Vec<PublicKey>, GenesisError> {
    let mut keys: Vec<PublicKey> = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let name = format!("{list}[{i}]");
        let key = decode_key(&name, text)?;
        if let Some(j) = keys.iter().position(|k| *k == key) {
            return Err(field(
                name,
                Problem::Duplicate {
                    first: format!("{list}[{j}]"),
                },
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

fn check_network(network: &str) -> Result<(), GenesisError> {
    if network.is_empty() || network.len() > MAX_NETWORK_LEN {
        return Err(invalid(
            "network",
            format!("must be 1 to {MAX_NETWORK_LEN} bytes long"),
        ));
    }
    if !network
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(invalid(
            "network",
            "only ASCII letters, digits, '.', '_' and '-' are allowed",
        ));
    }
    Ok(())
}

fn check_committee(raw: &RawCommittee) -> Result<(CommitteeParams, usize), GenesisError> {
    let RawCommittee { p, lambda, n } = *raw;
    if !(p.is_finite() && p > 0.0 && p < 1.0 / 3.0) {
        return Err(invalid("committee.p", format!("{p} is not in (0, 1/3)")));
    }
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(invalid(
            "committee.lambda",
            format!("{lambda} is not a positive number of bits"),
        ));
    }
    let stated = match n {
        None => None,
        Some(n) => match usize::try_from(n) {
            Ok(n) if (1..=MAX_COMMITTEE_SIZE).contains(&n) => Some(n),
            _ => {
                return Err(invalid(
                    "committee.n",
                    format!("{n} is not in 1..={MAX_COMMITTEE_SIZE}"),
                ))
            }
        },
    };
    let n = match stated {
        Some(n) => n,
        None => poc::committee_size(p, lambda, MAX_COMMITTEE_SIZE).ok_or_else(|| {
            invalid(
                "committee.lambda",
                format!(
                    "no committee of at most {MAX_COMMITTEE_SIZE} reaches {lambda} bits at p = {p}; \
                     lower lambda or state committee.n"
                ),
            )
        })?,
    };
    Ok((
        CommitteeParams {
            p,
            lambda,
            n: stated,
        },
        n,
    ))
}

/// Checks every field of `raw`; the single gate of both the file and the builder.
pub(super) fn validate(raw: RawGenesis) -> Result<Genesis, GenesisError> {
    check_network(&raw.network)?;
    if !(1..=TOML_MAX_INT).contains(&raw.min_amount) {
        return Err(invalid(
            "min_amount",
            format!("{} is not in 1..={TOML_MAX_INT}", raw.min_amount),
        ));
    }
    let (committee, n) = check_committee(&raw.committee)?;
    let seed: [u8; 32] =
        decode_hex("seed", &raw.seed, 32)?
            .try_into()
            .map_err(|bytes: Vec<u8>| {
                field(
                    "seed",
                    Problem::Hex(format!("expected 32 bytes, found {}", bytes.len())),
                )
            })?;

    if raw.admission_authorities.is_empty() {
        return Err(invalid(
            "admission_authorities",
            "at least one admission authority is required",
        ));
    }
    if raw.admission_authorities.len() > poc::MAX_AUTHORITIES {
        return Err(invalid(
            "admission_authorities",
            format!("at most {} admission authorities", poc::MAX_AUTHORITIES),
        ));
    }
    let admission_authorities = decode_keys("admission_authorities", &raw.admission_authorities)?;
    let authority_threshold = raw.authority_threshold.unwrap_or(1);
    if !(1..=admission_authorities.len() as u64).contains(&authority_threshold) {
        return Err(invalid(
            "authority_threshold",
            format!(
                "{authority_threshold} is not in 1..={} (the number of admission authorities)",
                admission_authorities.len()
            ),
        ));
    }
    let review_authorities = decode_keys("review_authorities", &raw.review_authorities)?;

    let mut allocations: Vec<Allocation> = Vec::with_capacity(raw.allocations.len());
    let mut first_allocation: BTreeMap<_, usize> = BTreeMap::new();
    let mut total_supply: u64 = 0;
    for (i, a) in raw.allocations.iter().enumerate() {
        let key_field = format!("allocations[{i}].public_key");
        let amount_field = format!("allocations[{i}].amount");
        let public_key = decode_key(&key_field, &a.public_key)?;
        if let Some(j) = first_allocation.insert(public_key.account_id(), i) {
            return Err(field(
                key_field,
                Problem::Duplicate {
                    first: format!("allocations[{j}].public_key"),
                },
            ));
        }
        if !(raw.min_amount..=TOML_MAX_INT).contains(&a.amount) {
            return Err(invalid(
                amount_field,
                format!(
                    "{} is not in min_amount..={TOML_MAX_INT} (a balance below min_amount could never be sent)",
                    a.amount
                ),
            ));
        }
        total_supply = total_supply
            .checked_add(a.amount)
            .ok_or_else(|| field(amount_field, Problem::SupplyOverflow))?;
        allocations.push(Allocation {
            public_key,
            amount: a.amount,
        });
    }

    if raw.witnesses.is_empty() {
        return Err(invalid("witnesses", "at least one witness is required"));
    }
    let mut admissions: Vec<SignedAdmission> = Vec::with_capacity(raw.witnesses.len());
    let mut witnesses = Vec::with_capacity(raw.witnesses.len());
    for (i, w) in raw.witnesses.iter().enumerate() {
        let name = format!("witnesses[{i}].admission");
        let admission =
            SignedAdmission::decode(&decode_hex(&name, &w.admission, MAX_SIGNED_ADMISSION_LEN)?)
                .map_err(|e| field(&name, Problem::Decode(e)))?;
        let witness = admission
            .verify(&admission_authorities)
            .map_err(|e| match e {
                GenesisError::Admission(e) => field(&name, Problem::Admission(e)),
                other => other,
            })?;
        if admission.cert().first_epoch() != 0 {
            return Err(invalid(
                &name,
                format!(
                    "the certificate admits from epoch {}, a genesis witness serves epoch 0",
                    admission.cert().first_epoch()
                ),
            ));
        }
        if let Some(j) = admissions
            .iter()
            .position(|a| a.cert().witness_key() == admission.cert().witness_key())
        {
            return Err(field(
                name,
                Problem::Duplicate {
                    first: format!("witnesses[{j}].admission"),
                },
            ));
        }
        admissions.push(admission);
        witnesses.push(witness);
    }

    let mut registry = Registry::new(review_authorities.clone());
    let mut dmapps: Vec<SignedManifest> = Vec::with_capacity(raw.dmapps.len());
    for (i, d) in raw.dmapps.iter().enumerate() {
        let name = format!("dmapps[{i}].manifest");
        let manifest =
            SignedManifest::decode(&decode_hex(&name, &d.manifest, MAX_SIGNED_MANIFEST_LEN)?)
                .map_err(|e| field(&name, Problem::Decode(e)))?;
        if let Some(j) = dmapps
            .iter()
            .position(|m| m.manifest().id() == manifest.manifest().id())
        {
            return Err(field(
                name,
                Problem::Duplicate {
                    first: format!("dmapps[{j}].manifest"),
                },
            ));
        }
        registry
            .admit(&manifest)
            .map_err(|e| field(&name, Problem::Dmapp(e)))?;
        dmapps.push(manifest);
    }
    registry.seal(0);

    for (i, b) in raw.bootstrap.iter().enumerate() {
        check_text(b, Text::Label, MAX_BOOTSTRAP_LEN)
            .map_err(|reason| invalid(format!("bootstrap[{i}]"), reason))?;
    }

    let retention = raw.retention_epochs.unwrap_or(poc::DEFAULT_RETENTION);
    if !(1..=MAX_RETENTION_EPOCHS).contains(&retention) {
        return Err(invalid(
            "retention_epochs",
            format!("{retention} is not in 1..={MAX_RETENTION_EPOCHS}"),
        ));
    }

    let attest_quota = raw.attest_quota.unwrap_or(poc::DEFAULT_ATTEST_QUOTA);
    if !(1..=MAX_ATTEST_QUOTA).contains(&attest_quota) {
        return Err(invalid(
            "attest_quota",
            format!("{attest_quota} is not in 1..={MAX_ATTEST_QUOTA}"),
        ));
    }

    Ok(Genesis {
        network: raw.network,
        min_amount: raw.min_amount,
        retention,
        attest_quota,
        not_after: raw.not_after_ms,
        authority_threshold: authority_threshold as usize,
        committee,
        n,
        seed,
        admission_authorities,
        review_authorities,
        allocations,
        admissions,
        witnesses,
        dmapps,
        registry,
        bootstrap: raw.bootstrap,
        total_supply,
    })
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML float that reads back exactly (`Debug` is the shortest round-trip form and
/// always has a `.` or an exponent, so it is never read as an integer).
fn float(x: f64) -> String {
    format!("{x:?}")
}

fn string_array(out: &mut String, key: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        let _ = writeln!(out, "{key} = []");
        return;
    }
    let _ = writeln!(out, "{key} = [");
    for item in items {
        let _ = writeln!(out, "    {},", quote(&item));
    }
    let _ = writeln!(out, "]");
}

/// The genesis file text. Every value round-trips; comments are informational.
pub(super) fn write(g: &Genesis) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# ZeroPole genesis (R_0), written by zeropole-core. Format: docs/genesis.md."
    );
    let _ = writeln!(out, "# {}", g.security_summary());
    let _ = writeln!(
        out,
        "# Total supply {}; allocations: {}, witnesses: {}, reviewed dmapps: {}.",
        g.total_supply,
        g.allocations.len(),
        g.witnesses.len(),
        g.dmapps.len()
    );
    out.push('\n');
    let _ = writeln!(out, "network = {}", quote(&g.network));
    let _ = writeln!(out, "min_amount = {}", g.min_amount);
    if g.retention != poc::DEFAULT_RETENTION {
        let _ = writeln!(out, "retention_epochs = {}", g.retention);
    }
    if g.attest_quota != poc::DEFAULT_ATTEST_QUOTA {
        let _ = writeln!(out, "attest_quota = {}", g.attest_quota);
    }
    if let Some(t) = g.not_after {
        let _ = writeln!(out, "not_after_ms = {t}");
    }
    if g.authority_threshold != 1 {
        let _ = writeln!(
            out,
            "# epoch records need {} of the {} admission authorities' signatures",
            g.authority_threshold,
            g.admission_authorities.len()
        );
        let _ = writeln!(out, "authority_threshold = {}", g.authority_threshold);
    }
    let _ = writeln!(out, "seed = {}", quote(&hex::encode(g.seed)));
    string_array(&mut out, "bootstrap", g.bootstrap.iter().cloned());
    out.push('\n');
    string_array(
        &mut out,
        "admission_authorities",
        g.admission_authorities
            .iter()
            .map(|k| hex::encode(k.to_bytes())),
    );
    string_array(
        &mut out,
        "review_authorities",
        g.review_authorities
            .iter()
            .map(|k| hex::encode(k.to_bytes())),
    );

    out.push_str("\n[committee]\n");
    let _ = writeln!(out, "p = {}", float(g.committee.p));
    let _ = writeln!(out, "lambda = {}", float(g.committee.lambda));
    match g.committee.n {
        Some(n) => {
            let _ = writeln!(out, "n = {n}");
        }
        None => {
            let _ = writeln!(out, "# n absent: derived from p and lambda, n = {}", g.n);
        }
    }

    for a in &g.allocations {
        let _ = writeln!(out, "\n# account {}", a.account_id());
        out.push_str("[[allocations]]\n");
        let _ = writeln!(
            out,
            "public_key = {}",
            quote(&hex::encode(a.public_key.to_bytes()))
        );
        let _ = writeln!(out, "amount = {}", a.amount);
    }
    for (admission, witness) in g.admissions.iter().zip(&g.witnesses) {
        let _ = writeln!(
            out,
            "\n# witness {}, operator {}",
            hex::encode(witness.id.0),
            quote(admission.cert().operator())
        );
        out.push_str("[[witnesses]]\n");
        let _ = writeln!(
            out,
            "admission = {}",
            quote(&hex::encode(admission.encode()))
        );
    }
    for m in &g.dmapps {
        let manifest = m.manifest();
        let _ = writeln!(
            out,
            "\n# dmapp {}, {} version {}",
            hex::encode(manifest.id().0),
            quote(manifest.name()),
            manifest.version()
        );
        out.push_str("[[dmapps]]\n");
        let _ = writeln!(out, "manifest = {}", quote(&hex::encode(m.encode())));
    }
    out
}
