import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { join } from "@std/path";
import { delay } from "@std/async/delay";
import { QUEUE_AHEAD } from "./run_queue.ts";
import {
  type Job,
  JobStatus,
  LocalScheduler,
  type Plugin,
  readState,
  type Scheduler,
  Xqute,
} from "../../mod.ts";
import { readJobFile, tempDir } from "../../tests/helpers.ts";

Deno.test("Xqute runs local jobs and writes every job file", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ forks: 2, workdir });
  await xq.feed(["echo", "hello"]);
  await xq.feed("echo oops >&2; exit 5");
  const summary = await xq.runUntilComplete();
  assertEquals([summary.total, summary.succeeded, summary.failed], [2, 1, 1]);
  assertEquals(await readJobFile(workdir, 0, "job.stdout"), "hello\n");
  assertEquals(await readJobFile(workdir, 0, "job.rc"), "0\n");
  assertEquals(await readJobFile(workdir, 0, "job.status"), "6\n");
  assertEquals(await readJobFile(workdir, 1, "job.rc"), "5\n");
  assertEquals(await readJobFile(workdir, 1, "job.status"), "7\n");
  assertEquals(await readJobFile(workdir, 1, "job.stderr"), "oops\n");
  assertEquals((await readJobFile(workdir, 0, "job.submission")).split("\n")[0], "bash");
  const jid = Number((await readJobFile(workdir, 0, "job.jid")).trim());
  assert(jid > 0);
  await Deno.stat(join(workdir, "0", "job.wrapped.local"));
  assertEquals(summary.jobs[1].status, "FAILED");
  assertEquals(summary.jobs[1].rc, 5);
  assertEquals(summary.jobs[0].stdout, join(workdir, "0", "job.stdout"));
  assertEquals(xq.jobs.length, 2);
  assert(xq.scheduler instanceof LocalScheduler);
});

Deno.test("Xqute: jobs fed at once take indexes of their own; an ended job reads back as it ended", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ forks: 2, workdir, errorStrategy: "retry", numRetries: 1 });
  const fed = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      xq.feed(`echo ${i}; exit ${i === 3 ? 4 : 0}`, i === 2 ? { envs: { X: "y" } } : {})
    ),
  );
  assertEquals(fed.map((job) => job.index), [0, 1, 2, 3]);
  await xq.runUntilComplete();
  for (const job of fed) {
    assertEquals(await readJobFile(workdir, job.index, "job.stdout"), `${job.index}\n`);
  }
  // Ended, a job is kept as a row: read back, it is a new Job with the state it ended in.
  const read = xq.jobs;
  assert(read[3] !== fed[3]);
  const fields = (job: Job) => [
    [job.index, job.cmd, job.envs, job.metadir, job.mountedMetadir, job.jid, job.trialLimits],
    [job.status, job.rc, job.trial, job.killed, job.skipped, job.usage],
    [job.submittedAt, job.trialSubmittedAt, job.startedAt, job.endedAt],
  ];
  assertEquals(read.map(fields), fed.map(fields));
  assertEquals([read[3].rc, read[3].trial, read[2].envs], [4, 2, { X: "y" }]);
});

Deno.test("Xqute retries: six jobs with three retries at three forks end in well under 3 s", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ forks: 3, workdir, errorStrategy: "retry", numRetries: 3 });
  for (let i = 0; i < 6; i++) await xq.feed(i % 2 ? ["false"] : ["true"]);
  const start = performance.now();
  const summary = await xq.runUntilComplete();
  const took = performance.now() - start;
  assert(took < 1500, `took ${took} ms`);
  assertEquals([summary.succeeded, summary.failed], [3, 3]);
  assertEquals(summary.jobs.map((j) => j.trials), [1, 4, 1, 4, 1, 4]);
  const retries = [];
  for await (const entry of Deno.readDir(join(workdir, "1", "job.retry"))) retries.push(entry.name);
  assertEquals(retries.sort(), ["1", "2", "3"]);
  assertEquals(await Deno.readTextFile(join(workdir, "1", "job.retry", "2", "job.rc")), "1\n");
});

