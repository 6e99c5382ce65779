// Volumes: parsing `host:container[:opts]` and `NAME=/host/path`, and sanitising the list.

import { basename, dirname, isAbsolute, normalize, resolve } from "@std/path/posix";

/** Where named mounts and the `*AsCwd` mounts go inside a container. */
export const MOUNTED_ROOT = "/mnt/disks";
/** The folder of named mounts under {@linkcode MOUNTED_ROOT}. */
export const NAMED_MOUNTS = "NAMED_MOUNTS";

/** One bind mount. */
export interface Mount {
  /** The path on the host, absolute. */
  host: string;
  /** The path in the container, absolute. */
  container: string;
  /** Mount options such as `ro` (comma-separated), or empty. */
  options: string;
}

/** The mounts to make, and the variables that named mounts export. */
export interface SanitizedMounts {
  /** The mounts, in order, without duplicates. */
  mounts: Mount[];
  /** `NAME` → in-container path, for each named mount. */
  pathEnvs: Record<string, string>;
}

/** What a path on the host is. */
export type PathKind = "file" | "dir" | null;

const NAMED = /^([A-Za-z][A-Za-z0-9_]*)=(.+)$/;
const OPTIONS = new Set([
  "ro",
  "rw",
  "z",
  "Z",
  "U",
  "O",
  "shared",
  "slave",
  "private",
  "rshared",
  "rslave",
  "rprivate",
  "nocopy",
  "consistent",
  "cached",
  "delegated",
  "bind",
  "rbind",
  "nosuid",
  "nodev",
  "noexec",
  "suid",
  "dev",
  "exec",
  "idmap",
]);

/**
 * What a host path is, read from the file system.
 *
 * @param path The path.
 * @returns `"file"`, `"dir"`, or `null` when it does not exist.
 */
export function pathKind(path: string): PathKind {
  try {
    return Deno.statSync(path).isDirectory ? "dir" : "file";
  } catch {
    return null;
  }
}

function checkOptions(spec: string, options: string): string {
  for (const option of options.split(",")) {
    if (!OPTIONS.has(option)) {
      throw new TypeError(`Volume "${spec}": unknown mount option "${option}"`);
    }
  }
  return options;
}

/**
 * Parse one volume: `host:container[:options]`, `host` (mounted at the same path), or a
 * named mount `NAME=/host/path[:ro]`, mounted under `/mnt/disks/NAMED_MOUNTS/NAME` (a
 * file mounts its folder) with `$NAME` holding the in-container path.
 *
 * @param spec The volume.
 * @param kind Tells what a host path is (the file system by default).
 * @param base The folder relative host paths are relative to.
 * @returns The mount and, for a named mount, its variable.
 * @throws {TypeError} For a malformed volume or a host path that does not exist.
 * @example
 * ```ts
 * import { parseVolume } from "./mounts.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(parseVolume("/tmp:/data:ro").mount, { host: "/tmp", container: "/data", options: "ro" });
 * ```
 */
export function parseVolume(
  spec: string,
  kind: (path: string) => PathKind = pathKind,
  base: string = Deno.cwd(),
): { mount: Mount; env?: [string, string] } {
  if (typeof spec !== "string" || spec.trim() === "") {
    throw new TypeError(`Volume ${JSON.stringify(spec)} is empty`);
  }
  const named = NAMED.exec(spec);
  if (named) {
    let [, name, path] = named;
    let options = "";
    const colon = path.lastIndexOf(":");
    if (colon > 0 && OPTIONS.has(path.slice(colon + 1))) {
      options = path.slice(colon + 1);
      path = path.slice(0, colon);
    }
    const host = resolve(base, path);
    const what = kind(host);
    if (what === null) throw new TypeError(`Volume "${spec}": host path "${host}" does not exist`);
    const root = `${MOUNTED_ROOT}/${NAMED_MOUNTS}/${name}`;
    if (what === "file") {
      const folder = dirname(host);
      const container = `${root}/${basename(folder) || "root"}`;
      return {
        mount: { host: folder, container, options },
        env: [name, `${container}/${basename(host)}`],
      };
    }
    return { mount: { host, container: root, options }, env: [name, root] };
  }
  const parts = spec.split(":");
  if (parts.length > 3 || parts.some((part) => part === "")) {
    throw new TypeError(`Volume "${spec}" is not host:container[:options]`);
  }
  const host = resolve(base, parts[0]);
  const container = parts.length > 1 ? parts[1] : host;
  if (!isAbsolute(container)) {
    throw new TypeError(`Volume "${spec}": container path "${container}" is not absolute`);
  }
  const options = parts.length > 2 ? checkOptions(spec, parts[2]) : "";
  if (kind(host) === null) {
    throw new TypeError(`Volume "${spec}": host path "${host}" does not exist`);
  }
  return { mount: { host, container: normalize(container).replace(/(.)\/$/, "$1"), options } };
}

