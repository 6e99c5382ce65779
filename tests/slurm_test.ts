// xqc on a real Slurm cluster (../shared/cluster/slurm-up.sh): bash and container jobs,
// #SBATCH lines, cancels that leave no Slurm job and no container, arrays, resume after
// kill -9, and one squeue per interval however many jobs run.

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { alive, finish, startXqc, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  counted,
  imageFor,
  processesRunning,
  readJobFile,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
  untilRunning,
  waitFor,
} from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("slurm", "docker", "apptainer");

/** The Slurm jobs of a workdir that Slurm still holds (pending, running, completing). */
async function liveSlurmJobs(workdir: string): Promise<string[]> {
  const out = await sh(["squeue", "-h", "-r", "-o", "%i|%j|%T|%k"]);
  const state = await readState(workdir).catch(() => null);
  const ids = new Set(state?.jobs.map((j) => j.jid.split("_")[0]) ?? []);
  ids.delete("");
  return out.split("\n").filter((line) => line && ids.has(line.split("|")[0].split("_")[0]));
}

testOn(
  "slurm",
  "xqc run --scheduler slurm: bash jobs, rc, stdout, stderr, #SBATCH lines, job ids",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      `scheduler: slurm
workdir: ${workdir}
forks: 3
envs: { GREETING: "hi there" }
slurmOpts: { partition: debug, mem: 200M, no_requeue: true, comment: [xqc-test] }
jobs:
  - bash -c 'echo "$GREETING from $SLURM_JOB_ID"'
  - cmd: echo bad >&2; exit 3
  - [printf, "%s|", "a b", "$(x)"]
`,
    );
    const result = await xqc(["run", "-f", join(dir, "spec.yaml"), "--json"]);
    assertEquals(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [0, 3, 0]);
    const jid = (await readJobFile(workdir, 0, "job.jid")).trim();
    assertMatch(jid, /^\d+$/);
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), `hi there from ${jid}\n`);
    assertEquals(await readJobFile(workdir, 1, "job.stderr"), "bad\n");
    assertEquals(await readJobFile(workdir, 2, "job.stdout"), "a b|$(x)|");
    const script = await readJobFile(workdir, 0, "job.sbatch");
    assertMatch(script, /^#SBATCH --job-name=xqc-[0-9a-f]{8}-0$/m);
    for (const line of ["--partition=debug", "--mem=200M", "--no-requeue"]) {
      assertStringIncludes(script, `#SBATCH ${line}\n`);
    }
    // The user's comment, then the submission's mark.
    assertMatch(script, /^#SBATCH --comment=xqc-test;xqc:[0-9a-z]+\.0\.1$/m);
    assert(!script.includes("hi there"), "an env value is in the batch script");
    const shown = await sh(["scontrol", "show", "job", "-o", jid]);
    assertMatch(shown, /MinMemoryNode=200M/);
    const status = await xqc(["status", "-w", workdir]);
    assertMatch(status.stdout, new RegExp(`\\n0 +FINISHED +0 +1 +.* ${jid} +bash -c`));
  },
);

for (const engine of ["docker", "apptainer"] as const) {
  testOn(
    ["slurm", engine],
    `xqc run --scheduler slurm -b ${engine}: the job runs in its container on the node`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      const result = await xqc([
        "run",
        "--scheduler",
        "slurm",
        "-b",
        engine,
        "-i",
        imageFor(engine),
        "-w",
        workdir,
        "-e",
        "ONE=$(not run) 'q'",
        "--json",
        "--",
        "bash",
        "-c",
        'echo "$ONE|$XQUTE_JOB_METADIR|$(test -x /bin/busybox && echo image)"',
      ]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(
        await readJobFile(workdir, 0, "job.stdout"),
        `$(not run) 'q'|/mnt/disks/xqute_workdir/0|image\n`,
      );
      assertStringIncludes(await readJobFile(workdir, 0, "job.sbatch"), `${engine}`);
      if (engine === "docker") assertEquals(await containersOf("docker", workdir), []);
    },
  );
}

