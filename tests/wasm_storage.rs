//! The IndexedDB backend and the wasm `Store` binding, run by wasm-bindgen-test in Node (with
//! fake-indexeddb preloaded) and in Chromium (real IndexedDB): the same binary
//! (scripts/test.sh shows how each tier runs it).
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::digest::Digest;
use imagestore::storage::blobs::{self, BlobWriter, CHUNK_SIZE};
use imagestore::storage::{generation, Backend, Op, Space};
use imagestore::wasm::indexeddb::{self, IdbBackend, IdbOptions, SCHEMA_VERSION};
use imagestore::wasm::{to_js_error, AnyBackend, BackendKind, Store};
use imagestore::{Error, ErrorCode};
use indexed_db_futures::database::Database;
use std::future::IntoFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

/// A database name no other test (or earlier run in the same browser profile) uses.
fn db_name(test: &str) -> String {
    support::unique_name(&format!("imagestore-test-{test}"))
}

/// The keys a test wrote: without the generation record every metadata commit stamps.
fn user_keys(keys: Vec<String>) -> Vec<String> {
    keys.into_iter().filter(|k| k != generation::KEY).collect()
}

fn put(space: Space, key: &str, value: &str) -> Op {
    Op::put(space, key, value.as_bytes().to_vec())
}

async fn open_idb(name: &str) -> IdbBackend {
    IdbBackend::open(name).await.unwrap_or_else(|e| panic!("open {name}: {e}"))
}

/// Both backends behind [`AnyBackend`], so the same scenario checks the delegation and that
/// IndexedDB answers exactly like the reference memory backend.
async fn each_backend(test: &str) -> Vec<(String, AnyBackend)> {
    let mut out = Vec::new();
    for kind in [BackendKind::Memory, BackendKind::IndexedDb] {
        let name = db_name(test);
        out.push((name.clone(), AnyBackend::open(kind, &name).await.unwrap()));
    }
    out
}

/// Awaits `fut`, failing the test instead of hanging if it takes longer than `millis`.
async fn within<F: std::future::Future>(millis: u32, what: &str, fut: F) -> F::Output {
    let set_timeout: js_sys::Function =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout")).unwrap().unchecked_into();
    let timer = JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        set_timeout.call2(&JsValue::NULL, &resolve, &JsValue::from(millis)).unwrap();
    }));
    match futures::future::select(std::pin::pin!(fut), timer).await {
        futures::future::Either::Left((out, _)) => out,
        futures::future::Either::Right(_) => panic!("{what}: still pending after {millis} ms"),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn js_code(err: &JsValue) -> Option<String> {
    js_sys::Reflect::get(err, &JsValue::from_str("code")).ok()?.as_string()
}

fn js_message(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default()
}

// ---------------------------------------------------------------- IndexedDB backend

#[wasm_bindgen_test]
async fn write_close_reopen_read_back() {
    let name = db_name("reopen");
    let b = open_idb(&name).await;
    b.commit(vec![
        put(Space::Meta, "image/a", "{\"id\":1}"),
        Op::put(Space::Chunks, "set/0000000000", vec![0u8, 1, 255]),
    ])
    .await
    .unwrap();
    b.close();
    let e = b.get(Space::Meta, "image/a").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::FailedPrecondition, "{e}");

    let b = open_idb(&name).await;
    assert_eq!(b.get(Space::Meta, "image/a").await.unwrap(), Some(b"{\"id\":1}".to_vec()));
    assert_eq!(b.get(Space::Chunks, "set/0000000000").await.unwrap(), Some(vec![0u8, 1, 255]));
    assert_eq!(b.get(Space::Meta, "image/b").await.unwrap(), None);
    // Spaces are separate object stores.
    assert_eq!(b.get(Space::Chunks, "image/a").await.unwrap(), None);
    // Empty values are values, not absence.
    b.commit(vec![Op::put_meta("empty", Vec::new())]).await.unwrap();
    assert_eq!(b.get(Space::Meta, "empty").await.unwrap(), Some(Vec::new()));
    b.close();
    IdbBackend::destroy(&name).await.unwrap();
}

