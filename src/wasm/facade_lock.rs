//! The lock the calls of one JS `Store` take turns on its façade with. It is an async mutex
//! that knows which call holds it, so that when that call is abandoned after a trap (see
//! [`super::panic`]) — its future leaked, its guard never to be dropped — the next call takes
//! the lock over: it puts a fresh façade in place and loads it from the backend (everything
//! committed is there; what the abandoned call had half-changed in memory is dropped).

use super::backend::AnyBackend;
use super::panic;
use crate::error::Result;
use futures::future::{select, Either};
use futures::lock::{Mutex, OwnedMutexGuard};
use std::cell::{Cell, RefCell};
use std::ops::{Deref, DerefMut};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;

/// The store façade the JS class wraps.
pub(super) type Facade = crate::store::Store<AnyBackend>;

pub(super) struct FacadeLock {
    // `Arc` only for `lock_owned` (the guard must own its way back to the mutex, which can be
    // replaced); everything here stays on one thread.
    current: RefCell<Arc<Mutex<Facade>>>,
    /// The call holding `current` (0: none, or a caller outside any guarded call).
    holder: Rc<Cell<u64>>,
    /// `current` was put in place of a lock an abandoned call held: load it before use.
    must_recover: Cell<bool>,
    /// What a replacement façade is built from.
    backend: AnyBackend,
    containerd: crate::containerd::Containerd<AnyBackend>,
}

/// Exclusive access to the façade until dropped.
pub(super) struct FacadeGuard {
    inner: OwnedMutexGuard<Facade>,
    holder: Rc<Cell<u64>>,
}

impl FacadeLock {
    #[allow(clippy::arc_with_non_send_sync)]
    pub(super) fn new(facade: Facade) -> Rc<Self> {
        let (backend, containerd) = (facade.backend().clone(), facade.containerd().clone());
        Rc::new(FacadeLock {
            current: RefCell::new(Arc::new(Mutex::new(facade))),
            holder: Rc::new(Cell::new(0)),
            must_recover: Cell::new(false),
            backend,
            containerd,
        })
    }

    /// Waits for the façade; takes it over from an abandoned holder.
    pub(super) async fn lock(&self) -> Result<FacadeGuard> {
        loop {
            let seen = panic::abandon_count();
            if panic::is_abandoned(self.holder.get()) {
                self.take_over();
            }
            let mutex = self.current.borrow().clone();
            let (acquire, abandoned) = (pin!(mutex.lock_owned()), pin!(panic::abandoned_since(seen)));
            let Either::Left((inner, _)) = select(acquire, abandoned).await else { continue };
            self.holder.set(panic::current_call());
            let mut guard = FacadeGuard { inner, holder: self.holder.clone() };
            if self.must_recover.get() {
                guard.recover().await?;
                self.must_recover.set(false);
            }
            return Ok(guard);
        }
    }

    /// The abandoned call's guard keeps the old mutex locked for ever, and the façade inside
    /// may be half-changed: a new one, loaded before its first use, takes its place.
    #[allow(clippy::arc_with_non_send_sync)]
    fn take_over(&self) {
        let fresh = Facade::unloaded(self.backend.clone(), self.containerd.clone());
        *self.current.borrow_mut() = Arc::new(Mutex::new(fresh));
        self.holder.set(0);
        self.must_recover.set(true);
    }
}

impl Drop for FacadeGuard {
    fn drop(&mut self) {
        self.holder.set(0);
    }
}

impl Deref for FacadeGuard {
    type Target = Facade;
    fn deref(&self) -> &Facade {
        &self.inner
    }
}

impl DerefMut for FacadeGuard {
    fn deref_mut(&mut self) -> &mut Facade {
        &mut self.inner
    }
}
