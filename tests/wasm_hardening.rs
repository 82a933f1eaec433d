//! The JS surface under misuse and hostile input (issue 10), in Node and Chromium: every
//! wrong argument is an `invalid_argument` rejection (never a trap or an uncaught TypeError),
//! every rejection has a `code`, an import can be cancelled by a timer while it runs on the
//! memory backend, a throwing `onProgress` ends the import with its message, the memory
//! backend refuses what it cannot hold, and the store stays usable after each of them.
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::wasm::{BackendKind, Store};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

static BASIC: &[u8] = include_bytes!("fixtures/docker20/basic/image-store.tar");

fn js_fn(args: &str, body: &str) -> Function {
    Function::new_with_args(args, body)
}

fn js(expr: &str) -> JsValue {
    js_fn("", &format!("return ({expr});")).call0(&JsValue::NULL).unwrap()
}

fn bytes(data: &[u8]) -> JsValue {
    Uint8Array::from(data).into()
}

/// The `code` and `message` of a rejection (or thrown value); panics if it resolved.
async fn rejected(what: &str, p: Promise) -> (String, String) {
    match JsFuture::from(p).await {
        Ok(v) => panic!("{what}: resolved with {v:?}, expected a rejection"),
        Err(e) => code_and_message(what, &e),
    }
}

fn code_and_message(what: &str, e: &JsValue) -> (String, String) {
    assert!(e.is_instance_of::<js_sys::Error>(), "{what}: rejected with a non-Error {e:?}");
    let code = Reflect::get(e, &"code".into()).unwrap().as_string();
    let message = Reflect::get(e, &"message".into()).unwrap().as_string().unwrap_or_default();
    (code.unwrap_or_else(|| panic!("{what}: an Error without a code: {message}")), message)
}

async fn memory_store(name: &str) -> Store {
    Store::open_kind(support::unique_name(name), BackendKind::Memory).await.unwrap()
}

async fn image_count(store: &Store) -> usize {
    let list = JsFuture::from(store.list_images(js("{ all: true }"))).await.unwrap();
    js_sys::Array::from(&list).length() as usize
}

/// The store still answers, and an import after the failure works.
async fn assert_usable(store: &Store, images_before: usize) {
    assert_eq!(image_count(store).await, images_before, "the store is unchanged");
    JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.expect("a later import works");
    assert!(image_count(store).await > 0);
}

#[wasm_bindgen_test]
async fn every_entry_point_rejects_wrong_arguments_with_invalid_argument() {
    let store = memory_store("args").await;
    JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
    let before = image_count(&store).await;
    let wrong = [js("42"), JsValue::NULL, JsValue::UNDEFINED, js("({})"), js("[1]"), js("Symbol('x')")];
    for w in &wrong {
        let calls: Vec<(&str, Promise)> = vec![
            ("inspectImage", store.inspect_image(w.clone())),
            ("imageHistory", store.image_history(w.clone())),
            ("removeImage", store.remove_image(w.clone(), JsValue::UNDEFINED)),
            ("tagImage", store.tag_image(w.clone(), "a/b".into(), JsValue::UNDEFINED, JsValue::UNDEFINED)),
            (
                "tagImage repo",
                store.tag_image("local/base:1".into(), w.clone(), JsValue::UNDEFINED, JsValue::UNDEFINED),
            ),
            ("search", store.search(w.clone())),
            ("imageParent", store.image_parent(w.clone())),
            ("imageChildren", store.image_children(w.clone())),
            ("layerFiles", store.layer_files(w.clone(), JsValue::UNDEFINED)),
        ];
        for (what, p) in calls {
            let (code, message) = rejected(what, p).await;
            assert_eq!(code, "invalid_argument", "{what}({w:?}): {message}");
        }
        let e = store.containerd(w.clone()).err().expect("containerd(wrong) throws");
        assert_eq!(code_and_message("containerd", &e).0, "invalid_argument");
    }
    // A wrong tag type (a number) is refused too; undefined means "latest".
    let (code, _) =
        rejected("tag number", store.tag_image("local/base:1".into(), "a/b".into(), js("7"), JsValue::UNDEFINED)).await;
    assert_eq!(code, "invalid_argument");
    let ns = store.containerd("default".into()).unwrap();
    let content = ns.content();
    for (what, p) in [
        ("getImage", ns.get_image(js("5"))),
        ("deleteImage", ns.delete_image(JsValue::NULL)),
        ("info", content.info(js("5"))),
        ("read", content.read(js("5"), JsValue::UNDEFINED, JsValue::UNDEFINED)),
        ("read offset", content.read(format!("sha256:{}", "a".repeat(64)).into(), js("-1"), JsValue::UNDEFINED)),
        ("read length", content.read(format!("sha256:{}", "a".repeat(64)).into(), js("0"), js("'x'"))),
        ("delete", content.delete(js("{}"))),
        ("status", content.status(js("1"))),
        ("abort", content.abort(js("1"))),
        ("writer", content.writer(js("1"), JsValue::UNDEFINED)),
        ("walk", content.walk(js("1"), JsValue::UNDEFINED)),
    ] {
        let (code, message) = rejected(what, p).await;
        assert_eq!(code, "invalid_argument", "{what}: {message}");
    }
    assert_usable(&store, before).await;
}

