// Container pools on the real engines: every per-job guarantee, through long-lived containers.

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { type Job, JobStatus, readState, type RunSummary, Xqute } from "../mod.ts";
import { findTaggedGroups } from "../src/core/process.ts";
import { alive, finish, startRunning, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  type ContainerEngine,
  containersOf,
  ENGINE_NAMES,
  imageFor,
  readJobFile,
  sh,
  tempDir,
  testOn,
  waitFor,
} from "./helpers.ts";

await checkEngines("docker", "podman", "apptainer");

function pooled(
  engine: ContainerEngine,
  workdir: string,
  options: Record<string, unknown> = {},
  schedulerOpts: Record<string, unknown> = {},
): Xqute {
  return new Xqute({
    scheduler: "container",
    workdir,
    forks: 2,
    ...options,
    schedulerOpts: { image: imageFor(engine), bin: engine, pool: true, ...schedulerOpts },
  });
}

/** The container a pooled job ran in: the part of its jid before the slash. */
async function containerOf(workdir: string, index: number): Promise<string> {
  const jid = (await readJobFile(workdir, index, "job.jid")).trim();
  assertMatch(jid, /^[^/]+\/\d+\.\d+$/);
  return jid.split("/")[0];
}

/** Processes whose argv holds a marker. */
async function processesWith(marker: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", marker] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}

/** What a pool run left: containers of the workdir, its marked processes, a marked command. */
async function leftovers(engine: ContainerEngine, workdir: string, marker: string) {
  return {
    containers: engine === "apptainer" ? [] : await containersOf(engine, workdir),
    groups: await findTaggedGroups(workdir),
    commands: await processesWith(marker),
  };
}

const NOTHING = { containers: [], groups: [], commands: [] };

for (const engine of ENGINE_NAMES) {
  testOn(
    engine,
    `pool on ${engine}: jobs share at most forks containers; envs, cwd, rc, stdout, stderr and usage land in each metadir`,
    async () => {
      const workdir = await tempDir();
      const secret = `s3cr3t-${crypto.randomUUID()}`;
      const mark = `xqc-mark-${crypto.randomUUID()}`;
      const xq = pooled(engine, workdir, {}, { envs: { ALL: "a b" } });
      for (let i = 0; i < 6; i++) {
        await xq.feed(
          [
            "bash",
            "-c",
            `touch /tmp/${mark}-$XQUTE_JOB_INDEX; ` +
            'echo "$ALL|$ONE|$XQUTE_JOB_INDEX|$PWD|${#TOKEN}"; ' +
            `echo "err $XQUTE_JOB_INDEX" >&2; marks=(/tmp/${mark}-*); echo "\${#marks[@]}" >"$XQUTE_JOB_METADIR/marks"; ` +
            "exit $((XQUTE_JOB_INDEX % 2))",
          ],
          { envs: { ONE: `l1\nl2 '$(x)'`, TOKEN: secret } },
        );
      }
      // A job that keeps a CPU busy for a while: its usage counts it, and the others' not.
      await xq.feed(["bash", "-c", "i=0; while ((i < 300000)); do ((i++)); done"]);
      const summary = await xq.runUntilComplete();
      assertEquals(summary.jobs.map((j) => j.rc), [0, 1, 0, 1, 0, 1, 0]);
      const containers = new Set<string>();
      let mostMarks = 0;
      for (let i = 0; i < 6; i++) {
        assertEquals(
          await readJobFile(workdir, i, "job.stdout"),
          `a b|l1\nl2 '$(x)'|${i}|/mnt/disks/xqute_workdir|${secret.length}\n`,
        );
        assertEquals(await readJobFile(workdir, i, "job.stderr"), `err ${i}\n`);
        assertEquals(await readJobFile(workdir, i, "job.rc"), `${i % 2}\n`);
        const usage = await readJobFile(workdir, i, "job.usage");
        assertMatch(usage, /cpu_ms=\d+\nmeasured=\w+/);
        if (Deno.uid() === 0) {
          // As root each engine's container has a cgroup (apptainer's made by the run), which
          // counts the job alone: its peak was reset before it, not the host's.
          assertMatch(usage, /measured=cgroup/);
          const peak = Number(usage.match(/peak_rss=(\d+)/)?.[1]);
          assert(peak > 0 && peak < 100 * 1024 * 1024, `job ${i}: peak ${peak}`);
        }
        containers.add(await containerOf(workdir, i));
        mostMarks = Math.max(mostMarks, Number(await readJobFile(workdir, i, "marks")));
        for (const file of ["job.submission", `job.wrapped.container-${engine}`]) {
          assert(
            !(await readJobFile(workdir, i, file)).includes(secret),
            `${file} holds the value`,
          );
        }
      }
      assert(containers.size >= 1 && containers.size <= 2, `${containers.size} containers`);
      if (Deno.uid() === 0) {
        const cpu = async (i: number) =>
          Number((await readJobFile(workdir, i, "job.usage")).match(/cpu_ms=(\d+)/)?.[1]);
        const busy = await cpu(6);
        assert(busy >= 150, `the busy job's CPU: ${busy} ms`);
        for (let i = 0; i < 6; i++) {
          const small = await cpu(i);
          assert(small < busy / 2, `job ${i}'s CPU: ${small} ms, the busy job's ${busy} ms`);
        }
      }
      // Jobs after the first in a container see what earlier jobs left in its /tmp (apptainer's
      // /tmp is the host's, pool or not).
      assert(mostMarks >= 2, `no job saw another's /tmp (${mostMarks})`);
      if (engine === "apptainer") await sh(["bash", "-c", `rm -f /tmp/${mark}-*`]);
      assert(!JSON.stringify(await readState(workdir)).includes(secret), "the state holds it");
      assertEquals(await leftovers(engine, workdir, "xqc-no-such-marker"), NOTHING);
    },
  );

  testOn(
    engine,
    `pool on ${engine}: the agent talks through FIFOs in the workdir (docker, podman), gone at the end`,
    async () => {
      const workdir = await tempDir();
      const xq = pooled(engine, workdir);
      await xq.feed(["bash", "-c", 'ls "$XQUTE_METADIR/.xqc-pool" 2>/dev/null | sort']);
      const summary = await xq.runUntilComplete();
      assertEquals(summary.jobs[0].rc, 0);
      const listed = await readJobFile(workdir, 0, "job.stdout");
      if (engine === "apptainer") assertEquals(listed, "");
      else assertMatch(listed, /^\S+-pool-1\.in\n\S+-pool-1\.out\n$/);
      const left = await Deno.stat(join(workdir, ".xqc-pool")).then(() => true, () => false);
      assert(!left, "the FIFOs' folder is left");
    },
  );

  testOn(
    engine,
    `pool on ${engine}: once no job waits, a container that falls idle closes while the last job runs`,
    async () => {
      const workdir = await tempDir();
      const xq = pooled(engine, workdir);
      await xq.feed(["true"]);
      await xq.feed(["bash", "-c", 'while [ ! -e "$XQUTE_METADIR/go" ]; do sleep 0.1; done']);
      const run = xq.runUntilComplete();
      let summary: RunSummary;
      try {
        await waitFor(
          "job 0's end while job 1 runs",
          () => xq.jobs[0].status === JobStatus.FINISHED && xq.jobs[1].status === JobStatus.RUNNING,
        );
        const first = await containerOf(workdir, 0);
        const second = await containerOf(workdir, 1);
        assert(first !== second, "the two jobs shared a container");
        // Only the last job's container is left, and the job still runs in it.
        if (engine === "apptainer") {
          // There, a pool container is known by its client's pid.
          await waitFor("job 0's container to go", async () => !(await alive(Number(first))));
        } else {
          await waitFor(
            "job 0's container to go",
            async () => !(await containersOf(engine, workdir)).includes(first),
          );
          assertEquals(await containersOf(engine, workdir), [second]);
        }
        assertEquals(xq.jobs[1].status, JobStatus.RUNNING);
      } finally {
        // Pass or fail, the run ends here: nothing of it outlives the test.
        await Deno.writeTextFile(join(workdir, "go"), "");
        summary = await run;
      }
      assertEquals(summary.jobs.map((j) => j.rc), [0, 0]);
    },
  );

  testOn(
    engine,
    `pool on ${engine}: a timeout gives rc 124, and a killed job leaves its container and the other jobs running`,
    async () => {
      const workdir = await tempDir();
      const marker = `${Math.floor(Math.random() * 1000) + 1000}.${Date.now() % 1000}`;
      const xq = pooled(engine, workdir, { forks: 3 }, { timeout: 3 });
      await xq.runUntilComplete({ keepFeeding: true });
      await xq.feed(["sleep", marker]);
      await xq.feed(["bash", "-c", "sleep 2; echo survived"]);
      await xq.feed(["sleep", "30"]);
      const [killed] = xq.jobs;
      await waitFor("job 0 to run", () => killed.status === JobStatus.RUNNING);
      await xq.scheduler.killJobAndUpdateStatus(killed, "the test killed it");
      await xq.feed(["bash", "-c", "echo after"]);
      const summary = await xq.stopFeeding();
      assertEquals(summary.jobs.map((j) => j.rc), [143, 0, 124, 0]);
      assertEquals(summary.jobs[0].status, "KILLED");
      assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "the test killed it");
      assertEquals(await readJobFile(workdir, 1, "job.stdout"), "survived\n");
      assertStringIncludes(await readJobFile(workdir, 2, "job.stderr"), "timed out after 3 s");
      // The container of the killed job lived on and took the next job.
      const used = await Promise.all([0, 1, 2].map((i) => containerOf(workdir, i)));
      assert(used.includes(await containerOf(workdir, 3)), "job 3 got a new container");
      assertEquals(await leftovers(engine, workdir, `sleep ${marker}`), NOTHING);
    },
  );

  testOn(
    engine,
    `pool on ${engine}: retries, hooks and halt work as with single containers`,
    async () => {
      const workdir = await tempDir();
      const heard: string[] = [];
      const plugin = {
        onJobStarted: (_s: unknown, job: Job) => void heard.push(`started ${job.index}`),
        onJobFailed: (_s: unknown, job: Job) => void heard.push(`failed ${job.index}`),
        onJobSucceeded: (_s: unknown, job: Job) => void heard.push(`succeeded ${job.index}`),
      };
      const xq = pooled(engine, workdir, {
        errorStrategy: "retry",
        numRetries: 2,
        plugins: [plugin],
      });
      // Fails twice, then succeeds: the count lives in the metadir, which retries keep.
      await xq.feed([
        "bash",
        "-c",
        'n=$(cat "$XQUTE_JOB_METADIR/n" 2>/dev/null || echo 0); echo $((n + 1)) >"$XQUTE_JOB_METADIR/n"; [ "$n" -ge 2 ]',
      ]);
      const summary = await xq.runUntilComplete();
      assertEquals(summary.jobs[0].rc, 0);
      assertEquals(summary.jobs[0].trials, 3);
      assertEquals(heard.filter((h) => h === "failed 0").length, 2);
      assertEquals(heard.filter((h) => h === "started 0").length, 3);
      assert(heard.includes("succeeded 0"));

      const halted = await tempDir();
      const marker = `${Math.floor(Math.random() * 1000) + 2000}.${Date.now() % 1000}`;
      const hx = pooled(engine, halted, { errorStrategy: "halt" });
      await hx.feed(["sleep", marker]);
      await hx.feed(["bash", "-c", "sleep 1; exit 5"]);
      await hx.feed(["true"]);
      const result: RunSummary = await hx.runUntilComplete();
      assertEquals(result.jobs[1].rc, 5);
      assertEquals(result.jobs[0].status, "KILLED", "the halt did not kill the running job");
      assertEquals(await leftovers(engine, halted, `sleep ${marker}`), NOTHING);
    },
  );

  testOn(
    engine,
    `pool on ${engine}: a job whose container dies fails with rc -3, and the next job gets a fresh container`,
    async () => {
      const workdir = await tempDir();
      const xq = pooled(engine, workdir, { forks: 1 });
      await xq.runUntilComplete({ keepFeeding: true });
      await xq.feed(["sleep", "60"]);
      await xq.feed(["bash", "-c", "echo next"]);
      const [first] = xq.jobs;
      await waitFor("job 0 to run", () => first.status === JobStatus.RUNNING);
      const container = await containerOf(workdir, 0);
      if (engine === "apptainer") Deno.kill(Number(container), "SIGKILL");
      else await sh([engine, "kill", container]);
      const summary = await xq.stopFeeding();
      assertEquals(summary.jobs.map((j) => j.rc), [-3, 0]);
      assertStringIncludes(
        await readJobFile(workdir, 0, "job.stderr"),
        `the pool container ${container} ended while the job ran`,
      );
      assertEquals(await readJobFile(workdir, 1, "job.stdout"), "next\n");
      assert((await containerOf(workdir, 1)) !== container, "the dead container took a job");
    },
  );

  testOn(
    engine,
    `pool on ${engine}: SIGTERM, SIGHUP, and kill -9 then xqc kill leave no container or process`,
    async () => {
      for (const how of ["SIGTERM", "SIGHUP", "SIGKILL"] as const) {
        const dir = await tempDir();
        const workdir = join(dir, "wd");
        const marker = `${Math.floor(Math.random() * 1000) + 3000}.${Date.now() % 1000}`;
        const running = await startRunning(
          ["run", "--pool", "-b", engine, "-i", imageFor(engine), "-w", workdir, "--"]
            .concat(["sleep", marker]),
          workdir,
          1,
          { cwd: dir },
        );
        running.kill(how);
        const result = await finish(running);
        if (how === "SIGKILL") {
          const killed = await xqc(["kill", "-w", workdir]);
          assertEquals(killed.code, 0, killed.stderr);
        } else {
          assertEquals(result.code, how === "SIGTERM" ? 143 : 129, result.stderr);
          assertMatch(await readJobFile(workdir, 0, "job.rc"), /^(143|129|-3)\n$/);
        }
        await waitFor(
          `nothing left after ${how}`,
          async () =>
            JSON.stringify(await leftovers(engine, workdir, `sleep ${marker}`)) ===
              JSON.stringify(NOTHING),
          15000,
        );
      }
    },
  );

  testOn(
    engine,
    `pool on ${engine}: --pool-recycle gives a fresh container every N jobs; other limits get their own`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      const mark = `xqc-recycle-${crypto.randomUUID()}`;
      await Deno.writeTextFile(
        join(dir, "spec.yaml"),
        [
          `image: ${imageFor(engine)}`,
          `bin: ${engine}`,
          "pool: true",
          "poolRecycle: 2",
          "forks: 1",
          "jobs:",
          `  - cmd: touch /tmp/${mark}`,
          `  - cmd: ls /tmp/${mark}`,
          `  - cmd: ls /tmp/${mark}`,
          "  - cmd: 'true'",
          ...(engine === "apptainer" ? [] : ["  - cmd: 'true'", "    memory: 300m"]),
        ].join("\n"),
      );
      const result = await xqc(["run", "-f", join(dir, "spec.yaml"), "-w", workdir, "--json"], {
        cwd: dir,
      });
      const summary = JSON.parse(result.stdout);
      // Job 2 ran in a fresh container, where job 0's file is not (apptainer's /tmp is the
      // host's).
      assertEquals(
        summary.jobs.map((j: { rc: number }) => j.rc).slice(0, 4),
        [0, 0, engine === "apptainer" ? 0 : 1, 0],
      );
      if (engine === "apptainer") await Deno.remove(`/tmp/${mark}`);
      const names = await Promise.all(
        summary.jobs.map((_: unknown, i: number) => containerOf(workdir, i)),
      );
      assertEquals(names[0], names[1]);
      assertEquals(names[2], names[3]);
      assert(names[1] !== names[2], "no fresh container after 2 jobs");
      if (engine !== "apptainer") {
        assertEquals(summary.jobs[4].rc, 0);
        assert(!names.slice(0, 4).includes(names[4]), "a job with other limits shared a container");
      }
    },
  );
}

