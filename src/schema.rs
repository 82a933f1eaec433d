//! The record layout of the whole store, drawn once (cf. containerd's `core/metadata/buckets.go`):
//! every key of the Docker view, of the containerd view and of the blobs both share, with the
//! helpers that build and split them. No other module spells a key prefix.
//!
//! # Keys in `Space::Meta`
//!
//! ```text
//! store/generation                               an opaque token that every metadata commit changes
//!                                                (crate::storage::generation): how a commit proves
//!                                                it decided on current data, across tabs
//!
//! store/staging/<session>                        a session's marker: it has chunk sets that are not
//!                                                published yet (crate::storage::sessions). Written
//!                                                with a set's first chunk, deleted once none is
//!                                                left; it does not change the generation. A store
//!                                                whose markers all belong to live sessions has no
//!                                                orphan chunks to sweep
//!
//! store/list-answer/<all|top>                    derived: the unfiltered image list's answer (all
//!                                                images or the top-level ones) with the generation
//!                                                it lists (crate::docker::list_answer); used only
//!                                                while that generation is current. Writing it
//!                                                does not change the generation
//!
//! blob/<digest>                                  BlobRecord JSON {size, chunks, chunk_size}
//!                                                (crate::storage::blobs); the bytes are in
//!                                                Space::Chunks under <chunks>/<index>. Or, for a
//!                                                small blob an import published (at most 64 KiB),
//!                                                a 0 byte and the blob's bytes. Shared by
//!                                                both views: image configs under their image ID,
//!                                                tar-split.json.gz by digest, containerd content
//!
//! docker/graphdriver                             graph driver name, text (e.g. "overlay2")
//! docker/image/<image id>                        ImageRecord JSON {id, parent, last_updated, built_locally}
//!                                                (imagedb/metadata; the config is blob/<image id>)
//! docker/layer/<chain id>                        LayerRecord JSON {chain_id, diff_id, size, cache_id,
//!                                                parent, tar_split, descriptor} (layerdb/sha256/<chain>)
//! docker/ref/<familiar reference>                ReferenceRecord JSON {repository, image}
//!                                                (one entry of repositories.json)
//! docker/dist/diffid-by-digest/<blob digest>     DiffID text (distribution/diffid-by-digest)
//! docker/dist/v2metadata-by-diffid/<diff id>     JSON array of V2Metadata (distribution/v2metadata-by-diffid)
//! docker/layer-blob/<diff id>                    LayerBlobRecord JSON {diff_id, blob, compression, size}:
//!                                                the layer's tar, kept as blob/<blob> (plain, or gzip
//!                                                as docker load got it) (crate::docker::layer_blobs)
//! docker/packed/<kind>/<2 hex digits>            the records above of one kind (image, layer, ref,
//!                                                diffid, v2meta, layer-blob), packed into 64 shards
//!                                                by the CRC-32 of their key: the layout this
//!                                                version writes (crate::docker::packed). The keys
//!                                                above are what the stores read and write; a
//!                                                commit turns them into the shards they fall in.
//!                                                A store still holding single records (written by
//!                                                the previous version) is packed when it opens
//! docker/summary/configs/<2 hex digits>          derived: the config bytes of the images whose ID
//!                                                starts with those digits, in one versioned,
//!                                                checksummed record (crate::docker::summary)
//!
//! analysis/changes/<chain id>                    derived: the search index, one record per layer: its
//!                                                change set (versioned, CRC-checked; see
//!                                                crate::store_analysis::search_index), rebuilt when
//!                                                missing, stale or corrupt
//!
//! ctrd.ns/<namespace>                            NamespaceRecord {labels} (the namespace exists)
//! ctrd/<namespace>/image/<name>                  ImageRecord {labels, target, createdAt, updatedAt}
//! ctrd/<namespace>/content/<digest>              ContentRecord {size, labels, createdAt, updatedAt}
//! ctrd/<namespace>/ingest/<ref>                  IngestRecord {offset, total, startedAt, updatedAt, expireAt}
//! ```
//!
//! The Docker view's derived state (children, digest set, reference counts, by-ID reference
//! index) is not stored: it is rebuilt when a store opens. The config summary is stored, but
//! only as a cache of the config blobs: it is rebuilt from them when missing, stale or corrupt. containerd namespace names are
//! identifiers (no `/`), so `ctrd/<namespace>/` never prefixes another namespace's keys; a
//! namespace comes into existence when anything is written in it (as containerd creates its
//! bucket on first write).

use crate::digest::Digest;

/// The store's generation record (see [`crate::storage::generation`]).
pub const GENERATION: &str = "store/generation";

/// Every session marker starts with this (see [`crate::storage::sessions`]).
pub const STAGING_MARKERS: &str = "store/staging/";

