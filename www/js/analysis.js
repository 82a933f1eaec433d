// The analysis panel of an image, in the Docker inspect view and in the containerd image view:
// dive's efficiency badge with the wasted files, a layer explorer (the merged tree at a layer,
// with what that layer added, modified or removed, "only changes" / "only wasted" filters and
// collapsible directories), the image's largest files, and a compare form against another
// image. Everything comes from the package (layerChanges, efficiency, layerFiles, largestFiles,
// diffImages), which takes a Docker image by ID and a containerd image as { namespace, name }.
// So that a 50,000-file image never freezes the page, the package is asked in a worker
// (analysis-worker.js, on its own connection to the store) and its answers come back cut to
// what the panel shows, a tree as columns; the page draws 500 rows at a time.
import { wasmModule } from "imagestore";
import { h, replace } from "./dom.js";
import { explain, humanSize, store, STORE_NAME, whenClearing } from "./store.js";
import { shortId } from "./format.js";
import { downloadDirectory, layerContents, openViewer } from "./contents.js";
import { CHANGES, DIFF_SHOWN, PanelData, TYPES } from "./analysis-data.js";

const CHUNK = 500;
const WASTED_SHOWN = 500;
const LARGEST = 20;
const MARK = { added: "A", modified: "M", removed: "R" };
/** Entries the viewer opens (readFile follows links inside the image). */
const OPENABLE = new Set(["file", "symlink", "hardlink"]);

async function downloadFolder(button, id, path, status) {
  button.disabled = true;
  status.textContent = `Preparing ${path} as a tar…`;
  try {
    const size = await downloadDirectory(id, path, status);
    status.textContent = size === null ? "" : `Downloaded ${path} as a tar: ${humanSize(size)} (${size} bytes).`;
  } catch (err) {
    status.textContent = explain(err, `Downloading ${path}`).detail;
  } finally {
    button.disabled = false;
  }
}

/** The page's own PanelData for the open store (where no worker can do the work). */
let onPage = null;
const here = () => {
  if (onPage?.store !== store()) onPage = new PanelData(store());
  computedIn = "page";
  return onPage;
};
/** Where the last answer was worked out ("worker" or "page"): the panel says it in data-computed-in. */
let computedIn = null;

/** The worker for the open store: { worker, store, pending, next }; `false` once one failed to start. */
let helper = null;

/** Ends the worker; its pending calls go to `settle` (by default: worked out on the page). */
function stopHelper(settle = (p) => p.onPage()) {
  if (!helper) return;
  helper.worker.terminate();
  for (const p of helper.pending.values()) settle(p);
  helper = null;
}

// Clearing the store: the worker's connection would hold up the deletion, and what it is
// working out (an import's search index, an open panel) is for a store that is going away.
whenClearing(() => stopHelper((p) => p.reject(Object.assign(new Error("The store was cleared."), { code: "aborted" }))));

