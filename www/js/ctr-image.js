// One containerd image: its record (name, labels, times), its target descriptor, and the graph
// of blobs under it read from the namespace's content store — index → manifests (with their
// platforms) → config + layers — each with its media type and size, and the JSON documents
// viewable in place. Blobs the namespace does not hold are marked as such (an index often
// names manifests for platforms that were never pulled). Below, the same analysis panel as a
// Docker image's (its linux/amd64 image: layer changes, dive's efficiency and wasted files,
// largest files, compare).
import { $, facts, h, replace } from "./dom.js";
import { explain, humanSize, store } from "./store.js";
import { childrenOf, formatPlatform, isConfig, isJson, kindOf } from "./ctr.js";
import { absoluteTime, shortId } from "./format.js";
import { namespaceHref } from "./route.js";
import { dockerOthers, renderAnalysis } from "./analysis.js";

/** JSON blobs bigger than this are not read (real manifests and configs are far smaller). */
const MAX_JSON_BYTES = 4 << 20;
const MAX_DEPTH = 8;

export async function showContainerdImage(app, ns, name, { refresh = false } = {}) {
  const view = $("#ctr-image-view");
  const back = h("a", { href: namespaceHref(ns), class: "back" }, `← Images in namespace ${ns}`);
  replace(view, back, h("p", { class: "muted" }, `Loading ${name}…`));
  let handle;
  let image;
  try {
    handle = store().containerd(ns);
    image = await handle.getImage(name);
  } catch (err) {
    const { title, detail, advice } = explain(err, `Showing ${name} in namespace ${ns}`);
    replace(view, back, h("div", { class: "error", role: "alert" }, h("p", { class: "error-title" }, title), detail && h("p", {}, detail), advice && h("p", {}, advice)));
    return;
  }
  const target = image.target ?? {};
  replace(
    view,
    back,
    h("div", { class: "inspect-head" },
      h("h2", { id: "ctr-image-title", tabindex: "-1" }, image.name),
      h("p", { class: "mono muted" }, target.digest)),
    panel("Image", "ctr-image", facts([
      ["Namespace", ns],
      ["Name", h("span", { class: "mono" }, image.name)],
      ["Created", timeText(image.createdAt)],
      ["Updated", timeText(image.updatedAt)],
      ["Labels", keyValues(image.labels, "ctr-image-labels")],
    ])),
    panel("Target descriptor", "ctr-target", facts([
      ["Media type", h("span", { class: "mono" }, target.mediaType)],
      ["Digest", h("span", { class: "mono" }, target.digest)],
      ["Size", target.size != null ? sizeText(target.size) : null],
      ["Annotations", keyValues(target.annotations, "ctr-target-annotations")],
    ])),
    panel("Manifests and blobs", "ctr-blobs", h("p", { class: "muted" }, "Reading blobs…")),
    panel("Layer changes and wasted space", "analysis", h("p", { class: "muted" }, "Loading…")),
  );
  if (!refresh) {
    $("#ctr-image-title").focus();
    window.scrollTo(0, 0);
  }
  // The elements of this rendering: the user may leave (the view is emptied) or open another
  // image before the answers come, and those answers must then go nowhere.
  const blobs = $("#section-ctr-blobs .body");
  const analysis = $("#section-analysis .body");
  const tree = await blobTree(handle, target);
  if (!blobs.isConnected) return;
  replace(blobs,
    h("p", { class: "muted small" }, "Read from the namespace's content store as containerd walks an image: an index lists manifests, a manifest names its config and layers. Each blob: what it is, platform, digest, media type, size."),
    tree);
  const others = await compareChoices(app, handle, ns, name);
  if (analysis.isConnected) await renderAnalysis(analysis, { namespace: ns, name }, others);
}

/** What the compare form offers: the namespace's other images, then the Docker images. */
async function compareChoices(app, handle, ns, name) {
  const names = await handle.listImages().then((list) => list.map((i) => i.name)).catch(() => []);
  return [
    ...names.filter((n) => n !== name).map((n) => ({ label: `${ns}: ${n}`, ref: { namespace: ns, name: n } })),
    ...dockerOthers(app, null),
  ];
}

