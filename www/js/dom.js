// Building DOM nodes. Text (from tarballs: names, labels, commands, file names) only ever
// becomes text nodes or attribute values here — never HTML.

/**
 * h("a", { href: "#x", class: "c", onclick: fn }, "text", childNode, [more])
 * Props: `class`, `dataset` (object), `on<event>` (listener), `text`; other props become
 * attributes (true → empty attribute, null/false/undefined → left out).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children (nodes, strings, numbers, nested arrays; null/false skipped) as nodes. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Calls `fn` once `ms` have passed without another call. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A definition list from [term, value] pairs; empty values are shown as "—". */
export function facts(pairs, className = "facts") {
  return h(
    "dl",
    { class: className },
    pairs.map(([term, value]) => [
      h("dt", {}, term),
      h("dd", {}, value == null || value === "" || (Array.isArray(value) && value.length === 0) ? h("span", { class: "muted" }, "—") : value),
    ]),
  );
}

/**
 * Text with line-break opportunities (<wbr>) after the separators of names, media types and
 * label lists ("/", ":", ".", "+", ",", "="), so long cells wrap at sensible places. The text
 * itself (textContent) is unchanged.
 */
export function breakable(text) {
  const parts = String(text ?? "").split(/(?<=[/:.+,=])/);
  return parts.flatMap((part, i) => (i === 0 ? [part] : [document.createElement("wbr"), part]));
}
