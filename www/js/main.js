// The page: opens the store, routes between its views (Docker: image list, inspect;
// containerd: namespaces, a namespace's images or content, one image), keeps one cached
// `docker images -a` answer for labels and dry-runs, and shows notices and errors.
import { $, h, replace } from "./dom.js";
import { call, explain, has, openStore } from "./store.js";
import { ImportPanel } from "./import.js";
import { ImageList } from "./list.js";
import { showInspect } from "./inspect.js";
import { ContainerdView } from "./ctr-view.js";
import { showContainerdImage } from "./ctr-image.js";
import { parseRoute } from "./route.js";
import { mountStoreTools } from "./analysis-store.js";

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

  /** After the store changed: refresh the cache, the list, and whatever view is open. */
  async changed() {
    await this.loadAllImages().catch((err) => this.showError(err, "Listing images"));
    await this.list.reload();
    const place = parseRoute(location.hash);
    if (place.view !== "docker" || place.image) await route();
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

const VIEWS = ["#list-view", "#inspect-view", "#ctr-view", "#ctr-image-view"];

/** Shows the place the URL hash names, and marks its tab in the header. */
async function route() {
  const place = parseRoute(location.hash);
  const show = place.view === "docker"
    ? (place.image ? "#inspect-view" : "#list-view")
    : (place.image ? "#ctr-image-view" : "#ctr-view");
  for (const sel of VIEWS) $(sel).hidden = sel !== show;
  for (const [tab, view] of [["#tab-docker", "docker"], ["#tab-containerd", "containerd"]]) {
    if (place.view === view) $(tab).setAttribute("aria-current", "page");
    else $(tab).removeAttribute("aria-current");
  }
  if (show !== "#inspect-view") $("#inspect-view").replaceChildren();
  if (show !== "#ctr-image-view") $("#ctr-image-view").replaceChildren();
  if (show === "#inspect-view") await showInspect(app, place.image);
  else if (show === "#ctr-image-view") await showContainerdImage(place.ns, place.image);
  else if (show === "#ctr-view") await app.containerd.show(place.ns, place.tab);
  document.body.dataset.view = place.view;
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
  mountStoreTools();
  app.containerd = new ContainerdView(app);
  window.addEventListener("hashchange", () => route().catch((err) => app.showError(err, "Showing this view")));
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
