// Times and names printed the way the docker CLI prints them. Sizes, durations, the image rows
// and short IDs come from the core (`humanSize`, re-exported by store.js; `humanDuration`,
// `imageRows`, `truncateId`), so the page never re-implements them.
import { humanDuration as coreHumanDuration, imageRows, truncateId } from "imagestore";

/** go-units HumanDuration of `ms` milliseconds ("About a minute"), from the core. */
export function humanDuration(ms) {
  return coreHumanDuration(ms / 1000);
}

/** "3 weeks ago" for a Unix time in seconds (the Engine API's `Created`). */
export function createdSince(unixSeconds, now = Date.now()) {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

/** "2026-11-23 13:52:44 UTC" for an RFC 3339 string or Unix seconds. */
export function absoluteTime(value) {
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value ?? "");
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace("Z", " UTC");
}

/** The 12 hex characters `docker images` shows (the core's stringid.TruncateID). */
export function shortId(id) {
  return truncateId(String(id ?? ""));
}

/**
 * The rows `docker images` prints for a list of ImageSummaries, from the core in one call
 * (src/formats/image_rows.rs: one per tag; a repository known only by digest gets a "<none>" tag
 * row; a dangling image one "<none> <none>" row), each with its image's id, created, size.
 * `rows`, when given, are those rows already made (`listImageRows`).
 */
export function rowsForImages(images, rows = null) {
  const c = rows ?? imageRows(images);
  return Array.from(c.image, (k, n) => {
    const img = images[k];
    return { id: img.Id, created: img.Created, size: img.Size, image: img, repo: c.repository[n], tag: c.tag[n] };
  });
}

/** "repo:tag" for a row, or the short ID for an untagged one (what `docker rmi` would take). */
export function rowReference(row) {
  return row.tag === "<none>" ? shortId(row.id) : `${row.repo}:${row.tag}`;
}
