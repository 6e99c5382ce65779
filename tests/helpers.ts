// Test helpers: real engines (skipped with a message when missing, unless required).

import { join } from "@std/path";
import { readState } from "../mod.ts";
import { engineProblem, ensureImage, run, sh } from "./image.ts";

export { imageFor, sh, TEST_IMAGE, TEST_SIF } from "./image.ts";
import { tempDir } from "./temp.ts";
export { tempDir };

/** The container engines the tests know. */
export type ContainerEngine = "docker" | "podman" | "apptainer";
/** The engines the tests know, the Slurm cluster, the Grid Engine cell, and the registry. */
export type TestEngine = ContainerEngine | "slurm" | "sge" | "registry";

const required = new Set(
  (Deno.env.get("XQC_REQUIRE_ENGINES") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
);
const ready = new Map<TestEngine, Promise<string | null>>();

async function prepare(engine: TestEngine): Promise<string | null> {
  if (engine === "slurm") return await slurmProblem();
  if (engine === "sge") return await sgeProblem();
  if (engine === "registry") return await registryProblem();
  return await engineProblem(engine) ?? await ensureImage(engine);
}

/** The local registry (`../shared/registry/registry-up.sh` starts it) and its log. */
export const REGISTRY = "127.0.0.1:5000";
export const REGISTRY_LOG = join(
  Deno.env.get("XQC_REGISTRY_DIR") ?? "/tmp/xqc-registry",
  "registry.log",
);

async function registryProblem(): Promise<string | null> {
  try {
    const reply = await fetch(`http://${REGISTRY}/v2/`, { signal: AbortSignal.timeout(3000) });
    await reply.body?.cancel();
    return reply.headers.get("docker-distribution-api-version")
      ? null
      : "no distribution registry answers on 127.0.0.1:5000";
  } catch (e) {
    return `the registry on ${REGISTRY} does not answer: ${(e as Error).message}`;
  }
}

/** Why the Slurm cluster cannot run jobs here (`../shared/cluster/slurm-up.sh` starts it). */
async function slurmProblem(): Promise<string | null> {
  if ((await run(["sh", "-c", "command -v sbatch"])).code !== 0) return "slurm is not installed";
  const ping = await run(["scontrol", "ping"]);
  return /is UP/.test(ping.out) ? null : `the slurm controller does not answer: ${ping.out.trim()}`;
}

/**
 * Why the Grid Engine cell cannot run jobs here (`../shared/cluster/sge-up.sh` starts it).
 * Its clients need SGE_ROOT and SGE_CELL: the cell's own are set when they are not.
 */
async function sgeProblem(): Promise<string | null> {
  if ((await run(["sh", "-c", "command -v qsub"])).code !== 0) return "qsub is not installed";
  if (!Deno.env.get("SGE_ROOT")) Deno.env.set("SGE_ROOT", "/var/lib/gridengine");
  if (!Deno.env.get("SGE_CELL")) Deno.env.set("SGE_CELL", "default");
  const ping = await run(["qstat", "-xml"]);
  return ping.code === 0 ? null : `the Grid Engine cell does not answer: ${ping.out.trim()}`;
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

const decided = new Map<TestEngine, string | null>();

/**
 * Decide, before any test is registered, whether engines can run here (building the test
 * image where needed). A missing engine is said once and its tests are ignored; a required
 * one (XQC_REQUIRE_ENGINES) that is missing throws, failing the test file.
 *
 * @param engines The engines a test file needs.
 */
export async function checkEngines(...engines: TestEngine[]): Promise<void> {
  for (const engine of engines) decided.set(engine, await engineReady(engine));
}

/**
 * Register a test that needs engines: reported as ignored, never as passed, where one is
 * missing. Call {@linkcode checkEngines} for them first.
 *
 * @param engines The engine, or engines, the test needs.
 * @param name The test's name.
 * @param fn The test.
 * @param ignore Ignore it for another reason (said by the caller).
 */
export function testOn(
  engines: TestEngine | TestEngine[],
  name: string,
  fn: () => Promise<void>,
  ignore = false,
): void {
  const why = [engines].flat().map((engine) => {
    if (!decided.has(engine)) throw new Error(`checkEngines("${engine}") must come first`);
    return decided.get(engine);
  }).find(Boolean);
  const slurm = [engines].flat().includes("slurm");
  Deno.test({ name, ignore: ignore || Boolean(why), fn: slurm ? () => onCluster(fn, false) : fn });
}

/**
 * Register a Slurm test that upsets the whole cluster (a node taken down, the controller
 * stopped): it runs alone, while no other Slurm test of any file runs.
 *
 * @param name The test's name.
 * @param fn The test.
 * @param ignore Ignore it for another reason (said by the caller).
 */
export function testOnWholeCluster(name: string, fn: () => Promise<void>, ignore = false): void {
  if (!decided.has("slurm")) throw new Error(`checkEngines("slurm") must come first`);
  Deno.test({
    name,
    ignore: ignore || Boolean(decided.get("slurm")),
    fn: () => onCluster(fn, true),
  });
}

/** Run a Slurm test under the cluster's lock: shared by ordinary tests, whole for upsets. */
async function onCluster(fn: () => Promise<void>, whole: boolean): Promise<void> {
  const lock = await Deno.open("/tmp/xqc-slurm-tests.lock", { create: true, write: true });
  try {
    await lock.lock(whole);
    await fn();
  } finally {
    lock.close();
  }
}

/** The engines, for tests that run on each. */
export const ENGINE_NAMES: ContainerEngine[] = ["docker", "podman", "apptainer"];

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
  while (!(await check())) {
    if (Date.now() >= end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many jobs of a workdir's run are RUNNING, from its Kv state (read from outside). */
export async function runningJobs(workdir: string): Promise<number> {
  const state = await readState(workdir).catch(() => null);
  // 4 is how an older main wrote RUNNING (these helpers also drive older checkouts).
  return state?.jobs.filter((j) => j.status === "RUNNING" || (j.status as unknown) === 4)
    .length ?? 0;
}

/** The pids of the processes whose argv is exactly this (read from /proc). */
export function processesRunning(...argv: string[]): number[] {
  const wanted = argv.join("\0") + "\0";
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`) === wanted) {
        found.push(Number(entry.name));
      }
    } catch {
      // Gone.
    }
  }
  return found;
}

/**
 * The real engine behind a script that fails some of its calls first, for faults no engine
 * gives at will: `<dir>/bin/<engine>` runs `fault` (bash, with the call's arguments as
 * `$@`), then execs the engine.
 */
export async function faultyEngine(engine: string, fault: string): Promise<string> {
  const dir = await tempDir("xqc-faulty-");
  const bin = join(dir, "bin", engine);
  await Deno.mkdir(join(dir, "bin"));
  await Deno.writeTextFile(bin, `#!/bin/bash\n${fault}\nexec ${engine} "$@"\n`);
  await Deno.chmod(bin, 0o755);
  return bin;
}

/** Slurm states of a job that still holds its place. */
const SLURM_LIVE = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "SUSPENDED"];

/**
 * A workdir's Slurm jobs as squeue lists them for this user (finished ones too, while Slurm
 * keeps them), found by the job names of the workdir (`<prefix>-<8 hex>-…`, read from its
 * job 0's batch script).
 *
 * @param workdir The workdir.
 * @returns Each job's name, state, and whether it still holds its place.
 */
export async function slurmJobsOf(
  workdir: string,
): Promise<{ name: string; state: string; live: boolean }[]> {
  const script = await Deno.readTextFile(join(workdir, "0", "job.sbatch"));
  const stem = script.match(/--job-name=(\S+)-0\n/)![1];
  return (await sh(["squeue", "-h", "--me", "-t", "all", "-o", "%j|%T"])).split("\n")
    .filter((line) => line.startsWith(stem + "-")).map((line) => {
      const [name, state] = line.split("|");
      return { name, state, live: SLURM_LIVE.includes(state) };
    });
}

/**
 * Wait until a run's jobs reach a count of RUNNING in its Kv state.
 *
 * @param workdir The run's workdir.
 * @param count How many.
 * @param ms How long at most.
 */
export async function untilRunning(workdir: string, count: number, ms = 60_000): Promise<void> {
  await waitFor(`${count} job(s) running in ${workdir}`, async () => {
    const state = await readState(workdir).catch(() => null);
    return (state?.jobs.filter((j) => j.status === "RUNNING").length ?? 0) >= count;
  }, ms);
}

/**
 * A program that logs each call and runs the real one (to count a cluster's status and
 * cancel calls).
 *
 * @param program The real program, on PATH.
 * @param dir Where the wrapper and its log go.
 * @returns The wrapper's path, and how many times it was called.
 */
export async function counted(
  program: string,
  dir: string,
): Promise<{ path: string; calls(): number }> {
  const path = join(dir, `counted-${program}`);
  const log = join(dir, `${program}.calls`);
  await Deno.writeTextFile(path, `#!/bin/sh\necho "$*" >>${log}\nexec ${program} "$@"\n`);
  await Deno.chmod(path, 0o755);
  return {
    path,
    calls: () => {
      try {
        return Deno.readTextFileSync(log).split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    },
  };
}
