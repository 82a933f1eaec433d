// What a file's bytes are, for the file viewer: an image format by its magic bytes, text or
// binary, and `hexdump -C` lines. Pure functions (no DOM), tested in Node.

/** The image formats the viewer previews, by their first bytes; SVG is text, found by its root element. */
const MAGIC = [
  ["image/png", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ["image/jpeg", [0xff, 0xd8, 0xff]],
  ["image/gif", [...ascii("GIF87a")]],
  ["image/gif", [...ascii("GIF89a")]],
];

function ascii(s) {
  return [...s].map((c) => c.charCodeAt(0));
}

function startsWith(bytes, prefix, at = 0) {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

/**
 * "image/png", "image/jpeg", "image/gif", "image/webp" or "image/svg+xml" when the first bytes
 * say so, else null. SVG: after an optional BOM, blanks, an XML declaration, comments and a
 * doctype, the first element is `<svg`.
 */
export function imageType(bytes) {
  for (const [type, magic] of MAGIC) if (startsWith(bytes, magic)) return type;
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "image/webp";
  const head = new TextDecoder("utf-8").decode(bytes.subarray(0, 4096)).replace(/^\uFEFF/, "");
  const rest = head.replace(/^(\s+|<\?xml[^>]*\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)*/i, "");
  return /^<svg[\s>]/.test(rest) ? "image/svg+xml" : null;
}

/**
 * Whether the bytes read as text: valid UTF-8 (a character cut at the end of a partial read is
 * allowed) with no NUL and few control characters.
 */
export function looksLikeText(bytes, complete = true) {
  const sample = bytes.subarray(0, 8192);
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: !complete || sample.length < bytes.length });
  } catch {
    return false;
  }
  let control = 0;
  for (const b of sample) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++;
  }
  return control <= sample.length / 100;
}

/**
 * `hexdump -C` lines for `bytes`, which start at file offset `offset`:
 * "00000010  7f 45 4c 46 02 01 01 00  00 00 00 00 00 00 00 00  |.ELF............|".
 */
export function hexLines(bytes, offset = 0) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0"));
    const left = hex.slice(0, 8).join(" ");
    const right = hex.slice(8).join(" ");
    const chars = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${(offset + i).toString(16).padStart(8, "0")}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${chars}|`);
  }
  return lines;
}
