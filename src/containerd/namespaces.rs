//! Namespaces: containerd's identifier rules, create/list/delete, and namespace labels
//! (core/metadata/namespaces.go, pkg/identifiers).

use super::errdefs::{self, go_quote};
use super::labels::{self, Labels};
use super::Containerd;
use crate::error::Result;
use crate::schema::containerd as schema;
use crate::storage::{Backend, Op, Space};
use serde::{Deserialize, Serialize};

/// The namespace `ctr` uses when none is given.
pub const DEFAULT: &str = "default";
const MAX_IDENTIFIER_LEN: usize = 76;
/// The pattern containerd prints in its identifier error.
const IDENTIFIER_PATTERN: &str = "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$";

/// The stored record of a namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceRecord {
    #[serde(default)]
    pub labels: Labels,
}

/// containerd's `identifiers.Validate`.
pub fn validate_identifier(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(errdefs::invalid_argument("identifier must not be empty"));
    }
    if s.len() > MAX_IDENTIFIER_LEN {
        return Err(errdefs::invalid_argument(format!(
            "identifier {} greater than maximum length ({MAX_IDENTIFIER_LEN} characters)",
            go_quote(s)
        )));
    }
    // [A-Za-z0-9]+ ([._-] [A-Za-z0-9]+)*: alphanumeric runs separated by single separators.
    let ok = s.split(['.', '_', '-']).all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !ok {
        return Err(errdefs::invalid_argument(format!("identifier {} must match {IDENTIFIER_PATTERN}", go_quote(s))));
    }
    Ok(())
}

/// containerd's `namespaces.NamespaceRequired`, for a namespace given by the caller.
pub fn require(ns: &str) -> Result<()> {
    if ns.is_empty() {
        return Err(errdefs::failed_precondition("namespace is required"));
    }
    validate_identifier(ns).map_err(|e| e.context("namespace validation"))
}

impl<B: Backend + Clone> Containerd<B> {
    /// Every namespace, in byte order of the names.
    pub async fn namespaces(&self) -> Result<Vec<String>> {
        let keys = self.backend.keys(Space::Meta, schema::NAMESPACES).await?;
        Ok(keys.iter().filter_map(|k| schema::namespace_name(k)).map(str::to_string).collect())
    }

    /// Creates a namespace; `already_exists` if it is there.
    pub async fn create_namespace(&self, ns: &str, labels: &Labels) -> Result<()> {
        validate_identifier(ns)?;
        labels::validate_all(labels, "namespace.Labels")?;
        let key = schema::namespace(ns);
        let rec = NamespaceRecord { labels: labels::without_empty(labels.clone()) };
        let ops = vec![Op::RequireAbsent { space: Space::Meta, key: key.clone() }, Op::put_record(key, &rec)];
        self.backend.commit(ops).await.map_err(|e| match e.code {
            crate::ErrorCode::AlreadyExists => errdefs::already_exists(format!("namespace {}", go_quote(ns))),
            _ => e,
        })
    }

    /// The labels of a namespace (empty if it has none or does not exist, as in containerd).
    pub async fn namespace_labels(&self, ns: &str) -> Result<Labels> {
        Ok(self.namespace_record(ns).await?.map(|r| r.labels).unwrap_or_default())
    }

    /// Sets one namespace label (an empty value removes it); creates the namespace if needed.
    pub async fn set_namespace_label(&self, ns: &str, key: &str, value: &str) -> Result<()> {
        labels::validate(key, value).map_err(|e| e.context("namespace.Labels"))?;
        let mut rec = self.namespace_record(ns).await?.unwrap_or_default();
        if value.is_empty() {
            rec.labels.remove(key);
        } else {
            rec.labels.insert(key.to_string(), value.to_string());
        }
        self.backend.commit(vec![Op::put_record(schema::namespace(ns), &rec)]).await
    }

