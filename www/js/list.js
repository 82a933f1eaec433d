// The image list: `docker images` rows (one per tag), sortable by keyboard or mouse, with the
// `-a` toggle, docker's filters, plain-text and partial-ID search. Rows are rendered a page
// at a time, so thousands of images stay fast; typing only re-filters the rows in memory
// unless docker filters changed (then the store is asked again).
import { $, breakable, debounce, h, replace } from "./dom.js";
import { explain, humanSize, savedListImages, store } from "./store.js";
import { createdSince, absoluteTime, rowsForImages, rowReference, shortId } from "./format.js";
import { looksLikeIdPrefix, parseFilterText, prepareSearch, rowMatcher } from "./filters.js";

const PAGE = 200;
// Rows laid out in the frame that shows a new list: a screenful. Laying out a row costs the
// browser far more than making it (200 new rows were 25-50 ms of layout on the development
// machine; 50 rows, about 6 ms of style and layout and 3 of paint per keystroke), so the rest
// of a page is added when the page is next idle, below the fold. A row is at least 24 px tall
// (cell padding and one line of text), so this many rows fill the window wherever the table
// starts in it. After a reload the saved answer's first rows are shown alone; the page's
// other rows come with the store's own answer.
const MIN_ROW_PX = 24;
function firstRows() {
  return Math.max(1, Math.min(PAGE, Math.ceil(window.innerHeight / MIN_ROW_PX)));
}

const COMPARE = {
  repo: (a, b) => cmpText(a.repo, b.repo) || cmpText(a.tag, b.tag),
  tag: (a, b) => cmpText(a.tag, b.tag) || cmpText(a.repo, b.repo),
  id: (a, b) => cmpText(a.id, b.id),
  created: (a, b) => a.created - b.created,
  size: (a, b) => a.size - b.size,
};

function cmpText(a, b) {
  // "<none>" sorts after names, as an absent value.
  if (a === b) return 0;
  if (a === "<none>") return 1;
  if (b === "<none>") return -1;
  return a < b ? -1 : 1;
}

/**
 * How many images `rows` show, the rows in the store's order: an image's rows are next to each
 * other there (one per tag), so counting changes of ID is enough. (A set of the IDs was most of
 * a keystroke's filtering over 10,000 rows.)
 */
function countImages(rows) {
  let images = 0;
  let last = null;
  for (const row of rows) {
    if (row.id !== last) images++;
    last = row.id;
  }
  return images;
}

let ROW_TEMPLATE = null;

/** An empty image row: what each row of the table is copied from. */
function rowTemplate() {
  ROW_TEMPLATE ??= h(
    "tr",
    {},
    h("td", { class: "repo" }, h("a", {})),
    h("td", { class: "tag" }),
    h("td", { class: "mono id" }, h("a", {})),
    h("td", { class: "created" }),
    h("td", { class: "num" }),
    h("td", { class: "actions" }, h("button", { type: "button", class: "button small" }, "Delete")),
  );
  return ROW_TEMPLATE;
}

/** Runs `fn` when the page has nothing else to do (or within a second); returns a handle for `cancelIdle`. */
function whenIdle(fn) {
  if (typeof requestIdleCallback === "function") return { idle: requestIdleCallback(fn, { timeout: 1000 }) };
  return { timer: setTimeout(fn, 50) };
}

function cancelIdle(handle) {
  if (handle.idle !== undefined && typeof cancelIdleCallback === "function") cancelIdleCallback(handle.idle);
  if (handle.timer !== undefined) clearTimeout(handle.timer);
}

