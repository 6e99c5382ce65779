// Options that must do what they say: flags are read only before the job's command, the
// entrypoint is split and quoted as a shell would, kept containers stay kept, and --resume
// notices what changed besides the command.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import {
  checkEngines,
  containersOf,
  readJobFile,
  sh,
  tempDir,
  TEST_IMAGE,
  testOn,
} from "./helpers.ts";
import { rootfs } from "./image.ts";

await checkEngines("docker");

testOn("docker", "xqc run: --no-remove in the job's command is the job's, not a flag", async () => {
  const dir = await tempDir();
  for (const args of [["--", "tool", "--no-remove"], ["tool", "--no-remove"]]) {
    const result = await xqc(["run", "--dry-run", "-i", TEST_IMAGE, ...args], { cwd: dir });
    assertEquals(result.code, 0, result.stderr);
    const [comment, command] = result.stdout.trim().split("\n");
    assertEquals(comment, "# job 0: tool --no-remove");
    assertStringIncludes(command, "docker run --rm --name");
  }
  const kept = await xqc(["run", "--dry-run", "-i", TEST_IMAGE, "--no-remove", "--", "tool"], {
    cwd: dir,
  });
  assert(!kept.stdout.includes("--rm"), kept.stdout);
});

testOn(
  "docker",
  "xqc run: --entrypoint is split as a shell splits words, and quoted again",
  async () => {
    const dir = await tempDir();
    const entrypoint = "/usr/bin/env 'GREETING=hello world' /bin/bash";
    const result = await xqc(
      ["run", "-i", TEST_IMAGE, "--entrypoint", entrypoint, "--", "bash", "-c", 'echo "$GREETING"'],
      { cwd: dir },
    );
    assertEquals(result.code, 0, result.stderr);
    const workdir = join(dir, ".xqute");
    assertEquals(await readJobFile(workdir, 0, "job.stdout"), "hello world\n");
    const wrapper = await readJobFile(workdir, 0, "job.wrapped.container-docker");
    assertEquals(wrapper.split("\n")[0], `#!${entrypoint}`);
    const submission = (await readJobFile(workdir, 0, "job.submission")).split("\n");
    const at = submission.indexOf("/usr/bin/env");
    assertEquals(submission.slice(at, at + 3), [
      "/usr/bin/env",
      "GREETING=hello world",
      "/bin/bash",
    ]);
  },
);

testOn("docker", "a container kept with --no-remove is not removed by the next run", async () => {
  const dir = await tempDir();
  const workdir = join(dir, "wd");
  const first = await xqc(["run", "-i", TEST_IMAGE, "-w", workdir, "--no-remove", "--", "true"]);
  assertEquals(first.code, 0, first.stderr);
  const kept = (await sh(["docker", "ps", "-a", "-q", "--filter", `label=xqc.workdir=${workdir}`]))
    .trim();
  assert(kept, "the container was not kept");
  const second = await xqc(["run", "-i", TEST_IMAGE, "-w", workdir, "--", "true"]);
  assertEquals(second.code, 0, second.stderr);
  assert(!second.stderr.includes("left these running"), second.stderr);
  const after = (await sh(["docker", "ps", "-a", "-q", "--filter", `label=xqc.workdir=${workdir}`]))
    .trim();
  assertEquals(after, kept, "the kept container was removed");
  await sh(["docker", "rm", "-f", kept]);
  assertEquals(await containersOf("docker", workdir), []);
});

testOn(
  "docker",
  "xqc run --resume runs a job again when the image's content, or the prescript, changed",
  async () => {
    const dir = await tempDir();
    const workdir = join(dir, "wd");
    const image = `xqc-resume-${crypto.randomUUID().slice(0, 8)}:same`;
    const { tar } = await rootfs();
    // The first import's id: the second import takes its name, and it must not stay dangling.
    const first = (await sh(["docker", "import", tar, image])).trim();
    try {
      const log = join(dir, "log");
      const resume = (...extra: string[]) =>
        xqc([
          "run",
          "-i",
          image,
          "-w",
          workdir,
          "-v",
          `${dir}:${dir}`,
          "--resume",
          "--json",
          ...extra,
          "--",
          "bash",
          "-c",
          `echo ran >>${log}`,
        ]);
      const statuses = async (...extra: string[]) => {
        const result = await resume(...extra);
        assertEquals(result.code, 0, result.stderr);
        return JSON.parse(result.stdout).jobs.map((j: { status: string }) => j.status);
      };
      assertEquals(await statuses(), ["FINISHED"]);
      assertEquals(await statuses(), ["SKIPPED"]);
      // The same name, new content: `docker build -t same:tag` with a change.
      await sh(["docker", "import", "--change", "ENV CHANGED=1", tar, image]);
      assertEquals(await statuses(), ["FINISHED"]);
      assertEquals(await statuses(), ["SKIPPED"]);
      assertEquals(await statuses("--prescript", "true"), ["FINISHED"]);
      assertEquals((await Deno.readTextFile(log)).split("\n").filter(Boolean).length, 3);
    } finally {
      await sh(["docker", "rmi", "-f", image, first]).catch(() => "");
    }
  },
);
