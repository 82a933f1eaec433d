// Importing: file picker, drag-and-drop, a cancellable progress bar, and the import report.
// If the store holds only the untouched sample, a user's tarball replaces it (and the sample
// comes back if that import fails or is cancelled, so the store ends as it was). Once the user
// changed the sample (tag, delete), it is their store and imports add to it.
import { $, h, replace, facts } from "./dom.js";
import { clearStore, humanSize, store } from "./store.js";
import { namespaceHref } from "./route.js";
import { shortId } from "./format.js";
import { updateSearchIndexSoon } from "./analysis-store.js";

const SAMPLE_FLAG = "imagestore-page:sample-only";
const DECLINED_FLAG = "imagestore-page:no-sample";

/** The store is the user's (they changed the sample): the next import must not replace it. */
export function markStoreOwned() {
  localStorage.removeItem(SAMPLE_FLAG);
}

/** The user cleared the store: an empty store stays empty, even after a reload. */
export function declineSample() {
  localStorage.removeItem(SAMPLE_FLAG);
  localStorage.setItem(DECLINED_FLAG, "1");
}

export function sampleDeclined() {
  return localStorage.getItem(DECLINED_FLAG) === "1";
}

/** The report's formats in words. */
const FORMAT_NAMES = {
  "docker-image-store": "Docker image store (/var/lib/docker/image/<driver>/)",
  "docker-save": "docker save archive",
  "oci-layout": "OCI image layout",
  "containerd-root": "containerd root",
};
/** Formats whose images can land in containerd namespaces. */
const CONTAINERD_FORMATS = new Set(["docker-save", "oci-layout", "containerd-root"]);

/**
 * "9 tagged, 30 with intermediates" for images new to the store (the list without -a shows
 * the tagged ones); "none new: the store had every image already" when nothing was added.
 */
function imagesText(report, change) {
  if (!change) return String(report?.images ?? 0);
  if (change.added === 0) return "none new: the store had every image already";
  if (change.listed === change.added) return `${change.added} new`;
  return `${change.listed} tagged, ${change.added} with intermediates`;
}

function formatName(format) {
  if (!format) return null;
  return FORMAT_NAMES[format] ? `${FORMAT_NAMES[format]} (${format})` : format;
}

/** Where the import's images are now, as a link to that view. */
function whereItWent(format, namespace) {
  if (format === "containerd-root") return h("a", { href: "#/containerd" }, "containerd, in the namespaces of the root");
  if (format === "oci-layout" || (format === "docker-save" && namespace)) {
    const ns = namespace ?? "default";
    return h("a", { href: namespaceHref(ns) }, `containerd namespace ${ns}`);
  }
  return h("a", { href: "#/" }, "Docker");
}

export class ImportPanel {
  constructor(app) {
    this.app = app;
    this.controller = null;
    this.input = $("#file-input");
    this.zone = $("#drop-zone");
    this.progress = {
      box: $("#import-progress"),
      label: $("#import-progress-label"),
      bar: $("#import-progress-bar"),
      counts: $("#import-progress-counts"),
    };
    this.input.addEventListener("change", () => {
      const file = this.input.files?.[0];
      this.input.value = "";
      if (file) this.importFile(file);
    });
    $("#cancel-import").addEventListener("click", () => this.controller?.abort());
    // Dropping anywhere on the page imports; the zone lights up while a file is dragged over.
    document.addEventListener("dragover", (e) => {
      if (!e.dataTransfer?.types?.includes("Files")) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      this.zone.classList.add("dragging");
    });
    document.addEventListener("dragleave", (e) => {
      if (e.target === document.documentElement || e.target === this.zone) this.zone.classList.remove("dragging");
    });
    document.addEventListener("drop", (e) => {
      const file = e.dataTransfer?.files?.[0];
      if (!file) return;
      e.preventDefault();
      this.zone.classList.remove("dragging");
      this.importFile(file);
    });
    // Typing a namespace means importing into it.
    $("#import-namespace").addEventListener("input", () => ($("#import-to-containerd").checked = true));
  }

  get busy() {
    return this.controller !== null;
  }

  /** Imports `file`; resolves to the report, or null if it failed or was cancelled. */
  async importFile(file, { sample = false } = {}) {
    const app = this.app;
    if (this.busy) {
      app.notice("An import is already running; cancel it first or wait for it to finish.");
      return null;
    }
    app.clearError();
    app.notice("");
    $("#import-report").hidden = true;
    const replacing = !sample && localStorage.getItem(SAMPLE_FLAG) === "1";
    this.controller = new AbortController();
    this.showProgress(file, null);
    try {
      performance.mark("import:start");
      if (replacing) await clearStore();
      const target = sample ? {} : this.target();
      const before = replacing ? [] : (app.allImages ?? []);
      performance.mark("import:run");
      const report = await this.run(file, this.controller.signal, target);
      // How long the store's import took, apart from the page's work around it (for benchmarks).
      performance.measure("import:store", "import:run");
      performance.measure("import:before", "import:start", "import:run");
      if (sample) localStorage.setItem(SAMPLE_FLAG, "1");
      else localStorage.removeItem(SAMPLE_FLAG);
      // The worker works out the new layers' change sets for the file search meanwhile.
      updateSearchIndexSoon();
      performance.mark("import:change");
      const change = await this.dockerChange(report, before, target);
      performance.measure("import:compare", "import:change");
      this.showReport(file, report, { replaced: replacing, namespace: target.namespace, change });
      performance.measure("import:reported", "import:start");
      // An import into a namespace shows that namespace when the containerd view is open; an
      // import made while one image was shown goes back to the list the report is about.
      const toNamespace = target.namespace && CONTAINERD_FORMATS.has(report?.format);
      if (toNamespace && document.body.dataset.view === "containerd") location.hash = namespaceHref(target.namespace);
      else if (document.body.dataset.detail === "true") location.hash = toNamespace ? namespaceHref(target.namespace) : "#/";
      return report;
    } catch (err) {
      if (replacing) await this.restoreSample();
      if (err?.code === "aborted" || err?.name === "AbortError") {
        app.notice(`Import of ${file.name} cancelled. The store is as it was before.`);
      } else {
        app.showError(err, `Importing ${file.name}`);
      }
      return null;
    } finally {
      this.controller = null;
      this.progress.box.hidden = true;
      await app.changed();
      // Finished imports, views refreshed: for tests and tools that wait for one.
      document.body.dataset.imports = String(Number(document.body.dataset.imports ?? 0) + 1);
    }
  }

