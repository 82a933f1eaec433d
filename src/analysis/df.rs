//! `docker system df` sizes (moby `daemon/disk_usage.go`, `daemon/images/images.go` with
//! extra attributes): an image's SharedSize is the DiffSize of each of its layers (by chain
//! ID) that more than one *listed* image uses; LayersSize is the DiffSize of every layer some
//! image (intermediate ones included) references. UniqueSize, as the CLI shows it, is
//! Size − SharedSize.

use std::collections::{BTreeMap, BTreeSet};

/// An image's layers as chain IDs (bottom first).
pub struct DfImage<'a, K> {
    pub chains: &'a [K],
    /// Whether `GET /images/json` (without `all`) lists it.
    pub listed: bool,
}

/// SharedSize per image (in input order) and the store's LayersSize.
pub fn disk_usage<K: Ord + Clone>(images: &[DfImage<K>], diff_size: impl Fn(&K) -> i64) -> (Vec<i64>, i64) {
    let mut refs: BTreeMap<&K, usize> = BTreeMap::new();
    for img in images.iter().filter(|i| i.listed) {
        for c in img.chains {
            *refs.entry(c).or_default() += 1;
        }
    }
    let shared = images
        .iter()
        .map(|img| img.chains.iter().filter(|c| refs.get(c).copied().unwrap_or(0) > 1).map(&diff_size).sum())
        .collect();
    let used: BTreeSet<&K> = images.iter().flat_map(|i| i.chains.iter()).collect();
    let layers_size = used.into_iter().map(diff_size).sum();
    (shared, layers_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_counts_listed_images_only() {
        let sizes = |c: &&str| match *c {
            "a" => 10,
            "b" => 5,
            _ => 1,
        };
        let imgs = [
            DfImage { chains: &["a"][..], listed: true },
            DfImage { chains: &["a", "b"][..], listed: true },
            DfImage { chains: &["a", "b", "c"][..], listed: false },
        ];
        let (shared, total) = disk_usage(&imgs, sizes);
        assert_eq!(shared, [10, 10, 10]);
        assert_eq!(total, 16);
    }
}
