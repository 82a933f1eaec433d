//! dive's analysis ([`super::dive`] says what it computes) over interned paths: each layer's
//! tree is built once into the list of its nodes in dive's visit order ([`LayerNodes`], cached
//! per layer by the store), and the stacked tree of the layers below is a set of path ids, so
//! analysing an image costs one pass over its layers' nodes with no path strings made, looked
//! up or compared. The result is the same, quirk for quirk, as stacking `DiveTree`s (the test
//! below compares the two on random layers).

use super::dive::{go_clean_borrowed, go_file_mode, go_mode, go_sort_wasted, DiveAnalysis, WastedFile};
use super::path_table::{IdMap, PathTable};
use crate::formats::tar_split::TarEntry;

const WHITEOUT_PREFIX: &str = ".wh.";
const DOUBLE_WHITEOUT_PREFIX: &str = ".wh..wh..";

/// One node of a layer's dive tree.
#[derive(Debug, Clone, Copy)]
struct LayerNode {
    id: u32,
    /// The payload's size (0 for a parent dive made up).
    size: i64,
    is_dir: bool,
    leaf: bool,
    /// For a `.wh.<name>` node: the id of the path it names (dive's key for it), and the node
    /// `GetNode` finds for that path (the parent when `<name>` is empty).
    whiteout: Option<(u32, u32)>,
}

/// A layer as dive sees it: its nodes in visit order (children first, names in byte order).
#[derive(Debug, Clone, Default)]
pub struct LayerNodes {
    /// The sum of the sizes of every header the layer's tar listed (dive's layer size).
    pub file_size: i64,
    nodes: Vec<LayerNode>,
}

impl LayerNodes {
    /// The tree dive builds from one layer tar (`processLayerTar` + `AddPath`), its paths
    /// interned in `table`.
    pub fn build(entries: &[TarEntry], table: &mut PathTable) -> LayerNodes {
        // id → (size, is_dir) of the layer's nodes, and each node's children.
        let mut info: IdMap<(i64, bool)> = IdMap::default();
        info.reserve(entries.len());
        let mut children: IdMap<Vec<u32>> = IdMap::default();
        let mut file_size = 0;
        let mut chain: Vec<u32> = Vec::new();
        for e in entries {
            let raw = e.name();
            let name = go_clean_borrowed(&raw);
            if name == "." {
                continue;
            }
            file_size += e.size;
            let payload = (e.size, go_file_mode(e.mode, dive_typeflag(e)) & go_mode::DIR != 0);
            // AddPath: walk the path's nodes from the top, making the missing ones (not
            // `.wh..wh..*` ones: there dive stops).
            // (A cleaned name has no empty names but a leading `/` when the tar's was absolute.)
            let id = table.intern(name.trim_start_matches('/'));
            // The nodes missing are the path's lowest ones (a node is only ever made after its
            // parents), so the walk up stops at the first node the layer has.
            chain.clear();
            let mut at = id;
            while at != 0 && !info.contains_key(&at) {
                chain.push(at);
                at = table.parent(at);
            }
            let mut parent = at;
            let mut complete = true;
            for &node in chain.iter().rev() {
                if table.name(node).starts_with(DOUBLE_WHITEOUT_PREFIX) {
                    complete = false;
                    break;
                }
                info.insert(node, (0, false));
                children.entry(parent).or_default().push(node);
                parent = node;
            }
            if complete && id != 0 {
                info.insert(id, payload);
            }
        }
        let mut nodes = Vec::with_capacity(info.len());
        // Children first, names in byte order (VisitDepthChildFirst); an explicit stack keeps a
        // 5,000-deep path from overflowing the call stack.
        let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
        for list in children.values_mut() {
            list.sort_by(|a, b| table.name(*a).cmp(table.name(*b)));
        }
        while let Some((id, next)) = stack.pop() {
            let kids = children.get(&id).map_or(&[][..], Vec::as_slice);
            if next < kids.len() {
                stack.push((id, next + 1));
                stack.push((kids[next], 0));
                continue;
            }
            if id == 0 {
                continue;
            }
            let (size, is_dir) = info[&id];
            let name = table.name(id);
            let whiteout = name.strip_prefix(WHITEOUT_PREFIX).map(|target| {
                let parent = table.relative(table.parent(id));
                let key = match (parent.is_empty(), target.is_empty()) {
                    (true, true) => "/".to_string(),
                    (true, false) => target.to_string(),
                    (false, _) => format!("{parent}/{target}"),
                };
                (key, target.is_empty())
            });
            let whiteout = whiteout.map(|(key, empty)| {
                let key = table.intern(&key);
                (key, if empty { table.parent(id) } else { key })
            });
            nodes.push(LayerNode { id, size, is_dir, leaf: kids.is_empty(), whiteout });
        }
        LayerNodes { file_size, nodes }
    }
}

