//! Wasted space and image efficiency exactly as dive 0.13.1 computes them
//! (`dive/filetree/{file_tree,file_node,efficiency}.go`, `dive/image/docker/image_archive.go`,
//! `runtime/export`, `runtime/ci/rule.go`), from the layers' tar headers alone.
//!
//! dive builds one tree per layer from the layer tar's headers and:
//! * skips names that clean to `.`, keeps `.wh.<name>` markers as nodes, and drops
//!   `.wh..wh..*` markers (so opaque directories are ignored); a path whose parents are not in
//!   the tar gets parent nodes with an empty payload;
//! * sizes a layer as the sum of its headers' `Size` (every entry, markers included);
//! * visits every layer's *leaf* nodes (children first, names in byte order) and, per path,
//!   adds up the size seen each time: a file's own size, or for a whiteout the size of what it
//!   deletes — the whole subtree if the lower stacked tree has a directory there, else 0; a
//!   whiteout of a path missing below stops that layer's visit (dive logs the error and goes on
//!   with the next layer), leaving that path counted with a minimum of -1;
//! * counts a path seen in two or more layers as wasted (`inefficientBytes` is the sum of
//!   those paths' cumulative sizes, the first copy included);
//! * scores the image Σ(smallest size seen per path) / Σ(cumulative size per path), 1 when
//!   nothing was seen;
//! * stacks lower layers the way `FileTree.Stack` does (whiteouts remove, everything else
//!   overwrites the payload and keeps existing children), starting from a copy of the first
//!   layer with the first layer stacked on it again.
//!
//! Content equality is never needed for these numbers (dive's xxhash only marks modified
//! files in its UI), so none of this needs layer data.

use crate::formats::tar_split::TarEntry;
use serde::Serialize;
use std::collections::BTreeMap;
#[cfg(test)]
use std::collections::HashMap;

#[cfg(test)]
const WHITEOUT_PREFIX: &str = ".wh.";
const DOUBLE_WHITEOUT_PREFIX: &str = ".wh..wh..";

/// Go's `os.FileMode` bits dive exports in `fileMode`.
pub(super) mod go_mode {
    pub(in crate::analysis) const DIR: u32 = 1 << 31;
    pub(in crate::analysis) const SYMLINK: u32 = 1 << 27;
    pub(in crate::analysis) const DEVICE: u32 = 1 << 26;
    pub(in crate::analysis) const NAMED_PIPE: u32 = 1 << 25;
    pub(in crate::analysis) const SOCKET: u32 = 1 << 24;
    pub(in crate::analysis) const SETUID: u32 = 1 << 23;
    pub(in crate::analysis) const SETGID: u32 = 1 << 22;
    pub(in crate::analysis) const CHAR_DEVICE: u32 = 1 << 21;
    pub(in crate::analysis) const STICKY: u32 = 1 << 20;
}

/// Go's `tar.Header.FileInfo().Mode()`: permission bits, setuid/setgid/sticky, and the type
/// from both the mode's `S_IF*` bits and the typeflag.
pub fn go_file_mode(mode: i64, typeflag: u8) -> u32 {
    use go_mode::*;
    let raw = mode as u32; // Go converts the int64 to FileMode (uint32) the same way
    let mut m = raw & 0o777;
    if raw & 0o4000 != 0 {
        m |= SETUID;
    }
    if raw & 0o2000 != 0 {
        m |= SETGID;
    }
    if raw & 0o1000 != 0 {
        m |= STICKY;
    }
    m |= match raw & !0o7777 {
        0o040000 => DIR,
        0o010000 => NAMED_PIPE,
        0o120000 => SYMLINK,
        0o060000 => DEVICE,
        0o020000 => DEVICE | CHAR_DEVICE,
        0o140000 => SOCKET,
        _ => 0,
    };
    m |= match typeflag {
        b'2' => SYMLINK,
        b'3' => DEVICE | CHAR_DEVICE,
        b'4' => DEVICE,
        b'5' => DIR,
        b'6' => NAMED_PIPE,
        _ => 0,
    };
    m
}

/// Go's `path.Clean` (relative paths stay relative): what dive stores as a file's `path`.
pub(super) fn go_clean(name: &str) -> String {
    go_clean_borrowed(name).into_owned()
}

