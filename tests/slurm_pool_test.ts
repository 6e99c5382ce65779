// Pools on a real Slurm cluster: each slot is one allocation (srun) that runs its jobs one
// after another, with bash or in a container; stops leave no Slurm job and no container.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startRunning, xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  imageFor,
  readJobFile,
  sh,
  tempDir,
  testOn,
  waitFor,
} from "./helpers.ts";

await checkEngines("slurm", "docker", "apptainer");

/** The Slurm jobs whose names start with a workdir's stem. */
async function slurmJobsNamed(stem: string): Promise<string[]> {
  const out = await sh(["squeue", "-h", "-o", "%i|%j|%T"]);
  return out.split("\n").filter((line) => line.split("|")[1]?.startsWith(stem));
}

/** The allocation a pooled job ran in: the part of its jid before the slash. */
async function slotOf(workdir: string, index: number): Promise<string> {
  return (await readJobFile(workdir, index, "job.jid")).trim().split("/")[0];
}

testOn(
  "slurm",
  "slurm pool: jobs run in at most forks allocations, with their envs, rc and files",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const jobs = Array.from(
      { length: 12 },
      (_, i) => `bash -c 'echo "$A $XQUTE_JOB_INDEX"; exit ${i % 3}'`,
    );
    await Deno.writeTextFile(join(dir, "jobs"), jobs.join("\n") + "\n");
    const result = await xqc(
      [
        "run",
        "--scheduler",
        "slurm",
        "--pool",
        "-n",
        "3",
        "-e",
        "A=x y",
        "-w",
        workdir,
        "-j",
        "jobs",
        "--json",
      ],
      { cwd: dir },
    );
    assertEquals(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), jobs.map((_, i) => i % 3));
    const slots = new Set<string>();
    for (let i = 0; i < 12; i++) {
      assertEquals(await readJobFile(workdir, i, "job.stdout"), `x y ${i}\n`);
      slots.add(await slotOf(workdir, i));
    }
    assert(slots.size >= 1 && slots.size <= 3, `${slots.size} allocations`);
    for (const slot of slots) assert(/-pool\d+$/.test(slot), slot);
    const stem = [...slots][0].replace(/pool\d+$/, "");
    await waitFor("the allocations to end", async () => (await slurmJobsNamed(stem)).length === 0);
  },
);

testOn(
  "slurm",
  "slurm pool: a timeout gives 124; a cancelled allocation fails its job with -3 and the next gets a fresh one",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 60\necho next\nsleep 30\n");
    const running = await startRunning(
      [
        "run",
        "--scheduler",
        "slurm",
        "--pool",
        "-n",
        "1",
        "--timeout",
        "2",
        "-w",
        workdir,
        "-j",
        "jobs",
        "--json",
      ],
      workdir,
      1,
      { cwd: dir },
    );
    const slot = await slotOf(workdir, 0);
    await sh(["scancel", "--name", slot]);
    const result = await finish(running);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [-3, 0, 124]);
    assertStringIncludes(
      await readJobFile(workdir, 0, "job.stderr"),
      `the pool Slurm allocation ${slot} ended while the job ran`,
    );
    assert((await slotOf(workdir, 1)) !== slot, "the cancelled allocation took a job");
  },
);

for (const engine of ["docker", "apptainer"] as const) {
  testOn(
    ["slurm", engine],
    `slurm pool with ${engine}: jobs run in a container in each allocation; SIGTERM leaves no Slurm job and no container`,
    async () => {
      const dir = await tempDir();
      const workdir = join(dir, "wd");
      const args = [
        "run",
        "--scheduler",
        "slurm",
        "--pool",
        "-b",
        engine,
        "-i",
        imageFor(engine),
        "-n",
        "2",
        "-w",
        workdir,
      ];
      const done = await xqc([
        ...args,
        "--",
        "bash",
        "-c",
        "cat /etc/xqc-test-image 2>/dev/null; echo in $XQUTE_JOB_INDEX",
      ], {
        cwd: dir,
      });
      assertEquals(done.code, 0, done.stderr);
      assertStringIncludes(await readJobFile(workdir, 0, "job.stdout"), "in 0");
      const second = join(dir, "wd2");
      await Deno.writeTextFile(join(dir, "jobs"), "sleep 60\nsleep 60\nsleep 60\n");
      const running = await startRunning(
        [
          "run",
          "--scheduler",
          "slurm",
          "--pool",
          "-b",
          engine,
          "-i",
          imageFor(engine),
          "-n",
          "2",
          "-w",
          second,
          "-j",
          "jobs",
        ],
        second,
        2,
        { cwd: dir },
      );
      const slot = await slotOf(second, 0);
      const stem = slot.replace(/pool\d+$/, "");
      running.kill("SIGTERM");
      const result = await finish(running);
      assertEquals(result.code, 143, result.stderr);
      await waitFor(
        "no Slurm job left",
        async () => (await slurmJobsNamed(stem)).length === 0,
        20000,
      );
      if (engine === "docker") {
        await waitFor(
          "no container left",
          async () => (await containersOf("docker", second)).length === 0,
          20000,
        );
      }
    },
  );
}

testOn(
  "slurm",
  "slurm pool: after kill -9 of the run, its allocations end and xqc kill finds nothing left",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 60\nsleep 60\n");
    const running = await startRunning(
      ["run", "--scheduler", "slurm", "--pool", "-n", "2", "-w", workdir, "-j", "jobs"],
      workdir,
      2,
      { cwd: dir },
    );
    const stem = (await slotOf(workdir, 0)).replace(/pool\d+$/, "");
    running.kill("SIGKILL");
    await finish(running);
    // srun's stdin ends with the run: each agent stops its job and exits, and so does srun.
    await waitFor(
      "no Slurm job left",
      async () => (await slurmJobsNamed(stem)).length === 0,
      20000,
    );
    assertEquals((await readJobFile(workdir, 0, "job.rc")).trim(), "143");
    const killed = await xqc(["kill", "-w", workdir]);
    assertEquals(killed.code, 0, killed.stderr);
  },
);
