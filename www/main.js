// Placeholder: opens the page's IndexedDB store and says so.
import { Store } from "imagestore";

const status = document.getElementById("status");
try {
  const store = await Store.open("imagestore-page");
  status.textContent = "store open";
  window.imagestore = { store }; // handy in the devtools console
} catch (err) {
  status.textContent = `failed to open the store: ${err.message}`;
  throw err;
}
