// xqc on a real Grid Engine cell (../shared/cluster/sge-up.sh): bash and container jobs,
// #$ lines, limits, arrays, a stop that leaves no job and no container, a job deleted from
// outside, a job Grid Engine keeps in error (Eqw), and one qstat per interval however many
// jobs run.

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startXqc, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  counted,
  readJobFile,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
  untilRunning,
  waitFor,
} from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("sge", "docker");

/** The Grid Engine jobs of a workdir that qstat still lists (pending, running, in error). */
async function liveSgeJobs(workdir: string): Promise<string[]> {
  const out = await sh(["qstat", "-u", "*"]);
  const state = await readState(workdir).catch(() => null);
  const ids = new Set(state?.jobs.map((j) => j.jid.split(".")[0]) ?? []);
  ids.delete("");
  return out.split("\n").filter((line) => ids.has(line.trim().split(/\s+/)[0]));
}

testOn(
  "sge",
  "xqc run --scheduler sge: bash jobs, rc, stdout, stderr, #$ lines, sge_* keys, job ids",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      `scheduler: sge
workdir: ${workdir}
forks: 3
envs: { GREETING: "hi there" }
sgeOpts: { q: all.q, l: ["h_rt=600"] }
sge_ac: xqc_test=1
jobs:
  - bash -c 'echo "$GREETING from $JOB_ID in $QUEUE"'
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
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), `hi there from ${jid} in all.q\n`);
    assertEquals(await readJobFile(workdir, 1, "job.stderr"), "bad\n");
    assertEquals(await readJobFile(workdir, 2, "job.stdout"), "a b|$(x)|");
    const script = await readJobFile(workdir, 0, "job.qsub");
    assertMatch(script, /^#\$ -N xqc-[0-9a-f]{8}-0$/m);
    for (const line of ["-q all.q", "-l h_rt=600", "-ac xqc_test=1", "-notify"]) {
      assertStringIncludes(script, `#$ ${line}\n`);
    }
    assert(!script.includes("hi there"), "an env value is in the job script");
    const status = await xqc(["status", "-w", workdir]);
    assertMatch(status.stdout, new RegExp(`\\n0 +FINISHED +0 +1 +.* ${jid} +bash -c`));
  },
);

testOn(
  ["sge", "docker"],
  "xqc run --scheduler sge -b docker: the job runs in its container on the node",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "--scheduler",
      "sge",
      "-i",
      TEST_IMAGE,
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
    assertStringIncludes(await readJobFile(workdir, 0, "job.qsub"), "docker");
    assertEquals(await containersOf("docker", workdir), []);
  },
);

testOn(
  "sge",
  "limits on Grid Engine: --cpus is -pe smp N, --memory is h_vmem per slot, in the job's slots and ulimit",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "--scheduler",
      "sge",
      "-w",
      workdir,
      "--cpus",
      "2",
      "--memory",
      "2g",
      "--",
      "bash",
      "-c",
      'echo "$NSLOTS $(ulimit -v)"',
    ]);
    assertEquals(result.code, 0, result.stderr);
    const script = await readJobFile(workdir, 0, "job.qsub");
    assertStringIncludes(script, "#$ -pe smp 2\n#$ -l h_vmem=1024M\n");
    // Two slots of 1 GiB each: a limit of 2 GiB, in KiB.
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), `2 ${2 * 1024 * 1024}\n`);
  },
);

testOn("sge", "bad input on Grid Engine: exit 2 with one line, nothing submitted", async () => {
  const dir = await tempDir();
  const cases: [string[], string][] = [
    [["--sge-pe", "nope", "--cpus", "2"], `parallel environment "nope" does not exist`],
    [["--sge-opt", "q=nosuch.q"], `unknown queue "nosuch.q"`],
    [["--gpus", "1"], "no GPU resource set"],
    [["--pool", "-i", TEST_IMAGE], `"pool" is not available on Grid Engine`],
    [["--slurm-opt", "partition=debug"], `"slurmOpts" needs the slurm scheduler, not "sge"`],
  ];
  for (const [args, said] of cases) {
    const workdir = join(dir, `wd-${cases.findIndex((c) => c[0] === args)}`);
    const result = await xqc(["run", "--scheduler", "sge", "-w", workdir, ...args, "--", "true"]);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertStringIncludes(result.stderr, said);
    assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
    const state = await readState(workdir).catch(() => null);
    assertEquals(state?.jobs.filter((j) => j.jid) ?? [], [], "a job was submitted");
  }
});

