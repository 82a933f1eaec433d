// The analysis panel's data: the package's answers (efficiency, layerChanges, largestFiles,
// layerFiles, diffImages; and findFiles for the store-wide search) cut to what the page shows. No DOM here: analysis-worker.js runs it
// in a worker, so that analysing a 50,000-file image never blocks the page; the page runs it
// itself only where a worker cannot open the store.
//
// A layer's tree goes back as columns (paths, and typed arrays of codes, sizes and layers):
// a worker hands those over in a few milliseconds, where 50,000 objects would take the page
// a long task to copy in.

/** Entry types, in the order of the codes `tree` answers with. */
export const TYPES = ["file", "dir", "symlink", "hardlink", "char", "block", "fifo", "other"];
/** Change kinds, in the order of the codes `tree` answers with (0: unchanged). */
export const CHANGES = [null, "added", "modified", "removed"];
/** How many of each file list of a comparison go back (the page shows that many). */
export const DIFF_SHOWN = 500;
/** How many hits of a store-wide file search go back (the page shows that many). */
export const SEARCH_SHOWN = 500;

const typeCode = new Map(TYPES.map((t, i) => [t, i]));
const changeCode = new Map(CHANGES.map((c, i) => [c, i]));

/** The panel's data for the images of one store (each image's layer changes kept for its trees). */
export class PanelData {
  constructor(store) {
    this.store = store;
    /** image key → Promise of layerChanges (the trees mark each layer's changes). */
    this.changes = new Map();
  }

  /** layerChanges of `image`, kept for its trees (`fresh`: asked again, as a new panel does). */
  layerChanges(image, fresh = false) {
    const key = JSON.stringify(image);
    let answer = fresh ? null : this.changes.get(key);
    if (!answer) {
      answer = this.store.layerChanges(image);
      answer.catch(() => this.changes.get(key) === answer && this.changes.delete(key));
      // One image is enough: the page shows one panel.
      this.changes.clear();
      this.changes.set(key, answer);
    }
    return answer;
  }

  /** Efficiency, the layers (with their change counts, not the changes) and the largest files. */
  async overview(image, largest) {
    const [eff, layers, files] = await Promise.all([
      this.store.efficiency(image),
      this.layerChanges(image, true),
      this.store.largestFiles(image, { limit: largest }),
    ]);
    const summary = layers.map((l) => ({ index: l.index, diffId: l.diffId, command: l.command, sizeBytes: l.sizeBytes, changeCount: l.changes.length }));
    return { eff, layers: summary, largest: files };
  }

  /**
   * The merged tree at layer `index`, sorted by path, with what that layer changed (its
   * removals included) and, per path, the lowest layer above `index` that changes it again.
   */
  async tree(image, index) {
    const [layers, files] = await Promise.all([
      this.layerChanges(image),
      this.store.layerFiles(image, { layer: index, merged: true }),
    ]);
    const changes = new Map(layers[index].changes.map((c) => [c.path, c]));
    const rows = [];
    for (const f of files) {
      if (f.path !== "/") rows.push({ path: f.path, type: f.type, size: f.size, layer: f.layer, change: changes.get(f.path)?.change ?? null });
    }
    for (const c of layers[index].changes) if (c.change === "removed") rows.push({ path: c.path, type: c.type, size: c.size, layer: -1, change: "removed" });
    rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const above = new Map();
    for (let i = layers.length - 1; i > index; i--) for (const c of layers[i].changes) above.set(c.path, i);
    const n = rows.length;
    const out = {
      paths: new Array(n),
      types: new Uint8Array(n),
      changes: new Uint8Array(n),
      sizes: new Float64Array(n),
      layers: new Int32Array(n),
      above: new Int32Array(n),
    };
    rows.forEach((r, i) => {
      out.paths[i] = r.path;
      out.types[i] = typeCode.get(r.type) ?? typeCode.get("other");
      out.changes[i] = changeCode.get(r.change) ?? 0;
      out.sizes[i] = r.size;
      out.layers[i] = r.layer;
      out.above[i] = above.get(r.path) ?? -1;
    });
    return out;
  }

  /** diffImages(a, b), each file list cut to its first DIFF_SHOWN (with its full length). */
  async diff(a, b) {
    const d = await this.store.diffImages(a, b);
    const cut = (list) => ({ count: list.length, files: list.slice(0, DIFF_SHOWN).map((f) => ({ path: f.path, sizeDelta: f.sizeDelta })) });
    return { sharedLayers: d.sharedLayers, added: cut(d.added), modified: cut(d.modified), removed: cut(d.removed) };
  }

  /**
   * The store-wide file search under the image list (answered here too, so that bringing the
   * index up to date after an import never blocks the page): findFiles' hits cut to the first
   * SEARCH_SHOWN, with their count and the layers that could not be searched.
   */
  async search(pattern, change) {
    const hits = await this.store.findFiles(pattern, change ? { change } : undefined);
    return { count: hits.length, hits: hits.slice(0, SEARCH_SHOWN), skipped: hits.skipped ?? [] };
  }

  /** updateSearchIndex: the index brought up to date ahead of a search. */
  updateIndex() {
    return this.store.updateSearchIndex();
  }
}

/** The typed arrays of a `tree` answer (handed over, not copied, by a worker). */
export const treeBuffers = (t) => [t.types, t.changes, t.sizes, t.layers, t.above].map((a) => a.buffer);
