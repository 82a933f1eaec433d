// `imagestore ctr [-n NS] images ls | content ls`: containerd's view as ctr prints it.
"use strict";

const fmt = require("../docker_format.js");
const { parseArgs, flag, out, now, UsageError } = require("../cli_support.js");

async function run(store, argv) {
  const { flags, args } = parseArgs(argv, { "-n": flag("namespace", "value"), "--namespace": flag("namespace", "value") });
  const ns = store.containerd(flags.namespace ?? "default");
  const [object, verb, ...filters] = args;
  if (object === "images" && (verb === "ls" || verb === "list")) {
    const rows = await ns.imagesTable(filters);
    const lines = [["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS"]];
    for (const r of rows) lines.push([r.ref, r.type, r.digest, r.size, r.platforms, r.labels]);
    // ctr's tabwriter: minwidth 1, padding 1, every cell padded (the last one too).
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => [...l[i]].length + 1)));
    return out(lines.map((l) => l.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join("")));
  }
  if (object === "content" && (verb === "ls" || verb === "list")) {
    const infos = [];
    await ns.content.walk((info) => infos.push(info), ...filters);
    const t = now();
    const lines = [["DIGEST", "SIZE", "AGE", "LABELS"]];
    const sizes = fmt.sizeColumn(infos.map((i) => i.size));
    const ages = fmt.durationColumn(infos.map((i) => t - Date.parse(i.createdAt) / 1000));
    infos.forEach((i, k) => {
      const labels =
        Object.entries(i.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join(",") || "-";
      lines.push([i.digest, sizes[k], ages[k], labels]);
    });
    // ctr content ls: tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0) — padded with tabs.
    return out(fmt.tabwriterTabs(lines));
  }
  throw new UsageError(`ctr: supported: "images ls", "content ls"`);
}

module.exports = {
  name: "ctr",
  usage: "ctr [-n NS] images ls | content ls   containerd's view (ctr images ls, ctr content ls)",
  run,
};
