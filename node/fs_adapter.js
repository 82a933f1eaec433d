// The on-disk storage of `Store.open(name, { backend: "fs", path })`: a storage adapter (the
// contract is in src/wasm/js_backend.rs) over a folder:
//
//   <path>/meta/             LevelDB (classic-level): the metadata records, written in atomic,
//                            synced batches. Its LOCK file is the store's exclusive lock.
//   <path>/ingest/<set>      a blob being written (the core's chunk set <set>, chunk i at
//                            offset i × CHUNK_SIZE), like containerd's ingest files
//   <path>/blobs/sha256/<hex> a published blob, named by its digest
//
// A small blob that an import publishes (a config, a tar-split: at most 64 KiB) is kept in a
// blob pack instead, `blob-pack/<first one or two hex digits>` (src/storage/blob_packs.rs), many to a
// record: it has no chunks and no file, and lives in the database like any other record.
// Stores written before packs keep such a blob inside its own record `blob/<digest>` (a 0
// byte, then the bytes); those are read and deleted as they are, never written any more.
//
// The core writes a blob's chunks first (invisible), then commits its record `blob/<digest>`
// with the metadata that refers to it. At that commit the ingest file is fsynced and renamed
// into blobs/ *before* the database batch, and a deleted blob's file is unlinked only *after*
// its record's deletion is committed. So whatever instant a process dies at, the database says
// what the store holds, and every blob it names is a complete file; the leftovers (ingest
// files, blob files no record names) are removed the next time the store is opened.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

/** The core's chunk size (src/storage/blobs.rs CHUNK_SIZE): chunk i starts at i × CHUNK_SIZE. */
const CHUNK_SIZE = 1 << 20;
const BLOB_RECORD = "blob/";
/** The first byte of a blob record that holds its blob's bytes (src/storage/blobs.rs INLINE_TAG). */
const INLINE_TAG = 0;
const HIGH = "\uffff"; // above every key character the core uses (keys are ASCII)
/** An open fs store's database (classic-level), for the Node layer's own derived records. */
const META = Symbol("imagestore fs metadata database");

function storeError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** `sha256:<hex>` → the blob's file name, or null for anything else. */
function blobHex(digest) {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  return m ? m[1] : null;
}

/** `<set>/<index>` → [set, index]. */
function splitChunkKey(key) {
  const slash = key.lastIndexOf("/");
  const index = Number(key.slice(slash + 1));
  if (slash <= 0 || !Number.isInteger(index) || index < 0) {
    throw storeError("invalid_argument", `fs storage: bad chunk key ${JSON.stringify(key)}`);
  }
  return [key.slice(0, slash), index];
}

/** [[key bytes, value bytes], …] → { keys, keyEnds, values, valueEnds } (one buffer each). */
function pack(entries) {
  const keyEnds = new Uint32Array(entries.length);
  const valueEnds = new Uint32Array(entries.length);
  let k = 0;
  let v = 0;
  entries.forEach(([key, value], i) => {
    keyEnds[i] = k += key.length;
    valueEnds[i] = v += value.length;
  });
  const keys = new Uint8Array(k);
  const values = new Uint8Array(v);
  entries.forEach(([key, value], i) => {
    keys.set(key, keyEnds[i] - key.length);
    values.set(value, valueEnds[i] - value.length);
  });
  return { keys, keyEnds, values, valueEnds };
}

function chunkKey(set, index) {
  return `${set}/${String(index).padStart(10, "0")}`;
}