testOn(
  ["slurm", "docker"],
  "SIGINT to xqc on Slurm: scancel, the containers removed, nothing left",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 120\n".repeat(3));
    const child = startXqc(
      ["run", "--scheduler", "slurm", "-i", TEST_IMAGE, "-n", "3", "-w", workdir, "-j", "jobs"],
      dir,
    );
    await untilRunning(workdir, 3);
    await waitFor("3 containers", async () => (await containersOf("docker", workdir)).length === 3);
    child.kill("SIGINT");
    const result = await finish(child);
    assertEquals(result.code, 130, result.stderr);
    assertEquals(await liveSlurmJobs(workdir), []);
    await waitFor("no container", async () => (await containersOf("docker", workdir)).length === 0);
    const state = await readState(workdir);
    assertEquals(state?.jobs.map((j) => j.status), ["KILLED", "KILLED", "KILLED"]);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "the run received SIGINT");
  },
);

testOn(
  ["slurm", "docker"],
  "a Slurm job cancelled from outside (scancel): rc -3 naming CANCELLED, no container",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const child = startXqc(
      [
        "run",
        "--scheduler",
        "slurm",
        "-i",
        TEST_IMAGE,
        "-w",
        workdir,
        "--json",
        "--",
        "sleep",
        "120",
      ],
      dir,
    );
    await untilRunning(workdir, 1);
    await waitFor(
      "the container",
      async () => (await containersOf("docker", workdir)).length === 1,
    );
    await sh(["scancel", (await readJobFile(workdir, 0, "job.jid")).trim()]);
    const result = await finish(child);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(JSON.parse(result.stdout).jobs[0].rc, -3);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), ": CANCELLED");
    await waitFor("no container", async () => (await containersOf("docker", workdir)).length === 0);
  },
);

testOn(
  ["slurm", "apptainer"],
  "xqc kill stops a Slurm run: no Slurm job and no process left",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const child = startXqc(
      [
        "run",
        "--scheduler",
        "slurm",
        "-b",
        "apptainer",
        "-i",
        imageFor("apptainer"),
        "-n",
        "2",
        "-w",
        workdir,
        "--",
        "sleep",
        "97.301",
      ],
      dir,
    );
    await untilRunning(workdir, 1);
    const killed = await xqc(["kill", "-w", workdir]);
    assertEquals(killed.code, 0, killed.stderr);
    assertEquals((await finish(child)).code, 143);
    assertEquals(await liveSlurmJobs(workdir), []);
    await waitFor(
      "the job's processes to go",
      () => processesRunning("sleep", "97.301").length === 0,
    );
  },
);

testOn(
  ["slurm", "docker"],
  "halt on Slurm: the first failure cancels the running jobs and their containers",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 120\nbash -c 'sleep 3; exit 4'\n");
    const result = await xqc([
      "run",
      "--scheduler",
      "slurm",
      "-i",
      TEST_IMAGE,
      "-n",
      "2",
      "-w",
      workdir,
      "-j",
      join(dir, "jobs"),
      "--error-strategy",
      "halt",
      "--json",
    ]);
    assertEquals(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.halted, true);
    assertEquals(summary.jobs.map((j: { status: string }) => j.status), ["KILLED", "FAILED"]);
    assertEquals(summary.jobs[1].rc, 4);
    assertEquals(await liveSlurmJobs(workdir), []);
    await waitFor("no container", async () => (await containersOf("docker", workdir)).length === 0);
  },
);

