// The parent/children tree of an image: its ancestors up to the base, then the subtree of its
// children (moby's parent links), each node a link to its inspect view.
import { h } from "./dom.js";
import { store } from "./store.js";
import { shortId } from "./format.js";

const MAX_ANCESTORS = 1000;
const MAX_DESCENDANTS = 500;

export async function renderTree(app, id) {
  const ancestors = [];
  for (let cur = id; ancestors.length < MAX_ANCESTORS; ) {
    const parent = await store().imageParent(cur);
    if (!parent) break;
    ancestors.unshift(parent);
    cur = parent;
  }
  let budget = MAX_DESCENDANTS;
  const subtree = async (node) => {
    const children = (await store().imageChildren(node)).slice().sort();
    const items = [];
    for (const child of children) {
      if (budget-- <= 0) {
        items.push(h("li", { class: "muted" }, `… more images (the tree shows the first ${MAX_DESCENDANTS})`));
        break;
      }
      items.push(h("li", {}, nodeLabel(app, child), await subtree(child)));
    }
    return items.length ? h("ul", {}, items) : null;
  };
  // Ancestors as one flat chain (base first, so long chains stay narrow), then this image
  // with its children nested below it.
  const here = h("li", { class: "here" }, nodeLabel(app, id, true), await subtree(id));
  const tree = h("ul", { class: "tree" }, ancestors.map((a) => h("li", { class: "ancestor" }, nodeLabel(app, a))), here);
  return h("div", { class: "tree-wrap", id: "image-tree" },
    h("p", { class: "muted small" }, ancestors.length === 0 ? "This image has no parent." : `${ancestors.length} ancestor${ancestors.length === 1 ? "" : "s"} up to the base image.`),
    tree);
}

function nodeLabel(app, id, current = false) {
  const tags = app.tagsOf(id);
  const label = [h("span", { class: "mono" }, shortId(id)), " ", h("span", { class: tags.length ? "" : "none" }, tags.length ? tags.join(", ") : "<none>")];
  return current
    ? h("strong", { "aria-current": "true", class: "tree-node current", dataset: { id } }, label)
    : h("a", { href: `#/image/${id}`, class: "tree-node", dataset: { id } }, label);
}
