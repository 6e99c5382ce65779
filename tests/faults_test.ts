// Crash safety: kill -9, orphans, resume, one run per workdir, engine faults, security.

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { readState, Xqute } from "../mod.ts";
import { alive, finish, startRunning, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  readJobFile,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
  waitFor,
} from "./helpers.ts";
import { startSecondDockerd } from "./dockerd.ts";

await checkEngines("docker");

testOn(
  "docker",
  "after kill -9 of xqc run, the next run on the workdir removes its containers first",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 120\nsleep 120\n");
    const child = await startRunning(
      ["run", "-i", TEST_IMAGE, "-n", "2", "-w", workdir, "-j", "jobs"],
      workdir,
      2,
      { cwd: dir },
    );
    child.kill("SIGKILL");
    await finish(child);
    assertEquals((await containersOf("docker", workdir)).length, 2, "the daemon keeps them");
    const next = await xqc(["run", "-i", TEST_IMAGE, "-w", workdir, "--", "true"]);
    assertEquals(next.code, 0, next.stderr);
    assertMatch(
      next.stderr,
      /an earlier run of this workdir left these running; stopped: container xqc-/,
    );
    assertEquals(await containersOf("docker", workdir), []);
  },
);

Deno.test("after kill -9 of a local run, the next run kills the jobs it left", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const marker = join(dir, "still-running");
  await Deno.writeTextFile(join(dir, "jobs"), `bash -c 'sleep 60; touch ${marker}'\n`);
  const child = await startRunning(
    ["run", "--scheduler", "local", "-w", workdir, "-j", "jobs"],
    workdir,
    1,
    { cwd: dir },
  );
  const pid = Number((await readJobFile(workdir, 0, "job.jid")).trim());
  child.kill("SIGKILL");
  await finish(child);
  assert(await alive(pid), "the job died with xqc");
  assertStringIncludes((await xqc(["status", "-w", workdir])).stdout, "state crashed");
  const next = await xqc(["run", "--scheduler", "local", "-w", workdir, "--", "true"]);
  assertEquals(next.code, 0, next.stderr);
  assertStringIncludes(next.stderr, `process group ${pid}`);
  await waitFor(
    "the old job to go",
    async () => !(await alive(pid)),
  );
});

Deno.test("xqc run --resume after kill -9: finished jobs are not run again, the running one is", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const log = join(dir, "log");
  await Deno.writeTextFile(
    join(dir, "jobs"),
    `bash -c 'echo a >>${log}'\nbash -c 'echo b >>${log}'\nbash -c 'echo c >>${log}; sleep 60'\n`,
  );
  const child = await startRunning(
    ["run", "--scheduler", "local", "-n", "3", "-w", workdir, "-j", "jobs"],
    workdir,
    1,
    { cwd: dir },
  );
  await waitFor("two finished jobs and one running", async () => {
    const state = await readState(workdir).catch(() => null);
    const statuses = state?.jobs.map((j) => j.status) ?? [];
    return statuses.filter((s) => s === "FINISHED").length === 2 && statuses.includes("RUNNING");
  });
  child.kill("SIGKILL");
  await finish(child);
  await Deno.writeTextFile(
    join(dir, "jobs"),
    `bash -c 'echo a >>${log}'\nbash -c 'echo b >>${log}'\nbash -c 'echo c >>${log}'\n`,
  );
  const resumed = await xqc([
    "run",
    "--scheduler",
    "local",
    "-w",
    workdir,
    "-j",
    "jobs",
    "--resume",
    "--json",
  ], { cwd: dir });
  assertEquals(resumed.code, 0, resumed.stderr);
  const summary = JSON.parse(resumed.stdout);
  assertEquals(summary.jobs.map((j: { status: string }) => j.status), [
    "SKIPPED",
    "SKIPPED",
    "FINISHED",
  ]);
  assertEquals(summary.skipped, 2);
  assertEquals((await Deno.readTextFile(log)).split("\n").filter(Boolean).sort(), [
    "a",
    "b",
    "c",
    "c",
  ]);
});