testOn("sge", "a cell that does not answer: exit 3, nothing started", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  // The real clients, sent to a port where no qmaster listens.
  const result = await xqc(["run", "--scheduler", "sge", "-w", workdir, "--", "true"], {
    env: { SGE_QMASTER_PORT: "1" },
  });
  assertEquals(result.code, 3, result.stderr);
  assertStringIncludes(result.stderr, "The Grid Engine cell does not answer");
  assertStringIncludes(result.stderr, "qmaster");
  const state = await readState(workdir).catch(() => null);
  assertEquals(state?.jobs ?? [], [], "a job was fed");
});

testOn(
  "sge",
  "Grid Engine arrays: 60 jobs at -n 60 are one qsub -t 1-60 -tc 60, with per-task rc and output",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const lines = Array.from({ length: 60 }, (_, i) => `echo task ${i}; exit $(( ${i} % 7 == 3 ))`);
    await Deno.writeTextFile(join(dir, "jobs"), lines.join("\n") + "\n");
    const result = await xqc([
      "run",
      "--scheduler",
      "sge",
      "-n",
      "60",
      "-w",
      workdir,
      "-j",
      join(dir, "jobs"),
      "--json",
    ]);
    assertEquals(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout);
    assertEquals(
      summary.jobs.map((j: { rc: number }) => j.rc),
      lines.map((_, i) => i % 7 === 3 ? 1 : 0),
    );
    const jid = (await readJobFile(workdir, 59, "job.jid")).trim();
    assertMatch(jid, /^\d+\.60$/);
    assertEquals(await readJobFile(workdir, 59, "job.stdout"), "task 59\n");
    const arrays = [...Deno.readDirSync(join(workdir, "sge-arrays"))];
    assertEquals(arrays.length, 1);
    const script = await Deno.readTextFile(join(workdir, "sge-arrays", arrays[0].name));
    assertStringIncludes(script, "#$ -t 1-60\n#$ -tc 60\n");
  },
);

testOn(
  ["sge", "docker"],
  "SIGINT to xqc on Grid Engine: one qdel, no job and no container left",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const qdel = await counted("qdel", dir);
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 120\n".repeat(3));
    const child = startXqc(
      [
        "run",
        "--scheduler",
        "sge",
        "-i",
        TEST_IMAGE,
        "-n",
        "3",
        "-w",
        workdir,
        "-j",
        "jobs",
        "--qdel",
        qdel.path,
      ],
      dir,
    );
    await untilRunning(workdir, 3);
    await waitFor("3 containers", async () => (await containersOf("docker", workdir)).length === 3);
    child.kill("SIGINT");
    const result = await finish(child);
    assertEquals(result.code, 130, result.stderr);
    assertEquals(qdel.calls(), 1);
    await waitFor("no Grid Engine job", async () => (await liveSgeJobs(workdir)).length === 0);
    await waitFor("no container", async () => (await containersOf("docker", workdir)).length === 0);
    const state = await readState(workdir);
    assertEquals(state?.jobs.map((j) => j.status), ["KILLED", "KILLED", "KILLED"]);
  },
);

