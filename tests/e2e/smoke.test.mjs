// The page loads the built package, opens its IndexedDB store and says so, without errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { screenshot, waitForText, withPage } from "./harness.mjs";

test("the page opens its IndexedDB store", () =>
  withPage(async (page) => {
    await waitForText(page, "#status", "store open");
    const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    assert.ok(databases.includes("imagestore-page"), `IndexedDB databases: ${JSON.stringify(databases)}`);
    await screenshot(page, "smoke");
  }));

test("the server sends the wasm as application/wasm", () =>
  withPage(async (page, baseUrl) => {
    const response = await page.request.get(`${baseUrl}/pkg/web/imagestore_bg.wasm`);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()["content-type"], "application/wasm");
    const bytes = await response.body();
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "wasm magic number");
  }));

test("withPage fails when the page reports an error", () =>
  assert.rejects(
    withPage(async (page) => {
      await waitForText(page, "#status", "store open");
      await page.evaluate(() => console.error("boom"));
    }),
    /the page reported errors:\n  console\.error: boom/,
  ));
