// Times and names printed the way the docker CLI prints them. Sizes and durations come from
// the core (`humanSize`, re-exported by store.js; `humanDuration`), so the page never
// re-implements go-units.
import { humanDuration as coreHumanDuration } from "imagestore";

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

/** The 12 hex characters `docker images` shows. */
export function shortId(id) {
  return String(id ?? "").replace(/^sha256:/, "").slice(0, 12);
}

/** Splits "repo:tag" (the tag is after the last ":" that follows the last "/"). */
export function splitTag(ref) {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}

/**
 * The rows `docker images` prints for one ImageSummary: one per tag; a repository known only by
 * digest gets a "<none>" tag row; an image with neither gets one "<none> <none>" row.
 */
export function rowsForImage(img) {
  const tags = (img.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
  const digests = (img.RepoDigests ?? []).filter((d) => d !== "<none>@<none>");
  const base = { id: img.Id, created: img.Created, size: img.Size, image: img };
  if (tags.length === 0 && digests.length === 0) return [{ ...base, repo: "<none>", tag: "<none>" }];
  const byRepo = new Map();
  for (const t of tags) {
    const [repo, tag] = splitTag(t);
    if (!byRepo.has(repo)) byRepo.set(repo, []);
    byRepo.get(repo).push(tag);
  }
  const rows = [];
  for (const repo of [...byRepo.keys()].sort()) {
    for (const tag of byRepo.get(repo)) rows.push({ ...base, repo, tag });
  }
  const digestRepos = [...new Set(digests.map((d) => d.slice(0, d.indexOf("@"))))].filter((r) => !byRepo.has(r)).sort();
  for (const repo of digestRepos) rows.push({ ...base, repo, tag: "<none>" });
  return rows;
}

/** "repo:tag" for a row, or the short ID for an untagged one (what `docker rmi` would take). */
export function rowReference(row) {
  return row.tag === "<none>" ? shortId(row.id) : `${row.repo}:${row.tag}`;
}