#[wasm_bindgen_test]
async fn store_open_and_destroy_reject_bad_names_with_a_code() {
    for (what, name) in [("null", JsValue::NULL), ("number", js("42")), ("object", js("({})")), ("empty", js("''"))] {
        let e = Store::open(name.clone(), None).await.err().unwrap_or_else(|| panic!("open({what}) resolved"));
        assert_eq!(code_and_message(what, &e).0, "invalid_argument", "open({what})");
        let e = Store::destroy(name).await.err().unwrap_or_else(|| panic!("destroy({what}) resolved"));
        assert_eq!(code_and_message(what, &e).0, "invalid_argument", "destroy({what})");
    }
}

#[wasm_bindgen_test]
async fn odd_import_inputs_reject_instead_of_throwing_from_the_bindings() {
    let store = memory_store("inputs").await;
    let before = image_count(&store).await;
    // A stream whose reader has no cancel() and hands out strings.
    let no_cancel =
        js("{ getReader() { return { read() { return Promise.resolve({ done: false, value: 'text' }); } }; } }");
    let (code, m) = rejected("reader without cancel", store.import(no_cancel, JsValue::UNDEFINED)).await;
    assert_eq!(code, "invalid_argument", "{m}");
    // A stream whose read() throws, and one whose getReader() throws.
    let throws = js("{ getReader() { return { read() { throw new TypeError('boom'); } }; } }");
    let (code, m) = rejected("read throws", store.import(throws, JsValue::UNDEFINED)).await;
    assert!(m.contains("boom"), "{code}: {m}");
    let locked = js("{ getReader() { throw new TypeError('locked'); } }");
    let (code, m) = rejected("getReader throws", store.import(locked, JsValue::UNDEFINED)).await;
    assert_eq!(code, "invalid_argument", "{m}");
    // Blob-likes whose slice() returns a non-Blob, or too few bytes, or whose size is junk.
    for (what, blob) in [
        ("slice gives a number", "{ size: 4096, slice() { return 42; }, arrayBuffer() {} }"),
        (
            "slice gives a string buffer",
            "{ size: 4096, slice() { return { arrayBuffer() { return 'x'; } }; }, arrayBuffer() {} }",
        ),
        ("slice too short", "{ size: 4096, slice() { return new Blob([new Uint8Array(3)]); }, arrayBuffer() {} }"),
        ("no size", "{ slice() { return new Blob([]); }, arrayBuffer() {} }"),
    ] {
        let (code, m) = rejected(what, store.import(js(blob), JsValue::UNDEFINED)).await;
        assert_eq!(code, "invalid_argument", "{what}: {m}");
    }
    assert_usable(&store, before).await;
}

