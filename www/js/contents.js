// Layer contents in the page: which layers of an image have their tar in the store, the file
// viewer (text with a size cap and "Load more", hex, or an image preview by magic bytes), and
// downloads of a file, a folder (as a tar), a layer (its tar) and the image (`docker save` or
// an OCI layout). Everything is read from the package as streams (readFile, readDirectory,
// readLayer, save) and written straight to disk where the browser can (File System Access).
// An SVG is only ever shown through <img> (a blob: URL): it is never put into the document, so
// its scripts never run and it loads nothing.
import { h, replace } from "./dom.js";
import { explain, humanSize, store } from "./store.js";
import { hexLines, imageType, looksLikeText } from "./bytes.js";
import { openDialog } from "./actions.js";
import { shortId } from "./format.js";

/** Text shown per step ("Load more" adds as much again). */
export const TEXT_STEP = 64 * 1024;
/** Bytes of hex shown per step. */
export const HEX_STEP = 4 * 1024;
/** Images bigger than this are not previewed (the download still works). */
const IMAGE_MAX = 32 * 1024 * 1024;

const availability = new Map(); // image ID → Promise<boolean[]>

/**
 * For each layer of image `id` (`count` layers): whether its tar is in the store. Asks
 * readLayer, which refuses at once (failed_precondition) for a layer without contents; a
 * stream it does open is cancelled before a byte is read.
 */
export function layerContents(id, count) {
  if (!availability.has(id)) {
    availability.set(id, Promise.all(Array.from({ length: count }, async (_, i) => {
      try {
        const stream = await store().readLayer(id, i);
        await stream.cancel();
        return true;
      } catch (err) {
        if (err?.code === "failed_precondition") return false;
        throw err;
      }
    })).catch((err) => {
      availability.delete(id);
      throw err;
    }));
  }
  return availability.get(id);
}

/** Forgets what `layerContents` found (the store changed: an import may have brought layer tars). */
export function forgetLayerContents() {
  availability.clear();
}

/** What the page says where an image has no layer contents. */
export function noContentsMessage(count, missing) {
  const text = missing === count
    ? "This store has this image's metadata but not its layer contents: it came from an upload of /var/lib/docker/image/<driver> alone (which keeps no files) or from layer folders the store could not turn back into layers. Files cannot be opened or downloaded, and the image cannot be exported. Import a docker save archive (or an OCI archive) of it to get them."
    : `${missing} of ${count} layers have no contents in this store (an upload of the image store alone keeps no files): their files cannot be opened or downloaded, and the image cannot be exported.`;
  return h("p", { class: "no-contents", id: "no-contents", role: "note" }, text);
}

/** Downloads held in memory above this size get a warning (the tab needs that much memory). */
const BIG_IN_MEMORY = 1e9;

/**
 * Saves a download named `name`; `open()` resolves to its ReadableStream<Uint8Array>. Where the
 * browser has the File System Access API (Chromium: `showSaveFilePicker`), the user picks the
 * file first and the stream is written to it as it is read: memory stays at a chunk. Elsewhere
 * it is gathered into a Blob and handed to the browser's download (the whole file in memory;
 * `status` says so, and warns when `expected` bytes pass 1 GB). Resolves to the bytes saved, or
 * null when the user cancelled the picker.
 */
