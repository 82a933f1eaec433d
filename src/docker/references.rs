//! moby's reference store (`repositories.json`): familiar repository name → familiar
//! reference string (`name:tag` or `name@digest`) → image ID, with dockerd's rules for adding
//! (tags get `:latest`, tag+digest keeps the digest, digests are never overwritten, tags only
//! with force, the name `sha256` is refused) and a by-ID index for `References(id)`.

use super::tx::Tx;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::schema::docker as keys;
use crate::storage::Op;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A normalised Docker reference (`docker.io/library/busybox:latest`).
pub use crate::formats::reference::Reference;

/// `reference.ParseNormalizedNamed`: `busybox` → `docker.io/library/busybox`.
pub fn parse_reference(s: &str) -> Result<Reference> {
    Reference::parse_normalized_named(s)
}

/// refstore's `favorDigest`: a reference with both tag and digest is stored by its digest only.
fn favor_digest(r: Reference) -> Reference {
    match r.digest() {
        Some(d) if r.tag().is_some() => r.with_digest(d.clone()),
        _ => r,
    }
}

/// The stored value of one reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceRecord {
    pub repository: String,
    pub image: Digest,
}

/// Persistent maps (`imbl`): copies share them, a change copies only what it touches.
#[derive(Debug, Clone, Default)]
pub struct ReferenceStore {
    repositories: Repositories,
    /// Image ID → its references in `References(id)` order, keyed by (full reference string,
    /// familiar reference string): sorted once when added, not on every read. Entries whose key
    /// does not parse stay in `repositories` only, as in moby's reload.
    by_id: OrdMap<Digest, BTreeMap<(String, String), Reference>>,
}

/// Familiar repository name → familiar reference string → image ID (`repositories.json`).
pub type Repositories = OrdMap<String, BTreeMap<String, Digest>>;

impl ReferenceStore {
    /// The whole map, shaped like `repositories.json`'s `Repositories`.
    pub fn repositories(&self) -> &Repositories {
        &self.repositories
    }

