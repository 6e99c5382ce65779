// Digests as hex: SHA-256 of text or of a file's content, and a short hash for names.

import { createHash } from "node:crypto";

/**
 * The SHA-256 digest of text or bytes.
 *
 * @param data The text (as UTF-8) or bytes.
 * @returns 64 hex digits.
 */
export function sha256Hex(data: string | Uint8Array): Promise<string> {
  // Synchronous, in this thread: a job's hash is small, and Web Crypto's digest goes
  // through the thread pool, a hop that 100,000 jobs pay 100,000 times.
  return Promise.resolve(createHash("sha256").update(data).digest("hex"));
}

/**
 * A short name for text, computed at once: the 32-bit FNV-1a hash as 8 hex digits. For
 * names (of what a workdir leaves outside it), not for integrity; Web Crypto's SHA-256 is
 * async, and loading node:crypto would cost every start of `xqc` tens of milliseconds.
 *
 * @param text The text (as UTF-8).
 * @returns 8 hex digits.
 * @example
 * ```ts
 * import { shortHash } from "./digest.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(shortHash("a"), "e40c292c");
 * ```
 */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * The SHA-256 digest of a file's content, read in pieces so a large image does not sit
 * in memory at once.
 *
 * @param path The file.
 * @returns 64 hex digits.
 */
export async function fileSha256Hex(path: string): Promise<string> {
  // Web Crypto has no streaming digest: hash fixed-size pieces, then the list of their digests.
  const file = await Deno.open(path);
  const parts: string[] = [];
  try {
    const buffer = new Uint8Array(8 * 1024 * 1024);
    for (;;) {
      let filled = 0;
      while (filled < buffer.length) {
        const n = await file.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      if (filled === 0) break;
      parts.push(await sha256Hex(buffer.slice(0, filled)));
      if (filled < buffer.length) break;
    }
  } finally {
    file.close();
  }
  return await sha256Hex(parts.join("\n"));
}
