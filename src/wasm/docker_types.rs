//! TypeScript declarations of the Docker view's arguments and results (Engine API v1.41
//! shapes); the option objects are read in [`super::options`].

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_DOCKER_TYPES: &'static str = r#"
/** What `Store.import` reads: plain tar or gzip, detected from the bytes. */
export type ImportInput = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

/** Options of `Store.import`. */
export interface ImportOptions {
  /** Called as the import advances (at most about once per MiB read, and at each phase change). */
  onProgress?: (progress: ImportProgress) => void;
  /** Aborting it rejects the import with code `aborted`; the store is left as it was. */
  signal?: AbortSignal;
  /** containerd namespace for `docker save` archives and OCI layouts; ctr's import flags. */
  namespace?: string; baseName?: string; indexName?: string; digests?: boolean; allPlatforms?: boolean;
  /** As `docker load`: refuse anything but a `docker save` archive (a top-level manifest.json)
   *  with dockerd 20.10's error (code `unsupported_format`); not with `namespace`. */
  dockerLoad?: boolean;
}

export interface ImportProgress {
  phase: "reading" | "restoring" | "done";
  bytesRead: number;
  /** The input's size when known (typed arrays and Blobs), else null. */
  bytesTotal: number | null;
  images: number;
  layers: number;
  blobs: number;
}

/** What an import committed (things already in the store are not counted again). */
export interface ImportReport {
  /** The detected format, e.g. `"docker-image-store"`. */
  format: string;
  images: number;
  layers: number;
  references: number;
  blobs: number;
  /** Bytes of input read (compressed bytes for gzip). */
  bytes: number;
  /** What dockerd's restore rules (or the merge) left out, and why. */
  skipped: { subject: string; reason: string }[];
  warnings: string[];
  /** A `docker load`: each `manifest.json` item in archive order (familiar tags, as given). */
  loaded: {
    id: string;
    tags: string[];
    /** Bottom first; `loaded`: this import put it in the store (dockerd shows "Loading layer"
     *  for those only), `size`: the layer file's bytes in the archive. */
    layers: { diffId: string; chainId: string; size: number; loaded: boolean }[];
  }[];
  /** Layers whose tar the import stored (rebuilt from a whole `/var/lib/docker` upload's graph
   *  driver folders, or carried by a `docker save` archive). */
  layerTars: number;
  /** Layers of a `/var/lib/docker` upload whose tar could not be rebuilt (their images are
   *  imported without contents): the DiffID, the member path at fault, and why. */
  contentProblems: { diffId: string; path: string; reason: string }[];
}

/** Engine API image filters, e.g. `{ dangling: ["true"], reference: ["local/*"] }`. */
export interface ImageFilters {
  before?: string[];
  since?: string[];
  dangling?: string[];
  label?: string[];
  reference?: string[];
}

/** Options of `Store.listImages` (`GET /images/json`). */
export interface ListImagesOptions {
  /** Show intermediate images too. */
  all?: boolean;
  /** Accepted for the API's sake; the answer is the same. */
  digests?: boolean;
  filters?: ImageFilters;
}

/** `GET /images/json` element. */
export interface ImageSummary {
  Containers: number;
  /** Unix seconds. */
  Created: number;
  Id: string;
  Labels: Record<string, string> | null;
  ParentId: string;
  RepoDigests: string[] | null;
  RepoTags: string[] | null;
  SharedSize: number;
  Size: number;
  VirtualSize: number;
}

/** Go's `container.Config` as the Engine API shows it. */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, {}>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, {}> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild: string[] | null;
  Labels: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

/** `GET /images/{name}/json`. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  Container: string;
  ContainerConfig: ContainerConfig;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize: number;
  /** `Data` is always null here: there is no driver to ask. */
  GraphDriver: { Data: Record<string, string> | null; Name: string };
  RootFS: { Type: string; Layers?: string[] };
  Metadata: { LastTagTime: string };
}

/** `GET /images/{name}/history` element, newest first. */
export interface HistoryResponseItem {
  Comment: string;
  Created: number;
  CreatedBy: string;
  /** An image ID, or `"<missing>"`. */
  Id: string;
  Size: number;
  Tags: string[] | null;
}

/** `DELETE /images/{name}` element. */
export type DeleteResponseItem = { Untagged: string } | { Deleted: string };

/** Options of `Store.removeImage`. */
export interface RemoveImageOptions {
  force?: boolean;
  noprune?: boolean;
  /** Work out the answer (or the conflict) without changing the store: what `rmi` would do. */
  dryRun?: boolean;
}

/** Options of `Store.tagImage`. */
export interface TagImageOptions {
  /** Check the image, repository and tag as dockerd would and resolve to the new tag's familiar
   * form (`"local/app:latest"`), without changing the store. */
  dryRun?: boolean;
}

/** Options of `Store.layerFiles`. */
export interface LayerFilesOptions {
  /** The layer's index in `RootFS.Layers` (0 = bottom) or its DiffID; default the top layer. */
  layer?: number | string;
  /** The filesystem as seen at that layer (lower layers overlaid, whiteouts applied). */
  merged?: boolean;
}

/** One file of a layer, rebuilt from its tar-split. */
export interface LayerFileEntry {
  /** Absolute path, e.g. `/etc/passwd`. */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** RFC 3339 with nanoseconds. */
  mtime: string;
  /** Target of a symlink or hardlink, else null. */
  linkname: string | null;
  devmajor: number;
  devminor: number;
  /** Index of the layer the entry comes from. */
  layer: number;
  /** In a single-layer listing, whiteout markers say what they are. */
  whiteout: "deleted" | "opaque" | "meta" | null;
}
"#;
