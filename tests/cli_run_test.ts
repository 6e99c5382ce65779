// `xqc` as a user runs it: real engines, real subprocesses, real signals.

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";
import { join } from "@std/path";
import { finish, startRunning, xqc, xqcArgv } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  ENGINE_NAMES,
  imageFor,
  readJobFile,
  tempDir,
  TEST_IMAGE,
  testOn,
} from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("docker", "podman", "apptainer");

for (const engine of ENGINE_NAMES) {
  testOn(
    engine,
    `xqc run on ${engine}: a jobs file, --json on stdout, a line per job on stderr`,
    async () => {
      const dir = await tempDir();
      await Deno.writeTextFile(
        join(dir, "jobs.txt"),
        `echo "one two"\n# a comment\n\nbash -c 'echo $((6*7)); exit 3'\nprintf %s '$(not run)'\n`,
      );
      const result = await xqc(
        ["run", "-i", imageFor(engine), "-b", engine, "-n", "2", "-j", "jobs.txt", "--json"],
        { cwd: dir },
      );
      assertEquals(result.code, 1, result.stderr);
      const summary = JSON.parse(result.stdout);
      assertEquals(result.stdout.trim().split("\n").length, 1);
      assertEquals(Object.keys(summary).sort(), [
        "durationMs",
        "failed",
        "halted",
        "jobs",
        "killed",
        "signal",
        "skipped",
        "succeeded",
        "total",
        "workdir",
      ]);
      assertEquals([summary.total, summary.succeeded, summary.failed], [3, 2, 1]);
      assertEquals(summary.workdir, join(dir, ".xqute"));
      assertEquals(
        summary.jobs.map((
          j: { status: string; rc: number; trials: number },
        ) => [j.status, j.rc, j.trials]),
        [["FINISHED", 0, 1], ["FAILED", 3, 1], ["FINISHED", 0, 1]],
      );
      assertEquals(Object.keys(summary.jobs[0]).sort(), [
        "cmd",
        "durationMs",
        "index",
        "limits",
        "rc",
        "status",
        "stderr",
        "stdout",
        "trials",
        "usage",
      ]);
      assertEquals(await Deno.readTextFile(summary.jobs[1].stdout), "42\n");
      assertEquals(await readJobFile(summary.workdir, 2, "job.stdout"), "$(not run)");
      const lines = result.stderr.trim().split("\n");
      assertEquals(lines.length, 4);
      assertMatch(lines[0], /^xqc: job \d (FINISHED|FAILED) rc \d/);
      assertStringIncludes(lines[3], "3 job(s): 2 succeeded, 1 failed");
    },
  );

  testOn(engine, `xqc run on ${engine}: SIGINT kills every container and exits 130`, async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 60\n".repeat(5));
    const child = await startRunning(
      [
        "run",
        "-i",
        imageFor(engine),
        "-b",
        engine,
        "-n",
        "3",
        "-w",
        workdir,
        "-j",
        join(dir, "jobs"),
      ],
      workdir,
      3,
      { cwd: dir },
    );
    const start = performance.now();
    child.kill("SIGINT");
    const result = await finish(child);
    const took = performance.now() - start;
    assertEquals(result.code, 130, result.stderr);
    assert(took < 10000, `stopping took ${took} ms`);
    if (engine !== "apptainer") assertEquals(await containersOf(engine, workdir), []);
    const state = await readState(workdir);
    assertEquals(state?.run?.state, "interrupted");
    assertEquals(state?.jobs.filter((j) => j.killed).length, 3);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "the run received SIGINT");
  });
}

testOn(
  "docker",
  "xqc run: a YAML spec with string, argv and {cmd, envs} jobs; flags override it",
  async () => {
    const dir = await tempDir();
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      `image: ${TEST_IMAGE}
forks: 1
envs: {GREETING: hello, KEEP: kept}
errorStrategy: retry
numRetries: 1
jobs:
  - echo "$GREETING from a string"
  - [printf, "%s|", "a b", "$(x)"]
  - cmd: echo "$GREETING $WHO $KEEP"
    envs: {WHO: world}
  - exit 4
`,
    );
    const result = await xqc(["run", "-f", "spec.yaml", "-n", "3", "-e", "GREETING=hi", "--json"], {
      cwd: dir,
    });
    assertEquals(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout);
    const workdir = summary.workdir;
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "hi from a string\n");
    assertEquals(await readJobFile(workdir, 1, "job.stdout"), "a b|$(x)|");
    assertEquals(await readJobFile(workdir, 2, "job.stdout"), "hi world kept\n");
    assertEquals(summary.jobs[3].trials, 2);
    assertEquals((await readState(workdir))?.run?.forks, 3);
  },
);