/// The marker of session `session`.
pub fn staging_marker(session: &str) -> String {
    format!("{STAGING_MARKERS}{session}")
}

/// The session a marker key names.
pub fn staging_marker_session(key: &str) -> Option<&str> {
    key.strip_prefix(STAGING_MARKERS)
}

/// Every saved image list answer starts with this (see [`crate::docker::list_answer`]).
pub const LIST_ANSWERS: &str = "store/list-answer/";

/// The saved answer of the unfiltered image list for all images or the top-level ones.
pub fn list_answer(all: bool) -> String {
    format!("{LIST_ANSWERS}{}", if all { "all" } else { "top" })
}

/// Whether writing record `key` of `Space::Meta` leaves the store's generation as it is: a
/// session marker (no view reads them), a saved list answer (it carries the generation it
/// lists, so it cannot be taken for another state) or an analysis record (what a layer holds,
/// the same whoever works it out: no view or decision depends on when it was written, and
/// bumping the generation for it would make every other tab re-read the store and every saved
/// list answer stale after a search).
pub fn keeps_generation(key: &str) -> bool {
    key.starts_with(STAGING_MARKERS) || key.starts_with(LIST_ANSWERS) || key.starts_with(analysis::PREFIX)
}

/// Every blob record starts with this.
pub const BLOBS: &str = "blob/";

/// The record of blob `d`.
pub fn blob(d: &Digest) -> String {
    format!("{BLOBS}{d}")
}

/// The digest a blob record's key names (`None` for a key that is not one, or a bad digest).
pub fn blob_digest(key: &str) -> Option<Digest> {
    Digest::parse(key.strip_prefix(BLOBS)?).ok()
}

/// Every blob pack starts with this: small blobs an import or a commit published, many to a
/// record (see `crate::storage::blob_packs`). Not under [`BLOBS`]: a scan of single blob
/// records does not see them.
pub const BLOB_PACKS: &str = "blob-pack/";

/// The pack that holds blob `d` if it is kept in one, when the packs are `width` wide: by the
/// first hex digit of its digest (narrow) or the first two (wide); see
/// `crate::storage::pack_family`.
pub fn blob_pack(d: &Digest, width: crate::storage::pack_family::Width) -> String {
    format!("{BLOB_PACKS}{}", width.name_of(&blob_pack_name(d.as_str())))
}

/// The wide name (two hex digits) of the pack of a digest given as text (`algorithm:encoded`).
pub fn blob_pack_name(digest: &str) -> String {
    let encoded = digest.split_once(':').map_or("", |(_, e)| e);
    encoded.get(..2).unwrap_or("00").to_string()
}

/// The Docker view (moby's image, layer, reference and distribution stores).
pub mod docker {
    use crate::digest::Digest;

    /// Everything of the Docker view starts with this.
    pub const ALL: &str = "docker/";
    pub const GRAPH_DRIVER: &str = "docker/graphdriver";
    pub const IMAGES: &str = "docker/image/";
    pub const LAYERS: &str = "docker/layer/";
    pub const REFERENCES: &str = "docker/ref/";
    pub const DIFFID_BY_DIGEST: &str = "docker/dist/diffid-by-digest/";
    pub const V2METADATA: &str = "docker/dist/v2metadata-by-diffid/";
    pub const LAYER_BLOBS: &str = "docker/layer-blob/";
    /// The config summary's shards (see `crate::docker::summary`).
    pub const SUMMARY: &str = "docker/summary/configs/";
    /// The packed record shards (see `crate::docker::packed`).
    pub const PACKED: &str = "docker/packed/";
    /// The record kinds that are packed: each one's key prefix and its name in the shard key.
    pub const PACKED_KINDS: [(&str, &str); 6] = [
        (IMAGES, "image"),
        (LAYERS, "layer"),
        (REFERENCES, "ref"),
        (DIFFID_BY_DIGEST, "diffid"),
        (V2METADATA, "v2meta"),
        (LAYER_BLOBS, "layer-blob"),
    ];

