// Importing: file picker, drag-and-drop, a cancellable progress bar, and the import report.
// If the store holds only the untouched sample, a user's tarball replaces it (and the sample
// comes back if that import fails or is cancelled, so the store ends as it was).
import { $, h, replace, facts } from "./dom.js";
import { call, clearStore, has, MissingFeature } from "./store.js";
import { humanSize } from "./format.js";
import { namespaceHref } from "./route.js";

const SAMPLE_FLAG = "imagestore-page:sample-only";

/** The report's formats in words. */
const FORMAT_NAMES = {
  "docker-image-store": "Docker image store (/var/lib/docker/image/<driver>/)",
  "docker-save": "docker save archive",
  "oci-layout": "OCI image layout",
  "containerd-root": "containerd root",
};
/** Formats whose images can land in containerd namespaces. */
const CONTAINERD_FORMATS = new Set(["docker-save", "oci-layout", "containerd-root"]);

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
    if (!has("import")) {
      this.zone.append(h("p", { class: "muted" }, new MissingFeature("import", "Importing").message));
    }
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
      if (replacing) await clearStore();
      const target = sample ? {} : this.target();
      const report = await this.run(file, this.controller.signal, target);
      if (sample) localStorage.setItem(SAMPLE_FLAG, "1");
      else localStorage.removeItem(SAMPLE_FLAG);
      this.showReport(file, report, { replaced: replacing, namespace: target.namespace });
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
    }
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
    return call("import", "Importing", file, { onProgress, signal, ...target });
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
      if (response.ok) await call("import", "Importing", await response.blob(), {});
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

  showReport(file, report, { replaced, namespace }) {
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
        ["Images", String(report?.images ?? 0)],
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
