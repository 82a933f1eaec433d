// Browser and bundler entry: initialises the wasm module itself (top-level await), so users
// just `import { Store } from "imagestore"`. The URL form lets bundlers emit the .wasm asset.
import init from "./imagestore.js";

await init({ module_or_path: new URL("imagestore_bg.wasm", import.meta.url) });

export * from "./imagestore.js";