Deno.test("Xqute retry keeps each trial's output in job.retry/<n>/", async () => {
  const workdir = await tempDir();
  const counter = join(workdir, "count");
  const xq = new Xqute({ workdir, errorStrategy: "retry", numRetries: 2 });
  // Fails twice, then succeeds: each trial prints its number.
  await xq.feed(
    `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n >${counter}; echo try $n; [ $n -ge 3 ]`,
  );
  const summary = await xq.runUntilComplete();
  assertEquals(summary.jobs[0].status, "FINISHED");
  assertEquals(summary.jobs[0].trials, 3);
  assertEquals(
    await Deno.readTextFile(join(workdir, "0", "job.retry", "1", "job.stdout")),
    "try 1\n",
  );
  assertEquals(
    await Deno.readTextFile(join(workdir, "0", "job.retry", "2", "job.stdout")),
    "try 2\n",
  );
  assertEquals(await readJobFile(workdir, 0, "job.stdout"), "try 3\n");
});

Deno.test("Xqute ignore strategy runs every job despite failures", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, errorStrategy: "ignore", forks: 1 });
  for (const cmd of ["false", "true", "false"]) await xq.feed([cmd]);
  const summary = await xq.runUntilComplete();
  assertEquals(summary.jobs.map((j) => j.status), ["FAILED", "FINISHED", "FAILED"]);
  assertEquals(summary.jobs.map((j) => j.trials), [1, 1, 1]);
});

Deno.test("Xqute halt: the first failure kills what runs and ends the run", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, errorStrategy: "halt", forks: 2 });
  await xq.feed(["sleep", "30"]);
  await xq.feed("sleep 0.2; exit 9");
  for (let i = 0; i < 5; i++) await xq.feed(["true"]);
  const start = performance.now();
  const summary = await xq.runUntilComplete();
  assert(performance.now() - start < 10000);
  assert(summary.halted);
  assertEquals(summary.jobs[0].status, "KILLED");
  assertEquals(summary.jobs[1].status, "FAILED");
  assertEquals(summary.jobs[1].rc, 9);
  assertEquals(summary.jobs.slice(2).map((j) => j.status), Array(5).fill("CANCELLED"));
  assertEquals(summary.killed, 6);
  assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "halted because job 1 failed");
  const rc = Number(await readJobFile(workdir, 0, "job.rc"));
  assert(rc === 143 || rc === 137, `rc ${rc}`);
});

Deno.test("Xqute forks bounds how many jobs run at once", async () => {
  const workdir = await tempDir();
  const log = join(workdir, "log");
  const xq = new Xqute({ workdir, forks: 3 });
  for (let i = 0; i < 9; i++) {
    await xq.feed(`echo start >>${log}; sleep 0.2; echo end >>${log}`);
  }
  await xq.runUntilComplete();
  let running = 0;
  let peak = 0;
  for (const line of (await Deno.readTextFile(log)).trim().split("\n")) {
    running += line === "start" ? 1 : -1;
    peak = Math.max(peak, running);
  }
  assertEquals(peak, 3);
});

Deno.test("Xqute runUntilComplete({ keepFeeding: true }) returns at once; stopFeeding waits and sums up", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, forks: 2 });
  await xq.feed(["sleep", "0.5"]);
  // xqute's run_until_complete(keep_feeding=True) returns immediately: a port that awaits
  // it and then feeds must not deadlock.
  const returned = await xq.runUntilComplete({ keepFeeding: true });
  assertEquals(returned, undefined);
  assertEquals(xq.jobs[0].endedAt, null, "it waited for the running job");
  await xq.feed(["echo", "1"]);
  await xq.feed(["echo", "2"]);
  const summary = await xq.stopFeeding();
  assertEquals(summary.total, 3);
  assertEquals(summary.succeeded, 3);
  assertEquals(await readJobFile(workdir, 2, "job.stdout"), "2\n");
  await assertRejects(() => xq.feed(["true"]), Error, "no longer takes jobs");
});

