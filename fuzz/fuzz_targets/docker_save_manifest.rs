#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| imagestore::fuzz_targets::docker_save_manifest(data));
