// Node ESM entry: re-exports the CommonJS build (wasm-bindgen --target nodejs), which loads
// its wasm synchronously. `import` and `require` thus share one module instance.
export * from "./imagestore.js";
