//! The Docker Engine API's image views (API v1.41, as dockerd 20.10 answers them), rendered from
//! what the stores know about an image. Pure functions: no storage, no lookups except through
//! the closure the caller passes to [`image_history`].
//!
//! Rules taken from moby 20.10 (daemon/images/image_list.go, image_inspect.go, image_history.go
//! and api/types): the exact `null`-versus-empty choices below are what the fixtures under
//! `tests/fixtures/docker20/*/expected/api/` show.

use super::lazy_config::LazyConfig;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::gotime::GoTime;
use crate::formats::image_config::{ContainerConfig, ImageConfig};
use crate::formats::reference::Reference;
use serde_json::{json, Map, Value};

/// Everything the views need to know about one image.
#[derive(Debug, Clone, Copy)]
pub struct ImageFacts<'a> {
    pub id: &'a Digest,
    pub config: &'a LazyConfig,
    /// From `imagedb/metadata/<id>/parent` (never from the config JSON).
    pub parent: Option<&'a Digest>,
    /// Chain size of the image's top layer (own size plus all parents'); 0 without layers.
    pub size: i64,
    /// The references to show, in any order (they are sorted here as refstore sorts them).
    /// For a `reference=` filter pass only the matching ones.
    pub references: &'a [Reference],
    /// `metadata/<id>/lastUpdated`, if set.
    pub last_tag_time: Option<GoTime>,
    /// The graph driver's name (`overlay2`, `vfs`, …).
    pub graph_driver: &'a str,
}

/// One image of the chain walked by `docker history`, as returned by the caller's lookup.
#[derive(Debug, Clone, Default)]
pub struct HistoryImage {
    /// Its parent image, from `metadata/<id>/parent`.
    pub parent: Option<Digest>,
    /// Its references, in any order.
    pub references: Vec<Reference>,
}

/// `GET /images/{name}/json` (`types.ImageInspect`). `GraphDriver.Data` is always `null` here:
/// there is no driver to ask (dockerd shows the driver's directories).
pub fn image_inspect(f: &ImageFacts) -> Result<Value> {
    let c = f.config.get()?;
    let (mut tags, mut digests) = (Vec::new(), Vec::new());
    for r in sorted(f.references) {
        // image_inspect.go uses a type switch: a tagged reference counts as a tag only.
        if r.tag().is_some() {
            tags.push(r.familiar_string());
        } else if r.digest().is_some() {
            digests.push(r.familiar_string());
        }
    }
    let comment = match (c.comment(), c.history().last()) {
        ("", Some(last)) => last.comment.as_str(),
        (own, _) => own,
    };
    // Field order is types.ImageInspect's (Go marshals struct fields in declaration order);
    // Variant and OsVersion are omitempty.
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("Id", json!(f.id.as_str()));
    put("RepoTags", json!(tags));
    put("RepoDigests", json!(digests));
    put("Parent", json!(parent_string(f.parent)));
    put("Comment", json!(comment));
    put("Created", json!(c.created_or_zero().to_rfc3339_nano()));
    put("Container", json!(c.container()));
    put("ContainerConfig", container_config_json(c.container_config()));
    put("DockerVersion", json!(c.docker_version()));
    put("Author", json!(c.author()));
    put("Config", c.config().map_or(Value::Null, container_config_json));
    put("Architecture", json!(c.architecture()));
    if !c.variant().is_empty() {
        put("Variant", json!(c.variant()));
    }
    put("Os", json!(c.os()));
    if !c.os_version().is_empty() {
        put("OsVersion", json!(c.os_version()));
    }
    put("Size", json!(f.size));
    put("VirtualSize", json!(f.size));
    put("GraphDriver", json!({ "Data": null, "Name": f.graph_driver }));
    put("RootFS", rootfs_json(c));
    put("Metadata", json!({ "LastTagTime": f.last_tag_time.unwrap_or(GoTime::ZERO).to_rfc3339_nano() }));
    Ok(Value::Object(m))
}

/// `GET /images/{name}/history`: one entry per config history entry, newest first. Non-empty
/// entries take the size of their layer (`layer_sizes[k]` = DiffSize of the k-th layer, in
/// `diff_ids` order). Entries are then labelled walking the parent chain from the image: the
/// first gets the image's ID and tags, the next its parent's, and so on until there is no
/// parent or `lookup` does not know it; the rest stay `<missing>` with `Tags: null`.
pub fn image_history(
    f: &ImageFacts,
    layer_sizes: &[i64],
    lookup: impl Fn(&Digest) -> Option<HistoryImage>,
) -> Result<Value> {
    let mut layer = 0usize;
    let history = f.config.get()?.history();
    let mut entries = Vec::with_capacity(history.len());
    for h in history {
        let mut size = 0;
        if !h.empty_layer {
            if layer >= f.config.diff_ids().len() {
                return Err(Error::invalid("too many non-empty layers in History section"));
            }
            size = *layer_sizes.get(layer).ok_or_else(|| {
                Error::not_found(format!("layer {} of image {} is missing", f.config.diff_ids()[layer], f.id))
            })?;
            layer += 1;
        }
        entries.push(json!({
            "Comment": h.comment,
            // 20.10's History.Created is a plain time.Time: absent means Go's zero time.
            "Created": h.created.unwrap_or(GoTime::ZERO).unix(),
            "CreatedBy": h.created_by,
            "Id": "<missing>",
            "Size": size,
            "Tags": null,
        }));
    }
    entries.reverse();

    let mut id = f.id.clone();
    let mut image = HistoryImage { parent: f.parent.cloned(), references: f.references.to_vec() };
    for entry in entries.iter_mut() {
        let tags: Vec<String> =
            sorted(&image.references).iter().filter(|r| r.tag().is_some()).map(|r| r.familiar_string()).collect();
        entry["Id"] = json!(id.as_str());
        entry["Tags"] = list_or_null(tags);
        let Some(parent) = image.parent.take() else { break };
        let Some(next) = lookup(&parent) else { break };
        id = parent;
        image = next;
    }
    Ok(Value::Array(entries))
}

