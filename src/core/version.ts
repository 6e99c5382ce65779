// The package's version (kept equal to deno.json's by a test).

/** The version of @xq/container. */
export const VERSION = "0.1.0";
