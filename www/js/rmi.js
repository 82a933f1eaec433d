// What `docker rmi` and `docker tag` would do, worked out from a `docker images -a` answer
// (ImageSummary[]), following dockerd 20.10's daemon/images/image_delete.go. Pure functions:
// the page shows these as previews before asking the store.
import { shortId, splitTag } from "./format.js";
import { looksLikeIdPrefix } from "./filters.js";

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

export function refsOf(img) {
  return [
    ...(img?.RepoTags ?? []).filter((t) => t !== "<none>:<none>"),
    ...(img?.RepoDigests ?? []).filter((d) => d !== "<none>@<none>"),
  ];
}

/** Finds the image `ref` names, as dockerd does: a reference first, then an ID prefix. */
export function resolve(images, ref) {
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

/** Images whose ParentId is `id`. */
export function childrenOf(images, id) {
  return images.filter((img) => img.ParentId === id).map((img) => img.Id);
}

/**
 * What `docker rmi [--force] ref` would answer: { records, conflict }. Layer deletions are
 * not predicted (the list does not carry layer chains).
 */
export function planDelete(images, ref, { force = false } = {}) {
  const found = resolve(images, ref);
  if (found.error) return { records: [], conflict: found.error };
  const byId = new Map(images.map((img) => [img.Id, img]));
  const children = (id) => childrenOf(images, id);
  const records = [];
  const deleted = new Set();
  const refsLeft = new Map(images.map((img) => [img.Id, refsOf(img)]));
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
    if (children(id).length > 0) return { records, conflict: conflictMessage(id, true, "image has dependent child images") };
    for (const r of refsLeft.get(id).slice()) untag(id, r);
  }
  const helper = (target, force, quiet) => {
    const liveChildren = children(target).filter((c) => !deleted.has(c));
    let conflict = null;
    if (liveChildren.length > 0) conflict = conflictMessage(target, true, "image has dependent child images");
    else if (!force && refsLeft.get(target).length > 0) conflict = conflictMessage(target, false, "image is referenced in multiple repositories");
    if (conflict) return quiet ? null : conflict;
    for (const r of refsLeft.get(target).slice().sort()) untag(target, r);
    records.push({ Deleted: target });
    deleted.add(target);
    const parent = byId.get(target)?.ParentId;
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