    pub fn image(id: &Digest) -> String {
        format!("{IMAGES}{id}")
    }
    pub fn layer(chain: &Digest) -> String {
        format!("{LAYERS}{chain}")
    }
    pub fn reference(familiar: &str) -> String {
        format!("{REFERENCES}{familiar}")
    }
    pub fn diffid_by_digest(blob: &Digest) -> String {
        format!("{DIFFID_BY_DIGEST}{blob}")
    }
    pub fn v2metadata(diff_id: &Digest) -> String {
        format!("{V2METADATA}{diff_id}")
    }
    pub fn layer_blob(diff_id: &Digest) -> String {
        format!("{LAYER_BLOBS}{diff_id}")
    }
    pub fn summary_shard(shard: &str) -> String {
        format!("{SUMMARY}{shard}")
    }
    /// The packed shard `shard` of the records of kind `kind` (a name of [`PACKED_KINDS`]).
    pub fn packed_shard(kind: &str, shard: &str) -> String {
        format!("{PACKED}{kind}/{shard}")
    }
    /// A packed shard key split into (kind name, shard).
    pub fn packed_shard_parts(key: &str) -> Option<(&str, &str)> {
        key.strip_prefix(PACKED)?.split_once('/')
    }
}

/// Derived analysis data (a cache of what the layers' tar entries say).
pub mod analysis {
    use crate::digest::Digest;

    /// Every derived analysis record is under this prefix.
    pub const PREFIX: &str = "analysis/";

    /// The search index: one record per layer, by chain ID.
    pub const CHANGES: &str = "analysis/changes/";

    pub fn changes(chain: &Digest) -> String {
        format!("{CHANGES}{chain}")
    }
    /// The chain ID a search index key names.
    pub fn changes_chain(key: &str) -> Option<Digest> {
        Digest::parse(key.strip_prefix(CHANGES)?).ok()
    }

    /// The search snapshot: every image's layers and every layer's change set, at one store
    /// generation (`store_analysis::search_snapshot`).
    pub const SEARCH_SNAPSHOT: &str = "analysis/search-snapshot";

    /// A layer's entries as the analyses read them, by the digest of the tar-split or layer
    /// blob they come from.
    pub const ENTRIES: &str = "analysis/entries/";

    pub fn entries(source: &Digest) -> String {
        format!("{ENTRIES}{source}")
    }
    /// The source digest an entries key names.
    pub fn entries_source(key: &str) -> Option<Digest> {
        Digest::parse(key.strip_prefix(ENTRIES)?).ok()
    }
}

/// The containerd view (namespaces, and per namespace images, content and ingests).
pub mod containerd {
    use crate::digest::Digest;

    /// One record per namespace.
    pub const NAMESPACES: &str = "ctrd.ns/";
    /// Everything namespaced lives under this prefix.
    pub const DATA: &str = "ctrd/";

    /// The kinds of record in a namespace (the middle part of `ctrd/<ns>/<kind>/<name>`).
    pub const IMAGE: &str = "image";
    pub const CONTENT: &str = "content";
    pub const INGEST: &str = "ingest";

    pub fn namespace(ns: &str) -> String {
        format!("{NAMESPACES}{ns}")
    }
    /// The namespace a namespace record's key names.
    pub fn namespace_name(key: &str) -> Option<&str> {
        key.strip_prefix(NAMESPACES)
    }
    /// Every record of namespace `ns` (deleted with it).
    pub fn namespace_data(ns: &str) -> String {
        format!("{DATA}{ns}/")
    }
    pub fn images(ns: &str) -> String {
        format!("{DATA}{ns}/{IMAGE}/")
    }
    pub fn image(ns: &str, name: &str) -> String {
        format!("{}{name}", images(ns))
    }
    pub fn contents(ns: &str) -> String {
        format!("{DATA}{ns}/{CONTENT}/")
    }
    pub fn content(ns: &str, d: &Digest) -> String {
        format!("{}{d}", contents(ns))
    }
    pub fn ingests(ns: &str) -> String {
        format!("{DATA}{ns}/{INGEST}/")
    }
    pub fn ingest(ns: &str, reference: &str) -> String {
        format!("{}{reference}", ingests(ns))
    }

    /// A namespaced key split into `(namespace, kind, name)`; `None` for any other key.
    pub fn split(key: &str) -> Option<(&str, &str, &str)> {
        let mut parts = key.strip_prefix(DATA)?.splitn(3, '/');
        Some((parts.next()?, parts.next()?, parts.next()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_build_and_split_back() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(blob_digest(&blob(&d)), Some(d.clone()));
        assert_eq!(blob_digest(&docker::image(&d)), None);
        let key = containerd::content("team", &d);
        assert_eq!(containerd::split(&key), Some(("team", containerd::CONTENT, d.as_str())));
        assert_eq!(containerd::split(&containerd::image("ns", "a/b:c")), Some(("ns", containerd::IMAGE, "a/b:c")));
        assert_eq!(containerd::namespace_name(&containerd::namespace("k8s.io")), Some("k8s.io"));
        assert!(containerd::image("ns", "x").starts_with(&containerd::namespace_data("ns")));
        assert!(docker::V2METADATA.starts_with(docker::ALL) && docker::GRAPH_DRIVER.starts_with(docker::ALL));
    }
}
