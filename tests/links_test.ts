// A job that plants links, FIFOs and escape sequences in its metadir: xqc, run as root, must
// neither read nor write host files through them, nor hang on a FIFO, nor print them raw.

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { join } from "@std/path";
import { xqc } from "./cli_helpers.ts";
import { checkEngines, containersOf, sh, tempDir, TEST_IMAGE, testOn } from "./helpers.ts";

await checkEngines("docker");

const isRoot = Deno.uid() === 0;
if (!isRoot) {
  console.log("%cSKIPPED links test: --user with a chowned metadir needs root", "color: yellow");
}

const SECRET = "root's secret: do not show\n";

/** Host files outside the workdir, each with its own text, and how to tell them unchanged. */
async function hostFiles(
  names: string[],
): Promise<{ path: (n: string) => string; same: () => Promise<void> }> {
  const dir = await tempDir("xqc-host-");
  for (const name of names) await Deno.writeTextFile(join(dir, name), `${name}: ${SECRET}`);
  return {
    path: (name) => join(dir, name),
    same: async () => {
      for (const name of names) {
        const info = await Deno.lstat(join(dir, name));
        assert(info.isFile, `${name} is still a file`);
        assertEquals(await Deno.readTextFile(join(dir, name)), `${name}: ${SECRET}`);
      }
    },
  };
}

/** `xqc run` (as root) of one docker job as user 1000, running `script` with bash. */
function runAsUser(workdir: string, script: string, options: string[]) {
  return xqc([
    "run",
    "-i",
    TEST_IMAGE,
    "--user",
    "1000:1000",
    "-w",
    workdir,
    ...options,
    "--",
    "bash",
    "-c",
    script,
  ]);
}

testOn(
  isRoot ? "docker" : [],
  "a job that links its job.rc and job.stderr to host files and kills itself: rc -3, host files untouched",
  async () => {
    const host = await hostFiles(["rc", "stderr"]);
    const workdir = join(await tempDir(), "wd");
    const plant = `ln -sf ${host.path("rc")} "$XQUTE_JOB_METADIR/job.rc"; ` +
      `ln -sf ${host.path("stderr")} "$XQUTE_JOB_METADIR/job.stderr"; kill -9 $$`;
    const result = await runAsUser(workdir, plant, ["--json"]);
    assertEquals(result.code, 1, result.stderr);
    const job = JSON.parse(result.stdout).jobs[0];
    assertEquals(job.rc, -3);
    await host.same();
    const metadir = join(workdir, "0");
    for (const name of ["job.rc", "job.stderr", "job.status"]) {
      assert((await Deno.lstat(join(metadir, name))).isFile, `${name} was written anew`);
    }
    assertEquals((await Deno.readTextFile(join(metadir, "job.rc"))).trim(), "-3");
    const said = await Deno.readTextFile(join(metadir, "job.stderr"));
    assertStringIncludes(said, "is a symbolic link to");
    assert(!said.includes(SECRET), said);
    assertEquals(await containersOf("docker", workdir), []);
  },
);

testOn(
  isRoot ? "docker" : [],
  "a job that links job.retry to a host folder: its retry moves nothing there",
  async () => {
    const outside = await tempDir("xqc-host-dir-");
    const workdir = join(await tempDir(), "wd");
    const result = await runAsUser(
      workdir,
      `[ -e "$XQUTE_JOB_METADIR/job.retry" ] || ln -s ${outside} "$XQUTE_JOB_METADIR/job.retry"; exit 3`,
      ["--error-strategy", "retry", "--num-retries", "1"],
    );
    assertEquals(result.code, 1, result.stderr);
    assertEquals([...Deno.readDirSync(outside)], []);
    const retry = join(workdir, "0", "job.retry");
    assert((await Deno.lstat(retry)).isDirectory, "job.retry is a folder of its own");
    assertEquals((await Deno.readTextFile(join(retry, "1", "job.rc"))).trim(), "3");
  },
);

testOn(
  isRoot ? "docker" : [],
  "xqc report, logs and status read no file through a job's links, wait on no FIFO, print no escape",
  async () => {
    const host = await hostFiles(["stdout", "stderr"]);
    const workdir = join(await tempDir(), "wd");
    const result = await xqc([
      "run",
      "-i",
      TEST_IMAGE,
      "-w",
      workdir,
      "--",
      "bash",
      "-c",
      "printf '\\033]0;owned\\007\\033[2J' >&2; exit 5 # \x1b[31mred\x07",
    ]);
    assertEquals(result.code, 1, result.stderr);
    assert(!result.stderr.includes("\x1b"), JSON.stringify(result.stderr));
    const metadir = join(workdir, "0");
    // What a job could leave: a link to a host file, and a FIFO no one writes.
    await Deno.remove(join(metadir, "job.stdout"));
    await Deno.symlink(host.path("stdout"), join(metadir, "job.stdout"));
    await Deno.remove(join(metadir, "job.stderr"));
    await sh(["mkfifo", join(metadir, "job.stderr")]);

    const report = join(await tempDir(), "report.html");
    const made = await xqc(["report", "-w", workdir, "-o", report]);
    assertEquals(made.code, 0, made.stderr);
    const html = await Deno.readTextFile(report);
    assert(!html.includes(SECRET.trim()), "the report holds no host file");
    assertStringIncludes(html, "is a FIFO");

    const logs = await xqc(["logs", "0", "-w", workdir]);
    assertEquals(logs.code, 1);
    assert(!logs.stdout.includes(SECRET.trim()), logs.stdout);
    assertStringIncludes(logs.stderr, "is a symbolic link to");
    const fifo = await xqc(["logs", "0", "--stderr", "-w", workdir]);
    assertEquals(fifo.code, 1);
    assertStringIncludes(fifo.stderr, "is a FIFO");

    const status = await xqc(["status", "-w", workdir]);
    assertEquals(status.code, 0, status.stderr);
    assert(!status.stdout.includes("\x1b") && !status.stdout.includes("\x07"), status.stdout);
    assertStringIncludes(status.stdout, "\\e[31mred\\x07");
    await host.same();
  },
);