async fn failed_commit_leaves_nothing<B: Backend>(b: &B, label: &str) {
    b.commit(vec![put(Space::Meta, "a", "1")]).await.unwrap();
    let err = b
        .commit(vec![
            put(Space::Meta, "b", "2"),
            put(Space::Chunks, "c/0", "3"),
            Op::delete_meta("a"),
            Op::DeletePrefix { space: Space::Chunks, prefix: String::new() },
            put(Space::Meta, "a", "overwritten"),
            Op::RequireAbsent { space: Space::Meta, key: "a".into() },
            put(Space::Meta, "d", "4"),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AlreadyExists, "{label}: {err}");
    assert!(err.message.contains("\"a\""), "{label}: {err}");
    assert_eq!(b.keys(Space::Meta, "").await.map(user_keys).unwrap(), strings(&["a"]), "{label}");
    assert_eq!(b.get(Space::Meta, "a").await.unwrap(), Some(b"1".to_vec()), "{label}");
    assert!(b.keys(Space::Chunks, "").await.unwrap().is_empty(), "{label}");

    // The guard sees the commit's own earlier operations, in order.
    b.commit(vec![
        Op::delete_meta("a"),
        Op::RequireAbsent { space: Space::Meta, key: "a".into() },
        put(Space::Meta, "a", "2"),
    ])
    .await
    .unwrap();
    assert_eq!(b.get(Space::Meta, "a").await.unwrap(), Some(b"2".to_vec()), "{label}");
    let err = b
        .commit(vec![put(Space::Meta, "new", "x"), Op::RequireAbsent { space: Space::Meta, key: "new".into() }])
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AlreadyExists, "{label}");
    assert_eq!(b.get(Space::Meta, "new").await.unwrap(), None, "{label}");
    // A guard on the other space does not see this space's key.
    b.commit(vec![Op::RequireAbsent { space: Space::Chunks, key: "a".into() }, put(Space::Chunks, "a", "c")])
        .await
        .unwrap();
}

#[wasm_bindgen_test]
async fn failed_commit_leaves_nothing_behind() {
    for (name, b) in each_backend("atomic").await {
        failed_commit_leaves_nothing(&b, b.kind().as_str()).await;
        b.close();
        if b.kind() == BackendKind::IndexedDb {
            // Also after reopening: nothing of the failed commits reached the disk.
            let again = open_idb(&name).await;
            assert_eq!(again.keys(Space::Meta, "").await.map(user_keys).unwrap(), strings(&["a"]));
            assert_eq!(again.keys(Space::Chunks, "").await.unwrap(), strings(&["a"]));
            again.close();
            IdbBackend::destroy(&name).await.unwrap();
        }
    }
}

#[wasm_bindgen_test]
async fn blob_larger_than_a_chunk_round_trips_and_reads_ranges() {
    let name = db_name("blob");
    let data: Vec<u8> = (0..(CHUNK_SIZE * 2 + 12_345)).map(|i| (i * 31 % 251) as u8).collect();
    let want = Digest::sha256_of(&data);
    {
        let b = open_idb(&name).await;
        let mut w = BlobWriter::new();
        for piece in data.chunks(300_007) {
            w.write(&b, piece).await.unwrap();
        }
        let staged = w.finish(&b, Some(&want), Some(data.len() as u64)).await.unwrap();
        assert_eq!(b.keys(Space::Chunks, "").await.unwrap().len(), 3);
        assert!(blobs::stat(&b, &want).await.unwrap().is_none(), "visible before its record is committed");
        b.commit(staged.ops).await.unwrap();
        b.close();
    }
    let b = open_idb(&name).await;
    let rec = blobs::stat(&b, &want).await.unwrap().expect("blob record after reopen");
    assert_eq!(rec.size, data.len() as u64);
    assert!(blobs::read_all(&b, &want).await.unwrap() == data, "read_all differs");
    let cs = CHUNK_SIZE as u64;
    for (off, len) in [(cs - 10, 20), (cs - 1, cs + 2), (0, 1), (2 * cs, 12_345), (data.len() as u64 - 5, 100)] {
        let got = blobs::read_range(&b, &want, off, len).await.unwrap();
        let end = (off + len).min(data.len() as u64) as usize;
        assert!(got == data[off as usize..end], "range {off}+{len}");
    }
    assert!(blobs::read_range(&b, &want, data.len() as u64, 10).await.unwrap().is_empty());

    // Deleting the blob removes its record and every chunk in one commit.
    b.commit(blobs::delete_ops(&want, &rec)).await.unwrap();
    assert!(blobs::stat(&b, &want).await.unwrap().is_none());
    assert!(b.keys(Space::Chunks, "").await.unwrap().is_empty());
    b.close();
    IdbBackend::destroy(&name).await.unwrap();
}

