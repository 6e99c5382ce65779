// A run by a user who is not root, whose jobs run as another user: the metadir must be
// writable by the container's user, and yet no third user may replace the wrapper.

import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { join } from "@std/path";
import { xqcArgv } from "./cli_helpers.ts";
import { checkEngines, readJobFile, tempDir, TEST_IMAGE, testOn } from "./helpers.ts";
import { run, sh } from "./image.ts";

await checkEngines("docker");

const RUNNER = "xqc-runner";
const OTHER = "xqc-other";

async function ensureUser(name: string, groups: string[]): Promise<number> {
  if ((await run(["id", "-u", name])).code === 0) {
    // Another test may have made the user without these groups.
    if (groups.length) await sh(["usermod", "-a", "-G", groups.join(","), name]);
  } else {
    await sh([
      "useradd",
      "-M",
      "-s",
      "/bin/sh",
      ...(groups.length ? ["-G", groups.join(",")] : []),
      name,
    ]);
  }
  return Number((await sh(["id", "-u", name])).trim());
}

/** Run a command as another user (with that user's groups). */
function as(user: string, argv: string[], env: Record<string, string> = {}) {
  return run([
    "setpriv",
    `--reuid=${user}`,
    `--regid=${user}`,
    "--init-groups",
    "env",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ]);
}

const isRoot = Deno.uid() === 0;
if (!isRoot) {
  console.log("%cSKIPPED security test: it needs root to make its users", "color: yellow");
}

testOn(
  isRoot ? "docker" : [],
  "a non-root run with another container user: no one else can replace the wrapper",
  async () => {
    const runner = await ensureUser(RUNNER, ["docker"]);
    await ensureUser(OTHER, []);
    const home = await tempDir("xqc-runner-home-");
    // Deno's cache for this user: a copy of this process's, so nothing is downloaded.
    const denoDir = join(home, "deno");
    await sh(["cp", "-a", Deno.env.get("DENO_DIR") ?? "/root/.cache/deno", denoDir]);
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    await sh(["chown", "-R", `${RUNNER}:${RUNNER}`, home, dir]);
    await Deno.chmod(dir, 0o755);
    const [deno, ...args] = xqcArgv([
      "run",
      "-i",
      TEST_IMAGE,
      "--user",
      "65534:65534",
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      "echo written by $(id -u)",
    ]);
    // Deno's lockfile belongs to root: this user only reads.
    const result = await as(RUNNER, [
      deno,
      args[0],
      "--no-lock",
      ...args.slice(1),
    ], { HOME: home, DENO_DIR: denoDir });
    assertEquals(result.code, 0, result.out);
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "written by 65534\n");
    const metadir = join(workdir, "0");
    const wrapper = join(metadir, "job.wrapped.container-docker");
    const dirInfo = await Deno.stat(metadir);
    assertEquals(dirInfo.mode! & 0o1777, 0o1777, "the metadir is shared, with the sticky bit");
    const info = await Deno.stat(wrapper);
    assertEquals(info.uid, runner);
    assertEquals(info.mode! & 0o777, 0o644);
    const before = await Deno.readTextFile(wrapper);
    // A third user tries to replace it every way a shared folder would allow.
    const evil = join(await tempDir(), "evil");
    await Deno.writeTextFile(evil, "#!/bin/bash\necho pwned\n");
    await Deno.chmod(evil, 0o644);
    await Deno.chmod(join(evil, ".."), 0o755);
    for (
      const attempt of [
        ["rm", "-f", wrapper],
        ["sh", "-c", `echo pwned >${wrapper}`],
        ["mv", "-f", evil, wrapper],
      ]
    ) {
      const out = await as(OTHER, attempt);
      assertNotEquals(out.code, 0, `${attempt.join(" ")} succeeded: ${out.out}`);
    }
    assertEquals(await Deno.readTextFile(wrapper), before);
    assert((await Deno.stat(wrapper)).uid === runner);
  },
);
