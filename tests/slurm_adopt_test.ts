// xqc run --resume after the run died (kill -9) while its Slurm jobs ran: the jobs still
// queued or running are adopted (same Slurm ids, waited for, their rc taken), a changed
// job's old Slurm job is cancelled, and only what never ran or changed is submitted.

import { assertEquals, assertMatch } from "./assert.ts";
import { join } from "@std/path";
import { finish, startXqc, xqc } from "./cli_helpers.ts";
import { checkEngines, readJobFile, sh, tempDir, testOn, waitFor } from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("slurm");

/** A Slurm job's state, while squeue still shows it. */
async function slurmState(jid: string): Promise<string> {
  return (await sh(["squeue", "-h", "-t", "all", "-j", jid, "-o", "%T"])).trim();
}

testOn(
  "slurm",
  "xqc run --resume after kill -9 adopts the Slurm jobs still running: same ids, nothing cancelled twice",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const jobs = join(dir, "jobs.txt");
    const go = join(dir, "go");
    const wait = `while [ ! -e ${go} ]; do sleep 0.1; done`;
    await Deno.writeTextFile(
      jobs,
      [`echo a`, `${wait}; echo b`, `${wait}; echo c`].join("\n") + "\n",
    );
    // Whatever happens, the jobs waiting on the go file end with the test.
    const cleanup = () => Deno.writeTextFile(go, "").catch(() => {});
    const args = [
      "run",
      "--scheduler",
      "slurm",
      "-n",
      "4",
      "--poll-interval",
      "0.2",
      "-w",
      workdir,
    ];
    const first = startXqc([...args, "-j", jobs]);
    try {
      await adoptAndCheck();
    } finally {
      await cleanup();
      await xqc(["kill", "-w", workdir]);
    }
    async function adoptAndCheck() {
      await waitFor("jobs 1 and 2 running, job 0 done", async () => {
        const state = await readState(workdir).catch(() => null);
        const status = state?.jobs.map((j) => j.status) ?? [];
        return status.join() === "FINISHED,RUNNING,RUNNING";
      }, 60_000);
      first.kill("SIGKILL");
      await finish(first);
      const jid1 = (await readJobFile(workdir, 1, "job.jid")).trim();
      const jid2 = (await readJobFile(workdir, 2, "job.jid")).trim();
      // Job 2 changes (its old Slurm job must go); a job is added.
      await Deno.writeTextFile(
        jobs,
        [`echo a`, `${wait}; echo b`, `${wait}; echo C`, `echo d`].join("\n") + "\n",
      );
      const second = startXqc([...args, "--resume", "--json", "-j", jobs]);
      await waitFor(
        "the changed job's old Slurm job cancelled",
        async () => (await slurmState(jid2)) === "CANCELLED",
        30_000,
      );
      assertEquals(await slurmState(jid1), "RUNNING");
      await Deno.writeTextFile(go, "");
      const result = await finish(second);
      assertEquals(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      assertEquals(summary.jobs.map((j: { rc: number }) => j.rc), [0, 0, 0, 0]);
      const state = (await readState(workdir))!;
      assertEquals(state.jobs.map((j) => j.status), [
        "SKIPPED",
        "FINISHED",
        "FINISHED",
        "FINISHED",
      ]);
      // Job 1 was adopted: the same Slurm job, which ended by itself, in its own metadir.
      assertEquals(state.jobs[1].jid, jid1);
      assertEquals(await slurmState(jid1), "COMPLETED");
      assertEquals(await readJobFile(workdir, 1, "job.stdout"), "b\n");
      // Job 2 ran anew, in a metadir of its own.
      const changed = state.jobs[2];
      assertMatch(changed.jid, /^\d+$/);
      assertEquals(changed.jid === jid2, false);
      assertEquals(
        await Deno.readTextFile(join(workdir, changed.dir ?? "2", "job.stdout")),
        "C\n",
      );
      const d = state.jobs[3];
      assertEquals(await Deno.readTextFile(join(workdir, d.dir ?? "3", "job.stdout")), "d\n");
    }
  },
);
