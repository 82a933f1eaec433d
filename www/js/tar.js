// A directory of an image as a tar stream, for "download this folder": the entries the core
// lists for the image's merged filesystem (layerFiles, merged), written as POSIX ustar headers
// (pax records for names, link targets or ids that do not fit), with each regular file's bytes
// streamed from the core (readFile). Like `docker cp IMAGE:/etc -`, names start with the
// folder's own name ("etc/passwd"). Hard links are written as the file they point to.

const BLOCK = 512;
const TYPE = { file: "0", hardlink: "0", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };
const utf8 = new TextEncoder();

/** The entries under `dir` (itself included) with their names in the archive. */
export function directoryEntries(files, dir) {
  const base = dir === "/" ? "" : dir.replace(/\/+$/, "");
  const parent = base.slice(0, base.lastIndexOf("/") + 1); // "/data/" for "/data/empty-dir"
  const byPath = new Map(files.map((f) => [f.path, f]));
  // A hard link is written as the file it points to, so it takes that file's size.
  const sized = (f) => (f.type === "hardlink" ? { ...f, size: byPath.get(`/${String(f.linkname ?? "").replace(/^(\.?\/)+/, "")}`)?.size ?? 0 } : f);
  return files
    .map(sized)
    .filter((f) => f.path === base || f.path.startsWith(`${base}/`) || (base === "" && f.path !== "/"))
    .filter((f) => TYPE[f.type] !== undefined && !f.whiteout)
    .map((f) => ({ ...f, name: f.path.slice(parent.length).replace(/^\/+/, "") + (f.type === "dir" ? "/" : "") }))
    .filter((f) => f.name !== "" && f.name !== "/");
}

/**
 * The tar of `entries` (from `directoryEntries`) as a ReadableStream<Uint8Array>; `open(path)`
 * resolves to the ReadableStream of a regular file's bytes.
 */
export function tarStream(entries, open) {
  const parts = produce(entries, open);
  return new ReadableStream({
    async pull(controller) {
      const { value, done } = await parts.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await parts.return();
    },
  });
}

async function* produce(entries, open) {
  for (const e of entries) {
    const regular = e.type === "file" || e.type === "hardlink";
    const size = regular ? e.size : 0;
    yield* headers(e, size);
    if (!regular) continue;
    const reader = (await open(e.path)).getReader();
    let written = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        written += value.length;
        if (written > size) throw new Error(`${e.path}: more bytes than the ${size} listed`);
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
    if (written !== size) throw new Error(`${e.path}: ${written} bytes read, ${size} listed`);
    if (size % BLOCK) yield new Uint8Array(BLOCK - (size % BLOCK));
  }
  yield new Uint8Array(2 * BLOCK);
}

/** The header block of `e` (with a pax header before it when a value does not fit ustar). */
function* headers(e, size) {
  const name = utf8.encode(e.name);
  const link = utf8.encode(e.type === "symlink" ? e.linkname ?? "" : "");
  const pax = [];
  if (name.length > 100) pax.push(["path", e.name]);
  if (link.length > 100) pax.push(["linkpath", e.linkname]);
  if (e.uid > 0o7777777) pax.push(["uid", String(e.uid)]);
  if (e.gid > 0o7777777) pax.push(["gid", String(e.gid)]);
  if (size > 0o77777777777) pax.push(["size", String(size)]);
  const mtime = unixSeconds(e.mtime);
  if (pax.length) {
    const body = utf8.encode(pax.map(([k, v]) => paxRecord(k, v)).join(""));
    yield block({ name: utf8.encode(`PaxHeaders/${e.name}`.slice(0, 100)), mode: 0o644, size: body.length, mtime, type: "x" });
    yield body;
    if (body.length % BLOCK) yield new Uint8Array(BLOCK - (body.length % BLOCK));
  }
  yield block({
    name: name.subarray(0, 100),
    mode: (e.mode ?? 0) & 0o7777,
    uid: Math.min(e.uid ?? 0, 0o7777777),
    gid: Math.min(e.gid ?? 0, 0o7777777),
    size: Math.min(size, 0o77777777777),
    mtime,
    type: TYPE[e.type],
    link: link.subarray(0, 100),
    uname: e.uname ?? "",
    gname: e.gname ?? "",
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  });
}

/** "30 path=…\n": the length counts the whole record, itself included. */
function paxRecord(key, value) {
  const rest = ` ${key}=${value}\n`;
  let len = utf8.encode(rest).length;
  while (String(len).length + utf8.encode(rest).length !== len) len = String(len).length + utf8.encode(rest).length;
  return `${len}${rest}`;
}

function unixSeconds(rfc3339) {
  const ms = Date.parse(String(rfc3339 ?? "").replace(/\.\d+/, ""));
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
}

function block({ name, mode, uid = 0, gid = 0, size, mtime, type, link = new Uint8Array(), uname = "", gname = "", devmajor = 0, devminor = 0 }) {
  const b = new Uint8Array(BLOCK);
  const put = (at, bytes) => b.set(bytes, at);
  const octal = (at, width, n) => put(at, utf8.encode(n.toString(8).padStart(width - 1, "0")));
  put(0, name);
  octal(100, 8, mode);
  octal(108, 8, uid);
  octal(116, 8, gid);
  octal(124, 12, size);
  octal(136, 12, mtime);
  b.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  put(156, utf8.encode(type));
  put(157, link);
  put(257, utf8.encode("ustar\u000000"));
  put(265, utf8.encode(uname).subarray(0, 31));
  put(297, utf8.encode(gname).subarray(0, 31));
  octal(329, 8, devmajor);
  octal(337, 8, devminor);
  const sum = b.reduce((a, x) => a + x, 0);
  put(148, utf8.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `));
  return b;
}
