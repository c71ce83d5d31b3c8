//! dmapp manifests and their review signatures.

use super::wire::{self, Text, MAX_KEY_OR_SIGNATURE_LEN};
use super::{DmappError, DmappId};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{hash_tagged, CryptoError, Domain, Hash, KeyPair, PublicKey, Signature};

/// The manifest format version this build writes and reads.
pub const MANIFEST_VERSION: u8 = 1;
/// Longest dmapp name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 64;
/// Most permissions a manifest may request.
pub const MAX_PERMISSIONS: usize = 16;
/// Longest permission identifier, in bytes.
pub const MAX_PERMISSION_LEN: usize = 32;
/// Longest encoded [`SignedManifest`].
pub const MAX_SIGNED_MANIFEST_LEN: usize = 1
    + 32
    + (4 + MAX_NAME_LEN)
    + (4 + MAX_KEY_OR_SIGNATURE_LEN)
    + 4
    + 1
    + MAX_PERMISSIONS * (4 + MAX_PERMISSION_LEN)
    + 2 * (4 + MAX_KEY_OR_SIGNATURE_LEN);

/// What a dmapp is and asks for: `{id, name, publisher key, version, permissions}`.
///
/// Built with [`DmappManifest::new`], which derives the id and puts the permissions in
/// canonical (ascending, duplicate-free) order; the fields are read through accessors so a
/// manifest always satisfies its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmappManifest {
    id: DmappId,
    name: String,
    publisher_key: PublicKey,
    version: u32,
    permissions: Vec<String>,
}

impl DmappManifest {
    /// A manifest for `name` by `publisher_key`; its id is [`DmappManifest::derive_id`].
    /// Permissions are sorted and deduplicated (they are a set).
    pub fn new(
        name: &str,
        publisher_key: PublicKey,
        version: u32,
        permissions: &[&str],
    ) -> Result<Self, DmappError> {
        let invalid = |field, reason| DmappError::Invalid { field, reason };
        wire::check_text(name, Text::Label, MAX_NAME_LEN).map_err(|r| invalid("name", r))?;
        let mut permissions: Vec<String> = permissions.iter().map(|p| (*p).to_owned()).collect();
        permissions.sort();
        permissions.dedup();
        if permissions.len() > MAX_PERMISSIONS {
            return Err(invalid(
                "permissions",
                format!(
                    "{} permissions, the maximum is {MAX_PERMISSIONS}",
                    permissions.len()
                ),
            ));
        }
        for p in &permissions {
            wire::check_text(p, Text::Token, MAX_PERMISSION_LEN)
                .map_err(|r| invalid("permission", r))?;
        }
        Ok(DmappManifest {
            id: Self::derive_id(&publisher_key, name),
            name: name.to_owned(),
            publisher_key,
            version,
            permissions,
        })
    }

    /// `DmappId = BLAKE3-derive_key("zeropole/dmapp-manifest/v1",
    /// bytes(publisher key) ‖ bytes(name))` with `bytes` the codec's `u32` length prefix:
    /// only the holder of a publisher key can publish under the ids it yields, and the
    /// version is not covered, so an update keeps its id.
    pub fn derive_id(publisher_key: &PublicKey, name: &str) -> DmappId {
        let mut w = Writer::new();
        w.bytes(&publisher_key.to_bytes()).bytes(name.as_bytes());
        DmappId(hash_tagged(Domain::DmappManifest, &w.finish()).0)
    }

    /// The dmapp's id.
    pub fn id(&self) -> DmappId {
        self.id
    }

    /// The dmapp's name (≤ [`MAX_NAME_LEN`] bytes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The publisher's key.
    pub fn publisher_key(&self) -> &PublicKey {
        &self.publisher_key
    }

    /// The reviewed version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The permissions, in ascending order.
    pub fn permissions(&self) -> &[String] {
        &self.permissions
    }

    /// The canonical encoding: what is signed and hashed.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    /// `BLAKE3-derive_key("zeropole/dmapp-manifest/v1", encoding)`. It cannot collide with
    /// an id (whose preimage starts with a zero length byte, this one with the version).
    pub fn hash(&self) -> Hash {
        hash_tagged(Domain::DmappManifest, &self.encode())
    }

