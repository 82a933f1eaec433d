// Store-wide tools under the image list: a file search across every image and layer of both
// views (findFiles: a path, a basename or a glob, answered from the persisted index, in the
// analysis worker: the first search after an import brings the index up to date, which is
// started in the background when an import ends and when the search box is focused), the
// store's largest files (storeLargestFiles) and the sizes `docker system df -v` shows
// (systemDf: Size, SharedSize, UniqueSize per image, and LayersSize).
import { $, h, replace } from "./dom.js";
import { explain, humanSize, store } from "./store.js";
import { shortId } from "./format.js";
import { ctrImageHref, dockerImageHref } from "./route.js";
import { askStore } from "./analysis.js";
import { SEARCH_SHOWN as SHOWN } from "./analysis-data.js";

const SHOWN_LARGEST = 50;

/** A hit's image: the Docker image's inspect view, or the containerd image's. */
function imageLink(f) {
  const name = f.repoTags[0] ?? shortId(f.image);
  return f.namespace
    ? h("a", { href: ctrImageHref(f.namespace, f.repoTags[0]) }, `${f.namespace}: ${name}`)
    : h("a", { href: dockerImageHref(f.image) }, name);
}

/** The layers a store-wide answer could not look into (unreadable tar-split or blob), named. */
function skippedNote(skipped) {
  if (!skipped?.length) return null;
  return h("div", { class: "warning", id: "search-skipped", role: "note" },
    h("p", {}, `${skipped.length} ${skipped.length === 1 ? "layer was" : "layers were"} not searched, so the answer may be incomplete:`),
    h("ul", { class: "small" }, skipped.map((s) => h("li", {},
      `layer ${s.layer + 1} of ${s.image} `, h("span", { class: "mono" }, `(${s.diffId.slice(0, 19)}…)`), `: ${s.reason}`))));
}

/** The index update under way in the analysis worker, if one is. */
let updating = null;

/**
 * Brings the persisted search index up to date in the background (the layers imported since
 * the last search), so that the next search answers from it: after an import, and when the
 * search box is focused. One update at a time; its errors show with the search that follows.
 */
export function updateSearchIndexSoon() {
  updating ??= askStore("updateIndex").catch(() => {}).finally(() => {
    updating = null;
    // Finished updates, for tests and tools that wait for one.
    document.body.dataset.indexUpdates = String(Number(document.body.dataset.indexUpdates ?? 0) + 1);
  });
}

export function mountStoreTools() {
  const list = $("#list-view");
  if (!list || $("#store-tools")) return;
  const input = h("input", { id: "file-search", type: "search", placeholder: "/etc/passwd, passwd, **/*.pem", autocomplete: "off", spellcheck: "false", "aria-label": "File path, name or glob" });
  const change = h("select", { id: "file-search-change", "aria-label": "Change" },
    [["", "any change"], ["added", "added"], ["modified", "modified"], ["removed", "removed"]].map(([v, t]) => h("option", { value: v }, t)));
  const results = h("div", { id: "file-search-results", "aria-live": "polite" });
  input.addEventListener("focus", updateSearchIndexSoon);
  const search = async (e) => {
    e.preventDefault();
    if (!input.value.trim()) return;
    replace(results, h("p", { class: "muted" }, "Searching…"));
    try {
      const { result: found, computedIn } = await askStore("search", input.value, change.value || undefined);
      results.dataset.computedIn = computedIn;
      const hits = found.hits;
      replace(results, skippedNote(found.skipped), h("p", { class: "muted small" }, `${found.count} matches${found.count > SHOWN ? `, first ${SHOWN} shown` : ""}.`),
        hits.length === 0 ? null : h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Matching files" }, h("table", { class: "plain files", id: "file-search-table" },
          h("thead", {}, h("tr", {}, ["IMAGE", "LAYER", "CHANGE", "SIZE", "PATH"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, hits.map((f) => h("tr", {},
            h("td", {}, imageLink(f)),
            h("td", { class: "num" }, String(f.layer + 1)), h("td", {}, f.change),
            h("td", { class: "num" }, humanSize(f.size)), h("td", { class: "mono" }, f.path)))))));
    } catch (err) {
      replace(results, h("p", { class: "error" }, explain(err, "Searching files").detail));
    }
  };
  const sizes = h("div", { id: "sizes-result" });
  const showSizes = async () => {
    replace(sizes, h("p", { class: "muted" }, "Computing…"));
    try {
      const df = await store().systemDf(undefined);
      replace(sizes, h("p", { id: "layers-size" }, `Layers: ${humanSize(df.LayersSize)} (${df.LayersSize} bytes)`),
        h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Disk usage per image" }, h("table", { class: "plain", id: "sizes-table" },
          h("thead", {}, h("tr", {}, ["IMAGE", "SIZE", "SHARED", "UNIQUE", "CONTAINERS"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, df.Images.map((i) => h("tr", {},
            h("td", {}, h("a", { href: `#/image/${i.Id}` }, i.RepoTags?.[0] ?? shortId(i.Id))),
            h("td", { class: "num" }, humanSize(i.Size)), h("td", { class: "num" }, humanSize(i.SharedSize)),
            h("td", { class: "num" }, humanSize(i.Size - i.SharedSize)), h("td", { class: "num" }, String(i.Containers))))))));
    } catch (err) {
      replace(sizes, h("p", { class: "error" }, explain(err, "Disk usage").detail));
    }
  };
  const largest = h("div", { id: "store-largest-result" });
  const showLargest = async () => {
    replace(largest, h("p", { class: "muted" }, "Reading the index…"));
    try {
      const files = await store().storeLargestFiles({ limit: SHOWN_LARGEST });
      replace(largest, skippedNote(files.skipped), h("table", { class: "plain files", id: "store-largest-table" },
        h("thead", {}, h("tr", {}, ["SIZE", "PATH", "IN"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, files.map((f) => h("tr", {},
          h("td", { class: "num" }, humanSize(f.size)), h("td", { class: "mono" }, f.path),
          h("td", {}, f.images.slice(0, 3).map((o, i) => [i ? ", " : "", imageLink(o)]),
            f.images.length > 3 ? ` and ${f.images.length - 3} more` : ""))))));
    } catch (err) {
      replace(largest, h("p", { class: "error" }, explain(err, "Largest files").detail));
    }
  };
  list.append(h("section", { id: "store-tools", class: "panel", "aria-labelledby": "store-tools-title" },
    h("h3", { id: "store-tools-title" }, "Files and sizes across the store"),
    h("form", { role: "search", onsubmit: search }, input, " ", change, " ", h("button", { type: "submit", class: "button small" }, "Search")),
    results,
    h("p", {}, h("button", { type: "button", class: "button small", id: "show-sizes", onclick: showSizes }, "Disk usage (system df)"),
      " ", h("button", { type: "button", class: "button small", id: "show-largest", onclick: showLargest }, "Largest files")),
    sizes, largest));
}