/// [`go_clean`] without a copy for a name that is clean already but for a trailing `/` (what
/// most tar names are): relative, no empty, `.` or `..` names.
pub(super) fn go_clean_borrowed(name: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    if is_clean_relative(trimmed.as_bytes()) {
        return std::borrow::Cow::Borrowed(trimmed);
    }
    std::borrow::Cow::Owned(go_clean_slow(name))
}

/// Whether `path` is non-empty and every `/`-separated name in it is neither empty, `.` nor
/// `..` (one pass over the bytes: this runs for every member of every layer analysed).
fn is_clean_relative(path: &[u8]) -> bool {
    let mut name_len = 0usize;
    let mut dots = 0usize;
    for &b in path {
        if b == b'/' {
            if name_len == 0 || name_len == dots && dots <= 2 {
                return false;
            }
            (name_len, dots) = (0, 0);
        } else {
            name_len += 1;
            dots += usize::from(b == b'.');
        }
    }
    name_len != 0 && !(name_len == dots && dots <= 2)
}

fn go_clean_slow(name: &str) -> String {
    let rooted = name.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// One node's payload, as dive's `FileInfo` (its JSON field names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveFileInfo {
    /// The cleaned tar name, relative (`etc/passwd`); `""` for a parent dive had to invent.
    pub path: String,
    pub type_flag: u8,
    pub link_name: String,
    pub size: i64,
    pub file_mode: u32,
    pub uid: i64,
    pub gid: i64,
    pub is_dir: bool,
}

impl DiveFileInfo {
    fn from_entry(path: String, e: &TarEntry) -> DiveFileInfo {
        let type_flag = super::dive_layers::dive_typeflag(e);
        let file_mode = go_file_mode(e.mode, type_flag);
        DiveFileInfo {
            path,
            type_flag,
            link_name: e.linkname().into_owned(),
            size: e.size,
            file_mode,
            uid: e.uid,
            gid: e.gid,
            is_dir: file_mode & go_mode::DIR != 0,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    // Read by the reference stacking the tests compare `dive_layers` with.
    #[cfg_attr(not(test), allow(dead_code))]
    name: String,
    #[cfg_attr(not(test), allow(dead_code))]
    parent: usize,
    children: BTreeMap<String, usize>,
    info: DiveFileInfo,
}

/// dive's `FileTree`: nodes in an arena, node 0 the root; children kept in byte order, which
/// is the order every dive visit uses.
#[derive(Debug, Clone)]
pub struct DiveTree {
    nodes: Vec<Node>,
    /// `FileSize`: the sum of the sizes of every header the layer's tar listed.
    pub file_size: i64,
}

impl Default for DiveTree {
    fn default() -> Self {
        let root = Node { name: String::new(), parent: 0, children: BTreeMap::new(), info: DiveFileInfo::default() };
        DiveTree { nodes: vec![root], file_size: 0 }
    }
}

impl DiveTree {
    /// The tree dive builds from one layer tar (`processLayerTar`).
    pub fn from_layer(entries: &[TarEntry]) -> DiveTree {
        let mut tree = DiveTree::default();
        for e in entries {
            let name = go_clean(&e.name());
            if name == "." {
                continue;
            }
            tree.file_size += e.size;
            let info = DiveFileInfo::from_entry(name.clone(), e);
            tree.add_path(&name, info);
        }
        tree
    }

    /// `AddPath`: walks/creates the path's nodes (not `.wh..wh..*` ones) and puts `info` on
    /// the last; an existing node keeps its children.
    fn add_path(&mut self, path: &str, info: DiveFileInfo) {
        let path = go_clean(path);
        if path == "." {
            return;
        }
        let names: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut node = 0;
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            node = match self.nodes[node].children.get(*name) {
                Some(&child) => child,
                None => {
                    if name.starts_with(DOUBLE_WHITEOUT_PREFIX) {
                        return;
                    }
                    let child = self.nodes.len();
                    self.nodes.push(Node {
                        name: name.to_string(),
                        parent: node,
                        children: BTreeMap::new(),
                        info: DiveFileInfo::default(),
                    });
                    self.nodes[node].children.insert(name.to_string(), child);
                    child
                }
            };
            if i == names.len() - 1 {
                self.nodes[node].info = info.clone();
            }
        }
    }

    #[cfg(test)]
    /// `GetNode`.
    fn get_node(&self, path: &str) -> Option<usize> {
        let mut node = 0;
        for name in path.trim_matches('/').split('/').filter(|n| !n.is_empty()) {
            node = *self.nodes[node].children.get(name)?;
        }
        Some(node)
    }

    #[cfg(test)]
    /// `FileNode.Path()`: `/`-joined names, the leaf's `.wh.` prefix dropped.
    fn node_path(&self, id: usize) -> String {
        let mut names = Vec::new();
        let mut cur = id;
        while cur != 0 {
            let name = &self.nodes[cur].name;
            names.push(if cur == id { name.strip_prefix(WHITEOUT_PREFIX).unwrap_or(name) } else { name.as_str() });
            cur = self.nodes[cur].parent;
        }
        names.reverse();
        format!("/{}", names.join("/")).replace("//", "/")
    }

    #[cfg(test)]
    fn is_whiteout(&self, id: usize) -> bool {
        self.nodes[id].name.starts_with(WHITEOUT_PREFIX)
    }

    #[cfg(test)]
    fn is_leaf(&self, id: usize) -> bool {
        self.nodes[id].children.is_empty()
    }

    /// `VisitDepthChildFirst` from `id`: children (in name order) before their parent; the
    /// root itself is never visited.
    fn child_first(&self, id: usize, out: &mut Vec<usize>) {
        for &child in self.nodes[id].children.values() {
            self.child_first(child, out);
        }
        if id != 0 {
            out.push(id);
        }
    }

    fn visit_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        self.child_first(0, &mut out);
        out
    }

