//! A directory of an image's merged filesystem as a tar stream, as `docker cp IMAGE:/etc -`
//! gives it: names start with the directory's own name (`etc/`, `etc/passwd`; the root's
//! entries have no prefix), each entry keeps its layer tar header (mode, owner, times, device
//! numbers, link target), and file bytes are read from the layer tars while the stream is
//! pulled (a plain stored layer by range). Names are relative and cleaned (no `..`, never
//! absolute), so extracting the tar writes only below the folder it is extracted in. A hard
//! link stays a hard link when what it names is in the tar too (written after everything
//! else, so its target is always extracted first); otherwise it is written as the file. Names
//! and link targets that do not fit a ustar header, or are not ASCII, get a PAX `path` /
//! `linkpath` record, as Go's `archive/tar` writes them.

use super::archive::{ArchiveStream, Member, Source};
use super::files::{MergedTree, Node};
use super::tar_writer::{octal, padding, split_name, write_checksum, BLOCK};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::tar_split::{EntryKind, TarEntry};
use crate::storage::Backend;
use crate::store::Store;
use std::collections::{BTreeMap, BTreeSet};

/// The largest numbers a ustar header's 7- and 11-digit octal fields hold.
const OCTAL7_MAX: i64 = 0o7_777_777;
const OCTAL11_MAX: i64 = 0o77_777_777_777;

impl<B: Backend> Store<B> {
    /// Opens directory `path` of an image as a tar stream (symlinks on the way resolved inside
    /// the image). `not_found` for a missing path, `invalid_argument` for one that is not a
    /// directory, `failed_precondition` naming the layers whose contents are not stored.
    pub async fn read_directory(&self, name_or_id: &str, path: &str) -> Result<ArchiveStream> {
        let (diff_ids, tree) = self.merged_tree_with_headers(name_or_id).await?;
        let dir = tree.resolve(path, true)?;
        match tree.get(&dir) {
            Some(n) if n.kind == EntryKind::Dir => {}
            Some(_) => return Err(Error::invalid(format!("{path}: not a directory (read it with readFile)"))),
            None if dir == "/" => {}
            None => return Err(Error::not_found(format!("{path}: no such directory"))),
        }
        plan(self, &tree, &diff_ids, &dir)
    }
}

/// The archive name of tree path `p` below `dir`.
fn archive_name(dir: &str, p: &str) -> String {
    let parent =
        if dir == "/" { "/" } else { dir.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d }) };
    p[parent.len()..].trim_start_matches('/').to_string()
}

fn plan<B: Backend>(store: &Store<B>, tree: &MergedTree, diff_ids: &[Digest], dir: &str) -> Result<ArchiveStream> {
    let mut members = Vec::new();
    let mut links = Vec::new();
    let mut missing = BTreeSet::new();
    let inside: BTreeMap<&String, &Node> = tree.below(dir).collect();
    for (path, node) in &inside {
        let name = archive_name(dir, path);
        let entry = node.entry.as_deref();
        let hardlink = entry.is_some_and(|e| e.kind == EntryKind::Hardlink);
        if hardlink {
            // A hard link to a path of the tar whose bytes are this node's: kept a link.
            let target = entry.map(|e| clean(&e.linkname())).unwrap_or_default();
            let same = inside.get(&target).is_some_and(|t| {
                t.kind == EntryKind::File
                    && t.entry.as_deref().is_some_and(|e| e.kind != EntryKind::Hardlink)
                    && (node.kind == EntryKind::Hardlink || (t.layer, t.offset) == (node.layer, node.offset))
            });
            if same {
                links.push(header(&name, entry, Type::Link(archive_name(dir, &target)))?);
                continue;
            }
        }
        let kind = if hardlink { EntryKind::File } else { node.kind };
        match kind {
            EntryKind::File => {
                // A hard link written as its file: the bytes of what it names.
                let file = if hardlink { tree.file(path)? } else { node };
                let diff = &diff_ids[file.layer];
                match store.docker().contents.get(diff) {
                    Some(record) => members.push(Member {
                        header: header(&name, entry, Type::File(file.size))?,
                        body: Source::File { record: record.clone(), offset: file.offset, size: file.size },
                    }),
                    None => drop(missing.insert(format!("layer {} ({diff})", file.layer))),
                }
            }
            EntryKind::Dir => {
                members.push(Member { header: header(&format!("{name}/"), entry, Type::Dir)?, body: Source::None })
            }
            EntryKind::Symlink => {
                let target = entry.map(|e| e.linkname().into_owned()).unwrap_or_default();
                members.push(Member { header: header(&name, entry, Type::Symlink(target))?, body: Source::None });
            }
            EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                members.push(Member { header: header(&name, entry, Type::Special)?, body: Source::None })
            }
            EntryKind::Hardlink | EntryKind::Other(_) => {}
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.into_iter().collect();
        return Err(Error::precondition(format!(
            "{dir}: files in {} whose contents are not in the store",
            list.join(", ")
        )));
    }
    members.extend(links.into_iter().map(|header| Member { header, body: Source::None }));
    Ok(ArchiveStream::of_members(members))
}

