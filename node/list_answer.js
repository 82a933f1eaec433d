// The image list's answers kept in an fs store: the core's `GET /images/json` text (what
// `store.listImagesJson({ all })` gives, without filters) for all images and for the top-level
// ones, each saved with the store generation it was computed at. `imagestore images` on an
// unchanged store then prints from one database read instead of opening the store (the open
// rebuilds the whole Docker state from its records: 1.6 s for 10,000 images).
//
// Derived data: the image records stay the source of truth. An answer is used only when its
// magic, version, checksum, kind and generation all match; otherwise (missing, stale, corrupt,
// another version, a store written by a version without these records) the command opens the
// store, lists, and saves the answer again. Every metadata commit of the core gives the store a
// new generation (src/storage/generation.rs), so a saved answer is never current for a state
// other than the one it lists. Saving one is a single put outside the core's commits: it
// changes no generation, and a torn put is dropped by LevelDB's log recovery.
//
// Record `node/list-answer/all` or `node/list-answer/top`, in the core's record frame
// (src/storage/record_frame.rs; little-endian): "isLA", u32 version, u32 CRC-32 of the rest;
// the rest: u32 generation length, the generation (UTF-8), u8 all (1) or top (0), the answer
// text (UTF-8).
"use strict";

const MAGIC = Buffer.from("isLA");
const VERSION = 1;
const HEADER = 4 + 4 + 4;
const GENERATION_KEY = "store/generation"; // src/schema.rs GENERATION

let crcTable;
/** CRC-32 (IEEE) in JS, for a Node without zlib.crc32 (before 20.15). */
function crc32Js(bytes) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The CRC-32 of `bytes` (zlib's where Node has it: loading node:crypto cost more than hashing). */
function crc32(bytes) {
  const zlib = require("node:zlib");
  return typeof zlib.crc32 === "function" ? zlib.crc32(bytes) : crc32Js(bytes);
}

/** The record key of the answer for `all` images or the top-level ones. */
function answerKey(all) {
  return `node/list-answer/${all ? "all" : "top"}`;
}

/** The record of `text`, the answer for `all` at `generation`. */
function encode(generation, all, text) {
  const gen = Buffer.from(generation, "utf8");
  const body = Buffer.alloc(4 + gen.length + 1 + Buffer.byteLength(text, "utf8"));
  body.writeUInt32LE(gen.length, 0);
  gen.copy(body, 4);
  body[4 + gen.length] = all ? 1 : 0;
  body.write(text, 5 + gen.length, "utf8");
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(VERSION, 4);
  head.writeUInt32LE(crc32(body), 8);
  return Buffer.concat([head, body]);
}

/**
 * The answer text in `record` if it is a whole record of this version for `all` at
 * `generation`; otherwise `{ stale }`: why it cannot be used.
 */
function decode(record, generation, all) {
  const bytes = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (bytes.length < HEADER + 5 || !bytes.subarray(0, 4).equals(MAGIC)) return { stale: "not a list answer record" };
  const version = bytes.readUInt32LE(4);
  if (version !== VERSION) return { stale: `list answer version ${version}, this build reads ${VERSION}` };
  const body = bytes.subarray(HEADER);
  if (crc32(body) !== bytes.readUInt32LE(8)) return { stale: "checksum mismatch" };
  const genLength = body.readUInt32LE(0);
  if (5 + genLength > body.length) return { stale: "truncated" };
  if (body.toString("utf8", 4, 4 + genLength) !== generation) return { stale: "another generation" };
  if (body[4 + genLength] !== (all ? 1 : 0)) return { stale: "another kind of list" };
  return { text: body.toString("utf8", 5 + genLength) };
}

/** The store's current generation (null for a store never written). */
function generationOf(db) {
  const value = db.getSync(GENERATION_KEY);
  return value === undefined ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
}

/** The saved answer for `all` if it lists the store as it is now (`db`: its open database), else null. */
function read(db, all) {
  const generation = generationOf(db);
  const record = db.getSync(answerKey(all));
  if (generation === null || record === undefined) return null;
  return decode(record, generation, all).text ?? null;
}

/**
 * Saves `text`, the answer for `all` listed from the store as it is now (the caller holds the
 * store's lock, so no other process committed since). A store never written keeps none.
 */
async function save(db, all, text) {
  const generation = generationOf(db);
  if (generation === null) return;
  await db.put(answerKey(all), encode(generation, all, text));
}

module.exports = { answerKey, encode, decode, read, save, crc32Js, VERSION };
