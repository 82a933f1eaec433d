// What the docker CLI (cli/command/formatter) does with Engine API answers: truncated IDs, the
// rows of `docker images` and `docker history`, and Go's text/tabwriter as the CLI configures
// it. Sizes and durations (docker/go-units) are the core's. Pure functions; `now` is passed in.
"use strict";

/** The core (the wasm build), loaded on first use so that `--help` and usage errors do not load it. */
const core = () => require("./imagestore.js");

/**
 * go-units HumanSizeWithPrecision, from the core (src/formats/go_units.rs): `1.982MB` at 4
 * digits (HumanSize, the default), `1.98MB` at 3 (the CLI's image sizes).
 */
function humanSize(bytes, precision = 4) {
  return core().humanSize(Number(bytes), precision);
}

/** go-units HumanDuration of `seconds` (a float), from the core. */
function humanDuration(seconds) {
  return core().humanDuration(seconds);
}

/** `<time> ago` as the CLI prints CreatedSince; `now` and `created` in Unix seconds. */
function since(created, now) {
  return humanDuration(now - created) + " ago";
}

// A call into the wasm costs microseconds (its arguments, the panic guard, the string back):
// 10,000 rows × five cells made that a quarter of a second, so listings format a whole column
// with one call (humanSizes, humanDurations) and pass the cells to the row functions.
const isNA = (n) => n === -1 || n === undefined || n === null;

/** A column of go-units sizes: `values` (N/A ones as "N/A") with `precision` digits. */
function sizeColumn(values, precision = 4) {
  const out = core().humanSizes(Float64Array.from(values, (n) => (isNA(n) ? 0 : Number(n))), precision);
  return values.map((n, k) => (isNA(n) ? "N/A" : out[k]));
}

/** A column of go-units durations of `seconds`. */
function durationColumn(seconds) {
  return core().humanDurations(Float64Array.from(seconds));
}

/** A column of `<time> ago` for creation times (Unix seconds) seen at `now`. */
function sinceColumn(created, now) {
  return durationColumn(created.map((c) => now - c)).map((d) => d + " ago");
}

/**
 * The clock times `[from, until)` (Unix seconds, a Float64Array) around `now` in which every
 * `<time> ago` cell of the creation times `created` reads as it reads at `now` (the core's
 * createdSinceSpan): how long a printed table stays true.
 */
function createdSinceSpan(created, now) {
  return core().createdSinceSpan(Float64Array.from(created), now);
}

/** stringid.TruncateID: the hex without `sha256:`, 12 characters (the core's rule). */
function truncateId(id) {
  return core().truncateId(id);
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

/** Splits `repo:tag` (the tag is after the last colon that is not in the host part): the
 * `tag` command's TARGET argument, which the core's tagImage then checks. */
function splitTag(ref) {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, null];
}

/**
 * The rows `docker images` prints for ImageSummaries (an array, or the JSON text of one as
 * listImagesJson gives it), from the core in one call (src/formats/image_rows.rs: a row per
 * repository tag, per digest too with `digests`, then digest-only repositories; a dangling
 * image one `<none>` row): `{ image, repo, tag, digest, id }`, `image` the index of the row's
 * summary, `id` truncated unless `noTrunc`.
 */
function imageRows(images, { digests = false, noTrunc = false } = {}) {
  const c = core().imageRows(images, { digests, noTrunc });
  return Array.from(c.image, (image, k) => ({ image, repo: c.repository[k], tag: c.tag[k], digest: c.digest[k], id: c.id[k] }));
}

/** The `docker images` SIZE cells of ImageSummary rows (go-units at 3 digits: `1.98MB`). */
function imageSizeCells(images) {
  return sizeColumn(images.map((i) => i.Size), 3);
}

/**
 * The formatted cells of each ImageSummary (`docker images` columns), a column per core call;
 * `sizes`: the Size cells if they are known already ({@link imageSizeCells}).
 */
function imageCells(images, now, sizes) {
  const Size = sizes ?? imageSizeCells(images);
  const VirtualSize = sizeColumn(images.map((i) => i.VirtualSize ?? i.Size));
  const SharedSize = sizeColumn(images.map((i) => i.SharedSize));
  const UniqueSize = sizeColumn(images.map((i) => i.UniqueSize ?? -1));
  const CreatedSince = sinceColumn(images.map((i) => i.Created), now);
  return images.map((_, k) => ({ Size: Size[k], VirtualSize: VirtualSize[k], SharedSize: SharedSize[k], UniqueSize: UniqueSize[k], CreatedSince: CreatedSince[k] }));
}

/**
 * `docker images --format '{{json .}}'` objects (keys sorted as Go's map encoding sorts them);
 * `cells` is the image's entry of {@link imageCells}.
 */
function imageJson(image, row, cells) {
  return {
    Containers: isNA(image.Containers) ? "N/A" : String(image.Containers),
    CreatedAt: goTimeString(image.Created),
    CreatedSince: cells.CreatedSince,
    Digest: row.digest,
    ID: row.id,
    Repository: row.repo,
    SharedSize: cells.SharedSize,
    Size: cells.Size,
    Tag: row.tag,
    UniqueSize: cells.UniqueSize,
    VirtualSize: cells.VirtualSize,
  };
}

