// The Slurm rows of the benchmark: N trivial jobs as a bare loop (sbatch --wrap each, then
// wait until squeue shows none), as `xqc run --scheduler slurm` one sbatch a job, and as
// `xqc run` with arrays; alternated, medians.

import { join } from "@std/path";
import { median, timed } from "./measure.ts";

/** The Slurm rows' results. */
export interface SlurmResult {
  /** Jobs a run. */
  jobs: number;
  /** The bare loop's times, ms. */
  bareMs: number[];
  /** xqc's times, one sbatch a job, ms. */
  xqcMs: number[];
  /** xqc's times with arrays, ms. */
  arrayMs: number[];
  /** xqc's times with a pool of 8 allocations (`--pool -n 8`), ms. */
  poolMs: number[];
  /** xqc (single) / bare. */
  ratio: number;
  /** xqc (arrays) / bare. */
  arrayRatio: number;
  /** xqc (pool) / bare. */
  poolRatio: number;
}

/** What the Slurm rows need from the harness. */
export interface SlurmBench {
  /** Jobs a run. */
  jobs: number;
  /** Alternated rounds. */
  pairs: number;
  /** A scratch folder. */
  dir: string;
  /** The argv that runs `xqc` as shipped. */
  xqc: string[];
  /** Progress lines. */
  log: (text: string) => void;
}

/** Whether the cluster answers. */
export async function slurmAnswers(): Promise<boolean> {
  try {
    const ping = await new Deno.Command("scontrol", { args: ["ping"], stdout: "piped" }).output();
    return /is UP/.test(new TextDecoder().decode(ping.stdout));
  } catch {
    return false;
  }
}

/**
 * Run the Slurm rows.
 *
 * @param bench The harness's settings.
 * @returns The times and ratios.
 */
export async function benchSlurm(bench: SlurmBench): Promise<SlurmResult> {
  const { jobs, dir } = bench;
  await Deno.writeTextFile(join(dir, "slurm-jobs"), "true\n".repeat(jobs));
  // The bare loop a user would write: submit each, then wait until the queue has none.
  const bare = join(dir, "slurm-bare.sh");
  await Deno.writeTextFile(
    bare,
    `set -e
ids=$(for i in $(seq ${jobs}); do sbatch --parsable -o /dev/null -J xqc-bench-bare --wrap true; done | paste -sd,)
while [ -n "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ]; do sleep 0.2; done
`,
  );
  const times = {
    bare: [] as number[],
    xqc: [] as number[],
    array: [] as number[],
    pool: [] as number[],
  };
  for (let pair = 0; pair < bench.pairs; pair++) {
    times.bare.push((await timed(["bash", bare], dir)).ms);
    const run = (name: string, how: string[], forks = jobs) =>
      timed([
        ...bench.xqc,
        "run",
        "--scheduler",
        "slurm",
        "-n",
        String(forks),
        "-w",
        join(dir, `wd-slurm-${name}-${pair}`),
        "-j",
        "slurm-jobs",
        "--quiet",
        ...how,
      ], dir);
    times.xqc.push((await run("single", ["--no-slurm-array"])).ms);
    times.array.push((await run("array", ["--slurm-array"])).ms);
    times.pool.push((await run("pool", ["--pool"], 8)).ms);
    bench.log(
      `slurm pair ${pair + 1}: bare ${times.bare.at(-1)!.toFixed(0)} ms, xqc ${
        times.xqc.at(-1)!.toFixed(0)
      } ms, xqc arrays ${times.array.at(-1)!.toFixed(0)} ms, xqc pool ${
        times.pool.at(-1)!.toFixed(0)
      } ms`,
    );
  }
  const bareMedian = median(times.bare);
  return {
    jobs,
    bareMs: times.bare.map(Math.round),
    xqcMs: times.xqc.map(Math.round),
    arrayMs: times.array.map(Math.round),
    poolMs: times.pool.map(Math.round),
    ratio: Number((median(times.xqc) / bareMedian).toFixed(3)),
    arrayRatio: Number((median(times.array) / bareMedian).toFixed(3)),
    poolRatio: Number((median(times.pool) / bareMedian).toFixed(3)),
  };
}

/**
 * The Slurm rows as a Markdown table.
 *
 * @param result The results.
 * @returns The table.
 */
export function slurmTable(result: SlurmResult): string {
  return [
    "| slurm jobs | bare sbatch loop | xqc run | ratio | xqc run, arrays | ratio | xqc run --pool -n 8 | ratio |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${result.jobs} | ${Math.round(median(result.bareMs))} ms | ${
      Math.round(median(result.xqcMs))
    } ms | ${result.ratio.toFixed(2)} | ${Math.round(median(result.arrayMs))} ms | ${
      result.arrayRatio.toFixed(2)
    } | ${Math.round(median(result.poolMs))} ms | ${result.poolRatio.toFixed(2)} |`,
  ].join("\n");
}
