//! The malformed-upload corpus (issue 10), generated deterministically from the real fixtures,
//! shared by the native and wasm runs: truncations at every structural boundary of a tar (each
//! header start, inside each header, inside each entry's data and padding), bit flips in every
//! tar header, and tar tricks (`..` and absolute names, links out of the tree, duplicate
//! entries, PAX and base-256 sizes, GNU long names), gzip framing, bombs. Every case must be
//! refused with a coded error and leave the store as it was.

pub mod walks;

use crate::support::gzip;
use crate::support::tar::{fix_checksum, header, raw_entries, replace_entry, tar_of, BLOCK};

/// One malformed upload and the error code it must be refused with.
pub struct Case {
    pub name: String,
    pub input: Vec<u8>,
    pub code: &'static str,
}

pub static IMAGE_STORE: &[u8] = include_bytes!("../fixtures/docker20/basic/image-store.tar");
pub static CONTAINERD_ROOT: &[u8] = include_bytes!("../fixtures/docker20/basic/containerd-root.tar");
pub static DOCKER_SAVE: &[u8] = include_bytes!("../fixtures/docker20/basic/docker-save.tar");

/// The header offsets of a plain tar's entries (up to its end blocks), with each entry's name
/// and data size.
pub fn entries(tar: &[u8]) -> Vec<(usize, String, usize)> {
    raw_entries(tar).into_iter().map(|e| (e.offset, e.name, e.data.len())).collect()
}

/// The docker save fixture with `edit` applied to its manifest.json.
fn save_with_manifest(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    replace_entry(
        DOCKER_SAVE,
        |name| name == "manifest.json",
        |data| {
            let mut m: serde_json::Value = serde_json::from_slice(data).unwrap();
            edit(&mut m);
            serde_json::to_vec(&m).unwrap()
        },
    )
}

