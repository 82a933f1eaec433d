// The page's places, kept in the URL hash so reloads, links and the back button work:
//   #/                                 Docker images        #/image/<id>  one Docker image
//   #/containerd                       containerd (first namespace)
//   #/containerd/<ns>                  a namespace's images (ctr images ls)
//   #/containerd/<ns>/content          a namespace's content (ctr content ls)
//   #/containerd/<ns>/image/<name>     one containerd image
// Names are URI-encoded (image names hold "/" and ":").

/** The place a hash names; unknown hashes mean the Docker list. */
export function parseRoute(hash) {
  const path = String(hash ?? "").replace(/^#/, "");
  let m = path.match(/^\/image\/(.+)$/);
  if (m) return { view: "docker", image: decode(m[1]) };
  m = path.match(/^\/containerd(?:\/([^/]+))?(?:\/(content)|\/image\/(.+))?\/?$/);
  if (m) {
    const [, ns, content, image] = m;
    return { view: "containerd", ns: ns ? decode(ns) : null, tab: content ? "content" : "images", image: image ? decode(image) : null };
  }
  return { view: "docker" };
}

export const dockerHref = () => "#/";
export const dockerImageHref = (id) => `#/image/${id}`;
export const namespaceHref = (ns, tab = "images") => `#/containerd/${encodeURIComponent(ns)}${tab === "content" ? "/content" : ""}`;
export const ctrImageHref = (ns, name) => `#/containerd/${encodeURIComponent(ns)}/image/${encodeURIComponent(name)}`;

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a hand-typed "%" that is not an escape
  }
}
