import { assert, assertEquals } from "../../tests/assert.ts";
import { dirname, join } from "@std/path";
import { readState } from "./state_view.ts";
import { tempDir } from "../../tests/helpers.ts";
import { Job } from "./job.ts";
import type { Logger } from "./logger.ts";
import {
  CMD_KEPT,
  COMMIT_BYTES,
  COMMIT_WINDOW_MS,
  commitBatches,
  type JobRecord,
  jobRecordOf,
  PENDING_MAX,
  recordBytes,
  StateStore,
} from "./state.ts";

const record = (index: number, cmd: string): JobRecord =>
  jobRecordOf(new Job(index, cmd, `/w/${index}`), "h");

/** The real Kv, each of whose atomic commits goes through `through`. */
function onCommit(
  kv: Deno.Kv,
  through: (commit: () => Promise<Deno.KvCommitResult | Deno.KvCommitError>) => Promise<
    Deno.KvCommitResult | Deno.KvCommitError
  >,
): Deno.Kv {
  return new Proxy(kv, {
    get(target, name) {
      if (name !== "atomic") return Reflect.get(target, name, target).bind?.(target);
      return () => {
        const op = target.atomic();
        return new Proxy(op, {
          get(inner, key) {
            if (key === "commit") return () => through(() => inner.commit());
            const value = Reflect.get(inner, key, inner);
            return typeof value === "function" ? value.bind(inner) : value;
          },
        });
      };
    },
  }) as Deno.Kv;
}

/** Jobs 0 and 1 as a reader sees them, once both are there (or 5 s have passed). */
async function firstTwoJobs(reader: Deno.Kv): Promise<Deno.KvEntryMaybe<JobRecord>[]> {
  const deadline = Date.now() + 5000;
  while (true) {
    const entries = await reader.getMany<JobRecord[]>([["job", 0], ["job", 1]]);
    if (entries.every((e) => e.versionstamp !== null) || Date.now() > deadline) return entries;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("jobRecordOf() keeps a long command's first characters and its length", () => {
  const long = record(0, "echo " + "x".repeat(70_000));
  assertEquals(long.cmd.length, CMD_KEPT + 1);
  assert(long.cmd.endsWith("…"));
  assertEquals(long.cmdLength, 70_005);
  assert(recordBytes(long) < 64 * 1024, "a record must fit one Kv value");
  assertEquals(record(1, "echo hi").cmd, "echo hi");
});

Deno.test("commitBatches() cuts by bytes so that no commit passes the budget", () => {
  const records = Array.from({ length: 500 }, (_, i) => record(i, "y".repeat(8000)));
  const batches = commitBatches(records);
  assert(batches.length > 1);
  assertEquals(batches.flat().length, 500);
  for (const batch of batches) {
    const bytes = batch.reduce((sum, r) => sum + recordBytes(r), 0);
    assert(bytes <= COMMIT_BYTES, `${bytes} bytes in one commit`);
  }
  assertEquals(commitBatches(records.slice(0, 3)).length, 1);
});

Deno.test("StateStore retries failed commits and drops nothing; a newer record wins", async () => {
  const path = join(await tempDir(), "state.kv");
  const kv = await Deno.openKv(path);
  // The real Kv, whose first three commits fail as a full disk or a lock would make them.
  let failures = 3;
  const flaky = onCommit(kv, (commit) => {
    if (failures === 0) return commit();
    failures--;
    return Promise.reject(new Error("database is locked"));
  });
  const warnings: string[] = [];
  const logger: Logger = { info: () => {}, warn: (m) => warnings.push(m) };
  const store = new StateStore(path, flaky, logger);
  for (let i = 0; i < 50; i++) store.putJob(record(i, `echo ${i}`));
  store.putJob({ ...record(7, "echo 7"), rc: 42 });
  assertEquals(await store.flush(), true);
  assertEquals(failures, 0);
  await store.close();
  const jobs = (await readState(dirname(path)))!.jobs;
  assertEquals(jobs.length, 50);
  assertEquals(jobs[7].rc, 42);
  assertEquals(warnings, []);
});

Deno.test("StateStore.close() reports writes that keep failing instead of throwing", async () => {
  const path = join(await tempDir(), "state.kv");
  const kv = await Deno.openKv(path);
  const broken = new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") {
        return () => ({
          set() {},
          commit: () => Promise.reject(new Error("disk full")),
        });
      }
      return Reflect.get(target, name, target).bind?.(target);
    },
  }) as Deno.Kv;
  const warnings: string[] = [];
  const store = new StateStore(path, broken, { info: () => {}, warn: (m) => warnings.push(m) });
  store.putJob(record(0, "true"));
  await store.close();
  assert(warnings.some((w) => w.includes("disk full") && w.includes("1 job(s)")), warnings.join());
});