Deno.test("Xqute options: envs, prescript, postscript, cwd, timeout", async () => {
  const workdir = await tempDir();
  const cwd = await tempDir();
  const xq = new Xqute({
    workdir,
    schedulerOpts: {
      envs: { ALL: "all value", OVER: "base" },
      prescript: "export PRE=from-prescript",
      postscript: 'echo post >"$XQUTE_JOB_METADIR/post"',
      cwd,
      timeout: 1,
    },
  });
  await xq.feed(["bash", "-c", 'echo "$ALL|$OVER|$ONE|$PRE|$PWD"'], {
    envs: { ONE: "$(x) 'q'", OVER: "job" },
  });
  await xq.feed(["sleep", "20"]);
  const summary = await xq.runUntilComplete();
  assertEquals(
    await readJobFile(workdir, 0, "job.stdout"),
    `all value|job|$(x) 'q'|from-prescript|${cwd}\n`,
  );
  assertEquals(await readJobFile(workdir, 0, "post"), "post\n");
  assertEquals(summary.jobs[1].rc, 124);
  assertStringIncludes(await readJobFile(workdir, 1, "job.stderr"), "timed out after 1 s");
});

Deno.test("Xqute rejects bad arguments with TypeError or RangeError", async () => {
  assertThrows(() => new Xqute({ forks: 0 }), RangeError, `"forks"`);
  assertThrows(() => new Xqute({ forks: 1.5 }), RangeError, `"forks"`);
  assertThrows(() => new Xqute({ numRetries: -1 }), RangeError, `"numRetries"`);
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => new Xqute({ errorStrategy: "explode" as any }),
    TypeError,
    `Unknown error strategy "explode"`,
  );
  assertThrows(
    () => new Xqute({ scheduler: "slurmish" }),
    TypeError,
    `Unknown scheduler "slurmish"`,
  );
  const xq = new Xqute({ workdir: await tempDir() });
  await assertRejects(() => xq.feed([]), TypeError, "Empty command");
  await assertRejects(() => xq.feed("  "), TypeError, "Empty command");
  await assertRejects(
    () => xq.feed(["echo"], { envs: { "BAD-NAME": "x" } }),
    TypeError,
    `"BAD-NAME"`,
  );
  // deno-lint-ignore no-explicit-any
  await assertRejects(() => xq.feed(["echo", 3 as any]), TypeError, "not a string");
});

Deno.test("Xqute calls all plugin hooks, honours false from onJobSubmitting and onJobcmd code", async () => {
  const workdir = await tempDir();
  const calls: string[] = [];
  const note = (hook: string) => (_s: Scheduler, job: Job) => {
    calls.push(`${hook}:${job.index}`);
  };
  const plugin: Plugin = {
    name: "recorder",
    onInit: () => {
      calls.push("onInit");
    },
    onShutdown: (_x, signal) => {
      calls.push(`onShutdown:${signal ?? ""}`);
    },
    onJobInit: note("onJobInit"),
    onJobQueued: note("onJobQueued"),
    onJobSubmitting: (_s, job) => {
      calls.push(`onJobSubmitting:${job.index}`);
      return job.index !== 2;
    },
    onJobSubmitted: note("onJobSubmitted"),
    onJobStarted: note("onJobStarted"),
    onJobPolling: note("onJobPolling"),
    onJobKilling: note("onJobKilling"),
    onJobKilled: note("onJobKilled"),
    onJobFailed: note("onJobFailed"),
    onJobSucceeded: note("onJobSucceeded"),
    onJobcmdInit: (_s, job) => `echo init-${job.index} >>"$XQUTE_JOB_METADIR/hooks"`,
    onJobcmdPrep: () => `echo prep >>"$XQUTE_JOB_METADIR/hooks"`,
    onJobcmdEnd: () => `echo end >>"$XQUTE_JOB_METADIR/hooks"`,
  };
  const xq = new Xqute({ workdir, plugins: [plugin], errorStrategy: "halt", forks: 2 });
  await xq.feed(["true"]);
  await xq.feed(["sleep", "30"]);
  await xq.feed(["true"]);
  await xq.feed("sleep 0.3; false");
  const summary = await xq.runUntilComplete();
  const has = (c: string) => assert(calls.includes(c), `${c} missing from ${calls.join(" ")}`);
  for (
    const c of [
      "onInit",
      "onJobInit:0",
      "onJobQueued:0",
      "onJobSubmitting:0",
      "onJobSubmitted:0",
      "onJobStarted:0",
      "onJobPolling:0",
      "onJobSucceeded:0",
      "onJobSubmitting:2",
      "onJobFailed:3",
      "onJobKilling:1",
      "onJobKilled:1",
      "onShutdown:",
    ]
  ) has(c);
  assert(!calls.includes("onJobSubmitted:2"), "a cancelled submission went on");
  assert(calls.indexOf("onJobSubmitted:0") < calls.indexOf("onJobStarted:0"));
  assert(calls.indexOf("onJobStarted:0") < calls.indexOf("onJobSucceeded:0"));
  assertEquals(calls.at(-1), "onShutdown:");
  assertEquals(await readJobFile(workdir, 0, "hooks"), "init-0\nprep\nend\n");
  assertEquals(summary.jobs[1].status, "KILLED");
});

