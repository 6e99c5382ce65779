// The engine's listing is no answer when it fails: a recheck that cannot list containers
// abandons none (the job runs on, and is not run twice).

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  faultyEngine,
  readJobFile,
  tempDir,
  TEST_IMAGE,
  testOn,
} from "./helpers.ts";

await checkEngines("docker");

testOn(
  "docker",
  "docker ps and inspect failing through a run: no job is abandoned or retried, each ends once",
  async () => {
    const dir = await tempDir();
    // The real docker, but its ps and inspect fail while the flag file is there (as when the
    // daemon is too busy to answer them).
    const flag = join(dir, "fail-listing");
    const bin = await faultyEngine(
      "docker",
      `case $1 in ps|inspect) [ -e ${flag} ] && { echo "Error: the daemon did not answer" >&2; exit 1; } ;; esac`,
    );
    await Deno.writeTextFile(flag, "");
    const workdir = join(dir, "wd");
    const result = await xqc([
      "run",
      "-i",
      TEST_IMAGE,
      "-b",
      bin,
      "-w",
      workdir,
      "-n",
      "2",
      "--recheck-interval",
      "1",
      "--error-strategy",
      "retry",
      "--num-retries",
      "2",
      "--json",
      "--",
      "bash",
      "-c",
      'sleep 4; echo "ran $XQUTE_JOB_INDEX" >>"$XQUTE_JOB_METADIR/runs"',
    ]);
    assertEquals(result.code, 0, result.stderr);
    const job = JSON.parse(result.stdout).jobs[0];
    assertEquals([job.status, job.rc, job.trials], ["FINISHED", 0, 1]);
    assertEquals(await readJobFile(workdir, 0, "runs"), "ran 0\n");
    assertStringIncludes(result.stderr, "could not list the running jobs");
    await Deno.remove(flag);
    assertEquals(await containersOf("docker", workdir), []);
  },
);