Deno.test("StateStore gathers the changes of a commit window into one commit, unasked", async () => {
  const dir = await tempDir();
  const store = await StateStore.open(dir);
  const reader = await Deno.openKv(join(dir, "state.kv"));
  try {
    store.putJob(record(0, "echo 0"));
    await new Promise((resolve) => setTimeout(resolve, COMMIT_WINDOW_MS / 5));
    store.putJob(record(1, "echo 1"));
    // Nothing flushes: the window's timer commits both, once.
    const entries = await firstTwoJobs(reader);
    assertEquals(entries.map((e) => e.value?.index), [0, 1]);
    assertEquals(entries[0].versionstamp, entries[1].versionstamp, "one commit for both");
  } finally {
    reader.close();
    await store.close();
  }
});

Deno.test("StateStore makes one commit a window under a steady stream of changes", async () => {
  const dir = await tempDir();
  const path = join(dir, "state.kv");
  const kv = await Deno.openKv(path);
  // The real Kv, with its commits counted.
  let commits = 0;
  const counted = onCommit(kv, (commit) => {
    commits++;
    return commit();
  });
  const store = new StateStore(path, counted);
  const spanMs = 20 * COMMIT_WINDOW_MS;
  const started = Date.now();
  let index = 0;
  while (Date.now() - started < spanMs) {
    store.putJob(record(index, `echo ${index}`));
    index++;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const elapsed = Date.now() - started;
  await store.close();
  const windows = Math.ceil(elapsed / COMMIT_WINDOW_MS);
  assert(commits <= windows + 2, `${commits} commits for ${index} changes in ${windows} windows`);
  const reader = await Deno.openKv(path);
  try {
    let stored = 0;
    for await (const _ of reader.list({ prefix: ["job"] })) stored++;
    assertEquals(stored, index);
  } finally {
    reader.close();
  }
});

Deno.test("StateStore tries a failed window's write again, unasked, and drops nothing", async () => {
  const dir = await tempDir();
  const path = join(dir, "state.kv");
  // The real Kv, whose first two commits fail.
  let failures = 2;
  const flaky = onCommit(await Deno.openKv(path), (commit) => {
    if (failures === 0) return commit();
    failures--;
    return Promise.reject(new Error("database is locked"));
  });
  const store = new StateStore(path, flaky, { info: () => {}, warn: () => {} });
  const reader = await Deno.openKv(path);
  try {
    store.putJob(record(0, "echo 0"));
    store.putJob(record(1, "echo 1"));
    // Nothing flushes and nothing more changes: the timer alone must write them.
    const entries = await firstTwoJobs(reader);
    assertEquals(failures, 0);
    assertEquals(entries.map((e) => e.value?.index), [0, 1]);
  } finally {
    reader.close();
    await store.close();
  }
});

Deno.test("StateStore.room() writes at once when PENDING_MAX records wait, not before", async () => {
  const dir = await tempDir();
  const path = join(dir, "state.kv");
  const kv = await Deno.openKv(path);
  // The real Kv, with its commits counted.
  let commits = 0;
  const store = new StateStore(path, onCommit(kv, (commit) => (commits++, commit())));
  try {
    // Fed in one go (as skipped jobs are), the window's timer has no turn in between.
    for (let i = 0; i < PENDING_MAX - 1; i++) store.putJob(record(i, "true"));
    await store.room();
    assertEquals(commits, 0, "fewer than PENDING_MAX wait: room() wrote");
    store.putJob(record(PENDING_MAX - 1, "true"));
    await store.room();
    assert(commits > 0, "PENDING_MAX wait: room() did not write");
    const reader = await Deno.openKv(path);
    let written = 0;
    for await (const _ of reader.list({ prefix: ["job"] })) written++;
    reader.close();
    assertEquals(written, PENDING_MAX);
  } finally {
    await store.close();
  }
});