Deno.test("Xqute onJobKilling returning false keeps the job running", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({
    workdir,
    forks: 2,
    errorStrategy: "halt",
    plugins: [{ onJobKilling: () => false }],
  });
  await xq.feed("sleep 0.5; echo survived");
  await xq.feed("sleep 0.1; false");
  const summary = await xq.runUntilComplete();
  assertEquals(summary.jobs[0].status, "FINISHED");
  assertEquals(await readJobFile(workdir, 0, "job.stdout"), "survived\n");
});

Deno.test("Xqute records the run and every job in Deno.Kv at <workdir>/state.kv", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, forks: 2 });
  await xq.feed(["echo", "a"]);
  await xq.feed(["bash", "-c", "exit 2"]);
  await xq.runUntilComplete();
  const state = await readState(workdir);
  assert(state && state.run);
  assertEquals(state.run.state, "done");
  assertEquals(state.run.total, 2);
  assertEquals(state.run.pid, Deno.pid);
  assertEquals(state.run.runId, xq.runId);
  assertEquals(state.jobs.map((j) => [j.index, j.status, j.rc, j.trial]), [
    [0, "FINISHED", 0, 1],
    [1, "FAILED", 2, 1],
  ]);
  assert(state.jobs[0].startedAt! >= state.jobs[0].submittedAt!);
  assert(state.jobs[0].endedAt! >= state.jobs[0].startedAt!);
  assertEquals(state.jobs[0].jid, (await readJobFile(workdir, 0, "job.jid")).trim());
  assertEquals(state.jobs[0].cmd, "echo a");
});