testOn(
  "docker",
  "xqc run: -j - reads jobs from stdin; --quiet prints nothing; exit 0",
  async () => {
    const dir = await tempDir();
    const result = await xqc(["run", "-i", TEST_IMAGE, "-n", "2", "-j", "-", "--quiet"], {
      cwd: dir,
      stdin: "echo a\necho b\n",
    });
    assertEquals(result.code, 0);
    assertEquals(result.stderr, "");
    assertEquals(result.stdout, "");
    assertEquals(await readJobFile(join(dir, ".xqute"), 1, "job.stdout"), "b\n");
  },
);

testOn("docker", "xqc run --dry-run prints each engine command and starts nothing", async () => {
  const dir = await tempDir();
  const result = await xqc([
    "run",
    "--dry-run",
    "-i",
    "python:3.12",
    "-b",
    "docker",
    "-e",
    "SEED=secret",
    "--",
    "echo",
    "a b",
  ], {
    cwd: dir,
  });
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assertEquals(lines[0], "# job 0: echo 'a b' (envs: SEED)");
  assertMatch(
    lines[1],
    /docker run --rm --name xqc-\w+-0-1 .* -e SEED .* python:3\.12 \/bin\/bash \/mnt\/disks\/xqute_workdir\/0\/job\.wrapped\.container-docker$/,
  );
  assert(!result.stdout.includes("secret"), "an env value was printed");
  await assertRejects(() => Deno.stat(join(dir, ".xqute")));
});

Deno.test("xqc run -j: a line is a bash command line (pipes, redirections, &&), as GNU parallel runs it", async () => {
  const dir = await tempDir();
  const out = join(dir, "out.txt");
  await Deno.writeTextFile(
    join(dir, "jobs"),
    `echo hi > ${out}\n  # an indented comment\necho abc | tr a-c x-z\nfalse || echo "recovered $((6*7))"\n` +
      `echo 'broken\n`,
  );
  const result = await xqc(["run", "--scheduler", "local", "-j", "jobs", "--json"], { cwd: dir });
  assertEquals(result.code, 1, result.stderr);
  const summary = JSON.parse(result.stdout);
  assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [0, 0, 0, 2]);
  assertEquals(summary.jobs[0].cmd, `echo hi > ${out}`);
  assertEquals(await Deno.readTextFile(out), "hi\n");
  const workdir = join(dir, ".xqute");
  assertEquals(await readJobFile(workdir, 0, "job.stdout"), "");
  assertEquals(await readJobFile(workdir, 1, "job.stdout"), "xyz\n");
  assertEquals(await readJobFile(workdir, 2, "job.stdout"), "recovered 42\n");
  assertStringIncludes(await readJobFile(workdir, 3, "job.stderr"), "unexpected EOF");
});

Deno.test("xqc run --resume skips finished jobs and counts them as skipped", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(join(dir, "jobs"), "echo one\nbash -c 'test -e flag'\n");
  const first = await xqc(["run", "--scheduler", "local", "-j", "jobs", "--json"], { cwd: dir });
  assertEquals(first.code, 1);
  await Deno.writeTextFile(join(dir, ".xqute", "1", "flag"), "");
  const second = await xqc(["run", "--scheduler", "local", "-j", "jobs", "--resume", "--json"], {
    cwd: dir,
  });
  assertEquals(second.code, 1, "the job's cwd is not its metadir, so it still fails");
  const summary = JSON.parse(second.stdout);
  assertEquals([summary.skipped, summary.failed], [1, 1]);
  assertEquals(summary.jobs[0].status, "SKIPPED");
  await Deno.writeTextFile(join(dir, "jobs"), "echo one\nbash -c 'test -e .xqute/1/flag'\n");
  const third = await xqc(["run", "--scheduler", "local", "-j", "jobs", "--resume", "--json"], {
    cwd: dir,
  });
  assertEquals(third.code, 0, third.stderr);
  assertEquals(JSON.parse(third.stdout).jobs.map((j: { status: string }) => j.status), [
    "SKIPPED",
    "FINISHED",
  ]);
});

testOn("docker", "xqc status reads a live run from another process, and --json", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const child = await startRunning(
    ["run", "-i", TEST_IMAGE, "-n", "2", "-w", workdir, "--", "sleep", "3"],
    workdir,
    1,
    { cwd: dir },
  );
  const live = await xqc(["status", "-w", workdir]);
  assertEquals(live.code, 0, live.stderr);
  assertMatch(
    live.stdout,
    /^run \w+ {2}container-docker {2}image xqc-test:latest {2}forks 2 {2}pid \d+ \(alive\)/,
  );
  assertStringIncludes(live.stdout, "state running");
  assertMatch(live.stdout, /\n0 +RUNNING +1 +\d+m?s( \d+ms)? +xqc-\w+-0-1 +sleep 3\n/);
  const json = JSON.parse((await xqc(["status", "-w", workdir, "--json"])).stdout);
  assertEquals(json.run.alive, true);
  // One vocabulary: names, as in the summary.
  assertEquals(json.jobs[0].status, "RUNNING");
  assertEquals((await finish(child)).code, 0);
  const after = await xqc(["status", "-w", workdir]);
  assertStringIncludes(after.stdout, "state done");
  assertMatch(after.stdout, /\n0 +FINISHED +0 +1 /);
});

