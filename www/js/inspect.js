// The inspect view of one image: summary, config, history lined up with layers, layers (with
// their files when the package can list them), the parent/children tree and the raw
// `docker image inspect` JSON.
import { $, facts, h, replace } from "./dom.js";
import { explain, humanSize, store } from "./store.js";
import { absoluteTime, createdSince, shortId } from "./format.js";
import { alignHistory, chainIds } from "./history.js";
import { renderTree } from "./tree.js";
import { openDeleteDialog, openTagDialog } from "./actions.js";
import { dockerOthers, renderAnalysis } from "./analysis.js";
import { imageDownloads, layerContents, layerDownload } from "./contents.js";

const FILES_SHOWN = 1000;

/**
 * Shows image `ref`. With `{ refresh: true }` (the store changed in another tab) the view is
 * updated where it stands when it still shows the same image: the parts that can change (tags,
 * the tree, the raw JSON) are redrawn, while history, layers, open file lists and the analysis
 * (fixed by the image ID) stay as they are, and focus and scroll are left alone.
 */
export async function showInspect(app, ref, { refresh = false, external = false } = {}) {
  const view = $("#inspect-view");
  const back = h("a", { href: "#/", class: "back" }, "← All images");
  const shownId = view.dataset.id;
  if (!refresh || !shownId) replace(view, back, h("p", { class: "muted" }, `Loading ${ref}…`));
  let inspect;
  try {
    inspect = await store().inspectImage(ref);
  } catch (err) {
    delete view.dataset.id;
    const { title, detail, advice } = explain(err, "Inspecting the image");
    const gone = external && err?.code === "not_found" ? h("p", { id: "inspect-gone" }, "This image was removed from the store in another tab or window.") : null;
    replace(view, back, h("div", { class: "error", role: "alert" }, h("p", { class: "error-title" }, title), gone, h("p", {}, detail), advice && h("p", {}, advice)));
    return;
  }
  const id = inspect.Id;
  if (refresh && shownId === id && $("#inspect-title")) return refreshInPlace(app, inspect);
  view.dataset.id = id;
  const layers = inspect.RootFS?.Layers ?? [];
  // The layers table is there from the start (its sizes come with the history), so its
  // buttons never wait behind the history or the analysis.
  const chains = await chainIds(layers);
  replace(
    view,
    back,
    h("div", { class: "inspect-head" },
      h("h2", { id: "inspect-title", tabindex: "-1" }, titleOf(inspect)),
      h("p", { class: "mono muted" }, id),
      h("div", { class: "inspect-actions" },
        h("button", { type: "button", class: "button", onclick: () => openTagDialog(app, id) }, "Tag…"),
        h("button", { type: "button", class: "button danger", onclick: () => openDeleteDialog(app, deleteRef(inspect, view)) }, "Delete…"))),
    section("Summary", "summary", summary(app, inspect)),
    section("Config", "config", configFacts(inspect.Config ?? {})),
    section("History", "history", h("p", { class: "muted" }, "Loading…")),
    section("Layers", "layers", [h("div", { id: "image-downloads" }, h("p", { class: "muted" }, "Checking the layer contents…")), layersTable(id, layers, chains)]),
    section("Parent and children", "tree", h("p", { class: "muted" }, "Loading…")),
    section("Layer changes and wasted space", "analysis", h("p", { class: "muted" }, "Loading…")),
    section("docker image inspect", "raw", rawJson(inspect)),
  );
  view.dataset.tags = JSON.stringify(inspect.RepoTags ?? []);
  if (!refresh) {
    // Focus (and the screen) on the image's title, wherever the view was opened from.
    $("#inspect-title").focus();
    window.scrollTo(0, 0);
  }
  // The store answers one call at a time, in order: the history (quick) is asked first, the
  // analysis (which reads every layer's tar-split) last. Each part fills the element of this
  // rendering, taken now: by the time an answer comes the user may have left the view (it is
  // emptied) or opened another image (new elements), and neither may be written into.
  const analysis = bodyOf("analysis");
  const history = fillHistory(inspect, bodyOf("history"));
  const tree = fillTree(app, id, bodyOf("tree"));
  const contents = fillContents(inspect);
  await history;
  await contents;
  await Promise.all([tree, analysis.isConnected ? renderAnalysis(analysis, id, dockerOthers(app, id)) : null]);
}

