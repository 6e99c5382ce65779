// `xqc status` of a run of more than 1000 jobs: its counts, running and failed jobs from the
// run's record; every job with --all, as a table or JSON, read a batch at a time.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import { tempDir } from "./helpers.ts";

Deno.test("xqc status of 1100 jobs: counts and failed jobs at once; --all lists every job", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const lines = Array.from({ length: 1100 }, (_, i) => i % 250 === 7 ? `exit ${i % 100}` : "true");
  await Deno.writeTextFile(join(dir, "jobs"), lines.join("\n") + "\n");
  const run = await xqc([
    "run",
    "--scheduler",
    "local",
    "-n",
    "8",
    "-w",
    workdir,
    "-j",
    "jobs",
    "--quiet",
  ], { cwd: dir });
  assertEquals(run.code, 1, run.stderr);
  const failed = [7, 257, 507, 757, 1007];

  const status = await xqc(["status", "-w", workdir]);
  assertEquals(status.code, 0, status.stderr);
  assertStringIncludes(status.stdout, "jobs 1100: 1095 finished, 5 failed, 0 killed");
  assertStringIncludes(status.stdout, "xqc status --all");
  const rows = status.stdout.split("\n").filter((line) => /^\d+ +[A-Z]+ /.test(line));
  assertEquals(rows.map((row) => Number(row.split(/ +/)[0])), failed);

  const json = JSON.parse((await xqc(["status", "-w", workdir, "--json"])).stdout);
  assertEquals(json.partial, true);
  assertEquals(json.run.counts, { FINISHED: 1095, FAILED: 5 });
  assertEquals(json.run.failed, failed);
  assertEquals(json.run.running, []);

  const all = await xqc(["status", "-w", workdir, "--all"]);
  const allRows = all.stdout.split("\n").filter((line) => /^\d+ +[A-Z]+ /.test(line));
  assertEquals(allRows.length, 1100);
  assertEquals(allRows.map((row) => Number(row.split(/ +/)[0])), [...Array(1100).keys()]);
  assert(!all.stdout.includes("xqc status --all"), "no note when all are shown");
  const allJson = JSON.parse((await xqc(["status", "-w", workdir, "--all", "--json"])).stdout);
  assertEquals(allJson.jobs.length, 1100);
  assertEquals(allJson.jobs[257].rc, 57);
  assertEquals(allJson.run.total, 1100);
});
