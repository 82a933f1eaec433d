//! The IndexedDB backend: one database per store, one object store per [`Space`], string keys,
//! values stored as `Uint8Array`. Platform code (it talks to the browser's IndexedDB), so it
//! lives with the bindings; the core sees only the [`Backend`] trait.
//!
//! [`Backend::commit`] runs as ONE readwrite transaction over both object stores, so a commit is
//! all or nothing even across tabs. A staging blob's chunks after its first are the exception
//! ([`Backend::put_chunk`]): each is a transaction of its own that is not waited for, and the
//! blob's writer settles them before the blob can be published. Schema changes go through
//! IndexedDB versions: see [`SCHEMA_VERSION`] and [`upgrade`]. Other connections are respected
//! both ways: ours closes on `versionchange` (so another tab can upgrade or delete the
//! database), and when another connection does not close ours gives up after a timeout instead
//! of hanging.

use crate::error::{Error, ErrorCode, Result};
use crate::storage::{generation, memory, prepare_commit, Backend, Op, Space};
use futures::channel::oneshot;
use futures::future::{select, Either};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::factory::DBFactory;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use indexed_db_futures::KeyRange;
use js_sys::Uint8Array;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbTransaction, IdbTransactionMode};

thread_local! {
    /// Who is running now (the JS bindings' call id, 0 outside any call), and the readwrite
    /// transactions being filled, by who opened them.
    static OWNER: Cell<u64> = const { Cell::new(0) };
    static FILLING: RefCell<Vec<(u64, IdbTransaction)>> = const { RefCell::new(Vec::new()) };
}

/// Sets who runs from now on (the bindings call it around every poll of a call); returns the
/// previous owner.
pub fn set_owner(id: u64) -> u64 {
    OWNER.with(|o| o.replace(id))
}

/// Aborts the transactions `owner` was still filling: the bindings call it when they abandon a
/// call after a trap. A transaction left with part of its requests would otherwise commit by
/// itself once the event loop runs (IndexedDB commits a transaction with nothing pending).
pub fn abort_transactions_of(owner: u64) {
    let open = FILLING.with(|f| {
        let mut f = f.borrow_mut();
        let (theirs, rest) = std::mem::take(&mut *f).into_iter().partition(|(o, _)| *o == owner);
        *f = rest;
        theirs
    });
    for (_, tx) in open {
        let _ = tx.abort();
    }
}

/// A transaction registered in `FILLING` until this is dropped (a future abandoned after a
/// trap never drops it; then `abort_transactions_of` finds it).
struct Filling(IdbTransaction);

impl Filling {
    fn new(tx: &IdbTransaction) -> Self {
        let owner = OWNER.with(Cell::get);
        FILLING.with(|f| f.borrow_mut().push((owner, tx.clone())));
        Filling(tx.clone())
    }
}

impl Drop for Filling {
    fn drop(&mut self) {
        let _ = FILLING.try_with(|f| {
            if let Ok(mut f) = f.try_borrow_mut() {
                f.retain(|(_, tx)| tx != &self.0);
            }
        });
    }
}

/// The schema version this build writes. To change the schema, bump it and add a step to
/// [`upgrade`]; databases written by older builds are migrated when they are opened.
pub const SCHEMA_VERSION: u32 = 1;

/// How long an open or delete waits, once IndexedDB reports it `blocked` by another
/// connection, before giving up. Connections of this crate close on `versionchange`, so a
/// block that lasts is a connection that ignores it (an old tab, another program).
pub const DEFAULT_BLOCKED_TIMEOUT_MS: u32 = 5_000;

/// Tuning for [`IdbBackend::open_with`] and [`IdbBackend::destroy_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdbOptions {
    pub blocked_timeout_ms: u32,
}

impl Default for IdbOptions {
    fn default() -> Self {
        IdbOptions { blocked_timeout_ms: DEFAULT_BLOCKED_TIMEOUT_MS }
    }
}

/// A connection to one IndexedDB database. Clones share the connection; it closes when the
/// last clone is dropped, on [`IdbBackend::close`], or when another connection asks for a
/// version change (upgrade or deletion).
#[derive(Clone)]
pub struct IdbBackend {
    conn: Rc<Connection>,
}

