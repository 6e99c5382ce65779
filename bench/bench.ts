// The benchmark: `xqc run` against a bare `xargs -P` loop of the same engine, per engine,
// alternated in one run; then the local scheduler at scale. `deno task bench [--help]`.

import { parseArgs } from "@std/cli";
import { fromFileUrl, join } from "@std/path";
import { engineProblem, ensureImage, type ImageEngine, imageFor, run } from "../tests/image.ts";
import { median, timed } from "./measure.ts";
import { benchPool, type PoolResult, poolTable } from "./pool.ts";
import { benchPoolScale, type PoolScaleResult, poolScaleTable } from "./pool_scale.ts";
import { benchSlurm, slurmAnswers, type SlurmResult, slurmTable } from "./slurm.ts";
import { benchSge, sgeAnswers, type SgeResult, sgeTable } from "./sge.ts";

const HELP =
  `Usage: deno task bench [--jobs N] [--forks F] [--pairs P] [--engines a,b] [--scale N,M]
                       [--slurm-jobs N] [--sge-jobs N] [--pool-jobs N] [--pool-rounds R] [--no-pool]
                       [--no-scale] [--pool-scale N] [--json] [--no-write]
  --jobs N        jobs per engine run (default 40)
  --forks F       jobs at once (default 4)
  --pairs P       bare/xqc pairs per engine, alternated (default 3)
  --engines LIST  docker,podman,apptainer,local,slurm,sge (default: those that answer, and local)
  --slurm-jobs N  jobs per Slurm run, all submitted at once (default 200)
  --sge-jobs N    jobs per Grid Engine run, all submitted at once (default 100)
  --pool-jobs N   jobs per pool run, against a container a job (default 200)
  --pool-rounds R pool runs (N and 2N jobs, with their one-container rows) per pair (default 3)
  --no-pool       skip the pool rows
  --scale LIST    local job counts for the scale runs at 8 forks (default 1000,10000)
  --no-scale      skip the scale runs
  --pool-scale N  one pool of N /bin/true jobs at 8 forks on the first engine that answers,
                  after one of 1000 (default: none; 100000 for the 100,000-job row)
  --json          print the results as JSON
  --no-write      do not write bench/RESULTS.md`;

interface Flags {
  jobs: string;
  forks: string;
  pairs: string;
  engines?: string;
  scale: string;
  "slurm-jobs": string;
  "sge-jobs": string;
  "pool-jobs": string;
  "pool-rounds": string;
  "no-pool": boolean;
  "no-scale": boolean;
  "pool-scale"?: string;
  json: boolean;
  "no-write": boolean;
  help: boolean;
}

const flags = parseArgs(Deno.args, {
  string: [
    "jobs",
    "forks",
    "pairs",
    "engines",
    "scale",
    "slurm-jobs",
    "sge-jobs",
    "pool-jobs",
    "pool-rounds",
    "pool-scale",
  ],
  boolean: ["no-scale", "no-pool", "json", "no-write", "help"],
  default: {
    jobs: "40",
    forks: "4",
    pairs: "3",
    scale: "1000,10000",
    "slurm-jobs": "200",
    "sge-jobs": "100",
    "pool-jobs": "200",
    "pool-rounds": "3",
  },
}) as Flags;
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
const N = Number(flags.jobs);
const F = Number(flags.forks);
const PAIRS = Math.max(1, Number(flags.pairs));
const POOL_ROUNDS = Math.max(1, Number(flags["pool-rounds"]));
const ROOT = fromFileUrl(new URL("..", import.meta.url));
const CLI = join(ROOT, "cli.ts");
const CONFIG = join(ROOT, "deno.json");
const log = (text: string) => console.error(`bench: ${text}`);

type Engine = ImageEngine | "local";

/** The engine command of one job: `true`, or `true` under the entrypoint xqc uses (bash). */
function engineArgv(engine: Engine, viaBash = false): string[] {
  const command = viaBash ? ["/bin/bash", "-c", "true"] : ["true"];
  switch (engine) {
    case "docker":
    case "podman":
      return [engine, "run", "--rm", imageFor(engine), ...command];
    case "apptainer":
      return ["apptainer", "-q", "exec", imageFor(engine), ...command];
    case "local":
      return ["bash", "-c", "true"];
  }
}

