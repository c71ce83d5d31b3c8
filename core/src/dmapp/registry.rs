//! The dmapp registry: which dmapps each epoch approves.
//!
//! Nothing a registry learns changes an epoch whose record is already fixed: the registry
//! is *sealed* through epoch `e` once `R_e` is published ([`Registry::seal`]); from then
//! on an admission takes effect at `e + 1` and a revocation must name an epoch `> e`. So
//! [`Registry::rules_for_epoch`] and [`Registry::root`] of a sealed epoch never change,
//! and two honest members holding the same record agree on every block.

use std::collections::{BTreeMap, BTreeSet};

use super::{DmappError, DmappId, SignedManifest, SignedRevocation};
use crate::codec::Writer;
use crate::crypto::{hash_tagged, Domain, Hash, PublicKey};

/// First byte of the registry root's preimage, distinct from the first byte of a manifest
/// encoding (`0x01`) and of an id preimage (`0x00`), which share the domain tag.
const ROOT_PREFIX: u8 = 0xFF;

/// One admitted version of a dmapp and the first epoch it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Admitted {
    from_epoch: u64,
    manifest: SignedManifest,
}

/// The reviewed dmapps known to a node: admissions and revocations by the review
/// authorities of genesis, each tied to the epochs it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    review_authorities: Vec<PublicKey>,
    /// Versions of each dmapp, oldest first (versions and epochs ascending).
    admitted: BTreeMap<DmappId, Vec<Admitted>>,
    /// The earliest revocation of each revoked dmapp.
    revoked: BTreeMap<DmappId, SignedRevocation>,
    /// The first epoch whose approved set may still change.
    open_epoch: u64,
}

impl Registry {
    /// An empty registry, open from epoch 0, trusting `review_authorities`.
    pub fn new(review_authorities: Vec<PublicKey>) -> Self {
        Registry {
            review_authorities,
            admitted: BTreeMap::new(),
            revoked: BTreeMap::new(),
            open_epoch: 0,
        }
    }

    /// The review authorities.
    pub fn review_authorities(&self) -> &[PublicKey] {
        &self.review_authorities
    }

    /// The first epoch whose approved set may still change (sealed epochs are before it).
    pub fn open_epoch(&self) -> u64 {
        self.open_epoch
    }

    /// Fixes the approved sets of every epoch `≤ epoch` (call it when `R_epoch` is
    /// published). Sealing is monotonic: sealing an earlier epoch again does nothing.
    pub fn seal(&mut self, epoch: u64) {
        self.open_epoch = self.open_epoch.max(epoch.saturating_add(1));
    }

    /// Admits a reviewed manifest from the open epoch on. A newer version of an admitted
    /// dmapp supersedes the old one from the open epoch on; the same manifest again is a
    /// no-op (re-broadcasts are harmless).
    ///
    /// # Errors
    /// [`DmappError::UnknownAuthority`], [`DmappError::BadSignature`] and
    /// [`DmappError::IdMismatch`] from [`SignedManifest::verify`];
    /// [`DmappError::Revoked`] for a revoked id; [`DmappError::StaleVersion`] for a version
    /// not newer than the admitted one.
    pub fn admit(&mut self, signed: &SignedManifest) -> Result<(), DmappError> {
        signed.verify(&self.review_authorities)?;
        let manifest = signed.manifest();
        let id = manifest.id();
        if self.revoked.contains_key(&id) {
            return Err(DmappError::Revoked(id));
        }
        let versions = self.admitted.entry(id).or_default();
        if let Some(last) = versions.last_mut() {
            if last.manifest.manifest() == manifest {
                return Ok(());
            }
            let current = last.manifest.manifest().version();
            if manifest.version() <= current {
                return Err(DmappError::StaleVersion {
                    id,
                    current,
                    offered: manifest.version(),
                });
            }
            if last.from_epoch == self.open_epoch {
                // Superseded before any sealed epoch used it.
                last.manifest = signed.clone();
                return Ok(());
            }
        }
        versions.push(Admitted {
            from_epoch: self.open_epoch,
            manifest: signed.clone(),
        });
        Ok(())
    }

    /// Records a revocation. Of several revocations of one dmapp the earliest stands.
    ///
    /// # Errors
    /// [`DmappError::UnknownAuthority`] and [`DmappError::BadSignature`] from
    /// [`SignedRevocation::verify`]; [`DmappError::UnknownDmapp`] for an id never admitted;
    /// [`DmappError::RevocationTooEarly`] when it would change a sealed epoch.
    pub fn revoke(&mut self, signed: &SignedRevocation) -> Result<(), DmappError> {
        signed.verify(&self.review_authorities)?;
        let revocation = signed.revocation();
        let id = revocation.id();
        if !self.admitted.contains_key(&id) {
            return Err(DmappError::UnknownDmapp(id));
        }
        if revocation.effective_epoch() < self.open_epoch {
            return Err(DmappError::RevocationTooEarly {
                effective_epoch: revocation.effective_epoch(),
                earliest: self.open_epoch,
            });
        }
        let earlier_stands = self
            .revoked
            .get(&id)
            .is_some_and(|r| r.revocation().effective_epoch() <= revocation.effective_epoch());
        if !earlier_stands {
            self.revoked.insert(id, signed.clone());
        }
        Ok(())
    }