struct Connection {
    name: String,
    db: Database,
    closed: Rc<Cell<Option<ClosedBy>>>,
    /// Tells the other connections to this database (other tabs, workers, `Store` objects) that
    /// a commit changed it, and hears them; `None` where there is no `BroadcastChannel`.
    channel: Option<web_sys::BroadcastChannel>,
    listeners: Listeners,
    _on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    /// Kept alive while the connection is: JS calls them on `versionchange` and `close`.
    _on_versionchange: Closure<dyn FnMut(web_sys::Event)>,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
    /// Chunk writes in flight, oldest first (see [`Backend::put_chunk`]).
    chunk_writes: RefCell<VecDeque<ChunkWrite>>,
    /// Chunk writes that failed, by chunk set, until [`Backend::settle_chunks`] reports them.
    chunk_failures: RefCell<Vec<(String, Error)>>,
    /// The one JS array a full chunk is copied into for its `put` (see `chunk_value`).
    chunk_buffer: RefCell<Option<Uint8Array>>,
}

/// A chunk's own transaction, committed but perhaps not done.
struct ChunkWrite {
    set: String,
    tx: IdbTransaction,
    /// Resolves on the transaction's `complete`, rejects on its `abort`.
    done: JsFuture,
}

/// How many chunk writes (1 MiB each) may be in flight before `put_chunk` waits for the oldest:
/// enough to keep IndexedDB busy while the importer hashes, few enough to bound what is held.
const CHUNK_WRITES_IN_FLIGHT: usize = 4;

/// Callbacks for [`IdbBackend::on_change`], by id.
type Listeners = Rc<RefCell<Vec<(u32, Rc<dyn Fn(Change)>)>>>;

/// What [`IdbBackend::on_change`] listeners hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Another connection committed a change: views read before are out of date.
    Changed,
    /// The connection was closed by another one (upgrade or deletion) or by the browser: the
    /// store must be opened again.
    Closed,
}

/// The `BroadcastChannel` name for database `name`.
pub fn channel_name(name: &str) -> String {
    format!("imagestore:{name}")
}

fn notify(listeners: &Listeners, change: Change) {
    // A copy, so that a listener may subscribe or unsubscribe while being called.
    let now: Vec<Rc<dyn Fn(Change)>> = listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
    for f in now {
        f(change);
    }
}

/// A `BroadcastChannel` that does not keep a Node process alive (Node's channels are ref'd).
fn open_channel(name: &str) -> Option<web_sys::BroadcastChannel> {
    let has =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("BroadcastChannel")).is_ok_and(|c| c.is_function());
    if !has {
        return None;
    }
    let channel = web_sys::BroadcastChannel::new(&channel_name(name)).ok()?;
    if let Ok(unref) = js_sys::Reflect::get(&channel, &JsValue::from_str("unref")) {
        if let Some(unref) = unref.dyn_ref::<js_sys::Function>() {
            let _ = unref.call0(&channel);
        }
    }
    Some(channel)
}

/// Why a connection is no longer usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClosedBy {
    /// [`IdbBackend::close`] was called.
    Caller,
    /// Another connection upgrades or deletes the database; we stepped aside.
    VersionChange,
    /// The browser closed it (storage cleared, disk error).
    Browser,
}

/// True when the JS global scope has an `indexedDB` (browsers, workers, Node with
/// `fake-indexeddb/auto` loaded).
pub fn indexeddb_available() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map(|f| !f.is_undefined() && !f.is_null())
        .unwrap_or(false)
}

/// The error for opening database `name` where there is no `indexedDB` (plain Node). It names
/// both ways out.
pub fn missing_indexeddb_error(name: &str) -> Error {
    Error::unavailable(format!(
        "cannot open IndexedDB database {name:?}: this environment has no global `indexedDB` \
         (plain Node.js has none). Use the in-memory backend, `Store.open(name, {{ backend: \"memory\" }})`, \
         or install the npm package `fake-indexeddb` and load it first (`import \"fake-indexeddb/auto\"`)"
    ))
}

