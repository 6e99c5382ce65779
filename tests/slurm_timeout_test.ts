// A job that Slurm stops at its time limit (one minute, Slurm's least; enforced within about
// 30 s after): rc -3 naming TIMEOUT, and its container stopped with it. In a file of its own
// so that its minute and a half runs beside the other tests.

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  readJobFile,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
} from "./helpers.ts";

await checkEngines("slurm", "docker");

testOn(
  ["slurm", "docker"],
  "a Slurm time limit: rc -3 naming TIMEOUT, the container gone",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "--scheduler",
      "slurm",
      "-i",
      TEST_IMAGE,
      "-w",
      workdir,
      "--slurm-opt",
      "time=1",
      "--json",
      "--",
      "sleep",
      "600",
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(JSON.parse(result.stdout).jobs[0].rc, -3);
    const stderr = await readJobFile(workdir, 0, "job.stderr");
    assertStringIncludes(stderr, ": TIMEOUT");
    assertEquals(await containersOf("docker", workdir), []);
    const jid = (await readJobFile(workdir, 0, "job.jid")).trim();
    assertStringIncludes(await sh(["squeue", "-h", "-t", "all", "-j", jid, "-o", "%T"]), "TIMEOUT");
  },
);