/** The body element of section `key` of the view as it is now. */
function bodyOf(key) {
  return $(`#section-${key} .body`);
}

/** The title: the first tag, else the short ID. */
function titleOf(inspect) {
  return inspect.RepoTags?.[0] ?? shortId(inspect.Id);
}

/** What Delete… removes: the one tag when there is exactly one (as shown now), else the ID. */
function deleteRef(inspect, view) {
  const tags = JSON.parse(view.dataset.tags ?? "[]");
  return tags.length === 1 ? tags[0] : inspect.Id;
}

/** Another tab changed the store and this image is still here: redraw what can have changed. */
async function refreshInPlace(app, inspect) {
  const view = $("#inspect-view");
  view.dataset.tags = JSON.stringify(inspect.RepoTags ?? []);
  const title = $("#inspect-title");
  if (title.textContent !== titleOf(inspect)) title.textContent = titleOf(inspect);
  swapBody(bodyOf("summary"), summary(app, inspect));
  swapBody(bodyOf("raw"), rawJson(inspect));
  await Promise.all([fillTree(app, inspect.Id, bodyOf("tree")), fillContents(inspect)]);
}

/**
 * Replaces a section's body, keeping focus on the same control when it had it. Does nothing
 * when `el` is no longer in the page (the view was left or redrawn since it was taken).
 */
function swapBody(el, body) {
  if (!el?.isConnected) return;
  const focused = el.contains(document.activeElement) ? focusPath(el, document.activeElement) : null;
  replace(el, body);
  if (focused) refocus(el, focused);
}

/** Where `target` is inside `root`: child indexes from `root` down. */
function focusPath(root, target) {
  const path = [];
  for (let n = target; n && n !== root; n = n.parentElement) path.unshift([...n.parentElement.children].indexOf(n));
  return path;
}

function refocus(root, path) {
  let n = root;
  for (const i of path) n = n?.children[i];
  (n ?? root.closest("section")?.querySelector("h3"))?.focus({ preventScroll: true });
}

function fillTree(app, id, el) {
  return renderTree(app, id)
    .then((tree) => swapBody(el, tree))
    .catch((err) => swapBody(el, h("p", { class: "error" }, explain(err, "The image tree").detail)));
}

function section(title, key, body) {
  return h("section", { class: "panel", id: `section-${key}`, "aria-labelledby": `section-${key}-title` },
    h("h3", { id: `section-${key}-title` }, title),
    h("div", { class: "body" }, body));
}

function list(values, mono = true) {
  if (!values || values.length === 0) return null;
  return h("ul", { class: "values" }, values.map((v) => h("li", { class: mono ? "mono" : "" }, v)));
}

function summary(app, i) {
  const os = [i.Os, i.Architecture, i.Variant].filter(Boolean).join("/");
  return facts([
    ["ID", h("span", { class: "mono" }, i.Id)],
    ["Tags", list(i.RepoTags)],
    ["Digests", list(i.RepoDigests)],
    ["Created", i.Created ? [absoluteTime(i.Created), h("span", { class: "muted" }, ` (${createdSince(Date.parse(i.Created) / 1000)})`)] : null],
    ["Author", i.Author],
    ["OS/architecture", os],
    ["Size", `${humanSize(i.Size)} (${i.Size} bytes)`],
    ["Parent", i.Parent ? h("a", { href: `#/image/${i.Parent}`, class: "mono" }, shortId(i.Parent)) : null],
    ["Comment", i.Comment],
    ["Docker version", i.DockerVersion],
    ["Last tagged", i.Metadata?.LastTagTime && !i.Metadata.LastTagTime.startsWith("0001-") ? absoluteTime(i.Metadata.LastTagTime) : null],
  ]);
}

/** Go durations (nanoseconds) as docker prints them: "30s", "1m30s". */
function duration(ns) {
  if (!ns) return null;
  let s = ns / 1e9;
  const parts = [];
  if (s >= 3600) { parts.push(`${Math.floor(s / 3600)}h`); s %= 3600; }
  if (s >= 60) { parts.push(`${Math.floor(s / 60)}m`); s %= 60; }
  if (s > 0 || parts.length === 0) parts.push(`${Number(s.toFixed(3))}s`);
  return parts.join("");
}