fn factory(name: &str) -> Result<DBFactory> {
    if !indexeddb_available() {
        return Err(missing_indexeddb_error(name));
    }
    DBFactory::new().map_err(|e| open_error(name, "open", e))
}

impl IdbBackend {
    /// Opens (creating or upgrading if needed) the database `name`.
    pub async fn open(name: &str) -> Result<IdbBackend> {
        Self::open_with(name, &IdbOptions::default()).await
    }

    pub async fn open_with(name: &str, options: &IdbOptions) -> Result<IdbBackend> {
        super::host::install_host();
        let request = factory(name)?
            .open_db(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| upgrade(&db, event.old_version()))
            .build()
            .map_err(|e| open_error(name, "open", e))?;
        let raw: IdbOpenDbRequest = request.as_sys().clone();
        let db = match unless_blocked(name, &raw, request, options.blocked_timeout_ms).await {
            Some(opened) => opened.map_err(|e| open_error(name, "open", e))?,
            None => {
                abandon_open(&raw);
                return Err(Error::unavailable(format!(
                    "IndexedDB database {name:?}: opening is blocked by another connection (another tab \
                     or window?) that keeps an older version open; close it and try again"
                )));
            }
        };
        for space in Space::ALL {
            if !db.object_store_names().any(|n| n == space.name()) {
                db.close();
                return Err(Error::unavailable(format!(
                    "IndexedDB database {name:?} (version {}) has no object store {:?}: it was not \
                     written by imagestore; destroy it or pick another name",
                    SCHEMA_VERSION,
                    space.name()
                )));
            }
        }
        Ok(IdbBackend { conn: Rc::new(Connection::new(name.to_string(), db)) })
    }

    /// Deletes the database `name` and everything in it. Open connections of this crate close
    /// themselves; a foreign connection that stays open makes this fail after the timeout.
    pub async fn destroy(name: &str) -> Result<()> {
        Self::destroy_with(name, &IdbOptions::default()).await
    }

    pub async fn destroy_with(name: &str, options: &IdbOptions) -> Result<()> {
        let request = factory(name)?.delete_db(name).map_err(|e| idb_error(name, "delete", e))?;
        let raw: IdbOpenDbRequest = request.as_sys().clone().unchecked_into();
        match unless_blocked(name, &raw, request, options.blocked_timeout_ms).await {
            Some(done) => done.map_err(|e| idb_error(name, "delete", e)),
            None => Err(Error::unavailable(format!(
                "IndexedDB database {name:?}: deletion is blocked by another connection (another tab \
                 or window?) that keeps it open; the database will be deleted once that connection closes"
            ))),
        }
    }

    pub fn name(&self) -> &str {
        &self.conn.name
    }

    /// Closes the connection; later calls fail with `failed_precondition`.
    pub fn close(&self) {
        self.conn.close(ClosedBy::Caller);
    }

    /// Calls `f` whenever another connection to this database (another tab, worker or `Store`
    /// object) committed a change, and when this connection is closed by another one or by the
    /// browser. Returns an id for [`off_change`](Self::off_change).
    pub fn on_change(&self, f: impl Fn(Change) + 'static) -> u32 {
        let mut listeners = self.conn.listeners.borrow_mut();
        let id = listeners.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
        listeners.push((id, Rc::new(f)));
        id
    }

    pub fn off_change(&self, id: u32) {
        self.conn.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// True once the connection is closed, by [`close`](Self::close) or by another connection.
    pub fn is_closed(&self) -> bool {
        self.conn.closed.get().is_some()
    }

    /// The open database, or why it is not usable for `op`.
    fn live(&self, op: &str) -> Result<&Database> {
        let name = &self.conn.name;
        match self.conn.closed.get() {
            None => Ok(&self.conn.db),
            Some(ClosedBy::Caller) => {
                Err(Error::precondition(format!("IndexedDB database {name:?}: {op} after close()")))
            }
            Some(ClosedBy::VersionChange) => Err(Error::unavailable(format!(
                "IndexedDB database {name:?}: {op} failed: the connection was closed because another \
                 connection upgraded or deleted the database; open the store again"
            ))),
            Some(ClosedBy::Browser) => Err(Error::unavailable(format!(
                "IndexedDB database {name:?}: {op} failed: the browser closed the connection \
                 (storage cleared?); open the store again"
            ))),
        }
    }

    fn fail(&self, op: &str) -> impl Fn(IdbError) -> Error + '_ {
        let name = self.conn.name.clone();
        let op = op.to_string();
        move |e| idb_error(&name, &op, e)
    }
}

