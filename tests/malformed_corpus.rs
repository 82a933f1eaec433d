//! The malformed-upload corpus (tests/corpus) natively: every case is refused with its code,
//! the backend holds nothing afterwards, and the same store then imports the good fixture.
#![cfg(not(target_arch = "wasm32"))]

mod corpus;
mod support;

use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;

#[test]
fn every_malformed_upload_is_refused_with_its_code_and_changes_nothing() {
    let cases = corpus::cases();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let mut wrong = Vec::new();
    futures::executor::block_on(async {
        for case in &cases {
            let backend = MemoryBackend::with_capacity(16 << 20);
            let mut store = Store::open(backend.clone()).await.unwrap();
            let input = futures::stream::iter(case.input.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect::<Vec<_>>());
            match store.import(input, ImportOptions::default()).await {
                Ok(report) => wrong.push(format!("{}: imported ({} images)", case.name, report.images)),
                Err(e) if e.code.as_str() != case.code || e.message.is_empty() => {
                    wrong.push(format!("{}: {} {:?}, want {}", case.name, e.code, e.message, case.code))
                }
                Err(_) => {}
            }
            if !backend.is_empty() {
                wrong.push(format!("{}: the store is not empty afterwards", case.name));
            }
        }
    });
    assert!(wrong.is_empty(), "{} of {} cases:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

#[test]
fn the_store_is_usable_after_a_refused_upload() {
    futures::executor::block_on(async {
        let backend = MemoryBackend::with_capacity(16 << 20);
        let mut store = Store::open(backend).await.unwrap();
        for case in corpus::cases().iter().step_by(10) {
            let input = futures::stream::iter(vec![Ok(case.input.clone())]);
            assert!(store.import(input, ImportOptions::default()).await.is_err(), "{}", case.name);
        }
        let input = futures::stream::iter(vec![Ok(corpus::IMAGE_STORE.to_vec())]);
        let report = store.import(input, ImportOptions::default()).await.unwrap();
        assert!(report.images > 0);
        assert!(!store.list_images(true, false, &Default::default()).unwrap().as_array().unwrap().is_empty());
    });
}

/// Every read of an imported walk case: the problems found, and the codes of the reads that
/// answered with an error (a read may refuse, with a code; it may not run away or panic).
async fn read_everything(store: &mut Store<MemoryBackend>) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut read_errors = Vec::new();
    let t = std::time::Instant::now();
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let ids: Vec<String> = list.as_array().unwrap().iter().map(|i| i["Id"].as_str().unwrap().to_string()).collect();
    eprintln!("  list: {:?}", t.elapsed());
    for id in &ids {
        for (what, r) in [
            ("inspect", store.inspect_image(id).map(drop)),
            ("history", store.image_history(id).map(drop)),
            ("parent", store.image_parent(id).map(drop)),
            ("children", store.image_children(id).map(drop)),
        ] {
            if let Err(e) = r {
                problems.push(format!("{what} {id}: {} {}", e.code, e.message));
                read_errors.push(e.code.as_str().to_string());
            }
        }
    }
    eprintln!("  inspect, history, parent, children: {:?}", t.elapsed());
    store.image_heads();
    if let Some(id) = ids.first() {
        if let Err(e) = store.layer_files(id, None, true).await {
            if e.message.is_empty() {
                problems.push(format!("layerFiles {id}: an error without a message"));
            }
        }
    }
    let containerd = store.containerd().clone();
    for ns in containerd.namespaces().await.unwrap() {
        let ns = containerd.namespace(&ns).unwrap();
        let images = ns.images().list(|_| true).await.unwrap();
        for row in imagestore::containerd::ls_view::image_rows(&ns.content(), &images).await {
            if let Some(e) = row.size_error {
                if e.message.is_empty() {
                    problems.push(format!("ctr images ls {}: an error without a message", row.name));
                }
                read_errors.push(e.code.as_str().to_string());
            }
        }
    }
    eprintln!("  layer files, ctr images ls: {:?}", t.elapsed());
    // Removing the images from the top (heads first, pruning parents) ends. Images in a parent
    // cycle each have a child, so dockerd refuses them with a conflict, and so does this store.
    loop {
        let mut progress = false;
        for head in store.image_heads() {
            match store.remove_image(head.as_str(), true, false).await {
                Ok(_) => progress = true,
                Err(e) if e.code.as_str() == "conflict" || e.code.as_str() == "not_found" => {}
                Err(e) => problems.push(format!("rmi {head}: {} {}", e.code, e.message)),
            }
        }
        if !progress {
            break;
        }
    }
    eprintln!("  rmi: {:?}", t.elapsed());
    (problems, read_errors)
}

#[test]
fn uploads_that_explode_when_walked_are_refused_or_answered_in_linear_time() {
    use corpus::walks::{walk_cases, Expect};
    let mut wrong = Vec::new();
    futures::executor::block_on(async {
        for case in walk_cases() {
            let started = std::time::Instant::now();
            let backend = MemoryBackend::with_capacity(512 << 20);
            let mut store = Store::open(backend.clone()).await.unwrap();
            let input = futures::stream::iter(vec![Ok(case.input.clone())]);
            let result = store.import(input, ImportOptions::default()).await;
            eprintln!("  import: {:?}", started.elapsed());
            match (&case.expect, result) {
                (Expect::Refused(code), Err(e)) => {
                    if e.code.as_str() != *code || e.message.is_empty() {
                        wrong.push(format!("{}: {} {:?}, want {code}", case.name, e.code, e.message));
                    }
                    if !backend.is_empty() {
                        wrong.push(format!("{}: the store is not empty afterwards", case.name));
                    }
                }
                (Expect::Refused(code), Ok(r)) => wrong.push(format!("{}: imported {r:?}, want {code}", case.name)),
                (Expect::Imported { .. }, Err(e)) => {
                    wrong.push(format!("{}: refused with {} {}", case.name, e.code, e.message))
                }
                (Expect::Imported { skipped, read_error }, Ok(report)) => {
                    if let Some(text) = skipped {
                        if !report.skipped.iter().any(|s| s.reason.contains(text)) {
                            wrong.push(format!("{}: no skipped entry says {text:?}: {:?}", case.name, report.skipped));
                        }
                    }
                    let (problems, read_errors) = read_everything(&mut store).await;
                    wrong.extend(problems.into_iter().map(|p| format!("{}: {p}", case.name)));
                    match read_error {
                        None if !read_errors.is_empty() => {
                            wrong.push(format!("{}: reads failed: {read_errors:?}", case.name))
                        }
                        Some(code) if !read_errors.iter().any(|c| c == code) => {
                            wrong.push(format!("{}: no read failed with {code}: {read_errors:?}", case.name))
                        }
                        _ => {}
                    }
                }
            }
            eprintln!("{}: {:?}", case.name, started.elapsed());
        }
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
