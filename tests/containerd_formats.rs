#![cfg(not(target_arch = "wasm32"))]
//! containerd formats on real fixtures: bbolt, meta.db schema, filters, OCI types.

use imagestore::formats::bbolt::{Bucket, Db, Value};
use std::io::Read;
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Reads one member of a tar fixture.
fn tar_member(tar_rel: &str, member: &str) -> Vec<u8> {
    let file = std::fs::File::open(fixture(tar_rel)).unwrap();
    let mut ar = tar::Archive::new(file);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some(member) {
            let mut out = Vec::new();
            e.read_to_end(&mut out).unwrap();
            return out;
        }
    }
    panic!("{member} not in {tar_rel}");
}

fn basic_meta_db() -> Vec<u8> {
    tar_member("docker20/basic/containerd-root.tar", "io.containerd.metadata.v1.bolt/meta.db")
}

fn dump(b: Bucket, indent: usize, out: &mut String) {
    for e in b.entries().unwrap() {
        let k = String::from_utf8_lossy(e.key);
        match e.value {
            Value::Data(d) => out.push_str(&format!("{:indent$}{k} = {:?}\n", "", String::from_utf8_lossy(d))),
            Value::Bucket(sb) => {
                out.push_str(&format!("{:indent$}{k}/{}\n", "", if sb.is_inline() { " (inline)" } else { "" }));
                dump(sb, indent + 2, out);
            }
        }
    }
}

#[test]
fn dump_basic() {
    let data = basic_meta_db();
    let db = Db::open(&data).unwrap();
    let mut s = String::new();
    dump(db.root(), 0, &mut s);
    println!("{:?}\n{s}", db.meta());
}