    /// Deletes an empty namespace: `failed_precondition` naming what it still holds (images,
    /// blobs), `not_found` if it does not exist. Leftover ingests go with it.
    pub async fn delete_namespace(&self, ns: &str) -> Result<()> {
        let mut still_has = Vec::new();
        if !self.backend.keys(Space::Meta, &schema::images(ns)).await?.is_empty() {
            still_has.push("images");
        }
        if !self.backend.keys(Space::Meta, &schema::contents(ns)).await?.is_empty() {
            still_has.push("blobs");
        }
        if !still_has.is_empty() {
            return Err(errdefs::failed_precondition(format!(
                "namespace {} must be empty, but it still has {}",
                go_quote(ns),
                still_has.join(", ")
            )));
        }
        if self.namespace_record(ns).await?.is_none() {
            return Err(errdefs::not_found(format!("namespace {}", go_quote(ns))));
        }
        self.backend
            .commit(vec![
                Op::delete_meta(schema::namespace(ns)),
                Op::DeletePrefix { space: Space::Meta, prefix: schema::namespace_data(ns) },
            ])
            .await
    }

    async fn namespace_record(&self, ns: &str) -> Result<Option<NamespaceRecord>> {
        super::read_record(&self.backend, &schema::namespace(ns)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryBackend;
    use crate::ErrorCode;
    use futures::executor::block_on;

    #[test]
    fn identifier_rules() {
        for ok in ["default", "moby", "k8s.io", "a-b_c.d", "A1", "1a"] {
            validate_identifier(ok).unwrap();
        }
        assert_eq!(validate_identifier("").unwrap_err().message, "identifier must not be empty: invalid argument");
        let e = validate_identifier("a..b").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert_eq!(e.message, format!("identifier \"a..b\" must match {IDENTIFIER_PATTERN}: invalid argument"));
        for bad in ["-a", "a-", "a/b", "a b", "é"] {
            assert!(validate_identifier(bad).is_err(), "{bad}");
        }
        let long = "a".repeat(77);
        assert_eq!(
            validate_identifier(&long).unwrap_err().message,
            format!("identifier \"{long}\" greater than maximum length (76 characters): invalid argument")
        );
        validate_identifier(&"a".repeat(76)).unwrap();
        assert_eq!(require("").unwrap_err().code, ErrorCode::FailedPrecondition);
        assert_eq!(require("").unwrap_err().message, "namespace is required: failed precondition");
        assert!(require("a/b").unwrap_err().message.starts_with("namespace validation: identifier \"a/b\" must match"));
    }

    #[test]
    fn create_list_label_delete() {
        block_on(async {
            let c = Containerd::new(MemoryBackend::new());
            assert!(c.namespaces().await.unwrap().is_empty());
            let l: Labels = [("owner".to_string(), "me".to_string())].into();
            c.create_namespace("team", &l).await.unwrap();
            c.create_namespace("default", &Labels::new()).await.unwrap();
            assert_eq!(c.namespaces().await.unwrap(), vec!["default", "team"]);
            let e = c.create_namespace("team", &Labels::new()).await.unwrap_err();
            assert_eq!((e.code, e.message.as_str()), (ErrorCode::AlreadyExists, "namespace \"team\": already exists"));
            assert_eq!(
                c.create_namespace("bad name", &Labels::new()).await.unwrap_err().code,
                ErrorCode::InvalidArgument
            );
            let big: Labels = [("k".to_string(), "v".repeat(4096))].into();
            assert!(c
                .create_namespace("x", &big)
                .await
                .unwrap_err()
                .message
                .starts_with("namespace.Labels: label key"));
            assert_eq!(c.namespace_labels("team").await.unwrap(), l);
            c.set_namespace_label("team", "owner", "").await.unwrap();
            c.set_namespace_label("team", "tier", "1").await.unwrap();
            assert_eq!(c.namespace_labels("team").await.unwrap(), [("tier".to_string(), "1".to_string())].into());
            c.delete_namespace("team").await.unwrap();
            let e = c.delete_namespace("team").await.unwrap_err();
            assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "namespace \"team\": not found"));
            assert_eq!(c.namespaces().await.unwrap(), vec!["default"]);
        });
    }
}
