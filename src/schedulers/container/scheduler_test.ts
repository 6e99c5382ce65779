// ContainerScheduler on the real engines, with the tiny image the tests build.

import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../../tests/assert.ts";
import { join } from "@std/path";
import {
  EngineUnavailableError,
  JobStatus,
  type RunSummary,
  Xqute,
  type XquteOptions,
} from "../../../mod.ts";
import {
  checkEngines,
  type ContainerEngine,
  containersOf,
  ENGINE_NAMES,
  imageFor,
  readJobFile,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
  waitFor,
} from "../../../tests/helpers.ts";
import { rootfs } from "../../../tests/image.ts";

await checkEngines("docker", "podman", "apptainer");

function containerRun(
  engine: ContainerEngine,
  workdir: string,
  extra: Partial<XquteOptions> = {},
  opts: Record<string, unknown> = {},
) {
  return new Xqute({
    scheduler: "container",
    workdir,
    forks: 2,
    ...extra,
    schedulerOpts: { image: imageFor(engine), bin: engine, ...opts },
  });
}

async function runJobs(xq: Xqute, cmds: (string | string[])[]): Promise<RunSummary> {
  for (const cmd of cmds) await xq.feed(cmd);
  return await xq.runUntilComplete();
}

for (const engine of ENGINE_NAMES) {
  testOn(
    engine,
    `ContainerScheduler on ${engine}: argv, envs and XQUTE_* reach the job literally`,
    async () => {
      const workdir = await tempDir();
      const xq = containerRun(engine, workdir, {}, { envs: { ALL: "a b" } });
      const words = ["$(touch /tmp/pwned)", "`id`", "it's", `"dq"`, "x;y", "l1\nl2", "*"];
      await xq.feed(["printf", "[%s]", ...words]);
      await xq.feed(["bash", "-c", 'echo "$ALL|$ONE|$XQUTE_JOB_INDEX|$XQUTE_JOB_METADIR|$PWD"'], {
        envs: { ONE: "$(x) 'q'" },
      });
      const summary = await xq.runUntilComplete();
      assertEquals(summary.succeeded, 2);
      assertEquals(
        await readJobFile(workdir, 0, "job.stdout"),
        words.map((w) => `[${w}]`).join(""),
      );
      const meta = "/mnt/disks/xqute_workdir";
      assertEquals(
        await readJobFile(workdir, 1, "job.stdout"),
        `a b|$(x) 'q'|1|${meta}/1|${meta}\n`,
      );
      const submission = (await readJobFile(workdir, 1, "job.submission")).trimEnd().split("\n");
      assertEquals(submission.at(-1), `${meta}/1/job.wrapped.container-${engine}`);
      assertEquals(submission.slice(0, -1), xq.scheduler.engineCommand(xq.jobs[1]));
      assert(!submission.join("\n").includes("$(x) 'q'"), "an env value is in the engine argv");
    },
  );

  testOn(
    engine,
    `ContainerScheduler on ${engine}: exit codes, stderr and rc messages`,
    async () => {
      const workdir = await tempDir();
      const xq = containerRun(engine, workdir);
      const summary = await runJobs(xq, ["echo bad >&2; exit 3", ["no-such-tool"], ["true"]]);
      assertEquals(summary.jobs.map((j) => j.rc), [3, 127, 0]);
      assertEquals(summary.jobs.map((j) => j.status), ["FAILED", "FAILED", "FINISHED"]);
      assertEquals(await readJobFile(workdir, 0, "job.stderr"), "bad\n");
      assertStringIncludes(
        await readJobFile(workdir, 1, "job.stderr"),
        "rc 127: a command was not found",
      );
      assertEquals(await readJobFile(workdir, 1, "job.status"), "7\n");
    },
  );

  testOn(
    engine,
    `ContainerScheduler on ${engine}: ro volumes are read-only, named mounts export their path`,
    async () => {
      const workdir = await tempDir();
      const data = await tempDir();
      await Deno.writeTextFile(join(data, "genome.fa"), ">chr1\nACGT\n");
      const out = await tempDir();
      const xq = containerRun(engine, workdir, {}, {
        volumes: [`${data}:/data:ro`, `GENOME=${join(data, "genome.fa")}`, `OUT=${out}`],
      });
      const summary = await runJobs(xq, [
        "cat /data/genome.fa; touch /data/new",
        'cat "$GENOME"; echo "$GENOME"; echo written >"$OUT/result"',
      ]);
      assertEquals(summary.jobs[0].status, "FAILED");
      assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "Read-only file system");
      await assertRejects(() => Deno.stat(join(data, "new")));
      assertEquals(summary.jobs[1].status, "FINISHED");
      const base = "/mnt/disks/NAMED_MOUNTS/GENOME";
      assertEquals(
        await readJobFile(workdir, 1, "job.stdout"),
        `>chr1\nACGT\n${base}/${data.split("/").pop()}/genome.fa\n`,
      );
      assertEquals(await Deno.readTextFile(join(out, "result")), "written\n");
    },
  );

  testOn(engine, `ContainerScheduler on ${engine}: timeout stops a job with rc 124`, async () => {
    const workdir = await tempDir();
    const xq = containerRun(engine, workdir, {}, { timeout: 1 });
    const summary = await runJobs(xq, [["sleep", "30"], ["true"]]);
    assertEquals(summary.jobs.map((j) => j.rc), [124, 0]);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "timed out after 1 s");
  });

  testOn(engine, `ContainerScheduler on ${engine}: retries keep every trial's files`, async () => {
    const workdir = await tempDir();
    const xq = containerRun(engine, workdir, { errorStrategy: "retry", numRetries: 1 });
    const summary = await runJobs(xq, ["echo try; exit 1"]);
    assertEquals(summary.jobs[0].trials, 2);
    assertEquals(
      await Deno.readTextFile(join(workdir, "0", "job.retry", "1", "job.stdout")),
      "try\n",
    );
    assertEquals(await Deno.readTextFile(join(workdir, "0", "job.retry", "1", "job.rc")), "1\n");
  });

  testOn(
    engine,
    `ContainerScheduler on ${engine}: cancel(SIGINT) kills the jobs and leaves no container`,
    async () => {
      const workdir = await tempDir();
      const xq = containerRun(engine, workdir, { forks: 3 });
      for (let i = 0; i < 4; i++) await xq.feed(["sleep", "60"]);
      const done = xq.runUntilComplete();
      await waitFor(
        "three running jobs",
        () => xq.jobs.filter((j) => j.status === JobStatus.RUNNING).length === 3,
      );
      const start = performance.now();
      await xq.cancel("SIGINT");
      const summary = await done;
      const took = performance.now() - start;
      assert(took < 8000, `the kill took ${took} ms`);
      assertEquals(summary.signal, "SIGINT");
      assertEquals(summary.jobs.map((j) => j.status), ["KILLED", "KILLED", "KILLED", "CANCELLED"]);
      for (let i = 0; i < 3; i++) {
        assertStringIncludes(
          await readJobFile(workdir, i, "job.stderr"),
          "the run received SIGINT",
        );
        assert(Number(await readJobFile(workdir, i, "job.rc")) > 128);
      }
      if (engine === "apptainer") {
        for (const job of xq.jobs.slice(0, 3)) {
          await assertRejects(() => Deno.stat(`/proc/${job.jid}`));
        }
      } else {
        assertEquals(await containersOf(engine, workdir), []);
      }
    },
  );

  testOn(engine, `ContainerScheduler on ${engine}: halt kills the running containers`, async () => {
    const workdir = await tempDir();
    const xq = containerRun(engine, workdir, { errorStrategy: "halt" });
    const summary = await runJobs(xq, [["sleep", "60"], "sleep 1; exit 4", ["true"]]);
    assert(summary.halted);
    assertEquals(summary.jobs.map((j) => j.status), ["KILLED", "FAILED", "CANCELLED"]);
    if (engine !== "apptainer") assertEquals(await containersOf(engine, workdir), []);
  });

  testOn(
    engine,
    `ContainerScheduler on ${engine}: a missing image fails before anything starts`,
    async () => {
      const parent = await tempDir();
      const workdir = join(parent, "wd");
      const image = engine === "apptainer" ? join(parent, "missing.sif") : "xqc-no-such-image:1";
      const said: string[] = [];
      const xq = new Xqute({
        scheduler: "container",
        workdir,
        schedulerOpts: { image, bin: engine },
        logger: { info: (line) => said.push(line), warn: (line) => said.push(line) },
      });
      await assertRejects(() => xq.feed(["true"]), EngineUnavailableError, image);
      if (engine !== "apptainer") assertEquals(said[0], `pulling ${image} (${engine})`);
      await assertRejects(() => Deno.stat(workdir));
    },
  );
}