impl Connection {
    fn new(name: String, db: Database) -> Connection {
        let closed = Rc::new(Cell::new(None));
        let listeners: Listeners = Rc::default();
        let raw: IdbDatabase = (**db.as_sys()).clone();
        let on_versionchange = {
            let (raw, closed, listeners) = (raw.clone(), closed.clone(), listeners.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                raw.close();
                closed.set(Some(ClosedBy::VersionChange));
                notify(&listeners, Change::Closed);
            })
        };
        let on_close = {
            let (closed, listeners) = (closed.clone(), listeners.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                closed.set(Some(ClosedBy::Browser));
                notify(&listeners, Change::Closed);
            })
        };
        raw.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let channel = open_channel(&name);
        let on_message = channel.as_ref().map(|channel| {
            let (closed, listeners) = (closed.clone(), listeners.clone());
            let f = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                if closed.get().is_none() {
                    notify(&listeners, Change::Changed);
                }
            });
            channel.set_onmessage(Some(f.as_ref().unchecked_ref()));
            f
        });
        Connection {
            name,
            db,
            closed,
            channel,
            listeners,
            _on_message: on_message,
            chunk_writes: RefCell::default(),
            chunk_failures: RefCell::default(),
            chunk_buffer: RefCell::default(),
            _on_versionchange: on_versionchange,
            _on_close: on_close,
        }
    }

    /// Tells the other connections that a commit changed the database.
    fn announce_change(&self) {
        if let Some(channel) = &self.channel {
            let _ = channel.post_message(&JsValue::from_str("changed"));
        }
    }

    fn raw(&self) -> &IdbDatabase {
        self.db.as_sys()
    }

    fn close(&self, why: ClosedBy) {
        if self.closed.get().is_none() {
            self.closed.set(Some(why));
        }
        self.raw().close();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        self.raw().set_onversionchange(None);
        self.raw().set_onclose(None);
        self.raw().close();
    }
}

/// Brings the schema from `_old_version` (0 for a new database) to [`SCHEMA_VERSION`], step
/// by step. Runs inside the `versionchange` transaction, so a failing step aborts the upgrade
/// and leaves the database as it was.
fn upgrade(db: &Database, _old_version: f64) -> indexed_db_futures::Result<()> {
    // Version 1: one object store per key space, out-of-line string keys. Written as "create
    // what is missing" so that it also repairs a database whose stores were lost.
    for space in Space::ALL {
        if !db.object_store_names().any(|n| n == space.name()) {
            db.create_object_store(space.name()).build()?;
        }
    }
    // Later versions add steps here: `if old_version < 2.0 { ... }`.
    Ok(())
}

/// Keys that start with `prefix`: [prefix, prefix + U+FFFF). IndexedDB orders strings by
/// UTF-16 code units, so this holds every key with the prefix except ones continuing with a
/// literal U+FFFF, which keys of this crate never contain.
fn prefix_range(prefix: &str) -> KeyRange<String> {
    if prefix.is_empty() {
        KeyRange::LowerBound(String::new(), false)
    } else {
        KeyRange::Bound(prefix.to_string(), false, format!("{prefix}\u{ffff}"), true)
    }
}

fn bytes_from_js(value: JsValue, db: &str, space: Space, key: &str) -> Result<Vec<u8>> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        Ok(bytes.to_vec())
    } else if value.is_instance_of::<js_sys::ArrayBuffer>() {
        Ok(Uint8Array::new(&value).to_vec())
    } else {
        Err(Error::corrupt(format!("IndexedDB database {db:?}: value of {key:?} in {:?} is not bytes", space.name())))
    }
}

