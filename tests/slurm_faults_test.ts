// xqc on Slurm when the cluster misbehaves: a filesystem that shows job.rc late, a
// controller that stops answering for a while, and a stop that lands while a retry is being
// submitted.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { join } from "@std/path";
import { finish, startXqc, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  readJobFile,
  sh,
  slurmJobsOf,
  tempDir,
  testOn,
  testOnWholeCluster,
  waitFor,
} from "./helpers.ts";

await checkEngines("slurm");

/**
 * Hide a job's rc file as soon as it is written, as a lagging shared filesystem would, and
 * show it again after some milliseconds (`null`: not while xqc waits).
 */
function hideRcFor(workdir: string, ms: number | null): Promise<void> {
  const rc = join(workdir, "0", "job.rc");
  return (async () => {
    for (;;) {
      try {
        Deno.renameSync(rc, rc + ".late");
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    if (ms === null) return;
    await new Promise((r) => setTimeout(r, ms));
    Deno.renameSync(rc + ".late", rc);
  })();
}

for (const [timeout, hidden, rc] of [[60, 6000, 0], [1, null, -3]] as const) {
  testOn(
    "slurm",
    `a job.rc that shows ${
      hidden === null ? "too" : `${hidden / 1000} s`
    } late, with --exit-read-timeout ${timeout}: rc ${rc}`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      const child = startXqc([
        "run",
        "--scheduler",
        "slurm",
        "--poll-interval",
        "0.2",
        "--exit-read-timeout",
        String(timeout),
        "--json",
        "-w",
        workdir,
        "--",
        "bash",
        "-c",
        "sleep 1; echo ran",
      ]);
      const hide = hideRcFor(workdir, hidden);
      const result = await finish(child);
      await hide;
      assertEquals(result.code, rc === 0 ? 0 : 1, result.stderr);
      assertEquals(JSON.parse(result.stdout).jobs[0].rc, rc);
      assertEquals((await readJobFile(workdir, 0, "job.rc")).trim(), String(rc));
      assertEquals(await readJobFile(workdir, 0, "job.stdout"), "ran\n");
      if (rc !== 0) {
        assertMatch(
          await readJobFile(workdir, 0, "job.stderr"),
          /COMPLETED; its job\.rc did not show within the exit-read timeout \(1 s\)/,
        );
      }
    },
  );
}

testOnWholeCluster(
  "slurmctld stopped for 12 s in the middle of a run: every job ends right, none submitted twice",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const ctld = (await Deno.readTextFile("/tmp/xqc-slurm/slurmctld.pid")).trim();
    // The third sbatch call stops the controller first (and a timer starts it again).
    const sbatch = join(dir, "sbatch");
    await Deno.writeTextFile(
      sbatch,
      `#!/bin/bash
echo call >>${dir}/sbatch.calls
if [ "$(wc -l <${dir}/sbatch.calls)" -ge 3 ] && mkdir ${dir}/stopped 2>/dev/null; then
  kill -STOP ${ctld}
  (sleep 12; kill -CONT ${ctld}) </dev/null >/dev/null 2>&1 &
fi
exec sbatch "$@"
`,
    );
    await Deno.chmod(sbatch, 0o755);
    const jobs = Array.from({ length: 6 }, (_, i) => `sleep 1; echo job ${i}`).join("\n");
    await Deno.writeTextFile(join(dir, "jobs.txt"), jobs + "\n");
    let result;
    try {
      result = await xqc([
        "run",
        "--scheduler",
        "slurm",
        "--sbatch",
        sbatch,
        "-n",
        "2",
        "--poll-interval",
        "0.5",
        "-w",
        workdir,
        "-j",
        join(dir, "jobs.txt"),
        "--json",
      ]);
    } finally {
      await sh(["kill", "-CONT", ctld]).catch(() => "");
    }
    assertEquals(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [0, 0, 0, 0, 0, 0]);
    for (let i = 0; i < 6; i++) {
      assertEquals(await readJobFile(workdir, i, "job.stdout"), `job ${i}\n`);
    }
    // One Slurm job a job: the names of the run's jobs Slurm saw, each once.
    const names = (await slurmJobsOf(workdir)).map((job) => job.name.replace(/.*-/, ""));
    assertEquals(names.sort(), ["0", "1", "2", "3", "4", "5"]);
    // The stopped controller timed the third sbatch out: it was tried again.
    assertMatch(result.stderr, /sbatch failed \(.*timed out.*\); trying again in 2 s/);
  },
);

testOn(
  "slurm",
  "a stop that lands while a retry is being submitted leaves no Slurm job behind",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    // The retry's sbatch is slow: the stop lands while it runs.
    const sbatch = join(dir, "sbatch");
    await Deno.writeTextFile(
      sbatch,
      `#!/bin/bash
if grep -q '^#SBATCH --comment=xqc:.*\\.2$' "$2"; then touch ${dir}/retrying; sleep 3; fi
exec sbatch "$@"
`,
    );
    await Deno.chmod(sbatch, 0o755);
    const child = startXqc([
      "run",
      "--scheduler",
      "slurm",
      "--sbatch",
      sbatch,
      "--error-strategy",
      "retry",
      "--num-retries",
      "1",
      "--poll-interval",
      "0.2",
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      `[ -e ${dir}/failed ] && exec sleep 60; touch ${dir}/failed; exit 1`,
    ]);
    await waitFor("the retry's submission", () => {
      try {
        Deno.statSync(join(dir, "retrying"));
        return true;
      } catch {
        return false;
      }
    }, 60_000);
    child.kill("SIGINT");
    const result = await finish(child);
    assert(result.code !== 0, result.stderr);
    // The retry was submitted (it is in the queue by its name), and then cancelled.
    await waitFor("no live Slurm job of the run", async () => {
      const jobs = await slurmJobsOf(workdir);
      return jobs.length === 2 && jobs.every((job) => !job.live);
    }, 10_000);
  },
);