function bareArgv(engine: Engine, forks: number, viaBash = false): string[] {
  return ["xargs", "-P", String(forks), "-I{}", ...engineArgv(engine, viaBash)];
}

/**
 * `xqc` as `deno task xqc` and the compiled binary run it: a 1 MB young generation, and V8's
 * memory saver mode.
 */
const XQC = [
  Deno.execPath(),
  "run",
  "-A",
  "--v8-flags=--max-semi-space-size=1,--memory-saver-mode",
  "--config",
  CONFIG,
  CLI,
];

function xqcArgv(engine: Engine, forks: number, workdir: string): string[] {
  const base = [
    ...XQC,
    "run",
    "-n",
    String(forks),
    "-w",
    workdir,
    "-j",
    "jobs",
    "--quiet",
  ];
  return engine === "local"
    ? [...base, "--scheduler", "local"]
    : [...base, "-b", engine, "-i", imageFor(engine)];
}

async function answers(engine: Engine): Promise<boolean> {
  if (engine === "local") return true;
  return (await engineProblem(engine)) === null && (await ensureImage(engine)) === null;
}

async function version(argv: string[]): Promise<string> {
  const out = await run(argv);
  return out.code === 0 ? out.out.trim().split("\n")[0] : "n/a";
}

interface EngineResult {
  engine: Engine;
  jobs: number;
  forks: number;
  /** `<engine run> IMAGE true`. */
  bareMs: number[];
  /** `<engine run> IMAGE /bin/bash -c true`: the entrypoint xqc runs its wrapper with. */
  bareBashMs: number[];
  xqcMs: number[];
  bareMedianMs: number;
  bareBashMedianMs: number;
  xqcMedianMs: number;
  /** xqc / bare `true`. */
  ratio: number;
  /** xqc / bare through bash. */
  ratioBash: number;
  overheadPerJobMs: number;
  parallelMedianMs?: number;
}

async function benchEngine(engine: Engine, dir: string): Promise<EngineResult> {
  const seqText = Array.from({ length: N }, (_, i) => `${i}\n`).join("");
  await Deno.writeTextFile(join(dir, "jobs"), "true\n".repeat(N));
  const bare: number[] = [];
  const bareBash: number[] = [];
  const xqc: number[] = [];
  const parallel: number[] = [];
  const hasParallel = engine === "local" && (await run(["parallel", "--version"])).code === 0;
  for (let pair = 0; pair < PAIRS; pair++) {
    bare.push((await timed(bareArgv(engine, F), dir, seqText)).ms);
    const workdir = join(dir, `wd-${engine}-${pair}`);
    xqc.push((await timed(xqcArgv(engine, F, workdir), dir)).ms);
    if (engine !== "local") {
      bareBash.push((await timed(bareArgv(engine, F, true), dir, seqText)).ms);
    }
    if (hasParallel) {
      const args = seqText.trim().split("\n");
      parallel.push(
        (await timed(["parallel", "-j", String(F), ...engineArgv(engine), ":::", ...args], dir)).ms,
      );
    }
    log(
      `${engine} pair ${pair + 1}: bare ${bare.at(-1)!.toFixed(0)} ms, xqc ${
        xqc.at(-1)!.toFixed(0)
      } ms${bareBash.length ? `, bare through bash ${bareBash.at(-1)!.toFixed(0)} ms` : ""}`,
    );
  }
  const bareMedianMs = median(bare);
  const bareBashMedianMs = bareBash.length ? median(bareBash) : bareMedianMs;
  const xqcMedianMs = median(xqc);
  return {
    engine,
    jobs: N,
    forks: F,
    bareMs: bare.map(Math.round),
    bareBashMs: bareBash.map(Math.round),
    xqcMs: xqc.map(Math.round),
    bareMedianMs: Math.round(bareMedianMs),
    bareBashMedianMs: Math.round(bareBashMedianMs),
    xqcMedianMs: Math.round(xqcMedianMs),
    ratio: Number((xqcMedianMs / bareMedianMs).toFixed(3)),
    ratioBash: Number((xqcMedianMs / bareBashMedianMs).toFixed(3)),
    overheadPerJobMs: Number(((xqcMedianMs - bareMedianMs) / N).toFixed(2)),
    parallelMedianMs: parallel.length ? Math.round(median(parallel)) : undefined,
  };
}

