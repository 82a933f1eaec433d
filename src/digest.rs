//! Content digests (`sha256:<hex>`), streaming SHA-256, Docker's short IDs, and the prefix
//! search set that `docker` uses to resolve partial image IDs.

use crate::bytes_hasher::BytesHasher;
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

/// A map keyed by digests (or references to them). Their text is a hash already: SipHash over
/// its 71 bytes was most of what a search over 10,000 images spent on its per-layer maps, and a
/// third of reading the config summary when a store opens.
pub type DigestMap<K, V> = HashMap<K, V, BuildHasherDefault<BytesHasher>>;
/// A set of digests (or references to them), hashed as [`DigestMap`] keys are.
pub type DigestHashSet<K> = HashSet<K, BuildHasherDefault<BytesHasher>>;

mod engine;
use engine::Engine;

/// A SHA-256 being worked out elsewhere (the host hashing bytes it holds itself), awaited
/// where the digest is needed.
pub type PendingDigest = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Digest>>>>;

/// A validated content digest: `algorithm ":" encoded`, e.g. `sha256:4a5b…`.
///
/// Shared text: the stores hold the same digest in many places (an image's ID in the image
/// map, its parent's children, the references; a layer's ChainID in every chain above it),
/// and a copy is a count, not an allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest(Rc<str>);

/// The order of the text (as `str`'s, which [`Digest`]'s `Borrow<str>` requires), worked out
/// eight bytes at a time. The maps of an open store compare digests some hundred thousand
/// times; each comparison through `memcmp` is a call, and in the wasm build a loop over single
/// bytes across the `sha256:` that every digest starts with. The same shared text is equal
/// without a look at it.
impl Ord for Digest {
    fn cmp(&self, other: &Digest) -> std::cmp::Ordering {
        if Rc::ptr_eq(&self.0, &other.0) {
            return std::cmp::Ordering::Equal;
        }
        compare_text(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl PartialOrd for Digest {
    fn partial_cmp(&self, other: &Digest) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// `a.cmp(b)` for byte strings, eight bytes at a time: the first word that differs has its
/// first differing byte at its lowest set byte of `x ^ y` (the words read little-endian, which
/// wasm and x86 load as they are).
fn compare_text(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let common = a.len().min(b.len());
    let mut at = 0;
    while at + 8 <= common {
        let x = u64::from_le_bytes(a[at..at + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        if x != y {
            let shift = (x ^ y).trailing_zeros() / 8 * 8;
            return ((x >> shift) & 0xff).cmp(&((y >> shift) & 0xff));
        }
        at += 8;
    }
    a[at..].cmp(&b[at..])
}

/// The algorithms the daemons accept (go-digest registers these three), with their hex lengths.
const KNOWN_ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

impl Digest {
    /// Parses and validates a digest string per the OCI grammar, with exact hex length and
    /// lowercase hex for the registered algorithms. The error names the bad input.
    pub fn parse(s: &str) -> Result<Digest> {
        // Nearly every digest a store holds is sha256: one pass over its bytes (opening a
        // 10,000-image store parses ~60,000 of them).
        if let Some(hex) = s.strip_prefix("sha256:") {
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Ok(Digest(s.into()));
            }
        }
        let (alg, enc) = s
            .split_once(':')
            .ok_or_else(|| Error::invalid(format!("invalid digest {s:?}: missing \"algorithm:\" prefix")))?;
        if !valid_algorithm_grammar(alg) {
            return Err(Error::invalid(format!("invalid digest {s:?}: bad algorithm name {alg:?}")));
        }
        if enc.is_empty() || !enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b)) {
            return Err(Error::invalid(format!("invalid digest {s:?}: bad encoded part")));
        }
        let Some(&(_, len)) = KNOWN_ALGORITHMS.iter().find(|(a, _)| *a == alg) else {
            return Err(Error::invalid(format!("unsupported digest algorithm {alg:?} in {s:?}")));
        };
        if enc.len() != len {
            return Err(Error::invalid(format!(
                "invalid digest {s:?}: {alg} needs {len} hex characters, found {}",
                enc.len()
            )));
        }
        if !enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::invalid(format!("invalid digest {s:?}: hex must be lowercase [0-9a-f]")));
        }
        Ok(Digest(s.into()))
    }

    /// `sha256:<hex>` from a bare 64-character hex string (as in file names under `sha256/`).
    pub fn from_sha256_hex(hex: &str) -> Result<Digest> {
        Digest::parse(&format!("sha256:{hex}"))
    }

    /// The 32 bytes of a `sha256:` digest (`None` for other algorithms), for compact records.
    pub fn sha256_bytes(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(self.0.strip_prefix("sha256:")?, &mut out).ok()?;
        Some(out)
    }

    /// The text of the `sha256:` digest of 32 bytes, without allocating (see [`Digest::sha256_bytes`]).
    pub fn sha256_text(bytes: &[u8; 32]) -> [u8; 71] {
        let mut text = [0u8; 71];
        text[..7].copy_from_slice(b"sha256:");
        // A plain indexed loop: the `hex` crate's iterator chain is not inlined in the
        // size-optimised wasm build, and an open spells 10,000 image IDs this way.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in bytes.iter().enumerate() {
            text[7 + 2 * i] = HEX[usize::from(b >> 4)];
            text[8 + 2 * i] = HEX[usize::from(b & 15)];
        }
        text
    }