/**
 * Go's text/tabwriter as the docker CLI sets it up (minwidth 10, tabwidth 1, padding 3, spaces):
 * every cell but a line's last is padded to its column's width (widest cell + 3, at least 10).
 */
function tabwriter(lines, { minwidth = 10, padding = 3 } = {}) {
  const widths = [];
  for (const cells of lines) {
    for (let i = 0; i < cells.length - 1; i++) {
      widths[i] = Math.max(widths[i] ?? 0, runeCount(cells[i]) + padding, minwidth);
    }
  }
  return lines
    .map((cells) => cells.map((c, i) => (i < cells.length - 1 ? c + " ".repeat(widths[i] - runeCount(c)) : c)).join(""))
    .join("\n");
}

/**
 * The characters (code points) of `s`, as Go's tabwriter counts runes: `[...s].length` without
 * making the array (that was most of a 10,000-row table's time).
 */
function runeCount(s) {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
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
      widths[i] = Math.max(widths[i] ?? minwidth, runeCount(c) + padding);
    });
  }
  return lines
    .map((cells) =>
      cells
        .map((c, i) => {
          if (i === cells.length - 1) return c;
          const cellw = Math.ceil(widths[i] / tabwidth) * tabwidth;
          return c + "\t".repeat(Math.ceil((cellw - runeCount(c)) / tabwidth));
        })
        .join(""),
    )
    .join("\n");
}

/**
 * `docker images` as a table (or `-q`), from `GET /images/json` answers; `sizes`: the SIZE
 * cells if they are known already ({@link imageSizeCells}); `text`: the answers' JSON text if at
 * hand (the core reads the rows from it).
 */
function imagesTable(images, { digests = false, quiet = false, noTrunc = false, now, sizes, text }) {
  const rows = imageRows(text ?? images, { digests, noTrunc });
  if (quiet) return rows.map((row) => row.id);
  const header = digests
    ? ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    : ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
  const lines = [header];
  const sizeCells = sizes ?? imageSizeCells(images);
  const created = sinceColumn(images.map((i) => i.Created), now);
  for (const row of rows) {
    const cells = [row.repo, row.tag];
    if (digests) cells.push(row.digest);
    cells.push(row.id, created[row.image], sizeCells[row.image]);
    lines.push(cells);
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
  // The first tag's familiar name and tag: the core's row of that tag alone (none if it does
  // not parse), one call for the list.
  const firstTags = images.map((i) => ({ Id: i.Id, RepoTags: (i.RepoTags ?? []).slice(0, 1) }));
  const named = new Map(imageRows(firstTags).map((r) => [r.image, r]));
  const rows = [];
  images.forEach((image, k) => {
    const tags = image.RepoTags ?? [];
    const digests = image.RepoDigests ?? [];
    const dangling =
      (tags.length === 0 && digests.length === 0) ||
      (tags.length === 1 && tags[0] === "<none>:<none>" && digests.length === 1 && digests[0] === "<none>@<none>");
    if (tags.length === 0 || dangling) rows.push({ image, repo: "<none>", tag: "<none>" });
    else if (named.has(k)) rows.push({ image, repo: named.get(k).repo, tag: named.get(k).tag });
  });
  return rows;
}

/**
 * The images of `docker system df -v --format json` (the CLI's imageContext, keys sorted), for
 * {@link diskUsageImageRows}' rows, a column per core call.
 */
function diskUsageImageJson(rows, now, { trunc = false } = {}) {
  const images = rows.map((r) => r.image);
  const Size = sizeColumn(images.map((i) => i.Size), 3);
  const VirtualSize = sizeColumn(images.map((i) => i.Size));
  const SharedSize = sizeColumn(images.map((i) => i.SharedSize));
  const UniqueSize = sizeColumn(images.map((i) => (isNA(i.SharedSize) ? -1 : i.Size - i.SharedSize)));
  const CreatedSince = sinceColumn(images.map((i) => i.Created), now);
  return rows.map(({ image, repo, tag }, k) => ({
    Containers: isNA(image.Containers) ? "N/A" : String(image.Containers),
    CreatedAt: goTimeString(image.Created),
    CreatedSince: CreatedSince[k],
    Digest: "",
    ID: trunc ? truncateId(image.Id) : image.Id,
    Repository: repo,
    SharedSize: SharedSize[k],
    Size: Size[k],
    Tag: tag,
    UniqueSize: UniqueSize[k],
    VirtualSize: VirtualSize[k],
  }));
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
  for (const j of diskUsageImageJson(diskUsageImageRows(df.Images ?? []), now, { trunc: true })) {
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
  createdSinceSpan,
  humanSize,
  humanDuration,
  sizeColumn,
  durationColumn,
  since,
  truncateId,
  goTimeString,
  ellipsis,
  splitTag,
  diskUsageImageRows,
  diskUsageImageJson,
  diskUsageSummary,
  systemDfTable,
  imageRows,
  imageCells,
  imageJson,
  tabwriter,
  tabwriterTabs,
  imagesTable,
  imageSizeCells,
  runeCount,
  historyTable,
  historyJson,
};
