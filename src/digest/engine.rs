//! The SHA-256 engine behind [`super::Sha256Hasher`]: the host's own when it has one worth using
//! (Node's native `crypto.createHash("sha256")` under Node, several times faster than sha2
//! compiled to wasm; see [`crate::host`]), the Rust sha2 elsewhere. Browsers keep sha2:
//! WebCrypto's `digest` is one-shot and asynchronous, so it cannot stream.
//!
//! The first [`BATCH`] bytes are buffered. An input that ends before filling the buffer is
//! hashed in one go: by sha2 when it is under [`HOST_ONE_SHOT_MIN`] (IDs, chain IDs: creating a
//! host hash object costs more than hashing them), by the host above (image configs: in Node
//! the 10,000 configs of a large store hashed in 120 ms instead of 290 ms). Past the buffer,
//! bytes go to the host in batches of at least [`BATCH`] bytes, one call per batch.

use super::Digest;
use crate::host::{self, HostSha256};
use sha2::Digest as _;

/// Bytes gathered before a call into the host: large enough that the call's fixed cost vanishes
/// beside the hashing, small enough to be a fixed buffer.
pub(super) const BATCH: usize = 64 << 10;

/// An input that ended while buffered is hashed by the host from this size on: past it, one
/// host hash (three calls) costs less than sha2 in wasm.
const HOST_ONE_SHOT_MIN: usize = 1 << 10;

/// The name of the engine hashers made now use.
pub(super) fn engine_name() -> &'static str {
    host::sha256_engine().map_or("sha2", |(name, _)| name)
}

enum State {
    /// With a host engine, before [`BATCH`] bytes arrived: everything so far.
    Buffering(Vec<u8>),
    /// The host's hash, with the bytes not yet passed to it (fewer than [`BATCH`]).
    Host {
        hash: Box<dyn HostSha256>,
        batch: Vec<u8>,
    },
    Rust(sha2::Sha256),
}

/// Streaming SHA-256 on the best engine available (see the module comment).
pub(super) struct Engine(State);

impl Default for Engine {
    fn default() -> Self {
        Engine(match host::sha256_engine() {
            Some(_) => State::Buffering(Vec::new()),
            None => State::Rust(sha2::Sha256::new()),
        })
    }
}

impl Clone for Engine {
    fn clone(&self) -> Self {
        Engine(match &self.0 {
            // `fork()` copies the hash state; sharing the host's handle would share it.
            State::Host { hash, batch } => State::Host { hash: hash.fork(), batch: batch.clone() },
            State::Buffering(buf) => State::Buffering(buf.clone()),
            State::Rust(h) => State::Rust(h.clone()),
        })
    }
}

impl Engine {
    pub(super) fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            State::Rust(h) => h.update(data),
            State::Buffering(buf) if buf.len() + data.len() < BATCH => buf.extend_from_slice(data),
            State::Buffering(buf) => {
                let buffered = std::mem::take(buf);
                self.0 = match host::sha256_engine().and_then(|(_, host)| host.new_sha256()) {
                    Some(hash) => State::Host { hash, batch: buffered },
                    None => State::Rust(sha2::Sha256::new_with_prefix(&buffered)),
                };
                self.update(data);
            }
            State::Host { hash, batch } => {
                if batch.len() + data.len() < BATCH {
                    batch.extend_from_slice(data);
                    return;
                }
                if !batch.is_empty() {
                    hash.update(batch);
                    batch.clear();
                }
                if data.len() >= BATCH {
                    hash.update(data);
                } else {
                    batch.extend_from_slice(data);
                }
            }
        }
    }

    pub(super) fn finish(self) -> Digest {
        match self.0 {
            State::Buffering(buf) => one_shot(&buf),
            State::Rust(h) => Digest::from_sha256_bytes(&h.finalize().into()),
            State::Host { mut hash, batch } => {
                if !batch.is_empty() {
                    hash.update(&batch);
                }
                from_host_hex(hash.finish_hex())
            }
        }
    }
}

/// The SHA-256 of a whole input: by the host from [`HOST_ONE_SHOT_MIN`] bytes on (when it has an
/// engine), by sha2 below that.
pub(super) fn one_shot(data: &[u8]) -> Digest {
    if data.len() >= HOST_ONE_SHOT_MIN {
        if let Some(mut hash) = host::sha256_engine().and_then(|(_, host)| host.new_sha256()) {
            hash.update(data);
            return from_host_hex(hash.finish_hex());
        }
    }
    Digest::from_sha256_bytes(&sha2::Sha256::digest(data).into())
}

/// The digest of a host hash's hex text.
fn from_host_hex(hex: String) -> Digest {
    Digest(format!("sha256:{hex}").into())
}
