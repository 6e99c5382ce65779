import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { join } from "@std/path";
import { tempDir } from "../../tests/temp.ts";
import type { JobCommand } from "./job.ts";
import { renderWrapper, RUNNING_MARKER, type WrapperParts } from "./wrapper.ts";

async function runWrapper(
  cmd: JobCommand,
  extra: Partial<WrapperParts> = {},
  env?: Record<string, string>,
): Promise<
  {
    dir: string;
    code: number;
    stdout: string;
    stderr: string;
    rc: string;
    status: string;
    out: string;
  }
> {
  const dir = await tempDir();
  const meta = join(dir, "0");
  await Deno.mkdir(meta);
  const text = renderWrapper({
    shebang: "/usr/bin/env bash",
    index: 0,
    trial: 1,
    mountedWorkdir: dir,
    mountedMetadir: meta,
    cmd,
    ...extra,
  });
  await Deno.writeTextFile(join(meta, "job.wrapped.local"), text);
  const out = await new Deno.Command("/bin/bash", {
    args: [join(meta, "job.wrapped.local")],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const read = (f: string) => Deno.readTextFile(join(meta, f)).catch(() => "");
  return {
    dir,
    code: out.code,
    out: new TextDecoder().decode(out.stdout),
    stdout: await read("job.stdout"),
    stderr: await read("job.stderr"),
    rc: (await read("job.rc")).trim(),
    status: (await read("job.status")).trim(),
  };
}

Deno.test("renderWrapper() passes an argv literally: $(...), quotes, spaces, newlines", async () => {
  const words = ["$(echo pwned)", "`id`", "a b", "it's", `"q"`, "x;y", "l1\nl2", ""];
  const r = await runWrapper(["printf", "[%s]", ...words]);
  assertEquals(r.stdout, words.map((w) => `[${w}]`).join(""));
  assertEquals(r.rc, "0");
  assertEquals(r.status, "6");
  assertEquals(r.code, 0);
});

Deno.test("renderWrapper() runs a string command as a bash command line", async () => {
  const r = await runWrapper("echo one | tr a-z A-Z; echo two >&2");
  assertEquals(r.stdout, "ONE\n");
  assertEquals(r.stderr, "two\n");
});

Deno.test("renderWrapper() prints the running marker and writes FAILED with the rc", async () => {
  const r = await runWrapper(["bash", "-c", "exit 3"]);
  assertEquals(r.rc, "3");
  assertEquals(r.status, "7");
  assertEquals(r.code, 3);
  assertStringIncludes(r.out, RUNNING_MARKER);
});

Deno.test("renderWrapper() explains rc 127 and 126 in job.stderr", async () => {
  const r = await runWrapper(["no-such-program-xqc"]);
  assertEquals(r.rc, "127");
  assertStringIncludes(
    r.stderr,
    "rc 127: a command was not found (job command: no-such-program-xqc)",
  );
  // The program's name reaches the message literally: quoted once, never run.
  const hostile = "no-such-$(touch /tmp/xqc-pwned)'q\"";
  const r3 = await runWrapper([hostile]);
  assertStringIncludes(r3.stderr, `rc 127: a command was not found (job command: ${hostile})`);
  const dir = await tempDir();
  await Deno.writeTextFile(join(dir, "noexec"), "#!/bin/sh\n");
  const r2 = await runWrapper([join(dir, "noexec")]);
  assertEquals(r2.rc, "126");
  assertStringIncludes(r2.stderr, "rc 126: a command was found but could not be run");
});

Deno.test("renderWrapper() explains rc 137 (SIGKILL)", async () => {
  const r = await runWrapper(["bash", "-c", "kill -KILL $$"]);
  assertEquals(r.rc, "137");
  assertStringIncludes(r.stderr, "rc 137: the job was killed by SIGKILL");
});

Deno.test("renderWrapper() honours timeout with rc 124, and a quick job is not held", async () => {
  const start = performance.now();
  const r = await runWrapper(["sleep", "30"], { timeout: 1 });
  const took = performance.now() - start;
  assertEquals(r.rc, "124");
  assertStringIncludes(r.stderr, "timed out after 1 s (rc 124)");
  assert(took < 5000, `took ${took} ms`);
  const quick = performance.now();
  const r2 = await runWrapper(["true"], { timeout: 30 });
  assertEquals(r2.rc, "0");
  assert(performance.now() - quick < 2000, "a quick job waited for its timeout");
});

Deno.test("renderWrapper() kills with SIGKILL a command that ignores SIGTERM on timeout", async () => {
  const r = await runWrapper(["bash", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"], {
    timeout: 1,
  });
  assertEquals(r.rc, "124");
});

Deno.test("renderWrapper() writes the rc once stopped, however many more stops follow", async () => {
  // Schedulers send a stop again until the job has gone: one that lands while the wrapper
  // ends the job must not end the wrapper before job.rc is written.
  for (const timeout of [0, 30]) {
    for (let i = 0; i < 5; i++) {
      const dir = await tempDir();
      const text = renderWrapper({
        shebang: "/usr/bin/env bash",
        index: 0,
        trial: 1,
        mountedWorkdir: dir,
        mountedMetadir: dir,
        cmd: ["sleep", "0.2"],
        prescript: 'touch "$XQUTE_JOB_METADIR/traps-set"',
        timeout,
      });
      await Deno.writeTextFile(join(dir, "job.wrapped.local"), text);
      // Once the traps are set, TERM the wrapper every few microseconds until it has gone.
      const script = `bash "$1/job.wrapped.local" >/dev/null & w=$!
until [ -e "$1/traps-set" ]; do :; done
while kill -TERM "$w" 2>/dev/null; do for ((j = 0; j < 100; j++)); do :; done; done
wait "$w"`;
      const out = await new Deno.Command("bash", { args: ["-c", script, "stopper", dir] })
        .output();
      const rc = await Deno.readTextFile(join(dir, "job.rc")).catch(() => "(none)");
      assertEquals([out.code, rc.trim()], [143, "143"], `timeout ${timeout}, run ${i}`);
    }
  }
});

Deno.test("renderWrapper() runs prescript, plugin snippets and postscript in order", async () => {
  const r = await runWrapper(["bash", "-c", 'echo "cmd $PRE"'], {
    init: 'echo init >>"$XQUTE_JOB_METADIR/order"',
    prescript: 'export PRE=pre; echo pre >>"$XQUTE_JOB_METADIR/order"',
    prep: 'echo prep >>"$XQUTE_JOB_METADIR/order"',
    postscript: 'echo "post rc=$(cat $XQUTE_JOB_METADIR/job.rc)" >>"$XQUTE_JOB_METADIR/order"',
    end: 'echo end >>"$XQUTE_JOB_METADIR/order"',
  });
  assertEquals(r.stdout, "cmd pre\n");
  const order = await Deno.readTextFile(join(r.dir, "0", "order"));
  assertEquals(order, "init\npre\nprep\npost rc=0\nend\n");
});

Deno.test("renderWrapper() exports XQUTE_JOB_INDEX, XQUTE_METADIR, XQUTE_JOB_METADIR", async () => {
  const r = await runWrapper([
    "bash",
    "-c",
    'echo "$XQUTE_JOB_INDEX|$XQUTE_METADIR|$XQUTE_JOB_METADIR"',
  ]);
  assertEquals(r.stdout, `0|${r.dir}|${join(r.dir, "0")}\n`);
});

const hasBusybox = await Deno.stat("/bin/busybox").then(() => true, () => false);
if (!hasBusybox) console.log("%cSKIPPED: busybox is not installed", "color: yellow");

Deno.test({
  name: "renderWrapper() runs with only bash and busybox on PATH, timeout included",
  ignore: !hasBusybox,
}, async () => {
  // The wrapper itself runs with this PATH: bash, and busybox for everything else.
  const bin = await tempDir();
  await Deno.symlink("/bin/bash", join(bin, "bash"));
  const list = await new Deno.Command("/bin/busybox", { args: ["--list"], stdout: "piped" })
    .output();
  const applets = new TextDecoder().decode(list.stdout).split("\n");
  for (const tool of applets.filter((t) => t && t !== "bash")) {
    await Deno.symlink("/bin/busybox", join(bin, tool));
  }
  const env = { PATH: bin };
  const quick = await runWrapper(["sh", "-c", "echo ok | cat"], { timeout: 5 }, env);
  assertEquals([quick.stdout, quick.rc], ["ok\n", "0"]);
  const slow = await runWrapper(["sleep", "30"], { timeout: 1 }, env);
  assertEquals(slow.rc, "124");
  assertStringIncludes(slow.stderr, "timed out after 1 s");
});
