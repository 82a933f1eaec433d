//! The image store of one namespace (containerd core/metadata/images.go): named records
//! pointing at a target descriptor, with containerd's validation and error texts.

use super::errdefs::{self, go_quote};
use super::labels::{self, Labels};
use super::{ensure_namespace_ops, read_record};
use crate::digest::Digest;
use crate::error::Result;
use crate::formats::gotime::GoTime;
use crate::schema::containerd as schema;
use crate::storage::{decode_record, Backend, Op, Space};
use serde::{Deserialize, Serialize};

/// The part of an image's target descriptor that containerd stores (platform, urls, data and
/// artifactType are dropped). `digest` stays a string so invalid input can be reported as
/// containerd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub annotations: Labels,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    pub target: Target,
    #[serde(default)]
    pub created_at: GoTime,
    #[serde(default)]
    pub updated_at: GoTime,
}

impl Image {
    /// The filter-language fields of images (containerd's `adaptImage`): `name`,
    /// `target.digest`, `target.mediatype`, `labels.<k>`, `annotations.<k>`.
    pub fn field(&self, path: &[String]) -> Option<String> {
        let present = |s: &str| (!s.is_empty()).then(|| s.to_string());
        match path.first()?.as_str() {
            "name" => present(&self.name),
            "target" => match path.get(1)?.as_str() {
                "digest" => present(&self.target.digest),
                "mediatype" => present(&self.target.media_type),
                _ => None,
            },
            "labels" => labels::lookup(&self.labels, &path[1..]),
            "annotations" => labels::lookup(&self.target.annotations, &path[1..]),
            _ => None,
        }
    }

    /// The target digest, parsed (stored images always have a valid one).
    pub fn target_digest(&self) -> Result<Digest> {
        Digest::parse(&self.target.digest)
    }
}

impl crate::formats::filters::Adaptor for Image {
    fn field(&self, path: &[String]) -> Option<String> {
        Image::field(self, path)
    }
}

/// Stored under `ctrd/<ns>/image/<name>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageRecord {
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub(crate) labels: Labels,
    target: Target,
    pub(crate) created_at: GoTime,
    updated_at: GoTime,
}

fn image_key(ns: &str, name: &str) -> String {
    schema::image(ns, name)
}

fn not_found(name: &str) -> crate::Error {
    errdefs::not_found(format!("image {}", go_quote(name)))
}

/// The operation that stores `img` in namespace `ns` as is (timestamps included), for
/// importers. The image must have passed [`validate`].
pub fn put_image_op(ns: &str, img: &Image) -> Op {
    Op::put_record(image_key(ns, &img.name), &image_record(img))
}

/// The stored form of `img`.
fn image_record(img: &Image) -> ImageRecord {
    ImageRecord {
        labels: labels::without_empty(img.labels.clone()),
        target: Target { annotations: labels::without_empty(img.target.annotations.clone()), ..img.target.clone() },
        created_at: img.created_at,
        updated_at: img.updated_at,
    }
}

/// containerd's `validateImage`: non-empty name (no reference grammar), labels within size,
/// a valid target digest, a positive size and a media type.
pub fn validate(img: &Image) -> Result<()> {
    if img.name.is_empty() {
        return Err(errdefs::invalid_argument("image name must not be empty"));
    }
    labels::validate_all(&img.labels, "image.Labels")?;
    if let Some(reason) = go_digest_problem(&img.target.digest) {
        return Err(errdefs::invalid_argument(format!(
            "target.Digest {} invalid: {reason}",
            go_quote(&img.target.digest)
        )));
    }
    if img.target.size <= 0 {
        return Err(errdefs::invalid_argument("target.Size must be greater than zero"));
    }
    if img.target.media_type.is_empty() {
        return Err(errdefs::invalid_argument("target.MediaType must be set"));
    }
    Ok(())
}

/// What go-digest's `Digest.Validate` says about `s`, or `None` if it is valid.
fn go_digest_problem(s: &str) -> Option<&'static str> {
    const FORMAT: &str = "invalid checksum digest format";
    let Some(i) = s.find(':').filter(|&i| i > 0 && i + 1 < s.len()) else { return Some(FORMAT) };
    let (alg, enc) = (&s[..i], &s[i + 1..]);
    let hex_len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            // Unknown algorithm: "unsupported" only if the whole string is digest-shaped.
            let alg_ok = alg
                .split(['.', '+', '_', '-'])
                .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            let enc_ok = enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
            return Some(if alg_ok && enc_ok { "unsupported digest algorithm" } else { FORMAT });
        }
    };
    if enc.len() != hex_len {
        return Some("invalid checksum digest length");
    }
    if !enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Some(FORMAT);
    }
    None
}

/// The image store of one namespace.
#[derive(Clone)]
pub struct ImageStore<B> {
    backend: B,
    ns: String,
}