/// Replaces `IDBTransaction.prototype.commit` with an abort until dropped: a transaction that
/// fails after its requests went out, as a quota or I/O failure does.
struct AbortingCommits(JsValue);

impl AbortingCommits {
    fn new() -> Self {
        let proto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("IDBTransaction"))
            .and_then(|c| js_sys::Reflect::get(&c, &JsValue::from_str("prototype")))
            .unwrap();
        let saved = js_sys::Reflect::get(&proto, &JsValue::from_str("commit")).unwrap();
        js_sys::Reflect::set(&proto, &JsValue::from_str("commit"), &js_sys::Function::new_no_args("this.abort()"))
            .unwrap();
        AbortingCommits(saved)
    }
}

impl Drop for AbortingCommits {
    fn drop(&mut self) {
        let proto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("IDBTransaction"))
            .and_then(|c| js_sys::Reflect::get(&c, &JsValue::from_str("prototype")))
            .unwrap();
        js_sys::Reflect::set(&proto, &JsValue::from_str("commit"), &self.0).unwrap();
    }
}

// A chunk after a set's first is written without waiting for its transaction (it overlaps the
// hashing of the next one); its failure must still fail the blob, and leave nothing behind.
#[wasm_bindgen_test]
async fn a_chunk_write_that_fails_in_flight_fails_the_blob_and_leaves_nothing() {
    let name = db_name("chunk-fails");
    let data: Vec<u8> = (0..(CHUNK_SIZE * 3 + 7)).map(|i| (i * 7 % 253) as u8).collect();
    let b = open_idb(&name).await;
    let mut w = BlobWriter::new();
    // The first chunk commits as usual (with the session marker).
    w.write(&b, &data[..CHUNK_SIZE + 1]).await.unwrap();
    {
        let _aborting = AbortingCommits::new();
        // The second chunk's transaction aborts after `write` returned.
        w.write(&b, &data[CHUNK_SIZE + 1..2 * CHUNK_SIZE + 1]).await.expect("the write itself does not wait");
    }
    w.write(&b, &data[2 * CHUNK_SIZE + 1..]).await.unwrap();
    let err = w.finish(&b, None, None).await.expect_err("a lost chunk fails the blob");
    assert!(err.message.contains(name.as_str()) && err.message.contains("commit"), "{err}");
    assert!(b.keys(Space::Chunks, "").await.unwrap().is_empty(), "the failed set's chunks are gone");
    assert!(blobs::stored_digests(&b).await.unwrap().is_empty());

    // The backend goes on working: the same bytes stage and publish.
    let mut w = BlobWriter::new();
    w.write(&b, &data).await.unwrap();
    let staged = w.finish(&b, None, None).await.unwrap();
    b.commit(staged.ops).await.unwrap();
    assert!(blobs::read_all(&b, &Digest::sha256_of(&data)).await.unwrap() == data);
    b.close();
    IdbBackend::destroy(&name).await.unwrap();
}

