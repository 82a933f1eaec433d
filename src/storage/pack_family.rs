//! How many records a family of entry packs is spread over, and the one place that rewrites a
//! family: the Docker view's packed records (one family per kind, [`crate::docker::packed`])
//! and the blob packs ([`super::blob_packs`]).
//!
//! IndexedDB's cost is mostly per record (in Chromium, 666 puts of 2 KB in one transaction
//! took 58–68 ms to complete, 64 puts of 23 KB 10 ms), so a small store should not be spread
//! over 256 packs; a large one should, so that a mutation rewrites a small pack. A family is
//! therefore **narrow** (packs named by one hex digit: at most 16) until a pack would pass
//! [`NARROW_MAX_BYTES`]; then the commit that makes it so rewrites the whole family **wide**
//! (two hex digits: at most 256, the layout every earlier version wrote). A family never goes
//! back to narrow. A reader reads either: a pack's name says its width.
//!
//! Both widths present at once (a store damaged outside a commit) reads as the union, and the
//! next commit that touches the family rewrites it wide.

use super::entry_pack::EntryPack;
use super::{Backend, Op, SharedBytes, Space};
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet};

/// A narrow family goes wide when a commit would make one of its packs larger than this.
pub const NARROW_MAX_BYTES: usize = 256 * 1024;

/// Up to this many packs are read one by one; more are read with one scan of the family.
const ONE_BY_ONE_MAX: usize = 16;

/// How many hex digits name a family's packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Width {
    /// One: at most 16 packs.
    #[default]
    Narrow,
    /// Two: at most 256 packs.
    Wide,
}

impl Width {
    /// The width a pack name (the key after its family's prefix) was written at.
    pub fn of_name(name: &str) -> Option<Width> {
        match name.len() {
            1 => Some(Width::Narrow),
            2 => Some(Width::Wide),
            _ => None,
        }
    }

    /// The width of the packs `names`: wide if any is (a family only widens); narrow for none.
    pub fn of_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Width {
        if names.into_iter().any(|n| Width::of_name(n) == Some(Width::Wide)) {
            Width::Wide
        } else {
            Width::Narrow
        }
    }

    /// The name at this width of the pack whose wide name is `wide` (two hex digits).
    pub fn name_of(self, wide: &str) -> &str {
        match self {
            Width::Narrow => wide.get(..1).unwrap_or(wide),
            Width::Wide => wide,
        }
    }
}

/// A family of entry packs: the records under `prefix`, each an [`EntryPack`] named by the
/// hex digits `wide_name` gives an entry key.
pub struct Family<'a> {
    pub prefix: &'a str,
    pub pack: EntryPack,
    /// The two hex digits of the wide pack an entry key falls in; its narrow pack is the first.
    pub wide_name: &'a dyn Fn(&str) -> String,
}

impl Family<'_> {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// One pack as a commit changes it.
struct PackEdit {
    existed: bool,
    changed: bool,
    /// An entry's bytes: a record value's (a blob record's, after its tag) or a slice of the
    /// pack read, shared, not copied.
    entries: BTreeMap<String, SharedBytes>,
}

impl PackEdit {
    fn empty() -> Self {
        PackEdit { existed: false, changed: false, entries: BTreeMap::new() }
    }
}

/// The packs of a family that a commit changes, read on the data the commit is guarded on (see
/// [`super::generation`]): ask [`FamilyEdit::open`] for the entry keys it will touch, change
/// entries, then [`FamilyEdit::finish`] turns the changed packs into operations.
pub struct FamilyEdit<'f> {
    family: &'f Family<'f>,
    width: Width,
    /// Names of the family's packs that exist (both widths when damaged).
    existing: BTreeSet<String>,
    /// Both widths exist: the whole family is rewritten wide.
    mixed: bool,
    /// By name at `width` (or any name read, when mixed).
    packs: BTreeMap<String, PackEdit>,
}

impl<'f> FamilyEdit<'f> {
    /// Reads the packs `entry_keys` fall in, given the keys of the family's packs that exist
    /// (`existing`, whole record keys: a listing of the family's prefix or a wider one).
    pub async fn open<'k, B: Backend>(
        b: &B,
        family: &'f Family<'f>,
        existing: impl IntoIterator<Item = &'k str>,
        entry_keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<Self> {
        let existing: BTreeSet<String> = existing
            .into_iter()
            .filter_map(|k| k.strip_prefix(family.prefix))
            .filter(|n| Width::of_name(n).is_some())
            .map(str::to_string)
            .collect();
        let width = Width::of_names(existing.iter().map(String::as_str));
        let mixed = width == Width::Wide && existing.iter().any(|n| Width::of_name(n) == Some(Width::Narrow));
        let mut edit = FamilyEdit { family, width, existing, mixed, packs: BTreeMap::new() };
        let wanted: BTreeSet<String> = if mixed {
            edit.existing.clone()
        } else {
            entry_keys.into_iter().map(|k| width.name_of(&(family.wide_name)(k)).to_string()).collect()
        };
        edit.read(b, wanted).await?;
        Ok(edit)
    }

