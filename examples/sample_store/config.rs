//! Image config JSON in the shape dockerd 20.10 writes to `imagedb/content/sha256/<id>`:
//! top-level keys in Go's order (alphabetical for this struct), `container.Config` keys in
//! Go's field order, and Go's HTML escaping. The image ID is the SHA-256 of these bytes.

use super::layer::go_json;
use imagestore::digest::Digest;
use serde::Serialize;
use std::collections::BTreeMap;

/// `{}` values of `ExposedPorts` and `Volumes`.
#[derive(Serialize, Clone, Debug, Default)]
pub struct Empty {}

#[derive(Serialize, Clone, Debug)]
pub struct Healthcheck {
    #[serde(rename = "Test")]
    pub test: Vec<String>,
    /// Go durations: integer nanoseconds; zero values are omitted like Go's `omitempty`.
    #[serde(rename = "Interval", skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(rename = "Timeout", skip_serializing_if = "is_zero")]
    pub timeout: u64,
    #[serde(rename = "Retries", skip_serializing_if = "is_zero")]
    pub retries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// moby's `container.Config` (the fields the legacy builder fills).
#[derive(Serialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    pub image: String,
    pub volumes: Option<BTreeMap<String, Empty>>,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct History {
    pub created: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Serialize, Clone, Debug)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff_ids: Vec<Digest>,
}

/// The image config. Field order = Go's JSON order for moby's `Image`.
#[derive(Serialize, Clone, Debug)]
pub struct ImageConfig {
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    pub config: ContainerConfig,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container: String,
    pub container_config: ContainerConfig,
    pub created: String,
    pub docker_version: String,
    pub history: Vec<History>,
    pub os: String,
    pub rootfs: RootFs,
}

impl ImageConfig {
    /// The exact bytes stored on disk.
    pub fn to_bytes(&self) -> Vec<u8> {
        go_json(&serde_json::to_string(self).expect("image config serializes")).into_bytes()
    }
}
