// The page's one store: opening, clearing, and errors in plain words.
import { Store } from "imagestore";

/** The core's go-units sizes (`humanSize(bytes)`: the docker CLI's "1.98MB"; precision 4: ctr content ls). */
export { humanSize } from "imagestore";

export const STORE_NAME = "imagestore-page";

let current = null;
const openedHooks = [];

export async function openStore() {
  current = await Store.open(STORE_NAME);
  for (const hook of openedHooks) hook(current);
  return current;
}

/** Calls `hook(store)` now (if a store is open) and each time the page opens the store again. */
export function whenOpened(hook) {
  openedHooks.push(hook);
  if (current) hook(current);
}

export function store() {
  return current;
}

/**
 * Before the store is open: the rows of the unfiltered list (`all` images or the top-level
 * ones) the store saved for its current state, or null (none saved, or the store changed since).
 */
export function savedListImages(all) {
  return Store.savedListImages(STORE_NAME, { all });
}

/** Calls `hook()` before the page deletes its store (Clear store), so that work on it can stop. */
const clearingHooks = [];
export function whenClearing(hook) {
  clearingHooks.push(hook);
}

/** Deletes the IndexedDB database and opens a new, empty one. */
export async function clearStore() {
  for (const hook of clearingHooks) hook();
  current?.close();
  current = null;
  await Store.destroy(STORE_NAME);
  return openStore();
}

const ADVICE = {
  unsupported_format:
    "This file is not a tarball the store can read. Choose a tar or tar.gz of /var/lib/docker/image/<driver>/ (for example: sudo tar -C /var/lib/docker/image/overlay2 -czf store.tar.gz .), a docker save archive, an OCI image layout in a tar, or a containerd root.",
  data_corrupt:
    "The archive is damaged or incomplete. Make the tarball again and import it again; nothing was changed in the store.",
  aborted: "The import was cancelled. The store is as it was before.",
  quota_exceeded:
    "The browser refused to store more data. Clear the store (or free disk space) and try again.",
  unavailable:
    "The store could not be used. Reload the page; if the page is open in another tab, close that tab first.",
  not_found: "Check the name or ID; the list shows what the store holds.",
  ambiguous: "Type more characters of the ID.",
  conflict: "Docker refuses this operation as it stands; read the reason above.",
  invalid_argument: "Check the value you typed.",
  already_exists: "It is there already.",
  failed_precondition: "The store is not in a state that allows this; reload the page and try again.",
};

/** { title, detail, advice } in plain words for any error the package (or the page) throws. */
export function explain(err, doing) {
  const code = err?.code;
  const message = String(err?.message ?? err);
  if (code === "unsupported_format") return { title: `${doing} failed: not a tarball the store can read`, detail: message, advice: ADVICE[code] };
  if (code && ADVICE[code]) return { title: `${doing} failed`, detail: message, advice: ADVICE[code] };
  return {
    title: `${doing} failed`,
    detail: message,
    advice: "This is unexpected; reload the page. If it happens again, the browser console has details.",
  };
}