/// Go's tar reader turns the pre-POSIX `'\0'` typeflag into `'0'` (`'5'` with a trailing slash).
pub(super) fn dive_typeflag(e: &TarEntry) -> u8 {
    match e.typeflag {
        0 if e.name_bytes.ends_with(b"/") => b'5',
        0 => b'0',
        t => t,
    }
}

/// dive's stacked tree of the layers below the one being visited: which paths it holds and
/// their payloads.
struct Stacked<'t> {
    table: &'t PathTable,
    present: Vec<bool>,
    size: Vec<i64>,
    is_dir: Vec<bool>,
}

impl Stacked<'_> {
    /// `FileTree.Stack`: the layer's nodes in visit order; a whiteout removes what it names
    /// (never the root), anything else is added (missing parents made with empty payloads)
    /// and takes the node's payload.
    fn stack(&mut self, layer: &LayerNodes) {
        for n in &layer.nodes {
            match n.whiteout {
                Some((_, target)) => {
                    if target != 0 && self.present[target as usize] {
                        self.remove(target);
                    }
                }
                None => {
                    let mut p = self.table.parent(n.id);
                    while p != 0 && !self.present[p as usize] {
                        self.set(p, 0, false);
                        p = self.table.parent(p);
                    }
                    self.set(n.id, n.size, n.is_dir);
                }
            }
        }
    }

    fn set(&mut self, id: u32, size: i64, is_dir: bool) {
        let i = id as usize;
        (self.present[i], self.size[i], self.is_dir[i]) = (true, size, is_dir);
    }

    /// Visits `id` and every path below it the tree holds.
    fn each_below(&self, id: u32, mut f: impl FnMut(u32)) {
        let mut todo = vec![id];
        while let Some(at) = todo.pop() {
            f(at);
            todo.extend(self.table.children(at).iter().filter(|c| self.present[**c as usize]));
        }
    }

    fn remove(&mut self, id: u32) {
        let mut doomed = Vec::new();
        self.each_below(id, |n| doomed.push(n));
        for n in doomed {
            self.present[n as usize] = false;
        }
    }

    fn subtree_size(&self, id: u32) -> i64 {
        let mut total = 0;
        self.each_below(id, |n| total += self.size[n as usize]);
        total
    }
}

