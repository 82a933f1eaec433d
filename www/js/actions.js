// Tag and delete, each behind a confirmation that previews what dockerd would do — computed in
// the page from the same `docker images -a` data, following dockerd's image_delete.go rules —
// and then shows the store's actual answer.
import { $, h, replace } from "./dom.js";
import { call, explain } from "./store.js";
import { shortId } from "./format.js";
import { childrenOf, familiar, planDelete, refsOf } from "./rmi.js";

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
    const plan = planDelete(app.allImages ?? [], ref, { force: force.checked });
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
    const dangling = left.length === 0 && childrenOf(app.allImages ?? [], owner.Id).length === 0;
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