#[wasm_bindgen_test]
async fn an_exception_in_on_progress_ends_the_import_with_its_message() {
    let store = memory_store("progress").await;
    let options = js("{ onProgress() { throw new Error('progress handler bug'); } }");
    let (code, m) = rejected("throwing onProgress", store.import(bytes(BASIC), options)).await;
    assert_eq!(code, "aborted", "{m}");
    assert!(m.contains("onProgress threw") && m.contains("progress handler bug"), "{m}");
    assert_usable(&store, 0).await;
}

/// A plain tar of one `size`-byte file (not an image store: the import would end in
/// `unsupported_format` if it got that far).
fn big_tar(size: usize) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..8].copy_from_slice(b"big.bin\0");
    header[100..108].copy_from_slice(b"0000644\0");
    header[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    header[136..148].copy_from_slice(b"00000000000\0");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.resize(512 + size.div_ceil(512) * 512 + 1024, 0);
    tar
}

#[wasm_bindgen_test]
async fn a_timer_abort_fires_while_a_memory_import_runs() {
    let store = memory_store("abort").await;
    let controller = js("new AbortController()");
    let signal = Reflect::get(&controller, &"signal".into()).unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"signal".into(), &signal).unwrap();
    // The timer is armed before the import starts; only a yielding import lets it run.
    js_fn("c", "setTimeout(() => c.abort(), 0)").call1(&JsValue::NULL, &controller).unwrap();
    let (code, m) = rejected("timer abort", store.import(bytes(&big_tar(48 << 20)), options.into())).await;
    assert_eq!(code, "aborted", "{m}");
    assert_usable(&store, 0).await;
}

#[wasm_bindgen_test]
async fn the_memory_backend_refuses_what_it_cannot_hold() {
    let name = support::unique_name("full");
    let store = Store::open_with(name, BackendKind::Memory, Some(64 << 10)).await.unwrap();
    let (code, m) = rejected("over capacity", store.import(bytes(BASIC), JsValue::UNDEFINED)).await;
    assert_eq!(code, "resource_exhausted", "{m}");
    assert_eq!(image_count(&store).await, 0);
    let info = JsFuture::from(store.store_info()).await.unwrap();
    assert_eq!(Reflect::get(&info, &"chunkRecords".into()).unwrap().as_f64(), Some(0.0), "nothing staged is left");
    // The option from JS, checked.
    let e = Store::open("x".into(), Some(js("{ backend: 'memory', memoryLimit: -5 }").unchecked_into()))
        .await
        .err()
        .expect("a negative memoryLimit is refused");
    assert_eq!(code_and_message("memoryLimit", &e).0, "invalid_argument");
}

/// Calls every method of every exported class (found on the JS prototypes, so a method added
/// later is covered without editing this test) with wrong argument types, and checks each
/// call rejects (or throws) an `Error` with code `invalid_argument`, then that the store still
/// works. Two passes: every parameter wrong at once (all methods), and one parameter wrong at
/// a time with the others well-typed (the methods listed in `valid`; a method missing there
/// still gets the first pass).
/// A valid call of every method with parameters, by class (JS; `basic` and `D` in scope): the
/// table both tests below go through.
const VALID_ARGS: &str = r#"const valid = {
            Store: { import: [basic, {}], listImages: [{}], inspectImage: ["x"], imageHistory: ["x"],
                removeImage: ["x", {}], tagImage: ["x", "a/b", "t", {}], search: ["x"], imageParent: ["x"],
                imageChildren: ["x"], layerFiles: ["x", {}], layerChanges: ["x"], efficiency: ["x", {}],
                diffImages: ["x", "y"], findFiles: ["x", {}], save: ["x", {}], readFile: ["x", "/etc"],
                readDirectory: ["x", "/etc"], readLayer: ["x", 0], containerd: ["default"], onChange: [() => {}],
                listImagesJson: [{}], listImageRows: [{}], largestFiles: ["x", {}], storeLargestFiles: [{}], saveListAnswer: [{}] },
            Namespace: { listImages: ["name==x"], getImage: ["x"], deleteImage: ["x"], imagesTable: ["name==x"],
                createImage: [{ name: "x", labels: {}, target: { mediaType: "m", digest: D, size: 1 } }],
                updateImage: [{ name: "x", labels: {}, target: { mediaType: "m", digest: D, size: 1 } }, "labels"] },
            Content: { info: [D], list: ["labels.a==b"], table: ["labels.a==b"], walk: [() => {}, "labels.a==b"],
                read: [D, 0, 1], delete: [D], update: [{ digest: D, labels: {} }, "labels"], writer: ["r", {}],
                status: ["r"], listStatuses: ["ref==r"], abort: ["r"] },
            ContentWriter: { write: [new Uint8Array(1)], commit: [1, D, {}] },
        };
        // Methods of the tests' own (debug builds) with parameters.
        const NO_VALID_CALL = new Set(["__panicForTests"]);"#;