function fsyncDir(dir) {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

class FsAdapter {
  constructor(root, db) {
    this.kind = "fs";
    this.root = root;
    this.db = db;
    this.ingestDir = path.join(root, "ingest");
    this.blobDir = path.join(root, "blobs", "sha256");
    /** Published chunk sets: set → { hex, size } (from the blob records). */
    this.published = new Map();
    /** Chunk sets being written: set → ingest file size so far. */
    this.ingests = new Map();
    this.closing = null;
    // Test hook (tests/node/fs-store.test.mjs): SIGKILL this process at its Nth write step, to
    // prove that a kill at any point of an operation leaves the store as before it.
    this.killAtStep = Number(process.env.IMAGESTORE_FS_KILL_AT_STEP) || 0;
    this.steps = 0;
  }

  /** Counts one write step (a chunk write, a publish, the batch, an unlink). */
  step() {
    this.steps++;
    if (this.steps === this.killAtStep) process.kill(process.pid, "SIGKILL");
  }

  // ---- reads -------------------------------------------------------------------------------

  get(space, key) {
    if (space === "meta") return this.db.getSync(key) ?? undefined;
    const [set, index] = splitChunkKey(key);
    const file = this.chunkFile(set);
    if (!file) return undefined;
    const fd = fs.openSync(file, "r");
    try {
      // Sized to what is there: most blobs (configs, manifests) are a few kB, and a 1 MiB
      // buffer per read made opening a large store mostly garbage collection.
      const want = Math.min(CHUNK_SIZE, Math.max(0, fs.fstatSync(fd).size - index * CHUNK_SIZE));
      if (want === 0) return undefined;
      const buf = Buffer.allocUnsafe(want);
      const n = fs.readSync(fd, buf, 0, want, index * CHUNK_SIZE);
      if (n === 0) return undefined;
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    } finally {
      fs.closeSync(fd);
    }
  }

  async scan(space, prefix) {
    if (space === "meta") {
      // Keys as bytes too, packed (see src/wasm/js_backend.rs): a few crossings into wasm for
      // the whole range instead of two per record.
      const entries = await this.db.iterator({ gte: prefix, lt: prefix + HIGH, keyEncoding: "view" }).all();
      return pack(entries);
    }
    const out = [];
    for (const key of this.keys(space, prefix)) out.push(key, this.get(space, key));
    return out;
  }

  keys(space, prefix) {
    if (space === "meta") return this.db.keys({ gte: prefix, lt: prefix + HIGH }).all();
    const keys = [];
    const add = (set, size) => {
      for (let i = 0; i * CHUNK_SIZE < size; i++) {
        const k = chunkKey(set, i);
        if (k.startsWith(prefix)) keys.push(k);
      }
    };
    for (const [set, { size }] of this.published) add(set, size);
    for (const [set, size] of this.ingests) add(set, size);
    return keys.sort();
  }

  chunkFile(set) {
    if (this.ingests.has(set)) return path.join(this.ingestDir, set);
    const p = this.published.get(set);
    return p ? path.join(this.blobDir, p.hex) : null;
  }

  // ---- writes ------------------------------------------------------------------------------

  /** Applies the core's operations all or nothing (see the top of this file for the order). */
  async commit(ops) {
    if (this.closing) throw storeError("failed_precondition", `fs storage ${this.root}: closed`);
    const meta = new Map(); // key → value (Uint8Array) or null (deleted), the batch's end state
    const chunkWrites = [];
    const droppedSets = new Set();
    for (const op of ops) {
      if (op.space === "chunks") {
        if (op.op === "put") chunkWrites.push(op);
        else if (op.op === "delete") droppedSets.add(splitChunkKey(op.key)[0]);
        else if (op.op === "deletePrefix") this.setsUnder(op.prefix).forEach((s) => droppedSets.add(s));
        else if (op.op === "requireAbsent" && this.chunkFile(splitChunkKey(op.key)[0])) {
          throw storeError("already_exists", `fs storage: chunk ${op.key} already exists`);
        }
        continue;
      }
      if (op.op === "put") meta.set(op.key, op.value);
      else if (op.op === "delete") meta.set(op.key, null);
      else if (op.op === "deletePrefix") {
        for (const k of await this.keys("meta", op.prefix)) meta.set(k, null);
        for (const k of meta.keys()) if (k.startsWith(op.prefix)) meta.set(k, null);
      } else if (op.op === "requireAbsent") {
        const present = meta.has(op.key) ? meta.get(op.key) !== null : this.db.getSync(op.key) !== undefined;
        if (present) throw storeError("already_exists", `record ${JSON.stringify(op.key)} already exists`);
      } else if (op.op === "requireValue") {
        // The compare-and-set guard of the core's generation record (src/storage/generation.rs).
        const current = meta.has(op.key) ? meta.get(op.key) : (this.db.getSync(op.key) ?? null);
        const want = op.value ?? null;
        const same = current === null ? want === null : want !== null && Buffer.from(current).equals(Buffer.from(want));
        if (!same) {
          throw storeError("failed_precondition", `record ${JSON.stringify(op.key)} changed since it was read (another store wrote meanwhile)`);
        }
      } else {
        throw storeError("invalid_argument", `fs storage: unknown operation ${JSON.stringify(op.op)}`);
      }
    }

    // Chunk writes go to ingest files: invisible until a blob record names their set.
    for (const op of chunkWrites) this.writeChunk(op.key, op.value);

    // Blobs this batch publishes or deletes, from their records.
    const publish = []; // { set, hex, size }
    const unpublish = []; // digests whose record goes
    for (const [key, value] of meta) {
      if (!key.startsWith(BLOB_RECORD)) continue;
      const digest = key.slice(BLOB_RECORD.length);
      if (value === null) {
        if (this.db.getSync(key) !== undefined) unpublish.push(digest);
        continue;
      }
      const hex = blobHex(digest);
      if (!hex) throw storeError("invalid_argument", `fs storage: blob digest ${digest} is not sha256`);
      if (value[0] === INLINE_TAG) continue; // its bytes are the record: no file to publish
      const record = JSON.parse(Buffer.from(value).toString("utf8"));
      if (record.chunks && record.chunk_size !== CHUNK_SIZE) {
        throw storeError("invalid_argument", `fs storage: blob ${digest} has chunk size ${record.chunk_size}`);
      }
      publish.push({ set: record.chunks, hex, size: record.size });
    }

    // 1. Published blobs become complete files under their digest before anything names them.
    let renamed = false;
    for (const b of publish) {
      if (!b.set || !this.ingests.has(b.set)) continue;
      this.step();
      const from = path.join(this.ingestDir, b.set);
      const fd = fs.openSync(from, "r+");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.mkdirSync(this.blobDir, { recursive: true });
      fs.renameSync(from, path.join(this.blobDir, b.hex));
      renamed = true;
    }
    if (renamed) {
      fsyncDir(this.blobDir);
      fsyncDir(this.ingestDir);
    }

    // 2. The one atomic, synced database batch: the commit point.
    const batch = [];
    for (const [key, value] of meta) batch.push(value === null ? { type: "del", key } : { type: "put", key, value });
    this.step();
    if (batch.length) await this.db.batch(batch, { sync: true });
    this.step();

    // 3. The in-memory maps follow, then the files nothing names any more go.
    for (const b of publish) {
      if (!b.set) continue;
      this.ingests.delete(b.set);
      this.published.set(b.set, { hex: b.hex, size: b.size });
    }
    const gone = new Set(unpublish.map(blobHex));
    for (const b of publish) gone.delete(b.hex);
    for (const [set, p] of this.published) {
      if (gone.has(p.hex)) this.published.delete(set);
    }
    for (const hex of gone) {
      this.step();
      fs.rmSync(path.join(this.blobDir, hex), { force: true });
    }
    for (const set of droppedSets) {
      if (!this.ingests.delete(set)) continue;
      this.step();
      fs.rmSync(path.join(this.ingestDir, set), { force: true });
    }
  }

  /** The chunk sets with a key under `prefix` (a `<set>/` prefix, or "" for all). */
  setsUnder(prefix) {
    const sets = [];
    for (const set of [...this.ingests.keys(), ...this.published.keys()]) {
      if ((set + "/").startsWith(prefix) || prefix.startsWith(set + "/")) sets.push(set);
    }
    return sets;
  }

  writeChunk(key, value) {
    const [set, index] = splitChunkKey(key);
    this.step();
    if (this.published.has(set)) throw storeError("invalid_argument", `fs storage: chunk set ${set} is published`);
    const file = path.join(this.ingestDir, set);
    const fd = fs.openSync(file, this.ingests.has(set) ? "r+" : "w");
    try {
      fs.writeSync(fd, value, 0, value.length, index * CHUNK_SIZE);
    } finally {
      fs.closeSync(fd);
    }
    this.ingests.set(set, Math.max(this.ingests.get(set) ?? 0, index * CHUNK_SIZE + value.length));
  }

  // ---- opening and closing -----------------------------------------------------------------

  /** Reads the blob records, then removes what a killed process left behind. */
  async load() {
    fs.mkdirSync(this.ingestDir, { recursive: true });
    fs.mkdirSync(this.blobDir, { recursive: true });
    const named = new Set();
    for (const [key, value] of await this.db.iterator({ gte: BLOB_RECORD, lt: BLOB_RECORD + HIGH }).all()) {
      const digest = key.slice(BLOB_RECORD.length);
      if (value[0] === INLINE_TAG) continue; // kept in the database, no file
      let record;
      try {
        record = JSON.parse(Buffer.from(value).toString("utf8"));
      } catch (e) {
        throw storeError("data_corrupt", `fs storage ${this.root}: record ${key} is unreadable: ${e.message}`);
      }
      const hex = blobHex(digest);
      if (!hex) continue;
      named.add(hex);
      if (record.chunks) this.published.set(record.chunks, { hex, size: record.size });
    }
    // We hold the lock: nobody else is writing, so every ingest file is a dead write.
    for (const f of fs.readdirSync(this.ingestDir)) fs.rmSync(path.join(this.ingestDir, f), { force: true });
    for (const f of fs.readdirSync(this.blobDir)) {
      if (!named.has(f)) fs.rmSync(path.join(this.blobDir, f), { force: true });
    }
  }

  /** How many blobs the store holds (what opening it will read, roughly). */
  get blobCount() {
    return this.published.size;
  }

  /** Write steps so far (the kill test's way to know how many points an operation has). */
  get writeSteps() {
    return this.steps;
  }

  close() {
    if (!this.closing) this.closing = this.db.close();
    return this.closing;
  }
}

/**
 * Opens (creating if needed) the metadata database of the fs store at `root` (its absolute
 * path), taking the store's lock: a second opener gets code "unavailable".
 */
async function openMeta(root) {
  fs.mkdirSync(root, { recursive: true });
  const { ClassicLevel } = require("classic-level");
  const db = new ClassicLevel(path.join(root, "meta"), { keyEncoding: "utf8", valueEncoding: "view" });
  try {
    await db.open();
  } catch (e) {
    const why = e.cause?.message ?? e.message;
    if (/lock/i.test(why)) {
      throw storeError("unavailable", `store ${root} is in use by another process (its lock ${path.join(root, "meta", "LOCK")} is held)`);
    }
    throw storeError("unavailable", `store ${root}: cannot open its database: ${why}`);
  }
  return db;
}

/** `options.path` checked and made absolute. */
function storeRoot(root) {
  if (typeof root !== "string" || root === "") {
    throw storeError("invalid_argument", 'options.path: the fs backend needs a folder (options.path), got ' + root);
  }
  return path.resolve(root);
}

/** Opens (creating if needed) the fs store at `root`; a second opener gets code "unavailable". */
async function openFsAdapter(root) {
  root = storeRoot(root);
  const db = await openMeta(root);
  const adapter = new FsAdapter(root, db);
  try {
    await adapter.load();
  } catch (e) {
    await db.close();
    throw e;
  }
  return adapter;
}

module.exports = { openFsAdapter, openMeta, storeRoot, META, CHUNK_SIZE };