async fn prefix_semantics<B: Backend>(b: &B, label: &str) {
    let keys = ["x/1", "x/1/a", "x/1/b", "x/10", "x/10/a", "x/2", "x0", "y", "x/1/\u{e9}", "x/1/\u{1F600}"];
    b.commit(keys.iter().map(|k| put(Space::Meta, k, &format!("v:{k}"))).collect()).await.unwrap();
    b.commit(vec![put(Space::Chunks, "x/1/in-chunks", "c")]).await.unwrap();

    let scanned = b.scan(Space::Meta, "x/1/").await.unwrap();
    let scanned_keys: Vec<&str> = scanned.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        scanned_keys,
        ["x/1/a", "x/1/b", "x/1/\u{e9}", "x/1/\u{1F600}"],
        "{label}: \"x/10\" must not match \"x/1/\""
    );
    for (k, v) in &scanned {
        assert_eq!(v, format!("v:{k}").as_bytes(), "{label}: value of {k}");
    }
    assert_eq!(
        b.keys(Space::Meta, "x/1").await.unwrap(),
        strings(&["x/1", "x/1/a", "x/1/b", "x/1/\u{e9}", "x/1/\u{1F600}", "x/10", "x/10/a"]),
        "{label}"
    );
    assert_eq!(b.keys(Space::Meta, "x/").await.unwrap().len(), 8, "{label}");
    assert_eq!(b.keys(Space::Meta, "").await.map(user_keys).unwrap().len(), keys.len(), "{label}");
    assert!(b.keys(Space::Meta, "z").await.unwrap().is_empty(), "{label}");
    assert!(b.scan(Space::Meta, "x/1/a/").await.unwrap().is_empty(), "{label}");
    assert_eq!(b.keys(Space::Chunks, "x/").await.unwrap(), strings(&["x/1/in-chunks"]), "{label}");
}

#[wasm_bindgen_test]
async fn scan_and_keys_select_exactly_the_prefix() {
    let mut answers = Vec::new();
    for (name, b) in each_backend("prefix").await {
        prefix_semantics(&b, b.kind().as_str()).await;
        answers.push((
            b.scan(Space::Meta, "")
                .await
                .unwrap()
                .into_iter()
                .filter(|(k, _)| k != generation::KEY)
                .collect::<Vec<_>>(),
            b.keys(Space::Meta, "x").await.unwrap(),
        ));
        b.close();
        if b.kind() == BackendKind::IndexedDb {
            IdbBackend::destroy(&name).await.unwrap();
        }
    }
    // Both backends list the same keys in the same order (ASCII and BMP keys: UTF-8 byte
    // order and UTF-16 code unit order agree there; the emoji sorts last in both).
    assert_eq!(answers[0], answers[1]);
}

async fn delete_prefix<B: Backend>(b: &B, label: &str) {
    let keys = ["x/1", "x/1/a", "x/1/b", "x/10", "x/10/a", "y"];
    b.commit(keys.iter().map(|k| put(Space::Meta, k, "v")).collect()).await.unwrap();
    b.commit(vec![put(Space::Chunks, "x/1/a", "c"), put(Space::Chunks, "s/0", "c"), put(Space::Chunks, "t/0", "c")])
        .await
        .unwrap();

    b.commit(vec![Op::DeletePrefix { space: Space::Meta, prefix: "x/1/".into() }]).await.unwrap();
    assert_eq!(
        b.keys(Space::Meta, "").await.map(user_keys).unwrap(),
        strings(&["x/1", "x/10", "x/10/a", "y"]),
        "{label}"
    );
    assert_eq!(b.keys(Space::Chunks, "x/").await.unwrap(), strings(&["x/1/a"]), "{label}: other space untouched");

    b.commit(vec![Op::delete_meta("x/1"), Op::delete_meta("not-there")]).await.unwrap();
    assert_eq!(b.keys(Space::Meta, "").await.map(user_keys).unwrap(), strings(&["x/10", "x/10/a", "y"]), "{label}");

    b.commit(vec![Op::DeletePrefix { space: Space::Chunks, prefix: String::new() }]).await.unwrap();
    assert!(b.keys(Space::Chunks, "").await.unwrap().is_empty(), "{label}: empty prefix = everything");
    assert_eq!(b.keys(Space::Meta, "").await.map(user_keys).unwrap().len(), 3, "{label}");
}

#[wasm_bindgen_test]
async fn delete_prefix_removes_only_the_prefix() {
    for (name, b) in each_backend("delprefix").await {
        delete_prefix(&b, b.kind().as_str()).await;
        b.close();
        if b.kind() == BackendKind::IndexedDb {
            IdbBackend::destroy(&name).await.unwrap();
        }
    }
}