testOn(
  "slurm",
  "Slurm arrays: per-task rc, a failed task retried alone, a task killed alone",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const flag = join(dir, "second-try");
    await Deno.writeTextFile(
      join(dir, "jobs"),
      [
        "true",
        `bash -c 'if [ -e ${flag} ]; then echo retried; else touch ${flag}; exit 5; fi'`,
        "bash -c 'exit 0'",
        "sleep 300",
      ].join("\n") + "\n",
    );
    const child = startXqc([
      "run",
      "--scheduler",
      "slurm",
      "--slurm-array",
      "-n",
      "4",
      "-w",
      workdir,
      "-j",
      "jobs",
      "--error-strategy",
      "retry",
      "--num-retries",
      "1",
      "--json",
    ], dir);
    await waitFor("three jobs done, one running", async () => {
      const state = await readState(workdir).catch(() => null);
      const statuses = state?.jobs.map((j) => j.status) ?? [];
      return statuses.filter((s) => s === "FINISHED").length === 3 && statuses[3] === "RUNNING";
    }, 90_000);
    const jids = await Promise.all(
      [0, 1, 2, 3].map(async (i) => (await readJobFile(workdir, i, "job.jid")).trim()),
    );
    const array = jids[0].split("_")[0];
    assertEquals([jids[0], jids[2], jids[3]], [`${array}_0`, `${array}_2`, `${array}_3`]);
    assertMatch(jids[1], /^\d+$/, "the retry went alone, not in the array");
    assertEquals(
      (await readJobFile(workdir, 1, "job.retry/1/job.jid")).trim(),
      `${array}_1`,
    );
    assertEquals(await readJobFile(workdir, 1, "job.stdout"), "retried\n");
    // What each trial's batch script said is kept with that trial, not appended to the next.
    const markers = (text: string) => text.split("\n").filter((l) => l === "XQC-JOB-RUNNING");
    assertEquals(markers(await readJobFile(workdir, 1, "job.retry/1/job.sbatch.out")).length, 1);
    assertEquals(markers(await readJobFile(workdir, 1, "job.sbatch.out")).length, 1);
    child.kill("SIGTERM");
    const result = await finish(child);
    assertEquals(result.code, 143, result.stderr);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.jobs.map((j: { status: string }) => j.status), [
      "FINISHED",
      "FINISHED",
      "FINISHED",
      "KILLED",
    ]);
    assertEquals(summary.jobs[1].trials, 2);
    assertEquals(await liveSlurmJobs(workdir), []);
  },
);

testOn(
  "slurm",
  "xqc run --resume after kill -9 on Slurm: finished jobs stay done, a changed running one runs again",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const log = join(dir, "log");
    const jobs = (last: string) =>
      Deno.writeTextFile(
        join(dir, "jobs"),
        `bash -c 'echo a >>${log}'\nbash -c 'echo b >>${log}'\nbash -c 'echo c >>${log}${last}'\n`,
      );
    await jobs("; sleep 300");
    const args = ["run", "--scheduler", "slurm", "-n", "3", "-w", workdir, "-j", "jobs"];
    const child = startXqc(args, dir);
    await waitFor("two finished jobs and one running", async () => {
      const state = await readState(workdir).catch(() => null);
      const statuses = state?.jobs.map((j) => j.status) ?? [];
      return statuses.filter((s) => s === "FINISHED").length === 2 && statuses[2] === "RUNNING";
    }, 90_000);
    const pid = child.pid;
    child.kill("SIGKILL");
    await finish(child);
    assert(!(await alive(pid)));
    const running = (await readJobFile(workdir, 2, "job.jid")).trim();
    assertEquals((await liveSlurmJobs(workdir)).length, 1, "the Slurm job outlives xqc");
    await jobs("");
    const resumed = await xqc([...args, "--resume", "--json"], { cwd: dir });
    assertEquals(resumed.code, 0, resumed.stderr);
    // The job changed: its old Slurm job, kept for adoption, is cancelled when no job took it.
    assertStringIncludes(resumed.stderr, `Slurm jobs no job took: ${running}`);
    assertEquals(
      JSON.parse(resumed.stdout).jobs.map((j: { status: string }) => j.status),
      ["SKIPPED", "SKIPPED", "FINISHED"],
    );
    assertEquals((await Deno.readTextFile(log)).split("\n").filter(Boolean).sort(), [
      "a",
      "b",
      "c",
      "c",
    ]);
    assertEquals(await liveSlurmJobs(workdir), []);
  },
);

