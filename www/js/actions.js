// Tag and delete, each behind a confirmation that previews what dockerd would do — the core's
// own answer to the same call with `dryRun: true` — and then shows the store's actual answer.
// Dialogs are modal: focus moves into them, stays there, and returns to the opener on close.
import { $, h, replace } from "./dom.js";
import { explain, store } from "./store.js";
import { shortId } from "./format.js";

// ---- dialogs ---------------------------------------------------------------------------------------

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex='-1'])";

/**
 * Keeps Tab inside the open dialog: past the last control it wraps to the first, and back.
 * (`showModal` makes the page inert, but Chromium still lets Tab leave for the browser's UI.)
 */
function trapFocus(dialog) {
  if (dialog.dataset.trap) return;
  dialog.dataset.trap = "true";
  dialog.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (items.length === 0) return;
    const [first, last] = [items[0], items[items.length - 1]];
    if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  });
}

/**
 * Opens the page's modal dialog with `title` and `body`; focus goes to `focus` (or the first
 * control) and back to whatever had it when the dialog closes. `showModal` makes the rest of the
 * page inert, so Tab stays inside.
 */
export function openDialog(title, body, { focus } = {}) {
  const dialog = $("#dialog");
  const opener = document.activeElement;
  replace(dialog,
    h("div", { class: "dialog-head" },
      h("h2", { id: "dialog-title" }, title),
      h("button", { type: "button", class: "button small", "aria-label": "Close", onclick: () => dialog.close() }, "Close")),
    body);
  trapFocus(dialog);
  if (!dialog.open) dialog.showModal();
  dialog.addEventListener("close", () => {
    if (opener?.isConnected) opener.focus();
    else $("main h2:not([hidden])")?.focus?.();
  }, { once: true });
  (focus ?? dialog.querySelector("input, button:not([aria-label=Close])"))?.focus();
  return dialog;
}

/** A coded error as a block of plain words inside a dialog. */
function errorBlock(err, doing) {
  const { title, detail, advice } = explain(err, doing);
  return h("div", { class: "error", role: "alert" }, h("p", { class: "error-title" }, title), detail && h("p", {}, detail), advice && h("p", {}, advice));
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
  const imageIds = () => new Set(app.byId.keys());
  let plan = null; // the dry run's answer, or null when Docker would refuse
  // The preview is the store's own answer to the same request, made on a copy of its state.
  const render = async () => {
    const options = { force: force.checked };
    try {
      plan = await store().removeImage(ref, { ...options, dryRun: true });
      replace(preview,
        h("p", {}, "Docker would answer:"),
        recordList(plan, imageIds(), "delete-plan"));
      confirm.disabled = false;
    } catch (err) {
      plan = null;
      const { detail } = explain(err, "Previewing the delete");
      replace(preview, h("p", { class: "warn", id: "delete-refused" }, `Docker would refuse: ${detail}`),
        err?.code === "conflict" && !force.checked && /must be forced/.test(detail) ? h("p", { class: "muted small" }, "Tick Force to delete it anyway.") : null);
      // Nothing to confirm: the store would give the same refusal.
      confirm.disabled = true;
    }
  };
  force.addEventListener("change", () => render());
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    const ids = imageIds();
    try {
      const result = await store().removeImage(ref, { force: force.checked });
      const same = JSON.stringify(result) === JSON.stringify(plan);
      replace(answer,
        h("h3", {}, "The store's answer"),
        recordList(result, ids, "delete-result"),
        h("p", { class: same ? "ok" : "warn" }, same ? "Same as the preview." : "The answer differs from the preview (the store changed meanwhile); the store's answer is what happened."));
      confirm.hidden = true;
      app.storeEdited();
      $("#dialog .dialog-head button").focus();
    } catch (err) {
      replace(answer, errorBlock(err, "Deleting"));
      confirm.disabled = false;
    }
    await app.changed();
  });
  const dialog = openDialog(`Delete ${ref}`, [
    h("p", {}, "Like ", h("code", {}, `docker rmi ${ref}`), ": untags it, and deletes the image with the parents nothing else needs."),
    h("p", {}, h("label", { class: "toggle" }, force, " Force (", h("code", {}, "-f"), "): also remove other tags of the image")),
    preview,
    h("p", { class: "dialog-actions" }, confirm),
    answer,
  ], { focus: force });
  confirm.disabled = true;
  return render().then(() => dialog);
}

export function openTagDialog(app, id) {
  const repo = h("input", { id: "tag-repo", required: true, autocomplete: "off", spellcheck: "false", placeholder: "local/app", "aria-describedby": "tag-preview" });
  const tag = h("input", { id: "tag-tag", value: "latest", autocomplete: "off", spellcheck: "false", "aria-describedby": "tag-preview" });
  const preview = h("p", { id: "tag-preview", "aria-live": "polite" });
  const answer = h("div", { id: "tag-answer", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Tag");
  let seq = 0;
  const values = () => [repo.value.trim(), tag.value.trim()];
  // As the user types: the core checks the name as dockerd would (same message), and says
  // what the tag will be; the page only looks up which image has that tag now.
  const render = async () => {
    const mine = ++seq;
    const [r, t] = values();
    if (!r) {
      repo.removeAttribute("aria-invalid");
      submit.disabled = true;
      return replace(preview, "Type a repository name.");
    }
    let ref;
    try {
      ref = await store().tagImage(id, r, t, { dryRun: true });
    } catch (err) {
      if (mine !== seq) return;
      repo.setAttribute("aria-invalid", "true");
      submit.disabled = true;
      return replace(preview, h("span", { class: "field-error", id: "tag-invalid" }, explain(err, "Checking the tag").detail));
    }
    if (mine !== seq) return;
    repo.removeAttribute("aria-invalid");
    submit.disabled = false;
    const owner = (app.allImages ?? []).find((img) => (img.RepoTags ?? []).includes(ref));
    if (!owner) return replace(preview, `${ref} will point to ${shortId(id)} (a new tag).`);
    if (owner.Id === id) return replace(preview, `${ref} already points to this image; nothing changes.`);
    const left = [...(owner.RepoTags ?? []), ...(owner.RepoDigests ?? [])].filter((x) => x !== ref && !x.startsWith("<none>"));
    replace(preview, `${ref} moves from ${shortId(owner.Id)} to ${shortId(id)}; ${shortId(owner.Id)} ${
      left.length ? `keeps ${left.join(", ")}` : "is left without tags"}.`);
  };
  repo.addEventListener("input", render);
  tag.addEventListener("input", render);
  const form = h("form", { class: "tag-form", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    const [r, t] = values();
    try {
      const ref = await store().tagImage(id, r, t, { dryRun: true });
      await store().tagImage(id, r, t);
      replace(answer, h("p", { class: "ok" }, `Tagged ${shortId(id)} as ${ref}.`));
      app.storeEdited();
      await app.changed();
    } catch (err) {
      replace(answer, errorBlock(err, "Tagging"));
    } finally {
      submit.disabled = false;
    }
  } },
  h("p", {}, h("label", { for: "tag-repo" }, "Repository"), repo),
  h("p", {}, h("label", { for: "tag-tag" }, "Tag"), tag),
  preview,
  h("p", { class: "dialog-actions" }, submit));
  const dialog = openDialog(`Tag ${shortId(id)}`, [h("p", {}, "Like ", h("code", {}, `docker tag ${shortId(id)} REPOSITORY:TAG`), "."), form, answer], { focus: repo });
  return render().then(() => dialog);
}