    /// The `sha256:` digest of 32 bytes (see [`Digest::sha256_bytes`]).
    pub fn from_sha256_bytes(bytes: &[u8; 32]) -> Digest {
        let text = Digest::sha256_text(bytes);
        Digest(std::str::from_utf8(&text).expect("ASCII").into())
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        // Not through a `Sha256Hasher`: that would first copy the input into its buffer.
        engine::one_shot(bytes)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or("")
    }
    /// The encoded (hex) part, without the algorithm.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map(|(_, h)| h).unwrap_or("")
    }
    /// The 12-character ID that `docker images` prints.
    pub fn short_id(&self) -> &str {
        &self.hex()[..12]
    }
}

fn valid_algorithm_grammar(alg: &str) -> bool {
    // component (separator component)*, component = [a-z0-9]+, separator = [+._-]
    !alg.is_empty()
        && alg
            .split(['+', '.', '_', '-'])
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Lookups by text (`HashSet<Digest>::get(&str)`): hashing, equality and order are those of
/// the text, as derived.
impl std::borrow::Borrow<str> for Digest {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}
impl std::str::FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Digest::parse(s)
    }
}
impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // A visitor rather than `String::deserialize`: the text is checked where it lies and
        // copied once.
        struct DigestText;
        impl serde::de::Visitor<'_> for DigestText {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a digest string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Digest, E> {
                Digest::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_str(DigestText)
    }
}

/// Which SHA-256 implementation [`Sha256Hasher`] uses here: the host's (`"node:crypto"`: wasm
/// under Node) or `"sha2"`. For benchmarks and diagnostics.
pub fn sha256_engine() -> &'static str {
    engine::engine_name()
}

/// Streaming SHA-256: feed chunks, get the digest and the byte count at the end.
#[derive(Clone, Default)]
pub struct Sha256Hasher {
    inner: Engine,
    len: u64,
}

impl Sha256Hasher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, chunk: &[u8]) {
        self.inner.update(chunk);
        self.len += chunk.len() as u64;
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn finish(self) -> Digest {
        self.inner.finish()
    }
}

impl std::io::Write for Sha256Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Outcome of a [`DigestSet::lookup`] that did not find exactly one digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    NotFound,
    Ambiguous,
}

/// Prefix search over digests with go-digest's `digestset` semantics, which `docker` uses to
/// resolve short image IDs: no minimum length, `sha256:<prefix>` allowed, and ambiguity is
/// only checked against the next entry in sorted order.
#[derive(Clone, Default, Debug)]
pub struct DigestSet {
    /// Sorted by (hex, algorithm), as go-digest sorts them; a persistent set, so a copy of a
    /// store's state shares it and an insert or removal costs O(log n) (not a copy of all).
    entries: imbl::OrdSet<(String, String)>,
}

impl DigestSet {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn insert(&mut self, d: &Digest) {
        self.entries.insert((d.hex().to_string(), d.algorithm().to_string()));
    }
    pub fn remove(&mut self, d: &Digest) {
        self.entries.remove(&(d.hex().to_string(), d.algorithm().to_string()));
    }

    pub fn lookup(&self, term: &str) -> std::result::Result<Digest, LookupError> {
        let (alg, prefix) = lookup_term(term);
        // The entries at or after (prefix, alg) in sorted order.
        let from = (prefix.to_string(), alg.unwrap_or("").to_string());
        let (h, a) = resolve(
            self.entries.range(from..),
            |(h, a)| h.starts_with(prefix) && alg.is_none_or(|want| want == a),
            |(h, _)| h == prefix,
        )?;
        Ok(Digest(format!("{a}:{h}").into()))
    }

