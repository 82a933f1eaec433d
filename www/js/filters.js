// The filter box: every `key=value` word is one of docker's image filters and goes to the
// store as the Engine API's filter map (the store, like dockerd, rejects keys it does not know:
// "Invalid filter 'foo'"); every other word is plain text matched in the page.

/**
 * "dangling=true  label=a=b web" → { filters: { dangling: ["true"], label: ["a=b"] }, terms: ["web"] }.
 * `key` is the canonical JSON of the filters, to tell when the store must be asked again.
 */
export function parseFilterText(text) {
  const filters = {};
  const terms = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const m = word.match(/^([A-Za-z][\w.-]*)=(.*)$/s);
    if (m) (filters[m[1]] ??= []).push(m[2]);
    else terms.push(word);
  }
  const key = JSON.stringify(Object.keys(filters).sort().map((k) => [k, filters[k]]));
  return { filters, terms, key };
}

/** A word that could be an image ID prefix, the way `docker` resolves partial IDs. */
export function looksLikeIdPrefix(word) {
  return /^(sha256:)?[0-9a-f]{1,64}$/.test(word);
}

/**
 * Whether a row matches every plain-text term: a term matches the repository or tag
 * (case-insensitive substring), or the start of the image ID. `resolved` maps a term to the ID
 * docker's prefix search gave for it; such a term matches that image exactly.
 */
export function rowMatches(row, terms, resolved = new Map()) {
  const name = `${row.repo}:${row.tag}`.toLowerCase();
  const hex = row.id.replace(/^sha256:/, "");
  return terms.every((term) => {
    const t = term.toLowerCase();
    if (resolved.has(term)) return row.id === resolved.get(term) || name.includes(t);
    return name.includes(t) || hex.startsWith(t.replace(/^sha256:/, ""));
  });
}
