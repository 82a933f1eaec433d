//! The malformed-upload corpus (tests/corpus) natively: every case is refused with its code,
//! the backend holds nothing afterwards, and the same store then imports the good fixture.
#![cfg(not(target_arch = "wasm32"))]

mod corpus;

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