/// [`bytes_from_js`], and a chunk stored from a File slice (a Blob: see `put_host_chunk`) read.
async fn value_bytes(value: JsValue, db: &str, space: Space, key: &str) -> Result<Vec<u8>> {
    let Some(blob) = value.dyn_ref::<web_sys::Blob>() else {
        return bytes_from_js(value, db, space, key);
    };
    let read = JsFuture::from(blob.array_buffer()).await.map_err(|e| {
        Error::unavailable(format!(
            "IndexedDB database {db:?}: reading the value of {key:?} in {:?}: {}",
            space.name(),
            super::convert::js_error_message(&e)
        ))
    })?;
    bytes_from_js(read, db, space, key)
}

impl Backend for IdbBackend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        let fail = self.fail("get");
        let db = self.live("get")?;
        let tx = db.transaction(space.name()).build().map_err(&fail)?;
        let store = tx.object_store(space.name()).map_err(&fail)?;
        let value: Option<JsValue> = store.get(key).primitive().map_err(&fail)?.await.map_err(&fail)?;
        match value {
            Some(v) => Ok(Some(value_bytes(v, self.name(), space, key).await?)),
            None => Ok(None),
        }
    }

    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let fail = self.fail("scan");
        let db = self.live("scan")?;
        let tx = db.transaction(space.name()).build().map_err(&fail)?;
        let store = tx.object_store(space.name()).map_err(&fail)?;
        // Both requests read the same snapshot (one transaction) and return key order.
        let keys =
            store.get_all_keys::<String>().with_query::<String, _>(prefix_range(prefix)).primitive().map_err(&fail)?;
        let values =
            store.get_all::<JsValue>().with_query::<String, _>(prefix_range(prefix)).primitive().map_err(&fail)?;
        let keys = keys.await.map_err(&fail)?.collect::<indexed_db_futures::Result<Vec<String>>>().map_err(&fail)?;
        let values = values.await.map_err(&fail)?;
        let mut out = Vec::with_capacity(keys.len());
        for (key, value) in keys.into_iter().zip(values) {
            let bytes = value_bytes(value.map_err(&fail)?, self.name(), space, &key).await?;
            out.push((key, bytes));
        }
        Ok(out)
    }

    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>> {
        let fail = self.fail("keys");
        let db = self.live("keys")?;
        let tx = db.transaction(space.name()).build().map_err(&fail)?;
        let store = tx.object_store(space.name()).map_err(&fail)?;
        let keys =
            store.get_all_keys::<String>().with_query::<String, _>(prefix_range(prefix)).primitive().map_err(&fail)?;
        let keys = keys.await.map_err(&fail)?;
        keys.collect::<indexed_db_futures::Result<Vec<String>>>().map_err(&fail)
    }

    async fn commit(&self, mut ops: Vec<Op>) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let prepared = prepare_commit(&mut ops)?;
        self.commit_prepared(ops, prepared).await
    }

    /// A chunk that is not its set's first goes out in a transaction of its own, which is not
    /// waited for: the importer reads and hashes the next megabyte meanwhile, where it used to
    /// sit idle for each chunk's transaction (about a third of a 200 MB `docker save` import in
    /// Chromium). A set's first chunk commits with the session marker (see
    /// [`crate::storage::sessions`]), as every other commit does.
    async fn put_chunk(&self, put: Op) -> Result<()> {
        let mut ops = vec![put];
        let prepared = prepare_commit(&mut ops)?;
        let [Op::Put { space: Space::Chunks, .. }] = &ops[..] else {
            return self.commit_prepared(ops, prepared).await;
        };
        if !prepared.is_empty() {
            return self.commit_prepared(ops, prepared).await;
        }
        let Some(Op::Put { key, value, .. }) = ops.pop() else { unreachable!("one chunk put") };
        self.write_behind(key, || self.chunk_value(&value).into()).await?;
        prepared.committed();
        Ok(())
    }

    async fn settle_chunks(&self, set: &str) -> Result<()> {
        while !self.conn.chunk_writes.borrow().is_empty() {
            self.await_oldest_chunk_write().await;
        }
        let mut failures = self.conn.chunk_failures.borrow_mut();
        match failures.iter().position(|(s, _)| s == set) {
            Some(i) => Err(failures.remove(i).1),
            None => Ok(()),
        }
    }

    fn takes_host_chunks(&self) -> bool {
        true
    }

    /// A File slice is stored as the Blob it is: the browser copies its bytes into the database
    /// itself, and they never pass through the page (a `put` of 1 MiB of bytes copies them on
    /// the page's thread: a quarter of a 200 MB `docker load` there). Reads turn it back into
    /// bytes ([`value_bytes`]).
    async fn put_host_chunk(&self, key: String, value: crate::storage::HostValue) -> Result<()> {
        let Some(blob) = value.downcast_ref::<JsValue>().filter(|v| v.is_instance_of::<web_sys::Blob>()) else {
            return Err(Error::invalid(format!("chunk {key}: the host value is not a Blob")));
        };
        self.write_behind(key, || blob.clone()).await
    }
}