    #[cfg(test)]
    fn remove(&mut self, id: usize) {
        let (parent, name) = (self.nodes[id].parent, self.nodes[id].name.clone());
        self.nodes[parent].children.remove(&name);
    }

    #[cfg(test)]
    /// `Stack`: `upper`'s nodes, children first, onto this tree.
    fn stack(&mut self, upper: &DiveTree) {
        for id in upper.visit_order() {
            let path = upper.node_path(id);
            if upper.is_whiteout(id) {
                if let Some(target) = self.get_node(&path) {
                    if target != 0 {
                        self.remove(target);
                    }
                }
            } else {
                self.add_path(&path, upper.nodes[id].info.clone());
            }
        }
    }

    #[cfg(test)]
    /// The sum of the sizes of `id` and everything below it.
    fn subtree_size(&self, id: usize) -> i64 {
        let mut order = Vec::new();
        self.child_first(id, &mut order);
        order.iter().map(|&n| self.nodes[n].info.size).sum()
    }

    /// dive's `--json` `fileList` of this layer: every node, children first.
    pub fn file_list(&self) -> Vec<DiveFileInfo> {
        self.visit_order().into_iter().map(|id| self.nodes[id].info.clone()).collect()
    }
}

/// One wasted path (dive's `fileReference`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WastedFile {
    pub path: String,
    /// In how many layers the path was seen.
    pub count: usize,
    /// The sum of the sizes seen (the first copy included).
    pub size_bytes: i64,
}

/// What dive's analysis says about an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveAnalysis {
    /// Sum of the layer sizes.
    pub size_bytes: i64,
    /// Sum of the layer sizes except the first (dive's "user" bytes).
    pub user_size_bytes: i64,
    pub inefficient_bytes: i64,
    pub efficiency_score: f64,
    /// `inefficientBytes / userSizeBytes` (infinite or NaN without user bytes, as in Go).
    pub wasted_user_percent: f64,
    /// Largest first, as dive lists them.
    pub wasted: Vec<WastedFile>,
    /// Each layer's size (its `sizeBytes`).
    pub layer_sizes: Vec<i64>,
}

#[cfg(test)]
struct PathData {
    cumulative: i64,
    min_discovered: i64,
    count: usize,
}