#[wasm_bindgen_test]
async fn every_method_of_every_class_rejects_wrong_types_with_invalid_argument() {
    let store = memory_store("prototypes").await;
    JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
    let check = js_fn(
        "store, basic",
        &r#"return (async () => {
        const D = "sha256:" + "a".repeat(64);
        const before = (await store.listImages({ all: true })).length;
        const ns = store.containerd("default");
        const content = ns.content;
        const writer = await content.writer("wrong-types-test");
        /*VALID*/
        // Never valid for any parameter of any method.
        const wrong = [() => 42, () => true, () => Symbol("wrong")];
        // One parameter at a time: what is not of the valid value's kind (a number is right for a
        // count, an object for options).
        const kind = (v) => v === null ? "object" : typeof v;
        const wrongFor = (good) => [...wrong, () => ({ toString() { throw new Error("no"); } }), () => "a string"]
            .filter((w) => kind(w()) !== kind(good));
        const show = (v) => typeof v === "symbol" ? "Symbol" : typeof v === "object" ? "object with a throwing toString" : String(v);
        const skip = new Set(["constructor", "free", "close", "__destroy_into_raw"]);
        const objects = { Store: store, Namespace: ns, Content: content, ContentWriter: writer };
        const failures = [];
        let calls = 0;
        const expectInvalid = async (what, f) => {
            calls++;
            let outcome;
            try {
                const r = f();
                outcome = r instanceof Promise
                    ? await Promise.race([r.then(v => ({ resolved: v }), e => ({ error: e })),
                        new Promise(ok => setTimeout(() => ok({ hung: true }), 5000))])
                    : { returned: r };
            } catch (e) { outcome = { error: e }; }
            if (!("error" in outcome)) { failures.push(`${what}: ${Object.keys(outcome)[0]} instead of rejecting`); return; }
            const e = outcome.error;
            if (!(e instanceof Error) || e.code !== "invalid_argument") {
                failures.push(`${what}: ${e && e.constructor && e.constructor.name} code=${e && e.code}: ${e && e.message}`);
            }
        };
        const methods = (o) => {
            const out = [];
            for (let p = Object.getPrototypeOf(o); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
                for (const name of Object.getOwnPropertyNames(p)) {
                    const d = Object.getOwnPropertyDescriptor(p, name);
                    if (!skip.has(name) && typeof d.value === "function") out.push([name, d.value]);
                }
            }
            return out;
        };
        const seen = {};
        for (const [cls, o] of Object.entries(objects)) {
            seen[cls] = methods(o).map(([n]) => n);
            for (const [name, fn] of methods(o)) {
                if (fn.length === 0) continue;  // nothing to get wrong (extra arguments are ignored)
                for (const w of wrong) {
                    await expectInvalid(`${cls}.${name}(all ${show(w())})`, () => fn.apply(o, Array.from({ length: fn.length }, w)));
                }
                const good = valid[cls] && valid[cls][name];
                if (!good) continue;
                for (let i = 0; i < good.length; i++) {
                    for (const w of wrongFor(good[i])) {
                        const a = good.slice(); a[i] = w();
                        await expectInvalid(`${cls}.${name}(arg ${i} = ${show(a[i])})`, () => fn.apply(o, a));
                    }
                }
            }
        }
        // The static methods of Store too.
        const S = store.constructor;
        for (const name of Object.getOwnPropertyNames(S)) {
            const fn = S[name];
            if (typeof fn !== "function" || fn.length === 0 || name === "__wrap") continue;
            seen["Store static"] = (seen["Store static"] || []).concat(name);
            for (const w of wrong) await expectInvalid(`Store.${name}(all ${show(w())})`, () => fn.apply(S, Array.from({ length: fn.length }, w)));
        }
        for (const w of wrong) await expectInvalid(`Store.open("x", ${show(w())})`, () => S.open("x", w()));
        for (const w of wrong) await expectInvalid(`Store.openAdapter("x", ${show(w())})`, () => S.openAdapter("x", w()));
        // Every method with parameters has a valid call in the table (the panic test below uses it).
        for (const [cls, names] of Object.entries(seen)) {
            if (cls === "Store static") continue;
            for (const n of names) {
                const fn = objects[cls][n];
                if (fn.length > 0 && !(valid[cls] && valid[cls][n]) && !NO_VALID_CALL.has(n)) {
                    failures.push(`${cls}.${n} has parameters but no valid call in the table`);
                }
            }
        }
        // The table must not name methods that no longer exist.
        for (const [cls, m] of Object.entries(valid)) for (const n of Object.keys(m)) {
            if (!seen[cls].includes(n)) failures.push(`${cls}.${n} is in the table but not on the prototype`);
        }
        await writer.close();
        // Still usable: unchanged, and a later import works.
        const after = (await store.listImages({ all: true })).length;
        if (after !== before) failures.push(`the store changed: ${before} images before, ${after} after`);
        await store.import(basic);
        if ((await store.listImages({ all: true })).length === 0) failures.push("the store is empty after an import");
        return { failures, calls, seen };
    })()"#.replace("/*VALID*/", VALID_ARGS),
    );
    let result =
        JsFuture::from(Promise::from(check.call2(&JsValue::NULL, &JsValue::from(store), &bytes(BASIC)).unwrap()))
            .await
            .expect("the check itself ran");
    let failures: Vec<String> = js_sys::Array::from(&Reflect::get(&result, &"failures".into()).unwrap())
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    let calls = Reflect::get(&result, &"calls".into()).unwrap().as_f64().unwrap();
    let seen = js_sys::JSON::stringify(&Reflect::get(&result, &"seen".into()).unwrap()).unwrap();
    assert!(calls > 300.0, "only {calls} calls made; methods seen: {seen:?}");
    assert!(
        failures.is_empty(),
        "{} of {calls} calls did not reject with invalid_argument:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A panic inside a call (debug builds have `__panicForTests`) rejects that call with code
/// `internal`; the calls queued behind it on the store's lock go on (the lock is taken over and
/// the state reloaded from the backend), nothing escapes into the event loop, and the store
/// keeps working — on the memory backend and on IndexedDB.
#[wasm_bindgen_test]
async fn a_panic_rejects_its_call_with_internal_and_the_store_stays_usable() {
    for kind in [BackendKind::Memory, BackendKind::IndexedDb] {
        let store = Store::open_kind(support::unique_name("panic"), kind).await.unwrap();
        JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
        let before = image_count(&store).await;
        for how in ["locked", "alloc", "unlocked"] {
            let failing = store.panic_for_tests(how.into());
            // Queued behind the failing call on the store's lock.
            let list = store.list_images(js("{ all: true }"));
            let tag = store.tag_image(
                "local/base:1".into(),
                format!("after/{how}").into(),
                JsValue::UNDEFINED,
                JsValue::UNDEFINED,
            );
            let (code, message) = rejected(how, failing).await;
            assert_eq!(code, "internal", "{kind:?} {how}: {message}");
            assert!(message.contains("abandoned"), "{message}");
            let listed =
                JsFuture::from(list).await.unwrap_or_else(|e| panic!("{kind:?} {how}: list after the panic: {e:?}"));
            assert_eq!(js_sys::Array::from(&listed).length() as usize, before, "{kind:?} {how}");
            JsFuture::from(tag).await.unwrap_or_else(|e| panic!("{kind:?} {how}: tag after the panic: {e:?}"));
            let tagged = JsFuture::from(store.inspect_image(format!("after/{how}").into())).await.unwrap();
            assert!(Reflect::get(&tagged, &"Id".into()).unwrap().as_string().is_some());
        }
        // Still fully usable: a removal and an import after three abandoned calls.
        JsFuture::from(store.remove_image("after/locked".into(), JsValue::UNDEFINED)).await.unwrap();
        assert_usable(&store, before).await;
        store.close();
    }
}

/// The module's free function checks its arguments too.
#[wasm_bindgen_test]
fn human_size_rejects_what_is_not_a_number() {
    use imagestore::wasm::human_size_js;
    for (what, bytes, precision) in [
        ("string", js("'12'"), JsValue::UNDEFINED),
        ("NaN", js("NaN"), JsValue::UNDEFINED),
        ("object", js("({})"), JsValue::UNDEFINED),
        ("precision string", js("12"), js("'4'")),
        ("precision negative", js("12"), js("-1")),
    ] {
        let e = human_size_js(bytes, precision).err().unwrap_or_else(|| panic!("humanSize({what}) returned"));
        assert_eq!(code_and_message(what, &e).0, "invalid_argument", "{what}");
    }
    assert_eq!(human_size_js(js("1982293"), JsValue::UNDEFINED).unwrap(), "1.98MB");
    assert_eq!(human_size_js(js("1050624"), js("4")).unwrap(), "1.051MB");
}

/// A panic in a call's synchronous part (argument conversion, before its promise exists) does
/// not poison the module: that call rejects with a coded `internal` Error (no `RuntimeError`
/// thrown at the caller), and every call after it works, on the same `Store` object (whose
/// borrow by wasm-bindgen was released normally) and on a newly opened one.
#[wasm_bindgen_test]
async fn a_panic_while_converting_arguments_rejects_that_call_and_nothing_else() {
    for kind in [BackendKind::Memory, BackendKind::IndexedDb] {
        let store = Store::open_kind(support::unique_name("panic-sync"), kind).await.unwrap();
        JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
        let before = image_count(&store).await;
        for round in 0..3 {
            // Returns a promise (no throw): the trap ended inside the entry point's guard.
            let failing = store.panic_for_tests("sync".into());
            let (code, message) = rejected("sync panic", failing).await;
            assert_eq!(code, "internal", "{kind:?} round {round}: {message}");
            assert!(message.contains("store stays usable"), "{message}");
            assert_eq!(image_count(&store).await, before, "{kind:?} round {round}");
            JsFuture::from(store.tag_image(
                "local/base:1".into(),
                format!("after/sync{round}").into(),
                JsValue::UNDEFINED,
                JsValue::UNDEFINED,
            ))
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: tag after a sync panic: {e:?}"));
            // Wrong arguments still give their own code, not `internal`.
            let (code, _) = rejected("inspect 42", store.inspect_image(JsValue::from_f64(42.0))).await;
            assert_eq!(code, "invalid_argument");
        }
        assert_usable(&store, before).await;
        // A second store in the same module instance works too.
        let other = Store::open_kind(support::unique_name("panic-sync-other"), BackendKind::Memory).await.unwrap();
        JsFuture::from(other.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
        assert_eq!(image_count(&other).await, before);
        other.close();
        store.close();
    }
}

/// A panic while any entry point converts its arguments — every method of every class, and the
/// static `Store.open`, `openAdapter`, `destroy`, `reserveMemory` — rejects (or throws, for the
/// synchronous ones) that call alone with a coded `internal` Error; the module is not poisoned:
/// the store answers unchanged after each, and opening, importing and destroying work after all
/// of them. (Debug builds: `Store.__panicInNextArgumentForTests` makes the next conversion panic.)
#[wasm_bindgen_test]
async fn a_panic_while_any_entry_point_converts_its_arguments_rejects_that_call_only() {
    let store = memory_store("panic-every-entry").await;
    JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
    let check = js_fn(
        "store, basic, idbName",
        &r#"return (async () => {
        const D = "sha256:" + "a".repeat(64);
        const S = store.constructor;
        const before = (await store.listImages({ all: true })).length;
        const ns = store.containerd("default");
        const content = ns.content;
        const writer = await content.writer("panic-every-entry");
        /*VALID*/
        const adapter = { get() {}, scan() {}, keys() {}, commit() {}, close() {} };
        const statics = { open: [idbName + "-never", { backend: "memory" }], openAdapter: [idbName + "-adapter", adapter],
            destroy: [idbName + "-never"], reserveMemory: [1 << 20] };
        const objects = { Store: store, Namespace: ns, Content: content, ContentWriter: writer };
        const failures = [], fired = [], notReached = [];
        const attempt = async (what, f) => {
            S.__panicInNextArgumentForTests();
            let outcome;
            try {
                const r = f();
                outcome = r instanceof Promise
                    ? await Promise.race([r.then(v => ({ resolved: v }), e => ({ error: e })),
                        new Promise(ok => setTimeout(() => ok({ hung: true }), 5000))])
                    : { returned: r };
            } catch (e) { outcome = { error: e }; }
            if (S.__disarmPanicInNextArgumentForTests()) { notReached.push(what); return; }
            const e = outcome.error;
            if (!("error" in outcome)) failures.push(`${what}: ${Object.keys(outcome)[0]} instead of rejecting with internal`);
            else if (!(e instanceof Error) || e.code !== "internal" || !/as a test asked/.test(e.message)
                || !/store stays usable/.test(e.message)) {
                failures.push(`${what}: ${e && e.constructor && e.constructor.name} code=${e && e.code}: ${e && e.message}`);
            } else fired.push(what);
            // Not poisoned: the store still answers, unchanged.
            try {
                const n = (await store.listImages({ all: true })).length;
                if (n !== before) failures.push(`after ${what}: ${n} images instead of ${before}`);
            } catch (e) { failures.push(`after ${what}: the store no longer answers: ${e.code}: ${e.message}`); }
        };
        for (const [cls, methods] of Object.entries(valid)) {
            for (const [name, args] of Object.entries(methods)) {
                await attempt(`${cls}.${name}`, () => objects[cls][name](...args));
            }
        }
        for (const [name, args] of Object.entries(statics)) await attempt(`Store.${name}`, () => S[name](...args));
        await writer.close();
        // After all of them: a new store opens, imports and answers; IndexedDB opens and is destroyed.
        const fresh = await S.open(idbName + "-memory", { backend: "memory" });
        await fresh.import(basic);
        if ((await fresh.listImages({ all: true })).length !== before) failures.push("a new store after the panics differs");
        const idb = await S.open(idbName);
        await idb.import(basic);
        idb.close();
        await S.destroy(idbName);
        await store.import(basic);
        return { failures, fired, notReached };
    })()"#
            .replace("/*VALID*/", VALID_ARGS),
    );
    let name = support::unique_name("panic-every-entry");
    let result = JsFuture::from(Promise::from(
        check.call3(&JsValue::NULL, &JsValue::from(store), &bytes(BASIC), &name.into()).unwrap(),
    ))
    .await
    .expect("the check itself ran");
    let list = |key: &str| -> Vec<String> {
        js_sys::Array::from(&Reflect::get(&result, &key.into()).unwrap()).iter().filter_map(|v| v.as_string()).collect()
    };
    let (failures, fired, not_reached) = (list("failures"), list("fired"), list("notReached"));
    assert!(failures.is_empty(), "{} entry points failed:\n{}", failures.len(), failures.join("\n"));
    assert!(not_reached.is_empty(), "these converted no argument through src/wasm/args.rs: {not_reached:?}");
    for named in ["Store.readDirectory", "Store.open", "Store.openAdapter", "Store.destroy"] {
        assert!(fired.iter().any(|f| f == named), "{named} not exercised: {fired:?}");
    }
    assert!(fired.len() > 40, "only {} entry points exercised: {fired:?}", fired.len());
}