for (const engine of ["docker", "podman"] as const) {
  testOn(
    engine,
    `ContainerScheduler on ${engine}: runs as another user and can write its metadir`,
    async () => {
      const workdir = await tempDir();
      const xq = containerRun(engine, workdir, {}, { user: "1000:1000" });
      const summary = await runJobs(xq, [
        'echo "$(id -u):$(id -g)"; echo note >"$XQUTE_JOB_METADIR/note"',
      ]);
      assertEquals(summary.jobs[0].status, "FINISHED");
      assertEquals(await readJobFile(workdir, 0, "job.stdout"), "1000:1000\n");
      const info = await Deno.stat(join(workdir, "0", "note"));
      assertEquals(info.uid, 1000);
      assertEquals(
        (await Deno.stat(join(workdir, "0"))).mode! & 0o002,
        0,
        "the metadir is world-writable",
      );
    },
  );

  testOn(
    engine,
    `ContainerScheduler on ${engine}: remove: false keeps the container, labelled`,
    async () => {
      const workdir = await tempDir();
      const xq = containerRun(engine, workdir, {}, { remove: false });
      await runJobs(xq, [["true"]]);
      const names = await containersOf(engine, workdir);
      assertEquals(names, [`xqc-${xq.runId}-0-1`]);
      const labels = await sh([engine, "inspect", "--format", "{{json .Config.Labels}}", names[0]]);
      const parsed = JSON.parse(labels);
      assertEquals([parsed["xqc.run"], parsed["xqc.workdir"], parsed["xqc.job"]], [
        xq.runId,
        workdir,
        "0",
      ]);
      await sh([engine, "rm", "-f", ...names]);
    },
  );
}