interface ScaleResult {
  jobs: number;
  forks: number;
  bareMs: number;
  xqcMs: number;
  jobsPerSecond: number;
  overheadPerJobMs: number;
  peakRssMb: number;
  firstJobRunningMs: number;
}

async function benchScale(count: number, dir: string): Promise<ScaleResult> {
  const forks = 8;
  await Deno.writeTextFile(join(dir, "jobs"), "true\n".repeat(count));
  const bare = await timed(
    bareArgv("local", forks),
    dir,
    Array.from({ length: count }, (_, i) => `${i}\n`).join(""),
  );
  const workdir = join(dir, `scale-${count}`);
  const startedAt = Date.now();
  const xqc = await timed(xqcArgv("local", forks, workdir), dir);
  const kv = await Deno.openKv(join(workdir, "state.kv"));
  let first = Infinity;
  for await (const entry of kv.list<{ startedAt: number | null }>({ prefix: ["job"] })) {
    if (entry.value.startedAt) first = Math.min(first, entry.value.startedAt);
  }
  kv.close();
  const result = {
    jobs: count,
    forks,
    bareMs: Math.round(bare.ms),
    xqcMs: Math.round(xqc.ms),
    jobsPerSecond: Math.round(count / (xqc.ms / 1000)),
    overheadPerJobMs: Number(((xqc.ms - bare.ms) / count).toFixed(3)),
    peakRssMb: Math.round(xqc.peakRssKb / 1024),
    firstJobRunningMs: Math.round(first - startedAt),
  };
  log(`scale ${count}: ${JSON.stringify(result)}`);
  // The workdir stays until the bench ends (see pool.ts: removing it would slow the next run).
  return result;
}

const dir = await Deno.makeTempDir({ prefix: "xqc-bench-" });
const wanted: string[] = flags.engines
  ? flags.engines.split(",")
  : ["docker", "podman", "apptainer", "local", "slurm", "sge"];
const engines: Engine[] = [];
for (const engine of wanted.filter((e) => e !== "slurm" && e !== "sge") as Engine[]) {
  if (await answers(engine)) engines.push(engine);
  else log(`${engine} skipped: it does not answer or has no image`);
}
const withSlurm = wanted.includes("slurm") && await slurmAnswers();
if (wanted.includes("slurm") && !withSlurm) log("slurm skipped: the cluster does not answer");
const withSge = wanted.includes("sge") && await sgeAnswers();
if (wanted.includes("sge") && !withSge) log("sge skipped: the cell does not answer");

const startupTimes: number[] = [];
for (let i = 0; i < 5; i++) {
  const argv = [Deno.execPath(), "run", "-A", "--config", CONFIG, CLI, "--version"];
  startupTimes.push((await timed(argv, dir)).ms);
}
const startup = median(startupTimes);
log(`xqc start-up (xqc --version): ${startup.toFixed(0)} ms`);

const results: EngineResult[] = [];
for (const engine of engines) results.push(await benchEngine(engine, dir));
let pools: PoolResult[] = [];
const poolEngines = engines.filter((e): e is ImageEngine => e !== "local");
if (!flags["no-pool"] && poolEngines.length) {
  pools = await benchPool({
    engines: poolEngines,
    jobs: Number(flags["pool-jobs"]),
    forks: F,
    pairs: PAIRS,
    rounds: POOL_ROUNDS,
    dir,
    xqc: XQC,
    log,
  });
}
let slurm: SlurmResult | null = null;
if (withSlurm) {
  slurm = await benchSlurm({
    jobs: Number(flags["slurm-jobs"]),
    pairs: PAIRS,
    dir,
    xqc: XQC,
    log,
  });
}
let sge: SgeResult | null = null;
if (withSge) {
  sge = await benchSge({ jobs: Number(flags["sge-jobs"]), pairs: PAIRS, dir, xqc: XQC, log });
}
const scale: ScaleResult[] = [];
if (!flags["no-scale"]) {
  for (const count of flags.scale.split(",").map(Number)) scale.push(await benchScale(count, dir));
}