/// dive's `Efficiency` and `Image.Analyze` over the layers' trees, the way dive does it (path
/// strings, trees stacked node by node): the reference [`super::dive_layers::analyze`] is
/// tested against.
#[cfg(test)]
pub(crate) fn analyze(trees: &[DiveTree]) -> DiveAnalysis {
    let mut by_path: HashMap<String, PathData> = HashMap::new();
    let mut wasted_order: Vec<String> = Vec::new();
    // The stacked tree of the layers below the one being visited.
    let mut stacked: Option<DiveTree> = None;
    for (k, tree) in trees.iter().enumerate() {
        if k >= 1 {
            let below = stacked.get_or_insert_with(|| trees[0].clone());
            below.stack(&trees[k - 1]);
        }
        for id in tree.visit_order().into_iter().filter(|&id| tree.is_leaf(id)) {
            let path = tree.node_path(id);
            let data = by_path.entry(path.clone()).or_insert(PathData { cumulative: 0, min_discovered: -1, count: 0 });
            let size = if tree.is_whiteout(id) {
                let below = stacked.as_ref().unwrap_or(&trees[0]);
                match below.get_node(&path) {
                    // dive's visit fails here and the rest of this layer is skipped.
                    None => break,
                    Some(n) if below.nodes[n].info.is_dir => below.subtree_size(n),
                    Some(_) => 0,
                }
            } else {
                tree.nodes[id].info.size
            };
            data.cumulative += size;
            if data.min_discovered < 0 || size < data.min_discovered {
                data.min_discovered = size;
            }
            data.count += 1;
            if data.count == 2 {
                wasted_order.push(path);
            }
        }
    }
    let minimum: i64 = by_path.values().map(|d| d.min_discovered).sum();
    let discovered: i64 = by_path.values().map(|d| d.cumulative).sum();
    let efficiency_score = if discovered == 0 { 1.0 } else { minimum as f64 / discovered as f64 };

    let mut wasted: Vec<WastedFile> = wasted_order
        .into_iter()
        .map(|path| {
            let d = &by_path[&path];
            WastedFile { path, count: d.count, size_bytes: d.cumulative }
        })
        .collect();
    go_sort_wasted(&mut wasted);
    wasted.reverse();
    DiveAnalysis::new(trees.iter().map(|t| t.file_size).collect(), efficiency_score, wasted)
}

impl DiveAnalysis {
    /// The totals from the layer sizes, the score and the wasted files (largest first).
    pub(super) fn new(layer_sizes: Vec<i64>, efficiency_score: f64, wasted: Vec<WastedFile>) -> DiveAnalysis {
        let size_bytes = layer_sizes.iter().sum();
        let user_size_bytes = layer_sizes.iter().skip(1).sum::<i64>();
        let inefficient_bytes = wasted.iter().map(|w| w.size_bytes).sum::<i64>();
        DiveAnalysis {
            size_bytes,
            user_size_bytes,
            inefficient_bytes,
            efficiency_score,
            wasted_user_percent: inefficient_bytes as f64 / user_size_bytes as f64,
            wasted,
            layer_sizes,
        }
    }
}

/// dive's `sort.Sort(inefficientMatches)`: ascending cumulative size, ties as Go's unstable
/// sort leaves them.
pub(super) fn go_sort_wasted(v: &mut [WastedFile]) {
    super::go_sort::sort(v, |a, b| a.size_bytes < b.size_bytes);
}

/// One of dive's CI rules with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub name: &'static str,
    /// The configured limit as given (`"disabled"` turns the rule off).
    pub limit: String,
    /// The measured value (efficiency, wasted bytes or wasted user ratio).
    pub value: f64,
    /// `None` when the rule is disabled.
    pub pass: Option<bool>,
    /// dive's failure message, empty when it passed.
    pub message: String,
}

/// dive's `--ci` limits; `None` means dive's default (0.9, disabled, 0.1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CiRules {
    pub lowest_efficiency: Option<String>,
    pub highest_wasted_bytes: Option<String>,
    pub highest_user_wasted_percent: Option<String>,
}

/// humanize.ParseBytes (go-humanize): a number with an optional SI or IEC unit, any case.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(s.len());
    let number: f64 = s[..split].replace(',', "").parse().ok()?;
    let unit = s[split..].trim().to_ascii_lowercase();
    let factor: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024f64.powi(2),
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024f64.powi(3),
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024f64.powi(5),
        "e" | "eb" => 1e18,
        "ei" | "eib" => 1024f64.powi(6),
        _ => return None,
    };
    let bytes = number * factor;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// dive's CI evaluation (`runtime/ci/rule.go`). A limit that does not parse, or is out of