    pub fn iter(&self) -> impl Iterator<Item = Digest> + '_ {
        self.entries.iter().map(|(h, a)| Digest(format!("{a}:{h}").into()))
    }
}

/// A lookup term as `alg:hex` (a valid algorithm and some hex) or, when it is not even shaped
/// like that, a hex prefix taken whole.
fn lookup_term(term: &str) -> (Option<&str>, &str) {
    match term.split_once(':') {
        Some((a, h)) if valid_algorithm_grammar(a) && !h.is_empty() => (Some(a), h),
        _ => (None, term),
    }
}

/// go-digest's rule over the entries at or after a term's place in sorted order: the first must
/// match the term; an exact match is the answer; a second match makes the term ambiguous.
fn resolve<T>(
    mut from: impl Iterator<Item = T>,
    matches: impl Fn(&T) -> bool,
    exact: impl Fn(&T) -> bool,
) -> std::result::Result<T, LookupError> {
    let first = from.next().filter(&matches).ok_or(LookupError::NotFound)?;
    if exact(&first) || !from.next().is_some_and(|next| matches(&next)) {
        Ok(first)
    } else {
        Err(LookupError::Ambiguous)
    }
}

/// [`DigestSet::lookup`] among digests that are all sha256, as an ordered map's keys hold them
/// (`from(probe)` yields the keys at or after `probe`): with one algorithm, text order is hex
/// order, so no set of (hex, algorithm) pairs needs making. Moby's image IDs are all sha256.
pub fn lookup_sha256_keys<'a, I: Iterator<Item = &'a Digest>>(
    term: &str,
    from: impl FnOnce(&Digest) -> I,
) -> std::result::Result<Digest, LookupError> {
    let (alg, prefix) = lookup_term(term);
    if alg.is_some_and(|a| a != "sha256") {
        return Err(LookupError::NotFound);
    }
    let from = from(&Digest(format!("sha256:{prefix}").into()));
    resolve(from, |d| d.hex().starts_with(prefix), |d| d.hex() == prefix).cloned()
}

/// ChainID of a list of DiffIDs (OCI image-spec identity): the first DiffID, then
/// `sha256("<chain> <diff>")` for each next one. `None` for an empty list.
/// The chain IDs of every prefix of `diff_ids` (`[0..=0]`, `[0..=1]`, …), each from the one
/// before: linear, where calling [`chain_id`] per prefix is quadratic in the layer count.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(chain) => chain_step(chain, d),
        };
        out.push(next);
    }
    out
}

pub fn chain_id(diff_ids: &[Digest]) -> Option<Digest> {
    let mut it = diff_ids.iter();
    let mut chain = it.next()?.clone();
    for d in it {
        chain = chain_step(&chain, d);
    }
    Some(chain)
}

/// Remembered chain steps at most, before the memo starts again (a few MB).
const CHAIN_MEMO_MAX: usize = 1 << 16;

thread_local! {
    /// `(chain, diff id) -> next chain`. Images of one store share their lower layers, so an
    /// import of 10,000 images asks for the same few thousand steps over and over; a lookup
    /// costs a fraction of the SHA-256 (wasm has no SHA instructions).
    static CHAIN_MEMO: std::cell::RefCell<DigestMap<(Digest, Digest), Digest>> = Default::default();
}