function panel(title, key, body) {
  return h("section", { class: "panel", id: `section-${key}`, "aria-labelledby": `section-${key}-title` },
    h("h3", { id: `section-${key}-title` }, title),
    h("div", { class: "body" }, body));
}

function timeText(value) {
  return value && !String(value).startsWith("0001-") ? absoluteTime(value) : null;
}

function keyValues(obj, id) {
  const entries = Object.entries(obj ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return null;
  return h("table", { class: "plain kv", id },
    h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row", class: "mono" }, k), h("td", { class: "mono" }, String(v))))));
}

/** The tree of blobs under `target`, depth-first as containerd's images.Walk. */
async function blobTree(handle, target) {
  const seen = new Set();
  const node = async (role, desc, depth) => {
    const item = h("li", { class: `blob ${kindOf(desc.mediaType)}`, dataset: { digest: desc.digest, role, mediaType: desc.mediaType, size: String(desc.size) } });
    const line = h("div", { class: "blob-line" },
      h("span", { class: "blob-role" }, role),
      desc.platform && h("span", { class: "blob-platform mono" }, formatPlatform(desc.platform)),
      h("code", { class: "blob-digest", title: desc.digest }, shortDigest(desc.digest)),
      h("span", { class: "blob-type mono" }, desc.mediaType),
      h("span", { class: "blob-size", title: `${desc.size} bytes` }, sizeText(desc.size)));
    item.append(line);
    const info = await Promise.resolve()
      .then(() => handle.content.info(desc.digest))
      .catch((err) => err);
    if (info instanceof Error) {
      item.classList.add("absent");
      const { title, detail } = explain(info, "Reading the blob");
      line.append(h("span", { class: "blob-note" }, info.code === "not_found" ? "not in this namespace's content" : detail || title));
      return item;
    }
    if (!isJson(desc.mediaType) || depth >= MAX_DEPTH || seen.has(desc.digest)) return item;
    seen.add(desc.digest);
    if (desc.size > MAX_JSON_BYTES) {
      line.append(h("span", { class: "blob-note" }, "too big to read as JSON here"));
      return item;
    }
    let doc;
    let text;
    try {
      const bytes = await handle.content.read(desc.digest, 0, desc.size);
      text = new TextDecoder().decode(bytes);
      doc = JSON.parse(text);
    } catch (err) {
      line.append(h("span", { class: "blob-note" }, err instanceof SyntaxError ? `not valid JSON: ${err.message}` : explain(err, "Reading the blob").detail));
      return item;
    }
    if (isConfig(desc.mediaType) && (doc?.os || doc?.architecture)) {
      line.append(h("span", { class: "blob-platform mono" }, formatPlatform(doc)));
    }
    line.append(jsonToggle(text));
    const children = childrenOf(desc.mediaType, doc);
    if (children.length) {
      const kids = [];
      for (const { role: r, descriptor } of children) kids.push(await node(r, descriptor, depth + 1));
      item.append(h("ul", {}, kids));
    }
    return item;
  };
  return h("ul", { class: "blob-tree", id: "ctr-blob-tree" }, await node("target", target, 0));
}

/** A button that shows the blob's JSON (pretty-printed, as text) below its line. */
function jsonToggle(text) {
  let pre = null;
  const button = h("button", { type: "button", class: "button small", "aria-expanded": "false" }, "JSON");
  button.addEventListener("click", () => {
    if (pre) {
      pre.remove();
      pre = null;
      button.setAttribute("aria-expanded", "false");
      return;
    }
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // shown as stored
    }
    pre = h("pre", { class: "raw blob-json", tabindex: "0" }, pretty);
    button.closest(".blob-line").after(pre);
    button.setAttribute("aria-expanded", "true");
  });
  return button;
}

/** A descriptor's size: docker's units (the core's) with the bytes beside them. */
function sizeText(bytes) {
  return `${humanSize(bytes)} (${bytes} bytes)`;
}

function shortDigest(digest) {
  const s = String(digest ?? "");
  return s.startsWith("sha256:") ? `sha256:${shortId(s)}` : s;
}