Deno.test("Xqute Kv state is readable from another process while the run goes on", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, forks: 1 });
  await xq.feed(["true"]);
  await xq.feed(["sleep", "2"]);
  const done = xq.runUntilComplete();
  const script = `const kv = await Deno.openKv(${JSON.stringify(join(workdir, "state.kv"))});
    for (let i = 0; i < 100; i++) {
      const j = (await kv.get(["job", 1])).value;
      if (j && j.status === "RUNNING") { console.log("running", (await kv.get(["run"])).value.state); break; }
      await new Promise((r) => setTimeout(r, 50));
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", script],
    stdout: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "running running");
  await done;
});

Deno.test("Xqute cancel(SIGTERM) kills running jobs and marks them killed", async () => {
  const workdir = await tempDir();
  const xq = new Xqute({ workdir, forks: 2 });
  await xq.feed(["sleep", "30"]);
  await xq.feed(["sleep", "30"]);
  await xq.feed(["true"]);
  const done = xq.runUntilComplete();
  while (xq.jobs.filter((j) => j.status === JobStatus.RUNNING).length < 2) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const start = performance.now();
  await xq.cancel("SIGTERM");
  const summary = await done;
  assert(performance.now() - start < 5000);
  assertEquals(summary.signal, "SIGTERM");
  assertEquals(summary.jobs.map((j) => j.status), ["KILLED", "KILLED", "CANCELLED"]);
  assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "the run received SIGTERM");
  for (const job of xq.jobs.slice(0, 2)) {
    const pid = Number(job.jid);
    await assertRejects(async () => {
      await Deno.stat(`/proc/${pid}`);
    });
  }
});

Deno.test("Xqute refuses a workdir that another live run holds", async () => {
  const workdir = await tempDir();
  const first = new Xqute({ workdir });
  await first.feed(["sleep", "0.5"]);
  const done = first.runUntilComplete();
  const second = new Xqute({ workdir });
  await assertRejects(() => second.feed(["true"]), Error, `process ${Deno.pid}`);
  await done;
  const third = new Xqute({ workdir });
  await third.feed(["true"]);
  assertEquals((await third.runUntilComplete()).succeeded, 1);
});

Deno.test("Xqute resume skips jobs that finished with the same command and envs", async () => {
  const workdir = await tempDir();
  const marker = join(workdir, "ran");
  const feedAll = async (xq: Xqute, secondEnv: string) => {
    await xq.feed(`echo x >>${marker}-0`);
    await xq.feed(`echo x >>${marker}-1; [ "$E" = ok ]`, { envs: { E: secondEnv } });
    await xq.feed(`echo x >>${marker}-2`, { envs: { E: "same" } });
  };
  const first = new Xqute({ workdir });
  await feedAll(first, "bad");
  assertEquals((await first.runUntilComplete()).failed, 1);
  const second = new Xqute({ workdir, resume: true });
  await feedAll(second, "ok");
  const summary = await second.runUntilComplete();
  assertEquals(summary.jobs.map((j) => j.status), ["SKIPPED", "FINISHED", "SKIPPED"]);
  assertEquals(summary.skipped, 2);
  assertEquals(await Deno.readTextFile(`${marker}-0`), "x\n");
  assertEquals(await Deno.readTextFile(`${marker}-1`), "x\nx\n");
  const third = new Xqute({ workdir, resume: true });
  await third.feed(`echo y >>${marker}-0`);
  assertEquals((await third.runUntilComplete()).jobs[0].status, "FINISHED");
});

Deno.test("Xqute submissionBatch bounds how many jobs are starting at once", async () => {
  const workdir = await tempDir();
  let peak = 0;
  const starting = () => xq.jobs.filter((j) => j.status === JobStatus.SUBMITTED).length;
  const xq: Xqute = new Xqute({
    workdir,
    forks: 4,
    submissionBatch: 1,
    plugins: [{
      onJobSubmitted: () => {
        peak = Math.max(peak, starting());
      },
    }],
  });
  for (let i = 0; i < 8; i++) await xq.feed(["sleep", "0.1"]);
  const summary = await xq.runUntilComplete();
  assertEquals(summary.succeeded, 8);
  assertEquals(peak, 1);
  assertThrows(() => new Xqute({ submissionBatch: 0 }), RangeError, `"submissionBatch"`);
});

Deno.test("Xqute: while the run runs, feed waits as long as QUEUE_AHEAD jobs wait to start", async () => {
  const workdir = await tempDir();
  const gate = join(workdir, "gate");
  const xq = new Xqute({ workdir, forks: 1, handleSignals: false });
  // At most 30 s, whatever happens to the test.
  await xq.feed(`for i in $(seq 600); do [ -e ${gate} ] && break; sleep 0.05; done`);
  await xq.runUntilComplete({ keepFeeding: true });
  const feeds = Array.from({ length: QUEUE_AHEAD + 10 }, () => xq.feed("true"));
  const settled = Promise.allSettled(feeds);
  try {
    // One job runs, the dispatch holds the next until a fork is free, QUEUE_AHEAD wait.
    for (let i = 0; i < 200 && xq.jobs.length < QUEUE_AHEAD + 2; i++) await delay(50);
    await delay(300);
    assertEquals(xq.jobs.length, QUEUE_AHEAD + 2);
  } finally {
    // A stop wakes the feeds that wait: they are refused, not left hanging.
    await xq.cancel("SIGTERM");
    await Deno.writeTextFile(gate, "");
  }
  const results = await settled;
  assertEquals(results.filter((r) => r.status === "rejected").length, 9);
  const summary = await xq.stopFeeding();
  assertEquals(summary.total, QUEUE_AHEAD + 2);
  assertEquals(summary.killed, QUEUE_AHEAD + 2);
});
