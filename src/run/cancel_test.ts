import { assertEquals } from "../../tests/assert.ts";
import { join } from "@std/path";
import { readJobFile, tempDir } from "../../tests/helpers.ts";
import { type Job, type Scheduler, Xqute } from "../../mod.ts";

Deno.test("Xqute.cancel() while a failed job waits to be retried: no trial starts after it", async () => {
  const workdir = await tempDir();
  const counter = join(workdir, "trials");
  const xq: Xqute = new Xqute({
    workdir,
    errorStrategy: "retry",
    numRetries: 3,
    plugins: [{
      // The retry is on its way when the cancel lands.
      async onJobSubmitting(_s: Scheduler, job: Job) {
        if (job.trial === 1) await xq.cancel();
      },
    }],
  });
  await xq.feed(`echo x >>${counter}; exit 1`);
  const summary = await xq.runUntilComplete();
  assertEquals(await Deno.readTextFile(counter), "x\n", "a trial ran after the cancel");
  assertEquals(summary.jobs[0].trials, 1);
  assertEquals(summary.jobs[0].status, "FAILED");
  // The failed trial's files stay in the metadir: a retry that never started moved nothing.
  assertEquals(await readJobFile(workdir, 0, "job.rc"), "1\n");
});

Deno.test("Xqute.cancel() while a job waits for a submission slot: it does not start", async () => {
  const workdir = await tempDir();
  const xq: Xqute = new Xqute({
    workdir,
    forks: 2,
    submissionBatch: 1,
    plugins: [{
      // Job 1 waits for job 0's slot, which frees once job 0 runs.
      async onJobStarted(_s: Scheduler, job: Job) {
        if (job.index === 0) await xq.cancel();
      },
    }],
  });
  await xq.feed(["sleep", "0.3"]);
  await xq.feed(["touch", join(workdir, "started")]);
  const summary = await xq.runUntilComplete();
  assertEquals(summary.jobs.map((j) => j.status), ["FINISHED", "CANCELLED"]);
  assertEquals(await Deno.stat(join(workdir, "started")).then(() => true, () => false), false);
  assertEquals(await readJobFile(workdir, 0, "job.rc"), "0\n");
});
