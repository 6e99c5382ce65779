// Nothing a job started outlives it: its pipeline at a timeout or a kill, and background
// children when it ends (local and apptainer jobs are processes of this host).

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startRunning, xqc } from "./cli_helpers.ts";
import { checkEngines, imageFor, processesRunning, tempDir, testOn } from "./helpers.ts";

await checkEngines("apptainer");

// Each test sleeps for a length no other test uses, so its processes can be told apart.
async function gone(argv: string[]): Promise<number[]> {
  // The kernel may take a moment to reap what was killed.
  for (let i = 0; i < 20 && processesRunning(...argv).length; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return processesRunning(...argv);
}

Deno.test("xqc run --timeout on a local job ends its whole pipeline, not only its shell", async () => {
  const dir = await tempDir();
  const run = await xqc(
    [
      "run",
      "--scheduler",
      "local",
      "--timeout",
      "1",
      "--json",
      "--",
      "bash",
      "-c",
      "sleep 77.101 | cat",
    ],
    { cwd: dir },
  );
  assertEquals(run.code, 1, run.stderr);
  assertEquals(JSON.parse(run.stdout).jobs[0].rc, 124);
  assertEquals(await gone(["sleep", "77.101"]), [], "sleep outlived the timeout");
});

testOn("apptainer", "xqc run --timeout on apptainer ends the job's whole pipeline", async () => {
  const dir = await tempDir();
  const run = await xqc(
    [
      "run",
      "-b",
      "apptainer",
      "-i",
      imageFor("apptainer"),
      "--timeout",
      "1",
      "--json",
      "--",
      "bash",
      "-c",
      "sleep 77.102 | cat",
    ],
    { cwd: dir },
  );
  assertEquals(run.code, 1, run.stderr);
  assertEquals(JSON.parse(run.stdout).jobs[0].rc, 124);
  assertEquals(await gone(["sleep", "77.102"]), [], "sleep outlived the timeout");
});

Deno.test("a local job's background children end with it", async () => {
  const dir = await tempDir();
  const run = await xqc(
    ["run", "--scheduler", "local", "--", "bash", "-c", "(sleep 99.103 &); echo started"],
    { cwd: dir },
  );
  assertEquals(run.code, 0, run.stderr);
  assertEquals(await gone(["sleep", "99.103"]), [], "a background child outlived its job");
});

testOn("apptainer", "an apptainer job's background children end with it", async () => {
  const dir = await tempDir();
  const run = await xqc(
    [
      "run",
      "-b",
      "apptainer",
      "-i",
      imageFor("apptainer"),
      "--",
      "bash",
      "-c",
      "(sleep 99.104 &); echo started",
    ],
    { cwd: dir },
  );
  assertEquals(run.code, 0, run.stderr);
  assertEquals(await gone(["sleep", "99.104"]), [], "a background child outlived its job");
});

Deno.test("SIGTERM to xqc ends a local job's pipeline and its background children", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const child = await startRunning(
    [
      "run",
      "--scheduler",
      "local",
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      "(sleep 88.105 &); sleep 88.106 | cat",
    ],
    workdir,
    1,
    { cwd: dir },
  );
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGTERM");
  const result = await finish(child);
  assertEquals(result.code, 143, result.stderr);
  assertStringIncludes(result.stderr, "job(s): 0 succeeded, 0 failed, 1 killed");
  assertEquals(await gone(["sleep", "88.105"]), []);
  assertEquals(await gone(["sleep", "88.106"]), []);
});