#[wasm_bindgen_test]
async fn concurrent_commits_and_reads_all_complete() {
    let name = db_name("concurrent");
    let b = open_idb(&name).await;
    let writes = (0..20).map(|i| b.commit(vec![put(Space::Meta, &format!("k/{i:02}"), &i.to_string())]));
    for r in futures::future::join_all(writes).await {
        r.unwrap();
    }
    let keys: Vec<String> = (0..20).map(|i| format!("k/{i:02}")).collect();
    for (i, r) in futures::future::join_all(keys.iter().map(|k| b.get(Space::Meta, k))).await.into_iter().enumerate() {
        assert_eq!(r.unwrap(), Some(i.to_string().into_bytes()));
    }
    // Two creates of one key at once: exactly one wins.
    let create = |v: &str| {
        b.commit(vec![Op::RequireAbsent { space: Space::Meta, key: "once".into() }, put(Space::Meta, "once", v)])
    };
    let (r1, r2) = futures::join!(create("first"), create("second"));
    assert!(r1.is_ok() != r2.is_ok(), "exactly one create succeeds: {r1:?} {r2:?}");
    b.close();
    IdbBackend::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn destroy_removes_everything() {
    let name = db_name("destroy");
    let b = open_idb(&name).await;
    b.commit(vec![put(Space::Meta, "a", "1"), put(Space::Chunks, "s/0", "2")]).await.unwrap();
    b.close();
    IdbBackend::destroy(&name).await.unwrap();
    let b = open_idb(&name).await;
    assert!(b.keys(Space::Meta, "").await.map(user_keys).unwrap().is_empty());
    assert!(b.keys(Space::Chunks, "").await.unwrap().is_empty());
    b.close();
    IdbBackend::destroy(&name).await.unwrap();
    // Destroying what does not exist is fine (like deleteDatabase).
    IdbBackend::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn two_connections_to_one_database_both_work() {
    let name = db_name("two");
    let first = open_idb(&name).await;
    let second = open_idb(&name).await;
    first.commit(vec![put(Space::Meta, "from-first", "1")]).await.unwrap();
    assert_eq!(second.get(Space::Meta, "from-first").await.unwrap(), Some(b"1".to_vec()));
    second.commit(vec![put(Space::Meta, "from-second", "2")]).await.unwrap();
    assert_eq!(first.keys(Space::Meta, "").await.map(user_keys).unwrap(), strings(&["from-first", "from-second"]));
    // A guard in one connection sees the other's commit.
    let e = first.commit(vec![Op::RequireAbsent { space: Space::Meta, key: "from-second".into() }]).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists);
    first.close();
    assert!(first.is_closed() && !second.is_closed());
    assert_eq!(second.get(Space::Meta, "from-first").await.unwrap(), Some(b"1".to_vec()));
    second.close();
    IdbBackend::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn version_change_elsewhere_closes_our_connection() {
    let name = db_name("vchange");
    let ours = open_idb(&name).await;
    ours.commit(vec![put(Space::Meta, "a", "1")]).await.unwrap();

    // Another connection (another tab, a newer build) upgrades the database. It must not be
    // blocked by ours: ours steps aside on `versionchange`.
    let upgrade = Database::open(name.as_str()).with_version(SCHEMA_VERSION + 1).into_future();
    let newer = within(3_000, "upgrade from another connection", upgrade).await.expect("upgrade succeeds");
    assert_eq!(newer.version(), f64::from(SCHEMA_VERSION + 1));
    assert!(ours.is_closed());
    let e = ours.get(Space::Meta, "a").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable, "{e}");
    assert!(e.message.contains("another connection") && e.message.contains(&name), "{e}");
    newer.close();

    // This build cannot open the newer schema; it says so instead of guessing.
    let e = IdbBackend::open(&name).await.err().expect("newer schema must not open");
    assert_eq!(e.code, ErrorCode::Unavailable, "{e}");
    assert!(
        e.message.contains(&name) && e.message.contains("VersionError") && e.message.contains("newer build"),
        "{e}"
    );
    IdbBackend::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn destroy_closes_our_open_connections() {
    let name = db_name("destroy-open");
    let ours = open_idb(&name).await;
    ours.commit(vec![put(Space::Meta, "a", "1")]).await.unwrap();
    within(3_000, "destroy with our connection open", IdbBackend::destroy(&name)).await.expect("destroy succeeds");
    assert!(ours.is_closed());
    let e = ours.keys(Space::Meta, "").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable, "{e}");
    let fresh = open_idb(&name).await;
    assert!(fresh.keys(Space::Meta, "").await.map(user_keys).unwrap().is_empty());
    fresh.close();
    IdbBackend::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn destroy_blocked_by_a_foreign_connection_gives_up_with_a_clear_error() {
    let name = db_name("blocked");
    open_idb(&name).await.close();
    // A connection that ignores `versionchange` (not one of ours).
    let foreign = Database::open(name.as_str()).await.unwrap();
    let quick = IdbOptions { blocked_timeout_ms: 200 };
    let e = within(3_000, "blocked destroy", IdbBackend::destroy_with(&name, &quick)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable, "{e}");
    assert!(e.message.contains("blocked") && e.message.contains(&name), "{e}");
    // Once the other connection closes, the queued deletion goes through.
    foreign.close();
    IdbBackend::destroy(&name).await.unwrap();
}

#[wasm_bindgen_test]
fn missing_indexeddb_error_names_both_ways_out() {
    let e = indexeddb::missing_indexeddb_error("my-store");
    assert_eq!(e.code, ErrorCode::Unavailable);
    for needle in
        ["\"my-store\"", "indexedDB", "{ backend: \"memory\" }", "fake-indexeddb", "import \"fake-indexeddb/auto\""]
    {
        assert!(e.message.contains(needle), "{needle:?} missing from: {}", e.message);
    }
}

#[wasm_bindgen_test]
fn dom_exceptions_map_to_codes_naming_database_and_operation() {
    let e = indexeddb::error_from_dom("db1", "commit", "QuotaExceededError", "The quota has been exceeded.");
    assert_eq!(e.code, ErrorCode::QuotaExceeded);
    assert!(e.message.contains("\"db1\"") && e.message.contains("commit") && e.message.contains("quota"), "{e}");
    for name in ["UnknownError", "InvalidStateError", "VersionError", "AbortError", ""] {
        let e = indexeddb::error_from_dom("db2", "open", name, "m");
        assert_eq!(e.code, ErrorCode::Unavailable, "{name}");
        assert!(e.message.contains("\"db2\"") && e.message.contains("open") && e.message.contains(name), "{e}");
    }
}

/// Hides the global `indexedDB` until dropped (an own property shadows the browser's
/// accessor; Node's fake-indexeddb global is saved and put back).
struct HiddenIndexedDb(Option<JsValue>);

impl HiddenIndexedDb {
    fn new() -> Self {
        let global = js_sys::global();
        let key = JsValue::from_str("indexedDB");
        let saved = js_sys::Object::get_own_property_descriptor(&global, &key);
        let hidden = js_sys::Object::new();
        js_sys::Reflect::set(&hidden, &JsValue::from_str("value"), &JsValue::UNDEFINED).unwrap();
        js_sys::Reflect::set(&hidden, &JsValue::from_str("configurable"), &JsValue::TRUE).unwrap();
        js_sys::Object::define_property(&global, &key, &hidden);
        HiddenIndexedDb(if saved.is_undefined() { None } else { Some(saved) })
    }
}

impl Drop for HiddenIndexedDb {
    fn drop(&mut self) {
        let global = js_sys::global();
        let key = JsValue::from_str("indexedDB");
        match &self.0 {
            Some(saved) => {
                js_sys::Object::define_property(&global, &key, saved.unchecked_ref());
            }
            None => {
                js_sys::Reflect::delete_property(&global, &key).unwrap();
            }
        }
    }
}

#[wasm_bindgen_test]
async fn store_open_without_indexeddb_fails_with_the_ways_out() {
    let had_indexeddb = indexeddb::indexeddb_available();
    {
        let _hidden = HiddenIndexedDb::new();
        assert!(!indexeddb::indexeddb_available());
        let err = Store::open(db_name("noidb").into(), None).await.err().expect("no indexedDB: open must fail");
        assert_eq!(js_code(&err).as_deref(), Some("unavailable"));
        let msg = js_message(&err);
        assert!(msg.contains("backend: \"memory\"") && msg.contains("fake-indexeddb/auto"), "{msg}");
        let err = Store::destroy(db_name("noidb").into()).await.unwrap_err();
        assert_eq!(js_code(&err).as_deref(), Some("unavailable"));
        // The memory backend needs no indexedDB.
        let mem = Store::open_kind(db_name("noidb-mem"), BackendKind::Memory).await.unwrap();
        mem.close();
    }
    assert_eq!(indexeddb::indexeddb_available(), had_indexeddb, "global restored");
}

// ---------------------------------------------------------------- the wasm Store binding

fn options(backend: JsValue) -> imagestore::wasm::StoreOptions {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &JsValue::from_str("backend"), &backend).unwrap();
    o.unchecked_into()
}

async fn store_info(store: &Store) -> Result<JsValue, JsValue> {
    JsFuture::from(store.store_info()).await
}

fn field(v: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(name)).unwrap()
}

