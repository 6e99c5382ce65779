// A Slurm run belongs to one host: `xqc kill` and `xqc run` elsewhere never signal a pid
// of another host (the run here runs in its own UTS namespace, under another hostname), and
// `xqc kill` on a host without the run's engine still cancels its Slurm jobs.

import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startXqc, xqc, xqcArgv } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  slurmJobsOf,
  tempDir,
  TEST_IMAGE,
  testOn,
  untilRunning,
  waitFor,
} from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("slurm", "docker");

/** A workdir's Slurm jobs that still hold their place. */
async function liveJobs(workdir: string) {
  return (await slurmJobsOf(workdir)).filter((job) => job.live);
}

testOn(
  "slurm",
  "a Slurm run of another host: xqc kill and xqc run exit 2 naming it; kill --force cancels its jobs",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const argv = xqcArgv([
      "run",
      "--scheduler",
      "slurm",
      "--poll-interval",
      "0.2",
      "-w",
      workdir,
      "--",
      "sleep",
      "120",
    ]);
    const other = new Deno.Command("unshare", {
      args: ["-u", "bash", "-c", 'hostname xqc-other-host && exec "$@"', "bash", ...argv],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      await untilRunning(workdir, 1);
      const kill = await xqc(["kill", "-w", workdir]);
      assertEquals(kill.code, 2, kill.stderr);
      assertStringIncludes(kill.stderr, `process ${other.pid} on host xqc-other-host`);
      assertStringIncludes(kill.stderr, "xqc kill --force");
      assertEquals((await liveJobs(workdir)).length, 1, "the run's job was touched");
      const run = await xqc(["run", "--scheduler", "local", "-w", workdir, "--", "true"]);
      assertEquals(run.code, 2, run.stderr);
      assertStringIncludes(run.stderr, `process ${other.pid} on host xqc-other-host`);
      const force = await xqc(["kill", "--force", "-w", workdir]);
      assertEquals(force.code, 0, force.stderr);
      assertStringIncludes(force.stderr, "cancelled the Slurm jobs of the run of process");
      await waitFor("no live Slurm job", async () => (await liveJobs(workdir)).length === 0);
      const ended = await finish(other);
      assertEquals(ended.code, 1, ended.stderr);
    } finally {
      try {
        other.kill("SIGKILL");
        await other.output();
      } catch {
        // Ended.
      }
    }
  },
);

testOn(
  ["slurm", "docker"],
  "xqc kill on a host without the run's engine still cancels its Slurm jobs (and their containers go)",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const child = startXqc([
      "run",
      "--scheduler",
      "slurm",
      "-b",
      "docker",
      "-i",
      TEST_IMAGE,
      "--poll-interval",
      "0.2",
      "-w",
      workdir,
      "--",
      "sleep",
      "120",
    ]);
    await untilRunning(workdir, 1);
    child.kill("SIGKILL");
    await finish(child);
    // This host has no docker: its programs are hidden in a mount namespace of xqc kill's.
    const docker = (await readState(workdir))!.run!.bin!;
    const hide = [...new Set([docker, "/usr/bin/docker", "/usr/local/bin/docker"])]
      .map((path) => `mount --bind /dev/null ${path} 2>/dev/null;`).join(" ");
    const out = await new Deno.Command("unshare", {
      args: ["-m", "bash", "-c", `${hide} exec "$@"`, "bash", ...xqcArgv(["kill", "-w", workdir])],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertMatch(stderr, /stopped what was left running in .*: slurm job \d+/);
    await waitFor("no live Slurm job", async () => (await liveJobs(workdir)).length === 0);
    await waitFor("no container", async () => (await containersOf("docker", workdir)).length === 0);
  },
);
