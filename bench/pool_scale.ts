// A pool at scale: one `xqc run --pool` of N `/bin/true` jobs (100,000 by default), its time
// a job and its peak memory, against a pool of a few hundred on the same engine in the same
// bench: what grows with the run, if anything.

import { join } from "@std/path";
import { type ImageEngine, imageFor } from "../tests/image.ts";
import { timed } from "./measure.ts";

/** One pool at scale. */
export interface PoolScaleResult {
  engine: ImageEngine;
  jobs: number;
  forks: number;
  ms: number;
  msPerJob: number;
  peakRssMb: number;
  /** The same for the small pool, run first. */
  small: { jobs: number; ms: number; msPerJob: number; peakRssMb: number };
}

async function poolRun(
  xqc: string[],
  engine: ImageEngine,
  jobs: number,
  forks: number,
  dir: string,
): Promise<{ ms: number; peakRssMb: number }> {
  const name = `pool-scale-${engine}-${jobs}`;
  await Deno.writeTextFile(join(dir, `${name}.jobs`), "/bin/true\n".repeat(jobs));
  const result = await timed([
    ...xqc,
    "run",
    "--pool",
    "-n",
    String(forks),
    "-b",
    engine,
    "-i",
    imageFor(engine),
    "-w",
    join(dir, name),
    "-j",
    `${name}.jobs`,
    "--quiet",
  ], dir);
  return { ms: result.ms, peakRssMb: Math.round(result.peakRssKb / 1024) };
}

/**
 * Run a pool of `jobs` jobs, after one of `small` jobs, on one engine.
 *
 * @param options What to run, and where.
 * @returns The result.
 */
export async function benchPoolScale(options: {
  engine: ImageEngine;
  jobs: number;
  small: number;
  forks: number;
  dir: string;
  xqc: string[];
  log: (text: string) => void;
}): Promise<PoolScaleResult> {
  const { engine, jobs, small, forks, dir, xqc, log } = options;
  const first = await poolRun(xqc, engine, small, forks, dir);
  const big = await poolRun(xqc, engine, jobs, forks, dir);
  const result = {
    engine,
    jobs,
    forks,
    ms: Math.round(big.ms),
    msPerJob: Number((big.ms / jobs).toFixed(2)),
    peakRssMb: big.peakRssMb,
    small: {
      jobs: small,
      ms: Math.round(first.ms),
      msPerJob: Number((first.ms / small).toFixed(2)),
      peakRssMb: first.peakRssMb,
    },
  };
  log(`pool at scale: ${JSON.stringify(result)}`);
  return result;
}

/**
 * The pool-at-scale rows as a Markdown table.
 *
 * @param results The rows.
 * @returns Markdown.
 */
export function poolScaleTable(results: readonly PoolScaleResult[]): string {
  return [
    "| engine | jobs × forks | `xqc run --pool` | ms a job | peak RSS | the same, small pool | ms a job | peak RSS |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...results.map((r) =>
      `| ${r.engine} | ${r.jobs} × ${r.forks} | ${
        (r.ms / 1000).toFixed(1)
      } s | ${r.msPerJob} | ${r.peakRssMb} MB | ${r.small.jobs} × ${r.forks}: ${
        (r.small.ms / 1000).toFixed(1)
      } s | ${r.small.msPerJob} | ${r.small.peakRssMb} MB |`
    ),
  ].join("\n");
}