/// `./etc/`, `etc`, `/etc/` → `/etc`.
fn clean(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    format!("/{}", parts.join("/"))
}

/// What a member is, for its header.
enum Type {
    File(u64),
    Dir,
    Symlink(String),
    Link(String),
    /// A fifo or device: the layer header's type and device numbers.
    Special,
}

/// The header blocks of one member: from the layer tar's header `entry` (mode, owner, time,
/// device numbers), with a PAX header before it when the name or link target needs one.
fn header(name: &str, entry: Option<&TarEntry>, t: Type) -> Result<Vec<u8>> {
    let (flag, size, link) = match &t {
        Type::File(size) => (b'0', *size, ""),
        Type::Dir => (b'5', 0, ""),
        Type::Symlink(target) => (b'2', 0, target.as_str()),
        Type::Link(target) => (b'1', 0, target.as_str()),
        Type::Special => (entry.map_or(b'6', |e| e.typeflag), 0, ""),
    };
    let mode = entry.map_or(0o755, |e| e.mode.max(0) as u64 & 0o7777);
    let id = |v: i64| v.clamp(0, OCTAL7_MAX) as u64;
    let (uid, gid) = entry.map_or((0, 0), |e| (id(e.uid), id(e.gid)));
    let mtime = entry.map_or(0, |e| e.mtime.unix().clamp(0, OCTAL11_MAX));
    let mut pax = Vec::new();
    let fitted = if name.is_ascii() { split_name(name).ok() } else { None };
    if fitted.is_none() {
        pax_record(&mut pax, "path", name);
    }
    if !link.is_empty() && (link.len() > 100 || !link.is_ascii()) {
        pax_record(&mut pax, "linkpath", link);
    }
    let mut out = Vec::new();
    if !pax.is_empty() {
        let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let pax_name: String = format!("PaxHeaders.0/{base}").chars().filter(char::is_ascii).take(100).collect();
        out.extend_from_slice(&block(&pax_name, "", b'x', 0o644, 0, 0, pax.len() as u64, mtime, None, None));
        out.extend_from_slice(&pax);
        out.resize(out.len() + padding(pax.len() as u64), 0);
    }
    let (prefix, short) = fitted.unwrap_or(("", ""));
    let short: String = if fitted.is_some() { short.to_string() } else { ascii_cut(name, 100) };
    let link: String = if link.len() > 100 || !link.is_ascii() { ascii_cut(link, 100) } else { link.to_string() };
    let owners = entry.map(|e| (&*e.uname, &*e.gname));
    let devices =
        entry.filter(|_| matches!(t, Type::Special)).map(|e| (e.devmajor.max(0) as u64, e.devminor.max(0) as u64));
    let mut h = block(&short, &link, flag, mode, uid, gid, size, mtime, owners, devices);
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    write_checksum(&mut h);
    out.extend_from_slice(&h);
    Ok(out)
}

/// The ASCII characters of `s`, at most `max` bytes (a reader uses the PAX record instead).
fn ascii_cut(s: &str, max: usize) -> String {
    s.chars().filter(char::is_ascii).take(max).collect()
}

/// A PAX record: `"<length> <key>=<value>\n"`, the length counting itself.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &str) {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}={value}\n").as_bytes());
}

/// A ustar header block (checksum filled in).
#[allow(clippy::too_many_arguments)]
fn block(
    name: &str,
    link: &str,
    flag: u8,
    mode: u64,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    owners: Option<(&str, &str)>,
    devices: Option<(u64, u64)>,
) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
    octal(&mut b[100..108], mode);
    octal(&mut b[108..116], uid);
    octal(&mut b[116..124], gid);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], mtime as u64);
    b[156] = flag;
    b[157..157 + link.len().min(100)].copy_from_slice(&link.as_bytes()[..link.len().min(100)]);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    if let Some((user, group)) = owners {
        let (user, group) = (user.as_bytes(), group.as_bytes());
        b[265..265 + user.len().min(31)].copy_from_slice(&user[..user.len().min(31)]);
        b[297..297 + group.len().min(31)].copy_from_slice(&group[..group.len().min(31)]);
    }
    let (major, minor) = devices.unwrap_or((0, 0));
    octal(&mut b[329..337], major);
    octal(&mut b[337..345], minor);
    write_checksum(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_to_the_folder_and_pax_records_count_themselves() {
        assert_eq!(archive_name("/etc", "/etc"), "etc");
        assert_eq!(archive_name("/etc", "/etc/passwd"), "etc/passwd");
        assert_eq!(archive_name("/a/b", "/a/b/c"), "b/c");
        assert_eq!(archive_name("/", "/bin/sh"), "bin/sh");
        let mut rec = Vec::new();
        pax_record(&mut rec, "path", "x");
        assert_eq!(rec, b"9 path=x\n");
        let mut rec = Vec::new();
        pax_record(&mut rec, "path", &"y".repeat(95));
        assert_eq!(std::str::from_utf8(&rec).unwrap().split(' ').next().unwrap(), rec.len().to_string());
    }
}