    /// Signs the manifest as the review authority `authority`.
    pub fn sign(self, authority: &mut KeyPair) -> Result<SignedManifest, CryptoError> {
        let signature = authority.sign(Domain::DmappManifest, &self.encode())?;
        Ok(SignedManifest {
            manifest: self,
            authority: authority.public_key().clone(),
            signature,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.u8(MANIFEST_VERSION)
            .fixed(&self.id.0)
            .bytes(self.name.as_bytes())
            .bytes(&self.publisher_key.to_bytes())
            .u32(self.version)
            // At most MAX_PERMISSIONS (16) by construction.
            .u8(u8::try_from(self.permissions.len()).unwrap_or(u8::MAX));
        for p in &self.permissions {
            w.bytes(p.as_bytes());
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("manifest version")?;
        if version != MANIFEST_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "dmapp manifest",
                version,
            });
        }
        let id = DmappId(r.array("dmapp id")?);
        let name = wire::read_text(r, "dmapp name", Text::Label, MAX_NAME_LEN)?;
        let publisher_key = wire::read_key(r, "publisher key")?;
        let app_version = r.u32("dmapp version")?;
        let count = usize::from(r.u8("permission count")?);
        if count > MAX_PERMISSIONS {
            return Err(DecodeError::TooLong {
                field: "permissions",
                len: count,
                max: MAX_PERMISSIONS,
            });
        }
        let mut permissions: Vec<String> = Vec::with_capacity(count);
        for _ in 0..count {
            let p = wire::read_text(r, "permission", Text::Token, MAX_PERMISSION_LEN)?;
            if permissions.last().is_some_and(|last| *last >= p) {
                return Err(DecodeError::Invalid {
                    field: "permissions",
                    reason: "not in strictly ascending order".into(),
                });
            }
            permissions.push(p);
        }
        Ok(DmappManifest {
            id,
            name,
            publisher_key,
            version: app_version,
            permissions,
        })
    }
}

/// A manifest signed by a review authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    manifest: DmappManifest,
    authority: PublicKey,
    signature: Signature,
}