/// Go's `container.Config` JSON (API v1.41): `omitempty` fields left out when empty, nil
/// lists/maps as `null`.
pub fn container_config_json(c: &ContainerConfig) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    let list = |l: &Option<Vec<String>>| l.as_ref().map_or(Value::Null, |l| json!(l));
    let set = |s: &Option<Vec<String>>| {
        s.as_ref().map_or(Value::Null, |keys| Value::Object(keys.iter().map(|k| (k.clone(), json!({}))).collect()))
    };
    put("Hostname", json!(c.hostname));
    put("Domainname", json!(c.domainname));
    put("User", json!(c.user));
    put("AttachStdin", json!(c.attach_stdin));
    put("AttachStdout", json!(c.attach_stdout));
    put("AttachStderr", json!(c.attach_stderr));
    if c.exposed_ports.as_ref().is_some_and(|p| !p.is_empty()) {
        put("ExposedPorts", set(&c.exposed_ports));
    }
    put("Tty", json!(c.tty));
    put("OpenStdin", json!(c.open_stdin));
    put("StdinOnce", json!(c.stdin_once));
    put("Env", list(&c.env));
    put("Cmd", list(&c.cmd));
    if let Some(h) = &c.healthcheck {
        let mut hm = Map::new();
        if let Some(test) = h.test.as_ref().filter(|t| !t.is_empty()) {
            hm.insert("Test".into(), json!(test));
        }
        for (k, v) in
            [("Interval", h.interval), ("Timeout", h.timeout), ("StartPeriod", h.start_period), ("Retries", h.retries)]
        {
            if v != 0 {
                hm.insert(k.into(), json!(v));
            }
        }
        put("Healthcheck", Value::Object(hm));
    }
    if c.args_escaped {
        put("ArgsEscaped", json!(true));
    }
    put("Image", json!(c.image));
    put("Volumes", set(&c.volumes));
    put("WorkingDir", json!(c.working_dir));
    put("Entrypoint", list(&c.entrypoint));
    if c.network_disabled {
        put("NetworkDisabled", json!(true));
    }
    if !c.mac_address.is_empty() {
        put("MacAddress", json!(c.mac_address));
    }
    put("OnBuild", list(&c.on_build));
    put("Labels", c.labels.as_ref().map_or(Value::Null, |l| json!(l)));
    if !c.stop_signal.is_empty() {
        put("StopSignal", json!(c.stop_signal));
    }
    if let Some(t) = c.stop_timeout {
        put("StopTimeout", json!(t));
    }
    if c.shell.as_ref().is_some_and(|s| !s.is_empty()) {
        put("Shell", list(&c.shell));
    }
    Value::Object(m)
}

/// References in refstore's order: sorted by their full string (`docker.io/library/…`).
pub fn sorted(refs: &[Reference]) -> Vec<&Reference> {
    let mut v: Vec<&Reference> = refs.iter().collect();
    v.sort_by_cached_key(|r| r.to_string());
    v
}

fn rootfs_json(c: &ImageConfig) -> Value {
    let mut v = json!({ "Type": c.rootfs().fs_type });
    if !c.diff_ids().is_empty() {
        v["Layers"] = json!(c.diff_ids().iter().map(Digest::as_str).collect::<Vec<_>>());
    }
    v
}

fn parent_string(parent: Option<&Digest>) -> &str {
    parent.map_or("", Digest::as_str)
}

