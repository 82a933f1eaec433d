//! A cheap hasher for hash-map keys that are already well spread (digests, paths).

use std::hash::Hasher;

/// A hasher for keys that are not chosen to collide (paths of the layers analysed, digests):
/// a multiply-and-rotate per 8 bytes, far cheaper than SipHash over a path or a digest's 71
/// bytes, which was most of what building a 50,000-file image's dive trees spent hashing.
#[derive(Default, Clone, Copy)]
pub struct BytesHasher(u64);

impl Hasher for BytesHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn finish(&self) -> u64 {
        // The multiply mixes into the high bits; the table indexes by the low ones.
        self.0.rotate_left(26)
    }
}

impl BytesHasher {
    #[inline]
    pub(crate) fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}