function keyValueTable(obj, id) {
  const entries = Object.entries(obj ?? {});
  if (entries.length === 0) return null;
  return h("table", { class: "plain kv", id },
    h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row", class: "mono" }, k), h("td", { class: "mono" }, String(v))))));
}

function configFacts(c) {
  const hc = c.Healthcheck;
  return facts([
    ["Env", list(c.Env)],
    ["Cmd", c.Cmd ? h("code", {}, JSON.stringify(c.Cmd)) : null],
    ["Entrypoint", c.Entrypoint ? h("code", {}, JSON.stringify(c.Entrypoint)) : null],
    ["Labels", keyValueTable(c.Labels, "labels")],
    ["Exposed ports", list(Object.keys(c.ExposedPorts ?? {}))],
    ["Volumes", list(Object.keys(c.Volumes ?? {}))],
    ["Working dir", c.WorkingDir ? h("span", { class: "mono" }, c.WorkingDir) : null],
    ["User", c.User ? h("span", { class: "mono" }, c.User) : null],
    ["Healthcheck", hc ? facts([
      ["Test", h("code", {}, JSON.stringify(hc.Test))],
      ["Interval", duration(hc.Interval)],
      ["Timeout", duration(hc.Timeout)],
      ["Start period", duration(hc.StartPeriod)],
      ["Retries", hc.Retries ? String(hc.Retries) : null],
    ], "facts nested") : null],
    ["Stop signal", c.StopSignal],
  ]);
}

/** The image's download buttons and each layer's, or the plain message where contents are missing. */
async function fillContents(inspect) {
  const layers = inspect.RootFS?.Layers ?? [];
  const box = $("#image-downloads");
  let have;
  try {
    have = await layerContents(inspect.Id, layers.length);
  } catch (err) {
    if (box?.isConnected) replace(box, h("p", { class: "error" }, explain(err, "Checking the layer contents").detail));
    return;
  }
  if (!box?.isConnected) return;
  replace(box, h("p", { class: "downloads-title" }, "Download the image: "), imageDownloads(inspect, have));
  let status = $("#layer-download-status");
  if (!status) {
    status = h("p", { class: "muted small", role: "status", id: "layer-download-status" });
    $("#section-layers .body").append(status);
  }
  // Drawn again on a refresh (an import may have brought the layer tars): one part per cell.
  for (const cell of document.querySelectorAll("#layers-table td.files-cell")) {
    const i = Number(cell.dataset.layer);
    cell.querySelector(".layer-contents")?.remove();
    cell.append(h("span", { class: "layer-contents" }, " ",
      have[i] ? layerDownload(inspect.Id, i, layers[i], status) : h("span", { class: "muted small" }, "no contents")));
  }
}

/** The history table, and each layer's size (the size of the history step that made it). */
async function fillHistory(inspect, el) {
  const layers = inspect.RootFS?.Layers ?? [];
  let aligned = null;
  try {
    const history = await store().imageHistory(inspect.Id);
    aligned = alignHistory(history, layers);
    swapBody(el, historyTable(aligned, layers));
  } catch (err) {
    swapBody(el, h("p", { class: "error" }, explain(err, "The history").detail));
  }
  if (!el?.isConnected) return;
  const sizes = new Map((aligned?.rows ?? []).filter((r) => r.layer != null).map((r) => [r.layer, r.item.Size]));
  for (const cell of document.querySelectorAll("#layers-table td.layer-size")) {
    const i = Number(cell.dataset.layer);
    cell.textContent = sizes.has(i) ? humanSize(sizes.get(i)) : "—";
  }
}

function historyTable({ rows, inferred }, layers) {
  const now = Date.now();
  return [
    inferred && h("p", { class: "muted small" }, "Which zero-size steps made a layer is inferred: the Engine API's history does not say."),
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "History" }, h("table", { class: "plain history", id: "history-table" },
      h("thead", {}, h("tr", {}, ["#", "CREATED", "CREATED BY", "SIZE", "LAYER", "COMMENT"].map(headerCell))),
      h("tbody", {}, rows.map(({ item, layer }, i) =>
        h("tr", { class: layer == null ? "empty-layer" : "" },
          h("td", { class: "num" }, String(i + 1)),
          h("td", { title: absoluteTime(item.Created) }, createdSince(item.Created, now)),
          h("td", { class: "mono created-by" }, item.CreatedBy),
          h("td", { class: "num" }, humanSize(item.Size)),
          h("td", { class: "mono" }, layer == null ? h("span", { class: "muted" }, "empty layer") : `${layer + 1}: ${shortId(layers[layer])}`),
          h("td", {}, item.Comment ?? "")))))),
  ];
}

