// What dockerd's `docker load` prints (moby 20.10 image/tarexport/load.go), from the core's
// import report: per manifest.json item, "Loaded image: <tag>" for each tag — after "The image
// <tag> already exists, renaming the old one with ID <id> to empty string" when the tag was on
// another image — or "Loaded image ID: <id>" for an image without tags.
"use strict";

const { imageRows, humanSize } = require("./docker_format.js");
const { goJson } = require("./cli_support.js");

/** familiar tag → image ID, for every tag in the store before the load. */
async function tagsBefore(store) {
  const tags = new Map();
  const images = await store.listImages({});
  for (const row of imageRows(images)) {
    if (row.tag !== "<none>") tags.set(`${row.repo}:${row.tag}`, images[row.image].Id);
  }
  return tags;
}

/** The lines dockerd sends for a load whose report is `report`; `before` from tagsBefore. */
function loadedLines(report, before) {
  const lines = [];
  const tags = new Map(before);
  for (const { id, tags: names } of report.loaded ?? []) {
    for (const name of names) {
      const previous = tags.get(name);
      if (previous !== undefined && previous !== id) {
        lines.push(`The image ${name} already exists, renaming the old one with ID ${previous} to empty string`);
      }
      tags.set(name, id);
      lines.push(`Loaded image: ${name}`);
    }
    if (names.length === 0) lines.push(`Loaded image ID: ${id}`);
  }
  return lines;
}

/** jsonmessage's progress bar as dockerd formats it (a 200-column "terminal", no time left). */
function progressBar(current, total) {
  const percentage = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const box = `[${"=".repeat(percentage)}>${" ".repeat(Math.max(0, 50 - percentage))}] `;
  return box + `${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/**
 * dockerd's "Loading layer" messages for a layer file of `size` bytes (moby pkg/progress
 * Reader, read 32 KiB at a time as archive.DecompressStream's buffer reads it): an update when
 * more than min(512 KiB, 1 %) was read since the last, shown if it is the first, the full
 * length, or the end of the file. dockerd also shows one more every 100 ms of a slow load;
 * those depend on its clock and are not made up here.
 */
function loadingLayer(diffId, size) {
  const id = diffId.replace(/^[^:]*:/, "").slice(0, 12);
  const every = Math.min(512 * 1024, Math.trunc(0.01 * size));
  const message = (current) => ({
    status: "Loading layer",
    progressDetail: { current, total: size },
    progress: progressBar(current, size),
    id,
  });
  const out = [];
  let current = 0;
  let lastUpdate = 0;
  let shown = false;
  while (current < size) {
    current += Math.min(32 * 1024, size - current);
    if (current - lastUpdate > every) {
      if (!shown || current === size) out.push(message(current));
      shown = true;
      lastUpdate = current;
    }
  }
  out.push(message(current)); // the read that meets the end of the file
  return out;
}

/**
 * The JSON message stream of `POST /images/load` for `report`: per manifest.json item, with
 * `quiet` false, a "Loading layer" progress run for each layer the load put in the store,
 * then its "Loaded image" lines (`{"stream": …}`).
 */
function loadMessages(report, before, { quiet }) {
  const out = [];
  const tags = new Map(before);
  for (const item of report.loaded ?? []) {
    if (!quiet) {
      for (const layer of item.layers ?? []) if (layer.loaded) out.push(...loadingLayer(layer.diffId, layer.size));
    }
    for (const line of loadedLines({ loaded: [item] }, tags)) out.push({ stream: line + "\n" });
    for (const name of item.tags) tags.set(name, item.id);
  }
  return out.map((m) => goJson(m));
}

module.exports = { tagsBefore, loadedLines, loadMessages, loadingLayer };