impl IdbBackend {
    /// Puts one chunk in a transaction of its own that is not waited for (see `put_chunk`);
    /// `value` is made once a slot is free.
    async fn write_behind(&self, key: String, value: impl FnOnce() -> JsValue) -> Result<()> {
        while self.conn.chunk_writes.borrow().len() >= CHUNK_WRITES_IN_FLIGHT {
            self.await_oldest_chunk_write().await;
        }
        let db = self.live("commit")?;
        let fail = |e: JsValue| error_from_js(self.name(), "commit", &e);
        let raw_db: &IdbDatabase = db.as_sys();
        let tx =
            raw_db.transaction_with_str_and_mode(Space::Chunks.name(), IdbTransactionMode::Readwrite).map_err(fail)?;
        let done = transaction_done(&tx);
        // The put and the commit go out together, with no await between them.
        let store = tx.object_store(Space::Chunks.name()).map_err(fail)?;
        store.put_with_key(&value(), &JsValue::from_str(&key)).map_err(fail)?;
        #[allow(deprecated)] // web-sys marks `IDBTransaction.commit()` deprecated; it is standard.
        tx.commit().map_err(fail)?;
        let set = key.rsplit_once('/').map_or(key.as_str(), |(set, _)| set).to_string();
        self.conn.chunk_writes.borrow_mut().push_back(ChunkWrite { set, tx, done });
        Ok(())
    }

    /// The JS value a chunk is put as. `put` clones its value before it returns (the structured
    /// clone is part of the call), so a full chunk is copied into one array kept for the
    /// purpose: a 200 MB import no longer leaves 200 MB of copies for the garbage collector.
    /// A shorter chunk gets an array of its own size (a view would store the whole buffer).
    fn chunk_value(&self, bytes: &[u8]) -> Uint8Array {
        if bytes.len() != crate::storage::blobs::CHUNK_SIZE {
            return Uint8Array::from(bytes);
        }
        let mut kept = self.conn.chunk_buffer.borrow_mut();
        let buffer = kept.get_or_insert_with(|| Uint8Array::new_with_length(bytes.len() as u32));
        buffer.copy_from(bytes);
        buffer.clone()
    }

    /// Waits for the oldest chunk write in flight; a failure is kept for `settle_chunks`.
    async fn await_oldest_chunk_write(&self) {
        let Some(write) = self.conn.chunk_writes.borrow_mut().pop_front() else { return };
        if write.done.await.is_err() {
            let e = match write.tx.error() {
                Some(cause) => error_from_dom(self.name(), "commit", &cause.name(), &cause.message()),
                None => Error::unavailable(format!(
                    "IndexedDB database {:?}: commit failed: a chunk write of {} was aborted",
                    self.name(),
                    write.set
                )),
            };
            self.conn.chunk_failures.borrow_mut().push((write.set, e));
        }
    }

