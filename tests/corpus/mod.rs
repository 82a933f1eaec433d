//! The malformed-upload corpus (issue 10), generated deterministically from the real fixtures,
//! shared by the native and wasm runs: truncations at every structural boundary of a tar (each
//! header start, inside each header, inside each entry's data and padding), bit flips in every
//! tar header, and tar tricks (`..` and absolute names, links out of the tree, duplicate
//! entries, PAX and base-256 sizes, GNU long names), gzip framing, bombs. Every case must be
//! refused with a coded error and leave the store as it was.

pub mod walks;

/// One malformed upload and the error code it must be refused with.
pub struct Case {
    pub name: String,
    pub input: Vec<u8>,
    pub code: &'static str,
}

pub static IMAGE_STORE: &[u8] = include_bytes!("../fixtures/docker20/basic/image-store.tar");
pub static CONTAINERD_ROOT: &[u8] = include_bytes!("../fixtures/docker20/basic/containerd-root.tar");
pub static DOCKER_SAVE: &[u8] = include_bytes!("../fixtures/docker20/basic/docker-save.tar");

const BLOCK: usize = 512;

/// The header offsets of a plain tar's entries (up to its end blocks), with each entry's name
/// and data size.
pub fn entries(tar: &[u8]) -> Vec<(usize, String, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + BLOCK <= tar.len() && tar[at..at + BLOCK].iter().any(|&b| b != 0) {
        let h = &tar[at..at + BLOCK];
        let name = String::from_utf8_lossy(&h[..100]).trim_end_matches('\0').to_string();
        let size_field = String::from_utf8_lossy(&h[124..136]).trim_matches(|c| c == '\0' || c == ' ').to_string();
        let size = usize::from_str_radix(&size_field, 8).unwrap_or(0);
        out.push((at, name, size));
        at += BLOCK + size.div_ceil(BLOCK) * BLOCK;
    }
    out
}

/// Recomputes a header block's checksum (after an edit that must still pass it).
fn fix_checksum(h: &mut [u8]) {
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

fn header(name: &str, size: u64, typeflag: u8, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; BLOCK];
    // Longer names go in ustar's prefix field (split at a `/`).
    let split = (name.len() > 100)
        .then(|| name.char_indices().find(|&(i, c)| c == '/' && name.len() - i - 1 <= 100).map(|(i, _)| i))
        .flatten();
    let (prefix, name) = match split {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => ("", name),
    };
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    fix_checksum(&mut h);
    h
}

/// A plain tar of `(name, typeflag, link, data)` entries, with its end blocks.
fn tar_of(items: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, flag, link, data) in items {
        out.extend(header(name, data.len() as u64, *flag, link));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.extend([0u8; 2 * BLOCK]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The docker save fixture's entries with `edit` applied to its manifest.json.
fn save_with_manifest(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let mut out = Vec::new();
    for (at, name, size) in entries(DOCKER_SAVE) {
        let data = &DOCKER_SAVE[at + BLOCK..at + BLOCK + size];
        if name == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(data).unwrap();
            edit(&mut m);
            let bytes = serde_json::to_vec(&m).unwrap();
            out.extend(header(&name, bytes.len() as u64, b'0', ""));
            out.extend(&bytes);
        } else {
            out.extend_from_slice(&DOCKER_SAVE[at..at + BLOCK + size]);
        }
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.extend([0u8; 2 * BLOCK]);
    out
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
