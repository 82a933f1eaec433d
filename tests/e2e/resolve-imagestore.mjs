// Module resolution hooks for Node tests of the page's modules (www/js/*.js): the page imports
// the package as "imagestore" (index.html's import map); in Node that is the built package's
// Node entry. Registered with `module.register` before the page modules are imported.
const NODE_ENTRY = new URL("../../pkg/node/index.mjs", import.meta.url).href;

export async function resolve(specifier, context, next) {
  return specifier === "imagestore" ? { url: NODE_ENTRY, shortCircuit: true } : next(specifier, context);
}
