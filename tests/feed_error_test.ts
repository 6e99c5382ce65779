// A job that cannot be fed once others run: the run stops as a stop signal stops it (the
// running jobs killed, nothing left), and says so truly.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  faultyEngine,
  processesRunning,
  readJobFile,
  tempDir,
  TEST_SIF,
  testOn,
} from "./helpers.ts";

await checkEngines("apptainer");

testOn(
  "apptainer",
  "a later job's limits that apptainer cannot apply: the started job is killed, exit 1 saying why",
  async () => {
    const dir = await tempDir();
    // The real apptainer, whose limits fail (as on a host without cgroups for them).
    const bin = await faultyEngine(
      "apptainer",
      `for arg; do [ "$arg" = --memory ] && { echo "FATAL: no cgroups here" >&2; exit 255; }; done`,
    );
    const workdir = join(dir, "wd");
    const marker = `xqc-feed-error-${crypto.randomUUID()}`;
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      `image: ${TEST_SIF}
bin: ${bin}
workdir: ${workdir}
forks: 2
jobs:
  - [sleep, "300", ${marker}]
  - { cmd: "true", memory: 100m }
  - "true"
`,
    );
    const result = await xqc(["run", "-f", join(dir, "spec.yaml"), "--json"]);
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "job 1 could not be fed: Apptainer cannot apply");
    assertStringIncludes(result.stderr, "1 running job(s) killed, 2 not fed");
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.jobs.map((j: { status: string }) => j.status), ["KILLED"]);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "could not be fed");
    assert(!result.stderr.includes("nothing started"), result.stderr);
    assertEquals(processesRunning("sleep", "300", marker), []);
  },
);
