import { assertEquals } from "@std/assert";
import { join } from "@std/path";
import { Xqute } from "./xqute.ts";
import { readState } from "../core/state_view.ts";
import { tempDir } from "../../tests/helpers.ts";

/** Jobs that count their runs in files named after them. */
function counting(marker: string, names: string[]): string[] {
  return names.map((name) => `echo ${name} >>${marker}-${name}; echo out-${name}`);
}

async function runs(marker: string, name: string): Promise<number> {
  return (await Deno.readTextFile(`${marker}-${name}`).catch(() => "")).split("\n").length - 1;
}

Deno.test("Xqute resume finds a finished job by content wherever it now stands, twins one to one", async () => {
  const workdir = await tempDir();
  const marker = join(await tempDir(), "ran");
  const first = new Xqute({ workdir, forks: 2 });
  for (const cmd of counting(marker, ["a", "b", "c"])) await first.feed(cmd);
  assertEquals((await first.runUntilComplete()).succeeded, 3);

  // A line inserted at the top, and "b" twice: one "b" is the finished one, the other runs.
  const second = new Xqute({ workdir, forks: 2, resume: true });
  for (const cmd of counting(marker, ["new", "a", "b", "c", "b"])) await second.feed(cmd);
  const summary = await second.runUntilComplete();
  assertEquals(summary.jobs.map((job) => job.status), [
    "FINISHED",
    "SKIPPED",
    "SKIPPED",
    "SKIPPED",
    "FINISHED",
  ]);
  assertEquals(
    await Promise.all(["new", "a", "b", "c"].map((name) => runs(marker, name))),
    [1, 1, 2, 1],
  );
  // A skipped job's files are where its twin left them; a job that ran has files of its own.
  assertEquals(summary.jobs[1].stdout, join(workdir, "0", "job.stdout"));
  assertEquals(await Deno.readTextFile(summary.jobs[1].stdout), "out-a\n");
  assertEquals(await Deno.readTextFile(summary.jobs[3].stdout), "out-c\n");
  assertEquals(await Deno.readTextFile(summary.jobs[0].stdout), "out-new\n");
  assertEquals(await Deno.readTextFile(summary.jobs[4].stdout), "out-b\n");
  const stdouts = new Set(summary.jobs.map((job) => job.stdout));
  assertEquals(stdouts.size, 5, "no two jobs share a metadir");

  // Resumed again in the first order: all five are found, none runs.
  const third = new Xqute({ workdir, forks: 2, resume: true });
  for (const cmd of counting(marker, ["a", "b", "c", "b", "new"])) await third.feed(cmd);
  assertEquals((await third.runUntilComplete()).skipped, 5);
  assertEquals(await runs(marker, "b"), 2);
});

Deno.test("Xqute resume stopped while feeding keeps the records of jobs it had not fed", async () => {
  const workdir = await tempDir();
  const marker = join(await tempDir(), "ran");
  const first = new Xqute({ workdir });
  for (const cmd of counting(marker, ["a", "b", "c"])) await first.feed(cmd);
  assertEquals((await first.runUntilComplete()).succeeded, 3);

  const stopped = new Xqute({ workdir, resume: true });
  await stopped.runUntilComplete({ keepFeeding: true });
  await stopped.feed(counting(marker, ["a"])[0]);
  await stopped.cancel("SIGINT");
  await stopped.stopFeeding();
  assertEquals((await readState(workdir))?.run?.state, "interrupted");

  const again = new Xqute({ workdir, resume: true });
  for (const cmd of counting(marker, ["a", "b", "c"])) await again.feed(cmd);
  assertEquals((await again.runUntilComplete()).skipped, 3);
  for (const name of ["a", "b", "c"]) assertEquals(await runs(marker, name), 1);
});

Deno.test("Xqute resume: each of many identical jobs finds its own metadir, and the whole run is skipped", async () => {
  const workdir = await tempDir();
  const first = new Xqute({ workdir, forks: 4 });
  for (let i = 0; i < 12; i++) await first.feed("echo same");
  assertEquals((await first.runUntilComplete()).succeeded, 12);
  const again = new Xqute({ workdir, forks: 4, resume: true });
  for (let i = 0; i < 12; i++) await again.feed("echo same");
  const summary = await again.runUntilComplete();
  assertEquals(summary.skipped, 12);
  // Kv lists the earlier records by metadir name, 10 and 11 before 2: job 2 still takes "2".
  assertEquals(
    summary.jobs.map((job) => job.stdout),
    Array.from({ length: 12 }, (_, i) => join(workdir, String(i), "job.stdout")),
  );
  assertEquals(again.jobs.map((job) => job.dir), Array.from({ length: 12 }, (_, i) => String(i)));
});
