//! What the platform provides to the core: the time, random bits, liveness locks between the
//! programs that share a store, and optionally a faster SHA-256. The core asks [`get`]; natively
//! that is the standard library ([`StdHost`]); the wasm bindings install theirs
//! (`src/wasm/host.rs`: `Date.now`, `Math.random`, Web Locks, Node's crypto) before the first
//! call into the core, so that nothing below `src/wasm` names a JavaScript API.

use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::rc::Rc;

/// A streaming SHA-256 computed by the host.
pub trait HostSha256 {
    fn update(&mut self, data: &[u8]);
    /// An independent copy of the state so far.
    fn fork(&self) -> Box<dyn HostSha256>;
    fn finish_hex(self: Box<Self>) -> String;
}

pub trait Host {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
    /// Random bits (not for cryptography: they only keep sessions apart).
    fn random_u32(&self) -> u32;
    /// Takes the lock `name` for as long as this program runs; resolves once it is held (at once
    /// where the host has no such locks).
    fn hold_lock(&self, name: String) -> LocalBoxFuture<'static, ()>;
    /// The names of the locks held now by any program, or `None` where that cannot be known.
    fn held_locks(&self) -> LocalBoxFuture<'static, Option<Vec<String>>>;
    /// The name of the host's own SHA-256 (`"node:crypto"`), if it has one worth using.
    fn sha256_engine(&self) -> Option<&'static str> {
        None
    }
    /// A new hash on the host's SHA-256 (`None`: use the crate's own).
    fn new_sha256(&self) -> Option<Box<dyn HostSha256>> {
        None
    }
}

/// The standard library's clock; no locks (liveness unknown), no SHA-256 of its own.
#[cfg(not(target_arch = "wasm32"))]
pub struct StdHost;

#[cfg(not(target_arch = "wasm32"))]
impl Host for StdHost {
    fn now_millis(&self) -> u64 {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        t.as_millis() as u64
    }
    fn random_u32(&self) -> u32 {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        t.subsec_nanos() ^ std::process::id()
    }
    fn hold_lock(&self, _name: String) -> LocalBoxFuture<'static, ()> {
        Box::pin(async {})
    }
    fn held_locks(&self) -> LocalBoxFuture<'static, Option<Vec<String>>> {
        Box::pin(async { None })
    }
}

thread_local! {
    static HOST: RefCell<Option<Rc<dyn Host>>> = const { RefCell::new(None) };
}

/// Makes `host` the one the core asks from now on.
pub fn install(host: Rc<dyn Host>) {
    HOST.with(|h| *h.borrow_mut() = Some(host));
}

/// Whether a host was installed.
pub fn installed() -> bool {
    HOST.with(|h| h.borrow().is_some())
}

/// The installed host; natively [`StdHost`] when none was.
///
/// # Panics
/// On wasm when no host was installed: the bindings install one whenever a store is opened
/// (`imagestore::wasm::install_host`), and a wasm program without a clock is a bug.
pub fn get() -> Rc<dyn Host> {
    if let Some(host) = HOST.with(|h| h.borrow().clone()) {
        return host;
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let host: Rc<dyn Host> = Rc::new(StdHost);
        install(host.clone());
        host
    }
    #[cfg(target_arch = "wasm32")]
    panic!(
        "imagestore: no platform host installed (imagestore::wasm::install_host() installs the browser's and Node's)"
    )
}

/// The installed host's SHA-256 engine, without installing a default (hashing works before any
/// store is opened: with the crate's own SHA-256).
pub(crate) fn sha256_engine() -> Option<(&'static str, Rc<dyn Host>)> {
    let host = HOST.with(|h| h.borrow().clone())?;
    Some((host.sha256_engine()?, host))
}
