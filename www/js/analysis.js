// The analysis panel of an image, in the Docker inspect view and in the containerd image view:
// dive's efficiency badge with the wasted files, a layer explorer (the merged tree at a layer,
// with what that layer added, modified or removed, "only changes" / "only wasted" filters and
// collapsible directories, rendered in chunks so 50,000-file trees do not freeze the page), the
// image's largest files, and a compare form against another image. Everything comes from the
// package (layerChanges, efficiency, layerFiles, largestFiles, diffImages), which takes a
// Docker image by ID and a containerd image as { namespace, name }.
import { h, replace } from "./dom.js";
import { explain, humanSize, store } from "./store.js";
import { shortId } from "./format.js";
import { downloadDirectory, layerContents, openViewer } from "./contents.js";

const CHUNK = 500;
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
    const [eff, layers, largest] = await Promise.all([
      store().efficiency(image),
      store().layerChanges(image),
      store().largestFiles(image, { limit: LARGEST }),
    ]);
    // Which layers have their tar (files can be opened and folders downloaded from those);
    // the contents calls take Docker images only.
    const none = layers.map(() => false);
    const have = docker ? await layerContents(image, layers.length).catch(() => none) : none;
    const explorer = h("div", { id: "layer-explorer" });
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
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Wasted files" }, h("table", { class: "plain files", id: "wasted-table" },
    h("thead", {}, h("tr", {}, ["COUNT", "WASTED", "PATH"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, eff.wasted.map((w) => h("tr", { dataset: { sizeBytes: String(w.sizeBytes) } },
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
      `${l.index + 1}: ${humanSize(l.sizeBytes)} · ${l.changes.length} changes · ${l.command.slice(0, 80)}`)));
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
  replace(explorer, h("p", { class: "muted" }, "Reading tar-split…"));
  const files = await store().layerFiles(id, { layer: index, merged: true });
  if (explorer.asked !== asked) return;
  const changes = new Map(layers[index].changes.map((c) => [c.path, c]));
  const wasted = new Set(eff.wasted.map((w) => w.path));
  const rows = files.filter((f) => f.path !== "/").map((f) => ({ path: f.path, type: f.type, size: f.size, layer: f.layer, change: changes.get(f.path)?.change }));
  for (const c of layers[index].changes) if (c.change === "removed") rows.push({ path: c.path, type: c.type, size: c.size, change: "removed" });
  rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // Opening reads the image's file (its topmost layer); a later layer that changes the path is named.
  const changedAbove = (path) => layers.slice(index + 1).find((l) => l.changes.some((c) => c.path === path));
  const contents = {
    id,
    all: have.every(Boolean),
    open: (r) => {
      const above = changedAbove(r.path);
      const note = above ? `layer ${above.index + 1} changes this path: shown as in the image` : `from layer ${r.layer + 1}`;
      return openViewer(id, r.path, r, note);
    },
    can: (r) => have[r.layer] === true,
  };
  const state = { rows, wasted, collapsed: new Set(), onlyChanges: false, onlyWasted: false, shown: CHUNK, contents };
  const toggles = h("p", {},
    h("label", { class: "toggle" }, h("input", { type: "checkbox", id: "only-changes", onchange: (e) => { state.onlyChanges = e.target.checked; draw(); } }), " only changes"), " ",
    h("label", { class: "toggle" }, h("input", { type: "checkbox", id: "only-wasted", onchange: (e) => { state.onlyWasted = e.target.checked; draw(); } }), " only wasted"));
  const info = h("p", { class: "muted small", id: "layer-info", "aria-live": "polite" });
  const list = h("ul", { class: "file-tree mono", id: "file-tree" });
  const more = h("button", { type: "button", class: "button small", id: "tree-more", onclick: () => { state.shown += CHUNK; draw(); } }, "Show more");
  const draw = () => drawTree(state, list, info, more, draw);
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

function drawTree(state, list, info, more, redraw) {
  const rows = visibleRows(state);
  const counts = { added: 0, modified: 0, removed: 0 };
  for (const r of state.rows) if (r.change) counts[r.change]++;
  info.textContent = `${state.rows.length} paths; this layer: ${counts.added} added, ${counts.modified} modified, ${counts.removed} removed; ${Math.min(rows.length, state.shown)} of ${rows.length} shown.`;
  const items = rows.slice(0, state.shown).map((r) => {
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
  });
  replace(list, items);
  more.hidden = rows.length <= state.shown;
}

function compareForm(others, image) {
  if (!others?.length) return null;
  const select = h("select", { id: "compare-with", "aria-label": "Compare with" },
    others.map((o, i) => h("option", { value: String(i) }, o.label)));
  const out = h("div", { id: "compare-result", "aria-live": "polite" });
  const run = async () => {
    replace(out, h("p", { class: "muted" }, "Comparing…"));
    try {
      const d = await store().diffImages(others[Number(select.value)].ref, image);
      replace(out,
        h("p", { id: "compare-summary" }, `${d.sharedLayers.length} shared layers; this image has ${d.added.length} added, ${d.modified.length} modified and ${d.removed.length} removed files against it.`),
        ["added", "modified", "removed"].map((k) => d[k].length === 0 ? null : h("details", {},
          h("summary", {}, `${k} (${d[k].length})`),
          h("ul", { class: "mono small paths" }, d[k].slice(0, CHUNK).map((f) => h("li", {}, `${f.path} ${f.sizeDelta >= 0 ? "+" : ""}${f.sizeDelta}`))))));
    } catch (err) {
      replace(out, h("p", { class: "error" }, explain(err, "Comparing images").detail));
    }
  };
  return h("div", { class: "compare" }, h("h4", {}, "Compare"),
    h("p", {}, h("label", {}, "Against ", select), " ", h("button", { type: "button", class: "button small", id: "compare-run", onclick: run }, "Compare")), out);
}
