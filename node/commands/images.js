// `imagestore images`: docker images (GET /images/json), table or JSON lines.
"use strict";

const { parseArgs, flag, out, now, filterMap, goJson, daemonError, outputFormat, UsageError } = require("../cli_support.js");
const listAnswer = require("../list_answer.js");
const { META } = require("../fs_adapter.js");
// Loaded when a table is formatted (it loads the core): a kept table is printed without it.
const fmt = () => require("../docker_format.js");

/** The command's options; the Engine API filters include a REPOSITORY[:TAG] argument. */
function options(argv) {
  const { flags, args } = parseArgs(argv, {
    "-a": flag("all"),
    "--all": flag("all"),
    "--digests": flag("digests"),
    "-q": flag("quiet"),
    "--quiet": flag("quiet"),
    "--no-trunc": flag("noTrunc"),
    "-f": flag("filter", "list"),
    "--filter": flag("filter", "list"),
    "--format": flag("format", "value"),
  });
  if (args.length > 1) throw new UsageError('"images" requires at most 1 argument');
  const format = outputFormat(flags.format);
  const filters = filterMap(flags.filter);
  if (args[0]) (filters.reference ??= []).push(args[0]);
  return { ...flags, all: !!flags.all, digests: !!flags.digests, format, filters };
}

/** Whether the answer is one the store keeps (see list_answer.js): no filters. */
const savable = (o) => Object.keys(o.filters).length === 0;

/** Whether `o` asks for the plain table (no flag but -a), the one whose printed text is kept. */
const plainTable = (o) => savable(o) && o.format === "table" && !o.digests && !o.quiet && !o.noTrunc;

/**
 * Prints from what the store keeps when it is current (`db`: the store's database, opened
 * without the store): the printed table if it is still true now, else the saved answer (and
 * then keeps the table printed from it). False when the store must be opened.
 */
async function runSaved(db, argv) {
  const o = options(argv);
  if (!savable(o)) return false;
  const t = now();
  if (plainTable(o)) {
    const table = listAnswer.readTable(db, o.all, t);
    if (table !== null) {
      out([table]);
      return true;
    }
  }
  const saved = listAnswer.read(db, o.all);
  if (saved === null) return false;
  const images = JSON.parse(saved.text);
  if (saved.sizes.length !== images.length) return false; // not this answer's cells: list again
  await print(db, images, o, t, saved.sizes, saved.text);
  return true;
}

async function run(store, argv) {
  const o = options(argv);
  let images;
  let sizes;
  let text;
  try {
    if (savable(o) && store[META]) {
      ({ images, sizes, text } = await listAndSave(store, o.all));
    } else {
      images = await store.listImages({ all: o.all, digests: o.digests, filters: o.filters });
    }
  } catch (e) {
    throw daemonError(e);
  }
  await print(store[META], images, o, now(), sizes, text);
}

/**
 * Lists `all` images or the top-level ones from the open fs `store` and saves the answer in it
 * (only a cache: if saving fails, the next run lists again). Returns the rows and SIZE cells.
 */
async function listAndSave(store, all) {
  const text = await store.listImagesJson({ all });
  const images = JSON.parse(text);
  const sizes = fmt().imageSizeCells(images);
  await listAnswer.save(store[META], all, { text, sizes }).catch(() => {});
  return { images, sizes, text };
}

/**
 * Saves the answers `images` keeps, listed from the open fs `store` as it is now: after a
 * command changed the store, so that the next `images` need not open it. The answer for all
 * images is kept only once `images -a` asked for it (10,000 rows cost 0.1–0.2 s to save).
 */
async function refreshSaved(store) {
  await listAndSave(store, false);
  if (store[META].getSync(listAnswer.answerKey(true)) !== undefined) await listAndSave(store, true);
}

/**
 * Writes `images` (GET /images/json rows; `sizes`: their SIZE cells if known; `text`: their JSON
 * text if at hand, which the core reads its rows from) as the docker CLI prints them at `t`.
 * A plain table of a listing the store keeps is kept too, in `db` (the store's database; none
 * for a store without one), with the span in which it stays true.
 */
async function print(db, images, o, t, sizes, text) {
  const f = fmt();
  if (o.format === "json") {
    const lines = [];
    const cells = f.imageCells(images, t, sizes);
    for (const row of f.imageRows(text ?? images, { digests: o.digests, noTrunc: !!o.noTrunc })) {
      lines.push(goJson(f.imageJson(images[row.image], row, cells[row.image])));
    }
    return out(lines);
  }
  const lines = f.imagesTable(images, { digests: o.digests, quiet: !!o.quiet, noTrunc: !!o.noTrunc, now: t, sizes, text });
  out(lines);
  if (db && plainTable(o)) {
    const [from, until] = f.createdSinceSpan(images.map((i) => i.Created), t);
    await listAnswer.saveTable(db, o.all, { table: lines[0], from, until }).catch(() => {});
  }
}

module.exports = {
  name: "images",
  usage: "images [-a] [--digests] [-q] [--no-trunc] [-f FILTER]... [--format table|json] [REPOSITORY[:TAG]]",
  run,
  runSaved,
  refreshSaved,
};
