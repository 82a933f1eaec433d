//! File lists for generated layers: base root filesystems, installed packages, application
//! sources, deletions (whiteouts) and one layer of tar oddities. Every file's contents come
//! from its own seed, so a list fully determines the layer's bytes.

use super::layer::{Kind, Member};
use super::rng::Rng;
use std::collections::BTreeSet;

/// Scales every generated file size (percent), so tests can build small stores quickly.
#[derive(Clone, Copy)]
pub struct Scale(pub u64);

impl Scale {
    pub fn bytes(self, n: u64) -> u64 {
        n * self.0 / 100
    }
}

const WORDS: &[&str] = &[
    "core", "util", "net", "crypto", "ssl", "z", "ffi", "xml", "yaml", "json", "curl", "gpg", "zstd", "lzma", "bz2",
    "uuid", "pcre", "expat", "sqlite", "readline", "ncurses", "tinfo", "acl", "attr", "cap", "seccomp",
];

/// Adds every missing parent directory, sorts by path so parents precede children, and keeps one
/// member per path (lists joined with `concat` each bring their own parents; tar-split's packer
/// refuses a layer that names a path twice).
pub fn with_parent_dirs(mut members: Vec<Member>) -> Vec<Member> {
    let present: BTreeSet<String> = members.iter().map(|m| m.path.clone()).collect();
    let mut dirs = BTreeSet::new();
    for m in &members {
        let mut p = m.path.trim_end_matches('/');
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(format!("{parent}/"));
            p = parent;
        }
    }
    members.extend(dirs.into_iter().filter(|d| !present.contains(d)).map(|d| Member::dir(&d)));
    members.sort_by(|a, b| a.path.cmp(&b.path));
    members.dedup_by(|later, first| later.path == first.path);
    members
}

/// Splits `total` bytes into `n` files of uneven sizes.
fn uneven_sizes(rng: &mut Rng, total: u64, n: usize) -> Vec<u64> {
    let weights: Vec<u64> = (0..n).map(|_| if rng.chance(10) { rng.range(20, 80) } else { rng.range(1, 8) }).collect();
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    weights.iter().map(|w| total * w / sum).collect()
}

/// A distribution's root filesystem of about `total` bytes in `files` files.
pub fn rootfs(rng: &mut Rng, scale: Scale, total: u64, files: usize, libdir: &str) -> Vec<Member> {
    let dirs = ["bin", "sbin", "usr/bin", "usr/sbin", libdir, "usr/share/doc", "usr/share/zoneinfo/Europe"];
    let mut members = vec![
        Member::file("etc/passwd", 920, rng.next_u64()),
        Member::file("etc/group", 470, rng.next_u64()),
        Member::file("etc/hostname", 0, 0),
        Member::file("etc/os-release", 390, rng.next_u64()),
        Member { path: "tmp/".into(), kind: Kind::Dir, mode: 0o1777 },
        Member { path: "root/".into(), kind: Kind::Dir, mode: 0o700 },
        Member::dir("var/cache/"),
    ];
    for (i, size) in uneven_sizes(rng, scale.bytes(total), files).into_iter().enumerate() {
        let dir = rng.pick(&dirs);
        let word = rng.pick(WORDS);
        let path = if dir.contains("lib") {
            format!("{dir}/lib{word}{i}.so.{}", rng.range(0, 9))
        } else {
            format!("{dir}/{word}{i}")
        };
        let mut m = Member::file(&path, size, rng.next_u64());
        if dir.ends_with("bin") {
            m.mode = 0o755;
        }
        members.push(m);
    }
    members.push(Member { path: "bin/sh".into(), kind: Kind::Symlink("/bin/busybox".into()), mode: 0o777 });
    with_parent_dirs(members)
}

/// What `apk add` / `apt-get install` / `pip install` / `npm ci` leaves in a layer.
pub fn packages(rng: &mut Rng, scale: Scale, pkgs: &[&str], total: u64, libdir: &str, site: &str) -> Vec<Member> {
    let mut members = Vec::new();
    let sizes = uneven_sizes(rng, scale.bytes(total), pkgs.len() * 3);
    for (i, pkg) in pkgs.iter().enumerate() {
        let (bin, lib, doc) = (sizes[3 * i], sizes[3 * i + 1], sizes[3 * i + 2]);
        let mut b = Member::file(&format!("usr/bin/{pkg}"), bin, rng.next_u64());
        b.mode = 0o755;
        members.push(b);
        members.push(Member::file(&format!("{libdir}/lib{pkg}.so.{}", rng.range(1, 6)), lib, rng.next_u64()));
        members.push(Member::file(&format!("{site}/{pkg}/README"), doc, rng.next_u64()));
    }
    with_parent_dirs(members)
}

