// Node ESM entry: re-exports the CommonJS entry (the wasm-bindgen --target nodejs build, which
// loads its wasm synchronously, plus the fs backend), so `import` and `require` share one
// module instance.
export * from "./index.js";
