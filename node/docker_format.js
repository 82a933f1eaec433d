// What the docker CLI (cli/command/formatter, docker/go-units) does with Engine API answers:
// human sizes and durations, truncated IDs, the rows of `docker images` and `docker history`,
// and Go's text/tabwriter as the CLI configures it. Pure functions; `now` is passed in.
"use strict";

/** Go's `%.{prec}g` (prec significant digits, trailing zeros dropped, e+XX for large/small). */
function goG(v, prec) {
  if (v === 0) return "0";
  const [mantissa, e] = v.toExponential(prec - 1).split("e");
  const exp = Number(e);
  const trim = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= prec) return `${trim(mantissa)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return trim(v.toFixed(Math.max(0, prec - 1 - exp)));
}

const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** go-units HumanSizeWithPrecision (decimal units): `1.98MB` at 3, `1.982MB` at 4 (HumanSize). */
function humanSize(bytes, precision = 4) {
  let size = Number(bytes);
  let i = 0;
  while (size >= 1000 && i < DECIMAL.length - 1) {
    size /= 1000;
    i++;
  }
  return goG(size, precision) + DECIMAL[i];
}

/** go-units HumanDuration of `seconds` (a float). */
function humanDuration(seconds) {
  const s = Math.trunc(seconds);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(seconds / 3600 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(seconds / 3600) / 24 / 365)} years`;
}

/** `<time> ago` as the CLI prints CreatedSince; `now` and `created` in Unix seconds. */
function since(created, now) {
  return humanDuration(now - created) + " ago";
}

/** stringid.TruncateID: the hex without `sha256:`, 12 characters. */
function truncateId(id) {
  const hex = id.includes(":") ? id.slice(id.indexOf(":") + 1) : id;
  return hex.slice(0, 12);
}

/** Go's time.Unix(t, 0).String() in UTC: `2026-11-23 13:52:44 +0000 UTC`. */
function goTimeString(unixSeconds) {
  const iso = new Date(unixSeconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** formatter.Ellipsis for single-width text: `max - 1` characters and `…`. */
function ellipsis(s, max) {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join("") + "…";
}

/** The familiar form of a normalized name (`docker.io/library/x` → `x`, `docker.io/a/b` → `a/b`). */
function familiarName(name) {
  if (name.startsWith("docker.io/library/") && !name.slice(18).includes("/")) return name.slice(18);
  if (name.startsWith("docker.io/")) return name.slice(10);
  return name;
}

/** Splits `repo:tag` (the tag is after the last colon that is not in the host part). */
function splitTag(ref) {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, null];
}

/**
 * The rows `docker images` prints for one ImageSummary (cli/command/formatter/image.go): a row
 * per repository tag (per digest too with `digests`), then digest-only repositories, else one
 * `<none>` row. Go iterates maps here, so the CLI's order between repositories varies; ours
 * sorts repositories.
 */
function imageRows(image, { digests = false } = {}) {
  const repoTags = new Map();
  const repoDigests = new Map();
  for (const ref of image.RepoTags ?? []) {
    const [repo, tag] = splitTag(ref);
    if (tag === null || ref === "<none>:<none>") continue;
    const name = familiarName(repo);
    if (!repoTags.has(name)) repoTags.set(name, []);
    repoTags.get(name).push(tag);
  }
  for (const ref of image.RepoDigests ?? []) {
    const at = ref.indexOf("@");
    if (at < 0 || ref === "<none>@<none>") continue;
    const name = familiarName(ref.slice(0, at));
    if (!repoDigests.has(name)) repoDigests.set(name, []);
    repoDigests.get(name).push(ref.slice(at + 1));
  }
  const rows = [];
  for (const repo of [...repoTags.keys()].sort()) {
    let ds = repoDigests.get(repo) ?? [];
    repoDigests.delete(repo);
    if (!digests) ds = [];
    for (const tag of repoTags.get(repo)) {
      if (ds.length === 0) rows.push({ repo, tag, digest: "<none>" });
      else for (const digest of ds) rows.push({ repo, tag, digest });
    }
  }
  for (const repo of [...repoDigests.keys()].sort()) {
    if (digests) for (const digest of repoDigests.get(repo)) rows.push({ repo, tag: "<none>", digest });
    else rows.push({ repo, tag: "<none>", digest: "<none>" });
  }
  if (rows.length === 0) rows.push({ repo: "<none>", tag: "<none>", digest: "<none>" });
  return rows;
}

/** `docker images --format '{{json .}}'` objects (keys sorted as Go's map encoding sorts them). */
function imageJson(image, row, now) {
  const na = (n) => (n === -1 || n === undefined ? "N/A" : String(n));
  const sizeOrNA = (n) => (n === -1 || n === undefined ? "N/A" : humanSize(n));
  return {
    Containers: na(image.Containers),
    CreatedAt: goTimeString(image.Created),
    CreatedSince: since(image.Created, now),
    Digest: row.digest,
    ID: image.Id,
    Repository: row.repo,
    SharedSize: sizeOrNA(image.SharedSize),
    Size: humanSize(image.Size, 3),
    Tag: row.tag,
    UniqueSize: sizeOrNA(image.UniqueSize ?? -1),
    VirtualSize: humanSize(image.VirtualSize ?? image.Size),
  };
}

/**
 * Go's text/tabwriter as the docker CLI sets it up (minwidth 10, tabwidth 1, padding 3, spaces):
 * every cell but a line's last is padded to its column's width (widest cell + 3, at least 10).
 */
function tabwriter(lines, { minwidth = 10, padding = 3 } = {}) {
  const widths = [];
  for (const cells of lines) {
    cells.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...c].length + padding, minwidth);
    });
  }
  return lines
    .map((cells) => cells.map((c, i) => (i < cells.length - 1 ? c + " ".repeat(widths[i] - [...c].length) : c)).join(""))
    .join("\n");
}

