// The containerd view: the namespaces (with image and blob counts), and for one namespace its
// images as `ctr images ls` prints them (sortable, with containerd's filter syntax) or its
// content as `ctr content ls` prints it. Every answer comes from the store.
import { $, breakable, debounce, h, replace } from "./dom.js";
import { explain, store } from "./store.js";
import { parseFilterLines, sortRows } from "./ctr.js";
import { absoluteTime, humanDuration } from "./format.js";
import { ctrImageHref, namespaceHref } from "./route.js";

export class ContainerdView {
  constructor(app) {
    this.app = app;
    this.ns = null;
    this.tab = "images";
    this.rows = []; // the store's rows for the current filters, in its (REF) order
    this.sort = { key: null, dir: "asc" };
    this.filterInput = $("#ctr-filter");
    const onInput = debounce(() => this.updateImages(), 250);
    this.filterInput.addEventListener("input", () => {
      this.fitFilterBox();
      onInput();
    });
    $("#ctr-controls").addEventListener("submit", (e) => {
      e.preventDefault();
      this.updateImages();
    });
    for (const th of document.querySelectorAll("#ctr-images th[data-key]")) {
      th.querySelector("button").addEventListener("click", () => this.sortBy(th.dataset.key));
    }
  }

  /** Shows namespace `ns` (null: the first one) on tab "images" or "content". */
  async show(ns, tab) {
    $("#ctr-view").hidden = false;
    const missing = $("#ctr-missing");
    let namespaces;
    try {
      namespaces = await store().namespaces();
    } catch (err) {
      replace($("#ctr-namespaces"));
      const { title, detail, advice } = explain(err, "Listing containerd namespaces");
      replace(missing, [title, detail && [h("br"), detail], advice && [h("br"), advice]]);
      missing.hidden = false;
      $("#ctr-namespace").hidden = true;
      return;
    }
    missing.hidden = namespaces.length > 0;
    replace(missing, "No containerd namespaces yet. Import a containerd root, a docker save archive or an OCI layout into a namespace.");
    this.ns = ns ?? namespaces[0] ?? null;
    this.tab = tab;
    $("#tab-containerd").href = this.ns ? namespaceHref(this.ns) : "#/containerd";
    await this.renderNamespaces(namespaces);
    $("#ctr-namespace").hidden = !this.ns;
    if (!this.ns) return;
    const imagesTab = $("#ctr-tab-images");
    const contentTab = $("#ctr-tab-content");
    imagesTab.href = namespaceHref(this.ns);
    contentTab.href = namespaceHref(this.ns, "content");
    for (const [link, name] of [[imagesTab, "images"], [contentTab, "content"]]) {
      if (name === tab) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    $("#ctr-images-panel").hidden = tab !== "images";
    $("#ctr-content-panel").hidden = tab !== "content";
    if (tab === "images") await this.updateImages();
    else await this.showContent();
  }

  /** The namespace links, each with its image and blob counts (asked of the store). */
  async renderNamespaces(namespaces) {
    const counts = await Promise.all(namespaces.map((ns) => this.countsOf(ns)));
    const nav = $("#ctr-namespaces");
    replace(nav, h("ul", {}, namespaces.map((ns, i) =>
      h("li", {},
        h("a", { href: namespaceHref(ns), "aria-current": ns === this.ns ? "page" : null, dataset: { ns } },
          h("span", { class: "ns-name" }, ns),
          h("span", { class: "ns-counts" }, counts[i]))))));
    if (!namespaces.includes(this.ns) && this.ns) {
      nav.append(h("p", { class: "muted small" }, `There is no namespace ${this.ns} in this store.`));
    }
  }

  async countsOf(ns) {
    try {
      const handle = store().containerd(ns);
      const [images, blobs] = await Promise.all([handle.listImages(), handle.content.list()]);
      return `${plural(images.length, "image")}, ${plural(blobs.length, "blob")}`;
    } catch {
      return "counts failed";
    }
  }

  /** Asks the store for the `ctr images ls` rows matching the filter box, and shows them. */
  async updateImages() {
    const seq = (this.seq = (this.seq ?? 0) + 1);
    const ns = this.ns;
    const text = this.filterInput.value;
    const lines = parseFilterLines(text);
    const errorBox = $("#ctr-filter-error");
    try {
      const handle = store().containerd(ns);
      let rows;
      try {
        rows = await handle.imagesTable(lines.map((l) => l.filter));
      } catch (err) {
        if (err?.code !== "invalid_argument") throw err;
        const message = await this.filterErrorMessage(handle, lines, err);
        if (seq !== this.seq) return;
        replace(errorBox, h("strong", {}, "This filter is not valid. "), message, hintFor(message));
        errorBox.hidden = false;
        this.filterInput.setAttribute("aria-invalid", "true");
        this.rows = [];
        this.showEmpty("Nothing is listed until the filter is valid.");
        return this.renderImages(ns, text);
      }
      if (seq !== this.seq) return;
      errorBox.hidden = true;
      this.filterInput.removeAttribute("aria-invalid");
      this.rows = rows;
      $("#ctr-empty").hidden = rows.length > 0;
      if (rows.length === 0) this.showEmpty(lines.length ? "No image matches." : `Namespace ${ns} has no images.`);
    } catch (err) {
      if (seq !== this.seq) return;
      this.rows = [];
      const { title, detail, advice } = explain(err, "Listing containerd images");
      this.showEmpty(title, detail, advice);
    }
    this.renderImages(ns, text);
  }

  /** Which lines the store rejects (asked one by one when there are several), in plain words. */
  async filterErrorMessage(handle, lines, err) {
    if (lines.length < 2) return err.message;
    const bad = [];
    for (const { line, filter } of lines) {
      try {
        await handle.imagesTable([filter]);
      } catch (e) {
        bad.push(`line ${line} (${filter}): ${e.message}`);
      }
    }
    return bad.length ? bad.join("; ") : err.message;
  }

  showEmpty(title, detail, advice) {
    const el = $("#ctr-empty");
    replace(el, [title, detail && [h("br"), detail], advice && [h("br"), advice]]);
    el.hidden = false;
  }

  sortBy(key) {
    if (this.sort.key === key) this.sort.dir = this.sort.dir === "asc" ? "desc" : "asc";
    else this.sort = { key, dir: key === "size" ? "desc" : "asc" };
    for (const th of document.querySelectorAll("#ctr-images th[data-key]")) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", this.sort.dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    this.renderImages(this.ns, this.filterInput.value);
  }

  renderImages(ns, filterText) {
    const rows = this.sort.key ? sortRows(this.rows, this.sort.key, this.sort.dir) : this.rows;
    const tbody = $("#ctr-images tbody");
    tbody.replaceChildren(...rows.map((r) => this.rowElement(ns, r)));
    $("#ctr-count").textContent = plural(rows.length, "image");
    // What the table shows, for tests and tools that wait for it, as the Docker list does.
    const table = $("#ctr-images");
    table.dataset.query = JSON.stringify([ns, filterText]);
    table.dataset.updates = String(Number(table.dataset.updates ?? 0) + 1);
  }

  rowElement(ns, r) {
    const partial = r.sizeError
      ? { class: "num partial", title: `${r.sizeBytes} bytes so far: ctr stops summing here (${r.sizeError})` }
      : { class: "num", title: `${r.sizeBytes} bytes` };
    return h("tr", { dataset: { ref: r.ref } },
      h("td", { class: "ref" }, h("a", { href: ctrImageHref(ns, r.ref), title: `Show ${r.ref}` }, breakable(r.ref))),
      h("td", { class: "mono type" }, breakable(r.type)),
      h("td", { class: "mono digest", title: r.digest }, r.digest),
      h("td", partial, r.size),
      h("td", { class: "mono" }, breakable(r.platforms)),
      h("td", { class: "mono labels" }, breakable(r.labels)));
  }

  /** The namespace's blobs as `ctr content ls` prints them (labels one per line). */
  async showContent() {
    const ns = this.ns;
    const tbody = $("#ctr-content tbody");
    const count = $("#ctr-content-count");
    try {
      const handle = store().containerd(ns);
      const rows = await handle.content.table();
      if (ns !== this.ns) return;
      const now = Date.now();
      count.textContent = `${plural(rows.length, "blob")} in namespace ${ns}, like ctr -n ${ns} content ls.`;
      tbody.replaceChildren(...rows.map((row) => {
        const labels = row.labels === "-" ? ["-"] : row.labels.split(",");
        const created = Date.parse(row.createdAt);
        // AGE is go-units HumanDuration since creation, without "ago", as ctr prints it.
        const age = Number.isNaN(created) ? "-" : humanDuration(now - created);
        return h("tr", { dataset: { digest: row.digest } },
          h("td", { class: "mono digest-full" }, row.digest),
          h("td", { class: "num", title: `${row.sizeBytes} bytes` }, row.size),
          h("td", { title: absoluteTime(row.createdAt) }, age),
          h("td", { class: "mono labels" }, labels.map((l) => h("div", { class: "label" }, l))));
      }));
    } catch (err) {
      tbody.replaceChildren();
      const { title, detail } = explain(err, "Listing content");
      count.textContent = [title, detail].filter(Boolean).join(": ");
    }
    $("#ctr-content").dataset.ns = ns;
  }

  /** Fits the filter box to its lines (one to six). */
  fitFilterBox() {
    this.filterInput.rows = Math.min(6, Math.max(1, this.filterInput.value.split("\n").length));
  }
}

/** A plain hint for the mistakes containerd's parser names (its words are terse). */
function hintFor(message) {
  if (/unsupported operator "="/.test(message)) return " — compare with == (equal), != (not equal) or ~= (regular expression).";
  if (/quoted literal not terminated/.test(message)) return " — close the quotes.";
  if (/expected value or quoted/.test(message)) return " — type a value after the operator, or the field alone to test that it is there.";
  if (/expected field or quoted/.test(message)) return " — start each condition with a field name: name, target.digest, target.mediatype, labels.<key>, annotations.<key>.";
  if (/invalid regular expression/.test(message)) return " — fix the regular expression after ~= (Go's RE2 syntax).";
  return "";
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
