#![cfg(not(target_arch = "wasm32"))]
//! `docker save` archives into the Docker view, as `docker load` does: the tags of the basic
//! fixture's save resolve to the same image IDs, with the same Size and RootFS, as dockerd
//! answered about the store they were saved from; the generated tar-splits list the layers'
//! files.

mod support;

use futures::executor::block_on;
use imagestore::digest::Digest;
use imagestore::docker::engine::Filters;
use imagestore::docker::model::DockerImport;
use imagestore::formats::tar_split::parse_tar_split;
use imagestore::import::{Finished, ImportOptions, Imported, Importer};
use imagestore::storage::blobs;
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Op, Space};
use imagestore::store::Store;
use imagestore::ErrorCode;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use support::import::*;

fn loaded(f: &Finished) -> &DockerImport {
    match &f.imported {
        Imported::DockerLoad(d) => d,
        other => panic!("not a docker load: {}", other.format()),
    }
}

fn load_into_store(tar: &[u8], chunk: usize) -> (Finished, Store<MemoryBackend>) {
    let (f, backend) = import_chunked(tar, chunk);
    let f = f.unwrap();
    let import = match f.imported {
        Imported::DockerLoad(ref d) => DockerImport {
            images: d.images.clone(),
            layers: d.layers.clone(),
            tar_splits: d.tar_splits.clone(),
            repositories: d.repositories.clone(),
            ..Default::default()
        },
        _ => panic!("not a docker load"),
    };
    let store = block_on(async {
        let mut store = Store::open(backend).await.unwrap();
        let outcome = store.apply_docker_import(import).await.unwrap();
        assert!(outcome.skipped.is_empty(), "{:?}", outcome.skipped);
        store
    });
    (f, store)
}

#[test]
fn basic_save_loads_with_dockerds_ids_sizes_and_rootfs() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let (f, store) = load_into_store(&tar, 10_000);
    assert_eq!(f.report.format, "docker-save");
    let d = loaded(&f);
    assert!(d.layers.iter().all(|l| l.tar_split.is_some() && l.cache_id.len() == 64));

    let want: Vec<Value> = serde_json::from_slice(&fixture("docker20/basic/expected/api/images.json")).unwrap();
    let got = store.list_images(false, false, &Filters::default()).unwrap();
    let by_tag = |list: &[Value]| -> BTreeMap<String, (String, i64)> {
        let mut m = BTreeMap::new();
        for img in list {
            for tag in img["RepoTags"].as_array().into_iter().flatten() {
                m.insert(
                    tag.as_str().unwrap().to_string(),
                    (img["Id"].as_str().unwrap().to_string(), img["Size"].as_i64().unwrap()),
                );
            }
        }
        m
    };
    let mut want_tags = by_tag(&want);
    // The fixture script saved every tag but the registry one and the layerless image
    // (and a dangling image has none).
    want_tags.retain(|t, _| !t.starts_with("127.0.0.1") && !t.starts_with("local/empty") && t != "<none>:<none>");
    assert_eq!(by_tag(got.as_array().unwrap()), want_tags);

    for (tag, (id, _)) in &want_tags {
        let ours = store.inspect_image(tag).unwrap();
        let theirs: Value = serde_json::from_slice(&fixture(&format!(
            "docker20/basic/expected/api/inspect/{}.json",
            id.trim_start_matches("sha256:")
        )))
        .unwrap();
        assert_eq!(ours["RootFS"], theirs["RootFS"], "{tag}");
        assert_eq!(ours["Size"], theirs["Size"], "{tag}");
    }

    // The generated tar-splits describe each layer tar exactly (length and listing).
    let backend = store.backend();
    for layer in &d.layers {
        let gz = block_on(blobs::read_all(backend, layer.tar_split.as_ref().unwrap())).unwrap();
        let ts = parse_tar_split(&gz[..]).unwrap();
        assert_eq!(ts.regular_file_bytes(), layer.size, "{}", layer.chain_id);
        assert!(ts.tar_size > 0 && ts.tar_size % 512 == 0);
    }
}