/// Application sources copied into `dest`.
pub fn app_sources(rng: &mut Rng, scale: Scale, dest: &str, files: usize) -> Vec<Member> {
    const NAMES: &[&str] = &["main", "server", "routes", "models", "config", "handlers", "db", "jobs", "util"];
    const EXTS: &[&str] = &["py", "js", "go", "json", "yaml", "html", "css", "sql"];
    let dest = dest.trim_start_matches('/').trim_end_matches('/');
    let mut members = Vec::new();
    for i in 0..files {
        let sub = if rng.chance(40) { "src/" } else { "" };
        let path = format!("{dest}/{sub}{}{i}.{}", rng.pick(NAMES), rng.pick(EXTS));
        members.push(Member::file(&path, scale.bytes(rng.range(200, 60_000)).max(1), rng.next_u64()));
    }
    with_parent_dirs(members)
}

/// One file copied to `dest`.
pub fn single_file(rng: &mut Rng, scale: Scale, dest: &str, size: u64) -> Vec<Member> {
    let mut m = Member::file(dest.trim_start_matches('/'), scale.bytes(size).max(1), rng.next_u64());
    if dest.ends_with(".sh") || !dest.contains('.') {
        m.mode = 0o755;
    }
    with_parent_dirs(vec![m])
}

/// Deleting lower-layer files: a whiteout per file, and an opaque marker for a recreated dir.
pub fn deletions(files: &[&str], opaque_dir: Option<&str>) -> Vec<Member> {
    let mut members = Vec::new();
    for f in files {
        let (dir, base) = f.trim_start_matches('/').rsplit_once('/').unwrap_or(("", f));
        let path = if dir.is_empty() { format!(".wh.{base}") } else { format!("{dir}/.wh.{base}") };
        members.push(Member { path, kind: Kind::Whiteout, mode: 0o600 });
    }
    if let Some(d) = opaque_dir {
        let d = d.trim_start_matches('/').trim_end_matches('/');
        members.push(Member { path: format!("{d}/.wh..wh..opq"), kind: Kind::Whiteout, mode: 0o600 });
    }
    with_parent_dirs(members)
}

/// The shell command that produces [`oddities`].
pub const ODDITIES_COMMAND: &str = "mkdir -p \"/data/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-old-tar-limit/of-one-hundred-bytes\" && echo deep > \"/data/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-old-tar-limit/of-one-hundred-bytes/file.txt\" && echo unicode > \"/data/naïve-ファイル.txt\" && echo markup > \"/data/<img src=x onerror=alert(1)>.txt\" && ln -s /app/config.json /data/link && ln /app/config.json /data/hard && touch /data/suid && chmod 4755 /data/suid && mkdir /data/empty-dir && chmod 700 /data/empty-dir";

/// Names and kinds a file listing must cope with: a path over 100 bytes, non-ASCII and
/// markup-like names, a symlink, a hard link, a setuid file, an empty private directory.
pub fn oddities(rng: &mut Rng) -> Vec<Member> {
    let deep = "data/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-old-tar-limit/of-one-hundred-bytes";
    let members = vec![
        Member::file(&format!("{deep}/file.txt"), 5, rng.next_u64()),
        Member::file("data/naïve-ファイル.txt", 8, rng.next_u64()),
        Member::file("data/<img src=x onerror=alert(1)>.txt", 7, rng.next_u64()),
        Member { path: "data/link".into(), kind: Kind::Symlink("/app/config.json".into()), mode: 0o777 },
        Member { path: "data/hard".into(), kind: Kind::Hardlink("app/config.json".into()), mode: 0o644 },
        Member { path: "data/suid".into(), kind: Kind::File { size: 0, seed: 0 }, mode: 0o4755 },
        Member { path: "data/empty-dir/".into(), kind: Kind::Dir, mode: 0o700 },
    ];
    with_parent_dirs(members)
}