/// Every case, in a fixed order.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |name: String, input: Vec<u8>, code: &'static str| out.push(Case { name, input, code });
    for (label, tar) in [("image-store", IMAGE_STORE), ("docker-save", DOCKER_SAVE)] {
        let list = entries(tar);
        // Truncations: at each header (an entry boundary, without end blocks), inside the
        // header, and inside the data of every fourth entry.
        // The docker save (3 MB) gets every other boundary, the image store (225 KB) all.
        let step = if label == "docker-save" { 2 } else { 1 };
        for (i, (at, name, size)) in list.iter().enumerate().step_by(step) {
            if *at > 0 {
                add(format!("{label}: cut before entry {i} {name:?}"), tar[..*at].to_vec(), "data_corrupt");
            }
            // Before a first whole header there is nothing to recognise.
            let code = if *at == 0 { "unsupported_format" } else { "data_corrupt" };
            add(format!("{label}: cut inside the header of {name:?}"), tar[..at + 300].to_vec(), code);
            if *size > 2 && i % 4 == 0 {
                add(
                    format!("{label}: cut inside the data of {name:?}"),
                    tar[..at + BLOCK + size / 2].to_vec(),
                    "data_corrupt",
                );
            }
        }
        // Bit flips in the headers of every third entry (the checksum catches them).
        for (i, (at, name, _)) in list.iter().enumerate().filter(|(i, _)| i % (3 * step) == 1) {
            let mut flipped = tar.to_vec();
            flipped[at + (i * 37) % 148] ^= 1 << (i % 8);
            add(format!("{label}: bit flip in the header of {name:?}"), flipped, "data_corrupt");
        }
    }
    // Gzip framing: a truncated stream, a corrupt one, a bad trailer.
    let gz = gzip(IMAGE_STORE);
    add("gzip: cut in half".into(), gz[..gz.len() / 2].to_vec(), "data_corrupt");
    add("gzip: cut before the trailer".into(), gz[..gz.len() - 4].to_vec(), "data_corrupt");
    let mut bad = gz.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    bad[mid + 1] ^= 0xff;
    add("gzip: corrupt deflate data".into(), bad, "data_corrupt");
    let mut crc = gz.clone();
    let n = crc.len();
    crc[n - 8] ^= 1;
    add("gzip: wrong CRC".into(), crc, "data_corrupt");
    // Tar tricks in a docker save.
    let layer = |m: &mut serde_json::Value, path: &str| m[0]["Layers"][0] = path.into();
    add("save: a layer path with ..".into(), save_with_manifest(|m| layer(m, "../../etc/layer.tar")), "not_found");
    add("save: an absolute layer path".into(), save_with_manifest(|m| layer(m, "/etc/layer.tar")), "not_found");
    add("save: a missing config".into(), save_with_manifest(|m| m[0]["Config"] = "nope.json".into()), "not_found");
    add(
        "save: one layer less than the config's diff_ids".into(),
        save_with_manifest(|m| {
            m[0]["Layers"].as_array_mut().unwrap().pop();
        }),
        "invalid_argument",
    );
    add(
        "save: layers in the wrong order (the config's diff_ids lie)".into(),
        save_with_manifest(|m| m[0]["Layers"].as_array_mut().unwrap().reverse()),
        "data_corrupt",
    );
    add(
        "save: a tag that is not a reference".into(),
        save_with_manifest(|m| m[0]["RepoTags"] = serde_json::json!(["Bad Tag"])),
        "invalid_argument",
    );
    add("save: manifest.json is not JSON".into(), save_with_manifest(|m| *m = "[".into()), "data_corrupt");
    let link_out = tar_of(&[
        ("manifest.json", b'0', "", br#"[{"Config":"c.json","RepoTags":[],"Layers":["l/layer.tar"]}]"#),
        ("c.json", b'0', "", br#"{"rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#),
        ("l/layer.tar", b'2', "../../../../etc/passwd", b""),
    ]);
    add("save: the layer is a symlink out of the tree".into(), link_out, "not_found");
    // A base-256 size far past the input, and a PAX size that lies.
    let mut base256 = tar_of(&[("manifest.json", b'0', "", b"[]")]);
    base256[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0]);
    fix_checksum(&mut base256[..BLOCK]);
    add("tar: a base-256 size of 2^62".into(), base256, "data_corrupt");
    let pax_body = b"30 size=99999999999999999999\n";
    let mut pax = header("pax", pax_body.len() as u64, b'x', "");
    pax.extend_from_slice(pax_body);
    pax.resize(pax.len().div_ceil(BLOCK) * BLOCK, 0);
    pax.extend(tar_of(&[("manifest.json", b'0', "", b"[]")]));
    add("tar: a PAX size that overflows".into(), pax, "data_corrupt");
    let long = vec![b'a'; 40 << 20];
    let mut gnu = header("././@LongLink", long.len() as u64, b'L', "");
    gnu.extend(&long[..1 << 20]);
    add("tar: a 40 MiB GNU long name, cut".into(), gnu, "data_corrupt");
    // Bombs: gzip inflating far past the input (the import must stop at the memory backend's
    // limit, which these runs set to 16 MiB, or at the inflation limits).
    let bomb = gzip(&tar_of(&[("layer.tar", b'0', "", &vec![0u8; 48 << 20])]));
    add("bomb: one entry of 48 MiB of zeros".into(), bomb, "resource_exhausted");
    let mut member_bomb = Vec::new();
    let zeros = gzip(&vec![0u8; 8 << 20]);
    let head = gzip(&header("big", 48 << 20, b'0', ""));
    member_bomb.extend(&head);
    for _ in 0..6 {
        member_bomb.extend(&zeros);
    }
    add("bomb: multi-member gzip of one 48 MiB file, no end blocks".into(), member_bomb, "resource_exhausted");
    // Not a tar at all.
    add("junk: text".into(), b"hello, this is not a tarball at all\n".repeat(40), "unsupported_format");
    add("junk: empty".into(), Vec::new(), "unsupported_format");
    add("junk: one zero block".into(), vec![0u8; BLOCK], "unsupported_format");
    out
}