testOn(
  "slurm",
  "1,000 Slurm jobs: one squeue per interval, and one scancel to stop them all",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const squeue = await counted("squeue", dir);
    const scancel = await counted("scancel", dir);
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 300\n".repeat(1000));
    const child = startXqc([
      "run",
      "--scheduler",
      "slurm",
      "-n",
      "1000",
      "-w",
      workdir,
      "-j",
      "jobs",
      "--squeue",
      squeue.path,
      "--scancel",
      scancel.path,
      "--poll-interval",
      "1",
    ], dir);
    await untilRunning(workdir, 8, 90_000);
    const before = squeue.calls();
    const start = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    const calls = squeue.calls() - before;
    const seconds = (performance.now() - start) / 1000;
    assert(calls <= seconds + 1, `${calls} squeue calls in ${seconds.toFixed(1)} s for 1,000 jobs`);
    assert(calls >= 3, `${calls} squeue calls in ${seconds.toFixed(1)} s: is anyone looking?`);
    const state = await readState(workdir);
    assertEquals(state?.jobs.length, 1000);
    child.kill("SIGINT");
    const result = await finish(child);
    assertEquals(result.code, 130, result.stderr.slice(-2000));
    assert(scancel.calls() <= 2, `${scancel.calls()} scancel calls`);
    assertEquals(await liveSlurmJobs(workdir), []);
  },
);

Deno.test("xqc run --scheduler slurm --dry-run prints each batch script and submits nothing", async () => {
  const dir = await tempDir();
  const result = await xqc([
    "run",
    "--scheduler",
    "slurm",
    "--dry-run",
    "--slurm-opt",
    "time=01:00:00",
    "--slurm-opt",
    "exclusive",
    "--",
    "echo",
    "a b",
  ], { cwd: dir });
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "# job 0: echo 'a b'\n#!/bin/bash\n");
  assertStringIncludes(result.stdout, "#SBATCH --time=01:00:00\n#SBATCH --exclusive\n");
  assertStringIncludes(result.stdout, `bash ${join(dir, ".xqute", "0", "job.wrapped.slurm")}`);
  assertMatch(result.stdout, /# submitted with: \S*sbatch --parsable \S+\/0\/job\.sbatch/);
  await Deno.stat(join(dir, ".xqute")).then(
    () => assert(false, "a dry run wrote the workdir"),
    () => {},
  );
});

testOn(
  "slurm",
  "resources on Slurm: --cpus-per-task, --mem, per job; an array per set of resources",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      `scheduler: slurm
workdir: ${workdir}
forks: 4
slurmArray: true
cpus: 2
memory: 200m
jobs:
  - echo a
  - echo b
  - {cmd: echo c, memory: 300m}
  - {cmd: echo d, memory: 300m}
`,
    );
    const result = await xqc(["run", "-f", join(dir, "spec.yaml"), "--json"]);
    assertEquals(result.code, 0, result.stderr);
    const jids = await Promise.all(
      [0, 1, 2, 3].map(async (i) => (await readJobFile(workdir, i, "job.jid")).trim()),
    );
    const arrays = jids.map((jid) => jid.split("_")[0]);
    assertEquals(arrays[0], arrays[1]);
    assertEquals(arrays[2], arrays[3]);
    assert(arrays[0] !== arrays[2], "jobs with other resources shared an array");
    for (const [i, mem] of [[0, "200M"], [2, "300M"]] as const) {
      const shown = await sh(["scontrol", "show", "job", "-o", jids[i]]);
      assertMatch(shown, new RegExp(`MinMemoryNode=${mem}`));
      assertMatch(shown, /NumCPUs=2 /);
      assertStringIncludes(
        await readJobFile(workdir, i, "job.sbatch"),
        `#SBATCH --cpus-per-task=2\n#SBATCH --mem=${mem}\n`,
      );
    }
  },
);