testOn(
  "docker",
  "pool: a job out of memory is told, and retried with more in a new container",
  async () => {
    const workdir = await tempDir();
    const xq = pooled("docker", workdir, { errorStrategy: "retry", numRetries: 1 }, {
      memory: "48m",
      memoryRetryFactor: 8,
    });
    await xq.feed(["bash", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}"]);
    const summary = await xq.runUntilComplete();
    assertEquals(summary.jobs[0].rc, 0);
    assertEquals(summary.jobs[0].trials, 2);
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "100000000\n");
    const first = await Deno.readTextFile(join(workdir, "0", "job.retry", "1", "job.stderr"));
    assertMatch(first, /out of memory|killed by SIGKILL/);
  },
);

testOn(
  "docker",
  "pool: --resume skips finished jobs; xqc status and logs read a pool run",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "echo one\necho two\nfalse\n");
    const args = [
      "run",
      "--pool",
      "-i",
      imageFor("docker"),
      "-w",
      workdir,
      "-j",
      join(dir, "jobs"),
    ];
    const first = await xqc(args, { cwd: dir });
    assertEquals(first.code, 1, first.stderr);
    const status = await xqc(["status", "-w", workdir, "--json"]);
    const jobs = JSON.parse(status.stdout).jobs;
    assertEquals(jobs.map((j: { status: string }) => j.status), ["FINISHED", "FINISHED", "FAILED"]);
    const logs = await xqc(["logs", "1", "-w", workdir]);
    assertEquals(logs.stdout, "two\n");
    const again = await xqc([...args, "--resume", "--json"], { cwd: dir });
    const summary = JSON.parse(again.stdout);
    assertEquals(summary.jobs.map((j: { status: string }) => j.status), [
      "SKIPPED",
      "SKIPPED",
      "FAILED",
    ]);
  },
);

testOn(
  "docker",
  "pool: 20 short jobs take well under half the time of a container a job",
  async () => {
    const times: number[] = [];
    for (const pool of [false, true]) {
      const workdir = await tempDir();
      const xq = new Xqute({
        scheduler: "container",
        workdir,
        forks: 2,
        schedulerOpts: { image: imageFor("docker"), pool },
      });
      for (let i = 0; i < 20; i++) await xq.feed(["true"]);
      const start = performance.now();
      const summary = await xq.runUntilComplete();
      times.push(performance.now() - start);
      assertEquals(summary.jobs.filter((j) => j.rc === 0).length, 20);
    }
    assert(times[1] < times[0] * 0.5, `pool ${times[1]} ms, single ${times[0]} ms`);
  },
);