/// range, is an error, as dive reports the CI "misconfigured".
pub fn evaluate_rules(a: &DiveAnalysis, rules: &CiRules) -> crate::Result<Vec<RuleResult>> {
    let bad = |name: &str, v: &str, why: &str| crate::Error::invalid(format!("dive rule {name}: {why} ('{v}')"));
    let ratio = |name: &str, v: &str| -> crate::Result<f64> {
        let x: f64 = v.trim().parse().map_err(|_| bad(name, v, "not a number"))?;
        if !(0.0..=1.0).contains(&x) {
            return Err(bad(name, v, "outside the allowed range 0-1"));
        }
        Ok(x)
    };
    let mut out = Vec::new();

    let limit = rules.lowest_efficiency.clone().unwrap_or_else(|| "0.9".into());
    let mut r = RuleResult {
        name: "lowestEfficiency",
        limit: limit.clone(),
        value: a.efficiency_score,
        pass: None,
        message: String::new(),
    };
    if limit != "disabled" {
        let x = ratio(r.name, &limit)?;
        let fail = x > a.efficiency_score;
        if fail {
            r.message = format!("image efficiency is too low (efficiency={} < threshold={x})", a.efficiency_score);
        }
        r.pass = Some(!fail);
    }
    out.push(r);

    let limit = rules.highest_wasted_bytes.clone().unwrap_or_else(|| "disabled".into());
    let mut r = RuleResult {
        name: "highestWastedBytes",
        limit: limit.clone(),
        value: a.inefficient_bytes as f64,
        pass: None,
        message: String::new(),
    };
    if limit != "disabled" {
        let x = parse_bytes(&limit).ok_or_else(|| bad(r.name, &limit, "not a byte size"))?;
        let fail = a.inefficient_bytes as u64 > x;
        if fail {
            r.message = format!("too many bytes wasted (wasted-bytes={} > threshold={x})", a.inefficient_bytes);
        }
        r.pass = Some(!fail);
    }
    out.push(r);

    let limit = rules.highest_user_wasted_percent.clone().unwrap_or_else(|| "0.1".into());
    let mut r = RuleResult {
        name: "highestUserWastedPercent",
        limit: limit.clone(),
        value: a.wasted_user_percent,
        pass: None,
        message: String::new(),
    };
    if limit != "disabled" {
        let x = ratio(r.name, &limit)?;
        // NaN (no user bytes, nothing wasted) compares false, so it passes, as in Go.
        let fail = x < a.wasted_user_percent;
        if fail {
            r.message = format!(
                "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes={} > threshold={x})",
                a.wasted_user_percent
            );
        }
        r.pass = Some(!fail);
    }
    out.push(r);
    Ok(out)
}

/// The command dive shows for each layer: the `created_by` of the next history entry that
/// is not an empty layer, `/bin/sh -c ` trimmed, `(missing)` when history runs out; and the
/// DiffID dive pairs with it (`digestId`: the n-th non-empty history entry gets the n-th
/// DiffID), empty when missing.
pub fn layer_commands(
    history: &[crate::formats::image_config::HistoryEntry],
    diff_ids: &[crate::Digest],
    layers: usize,
) -> Vec<(String, String)> {
    let mut ids = Vec::with_capacity(history.len());
    let mut n = 0;
    for h in history {
        if h.empty_layer {
            ids.push("<missing>".to_string());
        } else {
            ids.push(diff_ids.get(n).map(|d| d.to_string()).unwrap_or_default());
            n += 1;
        }
    }
    let mut out = Vec::with_capacity(layers);
    let mut at = 0;
    for _ in 0..layers {
        if let Some(next) = (at..history.len()).find(|&i| !history[i].empty_layer) {
            at = next;
        }
        if at < history.len() && !history[at].empty_layer {
            let cmd = &history[at].created_by;
            out.push((cmd.strip_prefix("/bin/sh -c ").unwrap_or(cmd).to_string(), ids[at].clone()));
            at += 1;
        } else {
            out.push(("(missing)".to_string(), String::new()));
        }
    }
    out
}

