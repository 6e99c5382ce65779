// How xqc run answers signals: SIGHUP as SIGTERM (exit 129), a third SIGINT quits at once,
// and a daemon that stops answering cannot hang a stop (every engine call has a deadline).

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { finish, startRunning, xqc } from "./cli_helpers.ts";
import { startSecondDockerd } from "./dockerd.ts";
import { checkEngines, containersOf, readJobFile, tempDir, TEST_IMAGE, testOn } from "./helpers.ts";
import { readState } from "../mod.ts";

await checkEngines("docker");

testOn(
  "docker",
  "SIGHUP (a closed terminal) stops xqc run like SIGTERM: no container, exit 129",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await Deno.writeTextFile(join(dir, "jobs"), "sleep 60\nsleep 60\n");
    const child = await startRunning(
      ["run", "-i", TEST_IMAGE, "-n", "2", "-w", workdir, "-j", "jobs"],
      workdir,
      2,
      { cwd: dir },
    );
    child.kill("SIGHUP");
    const result = await finish(child);
    assertEquals(result.code, 129, result.stderr);
    assertEquals(await containersOf("docker", workdir), []);
    assertEquals((await readState(workdir))?.run?.state, "interrupted");
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "the run received SIGHUP");
  },
);

testOn("docker", "a third SIGINT quits at once, saying what may still run", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const child = await startRunning(
    ["run", "-i", TEST_IMAGE, "-w", workdir, "--", "sleep", "60"],
    workdir,
    1,
    { cwd: dir },
  );
  // A frozen `docker run` client holds the stop open (it waits for the client to end), so
  // every SIGINT lands while it lasts; they are spaced so the kernel does not merge them.
  const clients = await pids(`xqc.workdir=${workdir}`);
  assert(clients.length > 0, "no docker run client found");
  for (const pid of clients) Deno.kill(pid, "SIGSTOP");
  try {
    for (let i = 0; i < 3; i++) {
      child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = await finish(child);
    assertEquals(result.code, 130, result.stderr);
    assertStringIncludes(result.stderr, "SIGINT a third time: quitting now");
    assertStringIncludes(result.stderr, `xqc kill -w ${workdir}`);
  } finally {
    for (const pid of clients) {
      await Promise.resolve().then(() => Deno.kill(pid, "SIGKILL")).catch(() => {});
    }
  }
  // What it said may run is stopped by xqc kill.
  assertEquals((await xqc(["kill", "-w", workdir])).code, 0);
  assertEquals(await containersOf("docker", workdir), []);
});

/** The processes whose command line holds `text`. */
async function pids(text: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", text], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}

testOn("docker", "SIGINT while the daemon is frozen: the stop has deadlines and ends", async () => {
  const second = await startSecondDockerd();
  try {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const child = await startRunning(
      ["run", "-i", TEST_IMAGE, "-w", workdir, "--", "sleep", "300"],
      workdir,
      1,
      { cwd: dir, env: second.env },
    );
    second.process.kill("SIGSTOP");
    const start = performance.now();
    child.kill("SIGINT");
    const ended = await Promise.race([
      finish(child),
      new Promise<null>((r) => setTimeout(() => r(null), 90_000)),
    ]);
    if (ended === null) child.kill("SIGKILL");
    assert(ended !== null, "xqc run hung on a frozen daemon");
    assertEquals(ended.code, 130, ended.stderr);
    assert(performance.now() - start < 60_000, `${performance.now() - start} ms`);
    assertStringIncludes(await readJobFile(workdir, 0, "job.stderr"), "the run received SIGINT");
  } finally {
    await second.stop();
  }
});
