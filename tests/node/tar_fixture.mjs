// Test inputs made from the fixtures (not a test file: imported by node and e2e tests).

/** `tar` with the middle of member `suffix`'s bytes overwritten (its length and the tar's kept). */
export function damageMember(tar, suffix) {
  const out = Buffer.from(tar);
  for (let at = 0; at + 512 <= out.length; ) {
    const name = out.subarray(at, at + 100).toString("latin1").replace(/\0.*$/s, "");
    const size = parseInt(out.subarray(at + 124, at + 136).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    if (!name) break;
    if (name.endsWith(suffix)) {
      const mid = at + 512 + Math.floor(size / 2);
      out.fill(0xff, mid, mid + Math.min(16, size - Math.floor(size / 2)));
      return out;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${suffix} is not in the tar`);
}
