// Browser and bundler entry: initialises the wasm module itself (top-level await), so users
// just `import { Store } from "imagestore"`. The URL form lets bundlers emit the .wasm asset.
// `wasmModule` is the compiled module: a worker starts the package with it (`initSync({ module })`
// of ./imagestore.js) without downloading or compiling the wasm again.
import init from "./imagestore.js";

const url = new URL("imagestore_bg.wasm", import.meta.url);

async function compile() {
  if (typeof WebAssembly.compileStreaming === "function") {
    const response = fetch(url);
    try {
      return await WebAssembly.compileStreaming(response);
    } catch (err) {
      // Served without the application/wasm type: compiled from the bytes below.
      if ((await response).headers.get("Content-Type") === "application/wasm") throw err;
    }
  }
  return WebAssembly.compile(await (await fetch(url)).arrayBuffer());
}

export const wasmModule = await compile();
await init({ module_or_path: wasmModule });

export * from "./imagestore.js";
