// The resume hash of every job of a run, 32 bytes a job in one buffer: 100,000 hex strings
// in a map would take ten times that.

import { decodeHex, encodeHex } from "@std/encoding/hex";
import { grown } from "../core/grow.ts";

/**
 * Jobs' SHA-256 hashes, by index.
 *
 * @example
 * ```ts
 * import { JobHashes } from "./hashes.ts";
 * import { assertEquals } from "@std/assert";
 * const hashes = new JobHashes();
 * hashes.set(5000, "0a".repeat(32));
 * assertEquals([hashes.get(5000), hashes.get(4)], ["0a".repeat(32), ""]);
 * ```
 */
export class JobHashes {
  #bytes = new Uint8Array(32 * 1024);
  #set = new Uint8Array(1024);

  /**
   * Keep a job's hash.
   *
   * @param index The job's index.
   * @param hex Its hash, 64 hex digits.
   */
  set(index: number, hex: string): void {
    this.#set = grown(this.#set, index + 1);
    this.#bytes = grown(this.#bytes, (index + 1) * 32);
    this.#bytes.set(decodeHex(hex), index * 32);
    this.#set[index] = 1;
  }

  /**
   * A job's hash.
   *
   * @param index The job's index.
   * @returns 64 hex digits, or "" when none was kept.
   */
  get(index: number): string {
    if (!this.#set[index]) return "";
    // One flat string (one made by `+=` would be a tree of 64 pieces, kept whole by the
    // job's record until it is written).
    return encodeHex(this.#bytes.subarray(index * 32, index * 32 + 32));
  }
}
