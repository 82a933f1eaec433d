// Keeps the page current while other tabs or windows change the same store: the package tells
// every open store through `store.onChange` (a BroadcastChannel named after the store), and
// the page then re-reads what it shows. When another tab deleted the database (its "clear
// store"), this page's connection was closed for it: it opens the store again first.
import { openStore, store, whenOpened } from "./store.js";

/** Calls `refresh()` (at most once per burst of changes) whenever another tab changed the store. */
export function followOtherTabs(refresh) {
  let unsubscribe = null;
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      refresh();
    }, 50);
  };
  whenOpened((opened) => {
    unsubscribe?.();
    unsubscribe = null;
    if (typeof opened.onChange !== "function") return; // a build without it
    unsubscribe = opened.onChange(async ({ reason }) => {
      if (reason === "closed" && store() === opened) {
        try {
          await openStore();
        } catch {
          return; // the list will say what is wrong on the next action
        }
      }
      schedule();
    });
  });
}