fn list_or_null(items: Vec<String>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        json!(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L1: &str = "sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b";
    const L2: &str = "sha256:51a143c55eb34b390b330f980d95e1051795b4fed6ccc30ee4e1ceab8fd5ea30";
    const DGST: &str = "sha256:a12f393f6889cd5a6a78e8f3d30590b0e4c2c25f7d74075501fbad53d3bb5606";

    fn config(json: &str) -> LazyConfig {
        LazyConfig::parsed(std::rc::Rc::new(ImageConfig::parse(json.as_bytes().to_vec()).unwrap()))
    }
    fn refs(list: &[&str]) -> Vec<Reference> {
        list.iter().map(|s| Reference::parse_normalized_named(s).unwrap()).collect()
    }
    fn facts<'a>(id: &'a Digest, c: &'a LazyConfig, parent: Option<&'a Digest>, r: &'a [Reference]) -> ImageFacts<'a> {
        ImageFacts { id, config: c, parent, size: 42, references: r, last_tag_time: None, graph_driver: "overlay2" }
    }

    #[test]
    fn inspect_fields() {
        let c = config(&format!(
            r#"{{"rootfs":{{"type":"layers","diff_ids":["{L1}"]}},"variant":"v8","history":[{{"comment":"first"}},{{"comment":"last","empty_layer":true}}],
               "config":{{"Cmd":["sh"],"ExposedPorts":{{}},"Healthcheck":{{"Test":[]}},"Shell":[],"StopTimeout":0,"MacAddress":"m"}}}}"#
        ));
        let id = c.get().unwrap().id();
        let parent = Digest::parse(L2).unwrap();
        let r = refs(&[&format!("busybox:1@{DGST}")]);
        let mut f = facts(&id, &c, Some(&parent), &r);
        f.last_tag_time = Some(GoTime::parse_rfc3339("2026-11-23T13:52:40.046090211Z").unwrap());
        let v = image_inspect(&f).unwrap();
        assert_eq!(v["RepoTags"], json!([format!("busybox:1@{DGST}")]));
        assert_eq!(v["RepoDigests"], json!([]));
        assert_eq!(v["Parent"], json!(L2));
        assert_eq!(v["Comment"], json!("last"));
        assert_eq!(v["Created"], json!("0001-01-01T00:00:00Z"));
        assert_eq!(v["Variant"], json!("v8"));
        assert!(v.get("OsVersion").is_none());
        assert_eq!(v["Os"], json!("linux"));
        assert_eq!(v["GraphDriver"], json!({"Data": null, "Name": "overlay2"}));
        assert_eq!(v["RootFS"], json!({"Type": "layers", "Layers": [L1]}));
        assert_eq!(v["Metadata"]["LastTagTime"], json!("2026-11-23T13:52:40.046090211Z"));
        let cfg = &v["Config"];
        assert!(cfg.get("ExposedPorts").is_none() && cfg.get("Shell").is_none());
        assert_eq!(cfg["Healthcheck"], json!({}));
        assert_eq!(cfg["StopTimeout"], json!(0));
        assert_eq!(cfg["MacAddress"], json!("m"));
        assert_eq!(cfg["Env"], Value::Null);
        // Absent container_config renders as Go's zero Config.
        assert_eq!(v["ContainerConfig"]["Cmd"], Value::Null);
        assert_eq!(v["ContainerConfig"]["Hostname"], json!(""));
        let none = image_inspect(&facts(&id, &config(r#"{"rootfs":{}}"#), None, &[])).unwrap();
        assert_eq!(none["Config"], Value::Null);
        assert_eq!(none["RootFS"], json!({"Type": ""}));
        assert_eq!(none["Metadata"]["LastTagTime"], json!("0001-01-01T00:00:00Z"));
    }

    #[test]
    fn history_walks_the_parent_chain() {
        let c = config(&format!(
            r#"{{"rootfs":{{"diff_ids":["{L1}","{L2}"]}},"history":[
                {{"created":"2026-11-23T13:52:30Z","created_by":"base"}},
                {{"created":"2026-11-23T13:52:31Z","created_by":"env","empty_layer":true}},
                {{"created":"2026-11-23T13:52:32Z","created_by":"run","comment":"c"}},
                {{"created_by":"cmd","empty_layer":true}}]}}"#
        ));
        let id = c.get().unwrap().id();
        let p1 = Digest::sha256_of(b"p1");
        let p2 = Digest::sha256_of(b"p2");
        let r = refs(&["app:1", &format!("app@{DGST}")]);
        let f = facts(&id, &c, Some(&p1), &r);
        let lookup = |d: &Digest| {
            (*d == p1).then(|| HistoryImage { parent: Some(p2.clone()), references: refs(&["b:2", "a:1"]) })
        };
        let h = image_history(&f, &[100, 7], lookup).unwrap();
        let h = h.as_array().unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h[0]["CreatedBy"], json!("cmd"));
        assert_eq!(h[0]["Created"], json!(-62_135_596_800i64));
        assert_eq!(h[0]["Id"], json!(id.as_str()));
        assert_eq!(h[0]["Tags"], json!(["app:1"]));
        assert_eq!(h[0]["Size"], json!(0));
        assert_eq!(h[1]["Id"], json!(p1.as_str()));
        assert_eq!(h[1]["Tags"], json!(["a:1", "b:2"]));
        assert_eq!((h[1]["Size"].clone(), h[1]["Comment"].clone()), (json!(7), json!("c")));
        // p2 is unknown to the lookup: the walk stops.
        assert_eq!(h[2]["Id"], json!("<missing>"));
        assert_eq!(h[2]["Tags"], Value::Null);
        assert_eq!(h[3]["Size"], json!(100));
        assert_eq!(h[3]["Created"], json!(1_795_441_950));
        // A missing layer size is an error naming the layer.
        let e = image_history(&f, &[100], |_| None).unwrap_err();
        assert!(e.message.contains(L2), "{}", e.message);
    }
}