impl SignedManifest {
    /// Assembles a manifest with a signature made elsewhere (e.g. by an offline signer).
    /// Nothing is checked here: [`SignedManifest::verify`] does.
    pub fn from_parts(manifest: DmappManifest, authority: PublicKey, signature: Signature) -> Self {
        SignedManifest {
            manifest,
            authority,
            signature,
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &DmappManifest {
        &self.manifest
    }

    /// The review authority that signed it.
    pub fn authority(&self) -> &PublicKey {
        &self.authority
    }

    /// The review authority's signature over the manifest's encoding.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Checks that the signer is one of `review_authorities`, that the signature verifies
    /// and that the id is derived from the publisher key and name.
    pub fn verify(&self, review_authorities: &[PublicKey]) -> Result<(), DmappError> {
        if !review_authorities.contains(&self.authority) {
            return Err(DmappError::UnknownAuthority);
        }
        let m = &self.manifest;
        let expected = DmappManifest::derive_id(&m.publisher_key, &m.name);
        if m.id != expected {
            return Err(DmappError::IdMismatch {
                expected,
                found: m.id,
            });
        }
        if !self
            .authority
            .verify(Domain::DmappManifest, &m.encode(), &self.signature)
        {
            return Err(DmappError::BadSignature);
        }
        Ok(())
    }

    /// The canonical encoding: manifest, authority, signature.
    pub fn encode(&self) -> Vec<u8> {
        wire::encode_signed(|w| self.manifest.write(w), &self.authority, &self.signature)
    }

    /// Decodes exactly one signed manifest (no signature check: see [`Self::verify`]).
    /// Any malformed input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (manifest, authority, signature) = wire::decode_signed(
            bytes,
            "signed manifest",
            MAX_SIGNED_MANIFEST_LEN,
            DmappManifest::read,
            "review authority",
            "manifest signature",
        )?;
        Ok(SignedManifest {
            manifest,
            authority,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys(i: u8) -> KeyPair {
        KeyPair::from_seed(&[i; 32]).expect("keygen")
    }

    fn manifest(publisher: u8, name: &str, version: u32) -> DmappManifest {
        DmappManifest::new(
            name,
            keys(publisher).public_key().clone(),
            version,
            &["funds.send", "contacts.read"],
        )
        .expect("valid manifest")
    }

    #[test]
    fn a_signed_manifest_round_trips_through_its_encoding_and_verifies() {
        let mut authority = keys(1);
        let signed = manifest(2, "Hello", 3).sign(&mut authority).expect("sign");
        let bytes = signed.encode();
        assert!(bytes.len() <= MAX_SIGNED_MANIFEST_LEN);
        let decoded = SignedManifest::decode(&bytes).expect("decode");
        assert_eq!(decoded, signed);
        assert_eq!(decoded.verify(&[authority.public_key().clone()]), Ok(()));
        assert_eq!(
            decoded.manifest().permissions(),
            ["contacts.read", "funds.send"]
        );
    }

    #[test]
    fn the_id_is_bound_to_the_publisher_and_the_name_but_not_the_version() {
        let a = manifest(2, "Hello", 1);
        assert_eq!(a.id(), manifest(2, "Hello", 9).id());
        assert_ne!(a.id(), manifest(3, "Hello", 1).id());
        assert_ne!(a.id(), manifest(2, "Hello!", 1).id());
        assert_ne!(a.id(), DmappId::WALLET);
    }

    /// Pins the id derivation and the manifest encoding: a change is a protocol change.
    #[test]
    fn id_derivation_and_manifest_hash_are_pinned() {
        let m = manifest(2, "Hello", 3);
        assert_eq!(
            hex::encode(m.id().0),
            "51237e225fd46b7e6d6b62a68436a80d7597bfa0f82da6873f43b24c22f9ac43"
        );
        assert_eq!(
            m.hash().to_hex(),
            "938fef2057bc4c79254241fddf8f58f3babd09e5626a7c69eb537bd250acd3ee"
        );
    }

    #[test]
    fn a_manifest_signed_by_a_key_that_is_not_a_review_authority_is_refused() {
        let mut stranger = keys(4);
        let signed = manifest(2, "Hello", 1).sign(&mut stranger).expect("sign");
        assert_eq!(
            signed.verify(&[keys(1).public_key().clone()]),
            Err(DmappError::UnknownAuthority)
        );
    }

    #[test]
    fn a_manifest_changed_after_signing_fails_the_signature_check() {
        let mut authority = keys(1);
        let mut signed = manifest(2, "Hello", 1).sign(&mut authority).expect("sign");
        signed.manifest.version = 2;
        assert_eq!(
            signed.verify(&[authority.public_key().clone()]),
            Err(DmappError::BadSignature)
        );
    }

    #[test]
    fn a_manifest_claiming_someone_elses_id_is_refused_even_when_signed() {
        let mut authority = keys(1);
        let victim = manifest(2, "Bank", 1);
        let mut squatter = manifest(3, "Bank", 1);
        squatter.id = victim.id();
        let signed = squatter.sign(&mut authority).expect("sign");
        assert_eq!(
            signed.verify(&[authority.public_key().clone()]),
            Err(DmappError::IdMismatch {
                expected: manifest(3, "Bank", 1).id(),
                found: victim.id(),
            })
        );
    }

    #[test]
    fn names_and_permissions_outside_their_limits_are_refused() {
        let key = keys(2).public_key().clone();
        let field = |r: Result<DmappManifest, DmappError>| match r {
            Err(DmappError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(field(DmappManifest::new("", key.clone(), 1, &[])), "name");
        assert_eq!(
            field(DmappManifest::new(&"n".repeat(65), key.clone(), 1, &[])),
            "name"
        );
        assert_eq!(
            field(DmappManifest::new("a\u{0}b", key.clone(), 1, &[])),
            "name"
        );
        let many: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            field(DmappManifest::new("x", key.clone(), 1, &many)),
            "permissions"
        );
        assert_eq!(
            field(DmappManifest::new("x", key.clone(), 1, &[&"p".repeat(33)])),
            "permission"
        );
        assert_eq!(
            field(DmappManifest::new("x", key.clone(), 1, &["two words"])),
            "permission"
        );
        // Exactly at the limits is fine, and duplicates collapse.
        let sixteen = &many[..16];
        assert!(DmappManifest::new(&"n".repeat(64), key.clone(), 1, sixteen).is_ok());
        let m = DmappManifest::new("x", key, 1, &["b", "a", "b"]).expect("valid");
        assert_eq!(m.permissions(), ["a", "b"]);
    }

    #[test]
    fn permissions_out_of_canonical_order_do_not_decode() {
        let mut authority = keys(1);
        let mut m = manifest(2, "Hello", 1);
        m.permissions.reverse();
        let bytes = m.sign(&mut authority).expect("sign").encode();
        assert!(matches!(
            SignedManifest::decode(&bytes),
            Err(DecodeError::Invalid {
                field: "permissions",
                ..
            })
        ));
    }

    #[test]
    fn every_truncation_and_extension_of_a_valid_encoding_is_an_error() {
        let bytes = manifest(2, "Hello", 1)
            .sign(&mut keys(1))
            .expect("sign")
            .encode();
        for len in 0..bytes.len() {
            assert!(
                SignedManifest::decode(&bytes[..len]).is_err(),
                "length {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            SignedManifest::decode(&longer),
            Err(DecodeError::TrailingBytes(1))
        );
        let mut other_version = bytes;
        other_version[0] = 2;
        assert!(matches!(
            SignedManifest::decode(&other_version),
            Err(DecodeError::UnsupportedVersion { version: 2, .. })
        ));
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = SignedManifest::decode(&bytes);
        }

        #[test]
        fn decoding_a_corrupted_manifest_never_panics(index in 0usize..2048, byte in any::<u8>()) {
            static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let bytes = BYTES.get_or_init(|| {
                manifest(2, "Hello", 1).sign(&mut keys(1)).expect("sign").encode()
            });
            let mut corrupted = bytes.clone();
            let i = index % corrupted.len();
            corrupted[i] = byte;
            let _ = SignedManifest::decode(&corrupted);
        }
    }
}