testOn(
  "apptainer",
  "ContainerScheduler on apptainer: a sandbox folder works as the image",
  async () => {
    const workdir = await tempDir();
    const sandbox = (await rootfs()).dir;
    const xq = new Xqute({
      scheduler: "container",
      workdir,
      schedulerOpts: { image: sandbox, bin: "apptainer" },
    });
    const summary = await runJobs(xq, ["echo from the sandbox; test -x /bin/busybox"]);
    assertEquals(summary.jobs[0].status, "FINISHED");
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "from the sandbox\n");
  },
);

testOn(
  "docker",
  "ContainerScheduler on docker: volumeAsCwd starts jobs in the host folder, workdir inside it",
  async () => {
    const host = await tempDir();
    const xq = new Xqute({
      scheduler: "container",
      schedulerOpts: { image: TEST_IMAGE, volumeAsCwd: host },
    });
    const summary = await runJobs(xq, ['pwd; echo made >out.txt; echo "$XQUTE_METADIR"']);
    assertEquals(summary.workdir, join(host, ".xqute"));
    assertEquals(
      await readJobFile(summary.workdir, 0, "job.stdout"),
      "/mnt/disks/.cwd\n/mnt/disks/.cwd/.xqute\n",
    );
    assertEquals(await Deno.readTextFile(join(host, "out.txt")), "made\n");
  },
);