/// The report names every `manifest.json` item in archive order with its familiar tags (what
/// dockerd's "Loaded image: …" lines print), and each ID is the one dockerd gave that tag.
#[test]
fn the_report_lists_the_loaded_images_in_manifest_order() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let (f, _store) = load_into_store(&tar, 10_000);
    let manifest = tar_items(&tar).into_iter().find(|i| i.path == "manifest.json").unwrap();
    let items: Vec<Value> = serde_json::from_slice(&manifest.data).unwrap();
    let want_tags: Vec<Vec<String>> = items
        .iter()
        .map(|i| i["RepoTags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect())
        .collect();
    let got_tags: Vec<Vec<String>> = f.report.loaded.iter().map(|l| l.tags.clone()).collect();
    assert_eq!(got_tags, want_tags);
    let api: Vec<Value> = serde_json::from_slice(&fixture("docker20/basic/expected/api/images.json")).unwrap();
    for l in &f.report.loaded {
        let dockerd = api.iter().find(|i| i["RepoTags"].as_array().unwrap().iter().any(|t| t == &l.tags[0])).unwrap();
        assert_eq!(dockerd["Id"], l.id.to_string(), "{:?}", l.tags);
    }
    let json = serde_json::to_value(&f.report).unwrap();
    assert_eq!(json["loaded"][0]["id"], f.report.loaded[0].id.to_string());
}

#[test]
fn wild_saves_load() {
    for (rel, images) in [
        ("wild/dive/.data/test-docker-image.tar", 1),
        ("wild/dive/.data/test-kaniko-image.tar", 1),
        ("wild/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar", 1),
        ("wild/go-containerregistry/pkg/v1/tarball/testdata/test_link.tar", 2),
        ("wild/containers-image/docker/archive/fixtures/almostempty.tar", 1),
        ("wild/osv-scalibr/artifact/image/unpack/testdata/symlinks.tar", 1),
    ] {
        let (f, store) = load_into_store(&fixture(rel), 7000);
        assert_eq!(f.report.format, "docker-save", "{rel}");
        assert_eq!(loaded(&f).images.len(), images, "{rel}");
        let all = store.list_images(true, false, &Filters::default()).unwrap();
        assert_eq!(all.as_array().unwrap().len(), images, "{rel}");
    }
}

#[test]
fn a_layer_count_that_differs_from_the_configs_diff_ids_is_refused() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let manifest = entry(&tar, "manifest.json");
    let mut items: Vec<Value> = serde_json::from_slice(&manifest).unwrap();
    items[0]["Layers"].as_array_mut().unwrap().pop();
    let bad = replace(&tar, "manifest.json", &serde_json::to_vec(&items).unwrap());
    let (r, backend) = import_chunked(&bad, 4096);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("invalid manifest, layers length mismatch"), "{e}");
    assert!(backend.is_empty(), "nothing staged is left");
}

#[test]
fn a_layer_whose_diff_id_differs_is_refused() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let manifest: Vec<Value> = serde_json::from_slice(&entry(&tar, "manifest.json")).unwrap();
    let layer = manifest[0]["Layers"][0].as_str().unwrap().to_string();
    let mut data = entry(&tar, &layer);
    let last = data.len() - 2000;
    data[last] ^= 1;
    let (r, backend) = import_chunked(&replace(&tar, &layer, &data), 4096);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("invalid diffID for layer 0"), "{e}");
    assert!(backend.is_empty());
}

/// The memory backend, recording every blob chunk read (the digest of the bytes returned).
#[derive(Clone, Default)]
struct ReadCounting {
    inner: MemoryBackend,
    chunk_reads: Rc<RefCell<Vec<Digest>>>,
}