    /// The manifest in force for `id` in `epoch`, if the dmapp is approved then.
    pub fn manifest_for_epoch(&self, id: &DmappId, epoch: u64) -> Option<&SignedManifest> {
        if self
            .revoked
            .get(id)
            .is_some_and(|r| r.revocation().effective_epoch() <= epoch)
        {
            return None;
        }
        self.admitted
            .get(id)?
            .iter()
            .rev()
            .find(|a| a.from_epoch <= epoch)
            .map(|a| &a.manifest)
    }

    /// Whether `id` is approved in `epoch` (the built-in wallet is not listed: it is
    /// always allowed by the ledger's rules).
    pub fn is_approved(&self, id: &DmappId, epoch: u64) -> bool {
        self.manifest_for_epoch(id, epoch).is_some()
    }

    /// The revocation of `id`, if any (effective now or announced for a later epoch).
    pub fn revocation(&self, id: &DmappId) -> Option<&SignedRevocation> {
        self.revoked.get(id)
    }

    /// The approved set of `epoch`: admitted from an epoch `≤ epoch`, minus revocations
    /// effective at an epoch `≤ epoch`. This is `EpochRules::dmapps`.
    pub fn rules_for_epoch(&self, epoch: u64) -> BTreeSet<DmappId> {
        self.approved(epoch).map(|(id, _)| id).collect()
    }

    /// The registry root of `epoch` for the epoch record:
    /// `BLAKE3-derive_key("zeropole/dmapp-manifest/v1", 0xFF ‖ count:u32 ‖ (id ‖ manifest
    /// hash) × count)` over the approved dmapps in ascending id order, each with the hash
    /// of the manifest version in force. It commits to versions and permissions, not only
    /// ids, and is fixed once the epoch is sealed.
    pub fn root(&self, epoch: u64) -> Hash {
        let approved: Vec<(DmappId, Hash)> = self
            .approved(epoch)
            .map(|(id, m)| (id, m.manifest().hash()))
            .collect();
        let mut w = Writer::new();
        // The count is bounded by memory long before u32::MAX.
        w.u8(ROOT_PREFIX)
            .u32(u32::try_from(approved.len()).unwrap_or(u32::MAX));
        for (id, hash) in &approved {
            w.fixed(&id.0).fixed(&hash.0);
        }
        hash_tagged(Domain::DmappManifest, &w.finish())
    }

