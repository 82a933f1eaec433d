// A module worker that computes the analysis panel's data (analysis-data.js) on its own
// connection to the page's store, so that analysing a large image (decoding every layer's
// entries, stacking dive's trees, listing 50,000 files) never blocks the page. The store is
// opened on the first request; each call brings it up to date with what the page committed.
//
// Requests: { id, op: "overview" | "tree" | "diff", args, store, pkg, module } (the store's
// name, the URL of the package's browser entry and its compiled wasm, which the package is
// started from here: nothing is downloaded or compiled again). Answers: { id, result } or
// { id, error: { message, code } }; { id, error, fatal: true } when the package or the store
// cannot be opened here (the page then does the work itself).
import { PanelData, treeBuffers } from "./analysis-data.js";

let data = null;

function panelData({ store, pkg, module }) {
  data ??= (async () => {
    let Store;
    if (module instanceof WebAssembly.Module) {
      const bindings = await import(new URL("imagestore.js", pkg).href);
      bindings.initSync({ module });
      ({ Store } = bindings);
    } else {
      ({ Store } = await import(pkg));
    }
    return new PanelData(await Store.open(store));
  })();
  data.catch(() => { data = null; });
  return data;
}

self.onmessage = async ({ data: message }) => {
  const { id, op, args } = message;
  let panel;
  try {
    panel = await panelData(message);
  } catch (err) {
    self.postMessage({ id, fatal: true, error: { message: String(err?.message ?? err), code: err?.code } });
    return;
  }
  try {
    const result = await panel[op](...args);
    self.postMessage({ id, result }, op === "tree" ? treeBuffers(result) : []);
  } catch (err) {
    self.postMessage({ id, error: { message: String(err?.message ?? err), code: err?.code } });
  }
};
