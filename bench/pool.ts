// The pool rows of the benchmark: N trivial jobs at F forks as the bare loop
// `xargs -P F <engine run> IMAGE true` (a container a job, the floor of every tool that
// starts one per job), as `xqc run --pool`, and as the same N `true` in ONE container
// (`xargs -P F` inside it: what the jobs' own processes cost); alternated, medians.

import { join } from "@std/path";
import { type ImageEngine, imageFor } from "../tests/image.ts";
import { median, timed } from "./measure.ts";

/** One engine's pool row. */
export interface PoolResult {
  /** The engine. */
  engine: ImageEngine;
  /** Jobs a run. */
  jobs: number;
  /** Jobs at once. */
  forks: number;
  /** The bare loop's times, a container a job, ms. */
  bareMs: number[];
  /** `xqc run --pool`'s times, ms. */
  poolMs: number[];
  /** The jobs' commands in one container, ms. */
  floorMs: number[];
  /** Pool / bare loop (target ≤ 0.25). */
  ratio: number;
  /** (pool − one container) / jobs: what xqc adds to each job in a pool (target ≤ 10 ms). */
  overheadPerJobMs: number;
}

/** What the pool rows need from the harness. */
export interface PoolBench {
  /** The engines to run. */
  engines: ImageEngine[];
  /** Jobs a run. */
  jobs: number;
  /** Jobs at once. */
  forks: number;
  /** Alternated rounds. */
  pairs: number;
  /** A scratch folder. */
  dir: string;
  /** The argv that runs `xqc` as shipped. */
  xqc: string[];
  /** Progress lines. */
  log: (text: string) => void;
}

function runArgv(engine: ImageEngine): string[] {
  return engine === "apptainer"
    ? ["apptainer", "-q", "exec", imageFor(engine)]
    : [engine, "run", "--rm", imageFor(engine)];
}

/**
 * Run the pool rows.
 *
 * @param bench The harness's settings.
 * @returns One row an engine.
 */
export async function benchPool(bench: PoolBench): Promise<PoolResult[]> {
  const { jobs, forks, dir } = bench;
  const seq = Array.from({ length: jobs }, (_, i) => `${i}\n`).join("");
  await Deno.writeTextFile(join(dir, "pool-jobs"), "true\n".repeat(jobs));
  const results: PoolResult[] = [];
  for (const engine of bench.engines) {
    const bare: number[] = [];
    const pool: number[] = [];
    const floor: number[] = [];
    for (let pair = 0; pair < bench.pairs; pair++) {
      bare.push(
        (await timed(["xargs", "-P", String(forks), "-I{}", ...runArgv(engine), "true"], dir, seq))
          .ms,
      );
      const workdir = join(dir, `pool-${engine}-${pair}`);
      pool.push(
        (await timed([
          ...bench.xqc,
          "run",
          "--pool",
          "-b",
          engine,
          "-i",
          imageFor(engine),
          "-n",
          String(forks),
          "-w",
          workdir,
          "-j",
          "pool-jobs",
          "--quiet",
        ], dir)).ms,
      );
      floor.push(
        (await timed([
          ...runArgv(engine),
          "sh",
          "-c",
          `seq ${jobs} | xargs -P ${forks} -I{} true`,
        ], dir)).ms,
      );
      bench.log(
        `${engine} pool pair ${pair + 1}: bare ${bare.at(-1)!.toFixed(0)} ms, pool ${
          pool.at(-1)!.toFixed(0)
        } ms, one container ${floor.at(-1)!.toFixed(0)} ms`,
      );
      await Deno.remove(workdir, { recursive: true }).catch(() => {});
    }
    const poolMedian = median(pool);
    results.push({
      engine,
      jobs,
      forks,
      bareMs: bare.map(Math.round),
      poolMs: pool.map(Math.round),
      floorMs: floor.map(Math.round),
      ratio: Number((poolMedian / median(bare)).toFixed(3)),
      overheadPerJobMs: Number(((poolMedian - median(floor)) / jobs).toFixed(2)),
    });
  }
  return results;
}

/**
 * The pool rows as a Markdown table.
 *
 * @param rows The rows.
 * @returns The table.
 */
export function poolTable(rows: readonly PoolResult[]): string {
  return [
    "| engine | jobs × forks | bare loop, a container a job | `xqc run --pool` | ratio (target ≤ 0.25) | the jobs in one container | overhead per pooled job (target ≤ 10 ms) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.engine} | ${r.jobs} × ${r.forks} | ${median(r.bareMs)} ms | ${median(r.poolMs)} ms | ${
        r.ratio.toFixed(2)
      } | ${median(r.floorMs)} ms | ${r.overheadPerJobMs} ms |`
    ),
  ].join("\n");
}