let poolScale: PoolScaleResult[] = [];
if (flags["pool-scale"] && poolEngines.length) {
  poolScale = [
    await benchPoolScale({
      engine: poolEngines[0],
      jobs: Number(flags["pool-scale"]),
      small: 1000,
      forks: 8,
      dir,
      xqc: XQC,
      log,
    }),
  ];
}

const machine = {
  date: new Date().toISOString(),
  cpus: navigator.hardwareConcurrency,
  memoryGb: Math.round(Deno.systemMemoryInfo().total / 1024 ** 3),
  kernel: Deno.osRelease(),
  deno: Deno.version.deno,
  docker: await version(["docker", "version", "--format", "{{.Server.Version}}"]),
  podman: await version(["podman", "version", "--format", "{{.Client.Version}}"]),
  apptainer: await version(["apptainer", "--version"]),
  parallel: (await version(["parallel", "--version"])).replace(/^n\/a$/, "no GNU parallel"),
  slurm: await version(["sinfo", "-V"]),
  sge: withSge ? "Son of Grid Engine" : "n/a",
};
const report = {
  machine,
  startupMs: Math.round(startup),
  engines: results,
  pools,
  slurm,
  sge,
  scale,
  poolScale,
};

const table = [
  `| engine | jobs × forks | bare \`true\` | bare \`bash -c true\` | xqc run | ratio to \`true\` | ratio to \`bash -c true\` | overhead per job | GNU parallel |`,
  `| --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ...results.map((r) =>
    `| ${r.engine} | ${r.jobs} × ${r.forks} | ${r.bareMedianMs} ms | ${
      r.engine === "local" ? "" : `${r.bareBashMedianMs} ms`
    } | ${r.xqcMedianMs} ms | ${r.ratio.toFixed(2)} | ${
      r.engine === "local" ? "" : r.ratioBash.toFixed(2)
    } | ${r.overheadPerJobMs} ms | ${
      r.parallelMedianMs !== undefined ? `${r.parallelMedianMs} ms` : ""
    } |`
  ),
].join("\n");
const scaleTable = scale.length
  ? [
    `| local jobs × forks | bare loop | xqc run | jobs/s | overhead per job | peak RSS | first job running after |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
    ...scale.map((s) =>
      `| ${s.jobs} × ${s.forks} | ${s.bareMs} ms | ${s.xqcMs} ms | ${s.jobsPerSecond} | ${s.overheadPerJobMs} ms | ${s.peakRssMb} MB | ${s.firstJobRunningMs} ms |`
    ),
  ].join("\n")
  : "";

if (flags.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(
    `${table}\n\n${pools.length ? poolTable(pools) + "\n\n" : ""}${
      slurm ? slurmTable(slurm) + "\n\n" : ""
    }${sge ? sgeTable(sge) + "\n\n" : ""}${scaleTable}${
      poolScale.length ? "\n\n" + poolScaleTable(poolScale) : ""
    }\n\nxqc start-up: ${report.startupMs} ms`,
  );
}

