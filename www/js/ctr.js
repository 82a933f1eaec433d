// The containerd view's pure logic: the filter box, sorting of `ctr images ls` rows (rows and
// cells come from the core: `imagesTable`, `content.table`), and the shape of an image's blob
// graph (index → manifests → config + layers) as containerd's images.Children walks it. No
// DOM, no store: tested in Node.

/**
 * The filter box: one containerd filter per line (ctr's positional filters); an image shows if
 * it matches any line. Within a line, commas join conditions that must all hold, as in ctr.
 * Returns the non-empty lines, trimmed, with their line numbers (1-based) for error messages.
 */
export function parseFilterLines(text) {
  return String(text ?? "")
    .split("\n")
    .map((line, i) => ({ line: i + 1, filter: line.trim() }))
    .filter((l) => l.filter !== "");
}

// ---- sorting the `ctr images ls` rows -------------------------------------------------------

const text = (key) => (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);

export const CTR_COLUMNS = [
  { key: "ref", label: "REF" },
  { key: "type", label: "TYPE" },
  { key: "digest", label: "DIGEST" },
  { key: "size", label: "SIZE", num: true },
  { key: "platforms", label: "PLATFORMS" },
  { key: "labels", label: "LABELS" },
];

const COMPARE = {
  ref: text("ref"),
  type: text("type"),
  digest: text("digest"),
  size: (a, b) => a.sizeBytes - b.sizeBytes,
  platforms: text("platforms"),
  labels: text("labels"),
};

/** Rows sorted by `key` ("asc" | "desc"), ties kept in the store's order (REF order). */
export function sortRows(rows, key, dir = "asc") {
  const cmp = COMPARE[key];
  if (!cmp) return rows.slice();
  const sign = dir === "asc" ? 1 : -1;
  return rows.map((r, i) => [r, i]).sort((a, b) => sign * cmp(a[0], b[0]) || a[1] - b[1]).map(([r]) => r);
}

// ---- media types and the blob graph ---------------------------------------------------------

const INDEXES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const MANIFESTS = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);
const CONFIGS = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

export const isIndex = (mediaType) => INDEXES.has(mediaType);
export const isManifest = (mediaType) => MANIFESTS.has(mediaType);
export const isConfig = (mediaType) => CONFIGS.has(mediaType);
/** Blobs the detail view reads and shows as JSON. */
export const isJson = (mediaType) => isIndex(mediaType) || isManifest(mediaType) || isConfig(mediaType);

/** What a descriptor is, in a word, for the tree. */
export function kindOf(mediaType) {
  if (isIndex(mediaType)) return "index";
  if (isManifest(mediaType)) return "manifest";
  if (isConfig(mediaType)) return "config";
  if (/\.layer\.|\.rootfs\./.test(mediaType ?? "")) return "layer";
  return "blob";
}

/** containerd's platforms.Format: `os/arch[/variant]`, "unknown" without an OS. */
export function formatPlatform(p) {
  if (!p) return "";
  if (!p.os) return "unknown";
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * The children of a descriptor whose blob parsed to `doc`, as containerd's images.Children:
 * an index's manifests, a manifest's config then layers, nothing for anything else. Each
 * child is `{ role, descriptor }`, role being "manifest", "config" or "layer <n>".
 */
export function childrenOf(mediaType, doc) {
  if (isIndex(mediaType)) return (doc?.manifests ?? []).map((d) => ({ role: "manifest", descriptor: d }));
  if (isManifest(mediaType)) {
    return [
      doc?.config && { role: "config", descriptor: doc.config },
      ...(doc?.layers ?? []).map((d, i) => ({ role: `layer ${i + 1}`, descriptor: d })),
    ].filter(Boolean);
  }
  return [];
}