/// The trees of an image's layers, bottom first.
pub fn trees(layers: &[&[TarEntry]]) -> Vec<DiveTree> {
    layers.iter().map(|l| DiveTree::from_layer(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::changes::tests::entry;
    use crate::formats::tar_split::EntryKind::*;

    #[test]
    fn the_clean_path_check_agrees_with_splitting_on_slashes() {
        // Every string of up to 7 bytes over `a`, `.` and `/`.
        let mut names = vec![String::new()];
        let mut level = names.clone();
        for _ in 0..7 {
            level = level.iter().flat_map(|n| ["a", ".", "/"].map(|c| format!("{n}{c}"))).collect();
            names.extend_from_slice(&level);
        }
        assert!(names.len() > 3000);
        for n in &names {
            let by_split = !n.is_empty() && n.split('/').all(|p| !p.is_empty() && p != "." && p != "..");
            assert_eq!(is_clean_relative(n.as_bytes()), by_split, "{n:?}");
            // A name the quick check passes is what Go's path.Clean makes of it.
            if by_split {
                assert_eq!(go_clean_slow(n), *n, "{n:?}");
            }
        }
    }

    #[test]
    fn dive_quirks_deleted_files_cost_nothing_and_a_missing_whiteout_stops_the_layer() {
        let l0 = vec![entry("a/", Dir, 0, None), entry("a/x", File, 5, Some(1)), entry("b", File, 3, Some(2))];
        // `.wh.zz` deletes nothing that exists: dive's visit of this layer stops there, so `c`
        // (after it in name order) is never counted.
        let l1 = vec![entry(".wh.b", File, 0, None), entry(".wh.zz", File, 0, None), entry("c", File, 4, Some(3))];
        let l2 = vec![entry("b", File, 3, Some(2))];
        let a = analyze(&trees(&[&l0, &l1, &l2]));
        assert_eq!(a.layer_sizes, [8, 4, 3]);
        assert_eq!((a.size_bytes, a.user_size_bytes, a.inefficient_bytes), (15, 7, 6));
        assert_eq!(a.wasted, [WastedFile { path: "/b".into(), count: 3, size_bytes: 6 }]);
        // Σmin = 5 (a/x) + 0 (b) − 1 (zz, never sized); Σcumulative = 5 + 6 + 0.
        assert_eq!(a.efficiency_score, 4.0 / 11.0);
        assert_eq!(a.wasted_user_percent, 6.0 / 7.0);
    }

    #[test]
    fn a_deleted_directory_costs_its_whole_subtree_and_opaque_markers_are_ignored() {
        let l0 = vec![entry("d/", Dir, 0, None), entry("d/x", File, 5, Some(1)), entry("d/y", File, 7, Some(2))];
        let l1 = vec![entry(".wh.d", File, 0, None), entry("e/", Dir, 0, None), entry("e/.wh..wh..opq", File, 0, None)];
        let l2 = vec![entry("d/", Dir, 0, None), entry("d/x", File, 5, Some(1))];
        let t = trees(&[&l0, &l1, &l2]);
        let listed: Vec<String> = t[1].file_list().into_iter().map(|f| f.path).collect();
        assert_eq!(listed, [".wh.d", "e"], "the opaque marker is not in dive's tree");
        let a = analyze(&t);
        // /d is a leaf only in l1 (12 bytes deleted); /d/x seen twice (5 + 5).
        assert_eq!(a.wasted, [WastedFile { path: "/d/x".into(), count: 2, size_bytes: 10 }]);
        assert_eq!(a.efficiency_score, (5.0 + 7.0 + 12.0 + 0.0) / (10.0 + 7.0 + 12.0 + 0.0));
        assert_eq!(go_file_mode(0o4755, b'0'), (1 << 23) | 0o755);
        assert_eq!(go_file_mode(0o755, b'5'), (1 << 31) | 0o755);
    }

    #[test]
    fn ci_rules_parse_like_dive() {
        assert_eq!(parse_bytes("20MB"), Some(20_000_000));
        assert_eq!(parse_bytes("20Mb"), Some(20_000_000));
        assert_eq!(parse_bytes("1 KiB"), Some(1024));
        assert_eq!(parse_bytes("12"), Some(12));
        assert_eq!(parse_bytes("lots"), None);
        let a = analyze(&trees(&[]));
        assert_eq!((a.efficiency_score, a.size_bytes), (1.0, 0));
        let rules = evaluate_rules(&a, &CiRules::default()).unwrap();
        assert!(rules.iter().all(|r| r.pass != Some(false)), "{rules:?}");
    }
}