/** A column header; number columns are right-aligned like their cells. */
function headerCell(title) {
  return h("th", { scope: "col", class: title === "#" || title === "SIZE" ? "num" : null }, title);
}

function layersTable(id, layers, chains) {
  if (layers.length === 0) return h("p", { class: "muted" }, "This image has no layers.");
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Layers" }, h("table", { class: "plain layers", id: "layers-table" },
    h("thead", {}, h("tr", {}, ["#", "DIFF ID", "CHAIN ID", "SIZE", "FILES"].map(headerCell))),
    h("tbody", {}, layers.map((diff, i) => {
      const filesCell = h("td", { class: "files-cell", dataset: { layer: String(i) } });
      filesCell.append(h("button", { type: "button", class: "button small", "aria-label": `List files of layer ${i + 1}`, onclick: (e) => showFiles(e.target, id, i) }, "List files"));
      return h("tr", {},
        h("td", { class: "num" }, String(i + 1)),
        h("td", { class: "mono", title: diff }, shortId(diff)),
        h("td", { class: "mono", title: chains[i] }, shortId(chains[i])),
        h("td", { class: "num layer-size", dataset: { layer: String(i) } }, "…"),
        filesCell);
    }))));
}

async function showFiles(button, id, layer) {
  const row = button.closest("tr");
  const existing = row.nextElementSibling?.classList.contains("files-row") ? row.nextElementSibling : null;
  if (existing) {
    existing.remove();
    button.textContent = "List files";
    button.setAttribute("aria-label", `List files of layer ${layer + 1}`);
    return;
  }
  button.disabled = true;
  const cell = h("td", { colspan: "5" }, h("p", { class: "muted" }, "Reading tar-split…"));
  row.after(h("tr", { class: "files-row" }, cell));
  try {
    const entries = await store().layerFiles(id, { layer });
    const shown = entries.slice(0, FILES_SHOWN);
    replace(cell,
      h("p", { class: "muted small" }, `${entries.length} entries${entries.length > FILES_SHOWN ? `, first ${FILES_SHOWN} shown` : ""}.`),
      h("table", { class: "plain files" },
        h("thead", {}, h("tr", {}, ["MODE", "SIZE", "PATH"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, shown.map((f) => h("tr", {},
          h("td", { class: "mono" }, fileMode(f)),
          h("td", { class: "num" }, f.size != null ? String(f.size) : ""),
          h("td", { class: "mono" }, fileName(f)))))));
    button.textContent = "Hide files";
    button.setAttribute("aria-label", `Hide files of layer ${layer + 1}`);
  } catch (err) {
    replace(cell, h("p", { class: "error" }, explain(err, "Listing files").detail));
  } finally {
    button.disabled = false;
  }
}

function fileName(f) {
  const name = f.path ?? "";
  const link = f.linkname ? ` → ${f.linkname}` : "";
  const whiteout = f.whiteout ? `  (whiteout: ${f.whiteout})` : "";
  return name + link + whiteout;
}

/** "dir 0755", "file 4755", like a short `ls -l`. */
function fileMode(f) {
  const mode = typeof f.mode === "number" ? (f.mode & 0o7777).toString(8).padStart(4, "0") : "";
  return [f.type, mode].filter(Boolean).join(" ");
}

function rawJson(inspect) {
  const text = JSON.stringify([inspect], null, 4);
  const pre = h("pre", { class: "raw", id: "raw-json", tabindex: "0" }, text);
  const status = h("span", { class: "muted small", role: "status" });
  const copy = h("button", {
    type: "button",
    class: "button small",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = "Copied.";
      } catch {
        getSelection().selectAllChildren(pre);
        status.textContent = "Selected: press Ctrl+C to copy.";
      }
    },
  }, "Copy JSON");
  return [h("p", {}, copy, " ", status), pre];
}