#[wasm_bindgen_test]
async fn store_open_close_destroy_with_indexeddb() {
    let name = db_name("store");
    let store = Store::open(name.clone().into(), None).await.unwrap();
    assert_eq!(store.name(), name);
    assert_eq!(store.backend(), "indexeddb");
    let info = store_info(&store).await.unwrap();
    assert_eq!(field(&info, "name").as_string(), Some(name.clone()));
    assert_eq!(field(&info, "backend").as_string().as_deref(), Some("indexeddb"));
    assert_eq!(field(&info, "metaRecords").as_f64(), Some(0.0));

    // Data written through the backend shows up after closing and reopening the Store.
    let backend = store.backend_for("test").unwrap();
    // A chunk of a session that ended without publishing it, and that session's marker.
    backend
        .commit(vec![
            put(Space::Meta, "a", "1"),
            put(Space::Meta, "b", "2"),
            put(Space::Chunks, "0000000000001-deadbeef-0/0000000000", "3"),
            put(Space::Meta, &imagestore::schema::staging_marker("deadbeef"), "1"),
        ])
        .await
        .unwrap();
    store.close();
    assert!(store.closed());
    let again = Store::open(name.clone().into(), Some(options(JsValue::from_str("indexeddb")))).await.unwrap();
    let info = store_info(&again).await.unwrap();
    assert_eq!(field(&info, "metaRecords").as_f64(), Some(2.0));
    // The chunk no blob record references, written by a session that is not alive and left
    // its marker, was swept on open (and the marker with it).
    assert_eq!(field(&info, "chunkRecords").as_f64(), Some(0.0));

    // destroy while `again` is open: it steps aside, and the next open starts empty.
    Store::destroy(name.clone().into()).await.unwrap();
    let err = store_info(&again).await.unwrap_err();
    assert_eq!(js_code(&err).as_deref(), Some("unavailable"), "{}", js_message(&err));
    again.close();
    let fresh = Store::open(name.clone().into(), None).await.unwrap();
    assert_eq!(field(&store_info(&fresh).await.unwrap(), "metaRecords").as_f64(), Some(0.0));
    fresh.close();
    Store::destroy(name.into()).await.unwrap();
}