impl Backend for ReadCounting {
    async fn get(&self, space: Space, key: &str) -> imagestore::Result<Option<Vec<u8>>> {
        let value = self.inner.get(space, key).await?;
        if let (Space::Chunks, Some(v)) = (space, &value) {
            self.chunk_reads.borrow_mut().push(Digest::sha256_of(v));
        }
        Ok(value)
    }
    async fn scan(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(space, prefix).await
    }
    async fn keys(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<String>> {
        self.inner.keys(space, prefix).await
    }
    async fn commit(&self, ops: Vec<Op>) -> imagestore::Result<()> {
        self.inner.commit(ops).await
    }
}

/// What the importer gave before layers were scanned while streaming (each layer read back
/// from storage after the archive ended): per fixture, the chain ID, DiffID, size and
/// tar-split digest of every layer, in order. Plain layers (basic), gzip layers (kaniko) and
/// an OCI-layout save (Docker 25).
const LAYERS_BEFORE: &[(&str, &[LayerRow<&str>])] = &[
    (
        "docker20/basic/docker-save.tar",
        &[
            (
                "sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b",
                "sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b",
                1982286,
                "sha256:0aa8a06e1eb97d30c8be83e725038f81b9d572b4a4ddd9ff10cd562261d35138",
            ),
            (
                "sha256:348e007e73ddec888ab6fb6dc7fe2c16746876c117627d285bf8b460e17b1167",
                "sha256:46e04e31277fcae76c1e037348c902b6cf60d4747f3733da5d76e70b462124f5",
                7,
                "sha256:aa7dbc3b4ab54c2df362f99b928393224dc0e9ad26fd945a92d2ffd2c15f716c",
            ),
            (
                "sha256:bdc6663930a729c0a74b1dacb1f4eece9bafb0cb97afbf79eae72eb8f60a98b5",
                "sha256:59c697d85ba1fc3455dc5b1aff8df11d3e409b3d71e6c3d268928daf93e9919d",
                6,
                "sha256:7c1d94b72085eaf2ac6a61aa98da814970f937572304a801b3db953f6f22066e",
            ),
            (
                "sha256:e055e1345a48e4810c794c0ded660155d123be85b795fb338f6169987b8c4299",
                "sha256:f5ce5d302491dd32b1ae52257d54d57f46274ef0dcd64815af1ed32560206418",
                8893,
                "sha256:2e87c5b72417dec12418a234078c728322bd32ff5a4e7f0468c44d5b01e80195",
            ),
            (
                "sha256:901b9612aeb325a12289adabb41449ebb5e16b44c0a269e6503a0087dc43733f",
                "sha256:6e6b06800ff8d30543f094dc6f61f119473dd8ccab983f5a6cf9752dcd2ee3cb",
                6,
                "sha256:6614f6af3b63fd7a1a115841a0e63dec541b4db5e6d7b1f16528e0e0a38d04a4",
            ),
            (
                "sha256:0eee67189f823898767173d37dc38711cb6cdd00aee7f50b912a8be5c16c3d13",
                "sha256:d6356ed656bcf75423ef1a46858c3138a2d6f6a5909a48f8ff562a4c87a9d8f5",
                0,
                "sha256:512c7949576c39ed4947ae1d6ac4e2f842953d24307eec808603c58c6fe6957b",
            ),
            (
                "sha256:381263c06dea7c9e486116adaa6b776094680458d377af10bacf2c1a05df7c63",
                "sha256:f0c1255ec3a59c5a6d9aba9fcd3d1a70bdb4a3451edd615af2d0b6597a31b93f",
                8906,
                "sha256:3a6727479cec66734d8ee57172a52e1c04aa3709b4f752cca16a3b4a3b04a163",
            ),
            (
                "sha256:ce23dffd8ae43d5fd729e53fbab315dc66b019fb02300422cdeeaaafd4c39f0a",
                "sha256:06a3314663bec4361b42459d8c28b7a896fd26a9ce2f0ddea967c3e09142f7d3",
                1048576,
                "sha256:42eba7643554ec40a8891f32dd9d5ac695c53164b6d76a76d13a64e19ef00ecd",
            ),
            (
                "sha256:8d851c0513d4c5b71eb620c4136f6ae99da5c520484abd95bbe96c29a245c13e",
                "sha256:51a143c55eb34b390b330f980d95e1051795b4fed6ccc30ee4e1ceab8fd5ea30",
                8,
                "sha256:a636880bd8f06a90e7c2269b258fb668cc9648a6c5c78e3e8b09b1f840c7136e",
            ),
        ],
    ),
    (
        "wild/dive/.data/test-kaniko-image.tar",
        &[
            (
                "sha256:84009204da3f70b09d2be3914e12844ae9db893aa85ef95df83604f95df05187",
                "sha256:84009204da3f70b09d2be3914e12844ae9db893aa85ef95df83604f95df05187",
                1231733,
                "sha256:d0fb97d421b2447d07283bb6fe01dd208fc3866a6b859e45d1ebe90a1a3d9b2e",
            ),
            (
                "sha256:1da29b0ea8f2e4a873809da32cba905b101d4cce4c5b06b00de645fd3bb3ac6a",
                "sha256:8c860cca7e7b7a997f36a59dd47117749cc4b5812091347869a7e3f8c46dd0fe",
                9249,
                "sha256:b116493ebb15c1eb41243f55ebeab55f20e23e52cdeb79454204f268c3fb5e53",
            ),
            (
                "sha256:a1a20b5020cc574cf20c1e12bb1a85396bd30473b7e5f5f5d84c936e8df3e0bb",
                "sha256:4d87ab95fe2de2a6510a3e8feea5771cc559194deec0e7acc4a3e2160c6a4ec3",
                0,
                "sha256:ee35668a4be90445e89e2b2346979eaf4a685494ce29bd863913d6a31c6db2ea",
            ),
            (
                "sha256:24c94d5905b9da156f2107a88aa9cd55160d3a5ca99851140d1a9440e4ecd74d",
                "sha256:b10e9d5fee654ee064095ce2dc3b865b70b48ff1824d129f6415282af0a58f0d",
                9249,
                "sha256:8fffb7f56a9de0c724f031733048483fa2fb354c45d30515880c4b68be8dfbc2",
            ),
            (
                "sha256:eca165f47d84a7fb5ffb5bdd5b123253d1e56ff6b1d1da2483cf4f31d0f92b46",
                "sha256:aa935ad8bc5f3d2a5cbb1c977d050cbd027789fa8edde787ba977081a08e3f80",
                9249,
                "sha256:867f8f7bffcb493f4084f25e678e38109d41530771ffaa7398622f9cf1c9cdc6",
            ),
            (
                "sha256:afd59f5d4e3604207fc071c2ca644d9cebde99b204cf9adb64d6dd925646f110",
                "sha256:121b26eec2dd829b93c992a1eb391cd069e1796484059d537d4d8a3b8f6f7209",
                9249,
                "sha256:631f4545938717f6d65233399468e3ad4c321823cc2a6103720f98bb26fde689",
            ),
            (
                "sha256:6d2b875e0fd8eb8a7decab11d36cec27705098d97faa837bc327723ddb3b7218",
                "sha256:0041509ce3c3fc948da4b46895637383a3b8d1a6e577206a85b2bca3f475cf0b",
                9249,
                "sha256:6745d4042d575e199201db1cd69a9f736b03e1a70a183e7e2851ee106b7668b8",
            ),
            (
                "sha256:07b545bf873210dfa6fa43ea9cbe6769abc06e68a86fc4ce7a2f9a5858d9973b",
                "sha256:ea7a055608164e230576e8fc0b30cb90bb7278862116a4dc6c9a39a736a20c20",
                9249,
                "sha256:0f7b9edaf0a620423a0f391e7ffa6baae6979c020d2ce337e7e58f11d4abfcb6",
            ),
            (
                "sha256:afd47c6cfc871e289a9094fc2c093962c80b64ef7ba9e783fbdea2dadf2503e4",
                "sha256:6a95e97c7834d5acbe541ebf3f118a683d3f5acda7cf77d5c5e43b1b24fac305",
                9249,
                "sha256:ac17f4b9ec4cd0da979f037de904b044df23297893b625ba55db2da4720ca8e0",
            ),
            (
                "sha256:af6dc52bc43cb888f9e5983f0d0988344f9fc2a058dafff7ad06b55a2aeb9068",
                "sha256:73823b8dbbb1431181d7704fc9784eb8a3d3d5c622517fa9a99806edc7dde3c3",
                0,
                "sha256:d60f60fea263f82febd8a3e0f3e425a7e45864bf9f8e563074808b714b5623f3",
            ),
            (
                "sha256:779364cbf5594dd6312dcc56a9d680897148360c21995159cb98765ac536f11f",
                "sha256:41d630f9d22fdcac282f8f5c332139c7c505a7d5ab876aa98603e0736690b0e7",
                2187,
                "sha256:09bb26e4a0ef67da2493913137514aa5cc82d6126895ad6019956f43c842e438",
            ),
            (
                "sha256:e0be77e84fcc0a6cb5e993fa733bf1703a13c9934a230e55737845879f144f8d",
                "sha256:1df8bc89c34188c7a643f3292d777b25901df5d0eadcc2dc3bb2117bbcdeaf5b",
                9249,
                "sha256:6b365da2b58930279dc679ed84fc97ba331ef249668405a721b3f80b6dfd85bb",
            ),
            (
                "sha256:97d02282bf38ba7c1d48909e0d34c75d82174ba301df89b5ee6e82101aff35cd",
                "sha256:39b3d1cf4c7aa963e59764319992535cda79fff6d2f819a5e3704ed8ac01bd4e",
                9249,
                "sha256:937e648328f67e9f111a5a40250ff55c28e9e1f8d9c78e97eac93f2bafc99fed",
            ),
            (
                "sha256:d6439033223acdf54869a09c732a7d80f43dab37a013925bb02805d6c4d5ba9d",
                "sha256:5fb574ef88e83d471fd70a255cb8a3426a5c8eec56c2f8f2e806fe08eb7a59c9",
                9249,
                "sha256:dcf40252d1962bfa2ad92ba73a9ce3e6046ae73e642dd17df1cf7f506befc8c5",
            ),
        ],
    ),
    (
        "wild/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar",
        &[(
            "sha256:12660636fe55438cc3ae7424da7ac56e845cdb52493ff9cf949c47a7f57f8b43",
            "sha256:12660636fe55438cc3ae7424da7ac56e845cdb52493ff9cf949c47a7f57f8b43",
            9136,
            "sha256:e7cc7339a814418d53662c265c0b10cac37a3747b19ce7d1ca8c53442da8e8a6",
        )],
    ),
];

#[test]
fn basic_save_loads_without_reading_a_layer_back_with_the_same_layers_as_before() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let backend = ReadCounting::default();
    let f = block_on(async {
        let mut importer = Importer::new(ImportOptions::default());
        for piece in tar.chunks(64 << 10) {
            importer.push(&backend, piece).await.unwrap();
        }
        importer.finish(&backend).await.unwrap()
    });
    let d = loaded(&f);