/**
 * Go's text/tabwriter padding with tabs (minwidth 1, tabwidth 8, padding 1, '\t'), as ctr's
 * `content ls` uses it: a column is its widest cell + 1 rounded up to a multiple of 8, and a
 * cell is followed by as many tabs as reach it.
 */
function tabwriterTabs(lines, { minwidth = 1, tabwidth = 8, padding = 1 } = {}) {
  const widths = [];
  for (const cells of lines) {
    cells.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? minwidth, [...c].length + padding);
    });
  }
  return lines
    .map((cells) =>
      cells
        .map((c, i) => {
          if (i === cells.length - 1) return c;
          const cellw = Math.ceil(widths[i] / tabwidth) * tabwidth;
          return c + "\t".repeat(Math.ceil((cellw - [...c].length) / tabwidth));
        })
        .join(""),
    )
    .join("\n");
}

/** `docker images` as a table (or `-q`), from `GET /images/json` answers. */
function imagesTable(images, { digests = false, quiet = false, noTrunc = false, now }) {
  const id = (i) => (noTrunc ? i.Id : truncateId(i.Id));
  if (quiet) return images.flatMap((i) => imageRows(i, { digests }).map(() => id(i)));
  const header = digests
    ? ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    : ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
  const lines = [header];
  for (const image of images) {
    for (const row of imageRows(image, { digests })) {
      const cells = [row.repo, row.tag];
      if (digests) cells.push(row.digest);
      cells.push(id(image), since(image.Created, now), humanSize(image.Size, 3));
      lines.push(cells);
    }
  }
  return [tabwriter(lines)];
}

/** `docker history` rows, from `GET /images/{name}/history`. */
function historyTable(items, { noTrunc = false, quiet = false, human = true, now }) {
  const id = (it) => (it.Id === "<missing>" ? it.Id : noTrunc ? it.Id : truncateId(it.Id));
  if (quiet) return items.map(id);
  const lines = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]];
  for (const it of items) {
    const createdBy = it.CreatedBy.replaceAll("\t", " ");
    lines.push([
      id(it),
      human ? since(it.Created, now) : new Date(it.Created * 1000).toISOString().replace(".000Z", "Z"),
      noTrunc ? createdBy : ellipsis(createdBy, 45),
      human ? humanSize(it.Size, 3) : String(it.Size),
      it.Comment,
    ]);
  }
  return [tabwriter(lines)];
}

/** `docker history --format '{{json .}}'` objects. */
function historyJson(it, now) {
  return {
    Comment: it.Comment,
    CreatedAt: new Date(it.Created * 1000).toISOString().replace(".000Z", "Z"),
    CreatedBy: it.CreatedBy,
    CreatedSince: since(it.Created, now),
    ID: it.Id,
    Size: humanSize(it.Size, 3),
  };
}

/**
 * The image rows of `docker system df -v` (cli/command/formatter/disk_usage.go): only an image's
 * first tag names it, a dangling image is `<none>`, and an image whose first tag does not parse
 * is left out, as the CLI leaves it out.
 */