Deno.test("a second xqc run on a live workdir exits 2 naming the owner; a crashed owner does not block", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const first = await startRunning(
    ["run", "--scheduler", "local", "-w", workdir, "--", "sleep", "60"],
    workdir,
    1,
    { cwd: dir },
  );
  const second = await xqc(["run", "--scheduler", "local", "-w", workdir, "--", "true"]);
  assertEquals(second.code, 2);
  assertStringIncludes(second.stderr, `in use by the run of process ${first.pid}`);
  assertEquals(second.stderr.trim().split("\n").length, 1);
  first.kill("SIGKILL");
  await finish(first);
  const third = await xqc(["run", "--scheduler", "local", "-w", workdir, "--", "true"]);
  assertEquals(third.code, 0, third.stderr);
});

testOn("docker", "a second SIGINT while stopping leaves no container either", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  await Deno.writeTextFile(join(dir, "jobs"), "sleep 60\n".repeat(4));
  const child = await startRunning(
    ["run", "-i", TEST_IMAGE, "-n", "4", "-w", workdir, "-j", "jobs"],
    workdir,
    4,
    { cwd: dir },
  );
  child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 30));
  child.kill("SIGINT");
  const result = await finish(child);
  assertEquals(result.code, 130, result.stderr);
  assertEquals(await containersOf("docker", workdir), []);
});

testOn(
  "docker",
  "docker refusing a job gives rc -2 with the engine's message, and retries apply",
  async () => {
    const workdir = await tempDir();
    const xq = new Xqute({
      scheduler: "container",
      workdir,
      errorStrategy: "retry",
      numRetries: 1,
      schedulerOpts: { image: TEST_IMAGE, binArgs: ["--memory", "lots"] },
    });
    await xq.feed(["true"]);
    const summary = await xq.runUntilComplete();
    assertEquals(summary.jobs[0].rc, -2);
    assertEquals(summary.jobs[0].trials, 2);
    const stderr = await readJobFile(workdir, 0, "job.stderr");
    assertStringIncludes(stderr, "xqc: the job did not start (exit code 125)");
    assertStringIncludes(stderr, "lots");
    assertEquals(await readJobFile(workdir, 0, "job.rc"), "-2\n");
  },
);

testOn(
  "docker",
  "an out-of-memory kill says so in job.stderr (rc 137, or -3 when it took the wrapper)",
  async () => {
    const workdir = await tempDir();
    const xq = new Xqute({
      scheduler: "container",
      workdir,
      schedulerOpts: { image: TEST_IMAGE, binArgs: ["--memory", "16m", "--memory-swap", "16m"] },
    });
    await xq.feed(["bash", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}"]);
    const summary = await xq.runUntilComplete();
    // The OOM killer takes the biggest process (the job's rc is then 137) or, with the memory
    // gone, the wrapper itself (the job vanished: -3); either way job.stderr says why.
    assert([137, -3].includes(summary.jobs[0].rc!), `rc ${summary.jobs[0].rc}`);
    assertMatch(await readJobFile(workdir, 0, "job.stderr"), /killed by SIGKILL.*out of memory/);
  },
);

testOn(
  "docker",
  "env values stay out of every file and argv; metadirs are not world-writable",
  async () => {
    const dir = await tempDir();
    const secret = "s3cr3t-`id`-$(whoami);x\ny'z";
    const result = await xqc(
      [
        "run",
        "-i",
        TEST_IMAGE,
        "-e",
        `TOKEN=${secret}`,
        "--",
        "bash",
        "-c",
        // The value itself must not be in the command: compare its length and a piece.
        `test "\${#TOKEN}" = ${secret.length} && [[ "$TOKEN" == *'$(whoami);x'* ]] && echo same`,
      ],
      { cwd: dir },
    );
    assertEquals(result.code, 0, result.stderr);
    const workdir = join(dir, ".xqute");
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "same\n");
    for (const name of ["job.submission", "job.wrapped.container-docker", "job.stderr"]) {
      assert(!(await readJobFile(workdir, 0, name)).includes("s3cr3t"), `${name} holds the value`);
    }
    const state = JSON.stringify(await readState(workdir));
    assert(!state.includes("s3cr3t"), "the Kv state holds the value");
    for (const path of [join(workdir, "0"), join(workdir, "0", "job.wrapped.container-docker")]) {
      assertEquals((await Deno.stat(path)).mode! & 0o002, 0, `${path} is world-writable`);
    }
  },
);