/** Answers `op(...args)` of PanelData: in the worker, or here when no worker can open the store. */
function ask(op, ...args) {
  if (helper === false || typeof Worker !== "function") return here()[op](...args);
  if (helper && helper.store !== store()) stopHelper(); // the store was opened again (cleared, or closed by another tab)
  if (!helper) {
    const worker = new Worker(new URL("./analysis-worker.js", import.meta.url), { type: "module" });
    const mine = (helper = { worker, store: store(), pending: new Map(), next: 0 });
    worker.onmessage = ({ data }) => {
      const p = mine.pending.get(data.id);
      if (!p) return;
      mine.pending.delete(data.id);
      if (data.fatal) {
        // The worker could not open the store: everything is done here from now on.
        if (helper === mine) { stopHelper(); helper = false; }
        p.onPage();
      } else if (data.error) {
        p.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
      } else {
        computedIn = "worker";
        p.resolve(data.result);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      if (helper === mine) { stopHelper(); helper = false; }
    };
  }
  return new Promise((resolve, reject) => {
    const id = helper.next++;
    helper.pending.set(id, { resolve, reject, onPage: () => here()[op](...args).then(resolve, reject) });
    helper.worker.postMessage({ id, op, args, store: STORE_NAME, pkg: import.meta.resolve("imagestore"), module: wasmModule });
  });
}

/**
 * A store-wide `op` of PanelData (search, updateIndex), answered as the panel's are: `{ result,
 * computedIn }`, where it was worked out ("worker" or "page").
 */
export async function askStore(op, ...args) {
  const result = await ask(op, ...args);
  return { result, computedIn };
}

/** What the compare form offers besides the Docker image `id`: every other Docker image. */
export function dockerOthers(app, id) {
  return (app.allImages ?? []).filter((i) => i.Id !== id)
    .map((i) => ({ label: (i.RepoTags ?? []).find((t) => t !== "<none>:<none>") ?? shortId(i.Id), ref: i.Id }));
}

/**
 * Fills `body` with the analysis of `image`: a Docker image ID, or `{ namespace, name }` for a
 * containerd image. `others` (`[{ label, ref }]`) are the images the compare form offers.
 */
export async function renderAnalysis(body, image, others) {
  const docker = typeof image === "string";
  try {
    const { eff, layers, largest } = await ask("overview", image, LARGEST);
    // Which layers have their tar (files can be opened and folders downloaded from those);
    // the contents calls take Docker images only.
    const none = layers.map(() => false);
    const have = docker ? await layerContents(image, layers.length).catch(() => none) : none;
    const explorer = h("div", { id: "layer-explorer", dataset: { computedIn } });
    replace(body, badge(eff), wastedList(eff), largestList(largest, layers), layerPicker(layers, eff, explorer, image, have), explorer, compareForm(others, image));
    if (layers.length > 0) await showLayer(explorer, image, layers, layers.length - 1, eff, have);
  } catch (err) {
    replace(body, h("p", { class: "error" }, explain(err, "Analysing the image").detail));
  }
}

function badge(eff) {
  const pct = (eff.efficiencyScore * 100).toFixed(2);
  const failed = eff.rules.filter((r) => r.pass === false).map((r) => r.name);
  // The exact numbers ride along as data attributes (the text rounds them).
  const dataset = { pass: String(eff.pass), score: String(eff.efficiencyScore), inefficientBytes: String(eff.inefficientBytes), sizeBytes: String(eff.sizeBytes) };
  return h("p", { class: "efficiency", id: "efficiency-badge", dataset },
    h("strong", {}, `Efficiency ${pct} %`), ` · wasted ${humanSize(eff.inefficientBytes)} of ${humanSize(eff.sizeBytes)} · `,
    eff.pass ? "dive CI: pass" : `dive CI: fail (${failed.join(", ")})`);
}

function wastedList(eff) {
  if (eff.wasted.length === 0) return h("p", { class: "muted", id: "wasted-none" }, "No wasted files (no path is in more than one layer).");
  const shown = eff.wasted.slice(0, WASTED_SHOWN);
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Wasted files" }, h("table", { class: "plain files", id: "wasted-table" },
    eff.wasted.length > shown.length ? h("caption", { class: "muted small" }, `The ${shown.length} largest of ${eff.wasted.length} wasted files`) : null,
    h("thead", {}, h("tr", {}, ["COUNT", "WASTED", "PATH"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, shown.map((w) => h("tr", { dataset: { sizeBytes: String(w.sizeBytes) } },
      h("td", { class: "num" }, String(w.count)), h("td", { class: "num" }, humanSize(w.sizeBytes)), h("td", { class: "mono" }, w.path))))));
}

/** The image's largest files, each with the layer (and command) that last wrote it. */
function largestList(files, layers) {
  if (!files) return null;
  return h("details", { id: "largest-files" },
    h("summary", {}, `Largest files (${files.length})`),
    h("table", { class: "plain files", id: "largest-table" },
      h("thead", {}, h("tr", {}, ["SIZE", "LAYER", "PATH"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, files.map((f) => h("tr", {},
        h("td", { class: "num" }, humanSize(f.size)),
        h("td", { class: "num", title: layers[f.layer]?.command ?? "" }, String(f.layer + 1)),
        h("td", { class: "mono" }, f.path))))));
}

function layerPicker(layers, eff, explorer, id, have) {
  const select = h("select", { id: "layer-select", "aria-label": "Layer" },
    layers.map((l) => h("option", { value: String(l.index), selected: l.index === layers.length - 1, dataset: { sizeBytes: String(l.sizeBytes) } },
      `${l.index + 1}: ${humanSize(l.sizeBytes)} · ${l.changeCount} changes · ${l.command.slice(0, 80)}`)));
  select.addEventListener("change", () => showLayer(explorer, id, layers, Number(select.value), eff, have)
    .catch((err) => replace(explorer, h("p", { class: "error" }, explain(err, "Reading the layer's files").detail))));
  return h("p", {}, h("label", {}, "Layer ", select));
}

/** The merged tree at layer `index`, with that layer's changes marked (removals included). */
async function showLayer(explorer, id, layers, index, eff, have) {
  // Arrow keys on the layer picker ask for several layers in a row; their answers may come in
  // any order, and only the last one asked for is drawn.
  const asked = (explorer.asked = (explorer.asked ?? 0) + 1);
  delete explorer.dataset.layer;
  replace(explorer, h("p", { class: "muted" }, "Reading the layer's files…"));
  const tree = await ask("tree", id, index);
  if (explorer.asked !== asked) return;
  const rows = new Array(tree.paths.length);
  const counts = { added: 0, modified: 0, removed: 0 };
  for (let i = 0; i < rows.length; i++) {
    const change = CHANGES[tree.changes[i]];
    rows[i] = { path: tree.paths[i], type: TYPES[tree.types[i]], size: tree.sizes[i], layer: tree.layers[i], change, above: tree.above[i] };
    if (change) counts[change]++;
  }
  const wasted = new Set(eff.wasted.map((w) => w.path));
  const contents = {
    id,
    all: have.every(Boolean),
    open: (r) => {
      const note = r.above >= 0 ? `layer ${r.above + 1} changes this path: shown as in the image` : `from layer ${r.layer + 1}`;
      return openViewer(id, r.path, r, note);
    },
    can: (r) => have[r.layer] === true,
  };
  const state = { rows, counts, wasted, collapsed: new Set(), onlyChanges: false, onlyWasted: false, shown: CHUNK, contents };
  const toggles = h("p", {},
    h("label", { class: "toggle" }, h("input", { type: "checkbox", id: "only-changes", onchange: (e) => { state.onlyChanges = e.target.checked; draw(); } }), " only changes"), " ",
    h("label", { class: "toggle" }, h("input", { type: "checkbox", id: "only-wasted", onchange: (e) => { state.onlyWasted = e.target.checked; draw(); } }), " only wasted"));
  const info = h("p", { class: "muted small", id: "layer-info", "aria-live": "polite" });
  const list = h("ul", { class: "file-tree mono", id: "file-tree" });
  const more = h("button", { type: "button", class: "button small", id: "tree-more", onclick: () => { state.shown += CHUNK; draw({ more: true }); } }, "Show more");
  const draw = (how) => drawTree(state, list, info, more, draw, how);
  const help = have.some(Boolean)
    ? h("p", { class: "muted small" }, "Choose a file to view or download it; a folder's ⤓ button downloads it as a tar.")
    : typeof id === "string"
      ? h("p", { class: "muted small", id: "explorer-no-contents" }, "Files cannot be opened here: this store has no layer contents for this image.")
      : h("p", { class: "muted small", id: "explorer-no-contents" }, "Files of a containerd image cannot be opened here yet (the Docker view opens a Docker image's files).");
  const status = h("p", { class: "muted small", role: "status", id: "tree-download-status" });
  state.status = status;
  replace(explorer, h("p", { class: "mono small layer-command" }, layers[index].command), toggles, help, info, list, more, status);
  draw();
  explorer.dataset.layer = String(index);
}

function visibleRows(state) {
  const keep = (r) => (!state.onlyChanges || r.change) && (!state.onlyWasted || state.wasted.has(r.path));
  const filtering = state.onlyChanges || state.onlyWasted;
  // With a filter on, a directory stays when something below it is kept.
  const keptDirs = new Set();
  if (filtering) {
    for (const r of state.rows) {
      if (!keep(r)) continue;
      for (let p = r.path; p.lastIndexOf("/") > 0; ) { p = p.slice(0, p.lastIndexOf("/")); keptDirs.add(p); }
    }
  }
  const out = [];
  let hiddenUnder = null;
  for (const r of state.rows) {
    if (hiddenUnder && r.path.startsWith(hiddenUnder)) continue;
    hiddenUnder = null;
    if (filtering && !keep(r) && !keptDirs.has(r.path)) continue;
    out.push(r);
    if (state.collapsed.has(r.path)) hiddenUnder = `${r.path}/`;
  }
  return out;
}

/**
 * Draws the first `state.shown` visible rows; with `{ more: true }` (the "Show more" button)
 * only the rows not drawn yet are added, the visible rows being those of the last draw.
 */
function drawTree(state, list, info, more, redraw, { more: adding = false } = {}) {
  const drawn = adding ? list.childElementCount : 0;
  if (!adding) state.visible = visibleRows(state);
  const rows = state.visible;
  const { counts } = state;
  info.textContent = `${state.rows.length} paths; this layer: ${counts.added} added, ${counts.modified} modified, ${counts.removed} removed; ${Math.min(rows.length, state.shown)} of ${rows.length} shown.`;
  const items = rows.slice(drawn, state.shown).map((r) => treeItem(state, r, redraw));
  if (adding) list.append(...items);
  else replace(list, items);
  more.hidden = rows.length <= state.shown;
}

function treeItem(state, r, redraw) {
  const depth = r.path.split("/").length - 2;
  const name = r.path.slice(r.path.lastIndexOf("/") + 1);
  const dir = r.type === "dir";
  const label = [MARK[r.change] ?? " ", " ", name, dir ? "/" : "", r.type === "file" ? `  ${humanSize(r.size)}` : ""].join("");
  const li = h("li", { class: r.change ? `change-${r.change}` : null, style: `padding-left:${depth * 1.2}em`, dataset: { path: r.path, change: r.change ?? "", type: r.type } });
  const { contents } = state;
  if (dir) {
    const open = !state.collapsed.has(r.path);
    li.append(h("button", { type: "button", class: "tree-toggle", "aria-expanded": String(open), onclick: () => {
      if (open) state.collapsed.add(r.path); else state.collapsed.delete(r.path);
      redraw();
    } }, `${open ? "▾" : "▸"} ${label}`));
    if (contents.all && r.change !== "removed") {
      li.append(" ", h("button", { type: "button", class: "tree-action", "aria-label": `Download ${r.path} as a tar`, title: "Download as a tar", onclick: (e) => downloadFolder(e.currentTarget, contents.id, r.path, state.status) }, "⤓"));
    }
  } else if (r.change !== "removed" && OPENABLE.has(r.type) && contents.can(r)) {
    // The change mark stays outside the button, so the button reads as the file's name.
    li.append(`${MARK[r.change] ?? " "} `, h("button", { type: "button", class: "tree-file", "aria-haspopup": "dialog", onclick: () => contents.open(r) }, label.slice(2)));
  } else {
    li.append(label);
  }
  return li;
}

function compareForm(others, image) {
  if (!others?.length) return null;
  const select = h("select", { id: "compare-with", "aria-label": "Compare with" },
    others.map((o, i) => h("option", { value: String(i) }, o.label)));
  const out = h("div", { id: "compare-result", "aria-live": "polite" });
  const run = async () => {
    replace(out, h("p", { class: "muted" }, "Comparing…"));
    try {
      const d = await ask("diff", others[Number(select.value)].ref, image);
      replace(out,
        h("p", { id: "compare-summary" }, `${d.sharedLayers.length} shared layers; this image has ${d.added.count} added, ${d.modified.count} modified and ${d.removed.count} removed files against it.`),
        ["added", "modified", "removed"].map((k) => d[k].count === 0 ? null : h("details", {},
          h("summary", {}, d[k].count > DIFF_SHOWN ? `${k} (${d[k].count}; the first ${DIFF_SHOWN} listed)` : `${k} (${d[k].count})`),
          h("ul", { class: "mono small paths" }, d[k].files.map((f) => h("li", {}, `${f.path} ${f.sizeDelta >= 0 ? "+" : ""}${f.sizeDelta}`))))));
    } catch (err) {
      replace(out, h("p", { class: "error" }, explain(err, "Comparing images").detail));
    }
  };
  return h("div", { class: "compare" }, h("h4", {}, "Compare"),
    h("p", {}, h("label", {}, "Against ", select), " ", h("button", { type: "button", class: "button small", id: "compare-run", onclick: run }, "Compare")), out);
}