/**
 * A mount as `host:container[:options]`, the form both `-v` and `--bind` take.
 *
 * @param mount The mount.
 * @returns The text.
 */
export function mountText(mount: Mount): string {
  return mount.options
    ? `${mount.host}:${mount.container}:${mount.options}`
    : `${mount.host}:${mount.container}`;
}

function within(path: string, parent: string): string | null {
  if (path === parent) return "";
  const prefix = parent.endsWith("/") ? parent : `${parent}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : null;
}

/**
 * Sanitise a list of mounts: the same mount twice is kept once; a mount that another
 * already covers (same options, its host and container paths nested at the same place)
 * is dropped; two host paths for one container path are an error.
 *
 * @param mounts The mounts, in order.
 * @returns The mounts to make.
 * @throws {TypeError} When one container path is given two host paths.
 * @example
 * ```ts
 * import { sanitizeMounts } from "./mounts.ts";
 * import { assertEquals } from "@std/assert";
 * const kept = sanitizeMounts([
 *   { host: "/data", container: "/data", options: "" },
 *   { host: "/data/sub", container: "/data/sub", options: "" },
 * ]);
 * assertEquals(kept.length, 1);
 * ```
 */
export function sanitizeMounts(mounts: readonly Mount[]): Mount[] {
  const byTarget = new Map<string, Mount>();
  for (const mount of mounts) {
    const seen = byTarget.get(mount.container);
    if (seen && seen.host !== mount.host) {
      throw new TypeError(
        `Mount point "${mount.container}" is given two host paths: "${seen.host}" and "${mount.host}"`,
      );
    }
    if (!seen) byTarget.set(mount.container, mount);
  }
  const unique = [...byTarget.values()];
  return unique.filter((mount) =>
    !unique.some((other) => {
      if (other === mount || other.options !== mount.options) return false;
      const rest = within(mount.container, other.container);
      return rest !== null && rest !== "" &&
        within(mount.host, other.host) === rest;
    })
  );
}

/**
 * Parse and sanitise a list of volumes.
 *
 * @param specs The volumes.
 * @param kind Tells what a host path is.
 * @returns The mounts and the named mounts' variables.
 */
export function resolveVolumes(
  specs: readonly string[],
  kind: (path: string) => PathKind = pathKind,
): SanitizedMounts {
  const mounts: Mount[] = [];
  const pathEnvs: Record<string, string> = {};
  for (const spec of specs) {
    const { mount, env } = parseVolume(spec, kind);
    mounts.push(mount);
    if (env) {
      if (env[0] in pathEnvs) throw new TypeError(`Named mount "${env[0]}" is given twice`);
      pathEnvs[env[0]] = env[1];
    }
  }
  return { mounts: sanitizeMounts(mounts), pathEnvs };
}

/**
 * The host path that a container path comes from, through the mounts.
 *
 * @param mounts The mounts.
 * @param container A path in the container.
 * @returns The host path, or `null` when no mount covers it.
 */
export function hostPathOf(mounts: readonly Mount[], container: string): string | null {
  let best: Mount | null = null;
  for (const mount of mounts) {
    if (within(container, mount.container) === null) continue;
    if (!best || mount.container.length > best.container.length) best = mount;
  }
  if (!best) return null;
  const rest = within(container, best.container) ?? "";
  return rest ? `${best.host.replace(/\/$/, "")}/${rest}` : best.host;
}
