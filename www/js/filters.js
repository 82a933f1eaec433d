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
  return rowMatcher(terms, resolved)(row);
}

/**
 * `rowMatches` for many rows: the terms are lower-cased once, and each row's search text
 * ("repo:tag" lower-cased, the ID's hex) is worked out on its first test and kept with the row,
 * so a keystroke over 10,000 rows only compares strings.
 */
export function rowMatcher(terms, resolved = new Map()) {
  const tests = terms.map((term) => {
    const t = term.toLowerCase();
    const prefix = t.replace(/^sha256:/, "");
    const id = resolved.get(term);
    return id !== undefined
      ? (row, { name }) => row.id === id || name.includes(t)
      : (row, { name, hex }) => name.includes(t) || hex.startsWith(prefix);
  });
  return (row) => {
    const text = searchText(row);
    for (const test of tests) if (!test(row, text)) return false;
    return true;
  };
}

/**
 * Works out every row's search text now (the page calls it when the browser is idle after a
 * new list, so the first keystroke finds it made). Returns the rows.
 */
export function prepareSearch(rows) {
  for (const row of rows) searchText(row);
  return rows;
}

const SEARCH_TEXT = Symbol("search text");

/** A row's { name: "repo:tag" lower-cased, hex: its ID without "sha256:" }, made once per row. */
function searchText(row) {
  return (row[SEARCH_TEXT] ??= { name: `${row.repo}:${row.tag}`.toLowerCase(), hex: row.id.replace(/^sha256:/, "") });
}
