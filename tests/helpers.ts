// Test helpers: real engines (skipped with a message when missing, unless required).

import { join } from "@std/path";
import { readState } from "../mod.ts";
import { engineProblem, ensureImage, sh } from "./image.ts";

export { imageFor, sh, TEST_IMAGE, TEST_SIF } from "./image.ts";

/** The engines the tests know. */
export type TestEngine = "docker" | "podman" | "apptainer";

const required = new Set(
  (Deno.env.get("XQC_REQUIRE_ENGINES") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
);
const ready = new Map<TestEngine, Promise<string | null>>();

async function prepare(engine: TestEngine): Promise<string | null> {
  return await engineProblem(engine) ?? await ensureImage(engine);
}

/**
 * Make sure an engine runs and has the test image.
 *
 * @returns `null` when it is ready, or why it is not. Throws when the engine is required.
 */
export async function engineReady(engine: TestEngine): Promise<string | null> {
  if (!ready.has(engine)) ready.set(engine, prepare(engine));
  const why = await ready.get(engine)!;
  if (why && required.has(engine)) {
    throw new Error(`${engine} is required (XQC_REQUIRE_ENGINES) but unavailable: ${why}`);
  }
  if (why) console.log(`%cSKIPPED ${engine}: ${why}`, "color: yellow");
  return why;
}

/** A fresh temporary folder (removed at exit is not needed: /tmp). */
export function tempDir(prefix = "xqc-test-"): Promise<string> {
  return Deno.makeTempDir({ prefix });
}

/** The engines, for tests that run on each. */
export const ENGINE_NAMES: TestEngine[] = ["docker", "podman", "apptainer"];

/** Names of the containers of a workdir that the engine still has. */
export async function containersOf(
  engine: "docker" | "podman",
  workdir: string,
): Promise<string[]> {
  const out = await sh([
    engine,
    "ps",
    "-a",
    "--filter",
    `label=xqc.workdir=${workdir}`,
    "--format",
    "{{.Names}}",
  ]);
  return out.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** Read a file of a job. */
export function readJobFile(workdir: string, index: number, file: string): Promise<string> {
  return Deno.readTextFile(join(workdir, String(index), file));
}

/** Wait until a condition holds, checking every 50 ms, up to a limit (tests only). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** How many jobs of a workdir's run are RUNNING, from its Kv state (read from outside). */
export async function runningJobs(workdir: string): Promise<number> {
  const state = await readState(workdir).catch(() => null);
  return state?.jobs.filter((j) => j.status === 4).length ?? 0;
}
