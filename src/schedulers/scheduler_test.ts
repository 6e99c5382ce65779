import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { join } from "@std/path";
import { finish, startRunning } from "../../tests/cli_helpers.ts";
import { readJobFile, tempDir } from "../../tests/helpers.ts";
import {
  type Job,
  JobStatus,
  LocalScheduler,
  type Plugin,
  type Scheduler,
  Xqute,
} from "../../mod.ts";

Deno.test("Scheduler and Xqute reject an unknown option, naming it", async () => {
  const workdir = await tempDir();
  assertThrows(
    () => new Xqute({ workdir, scheduler: "local", schedulerOpts: { volume: ["/a:/b"] } }),
    TypeError,
    `Unknown option "volume" for LocalScheduler`,
  );
  assertThrows(
    () => new LocalScheduler({ workdir, fork: 2 } as Record<string, unknown>),
    TypeError,
    `Unknown option "fork"`,
  );
  assertThrows(
    () => new Xqute({ workdir, fork: 2 } as Record<string, unknown>),
    TypeError,
    `Unknown option "fork" for Xqute`,
  );
});

Deno.test("jobIsRunning() asks from job.jid: a scheduler of another process sees a live job", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const child = await startRunning(
    ["run", "--scheduler", "local", "-w", workdir, "--", "sleep", "30"],
    workdir,
    1,
    { cwd: dir },
  );
  const other = new LocalScheduler({ workdir });
  const job = other.createJob(0, ["sleep", "30"]);
  assertEquals(await other.jobIsRunning(job), true);
  assertEquals(await other.jobIsRunning(other.createJob(1, ["true"])), false, "no job.jid");
  child.kill("SIGTERM");
  await finish(child);
  assertEquals(await other.jobIsRunning(job), false);
});

Deno.test("jobcmdShebang(): a subclass that overrides it changes what runs", async () => {
  class Traced extends LocalScheduler {
    override jobcmdShebang(_job: Job): string {
      return "env 'WHO=the shebang' bash";
    }
  }
  const workdir = await tempDir();
  const xq = new Xqute({ scheduler: new Traced({ workdir }) });
  await xq.feed(["bash", "-c", 'echo "$WHO"']);
  const summary = await xq.runUntilComplete();
  assertEquals(summary.jobs[0].status, "FINISHED");
  assertEquals(await readJobFile(workdir, 0, "job.stdout"), "the shebang\n");
  const submission = (await readJobFile(workdir, 0, "job.submission")).split("\n");
  assertEquals(submission.slice(0, 3), ["env", "WHO=the shebang", "bash"]);
});

Deno.test("pollingJobs() is async, fires onJobPolling for live jobs and answers", async () => {
  const workdir = await tempDir();
  const polled: number[] = [];
  const plugin: Plugin = {
    onJobPolling(_s: Scheduler, job: Job, counter: number) {
      if (job.status === JobStatus.RUNNING) polled.push(counter);
    },
  };
  const xq = new Xqute({ workdir, forks: 2, plugins: [plugin], recheckInterval: 0 });
  await xq.feed(["sleep", "1"]);
  await xq.feed(["sleep", "1"]);
  await xq.runUntilComplete({ keepFeeding: true });
  while (xq.jobs.some((job) => job.status !== JobStatus.RUNNING)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  polled.length = 0;
  const answer = xq.scheduler.pollingJobs(xq.jobs, "submittable");
  assert(answer instanceof Promise);
  assertEquals(await answer, false, "two of two forks are busy");
  assertEquals(polled.length, 2);
  assertEquals(await xq.scheduler.pollingJobs(xq.jobs, "allDone"), false);
  await xq.stopFeeding();
  assertEquals(await xq.scheduler.pollingJobs(xq.jobs, "allDone"), true);
  assertEquals(await xq.scheduler.pollingJobs(xq.jobs, "submittable"), true);
});

Deno.test("each killed job keeps its own kill reason", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, forks: 3, errorStrategy: "halt" });
  await xq.feed(["sleep", "30"]);
  await xq.feed(["sleep", "30"]);
  await xq.feed("sleep 0.5; exit 3");
  await xq.runUntilComplete({ keepFeeding: true });
  while (xq.jobs[0].status !== JobStatus.RUNNING || xq.jobs[1].status !== JobStatus.RUNNING) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await xq.scheduler.killJobAndUpdateStatus(xq.jobs[0], "the job was killed: asked by a test");
  const summary = await xq.stopFeeding();
  assertEquals(summary.jobs.map((j) => j.status), ["KILLED", "KILLED", "FAILED"]);
  const first = await readJobFile(workdir, 0, "job.stderr");
  const second = await readJobFile(workdir, 1, "job.stderr");
  assertStringIncludes(first, "asked by a test");
  assert(!first.includes("halted"), first);
  assertStringIncludes(second, "the run halted because job 2 failed");
  assert(!second.includes("asked by a test"), second);
});