function diskUsageImageRows(images) {
  const rows = [];
  for (const image of images) {
    let repo = "<none>";
    let tag = "<none>";
    const tags = image.RepoTags ?? [];
    const digests = image.RepoDigests ?? [];
    const dangling =
      (tags.length === 0 && digests.length === 0) ||
      (tags.length === 1 && tags[0] === "<none>:<none>" && digests.length === 1 && digests[0] === "<none>@<none>");
    if (tags.length > 0 && !dangling) {
      const [name, t] = splitTag(tags[0]);
      if (t === null || name.startsWith("<")) continue;
      [repo, tag] = [familiarName(name), t];
    }
    rows.push({ image, repo, tag });
  }
  return rows;
}

/** One image of `docker system df -v --format json` (the CLI's imageContext, keys sorted). */
function diskUsageImageJson({ image, repo, tag }, now, { trunc = false } = {}) {
  const na = (n, f) => (n === -1 || n === undefined || n === null ? "N/A" : f(n));
  return {
    Containers: na(image.Containers, String),
    CreatedAt: goTimeString(image.Created),
    CreatedSince: since(image.Created, now),
    Digest: "",
    ID: trunc ? truncateId(image.Id) : image.Id,
    Repository: repo,
    SharedSize: na(image.SharedSize, (n) => humanSize(n)),
    Size: humanSize(image.Size, 3),
    Tag: tag,
    UniqueSize: na(image.SharedSize, (shared) => humanSize(image.Size - shared)),
    VirtualSize: humanSize(image.Size),
  };
}

/** The TYPE rows of `docker system df`, from a `GET /system/df` answer (no containers here). */
function diskUsageSummary(df) {
  const images = df.Images ?? [];
  const total = df.LayersSize ?? 0;
  let used = 0;
  for (const i of images) {
    if (i.Containers > 0 && i.Size !== -1 && i.SharedSize !== -1) used += i.Size - i.SharedSize;
  }
  const reclaimable = total - used;
  const percent = (part, whole) => (whole > 0 ? `${humanSize(part)} (${Math.trunc((part * 100) / whole)}%)` : humanSize(part));
  const sum = (list, f) => (list ?? []).reduce((a, x) => a + f(x), 0);
  const containersSize = sum(df.Containers, (c) => c.SizeRw ?? 0);
  const volumesSize = sum(df.Volumes, (v) => Math.max(0, v.UsageData?.Size ?? 0));
  const cacheSize = sum(df.BuildCache, (b) => (b.Shared ? 0 : (b.Size ?? 0)));
  // Keys in Go's order for a template's map (sorted), as `--format json` prints them.
  const row = (Type, TotalCount, Active, Size, Reclaimable) => ({ Active, Reclaimable, Size, TotalCount, Type });
  return [
    row("Images", String(images.length), String(images.filter((i) => i.Containers > 0).length), humanSize(total), percent(reclaimable, total)),
    row("Containers", String((df.Containers ?? []).length), "0", humanSize(containersSize), percent(containersSize, containersSize)),
    row("Local Volumes", String((df.Volumes ?? []).length), "0", humanSize(volumesSize), percent(volumesSize, volumesSize)),
    row("Build Cache", String((df.BuildCache ?? []).length), "0", humanSize(cacheSize), humanSize(cacheSize)),
  ];
}

/** `docker system df` (table), or with `verbose` the four "space usage" sections of `-v`. */
function systemDfTable(df, { verbose = false, now }) {
  if (!verbose) {
    const lines = [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]];
    for (const r of diskUsageSummary(df)) lines.push([r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable]);
    return tabwriter(lines) + "\n";
  }
  const images = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]];
  for (const row of diskUsageImageRows(df.Images ?? [])) {
    const j = diskUsageImageJson(row, now, { trunc: true });
    images.push([j.Repository, j.Tag, j.ID, j.CreatedSince, j.Size, j.SharedSize, j.UniqueSize, j.Containers]);
  }
  const cacheSize = (df.BuildCache ?? []).reduce((a, b) => a + (b.Shared ? 0 : (b.Size ?? 0)), 0);
  return [
    "Images space usage:\n\n" + tabwriter(images) + "\n",
    "\nContainers space usage:\n\n" +
      tabwriter([["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]]) +
      "\n",
    "\nLocal Volumes space usage:\n\n" + tabwriter([["VOLUME NAME", "LINKS", "SIZE"]]) + "\n",
    `\nBuild cache usage: ${humanSize(cacheSize)}\n\n` +
      tabwriter([["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"]]) +
      "\n",
  ].join("");
}

module.exports = {
  goG,
  humanSize,
  humanDuration,
  since,
  truncateId,
  goTimeString,
  ellipsis,
  familiarName,
  splitTag,
  diskUsageImageRows,
  diskUsageImageJson,
  diskUsageSummary,
  systemDfTable,
  imageRows,
  imageJson,
  tabwriter,
  tabwriterTabs,
  imagesTable,
  historyTable,
  historyJson,
};
