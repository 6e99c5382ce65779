// The Grid Engine rows of the benchmark: N trivial jobs as a bare loop (qsub each, then wait
// until qstat shows none of them), as `xqc run --scheduler sge` one qsub a job, and with
// arrays; alternated, medians.

import { join } from "@std/path";
import { median, timed } from "./measure.ts";

/** The Grid Engine rows' results. */
export interface SgeResult {
  /** Jobs a run. */
  jobs: number;
  /** The bare loop's times, ms. */
  bareMs: number[];
  /** xqc's times, one qsub a job, ms. */
  xqcMs: number[];
  /** xqc's times with arrays, ms. */
  arrayMs: number[];
  /** xqc (single) / bare. */
  ratio: number;
  /** xqc (arrays) / bare. */
  arrayRatio: number;
}

/** Whether the cell answers. */
export async function sgeAnswers(): Promise<boolean> {
  try {
    const ping = await new Deno.Command("qstat", { args: ["-xml"], stdout: "null" }).output();
    return ping.code === 0;
  } catch {
    return false;
  }
}

/**
 * Run the Grid Engine rows.
 *
 * @param bench Jobs a run, alternated rounds, a scratch folder, xqc's argv, progress lines.
 * @returns The times and ratios.
 */
export async function benchSge(bench: {
  jobs: number;
  pairs: number;
  dir: string;
  xqc: string[];
  log: (text: string) => void;
}): Promise<SgeResult> {
  const { jobs, dir } = bench;
  await Deno.writeTextFile(join(dir, "sge-jobs"), "true\n".repeat(jobs));
  // The bare loop a user would write: submit each, then wait until qstat lists none of them.
  const bare = join(dir, "sge-bare.sh");
  await Deno.writeTextFile(
    bare,
    `set -e
ids=$(for i in $(seq ${jobs}); do qsub -terse -o /dev/null -j y -N xqc-bench-bare -b y true; done)
while qstat | awk 'NR > 2 {print $1}' | grep -qxF -f <(echo "$ids"); do sleep 0.2; done
`,
  );
  const times = { bare: [] as number[], xqc: [] as number[], array: [] as number[] };
  for (let pair = 0; pair < bench.pairs; pair++) {
    times.bare.push((await timed(["bash", bare], dir)).ms);
    const run = (name: string, how: string) =>
      timed([
        ...bench.xqc,
        "run",
        "--scheduler",
        "sge",
        "-n",
        String(jobs),
        "-w",
        join(dir, `wd-sge-${name}-${pair}`),
        "-j",
        "sge-jobs",
        "--quiet",
        how,
      ], dir);
    times.xqc.push((await run("single", "--no-sge-array")).ms);
    times.array.push((await run("array", "--sge-array")).ms);
    bench.log(
      `sge pair ${pair + 1}: bare ${times.bare.at(-1)!.toFixed(0)} ms, xqc ${
        times.xqc.at(-1)!.toFixed(0)
      } ms, xqc arrays ${times.array.at(-1)!.toFixed(0)} ms`,
    );
  }
  const bareMedian = median(times.bare);
  return {
    jobs,
    bareMs: times.bare.map(Math.round),
    xqcMs: times.xqc.map(Math.round),
    arrayMs: times.array.map(Math.round),
    ratio: Number((median(times.xqc) / bareMedian).toFixed(3)),
    arrayRatio: Number((median(times.array) / bareMedian).toFixed(3)),
  };
}

/**
 * The Grid Engine rows as a Markdown table.
 *
 * @param result The results.
 * @returns The table.
 */
export function sgeTable(result: SgeResult): string {
  return [
    "| sge jobs | bare qsub loop | xqc run | ratio | xqc run, arrays | ratio |",
    "| --- | --- | --- | --- | --- | --- |",
    `| ${result.jobs} | ${Math.round(median(result.bareMs))} ms | ${
      Math.round(median(result.xqcMs))
    } ms | ${result.ratio.toFixed(2)} | ${Math.round(median(result.arrayMs))} ms | ${
      result.arrayRatio.toFixed(2)
    } |`,
  ].join("\n");
}
