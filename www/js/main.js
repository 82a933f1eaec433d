// The page: opens the store, routes between its views (Docker: image list, inspect;
// containerd: namespaces, a namespace's images or content, one image), keeps one cached
// `docker images -a` answer for labels and tag lookups, and shows notices and errors.
//
// Adding a view: write it in its own module (a function that fills its <section>), add the
// <section> to index.html, its hash to route.js, its module to loadRest() and one entry to
// VIEWS below.
import { $, h, replace } from "./dom.js";
import { clearStore, explain, openStore, store } from "./store.js";
import { ImageList } from "./list.js";

// The rest of the page (the other views, the import panel, dialogs, other tabs' changes) is
// imported while the store opens: after a reload the first rows wait only for the modules
// above (and the ones they import), which index.html preloads first.
const lazy = {};
function loadRest() {
  return Promise.all([
    import("./import.js"), import("./actions.js"), import("./inspect.js"), import("./ctr-view.js"),
    import("./ctr-image.js"), import("./route.js"), import("./live.js"), import("./analysis-store.js"),
    import("./contents.js"),
  ]).then(([imp, actions, inspect, ctrView, ctrImage, route, live, analysisStore, contents]) => {
    Object.assign(lazy, {
      ImportPanel: imp.ImportPanel, markStoreOwned: imp.markStoreOwned, sampleDeclined: imp.sampleDeclined,
      declineSample: imp.declineSample, openDialog: actions.openDialog, showInspect: inspect.showInspect,
      ContainerdView: ctrView.ContainerdView, showContainerdImage: ctrImage.showContainerdImage,
      parseRoute: route.parseRoute, followOtherTabs: live.followOtherTabs,
      mountStoreTools: analysisStore.mountStoreTools, forgetLayerContents: contents.forgetLayerContents,
    });
  });
}

const SAMPLE_URL = "./sample/sample-store.tar";
const params = new URLSearchParams(location.search);

const app = {
  /** Every image (`listImages({ all: true })`), or null when listing is not available. */
  allImages: null,
  byId: new Map(),

  /** Reloads the cached full list; returns it. */
  async loadAllImages() {
    if (!store()) {
      this.allImages = null;
      this.byId = new Map();
      return null;
    }
    this.allImages = await store().listImages({ all: true });
    this.byId = new Map(this.allImages.map((img) => [img.Id, img]));
    return this.allImages;
  },

  /** "local/edge:latest, 127.0.0.1:5000/team/edge:v2" or "" for an image ID. */
  tagsOf(id) {
    return (this.byId.get(id)?.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
  },

  /**
   * After the store changed: refresh the cache, the list, and whatever view is open, in place
   * (an open image stays open with its open parts; focus and scroll stay where the user was).
   * `external`: the change came from another tab or window.
   */
  async changed({ external = false } = {}) {
    const place0 = keepPlace();
    lazy.forgetLayerContents();
    await this.loadAllImages().catch((err) => this.showError(err, "Listing images"));
    await this.list.reload();
    const place = lazy.parseRoute(location.hash);
    if (place.view !== "docker" || place.image) await route({ refresh: true, external });
    place0.restore();
  },

  /** The user changed the store (tag, delete): it is theirs now, an import adds to it. */
  storeEdited() {
    lazy.markStoreOwned();
  },

  /** Asks, then deletes both views' data (the IndexedDB database) and shows the empty store. */
  async confirmClear() {
    const yes = h("button", { type: "button", class: "button danger", id: "confirm-clear" }, "Clear the store");
    const no = h("button", { type: "button", class: "button" }, "Keep it");
    const dialog = lazy.openDialog("Clear the store?", [
      h("p", {}, "This deletes every image, layer record, containerd namespace and blob this page keeps in this browser. The sample is not loaded again."),
      h("p", { class: "dialog-actions" }, no, yes),
    ], { focus: no });
    no.addEventListener("click", () => dialog.close());
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        lazy.declineSample();
        await clearStore();
        dialog.close();
        this.notice("The store is empty.");
        $("#import-report").hidden = true;
        if (location.hash && location.hash !== "#/") location.hash = "#/";
        await this.changed();
      } catch (err) {
        dialog.close();
        this.showError(err, "Clearing the store");
      }
    });
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

/**
 * The views, first match wins. Each: its <section>, the header tab it belongs to, whether it
 * shows one thing (a "detail": the import area is folded away and focus goes to its title),
 * when it applies to a place from route.js, and how to show it. `keep` views are built once
 * (index.html holds their markup); the others are emptied when left.
 */
