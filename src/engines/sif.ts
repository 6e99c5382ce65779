// Apptainer's images in xqc's cache: URIs pulled once into SIFs named by their content,
// SIF digests remembered by size and time, and the cgroups configuration for limits.

import { join } from "@std/path/posix";
import { fileSha256Hex, sha256Hex } from "../core/digest.ts";
import { EngineUnavailableError } from "../core/errors.ts";
import { withFileLock } from "../core/lock.ts";
import type { PullOptions, ResolvedImage } from "./engine.ts";
import { pullWithProgress } from "./pull.ts";

async function readText(path: string): Promise<string | null> {
  return await Deno.readTextFile(path).then((t) => t.trim(), () => null);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * A URI's SIF: from the cache, or pulled once (under a lock, so that concurrent runs do not
 * pull it twice, which apptainer does not survive) into `<sifCache>/<sha256>.sif`.
 *
 * @param bin apptainer.
 * @param uri The image's URI (`docker://…`, `oras://…`).
 * @param options When and how to pull, and where.
 * @returns The SIF's path and its SHA-256.
 */
export async function pulledSif(
  bin: string,
  uri: string,
  options: PullOptions,
): Promise<ResolvedImage> {
  const key = await sha256Hex(uri);
  const index = join(options.sifCache, "index", key);
  const cached = async (): Promise<ResolvedImage | null> => {
    const digest = await readText(index);
    const sif = digest ? join(options.sifCache, `${digest}.sif`) : "";
    return digest && await exists(sif) ? { ref: sif, id: digest } : null;
  };
  if (options.pull !== "always") {
    const hit = await cached();
    if (hit) return hit;
  }
  if (options.pull === "never") {
    throw new EngineUnavailableError(
      `Image "${uri}" is not in the SIF cache ${options.sifCache} and --pull is never`,
    );
  }
  const lock = join(options.cacheDir, "locks", `sif-${key}.lock`);
  return await withFileLock(lock, async () => {
    if (options.pull !== "always") {
      const hit = await cached();
      if (hit) return hit;
    }
    await Deno.mkdir(join(options.sifCache, "index"), { recursive: true });
    const part = join(options.sifCache, `.pulling-${crypto.randomUUID()}.sif`);
    try {
      await pullWithProgress(
        [bin, "pull", ...options.pullArgs, part, uri],
        uri,
        "apptainer",
        options,
      );
      const digest = await fileSha256Hex(part);
      await Deno.rename(part, join(options.sifCache, `${digest}.sif`));
      await Deno.writeTextFile(index, `${digest}\n`);
      return { ref: join(options.sifCache, `${digest}.sif`), id: digest };
    } finally {
      await Deno.remove(part).catch(() => {});
    }
  });
}

/**
 * What identifies an image file's content: its SHA-256, remembered with its size and time
 * so that a large SIF is read once; a sandbox folder is named by its path and time.
 *
 * @param path The image.
 * @param info Its file information.
 * @param cacheDir xqc's cache folder.
 * @returns The id.
 */
export async function sifDigest(
  path: string,
  info: Deno.FileInfo,
  cacheDir: string,
): Promise<string> {
  const stamp = `${info.size}:${info.mtime?.getTime() ?? 0}`;
  if (info.isDirectory) return `sandbox:${await Deno.realPath(path)}:${stamp}`;
  const memo = join(cacheDir, "digests", await sha256Hex(await Deno.realPath(path)));
  const known = await readText(memo);
  if (known?.startsWith(`${stamp} `)) return known.slice(stamp.length + 1);
  const digest = await fileSha256Hex(path);
  await Deno.mkdir(join(cacheDir, "digests"), { recursive: true });
  await Deno.writeTextFile(memo, `${stamp} ${digest}\n`).catch(() => {});
  return digest;
}

/**
 * A copy of apptainer's configuration that manages cgroups itself instead of through
 * systemd (`systemd cgroups = no`), for machines where systemd is not init.
 *
 * @param cacheDir Where the copy goes.
 * @returns Its path.
 * @throws {EngineUnavailableError} When the configuration cannot be read.
 */
export async function cgroupsConfig(cacheDir: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile("/etc/apptainer/apptainer.conf");
  } catch (e) {
    throw new EngineUnavailableError(
      `Apptainer's configuration cannot be read to apply limits: ${(e as Error).message}`,
    );
  }
  const changed = text.replace(/^\s*systemd cgroups\s*=.*$/m, "systemd cgroups = no");
  const path = join(cacheDir, `apptainer-${(await sha256Hex(changed)).slice(0, 12)}.conf`);
  if (!(await exists(path))) {
    await Deno.mkdir(cacheDir, { recursive: true });
    // Apptainer reads a configuration only when root owns it and nobody else can write it.
    await Deno.writeTextFile(`${path}.part`, changed, { mode: 0o644 });
    await Deno.rename(`${path}.part`, path);
  }
  return path;
}
