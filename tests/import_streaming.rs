//! Large inputs stream through in bounded memory, with progress at a bounded rate.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use imagestore::import::{ImportOptions, Importer, Phase, Progress};
use imagestore::storage::memory::MemoryBackend;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use support::import::*;

const JUNK: u64 = 64 << 20;
const PIECE: usize = 1 << 20;

/// Feeds `push` the pieces of a tar made of a 64 MiB zero-filled layer content file followed
/// by the basic store; the zeros are generated piece by piece, never held whole.
fn stream_tar_with_junk(mut push: impl FnMut(&[u8])) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(JUNK);
    h.set_path("overlay2/0123456789abcdef/diff/var/junk.bin").unwrap();
    h.set_cksum();
    push(h.as_bytes());
    let zeros = vec![0u8; PIECE];
    for _ in 0..JUNK / PIECE as u64 {
        push(&zeros);
    }
    // 64 MiB is a multiple of 512: no padding. The fixture brings its own end blocks.
    for piece in fixture("docker20/basic/image-store.tar").chunks(PIECE) {
        push(piece);
    }
}

fn basic_summary() -> String {
    let (f, _) = import_chunked(&fixture("docker20/basic/image-store.tar"), 65536);
    summary(docker(&f.unwrap()))
}

fn recording_options(log: &Rc<RefCell<Vec<Progress>>>) -> ImportOptions {
    let log = log.clone();
    ImportOptions {
        bytes_total: None,
        on_progress: Some(Box::new(move |p: &Progress| {
            log.borrow_mut().push(p.clone());
            Ok(())
        })),
        is_cancelled: None,
        ..Default::default()
    }
}

#[test]
fn a_64_mib_junk_file_streams_through_plain_and_gzip() {
    let want = basic_summary();
    for gzip_it in [false, true] {
        let backend = MemoryBackend::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut importer = Importer::new(recording_options(&log));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut total = 0u64;
        stream_tar_with_junk(|piece| {
            let bytes = if gzip_it {
                encoder.write_all(piece).unwrap();
                std::mem::take(encoder.get_mut())
            } else {
                piece.to_vec()
            };
            total += bytes.len() as u64;
            futures::executor::block_on(importer.push(&backend, &bytes)).unwrap();
        });
        if gzip_it {
            let tail = encoder.finish().unwrap();
            total += tail.len() as u64;
            futures::executor::block_on(importer.push(&backend, &tail)).unwrap();
        }
        let f = futures::executor::block_on(importer.finish(&backend)).unwrap();
        assert_eq!(summary(docker(&f)), want, "gzip: {gzip_it}");
        assert_eq!(f.report.bytes, total);

        let log = log.borrow();
        let last = log.last().unwrap();
        assert_eq!((last.phase, last.images, last.bytes_read), (Phase::Done, 22, total));
        assert!(log.windows(2).all(|w| w[0].bytes_read <= w[1].bytes_read));
        assert_eq!(log.iter().filter(|p| p.phase == Phase::Restoring).count(), 1);
        // Bounded rate: about one report per MiB read, plus the phase changes.
        assert!(log.len() as u64 <= total / (1 << 20) + 4, "{} reports for {total} bytes", log.len());
        if !gzip_it {
            assert!(log.len() >= 60, "a report every MiB: {}", log.len());
        }
    }
}

#[test]
fn tiny_chunks_do_not_flood_the_progress_callback() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tar = fixture("docker20/basic/image-store.tar");
    let (f, _) = import_with(&tar, 1, recording_options(&log));
    f.unwrap();
    let phases: Vec<Phase> = log.borrow().iter().map(|p| p.phase).collect();
    assert_eq!(phases, vec![Phase::Reading, Phase::Restoring, Phase::Done], "{:?}", log.borrow());
}