testOn(
  ["sge", "docker"],
  "a Grid Engine job deleted from outside (qdel): rc -3, no container, no hang",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const child = startXqc(
      [
        "run",
        "--scheduler",
        "sge",
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
    await sh(["qdel", (await readJobFile(workdir, 0, "job.jid")).trim()]);
    const result = await finish(child);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(JSON.parse(result.stdout).jobs[0].rc, -3);
    assertStringIncludes(
      await readJobFile(workdir, 0, "job.stderr"),
      "deleted or cancelled from outside",
    );
    await waitFor("no container", async () => (await containersOf("docker", workdir)).length === 0);
  },
);

testOn(
  "sge",
  "a Grid Engine job in error (Eqw): deleted, rc -3 naming the state and the reason",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    // Its output file cannot be opened: Grid Engine puts the job in Eqw and keeps it there.
    const result = await xqc([
      "run",
      "--scheduler",
      "sge",
      "-w",
      workdir,
      "--sge-opt",
      "o=/nonexistent/xqc/out",
      "--json",
      "--",
      "true",
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(JSON.parse(result.stdout).jobs[0].rc, -3);
    const stderr = await readJobFile(workdir, 0, "job.stderr");
    assertStringIncludes(stderr, "in state Eqw");
    assertStringIncludes(stderr, "/nonexistent/xqc/out");
    assertEquals(await liveSgeJobs(workdir), []);
  },
);

testOn(
  "sge",
  "200 Grid Engine jobs: one qstat per interval, and one qdel to stop them all",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const qstat = await counted("qstat", dir);
    const qdel = await counted("qdel", dir);
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 300\n".repeat(200));
    const child = startXqc([
      "run",
      "--scheduler",
      "sge",
      "-n",
      "200",
      "-w",
      workdir,
      "-j",
      "jobs",
      "--qstat",
      qstat.path,
      "--qdel",
      qdel.path,
      "--poll-interval",
      "1",
    ], dir);
    await untilRunning(workdir, 4, 90_000);
    const before = qstat.calls();
    const start = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    const calls = qstat.calls() - before;
    const seconds = (performance.now() - start) / 1000;
    assert(calls <= seconds + 1, `${calls} qstat calls in ${seconds.toFixed(1)} s for 200 jobs`);
    assert(calls >= 3, `${calls} qstat calls in ${seconds.toFixed(1)} s: is anyone looking?`);
    child.kill("SIGINT");
    const result = await finish(child);
    assertEquals(result.code, 130, result.stderr.slice(-2000));
    assert(qdel.calls() <= 2, `${qdel.calls()} qdel calls`);
    await waitFor("no Grid Engine job", async () => (await liveSgeJobs(workdir)).length === 0);
  },
);

testOn(
  "sge",
  "a crashed run's Grid Engine jobs: --resume adopts the live one; xqc kill deletes what is left",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 8; echo slow\nsleep 97.5\n");
    const argv = ["run", "--scheduler", "sge", "-n", "2", "-w", workdir, "-j", join(dir, "jobs")];
    const first = startXqc(argv, dir);
    await untilRunning(workdir, 2);
    const jids = [0, 1].map((i) => readJobFile(workdir, i, "job.jid"));
    first.kill("SIGKILL");
    await finish(first);
    // The jobs outlive the run; a resumed run takes the slow one over under its id.
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 8; echo slow\n");
    const resumed = await xqc([...argv, "--resume"]);
    assertEquals(resumed.code, 0, resumed.stderr);
    assertEquals(await readJobFile(workdir, 0, "job.jid"), await jids[0]);
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "slow\n");
    // The job no fed job took was deleted when feeding ended.
    const other = (await jids[1]).trim();
    await waitFor(
      "the other job deleted",
      async () => !(await sh(["qstat"])).includes(` ${other} `),
    );
    // A crash again, then xqc kill: nothing is left in qstat.
    const third = startXqc(
      ["run", "--scheduler", "sge", "-w", workdir, "--", "sleep", "96.5"],
      dir,
    );
    await untilRunning(workdir, 1);
    third.kill("SIGKILL");
    await finish(third);
    const killed = await xqc(["kill", "-w", workdir]);
    assertEquals(killed.code, 0, killed.stderr);
    assertStringIncludes(killed.stderr + killed.stdout, "sge job");
    await waitFor("no Grid Engine job", async () => (await liveSgeJobs(workdir)).length === 0);
  },
);

testOn("sge", "a waiting Grid Engine job deleted from outside: rc -3 within seconds", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  // A held job (-h) waits until released: it is deleted before it ever runs.
  const child = startXqc(
    ["run", "--scheduler", "sge", "--sge-opt", "h", "-w", workdir, "--json", "--", "true"],
    dir,
  );
  await waitFor("the job id", async () => {
    try {
      return /^\d+$/.test((await readJobFile(workdir, 0, "job.jid")).trim());
    } catch {
      return false;
    }
  });
  const deleted = performance.now();
  await sh(["qdel", (await readJobFile(workdir, 0, "job.jid")).trim()]);
  const result = await finish(child);
  const seconds = (performance.now() - deleted) / 1000;
  assertEquals(result.code, 1, result.stderr);
  assertEquals(JSON.parse(result.stdout).jobs[0].rc, -3);
  assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "deleted before it ran");
  assert(seconds < 60, `the run took ${seconds.toFixed(0)} s to see the job gone`);
});