export class ImageList {
  constructor(app) {
    this.app = app;
    this.tbody = $("#images tbody");
    this.rows = []; // every row of the last answer, in the store's order
    this.visible = []; // filtered and sorted
    this.shown = 0; // rows of `visible` on the page, or about to be (see render)
    this.rendered = 0; // rows of `visible` in the table now
    this.pendingRows = null; // the idle callback that adds rows rendered..shown
    this.sort = { key: null, dir: "desc" }; // null: the store's order (newest first)
    this.fetchedKey = null;
    this.resolved = new Map();
    // Each row's <tr>, made when the row is first shown and reused while the rows are the same
    // answer's (a keystroke that narrows the list shows rows it showed before).
    this.elements = new WeakMap();
    this.filterInput = $("#filter");
    this.showAll = $("#show-all");
    const onInput = debounce(() => this.update(), 200);
    this.filterInput.addEventListener("input", onInput);
    $("#list-controls").addEventListener("submit", (e) => {
      e.preventDefault();
      this.update();
    });
    this.showAll.addEventListener("change", () => this.update());
    $("#show-more").addEventListener("click", () => this.renderMore());
    // Every row's Delete button, by its data-ref (one listener, not one per row).
    this.tbody.addEventListener("click", (e) => {
      const button = e.target.closest?.("button[data-ref]");
      if (button && this.tbody.contains(button)) this.openDelete(button.dataset.ref);
    });
    for (const th of document.querySelectorAll("#images th[data-key]")) {
      th.querySelector("button").addEventListener("click", () => this.sortBy(th.dataset.key));
    }
  }

  /**
   * After a reload, before the store is open: shows the rows of the list answer the store saved
   * for its current state (the same rows `listImages` gives), if there is one and nothing is
   * typed in the filter box. The store's own answer replaces them once it is open. Returns
   * whether rows were shown.
   */
  async showSaved() {
    if (this.filterInput.value.trim()) return false;
    const all = this.showAll.checked;
    const answer = await savedListImages(all).catch(() => null);
    performance.mark("list:saved-answer");
    // Typing, the -a box or the store's own answer came first: they decide what is shown.
    if (!answer || this.seq || this.filterInput.value.trim() || this.showAll.checked !== all) return false;
    this.rows = rowsForImages(answer);
    performance.mark("list:saved-rows");
    this.applyTerms([], firstRows());
    performance.mark("list:saved-shown");
    return true;
  }

  /** Asks the store again (after an import, tag or delete, or when docker filters change). */
  async reload() {
    this.fetchedKey = null;
    await this.update();
  }

  async update() {
    performance.mark("list:update");
    // Only the latest of overlapping updates (typing, reloads) gets to render.
    const seq = (this.seq = (this.seq ?? 0) + 1);
    // Read once, before any await: typing goes on meanwhile (the input is debounced), and what this
    // update renders and reports must be the query it started with.
    const query = JSON.stringify([this.showAll.checked, this.filterInput.value]);
    const parsed = parseFilterText(this.filterInput.value);
    const key = `${this.showAll.checked}|${parsed.key}`;
    // Before the store is open (saved rows on screen): the update after the open shows this.
    if (!store()) return;
    try {
      if (key !== this.fetchedKey) {
        const all = this.showAll.checked;
        const unfiltered = Object.keys(parsed.filters).length === 0;
        // The rows come with the answer, from the list the store keeps (imageRows of the
        // answer would write 10,000 objects out and read them back: 20-40 ms).
        const answer = await store().listImageRows({ all, filters: parsed.filters });
        if (seq !== this.seq) return;
        const answerRows = rowsForImages(answer.images, answer.rows);
        this.rows = answerRows;
        this.fetchedKey = key;
        whenIdle(() => prepareSearch(answerRows));
        // For the next reload's first rows (the store writes it only when it changed).
        if (unfiltered) store().saveListAnswer({ all }).catch(() => {});
      }
      this.showFilterError(null);
      await this.resolvePartialIds(parsed.terms);
      if (seq !== this.seq) return;
      this.applyTerms(parsed.terms);
    } catch (err) {
      if (seq !== this.seq) return;
      this.fetchedKey = null;
      this.rows = [];
      this.visible = [];
      $("#list-count").textContent = "";
      if (err?.code === "invalid_argument") {
        // A filter dockerd would refuse: its words, at the box.
        this.showFilterError(err.message);
        this.showEmpty({ title: "Nothing is listed until the filter is valid." });
      } else {
        this.showFilterError(null);
        this.showEmpty(explain(err, "Listing images"));
      }
      $("#search-result").hidden = true;
      this.render();
    }
    // What the table now shows, for tests and tools that wait for it: [all, filter text], and
    // a counter of completed updates.
    const table = $("#images");
    table.dataset.query = query;
    table.dataset.updates = String(Number(table.dataset.updates ?? 0) + 1);
    performance.mark("list:updated");
  }