if (!flags["no-write"]) {
  const md = `# Benchmark results

Written by \`deno task bench\` (${machine.date}). Each engine row alternates, ${PAIRS} times,
a bare loop \`seq N | xargs -P F -I{} <engine run> IMAGE true\`, the run \`xqc run -n F -j jobs\`
of the same N \`true\` jobs, and the bare loop again with \`/bin/bash -c true\` (bash is
what every xqc job starts in the container: its wrapper's interpreter); it reports medians.
The xqc time includes starting Deno, checking the image and looking for a crashed run's
containers. With apptainer, a SIF is mounted through squashfuse for each job, so reading
bash from the image costs tens of milliseconds that \`true\` (busybox) does not.

Machine: ${machine.cpus} CPUs, ${machine.memoryGb} GiB, Linux ${machine.kernel}; Deno ${machine.deno};
Docker ${machine.docker}; Podman ${machine.podman}; ${machine.apptainer}; ${machine.parallel}.

${table}

${
    pools.length
      ? `Pools: ${
        pools[0].jobs
      } trivial jobs, each the program \`/bin/true\` (a process in every row), at ${
        pools[0].forks
      } forks
as a bare loop \`xargs -P ${
        pools[0].forks
      } -I{} <engine run> IMAGE /bin/true\` (a container a job), as
\`xqc run --pool\` (one long-lived container a fork, each job a process in it), and as the same
commands run by \`xargs -P ${
        pools[0].forks
      }\` inside ONE container (what the jobs' own processes cost, with one
container start); then the last two again with twice the jobs; the bare loop ${PAIRS} times, the
pool and one-container runs ${POOL_ROUNDS} times each of those, alternated; medians. Every run's
workdir stays until the bench ends: on a filesystem without a journal, such as this machine's ext4,
a file made right after thousands were removed costs more (ext4 walks past each inode freed in the
last minutes), and removing a 400-job workdir before the next run added ~2.5 ms to each of its
jobs. The overhead
per pooled job, all in, is (pool − one container) / jobs: Deno's start, ${
        pools[0].forks
      } container starts and
their ends, and for each job its files, its state records and its agent's work. The overhead of one
more job in a running pool leaves out what a run pays once: ((pool of 2N − pool of N) − (one
container of 2N − one container of N)) / N.

${poolTable(pools)}

`
      : ""
  }${
    slurm
      ? `Slurm (${machine.slurm}): ${slurm.jobs} trivial jobs submitted at once, as a bare loop of \`sbatch --wrap true\`
that then waits until \`squeue\` shows none (polling every 0.2 s), as \`xqc run --scheduler slurm\` (one
sbatch a job), as \`xqc run --scheduler slurm --slurm-array\`, and as \`xqc run --scheduler slurm --pool -n 8\`
(8 allocations made with srun, each running its share of the jobs as processes), alternated.

${slurmTable(slurm)}

`
      : ""
  }${
    sge
      ? `Grid Engine (${machine.sge}): ${sge.jobs} trivial jobs submitted at once, as a bare loop of
\`qsub -b y true\` that then waits until \`qstat\` lists none of them (polling every 0.2 s), as
\`xqc run --scheduler sge\` (one qsub a job) and with \`--sge-array\`, alternated.

${sgeTable(sge)}

`
      : ""
  }${scaleTable}${poolScale.length ? "\n\n" + poolScaleTable(poolScale) : ""}

\`xqc --version\` start-up: ${report.startupMs} ms (median of 5).

Raw times (ms): ${
    results.map((r) =>
      `${r.engine} bare ${r.bareMs.join("/")}, bash ${r.bareBashMs.join("/")}, xqc ${
        r.xqcMs.join("/")
      }`
    ).join("; ")
  }${
    pools.map((p) =>
      `; ${p.engine} pool: bare ${p.bareMs.join("/")}, pool ${p.poolMs.join("/")}, one container ${
        p.floorMs.join("/")
      }, pool of 2N ${p.pool2Ms.join("/")}, one container of 2N ${p.floor2Ms.join("/")}`
    ).join("")
  }${
    slurm
      ? `; slurm bare ${slurm.bareMs.join("/")}, xqc ${slurm.xqcMs.join("/")}, arrays ${
        slurm.arrayMs.join("/")
      }, pool ${slurm.poolMs.join("/")}`
      : ""
  }${
    sge
      ? `; sge bare ${sge.bareMs.join("/")}, xqc ${sge.xqcMs.join("/")}, arrays ${
        sge.arrayMs.join("/")
      }`
      : ""
  }
`;
  const resultsFile = join(ROOT, "bench", "RESULTS.md");
  await Deno.writeTextFile(resultsFile, md);
  // Keep the file as `deno fmt --check` wants it.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", resultsFile] }).output();
  log("wrote bench/RESULTS.md");
}
await Deno.remove(dir, { recursive: true }).catch(() => {});