  /**
   * What a Docker import changed, from the store's lists before and after: images new to the
   * store, how many of them `docker images` shows (the rest are intermediates), and the tags
   * it moved away from other images. null for imports into containerd.
   */
  async dockerChange(report, before, target) {
    if (!report || !["docker-image-store", "docker-save"].includes(report.format)) return null;
    if (report.format === "docker-save" && target.namespace) return null;
    const after = await store().listImages({ all: true });
    const shown = new Set((await store().listImages({})).map((i) => i.Id));
    const had = new Map(before.map((i) => [i.Id, i]));
    const added = after.filter((i) => !had.has(i.Id));
    const tags = (i) => (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    const ownerBefore = new Map(before.flatMap((i) => tags(i).map((t) => [t, i.Id])));
    const moved = after.flatMap((i) => tags(i)
      .filter((t) => ownerBefore.has(t) && ownerBefore.get(t) !== i.Id)
      .map((t) => ({ tag: t, from: ownerBefore.get(t), to: i.Id })));
    return { added: added.length, listed: added.filter((i) => shown.has(i.Id)).length, moved };
  }

  async run(file, signal, target) {
    let latest = null;
    let scheduled = false;
    const controller = this.controller;
    const onProgress = (p) => {
      latest = p;
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        // A frame that comes after the import ended must not bring the finished bar back.
        if (this.controller === controller) this.showProgress(file, latest);
      });
    };
    return store().import(file, { onProgress, signal, ...target });
  }

  /**
   * Where archives go, from the "Archives go to" choice: nothing for Docker (the package then
   * loads `docker save` archives like `docker load` and OCI layouts into namespace `default`),
   * or `{ namespace }` to import both like `ctr -n <namespace> images import`.
   */
  target() {
    if (!$("#import-to-containerd").checked) return {};
    return { namespace: $("#import-namespace").value.trim() || "default" };
  }

  async restoreSample() {
    try {
      await clearStore();
      const response = await fetch("./sample/sample-store.tar");
      if (response.ok) await store().import(await response.blob(), {});
    } catch {
      localStorage.removeItem(SAMPLE_FLAG);
    }
  }

  showProgress(file, p) {
    const { box, label, bar, counts } = this.progress;
    box.hidden = false;
    const total = p?.bytesTotal ?? file.size;
    const read = p?.bytesRead ?? 0;
    label.textContent = `Importing ${file.name}${p?.phase ? ` — ${p.phase}` : ""}`;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(read, bar.max);
    counts.textContent = [
      `${humanSize(read)} of ${humanSize(total)}`,
      `${p?.images ?? 0} images`,
      `${p?.layers ?? 0} layers`,
      p?.blobs != null ? `${p.blobs} blobs` : null,
    ]
      .filter(Boolean)
      .join(" · ");
  }

  showReport(file, report, { replaced, namespace, change }) {
    const el = $("#import-report");
    const toContainerd = CONTAINERD_FORMATS.has(report?.format) && !(report?.format === "docker-save" && !namespace);
    const skipped = report?.skipped ?? [];
    const warnings = report?.warnings ?? [];
    replace(
      el,
      h("div", { class: "report-head" },
        h("h2", {}, "Import report"),
        h("button", { type: "button", class: "button small", onclick: () => (el.hidden = true) }, "Close report")),
      replaced && h("p", { class: "muted" }, "The sample store was replaced by this import."),
      facts([
        ["File", file.name],
        ["Format", h("span", { id: "import-format", dataset: { format: report?.format ?? "" } }, formatName(report?.format))],
        ["Went to", whereItWent(report?.format, namespace)],
        ["Images", imagesText(report, change)],
        change?.moved.length > 0 && ["Tags moved", h("ul", { class: "values", id: "import-moved" }, change.moved.map((m) =>
          h("li", {}, h("span", { class: "mono" }, m.tag), ` now points to ${shortId(m.to)} (was ${shortId(m.from)})`)))],
        !toContainerd && ["Layers", String(report?.layers ?? 0)],
        ["References", String(report?.references ?? 0)],
        ["Blobs", String(report?.blobs ?? 0)],
        ["Bytes read", report?.bytes != null ? `${humanSize(report.bytes)} (${report.bytes} bytes)` : null],
      ].filter(Boolean)),
      skipped.length === 0
        ? h("p", { id: "import-skipped", class: "ok" }, "Nothing was skipped.")
        : [
            h("h3", {}, toContainerd
              ? `Skipped (${skipped.length})`
              : `Skipped (${skipped.length}) — as dockerd would skip them when loading the store`),
            h("table", { id: "import-skipped", class: "plain" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Why"))),
              h("tbody", {}, skipped.map((s) => h("tr", {}, h("td", { class: "mono" }, s.subject), h("td", {}, s.reason))))),
          ],
      warnings.length > 0 && [
        h("h3", {}, `Warnings (${warnings.length})`),
        h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, typeof w === "string" ? w : JSON.stringify(w)))),
      ],
    );
    el.hidden = false;
  }
}
