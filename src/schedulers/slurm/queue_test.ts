import { assertEquals } from "@std/assert";
import { BatchQueue } from "../batch/queue.ts";
import { resolveSlurmOptions } from "./options.ts";
import { SlurmSystem } from "./system.ts";
import { checkEngines, sh, testOn } from "../../../tests/helpers.ts";

await checkEngines("slurm");

/** A queue of the cluster's own programs, for the jobs whose names start with a prefix. */
function queueOf(namePrefix: string): BatchQueue {
  const logger = { info() {}, warn() {} };
  return new BatchQueue({
    system: new SlurmSystem(resolveSlurmOptions({})),
    intervalMs: 1000,
    namePrefix,
    logger,
  });
}

testOn(
  "slurm",
  "BatchQueue on Slurm: liveByName() takes pool1's name alone, not pool10's too",
  async () => {
    const stem = `xqc-queue-test-${crypto.randomUUID().slice(0, 8)}-pool`;
    const submit = async (name: string) =>
      (await sh([
        "sbatch",
        "--parsable",
        "--hold",
        "-o",
        "/dev/null",
        "-J",
        name,
        "--wrap",
        "true",
      ]))
        .trim();
    const jids = [await submit(`${stem}1`), await submit(`${stem}10`), await submit(`${stem}12`)];
    try {
      const queue = queueOf(stem);
      assertEquals(await queue.liveByName(`${stem}1`), [jids[0]]);
      assertEquals((await queue.liveByName(stem, true)).sort(), [...jids].sort());
    } finally {
      await sh(["scancel", ...jids]);
    }
  },
);

testOn(
  "slurm",
  "BatchQueue on Slurm: states(): one squeue for the run's names, waiting array tasks expanded",
  async () => {
    const stem = `xqc-queue-test-${crypto.randomUUID().slice(0, 8)}-`;
    const submit = async (...args: string[]) =>
      (await sh(["sbatch", "--parsable", "--hold", "-o", "/dev/null", ...args, "--wrap", "true"]))
        .trim();
    const array = await submit("-J", `${stem}array0`, "--array=0-4%2");
    const single = await submit("-J", `${stem}7`);
    const other = await submit("-J", `other-${stem}7`);
    try {
      const queue = queueOf(stem);
      const states = await queue.states([`${array}_3`, single]);
      assertEquals(queue.calls, 1);
      assertEquals(
        [...states!].sort(),
        [...[0, 1, 2, 3, 4].map((i) => [`${array}_${i}`, "PENDING"]), [single, "PENDING"]].sort(),
      );
      assertEquals(states!.has(other), false);
    } finally {
      await sh(["scancel", array, single, other]);
    }
  },
);
