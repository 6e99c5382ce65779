// xqc on a Slurm cluster of several nodes (XQC_SLURM_NODES=2): jobs and pools spread over
// the nodes, forks bounds a run whatever its jobs' variables, and a node that fails loses
// nothing (a requeued job starts again in a clean metadir; NODE_FAIL is retried).

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startXqc, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  readJobFile,
  sh,
  tempDir,
  testOn,
  testOnWholeCluster,
  waitFor,
} from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("slurm");

/** The cluster's nodes (n1, n2, … when it has several). */
const nodes = (await sh(["sinfo", "-h", "-N", "-o", "%N"]).catch(() => "")).split("\n")
  .map((line) => line.trim()).filter(Boolean);
const severalNodes = nodes.length >= 2;
if (!severalNodes) console.error("slurm_nodes_test: these tests need XQC_SLURM_NODES=2");

/** A program that logs each call's start and end (ms) and runs the real one. */
async function timedProgram(program: string, dir: string) {
  const path = join(dir, `timed-${program}`);
  const log = join(dir, `${program}.times`);
  await Deno.writeTextFile(
    path,
    `#!/bin/bash\nstart=$(date +%s%3N)\n${program} "$@"; rc=$?\n` +
      `echo "$start $(date +%s%3N)" >>${log}\nexit $rc\n`,
  );
  await Deno.chmod(path, 0o755);
  return {
    path,
    spans: async () =>
      (await Deno.readTextFile(log)).trim().split("\n").map((l) => l.split(" ").map(Number)),
  };
}

/** The most spans open at one moment. */
function mostAtOnce(spans: number[][]): number {
  const edges = spans.flatMap(([from, to]) => [[from, 1], [to, -1]]).sort((a, b) =>
    a[0] - b[0] || a[1] - b[1]
  );
  let open = 0, most = 0;
  for (const [, step] of edges) most = Math.max(most, open += step);
  return most;
}

/** Each trial's row of a workdir's trace, as objects. */
async function traceRows(workdir: string): Promise<Record<string, string>[]> {
  const [head, ...rows] = (await Deno.readTextFile(join(workdir, "trace.tsv"))).trim().split(
    "\n",
  ).map((line) => line.split("\t"));
  return rows.map((row) => Object.fromEntries(head.map((name, i) => [name, row[i]])));
}

/** End a run that a failed test left, and put its node back in service. */
async function stopAndResume(child: Deno.ChildProcess, node: string): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Ended.
  }
  await resume(node);
}

/** Put a node back in service (it may be back already). */
async function resume(node: string): Promise<void> {
  await sh(["scontrol", "update", `nodename=${node}`, "state=resume"]).catch(() => "");
  await waitFor(`${node} in service`, async () => {
    const state = (await sh(["sinfo", "-h", "-n", node, "-o", "%t"])).trim();
    return state === "idle" || state === "mix" || state === "alloc";
  }, 60_000);
}

testOn(
  "slurm",
  "Slurm jobs and a pool's allocations spread over the cluster's nodes",
  async () => {
    const dir = await tempDir();
    // Slurm packs jobs onto the first node that holds them (select/cons_tres): 6 at once
    // are more than one node's 4 CPUs.
    const jobs = Array.from({ length: 12 }, () => "sleep 2; echo $SLURMD_NODENAME").join("\n");
    await Deno.writeTextFile(join(dir, "jobs.txt"), jobs + "\n");
    for (const pool of [false, true]) {
      const workdir = join(dir, pool ? "pool" : "single");
      const result = await xqc([
        "run",
        "--scheduler",
        "slurm",
        ...(pool ? ["--pool"] : []),
        "-n",
        "6",
        "--poll-interval",
        "0.2",
        "-w",
        workdir,
        "-j",
        join(dir, "jobs.txt"),
      ]);
      assertEquals(result.code, 0, result.stderr);
      const used = new Set<string>();
      for (let i = 0; i < 12; i++) used.add((await readJobFile(workdir, i, "job.stdout")).trim());
      assertEquals([...used].sort(), nodes, `pool: ${pool}`);
    }
  },
  !severalNodes,
);

testOn(
  "slurm",
  "forks bounds a Slurm run whatever the jobs' variables; jobs that differ in them share arrays",
  async () => {
    const dir = await tempDir();
    const sbatch = await timedProgram("sbatch", dir);
    // 16 jobs, each with its own variable, two at a time, in arrays.
    const spec = [
      "scheduler: slurm",
      `workdir: ${join(dir, "wd")}`,
      "forks: 2",
      "slurmArray: true",
      "pollInterval: 0.2",
      `sbatch: ${sbatch.path}`,
      "jobs:",
      ...Array.from(
        { length: 16 },
        (_, i) => `  - { cmd: 'echo "$MINE"; sleep 0.5', envs: { MINE: "job ${i}" } }`,
      ),
    ].join("\n");
    await Deno.writeTextFile(join(dir, "spec.yaml"), spec + "\n");
    const result = await xqc(["run", "-f", join(dir, "spec.yaml")]);
    assertEquals(result.code, 0, result.stderr);
    const workdir = join(dir, "wd");
    for (let i = 0; i < 16; i++) {
      assertEquals(await readJobFile(workdir, i, "job.stdout"), `job ${i}\n`);
    }
    // The value reaches the node through a file only its owner reads, not the script.
    const envFile = await Deno.stat(join(workdir, "3", "job.env"));
    assertEquals(envFile.mode! & 0o777, 0o600);
    assert(!(await readJobFile(workdir, 3, "job.sbatch")).includes("job 3"));
    const rows = await traceRows(workdir);
    assertEquals(rows.length, 16);
    const most = mostAtOnce(rows.map((row) => [Number(row.start), Number(row.complete)]));
    assert(most <= 2, `${most} jobs ran at once at forks 2`);
    assert(mostAtOnce(await sbatch.spans()) <= 2, "more sbatch calls at once than forks");

    // 60 jobs that differ only in their variables, at forks 60: one array.
    const many = await timedProgram("sbatch", await tempDir());
    const wide = spec.replace("forks: 2", "forks: 60").replace(sbatch.path, many.path)
      .replace(join(dir, "wd"), join(dir, "wide")).split("jobs:")[0] +
      "jobs:\n" +
      Array.from({ length: 60 }, (_, i) => `  - { cmd: 'echo "$MINE"', envs: { MINE: "${i}" } }`)
        .join("\n");
    await Deno.writeTextFile(join(dir, "wide.yaml"), wide + "\n");
    const second = await xqc(["run", "-f", join(dir, "wide.yaml")]);
    assertEquals(second.code, 0, second.stderr);
    assertEquals((await many.spans()).length, 1, "the 60 jobs were not one array");
    assertEquals(await readJobFile(join(dir, "wide"), 59, "job.stdout"), "59\n");
  },
);