    /// Reads the packs `names` not read yet (absent ones are empty).
    async fn read<B: Backend>(&mut self, b: &B, names: BTreeSet<String>) -> Result<()> {
        let mut to_read = Vec::new();
        for name in names {
            if self.packs.contains_key(&name) {
                continue;
            }
            if self.existing.contains(&name) {
                to_read.push(name);
            } else {
                self.packs.insert(name, PackEdit::empty());
            }
        }
        let records: Vec<(String, Vec<u8>)> = if to_read.len() <= ONE_BY_ONE_MAX {
            let keys: Vec<String> = to_read.iter().map(|n| self.family.key(n)).collect();
            let got = futures::future::try_join_all(keys.iter().map(|k| b.get(Space::Meta, k))).await?;
            keys.into_iter().zip(got).filter_map(|(k, v)| Some((k, v?))).collect()
        } else {
            let wanted: BTreeSet<String> = to_read.iter().map(|n| self.family.key(n)).collect();
            b.scan(Space::Meta, self.family.prefix).await?.into_iter().filter(|(k, _)| wanted.contains(k)).collect()
        };
        for name in to_read {
            self.packs.insert(name, PackEdit { existed: true, ..PackEdit::empty() });
        }
        // In key order, as a reader's union is: a key in two packs keeps the later one's value.
        for (key, record) in records {
            let name = key[self.family.prefix.len()..].to_string();
            let record = SharedBytes::from(record);
            let entries = self.family.pack.decode(&key, &record)?;
            let pack = self.packs.get_mut(&name).expect("inserted above");
            let shared = |v: &[u8]| record.slice_of(v).unwrap_or_else(|| SharedBytes::from(v.to_vec()));
            pack.entries.extend(entries.into_iter().map(|(k, v)| (k.to_string(), shared(v))));
        }
        Ok(())
    }

    /// The pack entry key `k` is in, among those read.
    fn pack_of(&mut self, k: &str) -> &mut PackEdit {
        let name = self.width.name_of(&(self.family.wide_name)(k)).to_string();
        if self.mixed {
            // Every pack was read: a new one is empty.
            return self.packs.entry(name).or_insert_with(PackEdit::empty);
        }
        self.packs.get_mut(&name).expect("the pack of every entry key asked was read")
    }

    /// Whether the family holds entry `k` (asked of [`FamilyEdit::open`]).
    pub fn contains(&mut self, k: &str) -> bool {
        if self.mixed {
            return self.packs.values().any(|p| p.entries.contains_key(k));
        }
        self.pack_of(k).entries.contains_key(k)
    }

    /// Puts entry `k`.
    pub fn insert(&mut self, k: String, v: SharedBytes) {
        if self.mixed {
            self.remove(&k);
        }
        let pack = self.pack_of(&k);
        pack.entries.insert(k, v);
        pack.changed = true;
    }

    /// Removes entry `k`; whether it was there.
    pub fn remove(&mut self, k: &str) -> bool {
        if self.mixed {
            let mut found = false;
            for pack in self.packs.values_mut() {
                if pack.entries.remove(k).is_some() {
                    pack.changed = true;
                    found = true;
                }
            }
            return found;
        }
        let pack = self.pack_of(k);
        let found = pack.entries.remove(k).is_some();
        pack.changed |= found;
        found
    }

    /// The operations that write the changed packs: only those, or, when a narrow pack grew
    /// past [`NARROW_MAX_BYTES`] (or the family was mixed), the whole family wide.
    pub async fn finish<B: Backend>(mut self, b: &B) -> Result<Vec<Op>> {
        let widen = self.mixed
            || (self.width == Width::Narrow
                && self.packs.values().any(|p| p.changed && pack_size(&p.entries) > NARROW_MAX_BYTES));
        if !widen {
            let mut ops = Vec::new();
            for (name, pack) in self.packs {
                if !pack.changed {
                    continue;
                }
                let key = self.family.key(&name);
                if !pack.entries.is_empty() {
                    ops.push(Op::put_meta(key, self.family.pack.encode(&pack.entries)));
                } else if pack.existed {
                    ops.push(Op::delete_meta(key));
                }
            }
            return Ok(ops);
        }
        // Every entry of the family, regrouped wide.
        let all = self.existing.clone();
        self.read(b, all).await?;
        let entries = std::mem::take(&mut self.packs).into_values().flat_map(|p| p.entries);
        Ok(write_whole(self.family, entries, Width::Wide, &self.existing))
    }
}

/// The operations that write `entries` as the whole family: at `width`, or wide when a narrow
/// pack would pass [`NARROW_MAX_BYTES`]; the packs named in `existing` that are not rewritten
/// are deleted. A key given twice keeps its last value.
pub fn write_whole(
    family: &Family<'_>,
    entries: impl IntoIterator<Item = (String, SharedBytes)>,
    width: Width,
    existing: &BTreeSet<String>,
) -> Vec<Op> {
    let mut packs: BTreeMap<String, BTreeMap<String, SharedBytes>> = BTreeMap::new();
    for (k, v) in entries {
        packs.entry(width.name_of(&(family.wide_name)(&k)).to_string()).or_default().insert(k, v);
    }
    if width == Width::Narrow && packs.values().any(|p| pack_size(p) > NARROW_MAX_BYTES) {
        return write_whole(family, packs.into_values().flatten(), Width::Wide, existing);
    }
    let mut ops = Vec::with_capacity(packs.len() + existing.len());
    for name in existing {
        if !packs.contains_key(name) {
            ops.push(Op::delete_meta(family.key(name)));
        }
    }
    for (name, entries) in packs {
        ops.push(Op::put_meta(family.key(&name), family.pack.encode(&entries)));
    }
    ops
}

/// About the bytes a pack of `entries` takes (each entry's key, bytes and its lengths).
fn pack_size(entries: &BTreeMap<String, SharedBytes>) -> usize {
    entries.iter().map(|(k, v)| 8 + k.len() + v.as_ref().len()).sum()
}
