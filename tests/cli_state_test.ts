// The run's Kv state at its limits: commands past one Kv value, batches past one commit.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import { readJobFile, tempDir } from "./helpers.ts";

Deno.test("xqc run: a 70 KB command runs, exits 0, and xqc status reads it", async () => {
  const dir = await tempDir();
  const word = "x".repeat(70_000);
  const run = await xqc(["run", "--scheduler", "local", "--quiet", "--", "echo", word], {
    cwd: dir,
  });
  assertEquals(run.code, 0, run.stderr.slice(0, 2000));
  assertEquals(run.stderr, "");
  assertEquals(await readJobFile(join(dir, ".xqute"), 0, "job.stdout"), word + "\n");
  const status = await xqc(["status", "--json"], { cwd: dir });
  assertEquals(status.code, 0, status.stderr);
  const view = JSON.parse(status.stdout);
  assertEquals(view.jobs[0].status, "FINISHED");
  assertEquals(view.jobs[0].cmdLength, 70_005);
  assert(view.jobs[0].cmd.startsWith("echo xxx"));
  assertStringIncludes((await xqc(["status"], { cwd: dir })).stdout, "FINISHED");
});

Deno.test("xqc run: 500 jobs of 8 KB commands exit 0 and xqc status reads them all", async () => {
  const dir = await tempDir();
  const lines = Array.from({ length: 500 }, (_, i) => `echo ${i} ${"y".repeat(8000)}\n`);
  await Deno.writeTextFile(join(dir, "jobs"), lines.join(""));
  const run = await xqc(["run", "--scheduler", "local", "-n", "8", "-j", "jobs", "--json"], {
    cwd: dir,
  });
  assertEquals(run.code, 0, run.stderr.slice(-2000));
  assertEquals(JSON.parse(run.stdout).succeeded, 500);
  const status = await xqc(["status", "--json"], { cwd: dir });
  assertEquals(status.code, 0, status.stderr);
  const view = JSON.parse(status.stdout);
  assertEquals(view.jobs.length, 500);
  assert(view.jobs.every((j: { status: string }) => j.status === "FINISHED"));
  assertEquals(view.run.state, "done");
});
