import { assertEquals } from "@std/assert";
import { SlurmQueue } from "./slurm_queue.ts";
import { checkEngines, sh, testOn } from "../../tests/helpers.ts";

await checkEngines("slurm");

testOn("slurm", "SlurmQueue.liveByName() takes pool1's name alone, not pool10's too", async () => {
  const stem = `xqc-queue-test-${crypto.randomUUID().slice(0, 8)}-pool`;
  const submit = async (name: string) =>
    (await sh(["sbatch", "--parsable", "--hold", "-J", name, "--wrap", "true"])).trim();
  const jids = [await submit(`${stem}1`), await submit(`${stem}10`), await submit(`${stem}12`)];
  try {
    const queue = new SlurmQueue({
      squeue: "squeue",
      scancel: "scancel",
      intervalMs: 1000,
      logger: { info() {}, warn() {} },
    });
    assertEquals(await queue.liveByName(`${stem}1`), [jids[0]]);
    assertEquals((await queue.liveByName(stem, true)).sort(), [...jids].sort());
  } finally {
    await sh(["scancel", ...jids]);
  }
});
