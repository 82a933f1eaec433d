// The page: opens the store, routes between the image list and the inspect view, keeps one
// cached `docker images -a` answer for labels and dry-runs, and shows notices and errors.
import { $, h, replace } from "./dom.js";
import { call, explain, has, openStore } from "./store.js";
import { ImportPanel } from "./import.js";
import { ImageList } from "./list.js";
import { showInspect } from "./inspect.js";

const SAMPLE_URL = "./sample/sample-store.tar";
const params = new URLSearchParams(location.search);

const app = {
  /** Every image (`listImages({ all: true })`), or null when listing is not available. */
  allImages: null,
  byId: new Map(),

  /** Reloads the cached full list; returns it. */
  async loadAllImages() {
    if (!has("listImages")) {
      this.allImages = null;
      this.byId = new Map();
      return null;
    }
    this.allImages = await call("listImages", "Listing images", { all: true });
    this.byId = new Map(this.allImages.map((img) => [img.Id, img]));
    return this.allImages;
  },

  /** "local/edge:latest, 127.0.0.1:5000/team/edge:v2" or "" for an image ID. */
  tagsOf(id) {
    return (this.byId.get(id)?.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
  },

  /** After the store changed: refresh the cache, the list, and the open inspect view. */
  async changed() {
    await this.loadAllImages().catch((err) => this.showError(err, "Listing images"));
    await this.list.reload();
    if (location.hash.startsWith("#/image/")) await route();
  },

  notice(text) {
    const el = $("#notice");
    el.hidden = !text;
    replace(el, text ?? "");
  },

  /** Shows an error in plain words; `doing` says what was being done ("Import", "Listing images"). */
  showError(err, doing) {
    const { title, detail, advice } = explain(err, doing);
    const el = $("#error");
    replace(
      el,
      h("p", { class: "error-title" }, title),
      detail && h("p", { class: "error-detail" }, detail),
      advice && h("p", { class: "error-advice" }, advice),
      h("button", { type: "button", class: "button small", onclick: () => this.clearError() }, "Dismiss"),
    );
    el.hidden = false;
  },

  clearError() {
    $("#error").hidden = true;
    $("#error").replaceChildren();
  },
};

async function route() {
  const m = location.hash.match(/^#\/image\/(.+)$/);
  const listView = $("#list-view");
  const inspectView = $("#inspect-view");
  if (m) {
    listView.hidden = true;
    inspectView.hidden = false;
    await showInspect(app, decodeURIComponent(m[1]));
  } else {
    inspectView.hidden = true;
    inspectView.replaceChildren();
    listView.hidden = false;
  }
}

/** On a first visit (empty store), imports the sample store `make serve` generated, if any. */
async function loadSampleIfEmpty() {
  if (params.get("sample") === "0" || !has("import") || !app.allImages || app.allImages.length > 0) return;
  const response = await fetch(SAMPLE_URL).catch(() => null);
  if (!response?.ok) return;
  const blob = await response.blob();
  const report = await app.importer.importFile(new File([blob], "sample-store.tar"), { sample: true });
  if (report) app.notice("sample store loaded; drop your own tarball to replace it");
}

async function main() {
  const status = $("#status");
  try {
    await openStore();
    status.textContent = "store open";
  } catch (err) {
    status.textContent = "store not open";
    app.showError(err, "Opening the store");
    throw err;
  }
  app.importer = new ImportPanel(app);
  app.list = new ImageList(app);
  window.addEventListener("hashchange", () => route().catch((err) => app.showError(err, "Showing the image")));
  try {
    await app.loadAllImages();
  } catch (err) {
    app.showError(err, "Listing images");
  }
  await app.list.reload();
  await route();
  await loadSampleIfEmpty().catch((err) => app.showError(err, "Loading the sample store"));
  document.body.dataset.ready = "true";
}

window.imagestorePage = app; // handy in the devtools console
main();