    fn approved(&self, epoch: u64) -> impl Iterator<Item = (DmappId, &SignedManifest)> + '_ {
        self.admitted
            .keys()
            .filter_map(move |id| self.manifest_for_epoch(id, epoch).map(|m| (*id, m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyPair;
    use crate::dmapp::{DmappManifest, DmappRevocation};

    fn keys(i: u8) -> KeyPair {
        KeyPair::from_seed(&[i; 32]).expect("keygen")
    }

    struct Fixture {
        authority: KeyPair,
        registry: Registry,
    }

    impl Fixture {
        fn new() -> Self {
            let authority = keys(1);
            let registry = Registry::new(vec![authority.public_key().clone()]);
            Fixture {
                authority,
                registry,
            }
        }

        fn manifest(&mut self, name: &str, version: u32) -> SignedManifest {
            DmappManifest::new(name, keys(2).public_key().clone(), version, &["funds.send"])
                .expect("valid")
                .sign(&mut self.authority)
                .expect("sign")
        }

        fn revocation(&mut self, id: DmappId, epoch: u64) -> SignedRevocation {
            DmappRevocation::new(id, "test", epoch)
                .expect("valid")
                .sign(&mut self.authority)
                .expect("sign")
        }
    }

    #[test]
    fn an_admitted_dmapp_is_approved_from_the_open_epoch_on() {
        let mut f = Fixture::new();
        let m = f.manifest("Hello", 1);
        f.registry.admit(&m).expect("admit");
        let id = m.manifest().id();
        assert_eq!(f.registry.rules_for_epoch(0), BTreeSet::from([id]));
        assert_eq!(f.registry.rules_for_epoch(100), BTreeSet::from([id]));
        assert_eq!(f.registry.manifest_for_epoch(&id, 3), Some(&m));
    }

    #[test]
    fn admissions_after_sealing_do_not_change_the_sealed_epochs() {
        let mut f = Fixture::new();
        f.registry.seal(4);
        let root_before = f.registry.root(4);
        let m = f.manifest("Late", 1);
        f.registry.admit(&m).expect("admit");
        assert!(f.registry.rules_for_epoch(4).is_empty());
        assert_eq!(f.registry.root(4), root_before);
        assert!(f.registry.is_approved(&m.manifest().id(), 5));
        assert_ne!(f.registry.root(5), root_before);
    }

    #[test]
    fn a_manifest_from_a_key_that_is_not_a_review_authority_is_not_admitted() {
        let mut f = Fixture::new();
        let stranger = DmappManifest::new("Hello", keys(2).public_key().clone(), 1, &[])
            .expect("valid")
            .sign(&mut keys(3))
            .expect("sign");
        assert_eq!(
            f.registry.admit(&stranger),
            Err(DmappError::UnknownAuthority)
        );
        assert!(f.registry.rules_for_epoch(0).is_empty());
    }

    #[test]
    fn a_revocation_takes_effect_at_its_epoch_and_never_before() {
        let mut f = Fixture::new();
        let m = f.manifest("Hello", 1);
        let id = m.manifest().id();
        f.registry.admit(&m).expect("admit");
        f.registry.seal(2);
        let r = f.revocation(id, 5);
        f.registry.revoke(&r).expect("revoke");
        assert!(f.registry.is_approved(&id, 4));
        assert!(!f.registry.is_approved(&id, 5));
        assert!(f.registry.rules_for_epoch(6).is_empty());
        assert_eq!(f.registry.revocation(&id), Some(&r));
    }

    #[test]
    fn a_revocation_for_a_sealed_epoch_is_refused() {
        let mut f = Fixture::new();
        let m = f.manifest("Hello", 1);
        let id = m.manifest().id();
        f.registry.admit(&m).expect("admit");
        f.registry.seal(2);
        let r = f.revocation(id, 2);
        assert_eq!(
            f.registry.revoke(&r),
            Err(DmappError::RevocationTooEarly {
                effective_epoch: 2,
                earliest: 3
            })
        );
        assert!(f.registry.is_approved(&id, 2));
        assert!(f.registry.is_approved(&id, 3));
    }

    #[test]
    fn the_earliest_revocation_stands_and_a_revoked_id_cannot_return() {
        let mut f = Fixture::new();
        let m = f.manifest("Hello", 1);
        let id = m.manifest().id();
        f.registry.admit(&m).expect("admit");
        let early = f.revocation(id, 3);
        let late = f.revocation(id, 9);
        f.registry.revoke(&early).expect("revoke");
        f.registry
            .revoke(&late)
            .expect("a later revocation is accepted, and ignored");
        assert_eq!(f.registry.revocation(&id), Some(&early));
        let update = f.manifest("Hello", 2);
        assert_eq!(f.registry.admit(&update), Err(DmappError::Revoked(id)));
    }

    #[test]
    fn revoking_an_unknown_dmapp_or_with_a_foreign_key_is_refused() {
        let mut f = Fixture::new();
        let r = f.revocation(DmappId([9; 32]), 1);
        assert_eq!(
            f.registry.revoke(&r),
            Err(DmappError::UnknownDmapp(DmappId([9; 32])))
        );
        let m = f.manifest("Hello", 1);
        f.registry.admit(&m).expect("admit");
        let foreign = DmappRevocation::new(m.manifest().id(), "", 1)
            .expect("valid")
            .sign(&mut keys(3))
            .expect("sign");
        assert_eq!(
            f.registry.revoke(&foreign),
            Err(DmappError::UnknownAuthority)
        );
    }

    #[test]
    fn a_newer_version_supersedes_from_the_open_epoch_and_older_ones_are_stale() {
        let mut f = Fixture::new();
        let v1 = f.manifest("Hello", 1);
        let id = v1.manifest().id();
        f.registry.admit(&v1).expect("admit v1");
        f.registry
            .admit(&v1)
            .expect("the same manifest again is a no-op");
        f.registry.seal(0);
        let root0 = f.registry.root(0);
        let v2 = f.manifest("Hello", 2);
        f.registry.admit(&v2).expect("admit v2");
        assert_eq!(f.registry.manifest_for_epoch(&id, 0), Some(&v1));
        assert_eq!(f.registry.manifest_for_epoch(&id, 1), Some(&v2));
        assert_eq!(f.registry.root(0), root0);
        assert_ne!(f.registry.root(1), root0, "the root commits to the version");
        assert_eq!(
            f.registry.admit(&v1),
            Err(DmappError::StaleVersion {
                id,
                current: 2,
                offered: 1
            })
        );
        // Two updates within one open epoch: the last one is what the epoch gets.
        let v3 = f.manifest("Hello", 3);
        f.registry.admit(&v3).expect("admit v3");
        assert_eq!(f.registry.manifest_for_epoch(&id, 1), Some(&v3));
        assert_eq!(f.registry.manifest_for_epoch(&id, 0), Some(&v1));
    }

    #[test]
    fn the_root_depends_on_content_not_on_insertion_order() {
        let mut a = Fixture::new();
        let x = a.manifest("X", 1);
        let y = a.manifest("Y", 1);
        a.registry.admit(&x).expect("admit");
        a.registry.admit(&y).expect("admit");
        let mut b = Registry::new(a.registry.review_authorities().to_vec());
        b.admit(&y).expect("admit");
        b.admit(&x).expect("admit");
        assert_eq!(a.registry.root(0), b.root(0));
        assert_ne!(a.registry.root(0), Registry::new(Vec::new()).root(0));
    }
}
