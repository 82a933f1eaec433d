// Tag and delete, each behind a confirmation that previews what dockerd would do — computed in
// the page from the same `docker images -a` data, following dockerd's image_delete.go rules —
// and then shows the store's actual answer.
import { $, h, replace } from "./dom.js";
import { call, explain } from "./store.js";
import { shortId, splitTag } from "./format.js";
import { looksLikeIdPrefix } from "./filters.js";

// ---- references ------------------------------------------------------------------------------

/** docker's familiar form: "docker.io/library/busybox" → "busybox"; adds ":latest" when untagged. */
export function familiar(ref) {
  let r = ref.trim();
  const at = r.indexOf("@");
  let name = at >= 0 ? r.slice(0, at) : r;
  const rest = at >= 0 ? r.slice(at) : "";
  name = name.replace(/^docker\.io\/library\/(?=[^/]+$)/, "").replace(/^(docker\.io|index\.docker\.io)\//, "");
  if (!rest) {
    const slash = name.lastIndexOf("/");
    if (name.lastIndexOf(":") <= slash) name += ":latest";
  }
  return name + rest;
}

const nameOf = (ref) => (ref.includes("@") ? ref.slice(0, ref.indexOf("@")) : splitTag(ref)[0]);
const isDigestRef = (ref) => ref.includes("@");

function refsOf(img) {
  return [
    ...(img?.RepoTags ?? []).filter((t) => t !== "<none>:<none>"),
    ...(img?.RepoDigests ?? []).filter((d) => d !== "<none>@<none>"),
  ];
}

/** Finds the image `ref` names, as dockerd does: a reference first, then an ID prefix. */
export function resolve(app, ref) {
  const images = app.allImages ?? [];
  const fam = familiar(ref);
  const byRef = images.find((img) => refsOf(img).includes(fam));
  if (byRef) return { image: byRef, byName: true, ref: fam };
  if (looksLikeIdPrefix(ref)) {
    const prefix = ref.replace(/^sha256:/, "");
    const matches = images.filter((img) => img.Id.slice(7).startsWith(prefix));
    if (matches.length === 1) return { image: matches[0], byName: false, ref };
    if (matches.length > 1) return { error: `ambiguous: several images start with ${ref}` };
  }
  return { error: `No such image: ${ref}` };
}

// ---- dry-run of DELETE /images/{name} -----------------------------------------------------------

/**
 * What `docker rmi [--force] ref` would answer, from the cached list: { records, conflict }.
 * Layer deletions are not predicted (the list does not carry layer chains).
 */
export function planDelete(app, ref, { force = false } = {}) {
  const found = resolve(app, ref);
  if (found.error) return { records: [], conflict: found.error };
  const records = [];
  const deleted = new Set();
  const refsLeft = new Map(app.allImages.map((img) => [img.Id, refsOf(img)]));
  const untag = (id, r) => {
    records.push({ Untagged: r });
    refsLeft.set(id, refsLeft.get(id).filter((x) => x !== r));
  };
  const id = found.image.Id;
  let quiet = false;
  if (found.byName) {
    untag(id, found.ref);
    if (!isDigestRef(found.ref)) {
      const repo = nameOf(found.ref);
      const tagLeftInRepo = refsLeft.get(id).some((r) => !isDigestRef(r) && nameOf(r) === repo);
      if (!tagLeftInRepo) for (const r of refsLeft.get(id).filter((r) => isDigestRef(r) && nameOf(r) === repo)) untag(id, r);
    }
    if (refsLeft.get(id).length > 0) return { records, conflict: null };
    quiet = true;
  } else if (refsLeft.get(id).length > 0 && isSingleReference(refsLeft.get(id))) {
    if (app.childrenOf(id).length > 0) return { records, conflict: conflictMessage(id, true, "image has dependent child images") };
    for (const r of refsLeft.get(id).slice()) untag(id, r);
  }
  const helper = (target, force, quiet) => {
    const children = app.childrenOf(target).filter((c) => !deleted.has(c));
    let conflict = null;
    if (children.length > 0) conflict = conflictMessage(target, true, "image has dependent child images");
    else if (!force && refsLeft.get(target).length > 0) conflict = conflictMessage(target, false, "image is referenced in multiple repositories");
    if (conflict) return quiet ? null : conflict;
    for (const r of refsLeft.get(target).slice().sort()) untag(target, r);
    records.push({ Deleted: target });
    deleted.add(target);
    const parent = app.byId.get(target)?.ParentId;
    return parent ? helper(parent, false, true) : null;
  };
  const conflict = helper(id, force, quiet);
  return { records: conflict ? [] : records, conflict };
}

function isSingleReference(refs) {
  if (refs.length <= 1) return refs.length === 1;
  let single = null;
  const canonical = new Set();
  for (const r of refs) {
    if (isDigestRef(r)) canonical.add(nameOf(r));
    else if (single === null) single = r;
    else return false;
  }
  single ??= refs[0];
  return canonical.size === 1 && canonical.has(nameOf(single));
}

function conflictMessage(id, hard, message) {
  return `conflict: unable to delete ${shortId(id)} (${hard ? "cannot be forced" : "must be forced"}) - ${message}`;
}

// ---- dialogs ---------------------------------------------------------------------------------------

function openDialog(title, ...body) {
  const dialog = $("#dialog");
  replace(dialog,
    h("div", { class: "dialog-head" },
      h("h2", { id: "dialog-title" }, title),
      h("button", { type: "button", class: "button small", "aria-label": "Close", onclick: () => dialog.close() }, "Close")),
    ...body);
  if (!dialog.open) dialog.showModal();
  return dialog;
}

/** The records as `docker rmi` prints them; with `imageIds`, deleted layers are marked as such. */
function recordList(records, imageIds, id) {
  return h("ul", { class: "records mono", id },
    records.map((r) => {
      const [kind, value] = r.Untagged !== undefined ? ["Untagged", r.Untagged] : ["Deleted", r.Deleted];
      const layer = kind === "Deleted" && imageIds && !imageIds.has(value) ? " (layer)" : "";
      return h("li", { class: kind.toLowerCase(), dataset: { kind, value } }, `${kind}: ${value}${layer}`);
    }));
}

export function openDeleteDialog(app, ref) {
  const force = h("input", { type: "checkbox", id: "delete-force" });
  const preview = h("div", { id: "delete-preview", "aria-live": "polite" });
  const confirm = h("button", { type: "button", class: "button danger", id: "confirm-delete" }, "Delete");
  const answer = h("div", { id: "delete-answer", "aria-live": "polite" });
  const render = () => {
    const plan = planDelete(app, ref, { force: force.checked });
    confirm.disabled = false;
    if (plan.conflict) {
      replace(preview, h("p", { class: "warn" }, `Docker would refuse: ${plan.conflict}`));
    } else {
      replace(preview,
        h("p", {}, "Docker would answer (layers that only these images use are deleted too):"),
        recordList(plan.records, null, "delete-plan"));
    }
    return plan;
  };
  let plan = render();
  force.addEventListener("change", () => (plan = render()));
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    const imageIds = new Set(app.byId.keys());
    try {
      const result = await call("removeImage", "Deleting", ref, { force: force.checked });
      const predictedImages = plan.records.map(JSON.stringify);
      const actualImages = result.filter((r) => r.Untagged !== undefined || imageIds.has(r.Deleted)).map(JSON.stringify);
      const same = !plan.conflict && predictedImages.join() === actualImages.join();
      replace(answer,
        h("h3", {}, "The store's answer"),
        recordList(result, imageIds, "delete-result"),
        h("p", { class: same ? "ok" : "warn" }, same ? "Tags and images match the preview." : "The answer differs from the preview; the store's answer is what happened."));
      confirm.hidden = true;
    } catch (err) {
      const { title, detail, advice } = explain(err, "Deleting");
      replace(answer, h("div", { class: "error", role: "alert" }, h("p", { class: "error-title" }, title), h("p", {}, detail), advice && h("p", {}, advice)));
      confirm.disabled = false;
    }
    await app.changed();
  });
  openDialog(`Delete ${ref}`,
    h("p", {}, "Like ", h("code", {}, `docker rmi ${ref}`), ": untags it, and deletes the image with the parents nothing else needs."),
    h("p", {}, h("label", { class: "toggle" }, force, " Force (", h("code", {}, "-f"), "): also remove other tags of the image")),
    preview,
    h("p", { class: "dialog-actions" }, confirm),
    answer);
  confirm.focus();
}