export async function download(name, open, { status, expected } = {}) {
  if (typeof globalThis.showSaveFilePicker === "function") {
    let handle;
    try {
      handle = await globalThis.showSaveFilePicker({ suggestedName: name });
    } catch (err) {
      if (err?.name === "AbortError") return null; // the user closed the picker
      throw err;
    }
    if (status) status.textContent = `Writing ${name} to disk…`;
    const stream = await open();
    const writable = await handle.createWritable();
    let written = 0;
    const count = new TransformStream({
      transform(chunk, controller) {
        written += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    await stream.pipeThrough(count).pipeTo(writable);
    return written;
  }
  if (status) {
    status.textContent = expected > BIG_IN_MEMORY
      ? `This browser cannot write a download to disk as it is made: all ${humanSize(expected)} are held in memory first.`
      : "Preparing the download (held in memory until complete: this browser cannot stream it to disk)…";
  }
  const blob = await new Response(await open()).blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

/** A button that runs `action` (an async function), disabled while it runs, with its outcome in `status`. */
export function actionButton(label, attrs, action, status) {
  const button = h("button", { type: "button", class: "button small", ...attrs }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    if (status) status.textContent = "Preparing the download…";
    try {
      const size = await action(status);
      if (status) status.textContent = size != null ? `Downloaded ${humanSize(size)} (${size} bytes).` : "";
    } catch (err) {
      const { title, detail } = explain(err, label);
      if (status) status.textContent = `${title}: ${detail}`;
      else throw err;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** The basename of a path, for download names ("/" → "root"). */
function baseName(path) {
  return path.replace(/\/+$/, "").split("/").pop() || "root";
}

/** File name for an image download: "local_edge_latest.tar", or the short ID. */
function imageFileName(ref, suffix) {
  return `${ref.replace(/^sha256:/, "").replace(/[^A-Za-z0-9._-]+/g, "_")}${suffix}.tar`;
}

/**
 * The image's download buttons (docker save archive, OCI layout) with a status line, or the
 * plain message when its layers have no contents.
 */
export function imageDownloads(inspect, have) {
  const missing = have.filter((x) => !x).length;
  if (missing > 0) return noContentsMessage(have.length, missing);
  const ref = inspect.RepoTags?.[0] ?? shortId(inspect.Id);
  const status = h("span", { class: "muted small", role: "status", id: "image-download-status" });
  return h("p", { class: "downloads" },
    actionButton("docker save archive", { id: "save-docker", "aria-label": `Download ${ref} as a docker save archive` },
      (st) => download(imageFileName(ref, ""), () => store().save(inspect.RepoTags?.[0] ?? inspect.Id, { format: "docker" }), { status: st, expected: inspect.Size }), status),
    " ",
    actionButton("OCI layout", { id: "save-oci", "aria-label": `Download ${ref} as OCI layout` },
      (st) => download(imageFileName(ref, "-oci"), () => store().save(inspect.RepoTags?.[0] ?? inspect.Id, { format: "oci" }), { status: st, expected: inspect.Size }), status),
    " ", status);
}

/** The download button of layer `index` of image `id`. */
export function layerDownload(id, index, diffId, status) {
  return actionButton("Download tar", { class: "button small layer-download", "aria-label": `Download tar of layer ${index + 1}` },
    (st) => download(`layer-${index + 1}-${shortId(diffId)}.tar`, () => store().readLayer(id, index), { status: st }), status);
}

/**
 * Downloads folder `dir` of image `id` as the tar the core writes (readDirectory: names start
 * with the folder's name, headers as in the layers); resolves to its size (null: cancelled).
 */
export async function downloadDirectory(id, dir, status) {
  return download(`${baseName(dir)}.tar`, () => store().readDirectory(id, dir), { status });
}

/** Downloads file `path` of image `id`; resolves to its size (null: cancelled). */
export async function downloadFile(id, path, status) {
  return download(baseName(path), () => store().readFile(id, path), { status });
}

/**
 * Reads a file's stream in steps: `more(n)` makes at least `n` bytes (or the whole file) available
 * in `bytes`; `cancel()` stops reading.
 */
class FileBytes {
  constructor(stream) {
    this.reader = stream.getReader();
    this.chunks = [];
    this.length = 0;
    this.done = false;
    this.joined = new Uint8Array();
  }

  async more(n) {
    while (!this.done && this.length < n) {
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else {
        this.chunks.push(value);
        this.length += value.length;
      }
    }
    if (this.joined.length !== this.length) {
      const all = new Uint8Array(this.length);
      let at = 0;
      for (const c of this.chunks) {
        all.set(c, at);
        at += c.length;
      }
      this.chunks = [all];
      this.joined = all;
    }
    return this.joined;
  }

  cancel() {
    if (!this.done) this.reader.cancel().catch(() => {});
  }
}

/**
 * Opens the viewer of file `path` of image `id` (`entry`: its layerFiles entry, for the size).
 * Modes: text (default for text), hex (default for binary), image (default where the magic bytes
 * say png, jpeg, gif, webp or svg). `note` says which layer the bytes come from.
 */
export async function openViewer(id, path, entry, note) {
  const body = h("div", { class: "viewer", id: "viewer" }, h("p", { class: "muted" }, "Reading…"));
  const dialog = openDialog(path, [body]);
  dialog.classList.add("wide");
  let file = null;
  let url = null;
  dialog.addEventListener("close", () => {
    file?.cancel();
    if (url) URL.revokeObjectURL(url);
    dialog.classList.remove("wide");
  }, { once: true });
  try {
    file = new FileBytes(await store().readFile(id, path));
    const first = await file.more(TEXT_STEP);
    const size = entry?.type === "file" ? entry.size : null; // a link's own size is not its target's
    const image = imageType(first);
    const text = looksLikeText(first, file.done);
    const state = { mode: image ? "image" : text ? "text" : "hex", text: TEXT_STEP, hex: HEX_STEP };
    const status = h("span", { class: "muted small", role: "status", id: "viewer-status" });
    const content = h("div", { class: "viewer-content" });
    const more = h("button", { type: "button", class: "button small", id: "viewer-more" }, "Load more");
    const modes = h("fieldset", { class: "viewer-modes" }, h("legend", {}, "Show as"),
      [["text", "Text"], ["hex", "Hex"], ...(image ? [["image", "Image"]] : [])].map(([value, label]) =>
        h("label", { class: "toggle" },
          h("input", { type: "radio", name: "viewer-mode", value, id: `viewer-mode-${value}`, checked: state.mode === value, onchange: () => { state.mode = value; draw(); } }),
          ` ${label}`)));
    const downloadStatus = h("span", { class: "muted small", role: "status" });
    const draw = async () => {
      if (state.mode === "image") {
        const all = await file.more(IMAGE_MAX + 1);
        more.hidden = true;
        if (all.length > IMAGE_MAX) {
          replace(content, h("p", { class: "muted" }, `Too big to preview (${humanSize(all.length)}+); download it instead.`));
          return;
        }
        url ??= URL.createObjectURL(new Blob([all], { type: image }));
        replace(content, h("img", { src: url, alt: `Preview of ${path} (${image})`, id: "viewer-image", class: "viewer-image" }));
        status.textContent = `${image}, ${humanSize(all.length)} (${all.length} bytes).`;
        return;
      }
      const want = state[state.mode];
      const bytes = await file.more(want);
      const shown = bytes.subarray(0, want);
      const pre = state.mode === "text"
        ? h("pre", { class: "viewer-text", id: "viewer-text", tabindex: "0", role: "region", "aria-label": `Text of ${path}` }, new TextDecoder("utf-8").decode(shown, { stream: shown.length < bytes.length || !file.done }))
        : h("pre", { class: "viewer-hex", id: "viewer-hex", tabindex: "0", role: "region", "aria-label": `Hex dump of ${path}` }, hexLines(shown).join("\n"));
      replace(content, pre);
      const total = file.done ? bytes.length : size;
      const all = file.done && shown.length >= bytes.length;
      more.hidden = all;
      status.textContent = all
        ? `All ${total} bytes shown.`
        : `First ${shown.length} of ${total ?? "more"} bytes shown.`;
    };
    more.addEventListener("click", async () => {
      state[state.mode] += state.mode === "text" ? TEXT_STEP : HEX_STEP;
      await draw();
      more.focus();
    });
    replace(body,
      h("p", { class: "muted small" }, [size != null ? `${humanSize(size)} (${size} bytes)` : null, note].filter(Boolean).join(" · ")),
      h("div", { class: "viewer-bar" }, modes,
        actionButton("Download", { id: "viewer-download", "aria-label": `Download ${path}` }, (st) => downloadFile(id, path, st), downloadStatus), " ", downloadStatus),
      content,
      h("p", { class: "viewer-foot" }, more, " ", status));
    await draw();
    modes.querySelector("input:checked")?.focus();
  } catch (err) {
    const { title, detail } = explain(err, "Reading the file");
    const plain = err?.code === "failed_precondition"
      ? "This file's layer has no contents in this store (an upload of the image store alone keeps no files)."
      : null;
    replace(body, h("div", { class: "error", role: "alert" }, h("p", { class: "error-title" }, title), plain && h("p", {}, plain), h("p", {}, detail)));
  }
}
