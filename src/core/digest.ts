// SHA-256 digests as hex, of text or of a file's content.

import { createHash } from "node:crypto";
import { encodeHex } from "@std/encoding/hex";

/**
 * The SHA-256 digest of text or bytes.
 *
 * @param data The text (as UTF-8) or bytes.
 * @returns 64 hex digits.
 */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return encodeHex(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  ) as string;
}

/**
 * The SHA-256 digest of text, computed at once (where an await is not possible).
 *
 * @param text The text (as UTF-8).
 * @returns 64 hex digits.
 */
export function sha256HexSync(text: string): string {
  return encodeHex(createHash("sha256").update(text).digest()) as string;
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