impl<B: Backend + Clone> ImageStore<B> {
    pub(crate) fn new(backend: B, ns: String) -> Self {
        ImageStore { backend, ns }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    async fn record(&self, name: &str) -> Result<Option<ImageRecord>> {
        read_record(&self.backend, &image_key(&self.ns, name)).await
    }

    pub async fn get(&self, name: &str) -> Result<Image> {
        let rec = self.record(name).await?.ok_or_else(|| not_found(name))?;
        Ok(to_image(name, rec))
    }

    /// The images that `keep` accepts, in byte order of their names.
    pub async fn list(&self, keep: impl Fn(&Image) -> bool) -> Result<Vec<Image>> {
        let prefix = schema::images(&self.ns);
        let mut out = Vec::new();
        for (key, value) in self.backend.scan(Space::Meta, &prefix).await? {
            let img = to_image(&key[prefix.len()..], decode_record(&key, &value)?);
            if keep(&img) {
                out.push(img);
            }
        }
        Ok(out)
    }

    /// The images matching containerd filter strings (any of them; none = all), as
    /// `ctr images ls <filter>...`. A bad filter is `invalid_argument` with containerd's text.
    pub async fn list_filtered<S: AsRef<str>>(&self, filters: &[S]) -> Result<Vec<Image>> {
        // containerd's images.List wraps ParseAll's error once more ("…: invalid argument:
        // invalid argument"); the repeated word helps no one, so the error is ParseAll's.
        let f = crate::formats::filters::parse_all(filters)?;
        self.list(|img| f.matches(img)).await
    }

    /// Creates an image; `already_exists` if the name is taken. The caller's timestamps are
    /// discarded: both become now.
    pub async fn create(&self, img: &Image) -> Result<Image> {
        validate(img)?;
        let now = crate::storage::now();
        let created = Image { created_at: now, updated_at: now, ..img.clone() };
        let key = image_key(&self.ns, &img.name);
        let mut ops = ensure_namespace_ops(&self.backend, &self.ns).await?;
        ops.push(Op::RequireAbsent { space: Space::Meta, key });
        ops.push(put_image_op(&self.ns, &created));
        self.backend.commit(ops).await.map_err(|e| match e.code {
            crate::ErrorCode::AlreadyExists => errdefs::already_exists(format!("image {}", go_quote(&img.name))),
            _ => e,
        })?;
        Ok(stored_form(created))
    }

    /// Updates an image. `fieldpaths`: `labels`, `labels.<k>`, `annotations`,
    /// `annotations.<k>`, `target`; none = replace everything but the creation time. Decided
    /// on the record as stored when it commits (a compare-and-swap, decided again if another tab
    /// or call changed the record in between), so two callers changing different keys both keep theirs.
    pub async fn update(&self, img: &Image, fieldpaths: &[&str]) -> Result<Image> {
        if img.name.is_empty() {
            return Err(errdefs::invalid_argument("image name is required for update"));
        }
        let key = image_key(&self.ns, &img.name);
        let rec = super::label_merge::update_record(
            &self.backend,
            &key,
            || not_found(&img.name),
            |current: ImageRecord| {
                let updated = apply_update(to_image(&img.name, current), img, fieldpaths)?;
                Ok(image_record(&updated))
            },
        )
        .await?;
        Ok(stored_form(to_image(&img.name, rec)))
    }

    /// Deletes an image. With `expected_target`, only if the image still points there (else
    /// `not_found`, as containerd's `DeleteTarget`). The content stays until GC.
    pub async fn delete(&self, name: &str, expected_target: Option<&Digest>) -> Result<()> {
        let rec = self.record(name).await?.ok_or_else(|| not_found(name))?;
        if let Some(want) = expected_target {
            if rec.target.digest != want.as_str() {
                return Err(errdefs::not_found(format!(
                    "image {} has target {}, not {want}",
                    go_quote(name),
                    rec.target.digest
                )));
            }
        }
        self.backend.commit(vec![Op::delete_meta(image_key(&self.ns, name))]).await
    }
}

/// Reads image `name` of namespace `ns` straight from the backend (for importers).
pub(crate) async fn read_image<B: Backend>(b: &B, ns: &str, name: &str) -> Result<Option<Image>> {
    Ok(read_record::<B, ImageRecord>(b, &image_key(ns, name)).await?.map(|rec| to_image(name, rec)))
}

pub(crate) fn to_image(name: &str, rec: ImageRecord) -> Image {
    Image {
        name: name.to_string(),
        labels: rec.labels,
        target: rec.target,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
    }
}

/// The image as a later `get` returns it (empty label values dropped).
fn stored_form(img: Image) -> Image {
    let Image { name, labels, mut target, created_at, updated_at } = img;
    target.annotations = labels::without_empty(target.annotations);
    Image { name, labels: labels::without_empty(labels), target, created_at, updated_at }
}

/// `img`'s `fieldpaths` applied to the stored image `current` (see [`ImageStore::update`]).
fn apply_update(current: Image, img: &Image, fieldpaths: &[&str]) -> Result<Image> {
    let mut updated = current;
    let created_at = updated.created_at;
    if fieldpaths.is_empty() {
        updated = img.clone();
    }
    for path in fieldpaths {
        if let Some(key) = path.strip_prefix("labels.") {
            updated.labels.insert(key.into(), img.labels.get(key).cloned().unwrap_or_default());
        } else if let Some(key) = path.strip_prefix("annotations.") {
            updated.target.annotations.insert(key.into(), img.target.annotations.get(key).cloned().unwrap_or_default());
        } else {
            match *path {
                "labels" => updated.labels = img.labels.clone(),
                "target" => updated.target = img.target.clone(),
                "annotations" => updated.target.annotations = img.target.annotations.clone(),
                _ => {
                    return Err(errdefs::invalid_argument(format!(
                        "cannot update {} field on image {}",
                        go_quote(path),
                        go_quote(&img.name)
                    )))
                }
            }
        }
    }
    validate(&updated)?;
    updated.created_at = created_at;
    updated.updated_at = crate::storage::now();
    Ok(updated)
}
