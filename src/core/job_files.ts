// The files a job can touch, read and written from the host without following its links:
// a job may replace any file of a metadir with a link, a FIFO or a folder.

import * as fs from "node:fs";
import { XqcError } from "./errors.ts";
import { printable } from "./printable.ts";

const { O_RDONLY, O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
// A FIFO opened without O_NONBLOCK waits for a writer (or a reader) forever.
const READ = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const APPEND = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK;
const FRESH = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** A job's file that is not a regular file: a link, a FIFO, a folder, a device (exit 1). */
export class UnsafeFileError extends XqcError {
  /** The file. */
  readonly path: string;
  /** What was found there, in words ("a symbolic link to /etc/passwd"). */
  readonly found: string;
  /**
   * @param path The file.
   * @param found What was found there.
   */
  constructor(path: string, found: string) {
    super(`Refused ${printable(path)}: it is ${found}, not a regular file`, 1);
    this.name = "UnsafeFileError";
    this.path = path;
    this.found = found;
  }
}

/**
 * What a path is, in words, without following it.
 *
 * @param path The path.
 * @returns "a symbolic link to …", "a FIFO", "a folder", … or "gone".
 */
export function describeFile(path: string): string {
  let info: fs.Stats;
  try {
    info = fs.lstatSync(path);
  } catch {
    return "gone";
  }
  if (info.isSymbolicLink()) {
    let target = "";
    try {
      target = ` to ${printable(fs.readlinkSync(path))}`;
    } catch {
      // Gone meanwhile: the kind is enough.
    }
    return `a symbolic link${target}`;
  }
  if (info.isFIFO()) return "a FIFO";
  if (info.isDirectory()) return "a folder";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return info.isFile() ? "a regular file" : "not a file";
}

function refusal(path: string): UnsafeFileError {
  return new UnsafeFileError(path, describeFile(path));
}

/**
 * Open a job's file without following a link; only a regular file is kept open.
 *
 * @param path The file.
 * @param flags The open flags (with O_NOFOLLOW).
 * @returns The descriptor, or `null` when there is no file.
 * @throws {UnsafeFileError} When the path is not a regular file.
 */
function openRegular(path: string, flags: number, mode = 0o644): number | null {
  let fd: number;
  try {
    fd = fs.openSync(path, flags, mode);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") return null;
    // ELOOP: the last part is a link; ENXIO: a FIFO with no reader; EISDIR: a folder.
    if (code === "ELOOP" || code === "ENXIO" || code === "EISDIR" || code === "EEXIST") {
      throw refusal(path);
    }
    throw e;
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw refusal(path);
  }
  return fd;
}

/**
 * Read the start of a job's file, never through a link and never more than `limit` bytes.
 *
 * @param path The file.
 * @param limit The most bytes read.
 * @returns Its text, or `null` when there is none.
 * @throws {UnsafeFileError} When the path is not a regular file.
 * @example
 * ```ts
 * import { readJobFile } from "./job_files.ts";
 * import { assertEquals } from "@std/assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/job.rc`, "0\n");
 * assertEquals(readJobFile(`${dir}/job.rc`), "0\n");
 * assertEquals(readJobFile(`${dir}/job.none`), null);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function readJobFile(path: string, limit = 64 * 1024): string | null {
  const bytes = readJobBytes(path, 0, limit);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

/**
 * Read bytes of a job's file from an offset (or the last bytes: a negative offset), never
 * through a link and never more than `limit`.
 *
 * @param path The file.
 * @param offset Where to start; below 0, that many bytes before the end.
 * @param limit The most bytes read.
 * @returns The bytes, or `null` when there is no file.
 * @throws {UnsafeFileError} When the path is not a regular file.
 */
export function readJobBytes(path: string, offset: number, limit: number): Uint8Array | null {
  const fd = openRegular(path, READ);
  if (fd === null) return null;
  try {
    const size = fs.fstatSync(fd).size;
    const start = offset < 0 ? Math.max(0, size + offset) : offset;
    const buffer = new Uint8Array(Math.max(0, Math.min(limit, size - start)));
    let read = 0;
    while (read < buffer.length) {
      const n = fs.readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n <= 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Append to a job's file, never through a link: a file that is not a regular one is refused.
 *
 * @param path The file (made when missing; nothing is written when its folder is).
 * @param text The text.
 * @throws {UnsafeFileError} When the path is not a regular file.
 */
export function appendJobFile(path: string, text: string): void {
  const fd = openRegular(path, APPEND);
  // No folder to write in: a job that never started has no metadir yet.
  if (fd === null) return;
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write a job's file anew: whatever is at the path (a link, a FIFO, a folder) is removed,
 * not written through, and a new file is made in its place.
 *
 * @param path The file.
 * @param text Its text.
 * @param mode Its permission bits.
 * @example
 * ```ts
 * import { readJobFile, writeJobFile } from "./job_files.ts";
 * import { assertEquals } from "@std/assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/secret`, "s");
 * Deno.symlinkSync(`${dir}/secret`, `${dir}/job.rc`);
 * writeJobFile(`${dir}/job.rc`, "-3\n");
 * assertEquals(Deno.readTextFileSync(`${dir}/secret`), "s");
 * assertEquals(readJobFile(`${dir}/job.rc`), "-3\n");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeJobFile(path: string, text: string, mode = 0o644): void {
  for (let tries = 0;; tries++) {
    try {
      const fd = fs.openSync(path, FRESH, mode);
      try {
        fs.writeSync(fd, text);
      } finally {
        fs.closeSync(fd);
      }
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST" || tries >= 3) throw e;
      // Removing a link removes the link; a folder goes whole, its links not followed.
      Deno.removeSync(path, { recursive: true });
    }
  }
}

/**
 * Make a folder of a metadir, or make sure the one there is a folder and not a link to one.
 *
 * @param path The folder.
 * @throws {UnsafeFileError} When something else is there and cannot be removed.
 */
export function makeJobFolder(path: string): void {
  for (let tries = 0;; tries++) {
    try {
      Deno.mkdirSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const info = Deno.lstatSync(path);
    if (info.isDirectory) return;
    if (tries >= 3) throw refusal(path);
    Deno.removeSync(path);
  }
}