testOn(
  "docker",
  "dockerd stopping mid-run fails the running jobs with rc -3 and a message; the run ends",
  async () => {
    const second = await startSecondDockerd();
    const env = second.env;
    const daemon = second.process;
    try {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      await Deno.writeTextFile(join(dir, "jobs"), "sleep 120\nsleep 120\n");
      const running = await startRunning(
        ["run", "-i", TEST_IMAGE, "-n", "2", "-w", workdir, "--json", "-j", join(dir, "jobs")],
        workdir,
        2,
        { cwd: dir, env },
      );
      const start = performance.now();
      daemon.kill("SIGKILL");
      await daemon.status;
      const result = await finish(running);
      assert(performance.now() - start < 30000, "the run hung");
      assertEquals(result.code, 1, result.stderr);
      const summary = JSON.parse(result.stdout);
      assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [-3, -3]);
      assertStringIncludes(
        await readJobFile(workdir, 0, "job.stderr"),
        "xqc: the job's process ended (",
      );
      assertStringIncludes(
        await readJobFile(workdir, 0, "job.stderr"),
        "before the job wrote its rc",
      );
    } finally {
      await second.stop();
    }
  },
);

Deno.test("xqc kill after kill -9 of a local run stops the jobs it left", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const child = await startRunning(
    ["run", "--scheduler", "local", "-w", workdir, "--", "sleep", "60"],
    workdir,
    1,
    { cwd: dir },
  );
  const pid = Number((await readJobFile(workdir, 0, "job.jid")).trim());
  child.kill("SIGKILL");
  await finish(child);
  const killed = await xqc(["kill", "-w", workdir]);
  assertEquals(killed.code, 0, killed.stderr);
  assertStringIncludes(killed.stderr, `process group ${pid}`);
  await waitFor(
    "the job to go",
    async () => !(await alive(pid)),
  );
});

testOn(
  "docker",
  "recheckInterval: a job whose container vanished under a hung client fails with rc -3",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const child = await startRunning(
      [
        "run",
        "-i",
        TEST_IMAGE,
        "-w",
        workdir,
        "--recheck-interval",
        "1",
        "--json",
        "--",
        "sleep",
        "300",
      ],
      workdir,
      1,
      { cwd: dir },
    );
    const name = (await readJobFile(workdir, 0, "job.jid")).trim();
    const [client] = processesWith(name);
    assert(client, "the docker client of the job");
    // The client hangs (stopped), and its container goes away behind its back.
    Deno.kill(client, "SIGSTOP");
    await sh(["docker", "rm", "-f", name]);
    const start = performance.now();
    const ended = await Promise.race([
      finish(child),
      new Promise<null>((r) => setTimeout(() => r(null), 30_000)),
    ]);
    if (ended === null) {
      child.kill("SIGKILL");
      Deno.kill(client, "SIGKILL");
    }
    assert(ended !== null, "the run waited for a vanished container");
    assert(performance.now() - start < 15_000);
    assertEquals(ended.code, 1, ended.stderr);
    assertEquals(JSON.parse(ended.stdout).jobs[0].rc, -3);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), `container ${name} is gone`);
  },
);

/** Pids of the processes whose command line holds this word. */
function processesWith(word: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (argv.includes(word)) found.push(Number(entry.name));
    } catch {
      // Gone.
    }
  }
  return found;
}

Deno.test("xqc run --resume: a job that finished after its run was killed with -9 is not run again", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const log = join(dir, "log");
  await Deno.writeTextFile(join(dir, "jobs"), `bash -c 'sleep 1; echo once >>${log}'\n`);
  const args = ["run", "--scheduler", "local", "-w", workdir, "-j", "jobs"];
  const child = await startRunning(args, workdir, 1, { cwd: dir });
  child.kill("SIGKILL");
  await finish(child);
  // The job goes on without xqc, and finishes: its wrapper writes FINISHED and rc 0.
  await waitFor(
    "the job to finish alone",
    async () => (await readJobFile(workdir, 0, "job.rc").catch(() => "")) === "0\n",
  );
  const resumed = await xqc([...args, "--resume", "--json"], { cwd: dir });
  assertEquals(resumed.code, 0, resumed.stderr);
  assertEquals(JSON.parse(resumed.stdout).jobs[0].status, "SKIPPED");
  assertEquals(await Deno.readTextFile(log), "once\n");
});