export function openTagDialog(app, id) {
  const repo = h("input", { id: "tag-repo", required: true, autocomplete: "off", spellcheck: "false", placeholder: "local/app" });
  const tag = h("input", { id: "tag-tag", value: "latest", autocomplete: "off", spellcheck: "false" });
  const preview = h("p", { id: "tag-preview", "aria-live": "polite" });
  const answer = h("div", { id: "tag-answer", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Tag");
  const render = () => {
    if (!repo.value.trim()) return replace(preview, "Type a repository name.");
    const ref = familiar(`${repo.value.trim()}:${tag.value.trim() || "latest"}`);
    const owner = (app.allImages ?? []).find((img) => refsOf(img).includes(ref));
    if (!owner) return replace(preview, `${ref} will point to ${shortId(id)} (a new tag).`);
    if (owner.Id === id) return replace(preview, `${ref} already points to this image; nothing changes.`);
    const left = refsOf(owner).filter((r) => r !== ref);
    const dangling = left.length === 0 && app.childrenOf(owner.Id).length === 0;
    replace(preview, `${ref} moves from ${shortId(owner.Id)} to ${shortId(id)}; ${shortId(owner.Id)} ${
      left.length ? `keeps ${left.join(", ")}` : dangling ? "is left without tags (dangling: <none>)" : "is left without tags"}.`);
  };
  repo.addEventListener("input", render);
  tag.addEventListener("input", render);
  const form = h("form", { class: "tag-form", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      await call("tagImage", "Tagging", id, repo.value.trim(), tag.value.trim() || "latest");
      replace(answer, h("p", { class: "ok" }, `Tagged ${shortId(id)} as ${familiar(`${repo.value.trim()}:${tag.value.trim() || "latest"}`)}.`));
      await app.changed();
    } catch (err) {
      const { title, detail, advice } = explain(err, "Tagging");
      replace(answer, h("div", { class: "error", role: "alert" }, h("p", { class: "error-title" }, title), h("p", {}, detail), advice && h("p", {}, advice)));
    } finally {
      submit.disabled = false;
    }
  } },
  h("p", {}, h("label", { for: "tag-repo" }, "Repository"), repo),
  h("p", {}, h("label", { for: "tag-tag" }, "Tag"), tag),
  preview,
  h("p", { class: "dialog-actions" }, submit));
  openDialog(`Tag ${shortId(id)}`, h("p", {}, "Like ", h("code", {}, `docker tag ${shortId(id)} REPOSITORY:TAG`), "."), form, answer);
  render();
  repo.focus();
}
