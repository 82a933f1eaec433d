// What dockerd's `docker load` prints (moby 20.10 image/tarexport/load.go), from the core's
// import report: per manifest.json item, "Loaded image: <tag>" for each tag — after "The image
// <tag> already exists, renaming the old one with ID <id> to empty string" when the tag was on
// another image — or "Loaded image ID: <id>" for an image without tags.
"use strict";

const { splitTag, familiarName } = require("./docker_format.js");

/** familiar tag → image ID, for every tag in the store before the load. */
async function tagsBefore(store) {
  const tags = new Map();
  for (const image of await store.listImages({})) {
    for (const ref of image.RepoTags ?? []) {
      const [repo, tag] = splitTag(ref);
      if (tag !== null && ref !== "<none>:<none>") tags.set(`${familiarName(repo)}:${tag}`, image.Id);
    }
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

module.exports = { tagsBefore, loadedLines };
