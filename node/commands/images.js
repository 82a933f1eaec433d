// `imagestore images`: docker images (GET /images/json), table or JSON lines.
"use strict";

const fmt = require("../docker_format.js");
const { parseArgs, flag, out, now, filterMap, goJson, daemonError, outputFormat, UsageError } = require("../cli_support.js");
const listAnswer = require("../list_answer.js");
const { META } = require("../fs_adapter.js");

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

/**
 * Prints from the answer saved in the store when it is current (`db`: the store's database,
 * opened without the store); false when the store must be opened.
 */
function runSaved(db, argv) {
  const o = options(argv);
  if (!savable(o)) return false;
  const saved = listAnswer.read(db, o.all);
  if (saved === null) return false;
  const images = JSON.parse(saved.text);
  if (saved.sizes.length !== images.length) return false; // not this answer's cells: list again
  print(images, o, saved.sizes, saved.text);
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
  print(images, o, sizes, text);
}

/**
 * Lists `all` images or the top-level ones from the open fs `store` and saves the answer in it
 * (only a cache: if saving fails, the next run lists again). Returns the rows and SIZE cells.
 */
async function listAndSave(store, all) {
  const text = await store.listImagesJson({ all });
  const images = JSON.parse(text);
  const sizes = fmt.imageSizeCells(images);
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
 * text if at hand, which the core reads its rows from) as the docker CLI prints them.
 */
function print(images, o, sizes, text) {
  const t = now();
  if (o.format === "json") {
    const lines = [];
    const cells = fmt.imageCells(images, t, sizes);
    for (const row of fmt.imageRows(text ?? images, { digests: o.digests, noTrunc: !!o.noTrunc })) {
      lines.push(goJson(fmt.imageJson(images[row.image], row, cells[row.image])));
    }
    return out(lines);
  }
  out(fmt.imagesTable(images, { digests: o.digests, quiet: !!o.quiet, noTrunc: !!o.noTrunc, now: t, sizes, text }));
}

module.exports = {
  name: "images",
  usage: "images [-a] [--digests] [-q] [--no-trunc] [-f FILTER]... [--format table|json] [REPOSITORY[:TAG]]",
  run,
  runSaved,
  refreshSaved,
};