const VIEWS = [
  { section: "#inspect-view", tab: "docker", detail: true, match: (p) => p.view === "docker" && p.image, show: (p, o) => lazy.showInspect(app, p.image, o) },
  { section: "#list-view", tab: "docker", keep: true, match: (p) => p.view === "docker", show: () => {} },
  { section: "#ctr-image-view", tab: "containerd", detail: true, match: (p) => p.view === "containerd" && p.image, show: (p, o) => lazy.showContainerdImage(app, p.ns, p.image, o) },
  { section: "#ctr-view", tab: "containerd", keep: true, match: (p) => p.view === "containerd", show: (p) => app.containerd.show(p.ns, p.tab) },
];
const TABS = { docker: "#tab-docker", containerd: "#tab-containerd" };

/**
 * Where the user is: the focused control and the scroll position. `restore()` puts focus back
 * on the same control (found again by its id, or by its position under the nearest element
 * with an id) when a redraw took it away, and the screen where it was: the focused control at
 * the same place on screen (what is above it may have grown, e.g. a new tag's line), else the
 * same scroll offset.
 */
function keepPlace() {
  const { scrollX, scrollY } = window;
  const active = document.activeElement;
  const topOf = (el) => (el && el !== document.body && el.isConnected ? el.getBoundingClientRect().top : null);
  const top = topOf(active);
  let anchor = null;
  const path = [];
  if (active && active !== document.body) {
    for (let n = active; n && n !== document.body; n = n.parentElement) {
      if (n.id) { anchor = n.id; break; }
      path.unshift([...n.parentElement.children].indexOf(n));
    }
  }
  return {
    restore() {
      if (anchor && (document.activeElement === document.body || !document.activeElement?.isConnected)) {
        let n = document.getElementById(anchor);
        for (const i of path) n = n?.children[i];
        if (n && !n.closest("[hidden]")) n.focus({ preventScroll: true });
      }
      const now = top == null ? null : topOf(document.activeElement);
      if (now == null) window.scrollTo(scrollX, scrollY);
      else window.scrollBy(0, now - top);
    },
  };
}

/**
 * Shows the place the URL hash names, and marks its tab in the header. `options.refresh`: the
 * store changed and the view is redrawn where it stands (no focus or scroll change).
 */
async function route(options = {}) {
  const place = lazy.parseRoute(location.hash);
  const view = VIEWS.find((v) => v.match(place)) ?? VIEWS[1];
  for (const v of VIEWS) {
    $(v.section).hidden = v !== view;
    if (v !== view && !v.keep) $(v.section).replaceChildren();
  }
  for (const [name, tab] of Object.entries(TABS)) {
    if (view.tab === name) $(tab).setAttribute("aria-current", "page");
    else $(tab).removeAttribute("aria-current");
  }
  document.body.dataset.view = view.tab;
  document.body.dataset.detail = view.detail ? "true" : "false";
  if (view.detail) $("#import-report").hidden = true;
  await view.show(place, options);
}

/** On a first visit (empty store), imports the sample store `make serve` generated, if any. */
async function loadSampleIfEmpty() {
  if (params.get("sample") === "0" || lazy.sampleDeclined() || !app.allImages || app.allImages.length > 0) return;
  const response = await fetch(SAMPLE_URL).catch(() => null);
  if (!response?.ok) return;
  const blob = await response.blob();
  const report = await app.importer.importFile(new File([blob], "sample-store.tar"), { sample: true });
  if (report) app.notice("sample store loaded; drop your own tarball to replace it");
}

async function main() {
  // Marks for scripts/bench-page.mjs (where a reload's first rows spend their time).
  performance.mark("page:main");
  const status = $("#status");
  // First rows on screen: the list the store saved for its current state, while the store
  // opens (at 10,000 images opening rebuilds its state for a few hundred ms).
  app.list = new ImageList(app);
  // Painted before the open's long tasks start (a frame, then the task after it).
  if (await app.list.showSaved()) await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const rest = loadRest();
  try {
    await openStore();
    status.textContent = "store open";
  } catch (err) {
    status.textContent = "store not open";
    app.showError(err, "Opening the store");
    throw err;
  }
  await rest;
  app.importer = new lazy.ImportPanel(app);
  lazy.mountStoreTools();
  app.containerd = new lazy.ContainerdView(app);
  $("#clear-store").addEventListener("click", () => app.confirmClear());
  window.addEventListener("hashchange", () => route().catch((err) => app.showError(err, "Showing this view")));
  lazy.followOtherTabs(() => app.changed({ external: true }).catch((err) => app.showError(err, "Refreshing after a change in another tab")));
  // The list first: its rows are on screen before the cached full list (labels, tag lookups
  // for the other views) is fetched.
  await app.list.reload();
  try {
    await app.loadAllImages();
  } catch (err) {
    app.showError(err, "Listing images");
  }
  await route();
  await loadSampleIfEmpty().catch((err) => app.showError(err, "Loading the sample store"));
  document.body.dataset.ready = "true";
}

window.imagestorePage = app; // handy in the devtools console
main();