    /// One readwrite transaction over both object stores: see [`Backend::commit`].
    async fn commit_prepared(&self, ops: Vec<Op>, prepared: crate::storage::Prepared) -> Result<()> {
        // Other connections are told when the store's generation changed, and only then:
        // derived records (analysis, saved list answers, session markers) keep it
        // (`schema::keeps_generation`), so an analysis in a worker or another tab does not have
        // the page re-read and redraw its views.
        let new_generation =
            ops.iter().any(|op| matches!(op, Op::Put { space: Space::Meta, key, .. } if key == generation::KEY));
        let fail = self.fail("commit");
        let db = self.live("commit")?;
        let tx = db
            .transaction([Space::Meta.name(), Space::Chunks.name()])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(&fail)?;
        let raw_tx: IdbTransaction = (**tx.as_sys()).clone();
        let filling = Filling::new(&raw_tx);
        // Every request goes out now, in order; IndexedDB runs them in that order. Only the
        // guards are awaited; the other requests are dropped unawaited (they still run): a
        // failing one aborts the transaction, which commit() reports.
        let mut guards = Vec::new();
        let mut value_guards = Vec::new();
        {
            let meta = tx.object_store(Space::Meta.name()).map_err(&fail)?;
            let chunks = tx.object_store(Space::Chunks.name()).map_err(&fail)?;
            let store = |space: Space| match space {
                Space::Meta => &meta,
                Space::Chunks => &chunks,
            };
            for op in ops {
                match op {
                    Op::Put { space, key, value } => {
                        let value = JsValue::from(Uint8Array::from(&value[..]));
                        drop(store(space).put(value).with_key(key).without_key_type().primitive().map_err(&fail)?);
                    }
                    Op::Delete { space, key } => {
                        drop(store(space).delete(key).primitive().map_err(&fail)?);
                    }
                    Op::DeletePrefix { space, prefix } => {
                        drop(store(space).delete::<String, _>(prefix_range(&prefix)).primitive().map_err(&fail)?);
                    }
                    Op::RequireAbsent { space, key } => {
                        let count = store(space).count().with_query(key.as_str()).primitive().map_err(&fail)?;
                        guards.push((key, count));
                    }
                    Op::RequireValue { space, key, value } => {
                        let current = store(space).get::<JsValue, _, _>(key.as_str()).primitive().map_err(&fail)?;
                        value_guards.push((key, value, current));
                    }
                }
            }
        }
        for (key, want, current) in value_guards {
            match current.await {
                Ok(found) => {
                    let found = found.map(|v| bytes_from_js(v, self.name(), Space::Meta, &key)).transpose()?;
                    if found != want {
                        let _ = tx.abort().await;
                        return Err(memory::changed_error(&key));
                    }
                }
                Err(e) => return Err(commit_error(self.name(), &raw_tx, e)),
            }
        }
        for (key, count) in guards {
            match count.await {
                Ok(0) => {}
                Ok(_) => {
                    // Awaited within the request's success event, so the transaction is still
                    // active and the abort undoes everything it did.
                    let _ = tx.abort().await;
                    return Err(Error::already_exists(format!("{key:?} already exists")));
                }
                Err(e) => return Err(commit_error(self.name(), &raw_tx, e)),
            }
        }
        // Every request is out: from here a trap can no longer leave half of them to commit.
        drop(filling);
        tx.commit().await.map_err(|e| commit_error(self.name(), &raw_tx, e))?;
        prepared.committed();
        if new_generation {
            self.conn.announce_change();
        }
        Ok(())
    }
}

/// A promise of `tx`'s end: resolved on `complete`, rejected on `abort` (a failed request
/// aborts its transaction).
fn transaction_done(tx: &IdbTransaction) -> JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    });
    JsFuture::from(promise)
}

/// A thrown `DOMException` (or anything else) as the crate error of operation `op`.
fn error_from_js(db: &str, op: &str, e: &JsValue) -> Error {
    match e.dyn_ref::<web_sys::DomException>() {
        Some(d) => error_from_dom(db, op, &d.name(), &d.message()),
        None => Error::unavailable(format!("IndexedDB database {db:?}: {op} failed: {e:?}")),
    }
}

/// A failed commit's error: the transaction's own error (the root cause, e.g.
/// `QuotaExceededError`) when it has one, else what the request or commit reported.
fn commit_error(db: &str, tx: &IdbTransaction, e: IdbError) -> Error {
    match tx.error() {
        Some(cause) => error_from_dom(db, "commit", &cause.name(), &cause.message()),
        None => idb_error(db, "commit", e),
    }
}

fn open_error(db: &str, op: &str, e: OpenDbError) -> Error {
    match e {
        OpenDbError::Base(e) => idb_error(db, op, e),
        OpenDbError::NullFactory | OpenDbError::UnsupportedEnvironment => missing_indexeddb_error(db),
        other => Error::unavailable(format!("IndexedDB database {db:?}: {op} failed: {other}")),
    }
}