  /** Shows (or with null, clears) dockerd's refusal of the filters beside the filter box. */
  showFilterError(message) {
    const box = $("#filter-error");
    box.hidden = !message;
    if (message) {
      replace(box, h("strong", {}, "This filter is not valid: "), message,
        /Invalid filter '/i.test(message) ? " — docker's image filters are dangling, label, reference, before and since." : "");
      this.filterInput.setAttribute("aria-invalid", "true");
    } else {
      box.replaceChildren();
      this.filterInput.removeAttribute("aria-invalid");
    }
  }

  /** Runs docker's partial-ID search for words that look like ID prefixes and says what it found. */
  async resolvePartialIds(terms) {
    this.resolved = new Map();
    const el = $("#search-result");
    const lines = [];
    for (const term of terms.filter(looksLikeIdPrefix)) {
      try {
        const id = await store().search(term);
        this.resolved.set(term, id);
        lines.push(h("span", {}, `ID prefix ${term} is image `, h("a", { href: `#/image/${id}` }, shortId(id)), "."));
      } catch (err) {
        if (err?.code === "ambiguous") lines.push(h("span", {}, `ID prefix ${term} is ambiguous: several images start with it. Type more characters.`));
        // A word like "deb" may be a name as well: only say so when no name matches it either.
        else if (err?.code === "not_found") {
          if (!this.rows.some(rowMatcher([term]))) lines.push(h("span", {}, `No image ID starts with ${term}.`));
        }
        else lines.push(h("span", {}, explain(err, "Searching by partial ID").detail));
      }
    }
    el.hidden = lines.length === 0;
    replace(el, lines.map((l, i) => [i > 0 && " ", l]));
  }

  /** Filters and sorts the rows, and shows the first `page` of them. */
  applyTerms(terms, page = PAGE) {
    let rows = terms.length ? this.rows.filter(rowMatcher(terms, this.resolved)) : this.rows.slice();
    const images = countImages(rows);
    if (this.sort.key) {
      const cmp = COMPARE[this.sort.key];
      const sign = this.sort.dir === "asc" ? 1 : -1;
      rows = rows.map((r, i) => [r, i]).sort((a, b) => sign * cmp(a[0], b[0]) || a[1] - b[1]).map(([r]) => r);
    }
    this.visible = rows;
    $("#list-count").textContent = `${images} image${images === 1 ? "" : "s"}, ${rows.length} row${rows.length === 1 ? "" : "s"}`;
    if (rows.length === 0) {
      this.showEmpty(this.rows.length === 0 && !this.filterInput.value.trim()
        ? { title: "The store is empty. Import a tarball to see its images." }
        : { title: "No image matches." });
    } else {
      $("#list-empty").hidden = true;
    }
    this.render(page);
  }

  showEmpty({ title, detail, advice }) {
    const el = $("#list-empty");
    replace(el, [title, detail && [h("br"), detail], advice && [h("br"), advice]]);
    el.hidden = false;
  }

  sortBy(key) {
    if (this.sort.key === key) this.sort.dir = this.sort.dir === "asc" ? "desc" : "asc";
    else this.sort = { key, dir: key === "created" || key === "size" ? "desc" : "asc" };
    for (const th of document.querySelectorAll("#images th[data-key]")) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", this.sort.dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    this.applyTerms(parseFilterText(this.filterInput.value).terms);
  }

  /**
   * Shows the first `page` rows of `visible`: the first screenful (`firstRows`) now, the rest when
   * the page is next idle (or at once, if "Show more" is pressed first).
   */
  render(page = PAGE) {
    this.cancelPendingRows();
    const target = this.visible.slice(0, page);
    // The same rows in the same order (e.g. a keystroke that did not change the first page):
    // the table is left as it is.
    const current = this.tbody.children;
    const same = target.length === current.length && target.every((row, i) => this.elements.get(row)?.tr === current[i]);
    const now = Date.now();
    if (same) {
      target.forEach((row) => this.rowElement(row, now));
      this.rendered = target.length;
    } else {
      const first = target.slice(0, firstRows());
      this.tbody.replaceChildren(...first.map((row) => this.rowElement(row, now)));
      this.rendered = first.length;
    }
    this.shown = target.length;
    if (this.rendered < this.shown) {
      // The check covers a callback that runs although it was cancelled (a test's own idle queue).
      const pending = whenIdle(() => {
        if (this.pendingRows === pending) this.addPendingRows();
      });
      this.pendingRows = pending;
      // Assistive technology (and tests) can tell the rows are still coming.
      this.tbody.parentElement.setAttribute("aria-busy", "true");
    }
    this.showMoreButton();
  }

  /** Adds the rows `render` left for later (rendered..shown) to the table. */
  addPendingRows() {
    this.cancelPendingRows(); // when called by "Show more" before the idle callback
    const now = Date.now();
    const rows = this.visible.slice(this.rendered, this.shown);
    this.tbody.append(...rows.map((row) => this.rowElement(row, now)));
    this.rendered = this.shown;
  }

  cancelPendingRows() {
    if (this.pendingRows) cancelIdle(this.pendingRows);
    this.pendingRows = null;
    this.tbody.parentElement.removeAttribute("aria-busy");
  }

  renderMore() {
    if (this.pendingRows) this.addPendingRows();
    const now = Date.now();
    const slice = this.visible.slice(this.shown, this.shown + PAGE);
    this.tbody.append(...slice.map((row) => this.rowElement(row, now)));
    this.shown += slice.length;
    this.rendered = this.shown;
    this.showMoreButton();
  }

  showMoreButton() {
    const more = $("#show-more");
    const left = this.visible.length - this.shown;
    more.hidden = left <= 0;
    more.textContent = `Show ${Math.min(left, PAGE)} more (${left} not shown)`;
  }

  /** The delete dialog (its module is loaded with the rest of the page, after the first rows). */
  async openDelete(ref) {
    const { openDeleteDialog } = await import("./actions.js");
    openDeleteDialog(this.app, ref);
  }

  /**
   * The row's <tr>: made once per row (a copy of ROW_TEMPLATE filled in: copying one row is
   * several times cheaper than making its eleven elements one by one, which matters when a
   * keystroke shows 200 rows not shown before), its CREATED text brought up to date when shown
   * again. Its Delete button is handled by the table's one click listener (see the constructor).
   */
  rowElement(row, now) {
    const created = createdSince(row.created, now);
    const kept = this.elements.get(row);
    if (kept) {
      if (kept.created.textContent !== created) kept.created.textContent = created;
      return kept.tr;
    }
    const tr = rowTemplate().cloneNode(true);
    const [repoCell, tagCell, idCell, createdCell, sizeCell, actionsCell] = tr.children;
    tr.dataset.id = row.id;
    const href = `#/image/${row.id}`;
    const title = `Inspect ${row.id}`;
    if (row.repo === "<none>") repoCell.className = "none repo";
    const repoLink = repoCell.firstChild;
    repoLink.href = href;
    repoLink.title = title;
    repoLink.append(...breakable(row.repo));
    if (row.tag === "<none>") tagCell.className = "none tag";
    tagCell.append(...breakable(row.tag));
    const idLink = idCell.firstChild;
    idLink.href = href;
    idLink.title = title;
    idLink.textContent = shortId(row.id);
    createdCell.title = absoluteTime(row.created);
    createdCell.textContent = created;
    sizeCell.title = `${row.size} bytes`;
    sizeCell.textContent = humanSize(row.size);
    const button = actionsCell.firstChild;
    const ref = rowReference(row);
    button.dataset.ref = ref;
    button.setAttribute("aria-label", `Delete ${ref}`);
    this.elements.set(row, { tr, created: createdCell });
    return tr;
  }
}