/// dive's `Efficiency` and `Image.Analyze` over the layers, bottom first.
pub fn analyze(table: &PathTable, layers: &[&LayerNodes]) -> DiveAnalysis {
    let n = table.len();
    let mut stacked = Stacked { table, present: vec![false; n], size: vec![0; n], is_dir: vec![false; n] };
    stacked.present[0] = true;
    // dive starts from a copy of the first layer's tree.
    if let Some(first) = layers.first() {
        for node in &first.nodes {
            stacked.set(node.id, node.size, node.is_dir);
        }
    }
    let mut cumulative = vec![0i64; n];
    let mut min_discovered = vec![-1i64; n];
    let mut count = vec![0u32; n];
    // The paths visited, in first-visit order.
    let mut seen: Vec<u32> = Vec::new();
    let mut touched = vec![false; n];
    let mut wasted_order: Vec<u32> = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        if k >= 1 {
            stacked.stack(layers[k - 1]);
        }
        for node in layer.nodes.iter().filter(|n| n.leaf) {
            let key = node.whiteout.map_or(node.id, |(key, _)| key) as usize;
            if !touched[key] {
                touched[key] = true;
                seen.push(key as u32);
            }
            let size = match node.whiteout {
                None => node.size,
                // dive's visit fails on a whiteout of a path missing below: the rest of this
                // layer is skipped, the path stays counted with its minimum at -1.
                Some((_, target)) if !stacked.present[target as usize] => break,
                Some((_, target)) if stacked.is_dir[target as usize] => stacked.subtree_size(target),
                Some(_) => 0,
            };
            cumulative[key] += size;
            if min_discovered[key] < 0 || size < min_discovered[key] {
                min_discovered[key] = size;
            }
            count[key] += 1;
            if count[key] == 2 {
                wasted_order.push(key as u32);
            }
        }
    }
    let minimum: i64 = seen.iter().map(|&k| min_discovered[k as usize]).sum();
    let discovered: i64 = seen.iter().map(|&k| cumulative[k as usize]).sum();
    let efficiency_score = if discovered == 0 { 1.0 } else { minimum as f64 / discovered as f64 };
    let mut wasted: Vec<WastedFile> = wasted_order
        .into_iter()
        .map(|k| WastedFile {
            path: table.dive_path(k),
            count: count[k as usize] as usize,
            size_bytes: cumulative[k as usize],
        })
        .collect();
    go_sort_wasted(&mut wasted);
    wasted.reverse();
    let layer_sizes: Vec<i64> = layers.iter().map(|l| l.file_size).collect();
    DiveAnalysis::new(layer_sizes, efficiency_score, wasted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::changes::tests::entry;
    use crate::analysis::dive::{self, DiveTree};
    use crate::formats::tar_split::EntryKind::{self, *};

    /// A tiny deterministic generator (no dependency): xorshift64*.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
        }
    }

    /// Random layers over a few names, with whiteouts of existing and missing paths, opaque
    /// markers, `.wh.` alone, files over directories and directories over files.
    fn random_layers(rng: &mut Rng) -> Vec<Vec<crate::formats::tar_split::TarEntry>> {
        const NAMES: [&str; 8] = ["a", "b", "c", ".wh.a", ".wh.b", ".wh..wh..opq", ".wh.", "d"];
        (0..1 + rng.next(5))
            .map(|_| {
                let mut seen = std::collections::HashSet::new();
                let mut layer = Vec::new();
                for _ in 0..rng.next(12) {
                    let depth = 1 + rng.next(3);
                    let path: Vec<&str> = (0..depth).map(|_| NAMES[rng.next(NAMES.len())]).collect();
                    let path = path.join("/");
                    if !seen.insert(path.clone()) {
                        continue;
                    }
                    let (kind, size): (EntryKind, i64) = match rng.next(3) {
                        0 => (Dir, 0),
                        1 => (File, rng.next(100) as i64),
                        _ => (Symlink, 0),
                    };
                    let name = if kind == Dir { format!("{path}/") } else { path };
                    layer.push(entry(&name, kind, size, None));
                }
                layer
            })
            .collect()
    }

    #[test]
    fn same_answers_as_stacking_dive_trees() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut table = PathTable::default();
        let (mut with_waste, mut partial_scores) = (0, 0);
        for round in 0..3000 {
            let layers = random_layers(&mut rng);
            let refs: Vec<&[crate::formats::tar_split::TarEntry]> = layers.iter().map(Vec::as_slice).collect();
            let trees: Vec<DiveTree> = dive::trees(&refs);
            let expected = dive::analyze(&trees);
            let built: Vec<LayerNodes> = layers.iter().map(|l| LayerNodes::build(l, &mut table)).collect();
            let got = analyze(&table, &built.iter().collect::<Vec<_>>());
            assert_eq!(got.wasted, expected.wasted, "round {round}: {layers:?}");
            assert_eq!(got.layer_sizes, expected.layer_sizes, "round {round}");
            assert_eq!(got.inefficient_bytes, expected.inefficient_bytes, "round {round}");
            assert!(
                got.efficiency_score == expected.efficiency_score
                    || (got.efficiency_score.is_nan() && expected.efficiency_score.is_nan()),
                "round {round}: {} vs {}: {layers:?}",
                got.efficiency_score,
                expected.efficiency_score
            );
            with_waste += usize::from(!expected.wasted.is_empty());
            partial_scores += usize::from(expected.efficiency_score > 0.0 && expected.efficiency_score < 1.0);
        }
        // The rounds exercise what matters (not only empty or trivial images).
        assert!(with_waste > 500 && partial_scores > 500, "{with_waste} {partial_scores}");
    }
}
