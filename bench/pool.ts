// The pool rows of the benchmark: N trivial jobs at F forks as the bare loop
// `xargs -P F <engine run> IMAGE /bin/true` (a container a job, the floor of every tool that
// starts one per job), as `xqc run --pool`, and as the same N `/bin/true` in ONE container
// (`xargs -P F` inside it: what the jobs' own processes cost); then the last two with 2N jobs,
// whose difference is what one more job costs in a running pool (these four, several rounds
// for each bare loop); alternated, medians. The job is the program /bin/true, a process in
// every row (bash would run `true` as a builtin, which the one-container row would not).

import { join } from "@std/path";
import { type ImageEngine, imageFor } from "../tests/image.ts";
import { median, timed } from "./measure.ts";

/** Each job: a program, as in every row. */
const JOB = "/bin/true";

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
  /** `xqc run --pool` of twice the jobs, ms. */
  pool2Ms: number[];
  /** Twice the jobs' commands in one container, ms. */
  floor2Ms: number[];
  /** Pool / bare loop (target ≤ 0.25). */
  ratio: number;
  /** (pool − one container) / jobs: all xqc adds, its start and the containers' included. */
  overheadPerJobMs: number;
  /**
   * What xqc adds to one more job in a running pool (target ≤ 10 ms): ((pool of 2N − pool of N)
   * − (one container of 2N − one container of N)) / N, from the medians.
   */
  marginalPerJobMs: number;
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
  /**
   * Pool runs a pair (N and 2N jobs, each with its one-container row): the pool rows cost
   * seconds and the bare loop minutes, and their medians want more samples than the ratio.
   */
  rounds: number;
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
  await Deno.writeTextFile(join(dir, "pool-jobs"), `${JOB}\n`.repeat(jobs));
  await Deno.writeTextFile(join(dir, "pool-jobs-2"), `${JOB}\n`.repeat(2 * jobs));
  const results: PoolResult[] = [];
  for (const engine of bench.engines) {
    const bare: number[] = [];
    const pool: number[] = [];
    const floor: number[] = [];
    const pool2: number[] = [];
    const floor2: number[] = [];
    // Each run's workdir stays until the bench ends: removing thousands of files right before
    // a run slows the run's own file creations on a filesystem without a journal (ext4 walks
    // past every inode freed in the last minutes), a cost of the clean-up, not of the run.
    const runPool = async (file: string, workdir: string) =>
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
        file,
        "--quiet",
      ], dir)).ms;
    const inOne = async (count: number) =>
      (await timed([
        ...runArgv(engine),
        "sh",
        "-c",
        `seq ${count} | xargs -P ${forks} -I{} ${JOB}`,
      ], dir)).ms;
    for (let pair = 0; pair < bench.pairs; pair++) {
      bare.push(
        (await timed(["xargs", "-P", String(forks), "-I{}", ...runArgv(engine), JOB], dir, seq))
          .ms,
      );
      for (let round = 0; round < bench.rounds; round++) {
        const id = `${engine}-${pair}-${round}`;
        pool.push(await runPool("pool-jobs", join(dir, `pool-${id}`)));
        floor.push(await inOne(jobs));
        pool2.push(await runPool("pool-jobs-2", join(dir, `pool2-${id}`)));
        floor2.push(await inOne(2 * jobs));
      }
      const last = (times: number[]) =>
        times.slice(-bench.rounds).map((ms) => ms.toFixed(0)).join("/");
      bench.log(
        `${engine} pool pair ${pair + 1}: bare ${bare.at(-1)!.toFixed(0)} ms, pool ${
          last(pool)
        } ms, one container ${last(floor)} ms; twice the jobs: pool ${
          last(pool2)
        } ms, one container ${last(floor2)} ms`,
      );
    }
    const poolMedian = median(pool);
    const marginal = (median(pool2) - poolMedian - (median(floor2) - median(floor))) / jobs;
    results.push({
      engine,
      jobs,
      forks,
      bareMs: bare.map(Math.round),
      poolMs: pool.map(Math.round),
      floorMs: floor.map(Math.round),
      pool2Ms: pool2.map(Math.round),
      floor2Ms: floor2.map(Math.round),
      ratio: Number((poolMedian / median(bare)).toFixed(3)),
      overheadPerJobMs: Number(((poolMedian - median(floor)) / jobs).toFixed(2)),
      marginalPerJobMs: Number(marginal.toFixed(2)),
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
    "| engine | jobs × forks | bare loop, a container a job | `xqc run --pool` | ratio (target ≤ 0.25) | the jobs in one container | overhead per pooled job, all in | `--pool`, twice the jobs | one container, twice the jobs | overhead of one more job in a running pool (target ≤ 10 ms) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.engine} | ${r.jobs} × ${r.forks} | ${median(r.bareMs)} ms | ${median(r.poolMs)} ms | ${
        r.ratio.toFixed(2)
      } | ${median(r.floorMs)} ms | ${r.overheadPerJobMs} ms | ${median(r.pool2Ms)} ms | ${
        median(r.floor2Ms)
      } ms | ${r.marginalPerJobMs} ms |`
    ),
  ].join("\n");
}
