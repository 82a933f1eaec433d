// The image list's answers kept in an fs store: the core's `GET /images/json` text (what
// `store.listImagesJson({ all })` gives, without filters) for all images and for the top-level
// ones, with the table's SIZE cells of its rows (the core's go-units sizes: a wasm call that
// cost 12–40 ms per 1,400 rows), each saved with the store generation it was computed at. `imagestore images` on an
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
// the rest: u32 generation length, the generation (UTF-8), u8 all (1) or top (0), u32 text
// length, the answer text (UTF-8), the SIZE cells (UTF-8, one per row, "\n" between them).
// Version 1 had no cells; its records are stale.
//
// Beside each answer, record `node/list-answer/{all,top}/table`: the plain table (`imagestore
// images [-a]`, no other flag) exactly as printed at some moment, and the span of clock times
// [from, until) in which its CREATED cells ("3 weeks ago") read the same (the core's
// createdSinceSpan). Inside that span the command writes it as it is: one small read, no
// listing, no formatting, no wasm. Same frame: "isLT", u32 version, u32 CRC-32; the rest: u32
// generation length, the generation, u8 all or top, f64 from, f64 until, the table (UTF-8).
"use strict";

const ANSWER = { magic: Buffer.from("isLA"), version: 2, what: "list answer" };
const TABLE = { magic: Buffer.from("isLT"), version: 1, what: "printed table" };
const VERSION = ANSWER.version;
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

/** The record key of the printed table of that answer. */
function tableKey(all) {
  return `${answerKey(all)}/table`;
}

/**
 * A record of `kind` (ANSWER or TABLE): the frame around the body that starts with `generation`
 * and the list's kind (`all`), followed by `parts` (Buffers).
 */
function frame(kind, generation, all, parts) {
  const gen = Buffer.from(generation, "utf8");
  const lead = Buffer.alloc(4 + gen.length + 1);
  lead.writeUInt32LE(gen.length, 0);
  gen.copy(lead, 4);
  lead.writeUInt8(all ? 1 : 0, 4 + gen.length);
  const body = Buffer.concat([lead, ...parts]);
  const head = Buffer.alloc(HEADER);
  kind.magic.copy(head, 0);
  head.writeUInt32LE(kind.version, 4);
  head.writeUInt32LE(crc32(body), 8);
  return Buffer.concat([head, body]);
}

/**
 * The rest of `record`'s body after its generation and kind, if it is a whole record of `kind`
 * (ANSWER or TABLE) of this version, for `all`, at `generation`; otherwise `{ stale }`: why it
 * cannot be used.
 */
function unframe(kind, record, generation, all) {
  const bytes = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (bytes.length < HEADER || !bytes.subarray(0, 4).equals(kind.magic)) return { stale: `not a ${kind.what} record` };
  const version = bytes.readUInt32LE(4);
  if (version !== kind.version) return { stale: `${kind.what} version ${version}, this build reads ${kind.version}` };
  const body = bytes.subarray(HEADER);
  if (crc32(body) !== bytes.readUInt32LE(8)) return { stale: "checksum mismatch" };
  if (body.length < 4) return { stale: "truncated" };
  const kindAt = 4 + body.readUInt32LE(0);
  if (kindAt + 1 > body.length) return { stale: "truncated" };
  if (body.toString("utf8", 4, kindAt) !== generation) return { stale: "another generation" };
  if (body[kindAt] !== (all ? 1 : 0)) return { stale: "another kind of list" };
  return { rest: body.subarray(kindAt + 1) };
}

/** The record of `answer` ({ text, sizes }), the answer for `all` at `generation`. */
function encode(generation, all, { text, sizes }) {
  const textBytes = Buffer.from(text, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(textBytes.length, 0);
  return frame(ANSWER, generation, all, [length, textBytes, Buffer.from(sizes.join("\n"), "utf8")]);
}

/**
 * The answer ({ text, sizes }) in `record` if it is a whole record of this version for `all`
 * at `generation`; otherwise `{ stale }`: why it cannot be used.
 */
function decode(record, generation, all) {
  const { rest, stale } = unframe(ANSWER, record, generation, all);
  if (stale) return { stale };
  if (rest.length < 4) return { stale: "truncated" };
  const textEnd = 4 + rest.readUInt32LE(0);
  if (textEnd > rest.length) return { stale: "truncated" };
  const cells = rest.toString("utf8", textEnd);
  return { text: rest.toString("utf8", 4, textEnd), sizes: cells === "" ? [] : cells.split("\n") };
}

/** The record of a printed `table` ({ table, from, until }) of the list `all` at `generation`. */
function encodeTable(generation, all, { table, from, until }) {
  const span = Buffer.alloc(16);
  span.writeDoubleLE(from, 0);
  span.writeDoubleLE(until, 8);
  return frame(TABLE, generation, all, [span, Buffer.from(table, "utf8")]);
}

/** The printed table ({ table, from, until }) in `record`, or `{ stale }` (see {@link decode}). */
function decodeTable(record, generation, all) {
  const { rest, stale } = unframe(TABLE, record, generation, all);
  if (stale) return { stale };
  if (rest.length < 16) return { stale: "truncated" };
  return { table: rest.toString("utf8", 16), from: rest.readDoubleLE(0), until: rest.readDoubleLE(8) };
}

/** The store's current generation (null for a store never written). */
function generationOf(db) {
  const value = db.getSync(GENERATION_KEY);
  return value === undefined ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
}

/**
 * The saved answer for `all` ({ text, sizes }) if it lists the store as it is now (`db`: its
 * open database), else null.
 */
function read(db, all) {
  const generation = generationOf(db);
  const record = db.getSync(answerKey(all));
  if (generation === null || record === undefined) return null;
  const answer = decode(record, generation, all);
  return answer.stale ? null : answer;
}

/**
 * The plain table of the list `all` if one is kept for the store as it is now and is true at
 * `now` (Unix seconds), else null.
 */
function readTable(db, all, now) {
  const generation = generationOf(db);
  const record = db.getSync(tableKey(all));
  if (generation === null || record === undefined) return null;
  const kept = decodeTable(record, generation, all);
  return !kept.stale && kept.from <= now && now < kept.until ? kept.table : null;
}

/**
 * Saves `answer` ({ text, sizes }), the answer for `all` listed from the store as it is now (the
 * caller holds the store's lock, so no other process committed since). A store never written
 * keeps none.
 */
async function save(db, all, answer) {
  const generation = generationOf(db);
  if (generation === null) return;
  await db.put(answerKey(all), encode(generation, all, answer));
}

/** Saves the plain table ({ table, from, until }) of the list `all` of the store as it is now. */
async function saveTable(db, all, printed) {
  const generation = generationOf(db);
  if (generation === null) return;
  await db.put(tableKey(all), encodeTable(generation, all, printed));
}

module.exports = { answerKey, tableKey, encode, decode, encodeTable, decodeTable, read, readTable, save, saveTable, generationOf, crc32Js, VERSION };
