// The image list answers an fs store keeps (pkg/node/list_answer.js): `imagestore images`
// prints from the saved answer only while it lists the store as it is (same generation, whole
// record of this version), and the answer is listed again from the records and saved when it
// is missing, stale (a commit that did not save it, as a previous version makes), corrupt or
// of another version. Every printed table is compared with the same command run with no saved
// answer in the store (listed from the records, as before answers were saved).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import zlib from "node:zlib";
import { ROOT, assertBuilt, fixture, imagestore, run, startServer, stopServer } from "./cli_support.mjs";
import http from "node:http";

const require = createRequire(import.meta.url);
const listAnswer = require(join(ROOT, "pkg/node/list_answer.js"));
const fmt = require(join(ROOT, "pkg/node/docker_format.js"));
const { ClassicLevel } = require(join(ROOT, "node_modules/classic-level"));
const NOW = { IMAGESTORE_NOW: "2026-12-01T00:00:00Z" };

let work;
let store;

before(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "imagestore-list-answer-test-"));
  store = join(work, "basic");
  const r = await imagestore(store, ["import", fixture("basic", "image-store.tar")]);
  assert.equal(r.code, 0, r.stderr);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `fn(db)` on the store's database (no imagestore process may hold it meanwhile). */
async function withDb(fn) {
  const db = new ClassicLevel(join(store, "meta"), { keyEncoding: "utf8", valueEncoding: "view" });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const generation = (db) => Buffer.from(db.getSync("store/generation")).toString("utf8");

/** `imagestore images ARGS` (its stdout). */
async function images(args = [], env = NOW) {
  const r = await imagestore(store, ["images", ...args], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Deletes the saved answers and printed tables of both lists. */
const dropSaved = () =>
  withDb((db) => db.batch([true, false].flatMap((all) => [listAnswer.answerKey(all), listAnswer.tableKey(all)]).map((key) => ({ type: "del", key }))));

/** The same listed from the store's records: run with nothing saved (it saves them again). */
async function fromRecords(args = [], env = NOW) {
  await dropSaved();
  return images(args, env);
}

/** The saved answer for `all`, decoded against the store's generation now. */
const saved = (all) => withDb((db) => listAnswer.decode(db.getSync(listAnswer.answerKey(all)) ?? new Uint8Array(), generation(db), all));

test("the record round-trips and refuses anything but a whole current record of its kind", () => {
  const answer = { text: '[{"Id":"sha256:ab","RepoTags":["é:1"]},{"Id":"sha256:cd"}]', sizes: ["1.98MB", "0B"] };
  const record = listAnswer.encode("gen-1", true, answer);
  assert.deepEqual(listAnswer.decode(record, "gen-1", true), answer);
  assert.deepEqual(listAnswer.decode(listAnswer.encode("g", false, { text: "[]", sizes: [] }), "g", false), { text: "[]", sizes: [] });
  assert.equal(listAnswer.decode(record, "gen-2", true).stale, "another generation");
  assert.equal(listAnswer.decode(record, "gen-1", false).stale, "another kind of list");
  const flipped = Buffer.from(record);
  flipped[flipped.length - 3] ^= 1;
  assert.equal(listAnswer.decode(flipped, "gen-1", true).stale, "checksum mismatch");
  assert.equal(listAnswer.decode(record.subarray(0, record.length - 1), "gen-1", true).stale, "checksum mismatch");
  const other = Buffer.from(record);
  other.writeUInt32LE(1, 4);
  assert.equal(listAnswer.decode(other, "gen-1", true).stale, `list answer version 1, this build reads ${listAnswer.VERSION}`);
  assert.equal(listAnswer.decode(Buffer.from("junk"), "gen-1", true).stale, "not a list answer record");
  // A body whose lengths point past its end (checksum made to match) is refused, not read.
  const body = Buffer.from(record.subarray(12));
  body.writeUInt32LE(0xffff, 4 + 5 + 1);
  const long = Buffer.concat([record.subarray(0, 12), body]);
  long.writeUInt32LE(zlib.crc32(body), 8);
  assert.equal(listAnswer.decode(long, "gen-1", true).stale, "truncated");
  // The checksum is zlib's CRC-32, or the same computed in JS where Node has no zlib.crc32.
  assert.equal(record.readUInt32LE(8), zlib.crc32(record.subarray(12)));
  assert.equal(listAnswer.crc32Js(record.subarray(12)), zlib.crc32(record.subarray(12)));
  assert.equal(listAnswer.crc32Js(Buffer.from("123456789")), 0xcbf43926);
});

test("tabwriter counts characters as Go does (code points)", () => {
  for (const s of ["", "abc", "é", "日本", "a😀b", "\ud83d", "x\ude00", "😀😀"]) {
    assert.equal(fmt.runeCount(s), [...s].length, JSON.stringify(s));
  }
});

test("images saves its answer on first use and prints the same from it", async () => {
  assert.ok((await saved(false)).text, "the import saved the answer images prints");
  await withDb((db) => db.del(listAnswer.answerKey(false)));
  const first = await images();
  assert.ok(first.split("\n").length > 3, first);
  const record = await saved(false);
  assert.ok(record.text, `saved after the first run: ${record.stale}`);
  assert.equal(await images(), first);
  for (const args of [["-a"], ["--digests"], ["-q", "--no-trunc"], ["--format", "json"], ["-a", "--format", "json", "--no-trunc"]]) {
    const want = await fromRecords(args);
    assert.equal(await images(args), want, `images ${args.join(" ")} from the saved answer`);
  }
  assert.ok((await saved(true)).text, "-a saved its own answer");
  // Filters are never answered from a saved answer: each lists from the store.
  assert.equal(await images(["-f", "dangling=true", "-q"]), await fromRecords(["-f", "dangling=true", "-q"]));
});

test("a current saved answer is what images prints (the store is not listed again)", async () => {
  const want = await fromRecords();
  await withDb(async (db) => {
    const answer = listAnswer.decode(db.getSync(listAnswer.answerKey(false)), generation(db), false);
    const rows = JSON.parse(answer.text);
    rows[0].RepoTags = ["only-in-the-saved-answer:v1"];
    answer.sizes[0] = "9.99GB";
    await db.put(listAnswer.answerKey(false), listAnswer.encode(generation(db), false, { text: JSON.stringify(rows), sizes: answer.sizes }));
    await db.del(listAnswer.tableKey(false)); // else the table printed before is what is printed
  });
  assert.match(await images(), /^only-in-the-saved-answer +v1 .* 9\.99GB$/m);
  assert.doesNotMatch(want, /only-in-the-saved-answer/);
  assert.equal(await fromRecords(), want);
});

test("a stale answer (the store changed, the answer was not saved again) is listed again", async () => {
  await images();
  assert.ok((await saved(false)).text);
  const genBefore = await withDb(generation);
  const id = (await images(["-q"])).split("\n")[0];
  // A writer that keeps no list answers (the Store API, serve, a previous version of the CLI).
  const tagged = await run(process.execPath, [
    "-e",
    `const { Store } = require(${JSON.stringify(join(ROOT, "pkg/node/index.js"))});
     (async () => {
       const s = await Store.open("t", { backend: "fs", path: ${JSON.stringify(store)} });
       await s.tagImage(${JSON.stringify(id)}, "stale-check", "new");
       s.close();
       await s.whenClosed;
     })().catch((e) => { console.error(e); process.exit(1); });`,
  ]);
  assert.equal(tagged.code, 0, tagged.stderr);
  assert.notEqual(await withDb(generation), genBefore, "the tag made a new generation");
  assert.ok((await saved(false)).stale, "the answer saved before the tag is stale");
  const got = await images();
  assert.match(got, /^stale-check +new /m);
  assert.ok((await saved(false)).text, "saved again");
  assert.equal(got, await fromRecords());
});

/** The printed table kept for `all`, decoded against the store's generation now. */
const keptTable = (all) => withDb((db) => listAnswer.decodeTable(db.getSync(listAnswer.tableKey(all)) ?? new Uint8Array(), generation(db), all));

test("the printed table's record round-trips and refuses what is not current", () => {
  const printed = { table: "REPOSITORY   TAG\nbusybox      1.36", from: 1700000000.5, until: 1700003600 };
  const record = listAnswer.encodeTable("gen-1", false, printed);
  assert.deepEqual(listAnswer.decodeTable(record, "gen-1", false), printed);
  assert.equal(listAnswer.decodeTable(record, "gen-2", false).stale, "another generation");
  assert.equal(listAnswer.decodeTable(record, "gen-1", true).stale, "another kind of list");
  const flipped = Buffer.from(record);
  flipped[flipped.length - 1] ^= 1;
  assert.equal(listAnswer.decodeTable(flipped, "gen-1", false).stale, "checksum mismatch");
  assert.equal(listAnswer.decodeTable(listAnswer.encode("gen-1", false, { text: "[]", sizes: [] }), "gen-1", false).stale, "not a printed table record");
  const infinite = { table: "REPOSITORY   TAG", from: -Infinity, until: Infinity };
  assert.deepEqual(listAnswer.decodeTable(listAnswer.encodeTable("g", true, infinite), "g", true), infinite);
});

test("the plain table is kept with the span its CREATED cells stay true, and printed as kept inside it", async () => {
  const nowSecs = Date.parse(NOW.IMAGESTORE_NOW) / 1000;
  const want = await fromRecords();
  const kept = await keptTable(false);
  assert.equal(kept.table, want.replace(/\n$/, ""), `kept after the first run: ${kept.stale}`);
  assert.ok(kept.from <= nowSecs && nowSecs < kept.until, `span ${kept.from}..${kept.until} holds ${nowSecs}`);
  // Inside the span the kept text is what is printed (marked here to tell it from a listing).
  await withDb((db) =>
    db.put(listAnswer.tableKey(false), listAnswer.encodeTable(generation(db), false, { ...kept, table: kept.table + "\nmarked-as-kept" })),
  );
  assert.equal(await images(), want + "marked-as-kept\n");
  const lastMoment = { IMAGESTORE_NOW: String(kept.until - 0.001) };
  assert.match(await images([], lastMoment), /marked-as-kept/);
  // Listed afresh at the span's last moment, the table is the one kept: the span is not too long.
  assert.equal(await fromRecords([], lastMoment), want);
  // At `until` a CREATED cell reads differently (the span is not too short either), so the
  // kept table is not printed: the listing is, and it is kept with its own span.
  await withDb((db) => db.put(listAnswer.tableKey(false), listAnswer.encodeTable(generation(db), false, { ...kept, table: kept.table + "\nmarked-as-kept" })));
  const atEnd = { IMAGESTORE_NOW: String(kept.until) };
  const later = await images([], atEnd);
  assert.doesNotMatch(later, /marked-as-kept/);
  assert.notEqual(later, want, "a CREATED cell changed at the end of the span");
  assert.equal(later, await fromRecords([], atEnd));
  const rekept = await keptTable(false);
  assert.ok(rekept.from <= kept.until && kept.until < rekept.until, `new span ${rekept.from}..${rekept.until}`);
  // Before the span (a clock set back) the kept table is not printed either.
  assert.equal(await images([], { IMAGESTORE_NOW: String(rekept.from - 1) }), await fromRecords([], { IMAGESTORE_NOW: String(rekept.from - 1) }));
  // Only the plain table is kept: other flags print from the answer, -a has its own.
  await fromRecords();
  assert.equal((await keptTable(true)).stale, "not a printed table record");
  await images(["--digests"]);
  await images(["-q"]);
  assert.equal((await keptTable(false)).table, want.replace(/\n$/, ""));
  const all = await images(["-a"]);
  assert.equal((await keptTable(true)).table, all.replace(/\n$/, ""));
  assert.equal(await images(["-a"]), all);
});

test("a command that changes the store saves the answers again, -a's only once it was asked for", async () => {
  await withDb((db) => db.batch([true, false].map((all) => ({ type: "del", key: listAnswer.answerKey(all) }))));
  const id = (await images(["-q"])).split("\n")[0];
  let t = await imagestore(store, ["tag", id, "saved-by:tag"]);
  assert.equal(t.code, 0, t.stderr);
  assert.ok((await saved(false)).text, "the tag saved the answer images prints");
  assert.equal((await saved(true)).text, undefined, "-a was never asked: its answer is not kept");
  assert.match(await images(), /^saved-by +tag /m);
  await images(["-a"]);
  t = await imagestore(store, ["rmi", "saved-by:tag"]);
  assert.equal(t.code, 0, t.stderr);
  assert.ok((await saved(false)).text, "the rmi saved the answer again");
  assert.ok((await saved(true)).text, "and -a's, asked for before");
  const top = await images();
  const all = await images(["-a"]);
  assert.doesNotMatch(top, /saved-by/);
  assert.equal(top, await fromRecords());
  assert.equal(all, await fromRecords(["-a"]));
  // A command that changes nothing leaves the saved answers as they were.
  await images();
  const record = await withDb((db) => Buffer.from(db.getSync(listAnswer.answerKey(false))));
  t = await imagestore(store, ["inspect", id]);
  assert.equal(t.code, 0, t.stderr);
  assert.ok(record.equals(await withDb((db) => Buffer.from(db.getSync(listAnswer.answerKey(false))))));
});

test("serve saves the answers again when it stops if requests changed the store", async () => {
  await images();
  const before = await saved(false);
  assert.ok(before.text);
  const socket = join(work, "serve.sock");
  const server = await startServer(store, `unix://${socket}`);
  try {
    const tagged = await new Promise((resolve, reject) => {
      const req = http.request({ socketPath: socket, method: "POST", path: "/v1.41/images/local%2Fbase:1/tag?repo=served&tag=v1" }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(tagged, 201);
  } finally {
    await stopServer(server);
  }
  const after = await saved(false);
  assert.ok(after.text, `saved when serve stopped: ${after.stale}`);
  assert.notEqual(after.text, before.text);
  const got = await images();
  assert.match(got, /^served +v1 /m);
  assert.equal(got, await fromRecords());
});

test("a corrupt answer or table, or one of another version, is listed again and rewritten", async () => {
  const want = await fromRecords();
  const damages = [
    (r) => {
      r[r.length - 2] ^= 0x20; // in the text: the checksum no longer matches
    },
    (r) => r.writeUInt32LE(r.readUInt32LE(4) + 1, 4),
    (r) => r.fill(0, 0, 4),
  ];
  for (const damage of damages) {
    // A damaged answer (the table it was printed from gone too, else the table answers).
    await withDb(async (db) => {
      const record = Buffer.from(db.getSync(listAnswer.answerKey(false)));
      damage(record);
      await db.put(listAnswer.answerKey(false), record);
      await db.del(listAnswer.tableKey(false));
    });
    assert.ok((await saved(false)).stale);
    assert.equal(await images(), want);
    assert.ok((await saved(false)).text, "rewritten");
    assert.equal((await keptTable(false)).table, want.replace(/\n$/, ""), "the table kept again");
    // A damaged table, the answer whole: printed from the answer, the table kept again.
    await withDb(async (db) => {
      const record = Buffer.from(db.getSync(listAnswer.tableKey(false)));
      damage(record);
      await db.put(listAnswer.tableKey(false), record);
    });
    assert.ok((await keptTable(false)).stale);
    assert.equal(await images(), want);
    assert.equal((await keptTable(false)).table, want.replace(/\n$/, ""), "rewritten");
  }
});

test("images on a store in use by another process fails as before, saying so", async () => {
  await withDb(async () => {
    const r = await imagestore(store, ["images"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: store .* is in use by another process/);
  });
});