/// Maps an IndexedDB failure: `QuotaExceededError` to code `quota_exceeded`, everything else to
/// `unavailable`, with the database and operation in the message.
fn idb_error(db: &str, op: &str, e: IdbError) -> Error {
    match e {
        IdbError::DomException(d) => {
            let d: web_sys::DomException = d.into();
            error_from_dom(db, op, &d.name(), &d.message())
        }
        IdbError::Unknown(js) => {
            // fake-indexeddb and older engines may throw errors that are not DOMException
            // instances; their `name` still says what happened.
            let js = JsValue::from(js);
            let field = |f: &str| js_sys::Reflect::get(&js, &JsValue::from_str(f)).ok().and_then(|v| v.as_string());
            let name = field("name").unwrap_or_default();
            let message = field("message").unwrap_or_else(|| format!("{js:?}"));
            error_from_dom(db, op, &name, &message)
        }
        other => Error::unavailable(format!("IndexedDB database {db:?}: {op} failed: {other}")),
    }
}

/// The crate error for a `DOMException` named `name` raised by operation `op` on database `db`.
pub fn error_from_dom(db: &str, op: &str, name: &str, message: &str) -> Error {
    let code = match name {
        "QuotaExceededError" => ErrorCode::QuotaExceeded,
        _ => ErrorCode::Unavailable,
    };
    let hint = match name {
        "QuotaExceededError" => "storage quota exceeded: ".to_string(),
        "VersionError" => format!("it was written by a newer build (this one reads schema version {SCHEMA_VERSION}): "),
        _ => String::new(),
    };
    Error::new(code, format!("IndexedDB database {db:?}: {op} failed: {hint}{name}: {message}"))
}

/// Awaits `request` (an open or delete request). If IndexedDB reports it `blocked` (another
/// connection keeps the database open), warns on the console and gives up `timeout_ms` later:
/// `None` then. The request itself stays queued in IndexedDB.
async fn unless_blocked<F: Future>(db: &str, raw: &IdbOpenDbRequest, request: F, timeout_ms: u32) -> Option<F::Output> {
    let (notify, blocked) = oneshot::channel::<()>();
    let mut notify = Some(notify);
    let message = format!(
        "IndexedDB database {db:?} is in use by another connection; waiting up to {timeout_ms} ms for it to close"
    );
    let on_blocked = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(notify) = notify.take() {
            web_sys::console::warn_1(&JsValue::from_str(&message));
            let _ = notify.send(());
        }
    });
    let listener: &js_sys::Function = on_blocked.as_ref().unchecked_ref();
    let _ = raw.add_event_listener_with_callback("blocked", listener);
    let give_up = async move {
        match blocked.await {
            Ok(()) => sleep(timeout_ms).await,
            Err(_) => std::future::pending().await,
        }
    };
    let outcome = match select(pin!(request), pin!(give_up)).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(((), _)) => None,
    };
    let _ = raw.remove_event_listener_with_callback("blocked", listener);
    outcome
}

/// After giving up on a blocked open: if the request ever proceeds, undo it. A late upgrade is
/// aborted (the database stays as it was) and a late connection is closed at once.
fn abandon_open(raw: &IdbOpenDbRequest) {
    let on_upgrade = {
        let raw = raw.clone();
        Closure::once_into_js(move |_: web_sys::Event| {
            if let Some(tx) = raw.transaction() {
                let _ = tx.abort();
            }
        })
    };
    let on_success = {
        let raw = raw.clone();
        Closure::once_into_js(move |_: web_sys::Event| {
            if let Ok(db) = raw.result() {
                db.unchecked_into::<IdbDatabase>().close();
            }
        })
    };
    let _ = raw.add_event_listener_with_callback("upgradeneeded", on_upgrade.unchecked_ref());
    let _ = raw.add_event_listener_with_callback("success", on_success.unchecked_ref());
}

#[wasm_bindgen]
extern "C" {
    // Global in browsers, workers and Node alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: u32) -> JsValue;
}

async fn sleep(millis: u32) {
    let done = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, millis);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
}
