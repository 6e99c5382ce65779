// The resume hash of every job of a run, 32 bytes a job in one buffer: 100,000 hex strings
// in a map would take ten times that.

import { grown } from "../core/grow.ts";

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

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
    for (let i = 0; i < 32; i++) {
      this.#bytes[index * 32 + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    }
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
    // One flat string: one made by `+=` is a tree of 64 pieces, kept whole by the job's
    // record until it is written.
    const pairs = new Array<string>(32);
    for (let i = 0; i < 32; i++) pairs[i] = HEX[this.#bytes[index * 32 + i]];
    return pairs.join("");
  }
}
