/**
 * Run batches of shell jobs inside containers (Docker, Podman, Apptainer) or locally,
 * with a concurrency limit, retries, per-job logs and exit codes, and state in Deno.Kv.
 * The names follow the Python library xqute's (`Xqute`, `ContainerScheduler`,
 * `JobStatus`, …), in camelCase.
 *
 * ```ts
 * import { Xqute } from "@xq/container";
 *
 * const xq = new Xqute({ forks: 2, workdir: await Deno.makeTempDir() });
 * await xq.feed(["echo", "hello"], { envs: { SEED: "1" } });
 * const summary = await xq.runUntilComplete();
 * console.log(summary.succeeded); // 1
 * ```
 *
 * Run as a program (`deno run -A jsr:@xq/container run …`), this module is the `xqc`
 * command line.
 *
 * @module
 */

export * from "./src/status.ts";
export * from "./src/errors.ts";
export * from "./src/shell.ts";
export * from "./src/job.ts";
export * from "./src/wrapper.ts";
export * from "./src/plugin.ts";
export * from "./src/scheduler.ts";
export * from "./src/local_scheduler.ts";
export * from "./src/container_scheduler.ts";
export * from "./src/engine.ts";
export * from "./src/mounts.ts";
export * from "./src/state.ts";
export * from "./src/summary.ts";
export * from "./src/xqute.ts";
export * from "./src/version.ts";
export type { JobProcess } from "./src/process.ts";

if (import.meta.main) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(Deno.args));
}
