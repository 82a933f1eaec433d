// Import progress on stderr: a bar redrawn in place when stderr is a terminal, otherwise one
// plain line per phase (logs and pipes get no carriage returns or escape codes).
"use strict";

const { humanSize } = require("./docker_format.js");

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

/**
 * Returns { onProgress, done } for an import of `total` bytes written to `stream` (stderr);
 * `tty` defaults to the stream's own isTTY.
 */
function progressReporter(total, { stream = process.stderr, tty = !!stream.isTTY, now = Date.now } = {}) {
  let lastPhase = "";
  let lastDraw = 0;
  let drawn = false;
  const onProgress = (p) => {
    const read = p.bytesRead ?? 0;
    const size = total ?? p.bytesTotal ?? 0;
    if (tty) {
      const t = now();
      if (t - lastDraw < REDRAW_MS && p.phase === lastPhase && read < size) return;
      lastDraw = t;
      const fraction = size ? Math.min(1, read / size) : 0;
      const filled = Math.floor(fraction * BAR_WIDTH);
      const bar = "=".repeat(Math.max(0, filled - 1)) + (filled ? ">" : "");
      const amount = size ? `${humanSize(read)}/${humanSize(size)}` : humanSize(read);
      stream.write(`\r${p.phase.padEnd(12)} [${bar.padEnd(BAR_WIDTH)}] ${amount}\x1b[K`);
      drawn = true;
    } else if (p.phase !== lastPhase) {
      stream.write(`${p.phase}: ${humanSize(read)}${size ? ` of ${humanSize(size)}` : ""}\n`);
    }
    lastPhase = p.phase;
  };
  const done = () => {
    if (drawn) stream.write("\r\x1b[K");
  };
  return { onProgress, done };
}

module.exports = { progressReporter };