testOnWholeCluster(
  "a Slurm node that fails: its requeued job starts again in a clean metadir and ends once",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const starts = join(dir, "starts");
    const node = nodes[1];
    const child = startXqc([
      "run",
      "--scheduler",
      "slurm",
      "--slurm-opt",
      `nodelist=${node}`,
      "--poll-interval",
      "0.2",
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      `echo start >>${starts}; echo run; [ -e ${starts}.again ] || sleep 60; echo done`,
    ]);
    let jid = "";
    try {
      await waitFor("the job running", async () => {
        const state = await readState(workdir).catch(() => null);
        jid = state?.jobs[0]?.jid ?? "";
        return state?.jobs[0]?.status === "RUNNING";
      }, 60_000);
      await waitFor("the job's start", async () => (await readText(starts)).includes("start"));
      await sh(["scontrol", "update", `nodename=${node}`, "state=down", "reason=xqc-test"]);
      await waitFor("xqc to see the requeue", async () => {
        const state = await readState(workdir);
        return state?.jobs[0]?.status === "SUBMITTED";
      }, 60_000);
      await Deno.writeTextFile(`${starts}.again`, "");
      // The first start's batch step ends on the node before the job may start there again.
      await waitFor(
        "the first start's step gone",
        () => !stepRuns(jid) && stepDone(jid, node),
        60_000,
      );
      await resume(node);
      // Slurm holds a requeued job ~2 minutes (BeginTime); an admin may start it at once.
      await sh(["scontrol", "update", `jobid=${jid}`, "starttime=now"]);
      const result = await finish(child);
      assertEquals(result.code, 0, result.stderr);
    } finally {
      await stopAndResume(child, node);
    }
    assertEquals(await readText(starts), "start\nstart\n");
    // The second start's files alone: the first start's output is gone.
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "run\ndone\n");
    assertEquals((await readJobFile(workdir, 0, "job.rc")).trim(), "0");
    assertEquals((await readJobFile(workdir, 0, "job.jid")).trim(), jid);
    const rows = await traceRows(workdir);
    assertEquals(rows.map((row) => row.status), ["REQUEUED", "FINISHED"]);
    assertEquals(rows.map((row) => row.native_id), [jid, jid]);
  },
  !severalNodes,
);

testOnWholeCluster(
  "a Slurm node that fails a job that may not be requeued: rc -3 naming NODE_FAIL, then a retry",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const node = nodes[1];
    const child = startXqc([
      "run",
      "--scheduler",
      "slurm",
      "--slurm-opt",
      `nodelist=${node}`,
      "--slurm-opt",
      "no_requeue",
      "--error-strategy",
      "retry",
      "--num-retries",
      "1",
      "--poll-interval",
      "0.2",
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      `[ -e ${dir}/ran ] && echo again && exit 0; touch ${dir}/ran; sleep 60`,
    ]);
    try {
      await waitFor("the job's first start", () => exists(join(dir, "ran")), 60_000);
      await sh(["scontrol", "update", `nodename=${node}`, "state=down", "reason=xqc-test"]);
      await waitFor("the retry", async () => {
        const state = await readState(workdir);
        return state?.jobs[0]?.trial === 2;
      }, 60_000);
      await resume(node);
      const result = await finish(child);
      assertEquals(result.code, 0, result.stderr);
    } finally {
      await stopAndResume(child, node);
    }
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "again\n");
    const first = await Deno.readTextFile(join(workdir, "0", "job.retry", "1", "job.stderr"));
    assertMatch(first, /Slurm ended the job \d+: NODE_FAIL/);
    assertStringIncludes(
      await Deno.readTextFile(join(workdir, "0", "job.retry", "1", "job.rc")),
      "-3",
    );
  },
  !severalNodes,
);

/** Whether a Slurm job's batch step still runs on this machine (`slurmstepd: [ID.batch]`). */
function stepRuns(jid: string): boolean {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (argv.startsWith(`slurmstepd: [${jid}.batch]`)) return true;
    } catch {
      // Gone meanwhile.
    }
  }
  return false;
}

/** Whether a node's slurmd said a job's batch step is done (its log, from slurm-up.sh). */
function stepDone(jid: string, node: string): boolean {
  try {
    return Deno.readTextFileSync(`/tmp/xqc-slurm/slurmd-${node}.log`)
      .includes(`[${jid}.batch] done with job`);
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