/// The chain ID of `diff` on top of `chain`: `sha256("<chain> <diff>")`.
fn chain_step(chain: &Digest, diff: &Digest) -> Digest {
    CHAIN_MEMO.with(|memo| {
        let key = (chain.clone(), diff.clone());
        if let Some(next) = memo.borrow().get(&key) {
            return next.clone();
        }
        let next = Digest::sha256_of(format!("{chain} {diff}").as_bytes());
        let mut memo = memo.borrow_mut();
        if memo.len() >= CHAIN_MEMO_MAX {
            memo.clear();
        }
        memo.insert(key, next.clone());
        next
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_order_as_their_text_does() {
        // Texts that share prefixes of every length, of other algorithms and lengths, and the
        // same text in two allocations.
        let mut texts: Vec<String> = (0u32..40).map(|i| Digest::sha256_of(&i.to_le_bytes()).to_string()).collect();
        let base = Digest::sha256_of(b"base").to_string();
        for cut in [8, 9, 15, 16, 17, 40, 70] {
            let mut t = base.clone().into_bytes();
            t[cut] = if t[cut] == b'0' { b'1' } else { b'0' };
            texts.push(String::from_utf8(t).unwrap());
        }
        texts.push(base.clone());
        texts.push(format!("sha384:{}", "a".repeat(96)));
        texts.push(format!("sha512:{}", "0".repeat(128)));
        texts.push(format!("sha512:{}", "0".repeat(127) + "1"));
        let digests: Vec<Digest> = texts.iter().map(|t| Digest::parse(t).unwrap()).collect();
        for (a, ta) in digests.iter().zip(&texts) {
            for (b, tb) in digests.iter().zip(&texts) {
                assert_eq!(a.cmp(b), ta.as_str().cmp(tb.as_str()), "{ta} against {tb}");
            }
        }
        assert_eq!(Digest::parse(&base).unwrap().cmp(&Digest::parse(&base).unwrap()), std::cmp::Ordering::Equal);
        // Byte strings of other lengths (the words and the rest).
        let words = [&b""[..], b"a", b"abcdefgh", b"abcdefghi", b"abcdefgg", b"abcdefghabcdefgh", b"abcdefghabcdefgi"];
        for a in words {
            for b in words {
                assert_eq!(compare_text(a, b), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn remembered_chain_steps_answer_as_the_hash_does_also_after_the_memo_starts_again() {
        let direct = |c: &Digest, d: &Digest| Digest::sha256_of(format!("{c} {d}").as_bytes());
        let base = Digest::sha256_of(b"base");
        let diffs: Vec<Digest> = (0..CHAIN_MEMO_MAX + 3).map(|i| Digest::sha256_of(&i.to_le_bytes())).collect();
        let first = chain_step(&base, &diffs[0]);
        assert_eq!(first, direct(&base, &diffs[0]));
        assert_eq!(chain_step(&base, &diffs[0]), first, "remembered");
        // The order of the pair matters: (a, b) is not (b, a).
        assert_eq!(chain_step(&diffs[0], &base), direct(&diffs[0], &base));
        for d in &diffs[1..] {
            chain_step(&base, d);
        }
        CHAIN_MEMO.with(|m| assert!(m.borrow().len() <= CHAIN_MEMO_MAX));
        assert_eq!(chain_step(&base, &diffs[0]), first, "after the memo started again");
        assert_eq!(chain_step(&base, &diffs[CHAIN_MEMO_MAX + 2]), direct(&base, &diffs[CHAIN_MEMO_MAX + 2]));
    }

    #[test]
    fn chain_ids_are_the_chain_id_of_each_prefix() {
        let ds: Vec<Digest> = (0..5).map(|i| Digest::sha256_of(format!("layer {i}").as_bytes())).collect();
        let all = chain_ids(&ds);
        assert_eq!(all.len(), 5);
        for n in 1..=5 {
            assert_eq!(Some(all[n - 1].clone()), chain_id(&ds[..n]));
        }
        assert!(chain_ids(&[]).is_empty());
    }

    const A: &str = "sha256:4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6a";

    #[test]
    fn parses_good_digests() {
        let d = Digest::parse(A).unwrap();
        assert_eq!(d.algorithm(), "sha256");
        assert_eq!(d.short_id(), "4a83ccda1595");
        let long = format!("sha512:{}", "ab".repeat(64));
        assert_eq!(Digest::parse(&long).unwrap().hex().len(), 128);
    }

    #[test]
    fn rejects_bad_digests_naming_the_input() {
        for bad in [
            "4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6a",
            "sha256:4A83CCDA15950E8F72620FB409C3DED7366E35B4D0E525499A968EFEF9EE2A6A",
            "sha256:abc",
            "sha256:",
            "SHA256:4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6a",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "sha256:4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6!",
            "",
        ] {
            let e = Digest::parse(bad).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidArgument, "{bad}");
            assert!(e.message.contains(&format!("{bad:?}")) || bad.is_empty(), "{}", e.message);
        }
    }

    #[test]
    fn the_sha256_fast_path_takes_only_what_the_grammar_takes() {
        // Near misses of the one-pass check fall to the full grammar and its messages.
        let hex = &A[7..];
        for bad in [
            format!("sha256:{}", &hex[..63]),
            format!("sha256:{hex}0"),
            format!("sha256:{}G", &hex[..63]),
            format!("sha256:{}A", &hex[..63]),
            format!("sha256 :{hex}"),
        ] {
            let e = Digest::parse(&bad).unwrap_err();
            assert!(e.message.contains(&format!("{bad:?}")), "{}", e.message);
        }
        assert_eq!(Digest::parse(A).unwrap().as_str(), A);
        // Deserializing checks the same way, from borrowed and from escaped JSON text.
        let d: Digest = serde_json::from_str(&format!("{A:?}")).unwrap();
        assert_eq!(d.as_str(), A);
        let escaped = format!("\"sha256\\u003a{hex}\"");
        assert_eq!(serde_json::from_str::<Digest>(&escaped).unwrap().as_str(), A);
        let e = serde_json::from_str::<Digest>("\"sha256:abc\"").unwrap_err();
        assert!(e.to_string().contains("sha256 needs 64 hex characters"), "{e}");
    }

    #[test]
    fn streaming_hash_equals_one_shot() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = Sha256Hasher::new();
        for c in data.chunks(4093) {
            h.update(c);
        }
        assert_eq!(h.len(), 100_000);
        assert_eq!(h.finish(), Digest::sha256_of(&data));
        assert_eq!(
            Digest::sha256_of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn chain_id_matches_the_spec_rule() {
        let empty_tar =
            Digest::parse("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef").unwrap();
        assert_eq!(chain_id(&[]), None);
        assert_eq!(chain_id(std::slice::from_ref(&empty_tar)), Some(empty_tar.clone()));
        let two = chain_id(&[empty_tar.clone(), empty_tar.clone()]).unwrap();
        assert_eq!(two, Digest::sha256_of(format!("{empty_tar} {empty_tar}").as_bytes()));
    }

    #[test]
    fn sha256_bytes_spell_out_as_lowercase_hex_and_back() {
        for seed in 0..64u32 {
            let d = Digest::sha256_of(&seed.to_le_bytes());
            let bytes = d.sha256_bytes().unwrap();
            assert_eq!(Digest::from_sha256_bytes(&bytes), d);
            assert_eq!(&Digest::sha256_text(&bytes)[7..], hex::encode(bytes).as_bytes());
        }
        let edges = [[0u8; 32], [0xff; 32], [0x0f; 32], [0xf0; 32]];
        for bytes in edges {
            assert_eq!(Digest::from_sha256_bytes(&bytes).as_str(), format!("sha256:{}", hex::encode(bytes)));
        }
    }

    #[test]
    fn sha256_key_lookup_answers_as_the_digest_set_does() {
        use std::collections::BTreeSet;
        // Digests sharing prefixes of every length up to 4 (1,500 of them over 16^3 starts).
        let all: Vec<Digest> = (0..1500u32).map(|i| Digest::sha256_of(i.to_string().as_bytes())).collect();
        for size in [0, 1, 2, 7, 1500] {
            let ids = &all[..size];
            let mut set = DigestSet::new();
            ids.iter().for_each(|d| set.insert(d));
            let keys: BTreeSet<Digest> = ids.iter().cloned().collect();
            let mut terms: Vec<String> =
                ["", "sha256", "sha256:", "sha512:ab", "SHA256:ab", "0", "ff", "zz", "a:b", "sha256:g"]
                    .iter()
                    .map(|t| t.to_string())
                    .collect();
            for d in ids.iter().take(60) {
                for n in [1, 2, 3, 4, 5, 12, 64] {
                    terms.push(d.hex()[..n].to_string());
                    terms.push(format!("sha256:{}", &d.hex()[..n]));
                    terms.push(d.hex()[..n].to_uppercase());
                }
            }
            terms.push(Digest::sha256_of(b"absent").to_string());
            for term in &terms {
                let by_keys = lookup_sha256_keys(term, |probe| keys.range::<Digest, _>(probe..));
                assert_eq!(by_keys, set.lookup(term), "{size} ids, term {term:?}");
            }
        }
    }

    #[test]
    fn digest_set_prefix_search() {
        let mut set = DigestSet::new();
        assert_eq!(set.lookup(""), Err(LookupError::NotFound));
        let a = Digest::parse(A).unwrap();
        set.insert(&a);
        // With one entry even the empty string resolves (no minimum length).
        assert_eq!(set.lookup(""), Ok(a.clone()));
        let b = Digest::from_sha256_hex("4a8f00000000000000000000000000000000000000000000000000000000beef").unwrap();
        set.insert(&b);
        assert_eq!(set.lookup("4a8"), Err(LookupError::Ambiguous));
        assert_eq!(set.lookup("4a83"), Ok(a.clone()));
        assert_eq!(set.lookup("sha256:4a8f"), Ok(b.clone()));
        assert_eq!(set.lookup(A), Ok(a.clone()));
        assert_eq!(set.lookup("4A83"), Err(LookupError::NotFound));
        assert_eq!(set.lookup("ffff"), Err(LookupError::NotFound));
        set.remove(&b);
        assert_eq!(set.lookup("4a8"), Ok(a));
    }
}
