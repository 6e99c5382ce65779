// Per-job resources on the real engines: limits applied, a job killed for memory says so
// (its child too), a retry gets more memory, CPUs are a quota; and apptainer's clean
// environment.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import { checkEngines, ENGINE_NAMES, imageFor, readJobFile, tempDir, testOn } from "./helpers.ts";

await checkEngines("docker", "podman", "apptainer");

/** A job that holds about 160 MB: a bash string of 80 MB, read from a pipe. */
const HUNGRY = 'x=$(head -c 80000000 /dev/zero | tr "\\0" x); echo ${#x}';

for (const engine of ENGINE_NAMES) {
  testOn(
    engine,
    `--memory on ${engine}: a job killed for memory says so, rc 137; its child's kill too`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      await Deno.writeTextFile(
        join(dir, "jobs"),
        // The second job's child is killed, and the job itself would exit 0.
        `bash -c '${HUNGRY}'\nbash -c '(${HUNGRY}); exit 0'\nbash -c 'echo small'\n`,
      );
      const result = await xqc([
        "run",
        "-b",
        engine,
        "-i",
        imageFor(engine),
        "--memory",
        "64m",
        "-n",
        "3",
        "-w",
        workdir,
        "-j",
        join(dir, "jobs"),
        "--json",
      ], { cwd: dir });
      assertEquals(result.code, 1, result.stderr);
      const summary = JSON.parse(result.stdout);
      assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [137, 137, 0]);
      // Nothing lands where xqc runs (podman's conmon writes a file `oom` where its client runs).
      assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name).sort(), ["jobs", "wd"]);
      for (const index of [0, 1]) {
        assertStringIncludes(
          await readJobFile(workdir, index, "job.stderr"),
          "xqc: killed: out of memory (limit 64m)",
        );
        assertEquals((await readJobFile(workdir, index, "job.oom")).trim() !== "0", true);
      }
      assertEquals(await readJobFile(workdir, 2, "job.stdout"), "small\n");
      assertEquals(summary.jobs[0].limits, [{ memory: 64 * 1024 ** 2 }]);
    },
  );
}

testOn(
  "docker",
  "errorStrategy retry after running out of memory: each trial gets twice the memory",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "-i",
      imageFor("docker"),
      "--memory",
      "64m",
      "--error-strategy",
      "retry",
      "--num-retries",
      "3",
      "-w",
      workdir,
      "--json",
      "--",
      "bash",
      "-c",
      HUNGRY,
    ]);
    assertEquals(result.code, 0, result.stderr);
    const job = JSON.parse(result.stdout).jobs[0];
    assertEquals(job.status, "FINISHED");
    assertEquals(job.trials, 3);
    const mib = 1024 ** 2;
    assertEquals(job.limits.map((l: { memory: number }) => l.memory), [
      64 * mib,
      128 * mib,
      256 * mib,
    ]);
    for (const [trial, limit] of [[1, "64m"], [2, "128m"]] as const) {
      const submission = await readJobFile(workdir, 0, `job.retry/${trial}/job.submission`);
      assertStringIncludes(submission, `--memory\n${limit}\n`);
      assertStringIncludes(
        await readJobFile(workdir, 0, `job.retry/${trial}/job.stderr`),
        `out of memory (limit ${limit})`,
      );
    }
    assertStringIncludes(await readJobFile(workdir, 0, "job.submission"), "--memory\n256m\n");
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "80000000\n");
  },
);

for (const engine of ["docker", "podman"] as const) {
  testOn(engine, `--cpus on ${engine} is a CFS quota the job's cgroup holds`, async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "-b",
      engine,
      "-i",
      imageFor(engine),
      "--cpus",
      "1.5",
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
    ]);
    assertEquals(result.code, 0, result.stderr);
    const [quota, period] = (await readJobFile(workdir, 0, "job.stdout")).trim().split("\n");
    assertEquals(Number(quota) / Number(period), 1.5);
  });
}

testOn(
  "apptainer",
  "apptainer jobs get a clean environment: their own variables, and --env-pass ones",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "-b",
      "apptainer",
      "-i",
      imageFor("apptainer"),
      "-w",
      workdir,
      "-e",
      "OWN=$(echo not run) 'q'",
      "--env-pass",
      "XQC_PASSED",
      "--",
      "bash",
      "-c",
      'echo "${OWN}|${XQC_PASSED-unset}|${XQC_SECRET-unset}|$XQUTE_JOB_INDEX"',
    ], { env: { XQC_SECRET: "host only", XQC_PASSED: "passed on" } });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(
      await readJobFile(workdir, 0, "job.stdout"),
      "$(echo not run) 'q'|passed on|unset|0\n",
    );
    const submission = await readJobFile(workdir, 0, "job.submission");
    assert(!submission.includes("passed on"), "a value in the argv");
    assertStringIncludes(submission, "--cleanenv\n--no-eval\n");
  },
);

testOn("docker", "--env-pass on docker passes a variable of this environment by name", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const result = await xqc(
    [
      "run",
      "-i",
      imageFor("docker"),
      "-w",
      workdir,
      "--env-pass",
      "XQC_PASSED",
      "--",
      "bash",
      "-c",
      'echo "${XQC_PASSED-unset}"',
    ],
    { env: { XQC_PASSED: "passed on" } },
  );
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await readJobFile(workdir, 0, "job.stdout"), "passed on\n");
  assert(!(await readJobFile(workdir, 0, "job.submission")).includes("passed on"));
});
