// Lines the history up with the layers. The Engine API's history rows (newest first) do not
// say which steps made empty layers; a step with a size made a layer, and when zero-size
// steps must also have made layers, the ones whose instruction changes files are chosen
// (metadata-only instructions like ENV or CMD never do). `inferred` says when that guess
// was needed.

const METADATA_INSTRUCTIONS = new Set([
  "LABEL", "ENV", "CMD", "ENTRYPOINT", "EXPOSE", "USER", "VOLUME", "WORKDIR", "HEALTHCHECK",
  "STOPSIGNAL", "SHELL", "ONBUILD", "ARG", "MAINTAINER",
]);

/** The Dockerfile instruction of a history entry's `CreatedBy`, upper-cased ("RUN" for shell commands). */
export function instructionOf(createdBy) {
  const text = String(createdBy ?? "").trim();
  const nop = text.match(/^\/bin\/sh -c #\(nop\)\s+(\S+)/);
  if (nop) return nop[1].toUpperCase();
  if (/^\/bin\/sh -c /.test(text) || /^(cmd|powershell)/i.test(text)) return "RUN";
  const word = text.split(/\s+/)[0] ?? "";
  return /^[A-Z]+$/.test(word) ? word : "RUN";
}

/**
 * @param history HistoryResponseItem[] newest first
 * @param layers RootFS.Layers (DiffIDs, base first)
 * @returns { rows: [{ item, layer: index|null }] oldest first, inferred: boolean }
 */
export function alignHistory(history, layers) {
  const items = [...(history ?? [])].reverse();
  const count = layers?.length ?? 0;
  const isLayer = items.map((it) => it.Size > 0);
  let need = count - isLayer.filter(Boolean).length;
  const zeroSize = items.map((it, i) => i).filter((i) => !isLayer[i]);
  const inferred = need > 0 && need < zeroSize.length;
  if (need > 0) {
    const changesFiles = zeroSize.filter((i) => !METADATA_INSTRUCTIONS.has(instructionOf(items[i].CreatedBy)));
    const metadata = zeroSize.filter((i) => METADATA_INSTRUCTIONS.has(instructionOf(items[i].CreatedBy)));
    for (const i of [...changesFiles, ...metadata.reverse()]) {
      if (need === 0) break;
      isLayer[i] = true;
      need--;
    }
  }
  let next = 0;
  const rows = items.map((item, i) => ({ item, layer: isLayer[i] && next < count ? next++ : null }));
  return { rows, inferred: inferred || need < 0 || next !== count };
}

/** ChainIDs of a DiffID list (OCI image-spec): the first DiffID, then sha256("<chain> <diff>"). */
export async function chainIds(diffIds) {
  const out = [];
  for (const diff of diffIds ?? []) {
    if (out.length === 0) {
      out.push(diff);
      continue;
    }
    const bytes = new TextEncoder().encode(`${out[out.length - 1]} ${diff}`);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    out.push("sha256:" + [...hash].map((b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}