static CONTAINERD_ROOT: &[u8] = include_bytes!("fixtures/docker20/basic/containerd-root.tar");

/// A Blob-like input over `data` whose slices from `fail_from` on go wrong in the way `how`
/// says ("reject": arrayBuffer() rejects; "short": it gives fewer bytes than asked for).
fn failing_blob(data: &[u8], fail_from: u32, how: &str) -> JsValue {
    let make = js_fn(
        "bytes, failFrom, how",
        r#"const real = new Blob([bytes]);
           return {
             size: real.size,
             arrayBuffer: () => real.arrayBuffer(),
             slice(start, end) {
               return {
                 async arrayBuffer() {
                   if (start < failFrom) return real.slice(start, end).arrayBuffer();
                   if (how === "reject") throw new Error("the disk went away");
                   return new ArrayBuffer(5);
                 },
               };
             },
           };"#,
    );
    make.call3(&JsValue::NULL, &bytes(data), &JsValue::from(fail_from), &JsValue::from_str(how)).unwrap()
}

/// The size of the slices a Blob is read by (`src/wasm/input.rs`).
const BLOB_SLICE: u32 = 4 << 20;

#[wasm_bindgen_test]
async fn a_blob_slice_that_fails_after_the_first_ones_names_its_offset_and_changes_nothing() {
    // The next slice is asked for before the current one is used (read-ahead): its failure
    // must still come in the input's order, with its offset, and leave the store as it was.
    let len = CONTAINERD_ROOT.len() as u32;
    assert!(len > BLOB_SLICE + (1 << 20), "the input spans two slices");
    let store = memory_store("blob-fails").await;
    JsFuture::from(store.import(bytes(BASIC), JsValue::UNDEFINED)).await.unwrap();
    let before = image_count(&store).await;
    let records = |store: &Store| {
        let info = JsFuture::from(store.store_info());
        async move {
            let info = info.await.unwrap();
            ["metaRecords", "chunkRecords"].map(|k| Reflect::get(&info, &k.into()).unwrap().as_f64())
        }
    };
    let held = records(&store).await;
    let failing = failing_blob(CONTAINERD_ROOT, 2 << 20, "reject");
    let (code, m) = rejected("rejecting slice", store.import(failing, JsValue::UNDEFINED)).await;
    assert_eq!(code, "unavailable", "{m}");
    assert!(m.contains(&format!("reading the Blob at byte {BLOB_SLICE}")) && m.contains("the disk went away"), "{m}");
    assert_eq!(records(&store).await, held, "nothing written");
    let failing = failing_blob(CONTAINERD_ROOT, 1 << 20, "short");
    let (code, m) = rejected("short slice", store.import(failing, JsValue::UNDEFINED)).await;
    assert_eq!(code, "invalid_argument", "{m}");
    let want = format!("slice({BLOB_SLICE}, {len}) holds 5 bytes, not {}", len - BLOB_SLICE);
    assert!(m.contains(&want), "{m}");
    assert_eq!(records(&store).await, held, "nothing written");
    assert_usable(&store, before).await;
    // Whole, the same Blob (read by 4 MiB slices, handed on by 1 MiB pieces) imports as its bytes.
    let by_blob = memory_store("blob-whole").await;
    let whole = failing_blob(CONTAINERD_ROOT, len, "reject");
    JsFuture::from(by_blob.import(whole, JsValue::UNDEFINED)).await.unwrap();
    let by_bytes = memory_store("bytes-whole").await;
    JsFuture::from(by_bytes.import(bytes(CONTAINERD_ROOT), JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(records(&by_blob).await, records(&by_bytes).await);
    assert!(records(&by_blob).await[0] > Some(10.0));
}