#[wasm_bindgen_test]
async fn store_calls_after_close_reject_with_failed_precondition() {
    for kind in ["memory", "indexeddb"] {
        let name = db_name("closed");
        let store = Store::open(name.clone().into(), Some(options(JsValue::from_str(kind)))).await.unwrap();
        assert_eq!(store.backend(), kind);
        store.close();
        store.close(); // idempotent
        let err = store_info(&store).await.unwrap_err();
        assert!(err.is_instance_of::<js_sys::Error>(), "rejections are Error objects");
        assert_eq!(js_code(&err).as_deref(), Some("failed_precondition"), "{kind}");
        assert!(js_message(&err).contains("after close()") && js_message(&err).contains(&name), "{}", js_message(&err));
        let e = store.backend_for("x").err().unwrap();
        assert_eq!(e.code, ErrorCode::FailedPrecondition);
        if kind == "indexeddb" {
            Store::destroy(name.into()).await.unwrap();
        }
    }
}

#[wasm_bindgen_test]
async fn store_memory_backend_starts_empty_and_serves_concurrent_calls() {
    let store = Store::open("scratch".into(), Some(options(JsValue::from_str("memory")))).await.unwrap();
    assert_eq!(store.backend(), "memory");
    store.backend_for("test").unwrap().commit(vec![put(Space::Meta, "a", "1")]).await.unwrap();
    // Several calls in flight at once on one Store.
    let (a, b, c) = futures::join!(store_info(&store), store_info(&store), store_info(&store));
    for info in [a, b, c] {
        assert_eq!(field(&info.unwrap(), "metaRecords").as_f64(), Some(1.0));
    }
    store.close();
    let again = Store::open("scratch".into(), Some(options(JsValue::from_str("memory")))).await.unwrap();
    assert_eq!(field(&store_info(&again).await.unwrap(), "metaRecords").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn store_open_rejects_bad_arguments_with_coded_errors() {
    let cases: Vec<(String, Option<imagestore::wasm::StoreOptions>, &str)> = vec![
        (String::new(), None, "empty"),
        ("x".into(), Some(options(JsValue::from_str("sqlite"))), "\"sqlite\""),
        ("x".into(), Some(options(JsValue::from_f64(1.0))), "options.backend"),
        ("x".into(), Some(JsValue::from_str("memory").unchecked_into()), "options"),
    ];
    for (name, opts, needle) in cases {
        let err = Store::open(name.into(), opts).await.err().expect("bad arguments must be rejected");
        assert!(err.is_instance_of::<js_sys::Error>());
        assert_eq!(js_code(&err).as_deref(), Some("invalid_argument"), "{}", js_message(&err));
        assert!(js_message(&err).contains(needle), "{needle:?} not in {}", js_message(&err));
    }
    let err = Store::destroy(String::new().into()).await.unwrap_err();
    assert_eq!(js_code(&err).as_deref(), Some("invalid_argument"));
    // Explicit undefined/null options mean the defaults.
    let name = db_name("null-options");
    let store = Store::open(name.clone().into(), Some(JsValue::NULL.unchecked_into())).await.unwrap();
    assert_eq!(store.backend(), "indexeddb");
    store.close();
    Store::destroy(name.into()).await.unwrap();
}

#[wasm_bindgen_test]
fn js_errors_are_errors_with_code_and_message() {
    for code in ErrorCode::all() {
        let js = to_js_error(Error::new(code, format!("what and where: {code}")));
        assert!(js.is_instance_of::<js_sys::Error>());
        assert_eq!(js_code(&js).as_deref(), Some(code.as_str()));
        assert_eq!(js_message(&js), format!("what and where: {code}"));
    }
}

/// The heap grows in steps proportional to its size (`src/wasm/heap.rs`), not by the 64 KiB that
/// each allocation past the end asked of the memory before: storing 64 MiB in 64,000 small
/// pieces (as the memory backend holds an import's configs and tar-splits) grows the memory a
/// few dozen times, where it grew about a thousand times before.
#[wasm_bindgen_test]
fn the_heap_grows_in_steps_not_page_by_page() {
    use core::arch::wasm32::memory_size;
    let mut grows = 0;
    let mut pages = memory_size::<0>();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(64_000);
    for i in 0..64_000usize {
        kept.push(vec![(i % 251) as u8; 1000 + i % 100]);
        let now = memory_size::<0>();
        if now != pages {
            grows += 1;
            pages = now;
        }
    }
    let held: usize = kept.iter().map(Vec::len).sum();
    assert!(held > 64_000_000, "the pieces are all there: {held} bytes");
    assert!(grows <= 40, "the memory grew {grows} times while {held} bytes were allocated");
    assert!(kept.iter().enumerate().all(|(i, v)| v[v.len() - 1] == (i % 251) as u8));
}