    // The only blob chunks read are the image configs (each one chunk, read whole).
    let items: Vec<Value> = serde_json::from_slice(&entry(&tar, "manifest.json")).unwrap();
    let configs: BTreeSet<Digest> =
        items.iter().map(|i| Digest::sha256_of(&entry(&tar, i["Config"].as_str().unwrap()))).collect();
    let reads = backend.chunk_reads.borrow();
    assert_eq!(reads.len(), items.len(), "one read per manifest.json item");
    assert!(reads.iter().all(|r| configs.contains(r)), "a chunk other than a config was read back");

    assert_eq!(layer_facts(d), layers_before("docker20/basic/docker-save.tar"));
    // Every generated tar-split is staged under its digest, once.
    let splits: BTreeSet<&Digest> = d.tar_splits.iter().map(|b| &b.digest).collect();
    assert_eq!(splits.len(), d.tar_splits.len());
    assert!(d.layers.iter().all(|l| splits.contains(l.tar_split.as_ref().unwrap())));
}

/// (chain ID, DiffID, size, tar-split digest) of a layer.
type LayerRow<S> = (S, S, i64, S);

fn layer_facts(d: &DockerImport) -> Vec<LayerRow<String>> {
    let split = |l: &imagestore::docker::model::LayerRecord| l.tar_split.as_ref().unwrap().to_string();
    d.layers.iter().map(|l| (l.chain_id.to_string(), l.diff_id.to_string(), l.size, split(l))).collect()
}