    /// A plain copy of [`ReferenceStore::repositories`] (to serialise it as `repositories.json`).
    pub fn repository_map(&self) -> super::model::RepositoryMap {
        self.repositories.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Adds one entry as read from storage or an import (no rules applied).
    pub(crate) fn insert_loaded(&mut self, repository: &str, familiar: &str, id: Digest) {
        if let Ok(r) = Reference::parse_normalized_named(familiar) {
            self.by_id.entry(id.clone()).or_default().insert((r.to_string(), familiar.to_string()), r);
        }
        self.repositories.entry(repository.to_string()).or_default().insert(familiar.to_string(), id);
    }

    /// Removes one entry that an import replaces (no rules applied).
    pub(crate) fn remove_loaded(&mut self, id: &Digest, familiar: &str) {
        self.forget(id, familiar);
        let holding: Vec<String> =
            self.repositories.iter().filter(|(_, r)| r.contains_key(familiar)).map(|(n, _)| n.clone()).collect();
        for name in holding {
            if let Some(repo) = self.repositories.get_mut(&name) {
                repo.remove(familiar);
                if repo.is_empty() {
                    self.repositories.remove(&name);
                }
            }
        }
    }

    /// `AddTag`: refuses digest references; a bare name gets `:latest`.
    pub fn add_tag(&mut self, tx: &mut Tx, r: &Reference, id: &Digest, force: bool) -> Result<()> {
        if r.digest().is_some() {
            return Err(Error::invalid("refusing to create a tag with a digest reference"));
        }
        self.add(tx, r.clone().with_default_tag(), id, force)
    }

    /// `AddDigest`.
    pub fn add_digest(&mut self, tx: &mut Tx, r: &Reference, id: &Digest, force: bool) -> Result<()> {
        if r.digest().is_none() {
            return Err(Error::invalid(format!("reference {} has no digest", r.familiar_string())));
        }
        self.add(tx, r.clone(), id, force)
    }

    fn add(&mut self, tx: &mut Tx, r: Reference, id: &Digest, force: bool) -> Result<()> {
        let r = favor_digest(r);
        let (name, key) = (r.familiar_name(), r.familiar_string());
        if name == "sha256" {
            return Err(Error::invalid("refusing to create an ambiguous tag using digest algorithm as name"));
        }
        if let Some(old) = self.repositories.get(&name).and_then(|repo| repo.get(&key)).cloned() {
            if &old == id {
                return Ok(());
            }
            if let Some(d) = r.digest() {
                return Err(Error::conflict(format!("Cannot overwrite digest {d}")));
            }
            if !force {
                return Err(Error::conflict(format!(
                    "Conflict: Tag {key} is already set to image {old}, if you want to replace it, please use the force option"
                )));
            }
            self.forget(&old, &key);
        }
        self.repositories.entry(name.clone()).or_default().insert(key.clone(), id.clone());
        self.by_id.entry(id.clone()).or_default().insert((r.to_string(), key.clone()), r);
        let record = ReferenceRecord { repository: name, image: id.clone() };
        tx.push(Op::put_record(keys::reference(&key), &record));
        Ok(())
    }

    fn forget(&mut self, id: &Digest, key: &str) {
        if let Some(refs) = self.by_id.get_mut(id) {
            refs.retain(|(_, familiar), _| familiar != key);
            if refs.is_empty() {
                self.by_id.remove(id);
            }
        }
    }

    /// `Delete`: removes one reference (bare names mean `:latest`). `Ok(false)` is never
    /// returned by moby; a missing reference is `not_found`.
    pub fn delete(&mut self, tx: &mut Tx, r: &Reference) -> Result<bool> {
        let r = favor_digest(r.clone()).with_default_tag();
        let (name, key) = (r.familiar_name(), r.familiar_string());
        let repo = self.repositories.get_mut(&name).ok_or_else(|| Error::not_found("reference does not exist"))?;
        let id = repo.remove(&key).ok_or_else(|| Error::not_found("reference does not exist"))?;
        if repo.is_empty() {
            self.repositories.remove(&name);
        }
        self.forget(&id, &key);
        tx.push(Op::delete_meta(keys::reference(&key)));
        Ok(true)
    }

    /// `Get`: the image a reference points to (tag+digest looks up the digest only).
    pub fn get(&self, r: &Reference) -> Option<Digest> {
        let r = favor_digest(r.clone()).with_default_tag();
        self.repositories.get(&r.familiar_name())?.get(&r.familiar_string()).cloned()
    }

    /// `References(id)`: sorted by the full reference string, as moby's `lexicalRefs`.
    pub fn references(&self, id: &Digest) -> Vec<Reference> {
        self.references_iter(id).cloned().collect()
    }

    /// [`ReferenceStore::references`] without copying them.
    pub fn references_iter(&self, id: &Digest) -> impl Iterator<Item = &Reference> {
        self.by_id.get(id).into_iter().flat_map(|m| m.values())
    }

    /// Every image that has references, in image ID order, with its references in
    /// `References(id)` order (a walk beside the image store's own ID order needs no lookup).
    pub fn by_image(&self) -> impl Iterator<Item = (&Digest, impl Iterator<Item = &Reference>)> {
        self.by_id.iter().map(|(id, refs)| (id, refs.values()))
    }

    /// Whether both stores hold the same maps (one is an unchanged copy of the other). O(1).
    pub fn same_as(&self, other: &ReferenceStore) -> bool {
        self.by_id.ptr_eq(&other.by_id) && self.repositories.ptr_eq(&other.repositories)
    }

    /// Familiar strings of the tags (`RepoTags`) and digests (`RepoDigests`) of an image.
    pub fn tags_and_digests(&self, id: &Digest) -> (Vec<String>, Vec<String>) {
        let (mut tags, mut digests) = (Vec::new(), Vec::new());
        for r in self.references(id) {
            if r.digest().is_some() {
                digests.push(r.familiar_string());
            } else if r.tag().is_some() {
                tags.push(r.familiar_string());
            }
        }
        (tags, digests)
    }
}