Deno.test("xqc status and logs reject a workdir or job that does not exist", async () => {
  const dir = await tempDir();
  const status = await xqc(["status", "-w", join(dir, "none")]);
  assertEquals(status.code, 2);
  assertStringIncludes(status.stderr, "does not exist");
  await xqc(["run", "--scheduler", "local", "--quiet", "--", "true"], { cwd: dir });
  const logs = await xqc(["logs", "7"], { cwd: dir });
  assertEquals(logs.code, 2);
  assertStringIncludes(logs.stderr, "Job 7 does not exist");
  const bad = await xqc(["logs", "x"], { cwd: dir });
  assertEquals(bad.code, 2);
});

Deno.test("xqc logs prints stdout or stderr, and --follow tails a running job", async () => {
  const dir = await tempDir();
  await xqc([
    "run",
    "--scheduler",
    "local",
    "--quiet",
    "--",
    "bash",
    "-c",
    "echo out; echo err >&2",
  ], { cwd: dir });
  assertEquals((await xqc(["logs", "0"], { cwd: dir })).stdout, "out\n");
  assertEquals((await xqc(["logs", "0", "--stderr"], { cwd: dir })).stdout, "err\n");
  const child = await startRunning(
    [
      "run",
      "--scheduler",
      "local",
      "--quiet",
      "--",
      "bash",
      "-c",
      "for i in 1 2 3; do echo line $i; sleep 0.4; done",
    ],
    join(dir, ".xqute"),
    1,
    { cwd: dir },
  );
  const follow = await xqc(["logs", "0", "--follow"], { cwd: dir });
  assertEquals(follow.stdout, "line 1\nline 2\nline 3\n");
  await finish(child);
});

testOn("docker", "xqc kill stops the run that owns the workdir and its containers", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const child = await startRunning(
    ["run", "-i", TEST_IMAGE, "-n", "2", "-w", workdir, "--", "sleep", "60"],
    workdir,
    1,
    { cwd: dir },
  );
  const killed = await xqc(["kill", "-w", workdir]);
  assertEquals(killed.code, 0, killed.stderr);
  assertMatch(killed.stderr, /stopped the run of process \d+/);
  assertEquals((await finish(child)).code, 143);
  assertEquals(await containersOf("docker", workdir), []);
  const again = await xqc(["kill", "-w", workdir]);
  assertStringIncludes(again.stderr, "no run is alive");
});

Deno.test("xqc on a terminal draws one live progress line on stderr, coloured unless NO_COLOR", async () => {
  const dir = await tempDir();
  const command = (noColor: boolean) =>
    new Deno.Command("script", {
      args: [
        "-qec",
        `${noColor ? "NO_COLOR=1 " : "unset NO_COLOR; "}${
          xqcArgv([
            "run",
            "--scheduler",
            "local",
            "-n",
            "2",
            "-w",
            join(dir, noColor ? "a" : "b"),
            "-j",
            "jobs",
          ])
            .map((w) => `'${w}'`).join(" ")
        }`,
        "/dev/null",
      ],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  await Deno.writeTextFile(join(dir, "jobs"), "sleep 0.3\n".repeat(4));
  const plain = new TextDecoder().decode((await command(true)).stdout);
  assertStringIncludes(plain, "\r\x1b[2Kxqc 0/4 done, ");
  assertMatch(plain, /xqc 2\/4 done, \d running, 0 failed, \d+m?s( \d+ms)? elapsed ETA \d+m?s/);
  assert(!plain.includes("xqc: job 0 FINISHED"), "a plain line per job on a terminal");
  assert(!plain.includes("\x1b[1m"), "colour despite NO_COLOR");
  const coloured = new TextDecoder().decode((await command(false)).stdout);
  assertStringIncludes(coloured, "\x1b[1mxqc\x1b[22m");
});

Deno.test("mod.ts run as a program is the xqc command line", async () => {
  const mod = new URL("../mod.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      mod,
      "--version",
    ],
    stdout: "piped",
  }).output();
  assertEquals(out.code, 0);
  assertMatch(new TextDecoder().decode(out.stdout), /^xqc \d+\.\d+\.\d+\n$/);
});

Deno.test("xqc status --watch on an ended run prints it once and returns", async () => {
  const dir = await tempDir();
  await xqc(["run", "--scheduler", "local", "--quiet", "--", "true"], { cwd: dir });
  const watch = await xqc(["status", "--watch"], { cwd: dir });
  assertEquals(watch.code, 0);
  assertEquals(watch.stdout.match(/^run /gm)?.length, 1);
  assertStringIncludes(watch.stdout, "state done");
});