fn layers_before(rel: &str) -> Vec<LayerRow<String>> {
    let (_, layers) = LAYERS_BEFORE.iter().find(|(f, _)| *f == rel).unwrap();
    layers.iter().map(|(c, d, s, t)| (c.to_string(), d.to_string(), *s, t.to_string())).collect()
}

#[test]
fn gzip_and_oci_layout_saves_give_the_same_layers_and_tar_splits_as_before() {
    for (rel, _) in LAYERS_BEFORE {
        for chunk in [1000, 64 << 10] {
            let (f, _) = import_chunked(&fixture(rel), chunk);
            assert_eq!(layer_facts(loaded(&f.unwrap())), layers_before(rel), "{rel} in {chunk}-byte pieces");
        }
    }
}

#[test]
fn the_speculative_tar_splits_of_files_not_loaded_as_layers_are_discarded() {
    // A layer that no manifest.json item names, beside the real ones: its scan is dropped.
    let tar = fixture("docker20/basic/docker-save.tar");
    let mut items = tar_items(&tar);
    let some_layer = items.iter().find(|i| i.path.ends_with("/layer.tar")).unwrap().data.clone();
    items.insert(0, file_item("unused/layer.tar", &some_layer[..some_layer.len() - 1024]));
    let (f, backend) = import_chunked(&build_tar(&items), 10_000);
    let f = f.unwrap();
    let d = loaded(&f);
    let staged = d.images.iter().map(|i| &i.blob).chain(&d.tar_splits).chain(d.layer_blobs.iter().map(|(_, b)| b));
    let kept: u64 = staged.map(|b| b.size.div_ceil(blobs::CHUNK_SIZE as u64)).sum();
    assert_eq!(chunk_count(&backend) as u64, kept, "only the load's configs, tar-splits and layer files stay staged");
    assert!(d.layer_blobs.iter().all(|(r, b)| r.blob == b.digest && r.diff_id == b.digest), "plain layers by DiffID");
    assert!(
        !d.layer_blobs.iter().any(|(_, b)| b.size == some_layer.len() as u64 - 1024),
        "the unused file is not kept"
    );
    assert_eq!(d.tar_splits.len(), d.layers.len());
}

fn entry(tar: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    for e in tar::Archive::new(tar).entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            return v;
        }
    }
    panic!("{name} not in the tar")
}

fn replace(tar: &[u8], name: &str, with: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = tar::Builder::new(Vec::new());
    for e in tar::Archive::new(tar).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let mut h = e.header().clone();
        let data = if path == name { with.to_vec() } else { data };
        h.set_size(data.len() as u64);
        out.append_data(&mut h, &path, &data[..]).unwrap();
    }
    out.into_inner().unwrap()
}
